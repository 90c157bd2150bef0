//! Teams and entity search for `/api/v1`: team writes are core calls that also log
//! (`quay.team_set`, `quay.team_member_add`); reads are statements of `sql/store/teams.sql`.

use super::query::{Access, boolean, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;

const SQL: &str = include_str!("../../../sql/store/teams.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: i64,
    pub role: String,
    pub description: String,
}

/// A user or robot as searches and member lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub username: String,
    pub email: String,
    pub robot: bool,
    /// In a team of the organization the search was about.
    pub org_member: bool,
}

impl Store {
    pub async fn team_by_name(&self, org_id: i64, name: &str) -> Result<Option<Team>, StoreError> {
        let rows = self.rows(sql("team_by_name"), vec![Value::Int(org_id), Value::text(name)]).await?;
        Ok(first(rows, |r| {
            Some(Team { id: int(r, 0)?, role: text(r, 1)?, description: text(r, 2).unwrap_or_default() })
        }))
    }

    pub async fn team_members(&self, team_id: i64) -> Result<Vec<Person>, StoreError> {
        let rows = self.statement(Access::Scan, sql("team_members"), vec![Value::Int(team_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Person {
                    username: text(r, 0)?,
                    email: text(r, 1).unwrap_or_default(),
                    robot: boolean(r, 2),
                    org_member: true,
                })
            })
            .collect())
    }

    pub async fn is_team_member(&self, team_id: i64, user_id: i64) -> Result<bool, StoreError> {
        let rows = self.rows(sql("is_team_member"), vec![Value::Int(team_id), Value::Int(user_id)]).await?;
        Ok(!rows.is_empty())
    }

    /// Creates or updates a team, logging what changed, in one transaction.
    pub async fn team_set(
        &self,
        org_id: i64,
        name: &str,
        role: &str,
        description: Option<&str>,
        log: LogEntry,
    ) -> Result<(i64, bool), StoreError> {
        let (n, r, d) = (name.to_string(), role.to_string(), description.map(str::to_string));
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT team_id, created FROM quay.team_set($1, $2, $3, $4, $5)",
            vec![
                Value::Int(org_id),
                Value::text(name),
                Value::text(role),
                Value::opt_text(description),
                Value::text(json),
            ],
            move |ex| quay_core::teams::set(ex, org_id, &n, &r, d.as_deref(), Some(&log)),
            |rows| first(rows, |r| Some((int(r, 0)?, boolean(r, 1)))),
        )
        .await
    }

    /// Adds a member to a team and logs it, in one transaction; `false` when already a member.
    pub async fn team_member_add(
        &self,
        team_id: i64,
        user_id: i64,
        log: LogEntry,
    ) -> Result<bool, StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.team_member_add($1, $2, $3)",
            vec![Value::Int(team_id), Value::Int(user_id), Value::text(json)],
            move |ex| quay_core::teams::add_member(ex, team_id, user_id, Some(&log)),
            |rows| first(rows, |r| Some(boolean(r, 0))),
        )
        .await
    }

    /// People (and, with `robot_namespace`, its robots) whose name starts with `prefix`.
    pub async fn users_by_prefix(
        &self,
        prefix: &str,
        robot_namespace: Option<&str>,
        org_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Person>, StoreError> {
        let rows = self
            .statement(
                Access::Scan,
                sql("users_by_prefix"),
                vec![
                    Value::text(prefix),
                    Value::Int(limit),
                    Value::text(robot_namespace.unwrap_or("")),
                    Value::Int(org_id.unwrap_or(-1)),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Person {
                    username: text(r, 0)?,
                    email: text(r, 1).unwrap_or_default(),
                    robot: boolean(r, 2),
                    org_member: boolean(r, 3),
                })
            })
            .collect())
    }

    pub async fn teams_by_prefix(&self, org_id: i64, prefix: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .statement(Access::Scan, sql("teams_by_prefix"), vec![Value::Int(org_id), Value::text(prefix)])
            .await?;
        Ok(rows.iter().filter_map(|r| text(r, 0)).collect())
    }
}

impl Store {
    /// Removes a team member and logs it, in one transaction.
    pub async fn team_member_remove(
        &self,
        team_id: i64,
        user_id: i64,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.team_member_remove($1, $2, $3)::text",
            vec![Value::Int(team_id), Value::Int(user_id), Value::text(json)],
            move |ex| quay_core::teams::remove_member(ex, team_id, user_id, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Deletes a team and everything naming it, and logs it, in one transaction.
    pub async fn team_delete(&self, team_id: i64, log: LogEntry) -> Result<(), StoreError> {
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.team_delete($1, $2)::text",
            vec![Value::Int(team_id), Value::text(json)],
            move |ex| quay_core::teams::delete(ex, team_id, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}
