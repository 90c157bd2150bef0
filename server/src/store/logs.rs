//! Reading action logs (`logentry3`): pages and daily counts. Written by the core with each
//! action (quay_core::logs).

use super::query::{Access, boolean, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/logs.sql");

/// What to read.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub account_id: Option<i64>,
    pub repository_id: Option<i64>,
    pub performer_id: Option<i64>,
    /// Naive UTC timestamps (`YYYY-MM-DD HH:MM:SS.ffffff`): from (inclusive), to (exclusive).
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    pub id: i64,
    pub kind: String,
    pub datetime: Option<String>,
    pub ip: Option<String>,
    pub metadata_json: String,
    /// Performer: name, e-mail, robot.
    pub performer: Option<(String, String, bool)>,
    /// The account (namespace): name, organization, e-mail.
    pub account: Option<(String, bool, String)>,
}

impl LogQuery {
    fn params(&self) -> Vec<Value> {
        vec![
            Value::Int(self.account_id.unwrap_or(-1)),
            Value::Int(self.repository_id.unwrap_or(-1)),
            Value::Int(self.performer_id.unwrap_or(-1)),
            Value::text(&self.from),
            Value::text(&self.to),
        ]
    }
}

impl Store {
    /// Up to `limit` entries, newest first, with ids below `before_id`.
    pub async fn logs_page(
        &self,
        q: &LogQuery,
        before_id: i64,
        limit: i64,
    ) -> Result<Vec<LogRow>, StoreError> {
        let mut params = q.params();
        params.push(Value::Int(before_id));
        params.push(Value::Int(limit));
        let rows = self.statement(Access::Scan, named(SQL, "page"), params).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(LogRow {
                    id: int(r, 0)?,
                    kind: text(r, 1)?,
                    datetime: text(r, 2),
                    ip: text(r, 3),
                    metadata_json: text(r, 4).unwrap_or_else(|| "{}".into()),
                    performer: text(r, 5).map(|n| (n, text(r, 6).unwrap_or_default(), boolean(r, 7))),
                    account: text(r, 8).map(|n| (n, boolean(r, 9), text(r, 10).unwrap_or_default())),
                })
            })
            .collect())
    }

    /// `(kind, day, count)` of the selection.
    pub async fn logs_aggregate(&self, q: &LogQuery) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = self.statement(Access::Scan, named(SQL, "aggregate"), q.params()).await?;
        Ok(rows.iter().filter_map(|r| Some((text(r, 0)?, text(r, 1)?, int(r, 2)?))).collect())
    }
}

impl Store {
    /// Writes a batch of action log rows in one transaction (all or none).
    pub async fn log_actions(&self, entries: Vec<LogEntry>) -> Result<(), StoreError> {
        let json = serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into());
        self.call(
            Access::Write,
            "SELECT quay.log_actions($1)::text",
            vec![Value::text(json)],
            move |ex| quay_core::logs::record_all(ex, &entries),
            |_| Some(()),
        )
        .await
    }
}
