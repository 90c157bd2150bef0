//! Storage quotas: the namespace's quota with its limits and the running totals (reads of
//! `sql/store/quota.sql`); writes are core calls (`quay.quota_*`), which keep the rules.

use super::query::{Access, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/quota.sql");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLimit {
    pub id: i64,
    /// `Warning` or `Reject`.
    pub kind: String,
    pub percent: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub id: i64,
    pub limit_bytes: i64,
    pub limits: Vec<QuotaLimit>,
}

impl Store {
    pub async fn quota_of(&self, namespace_id: i64) -> Result<Option<Quota>, StoreError> {
        let rows = self.rows(named(SQL, "quota_of"), vec![Value::Int(namespace_id)]).await?;
        let Some((id, limit_bytes)) = rows.first().and_then(|r| Some((int(r, 0)?, int(r, 1)?))) else {
            return Ok(None);
        };
        let limits = self
            .rows(named(SQL, "limits_of"), vec![Value::Int(id)])
            .await?
            .iter()
            .filter_map(|r| Some(QuotaLimit { id: int(r, 0)?, kind: text(r, 1)?, percent: int(r, 2)? }))
            .collect();
        Ok(Some(Quota { id, limit_bytes, limits }))
    }

    /// The namespace's stored bytes (0 before its first manifest).
    pub async fn namespace_size(&self, namespace_id: i64) -> Result<i64, StoreError> {
        let rows = self.rows(named(SQL, "namespace_size"), vec![Value::Int(namespace_id)]).await?;
        Ok(first(rows, |r| int(r, 0)).unwrap_or(0))
    }

    pub async fn repository_size(&self, repository_id: i64) -> Result<i64, StoreError> {
        let rows = self.rows(named(SQL, "repository_size"), vec![Value::Int(repository_id)]).await?;
        Ok(first(rows, |r| int(r, 0)).unwrap_or(0))
    }

    /// `None`, or why an upload into the repository is refused (its namespace is at or past a
    /// `Reject` limit).
    pub async fn quota_check(&self, repository_id: i64) -> Result<Option<String>, StoreError> {
        self.call(
            Access::Read,
            "SELECT quay.quota_check($1)",
            vec![Value::Int(repository_id)],
            move |ex| quay_core::quota::over_reject_limit(ex, repository_id),
            |rows| Some(first(rows, |r| text(r, 0))),
        )
        .await
    }

    pub async fn quota_create(
        &self,
        namespace_id: i64,
        limit_bytes: i64,
        log: LogEntry,
    ) -> Result<i64, StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.quota_create($1, $2, $3)",
            vec![Value::Int(namespace_id), Value::Int(limit_bytes), Value::text(log.to_json())],
            move |ex| quay_core::quota::quota_create(ex, namespace_id, limit_bytes, Some(&log)),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    pub async fn quota_update(
        &self,
        namespace_id: i64,
        quota_id: i64,
        limit_bytes: i64,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.quota_update($1, $2, $3, $4)::text",
            vec![
                Value::Int(namespace_id),
                Value::Int(quota_id),
                Value::Int(limit_bytes),
                Value::text(log.to_json()),
            ],
            move |ex| quay_core::quota::quota_update(ex, namespace_id, quota_id, limit_bytes, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn quota_delete(
        &self,
        namespace_id: i64,
        quota_id: i64,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.quota_delete($1, $2, $3)::text",
            vec![Value::Int(namespace_id), Value::Int(quota_id), Value::text(log.to_json())],
            move |ex| quay_core::quota::quota_delete(ex, namespace_id, quota_id, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn quota_limit_create(
        &self,
        namespace_id: i64,
        quota_id: i64,
        (kind, percent): (&str, i64),
        log: LogEntry,
    ) -> Result<i64, StoreError> {
        let k = kind.to_string();
        self.call(
            Access::Write,
            "SELECT quay.quota_limit_create($1, $2, $3, $4, $5)",
            vec![
                Value::Int(namespace_id),
                Value::Int(quota_id),
                Value::text(kind),
                Value::Int(percent),
                Value::text(log.to_json()),
            ],
            move |ex| quay_core::quota::limit_create(ex, namespace_id, quota_id, &k, percent, Some(&log)),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    pub async fn quota_limit_update(
        &self,
        namespace_id: i64,
        (quota_id, limit_id): (i64, i64),
        (kind, percent): (&str, i64),
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let k = kind.to_string();
        self.call(
            Access::Write,
            "SELECT quay.quota_limit_update($1, $2, $3, $4, $5, $6)::text",
            vec![
                Value::Int(namespace_id),
                Value::Int(quota_id),
                Value::Int(limit_id),
                Value::text(kind),
                Value::Int(percent),
                Value::text(log.to_json()),
            ],
            move |ex| {
                quay_core::quota::limit_update(ex, namespace_id, quota_id, limit_id, &k, percent, Some(&log))
            },
            |_| Some(()),
        )
        .await
    }

    pub async fn quota_limit_delete(
        &self,
        namespace_id: i64,
        (quota_id, limit_id): (i64, i64),
        log: LogEntry,
    ) -> Result<(), StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.quota_limit_delete($1, $2, $3, $4)::text",
            vec![
                Value::Int(namespace_id),
                Value::Int(quota_id),
                Value::Int(limit_id),
                Value::text(log.to_json()),
            ],
            move |ex| quay_core::quota::limit_delete(ex, namespace_id, quota_id, limit_id, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// After a push refused by the quota: `quota_error` for the repository's notifications.
    pub async fn quota_notify_rejected(
        &self,
        repository_id: i64,
        ctx: quay_core::notifications::EventContext,
    ) -> Result<i64, StoreError> {
        let json = ctx.to_json();
        self.call(
            Access::Write,
            "SELECT quay.quota_notify_rejected($1, $2)",
            vec![Value::Int(repository_id), Value::text(json)],
            move |ex| quay_core::quota::notify_rejected(ex, repository_id, &ctx).map(|n| n as i64),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }
}
