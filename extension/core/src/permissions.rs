//! Who may do what to a repository (quay-data-model.md §6), written once for both backends.
//!
//! Sources of a role, the highest winning: public visibility (read, also for anonymous callers),
//! direct grants, team grants, membership of an organization's admin team (admin on all its
//! repositories), and owning the namespace (admin). Robots are users like any other. Disabled
//! callers count as anonymous; repositories marked for deletion or in a disabled namespace are
//! invisible. Superusers are a config matter, applied by the server.

use crate::exec::{CoreResult, Executor, Value, composed, invalid, named, run};
use crate::logs::{self, LogEntry};
use crate::repositories::RepoRef;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/permissions.sql");

/// A repository role, ordered read < write < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
    /// A `role.name`.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    /// A rank of the permission statements (1 read, 2 write, 3 admin).
    pub fn from_rank(rank: i64) -> Option<Role> {
        match rank {
            1 => Some(Role::Read),
            2 => Some(Role::Write),
            3 => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `name` of permissions.sql with the role rule (`role_rank`) in place of `{role_rank}`.
fn with_role_rank(name: &str) -> String {
    embed_role_rank(named(SQL, name))
}

/// `statement` with its `{role_rank}` replaced by the one role rule (for statements kept
/// elsewhere, e.g. the store's listings; aliases `r`, `v`, `c` as role_rank documents).
pub fn embed_role_rank(statement: &str) -> String {
    statement.replace("{role_rank}", named(SQL, "role_rank").trim_end())
}

/// The grants statement (`{grants}`) in `name`, composed once.
fn over_grants(key: &'static str, name: &'static str) -> &'static str {
    composed(key, || named(SQL, name).replace("{grants}", &with_role_rank("grants")))
}

/// The caller as the statements see it: -1 for anonymous (a disabled user is anonymous there).
fn caller(user_id: Option<i64>) -> Value {
    Value::Int(user_id.unwrap_or(-1))
}

fn grants(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    repository_id: Option<i64>,
    namespace: Option<&str>,
) -> CoreResult<Vec<(i64, Role)>> {
    let sql = composed("permissions.grants", || with_role_rank("grants"));
    let rows = run(
        ex,
        sql,
        &[Value::Int(repository_id.unwrap_or(-1)), caller(user_id), Value::text(namespace.unwrap_or(""))],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.first()?.as_i64()?, Role::from_rank(r.get(1)?.as_i64()?)?)))
        .collect())
}

/// permissions.sql `repository_access` with a read's columns and joins added (`more_columns`
/// starts with `, `): parameters $1 namespace, $2 name, $3 caller (NULL: anonymous), then the
/// read's own from $4. Its first columns are read by [`access_of`].
pub fn access_statement(more_columns: &str, more_joins: &str) -> String {
    with_role_rank("repository_access")
        .replace("{more_columns}", more_columns)
        .replace("{more_joins}", more_joins.trim_end())
}

/// [`access_statement`] alone: the repository and the caller's rank.
pub fn repository_access_statement() -> &'static str {
    composed("permissions.repository_access", || access_statement("", ""))
}

/// The repository and role from the first seven columns of an [`access_statement`] row.
pub fn access_of(r: &[Value]) -> Option<RepositoryAccess> {
    Some(RepositoryAccess {
        repository: RepoRef {
            id: r.first()?.as_i64()?,
            namespace_id: r.get(1)?.as_i64()?,
            public: r.get(2)?.as_bool().unwrap_or(false),
            is_image: r.get(3)?.as_bool().unwrap_or(false),
            state: r.get(4)?.as_i64()?,
            namespace_enabled: r.get(5)?.as_bool().unwrap_or(false),
        },
        role: r.get(6).and_then(Value::as_i64).and_then(Role::from_rank),
    })
}

/// The parameters of an [`access_statement`] before the read's own.
pub fn access_params(namespace: &str, name: &str, user_id: Option<i64>) -> Vec<Value> {
    vec![Value::text(namespace), Value::text(name), Value::opt_int(user_id)]
}

/// The caller's role on one repository; `None` = no access (or no such repository).
/// `user_id` `None` is the anonymous caller.
pub fn repository_role(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    repository_id: i64,
) -> CoreResult<Option<Role>> {
    let sql = composed("permissions.role_on", || with_role_rank("role_on"));
    let rows = run(ex, sql, &[Value::Int(repository_id), caller(user_id)])?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64).and_then(Role::from_rank))
}

/// A repository found by name with the caller's role on it ([`repository_role`]): what every
/// registry request decides on, read together (one round trip on PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryAccess {
    pub repository: RepoRef,
    pub role: Option<Role>,
}

/// The live repository `namespace/name` and the caller's role on it; `None` when there is none.
pub fn repository_access(
    ex: &mut dyn Executor,
    namespace: &str,
    name: &str,
    user_id: Option<i64>,
) -> CoreResult<Option<RepositoryAccess>> {
    let rows = run(ex, repository_access_statement(), &access_params(namespace, name, user_id))?;
    Ok(rows.first().and_then(|r| access_of(r)))
}

/// Every repository the caller can read, with its role, by id; optionally in one namespace.
pub fn visible_repositories(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    namespace: Option<&str>,
) -> CoreResult<Vec<(i64, Role)>> {
    grants(ex, user_id, None, namespace)
}

/// A page of the repositories the caller can read, by full name (`namespace/name`) in byte
/// order: at most `limit` after `after`. The catalog, paged in the database.
pub fn visible_names(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    after: &str,
    limit: i64,
) -> CoreResult<Vec<(i64, String)>> {
    let sql = over_grants("permissions.visible_names", "visible_names");
    let rows = run(
        ex,
        sql,
        &[Value::Int(-1), caller(user_id), Value::text(""), Value::text(after), Value::Int(limit.max(0))],
    )?;
    Ok(rows.iter().filter_map(|r| Some((r.first()?.as_i64()?, r.get(1)?.as_text()?.to_string()))).collect())
}

/// The first repository (by id) the caller can read that holds blob `digest` (used by one of its
/// manifests, or linked by an unexpired upload): a mount's source when the client names none.
pub fn readable_with_blob(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    digest: &str,
) -> CoreResult<Option<i64>> {
    let sql = over_grants("permissions.readable_with_blob", "readable_with_blob");
    let rows = run(ex, sql, &[Value::Int(-1), caller(user_id), Value::text(""), Value::text(digest)])?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64))
}

/// A caller's standing in a namespace (Quay's organization permissions): the namespace is the
/// caller's own, or the caller's best team role in the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NamespaceRole {
    Member,
    Creator,
    Admin,
    Owner,
}

impl NamespaceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NamespaceRole::Member => "member",
            NamespaceRole::Creator => "creator",
            NamespaceRole::Admin => "admin",
            NamespaceRole::Owner => "owner",
        }
    }
    pub fn parse(s: &str) -> Option<NamespaceRole> {
        match s {
            "member" => Some(NamespaceRole::Member),
            "creator" => Some(NamespaceRole::Creator),
            "admin" => Some(NamespaceRole::Admin),
            "owner" => Some(NamespaceRole::Owner),
            _ => None,
        }
    }
    /// Administers the namespace: its owner, or an admin of the organization.
    pub fn administers(self) -> bool {
        self >= NamespaceRole::Admin
    }
}

/// A namespace (user or organization, not a robot) and the caller's role in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceAccess {
    pub id: i64,
    pub organization: bool,
    pub enabled: bool,
    pub role: Option<NamespaceRole>,
}

/// permissions.sql `namespace_role`: $1 namespace name, $2 caller (NULL: anonymous).
pub fn namespace_role_statement() -> &'static str {
    named(SQL, "namespace_role")
}

/// A `namespace_role` row.
pub fn namespace_access_of(r: &[Value]) -> Option<NamespaceAccess> {
    Some(NamespaceAccess {
        id: r.first()?.as_i64()?,
        organization: r.get(1)?.as_bool().unwrap_or(false),
        enabled: r.get(2)?.as_bool().unwrap_or(false),
        role: r.get(3).and_then(Value::as_text).and_then(NamespaceRole::parse),
    })
}

/// The namespace `name` and the caller's role in it; `None` when no user or organization has
/// that name.
pub fn namespace_access(
    ex: &mut dyn Executor,
    name: &str,
    user_id: Option<i64>,
) -> CoreResult<Option<NamespaceAccess>> {
    let rows = run(ex, namespace_role_statement(), &[Value::text(name), Value::opt_int(user_id)])?;
    Ok(rows.first().and_then(|r| namespace_access_of(r)))
}

/// Who a repository permission is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grantee {
    /// A person or a robot.
    User(i64),
    /// A team of the repository's organization.
    Team(i64),
}

/// The namespace of a live repository and the checked grantee (`QUAY_REPOSITORY_UNKNOWN`,
/// `QUAY_USER_UNKNOWN`, `QUAY_TEAM_UNKNOWN`).
fn grant_target(ex: &mut dyn Executor, repository_id: i64, who: Grantee, granting: bool) -> CoreResult<i64> {
    let ns = run(ex, named(SQL, "grant_target_repository"), &[Value::Int(repository_id)])?;
    let Some(ns) = ns.first().and_then(|r| r.first()).and_then(Value::as_i64) else {
        return Err(invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist")));
    };
    let (found, rule) = match who {
        Grantee::User(u) if granting => {
            (run(ex, named(SQL, "grant_target_user"), &[Value::Int(u), Value::Int(ns)])?, Rule::UserUnknown)
        }
        Grantee::User(u) => (run(ex, named(SQL, "grant_holder_user"), &[Value::Int(u)])?, Rule::UserUnknown),
        Grantee::Team(t) => {
            (run(ex, named(SQL, "grant_target_team"), &[Value::Int(t), Value::Int(ns)])?, Rule::TeamUnknown)
        }
    };
    if found.is_empty() {
        return Err(invalid(rule, "this user cannot be given a permission on this repository"));
    }
    Ok(ns)
}

fn grantee_params(who: Grantee, repository_id: i64) -> (&'static str, &'static str, Vec<Value>) {
    match who {
        Grantee::User(u) => {
            ("upsert_user_grant", "delete_user_grant", vec![Value::Int(u), Value::Int(repository_id)])
        }
        Grantee::Team(t) => {
            ("upsert_team_grant", "delete_team_grant", vec![Value::Int(t), Value::Int(repository_id)])
        }
    }
}

/// Sets `who`'s role on a live repository (inserted or changed) and writes `log` (account: the
/// namespace; repository: this one) in the same transaction. A user must be enabled, and a
/// robot must be one of the repository's namespace (`QUAY_USER_UNKNOWN` otherwise).
pub fn grant_set(
    ex: &mut dyn Executor,
    repository_id: i64,
    who: Grantee,
    role: Role,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    grant_target(ex, repository_id, who, true)?;
    let (upsert, _, mut params) = grantee_params(who, repository_id);
    params.push(Value::text(role.as_str()));
    run(ex, named(SQL, upsert), &params)?;
    logs::record_for_repository(ex, repository_id, log)
}

/// Removes `who`'s permission on a live repository (`QUAY_PERMISSION_UNKNOWN` when it has none)
/// and writes `log` in the same transaction.
pub fn grant_delete(
    ex: &mut dyn Executor,
    repository_id: i64,
    who: Grantee,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    grant_target(ex, repository_id, who, false)?;
    let (_, delete, params) = grantee_params(who, repository_id);
    if run(ex, named(SQL, delete), &params)?.is_empty() {
        return Err(invalid(Rule::PermissionUnknown, "User does not have permission for repo."));
    }
    logs::record_for_repository(ex, repository_id, log)
}
