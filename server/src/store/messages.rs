//! Global messages (`messages`): what `/api/v1/messages` shows.

use super::query::{Access, text};
use super::{Store, StoreError};
use quay_core::exec::named;

const SQL: &str = include_str!("../../../sql/store/messages.sql");

/// `(uuid, content, severity, media type)` of every message.
pub type Message = (String, String, String, String);

impl Store {
    pub async fn messages(&self) -> Result<Vec<Message>, StoreError> {
        let rows = self.statement(Access::Scan, named(SQL, "all"), vec![]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    text(r, 0).unwrap_or_default(),
                    text(r, 1)?,
                    text(r, 2).unwrap_or_default(),
                    text(r, 3)?,
                ))
            })
            .collect())
    }
}
