//! Repository notifications: writes are core calls that also log (`quay.notification_*`); the
//! listing is a statement of `sql/store/notifications.sql`.

use super::query::{Access, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/notifications.sql");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub uuid: String,
    pub event: String,
    pub method: String,
    pub title: Option<String>,
    pub config_json: String,
    pub event_config_json: String,
    pub failures: i64,
}

/// A row of `of_repository` / `by_uuid` (the same columns).
fn notification(r: &quay_core::exec::Row) -> Option<Notification> {
    Some(Notification {
        uuid: text(r, 0)?,
        event: text(r, 1)?,
        method: text(r, 2)?,
        title: text(r, 3),
        config_json: text(r, 4).unwrap_or_else(|| "{}".into()),
        event_config_json: text(r, 5).unwrap_or_else(|| "{}".into()),
        failures: int(r, 6).unwrap_or(0),
    })
}

impl Store {
    pub async fn notifications_of(&self, repository_id: i64) -> Result<Vec<Notification>, StoreError> {
        let rows = self
            .statement(Access::Scan, named(SQL, "of_repository"), vec![Value::Int(repository_id)])
            .await?;
        Ok(rows.iter().filter_map(notification).collect())
    }

    pub async fn notification_create(
        &self,
        repository_id: i64,
        n: Notification,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let json = log.to_json();
        let params = vec![
            Value::Int(repository_id),
            Value::text(&n.uuid),
            Value::text(&n.event),
            Value::text(&n.method),
            Value::opt_text(n.title.as_deref()),
            Value::text(&n.config_json),
            Value::text(&n.event_config_json),
            Value::text(json),
        ];
        self.call(
            Access::Write,
            "SELECT quay.notification_create($1, $2, $3, $4, $5, $6, $7, $8)::text",
            params,
            move |ex| {
                let new = quay_core::notifications::NewNotification {
                    uuid: &n.uuid,
                    event: &n.event,
                    method: &n.method,
                    title: n.title.as_deref(),
                    config_json: &n.config_json,
                    event_config_json: &n.event_config_json,
                };
                quay_core::notifications::create(ex, repository_id, &new, Some(&log))
            },
            |_| Some(()),
        )
        .await
    }

    pub async fn notification_reset(
        &self,
        repository_id: i64,
        uuid: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let u = uuid.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.notification_reset($1, $2, $3)::text",
            vec![Value::Int(repository_id), Value::text(uuid), Value::text(json)],
            move |ex| quay_core::notifications::reset(ex, repository_id, &u, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn notification_delete(
        &self,
        repository_id: i64,
        uuid: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let u = uuid.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.notification_delete($1, $2, $3)::text",
            vec![Value::Int(repository_id), Value::text(uuid), Value::text(json)],
            move |ex| quay_core::notifications::delete(ex, repository_id, &u, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Queues a test delivery; returns the queue item id.
    pub async fn notification_test(&self, repository_id: i64, uuid: &str) -> Result<i64, StoreError> {
        let u = uuid.to_string();
        self.call(
            Access::Write,
            "SELECT quay.notification_test($1, $2)",
            vec![Value::Int(repository_id), Value::text(uuid)],
            move |ex| quay_core::notifications::test(ex, repository_id, &u),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }
}

impl Store {
    /// A notification by uuid, for the notification worker.
    pub async fn notification_by_uuid(&self, uuid: &str) -> Result<Option<Notification>, StoreError> {
        let rows = self.statement(Access::Read, named(SQL, "by_uuid"), vec![Value::text(uuid)]).await?;
        Ok(first(rows, notification))
    }

    /// Records a delivery's outcome: success starts the failure count over; a failure adds one
    /// (returns the new count).
    pub async fn notification_delivery(&self, uuid: &str, ok: bool) -> Result<i64, StoreError> {
        let name = if ok { "delivered" } else { "failed" };
        let rows = self.statement(Access::Write, named(SQL, name), vec![Value::text(uuid)]).await?;
        Ok(if ok { 0 } else { first(rows, |r| int(r, 0)).unwrap_or(0) })
    }
}

impl Store {
    /// One pass of the tag-expiry notifications (`quay.notification_expiry_scan`); returns the
    /// deliveries queued.
    pub async fn notification_expiry_scan(
        &self,
        ctx: quay_core::notifications::EventContext,
    ) -> Result<i64, StoreError> {
        let json = ctx.to_json();
        self.call(
            Access::Write,
            "SELECT quay.notification_expiry_scan($1)",
            vec![Value::text(json)],
            move |ex| quay_core::notifications::scan_image_expiry(ex, &ctx).map(|n| n as i64),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    /// Whether notifications of the repository may be e-mailed to `address` (see
    /// `sql/store/notifications.sql` `email_authorized`).
    pub async fn email_authorized(&self, repository_id: i64, address: &str) -> Result<bool, StoreError> {
        let rows = self
            .rows(named(SQL, "email_authorized"), vec![Value::Int(repository_id), Value::text(address)])
            .await?;
        Ok(!rows.is_empty())
    }
}
