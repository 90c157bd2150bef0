//! Roles and what a caller may see: `quay.repository_role`, the catalog page, the mount search,
//! create permission. Core: `quay_core::permissions`. Rule-bearing calls are core functions
//! (SQLite) or the matching `quay.*` functions (PostgreSQL).

use super::query::{Access, first, int, text};
use super::{Store, StoreError};
use quay_core::exec::Value;
use quay_core::logs::LogEntry;
use quay_core::permissions::{Grantee, Role};

impl Store {
    /// The caller's role on a repository (`quay.repository_role`).
    pub async fn repository_role(
        &self,
        user_id: Option<i64>,
        repository_id: i64,
    ) -> Result<Option<Role>, StoreError> {
        let name: Option<String> = self
            .call(
                Access::Read,
                "SELECT quay.repository_role($1, $2)",
                vec![Value::opt_int(user_id), Value::Int(repository_id)],
                move |ex| {
                    quay_core::permissions::repository_role(ex, user_id, repository_id)
                        .map(|r| r.map(|r| r.as_str().to_string()))
                },
                |rows| Some(first(rows, |r| text(r, 0))),
            )
            .await?;
        Ok(name.as_deref().and_then(Role::parse))
    }

    /// A page of the catalog: `(id, "namespace/name")` of the repositories the caller can read
    /// (`quay.visible_repository_names`), at most `limit` after `after` in byte order.
    pub async fn visible_repository_names(
        &self,
        user_id: Option<i64>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let owned = after.to_string();
        let limit = limit.clamp(0, i64::from(i32::MAX));
        self.call(
            Access::Scan,
            "SELECT repository_id, full_name FROM quay.visible_repository_names($1, $2, $3::integer)",
            vec![Value::opt_int(user_id), Value::text(after), Value::Int(limit)],
            move |ex| quay_core::permissions::visible_names(ex, user_id, &owned, limit),
            |rows| Some(rows.iter().filter_map(|r| Some((int(r, 0)?, text(r, 1)?))).collect()),
        )
        .await
    }

    /// The first repository (by id) the user can read that holds blob `digest`
    /// (`quay.readable_repository_with_blob`): a mount's source when the client names none.
    pub async fn readable_repository_with_blob(
        &self,
        user_id: Option<i64>,
        digest: &str,
    ) -> Result<Option<i64>, StoreError> {
        let owned = digest.to_string();
        self.call(
            Access::Read,
            "SELECT quay.readable_repository_with_blob($1, $2)",
            vec![Value::opt_int(user_id), Value::text(digest)],
            move |ex| quay_core::permissions::readable_with_blob(ex, user_id, &owned),
            |rows| Some(first(rows, |r| int(r, 0))),
        )
        .await
    }

    /// Whether the user may create repositories in the namespace (`quay.can_create_repository`).
    pub async fn can_create_repository(&self, user_id: i64, namespace_id: i64) -> Result<bool, StoreError> {
        self.call(
            Access::Read,
            "SELECT quay.can_create_repository($1, $2)",
            vec![Value::Int(user_id), Value::Int(namespace_id)],
            move |ex| quay_core::repositories::can_create(ex, user_id, namespace_id),
            |rows| first(rows, |r| r.first().and_then(Value::as_bool)),
        )
        .await
    }
}

const SQL: &str = include_str!("../../../sql/store/permissions.sql");

fn sql(name: &str) -> &'static str {
    quay_core::exec::named(SQL, name)
}

/// A user's direct permission on a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGrant {
    pub username: String,
    pub email: String,
    pub robot: bool,
    pub role: String,
    pub org_member: bool,
}

impl Store {
    pub async fn user_grants(&self, repository_id: i64) -> Result<Vec<UserGrant>, StoreError> {
        let rows = self.statement(Access::Scan, sql("user_grants"), vec![Value::Int(repository_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(UserGrant {
                    username: text(r, 0)?,
                    email: text(r, 1).unwrap_or_default(),
                    robot: super::query::boolean(r, 2),
                    role: text(r, 3)?,
                    org_member: super::query::boolean(r, 4),
                })
            })
            .collect())
    }

    /// `(team, role)` of every team permission on the repository.
    pub async fn team_grants(&self, repository_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.statement(Access::Scan, sql("team_grants"), vec![Value::Int(repository_id)]).await?;
        Ok(rows.iter().filter_map(|r| Some((text(r, 0)?, text(r, 1)?))).collect())
    }

    /// Every role a user holds on the repository, directly and through its teams.
    pub async fn transitive_roles(
        &self,
        repository_id: i64,
        user_id: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .statement(
                Access::Scan,
                sql("transitive_roles"),
                vec![Value::Int(repository_id), Value::Int(user_id)],
            )
            .await?;
        Ok(rows.iter().filter_map(|r| text(r, 0)).collect())
    }

    /// `(repository, public, role)` of a team's permissions.
    pub async fn team_repository_grants(
        &self,
        team_id: i64,
    ) -> Result<Vec<(String, bool, String)>, StoreError> {
        let rows =
            self.statement(Access::Scan, sql("team_repository_grants"), vec![Value::Int(team_id)]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((text(r, 0)?, super::query::boolean(r, 1), text(r, 2)?)))
            .collect())
    }

    /// Sets a user's or team's role on a repository and writes `log`, in one transaction.
    pub async fn permission_set(
        &self,
        repository_id: i64,
        who: Grantee,
        role: Role,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let (u, t) = grantee_values(who);
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.permission_set($1, $2, $3, $4, $5)::text",
            vec![Value::Int(repository_id), u, t, Value::text(role.as_str()), Value::text(json)],
            move |ex| quay_core::permissions::grant_set(ex, repository_id, who, role, Some(&log)),
            |_| Some(()),
        )
        .await
    }

    /// Removes a user's or team's permission and writes `log`, in one transaction.
    pub async fn permission_delete(
        &self,
        repository_id: i64,
        who: Grantee,
        log: LogEntry,
    ) -> Result<(), StoreError> {
        let (u, t) = grantee_values(who);
        let json = log.to_json();
        self.call(
            Access::Write,
            "SELECT quay.permission_delete($1, $2, $3, $4)::text",
            vec![Value::Int(repository_id), u, t, Value::text(json)],
            move |ex| quay_core::permissions::grant_delete(ex, repository_id, who, Some(&log)),
            |_| Some(()),
        )
        .await
    }
}

fn grantee_values(who: Grantee) -> (Value, Value) {
    match who {
        Grantee::User(u) => (Value::Int(u), Value::NullInt),
        Grantee::Team(t) => (Value::NullInt, Value::Int(t)),
    }
}
