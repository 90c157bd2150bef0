//! App-specific tokens: create and revoke are core calls that also log
//! (`quay.app_token_create`, `quay.app_token_revoke`); the listing is a statement.

use super::query::{Access, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/apptokens.sql");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppToken {
    pub uuid: String,
    pub title: String,
    pub created: Option<String>,
    pub expiration: Option<String>,
    pub last_accessed: Option<String>,
    pub token_name: String,
    pub encrypted_secret: String,
}

impl Store {
    pub async fn app_tokens_of(&self, user_id: i64) -> Result<Vec<AppToken>, StoreError> {
        let rows = self.statement(Access::Scan, named(SQL, "of_user"), vec![Value::Int(user_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(AppToken {
                    uuid: text(r, 0)?,
                    title: text(r, 1).unwrap_or_default(),
                    created: text(r, 2),
                    expiration: text(r, 3),
                    last_accessed: text(r, 4),
                    token_name: text(r, 5)?,
                    encrypted_secret: text(r, 6)?,
                })
            })
            .collect())
    }

    pub async fn app_token_create(
        &self,
        user_id: i64,
        uuid: &str,
        title: &str,
        token_name: &str,
        encrypted_secret: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let (u, t, n, s) =
            (uuid.to_string(), title.to_string(), token_name.to_string(), encrypted_secret.to_string());
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.app_token_create($1, $2, $3, $4, $5, $6)::text",
            vec![
                Value::Int(user_id),
                Value::text(uuid),
                Value::text(title),
                Value::text(token_name),
                Value::text(encrypted_secret),
                Value::text(json),
            ],
            move |ex| quay_core::apptokens::create(ex, user_id, &u, &t, &n, &s, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn app_token_revoke(&self, user_id: i64, uuid: &str, log: LogEntry) -> Result<(), StoreError> {
        let u = uuid.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.app_token_revoke($1, $2, $3)::text",
            vec![Value::Int(user_id), Value::text(uuid), Value::text(json)],
            move |ex| quay_core::apptokens::revoke(ex, user_id, &u, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}
