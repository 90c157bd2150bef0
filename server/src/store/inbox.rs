//! A user's in-app notifications (Quay's `notification` table): what the web UI's bell shows.
//! Statements of `sql/store/inbox.sql`, run as they are on either backend.

use super::query::{Access, boolean, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};

const SQL: &str = include_str!("../../../sql/store/inbox.sql");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub uuid: String,
    pub kind: String,
    pub created: Option<String>,
    pub metadata_json: String,
    pub dismissed: bool,
    /// The organization it is addressed to (`None`: the user itself).
    pub organization: Option<String>,
}

fn item(r: &quay_core::exec::Row) -> Option<InboxItem> {
    Some(InboxItem {
        uuid: text(r, 0)?,
        kind: text(r, 1)?,
        created: text(r, 2),
        metadata_json: text(r, 3).unwrap_or_else(|| "{}".into()),
        dismissed: boolean(r, 4),
        organization: boolean(r, 6).then(|| text(r, 5)).flatten(),
    })
}

impl Store {
    /// Not dismissed notifications of the user (and of organizations it administers), newest
    /// first.
    pub async fn inbox(&self, user_id: i64, limit: i64, offset: i64) -> Result<Vec<InboxItem>, StoreError> {
        let params = vec![Value::Int(user_id), Value::Int(limit), Value::Int(offset)];
        let rows = self.statement(Access::Scan, named(SQL, "list"), params).await?;
        Ok(rows.iter().filter_map(item).collect())
    }

    /// Marks one of the user's notifications dismissed (or not); `false` if it has none by that
    /// uuid.
    pub async fn inbox_dismiss(&self, user_id: i64, uuid: &str, dismissed: bool) -> Result<bool, StoreError> {
        let params = vec![Value::Int(user_id), Value::text(uuid), Value::Bool(dismissed)];
        Ok(!self.statement(Access::Write, named(SQL, "dismiss"), params).await?.is_empty())
    }

    pub async fn inbox_item(&self, user_id: i64, uuid: &str) -> Result<Option<InboxItem>, StoreError> {
        let rows = self
            .statement(Access::Read, named(SQL, "one"), vec![Value::Int(user_id), Value::text(uuid)])
            .await?;
        Ok(rows.first().and_then(item))
    }
}

impl Store {
    /// Delivers an in-app notification of `kind` (a `notificationkind` name) to what a
    /// `quay_notification` target names (`user`, `org`, or a `team` of `namespace`). Returns how
    /// many accounts got one (0: the target names nobody, or the kind is unknown).
    pub async fn inbox_deliver(
        &self,
        target_kind: &str,
        target_name: &str,
        namespace: &str,
        kind: &str,
        metadata_json: &str,
    ) -> Result<usize, StoreError> {
        let rows = self
            .statement(
                Access::Read,
                named(SQL, "targets"),
                vec![Value::text(target_kind), Value::text(target_name), Value::text(namespace)],
            )
            .await?;
        let mut delivered = 0;
        for id in rows.iter().filter_map(|r| super::query::int(r, 0)) {
            let params = vec![
                Value::text(uuid::Uuid::new_v4().to_string()),
                Value::text(kind),
                Value::Int(id),
                Value::text(metadata_json),
            ];
            delivered += self.statement(Access::Write, named(SQL, "deliver"), params).await?.len();
        }
        Ok(delivered)
    }
}
