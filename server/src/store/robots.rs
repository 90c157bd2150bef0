//! Robot accounts: creation, token replacement and deletion are core calls that also log
//! (`quay.robot_create`, `robot_set_token`, `robot_delete`); reads are statements of
//! `sql/store/robots.sql`.

use super::query::{Access, boolean, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/robots.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

/// A robot as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Robot {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub unstructured_json: String,
    /// `YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC.
    pub created: Option<String>,
    pub last_accessed: Option<String>,
    pub encrypted_token: Option<String>,
}

impl Store {
    /// The robots of a namespace, by name.
    pub async fn robots_of(&self, namespace: &str) -> Result<Vec<Robot>, StoreError> {
        let rows = self.statement(Access::Scan, sql("robots_of"), vec![Value::text(namespace)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Robot {
                    id: int(r, 0)?,
                    name: text(r, 1)?,
                    description: text(r, 2).unwrap_or_default(),
                    unstructured_json: text(r, 3).unwrap_or_else(|| "{}".into()),
                    created: text(r, 4),
                    last_accessed: text(r, 5),
                    encrypted_token: text(r, 6),
                })
            })
            .collect())
    }

    /// `(repository, public, role)` of a robot's permissions.
    pub async fn robot_grants(&self, robot_id: i64) -> Result<Vec<(String, bool, String)>, StoreError> {
        let rows = self.statement(Access::Scan, sql("robot_grants"), vec![Value::Int(robot_id)]).await?;
        Ok(rows.iter().filter_map(|r| Some((text(r, 0)?, boolean(r, 1), text(r, 2)?))).collect())
    }

    pub async fn robot_teams(&self, robot_id: i64) -> Result<Vec<String>, StoreError> {
        let rows = self.statement(Access::Scan, sql("robot_teams"), vec![Value::Int(robot_id)]).await?;
        Ok(rows.iter().filter_map(|r| text(r, 0)).collect())
    }

    /// Creates a robot (token already field-encrypted) and logs it, in one transaction.
    pub async fn robot_create(
        &self,
        owner_id: i64,
        short_name: &str,
        description: &str,
        unstructured_json: &str,
        encrypted_token: &str,
        log: LogEntry,
    ) -> Result<i64, StoreError> {
        let (s, d, u, t) = (
            short_name.to_string(),
            description.to_string(),
            unstructured_json.to_string(),
            encrypted_token.to_string(),
        );
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.robot_create($1, $2, $3, $4, $5, $6)",
            vec![
                Value::Int(owner_id),
                Value::text(short_name),
                Value::text(description),
                Value::text(unstructured_json),
                Value::text(encrypted_token),
                Value::text(json),
            ],
            move |ex| {
                let r = quay_core::robots::NewRobot {
                    owner_id,
                    short_name: &s,
                    description: &d,
                    unstructured_json: &u,
                    encrypted_token: &t,
                };
                quay_core::robots::create(ex, &r, Some(&log))
            },
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    pub async fn robot_set_token(
        &self,
        robot_id: i64,
        encrypted_token: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let t = encrypted_token.to_string();
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.robot_set_token($1, $2, $3)::text",
            vec![Value::Int(robot_id), Value::text(encrypted_token), Value::text(json)],
            move |ex| quay_core::robots::set_token(ex, robot_id, &t, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    pub async fn robot_delete(&self, robot_id: i64, log: LogEntry) -> Result<(), StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.robot_delete($1, $2)::text",
            vec![Value::Int(robot_id), Value::text(json)],
            move |ex| quay_core::robots::delete(ex, robot_id, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}
