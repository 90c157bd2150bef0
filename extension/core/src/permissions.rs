//! Who may do what to a repository (quay-data-model.md §6), written once for both backends.
//!
//! Sources of a role, the highest winning: public visibility (read, also for anonymous callers),
//! direct grants, team grants, membership of an organization's admin team (admin on all its
//! repositories), and owning the namespace (admin). Robots are users like any other. Disabled
//! callers count as anonymous; repositories marked for deletion or in a disabled namespace are
//! invisible. Superusers are a config matter, applied by the server.

use crate::exec::{CoreResult, Executor, Value, named, run};

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
    fn from_rank(rank: i64) -> Option<Role> {
        match rank {
            1 => Some(Role::Read),
            2 => Some(Role::Write),
            3 => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The caller as the grant query sees it: -1 for anonymous or disabled.
fn effective_caller(ex: &mut dyn Executor, user_id: Option<i64>) -> CoreResult<i64> {
    let Some(id) = user_id else { return Ok(-1) };
    let rows = run(ex, named(SQL, "caller_enabled"), &[Value::Int(id)])?;
    let enabled = rows.first().and_then(|r| r.first()).and_then(Value::as_bool).unwrap_or(false);
    Ok(if enabled { id } else { -1 })
}

fn grants(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    repository_id: Option<i64>,
    namespace: Option<&str>,
) -> CoreResult<Vec<(i64, Role)>> {
    let caller = effective_caller(ex, user_id)?;
    let rows = run(
        ex,
        named(SQL, "grants"),
        &[Value::Int(repository_id.unwrap_or(-1)), Value::Int(caller), Value::text(namespace.unwrap_or(""))],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.first()?.as_i64()?, Role::from_rank(r.get(1)?.as_i64()?)?)))
        .collect())
}

/// The caller's role on one repository; `None` = no access (or no such repository).
/// `user_id` `None` is the anonymous caller.
pub fn repository_role(
    ex: &mut dyn Executor,
    user_id: Option<i64>,
    repository_id: i64,
) -> CoreResult<Option<Role>> {
    if repository_id < 0 {
        return Ok(None);
    }
    Ok(grants(ex, user_id, Some(repository_id), None)?.into_iter().next().map(|(_, role)| role))
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
    let caller = effective_caller(ex, user_id)?;
    let sql = named(SQL, "visible_names").replace("{grants}", named(SQL, "grants").trim_end());
    let rows = run(
        ex,
        &sql,
        &[Value::Int(-1), Value::Int(caller), Value::text(""), Value::text(after), Value::Int(limit.max(0))],
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
    let caller = effective_caller(ex, user_id)?;
    let sql = named(SQL, "readable_with_blob").replace("{grants}", named(SQL, "grants").trim_end());
    let rows = run(ex, &sql, &[Value::Int(-1), Value::Int(caller), Value::text(""), Value::text(digest)])?;
    Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_i64))
}
