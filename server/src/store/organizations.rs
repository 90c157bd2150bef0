//! Organizations for `/api/v1`: creation (a core call that also logs), the caller's role in a
//! namespace (one statement, permissions.sql `namespace_role`), teams and members. Statements of
//! `sql/store/organizations.sql` run on either backend.

use super::query::{Access, boolean, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};
use quay_core::logs::LogEntry;
use quay_core::permissions::{NamespaceAccess, namespace_access_of, namespace_role_statement};

const SQL: &str = include_str!("../../../sql/store/organizations.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

/// A team as the organization view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub role: String,
    pub member_count: i64,
    pub repo_count: i64,
    pub caller_is_member: bool,
}

/// A person in an organization: its teams and the repositories it holds a direct grant on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub username: String,
    pub email: String,
    pub teams: Vec<String>,
    pub repositories: Vec<String>,
}

impl Store {
    /// The namespace `name` (user or organization) and the caller's role in it.
    pub async fn namespace_access(
        &self,
        name: &str,
        user_id: Option<i64>,
    ) -> Result<Option<NamespaceAccess>, StoreError> {
        let rows =
            self.rows(namespace_role_statement(), vec![Value::text(name), Value::opt_int(user_id)]).await?;
        Ok(first(rows, |r| namespace_access_of(r)))
    }

    /// Creates organization `name` with `creator_id` in its owners team and writes `log`, in one
    /// transaction. `Ok((id, false))`: it already existed (nothing written).
    pub async fn organization_create_logged(
        &self,
        name: &str,
        creator_id: i64,
        email: Option<&str>,
        removed_tag_expiration_s: i64,
        log: LogEntry,
    ) -> Result<(i64, bool), StoreError> {
        let (n, e) = (name.to_string(), email.map(str::to_string));
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT organization_id, created FROM quay.organization_create($1, $2, $3, $4, $5)",
            vec![
                Value::text(name),
                Value::Int(creator_id),
                Value::opt_text(email),
                Value::Int(removed_tag_expiration_s),
                Value::text(json),
            ],
            move |ex| {
                quay_core::organizations::create_with(
                    ex,
                    &n,
                    creator_id,
                    e.as_deref(),
                    removed_tag_expiration_s,
                    Some(&log),
                )
            },
            |rows| first(rows, |r| Some((int(r, 0)?, boolean(r, 1)))),
        )
        .await
    }

    /// Changes an organization's details, each change logged, in one transaction.
    pub async fn organization_update(
        &self,
        org_id: i64,
        changes: quay_core::organizations::Changes,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let (c, json) = (changes.to_json(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.organization_update($1, $2, $3)::text",
            vec![Value::Int(org_id), Value::text(c), Value::text(json)],
            move |ex| quay_core::organizations::update(ex, org_id, &changes, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Renames an organization and its robots (`quay.organization_rename`), logged.
    pub async fn organization_rename(
        &self,
        org_id: i64,
        new_name: &str,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let (n, json) = (new_name.to_string(), log.to_json());
        self.call(
            Access::Write,
            "SELECT quay.organization_rename($1, $2, $3)::text",
            vec![Value::Int(org_id), Value::text(new_name), Value::text(json)],
            move |ex| quay_core::organizations::rename(ex, org_id, &n, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Removes a person from every team of the organization and every direct permission on its
    /// repositories, in one transaction.
    pub async fn organization_member_remove(&self, org_id: i64, user_id: i64) -> Result<(), StoreError> {
        self.call(
            Access::Write,
            "SELECT quay.organization_member_remove($1, $2)::text",
            vec![Value::Int(org_id), Value::Int(user_id)],
            move |ex| quay_core::organizations::remove_member(ex, org_id, user_id),
            |_| Some(()),
        )
        .await
    }

    pub async fn organization_teams(
        &self,
        org_id: i64,
        caller: Option<i64>,
    ) -> Result<Vec<TeamSummary>, StoreError> {
        let rows = self
            .statement(Access::Scan, sql("teams"), vec![Value::Int(org_id), Value::Int(caller.unwrap_or(-1))])
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(TeamSummary {
                    id: int(r, 0)?,
                    name: text(r, 1)?,
                    description: text(r, 2).unwrap_or_default(),
                    role: text(r, 3)?,
                    member_count: int(r, 4).unwrap_or(0),
                    repo_count: int(r, 5).unwrap_or(0),
                    caller_is_member: boolean(r, 6),
                })
            })
            .collect())
    }

    /// The people in the organization's teams, by name, with their teams and direct grants.
    pub async fn organization_members(&self, org_id: i64) -> Result<Vec<Member>, StoreError> {
        let rows = self.statement(Access::Scan, sql("member_teams"), vec![Value::Int(org_id)]).await?;
        let mut members: Vec<Member> = Vec::new();
        for r in &rows {
            let (Some(name), Some(team)) = (text(r, 0), text(r, 2)) else { continue };
            match members.last_mut() {
                Some(m) if m.username == name => m.teams.push(team),
                _ => members.push(Member {
                    username: name,
                    email: text(r, 1).unwrap_or_default(),
                    teams: vec![team],
                    repositories: vec![],
                }),
            }
        }
        let grants =
            self.statement(Access::Scan, sql("member_repositories"), vec![Value::Int(org_id)]).await?;
        for r in &grants {
            let (Some(name), Some(repo)) = (text(r, 0), text(r, 1)) else { continue };
            if let Some(m) = members.iter_mut().find(|m| m.username == name) {
                m.repositories.push(repo);
            }
        }
        Ok(members)
    }

    /// People with direct grants in the organization who are not members, with those repositories.
    pub async fn organization_collaborators(&self, org_id: i64) -> Result<Vec<Member>, StoreError> {
        let rows = self.statement(Access::Scan, sql("collaborators"), vec![Value::Int(org_id)]).await?;
        let mut out: Vec<Member> = Vec::new();
        for r in &rows {
            let (Some(name), Some(repo)) = (text(r, 0), text(r, 2)) else { continue };
            match out.last_mut() {
                Some(m) if m.username == name => m.repositories.push(repo),
                _ => out.push(Member {
                    username: name,
                    email: text(r, 1).unwrap_or_default(),
                    teams: vec![],
                    repositories: vec![repo],
                }),
            }
        }
        Ok(out)
    }
}

impl Store {
    /// `(name, e-mail)` of every enabled organization, by name.
    pub async fn all_organizations(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.statement(Access::Scan, sql("all_organizations"), vec![]).await?;
        Ok(rows.iter().filter_map(|r| Some((text(r, 0)?, text(r, 1).unwrap_or_default()))).collect())
    }
}
