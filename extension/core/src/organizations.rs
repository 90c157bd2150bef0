//! Creating organizations (Quay's `create_organization`), written once for both backends: the
//! organization's `user` row, its `owners` team with the admin team role, and the creating user
//! as its first member. Used when a push names a missing namespace and
//! `CREATE_NAMESPACE_ON_PUSH` is on (quay-http-surface.md §1.10).

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, lock, named, run};
use crate::logs::{self, LogEntry};
use crate::names;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/organizations.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// The organization's e-mail as Quay derives it from its creator's: `+<name>` inserted before
/// each `@` (an address without `@` is used as is).
pub fn derived_email(creator_email: &str, name: &str) -> String {
    creator_email.split('@').collect::<Vec<_>>().join(&format!("+{name}@"))
}

/// The organization `name`, created with `creator_id` in its `owners` team when no namespace
/// has that name. Returns its id and whether it was created now. A user (not organization) of
/// that name is refused; concurrent callers get the same organization.
pub fn create(
    ex: &mut dyn Executor,
    name: &str,
    creator_id: i64,
    removed_tag_expiration_s: i64,
) -> CoreResult<(i64, bool)> {
    create_with(ex, name, creator_id, None, removed_tag_expiration_s, None)
}

/// [`create`] with the organization's e-mail (`None`: derived from the creator's) and the action
/// log to write, in the same transaction, when it is created (`/api/v1/organization/`; the log's
/// account defaults to the new organization).
pub fn create_with(
    ex: &mut dyn Executor,
    name: &str,
    creator_id: i64,
    org_email: Option<&str>,
    removed_tag_expiration_s: i64,
    log: Option<&LogEntry>,
) -> CoreResult<(i64, bool)> {
    if !names::is_valid_username(name) {
        return Err(invalid(
            Rule::NameInvalid,
            format!(
                "Invalid namespace {name}: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$"
            ),
        ));
    }
    let creator = q(ex, "creator", &[Value::Int(creator_id)])?;
    let Some(email) = creator.first().map(|r| r.get(1).and_then(Value::as_text).unwrap_or("").to_string())
    else {
        return Err(invalid(
            Rule::PermissionDenied,
            format!(
                "user {creator_id} may not create organizations (unknown, disabled, robot or organization)"
            ),
        ));
    };
    lock(ex, &format!("quay:namespace:create:{name}"))?;
    let existing = |ex: &mut dyn Executor| -> CoreResult<Option<(i64, bool)>> {
        let rows = q(ex, "namespace_by_name", &[Value::text(name)])?;
        Ok(rows.first().and_then(|r| Some((r.first()?.as_i64()?, r.get(1)?.as_bool()?))))
    };
    let taken = |id: i64, organization: bool| {
        if organization {
            Ok((id, false))
        } else {
            Err(invalid(Rule::NamespaceExists, "A user or organization with this name already exists"))
        }
    };
    if let Some((id, organization)) = existing(ex)? {
        return taken(id, organization);
    }
    let uuid = ex.uuid4();
    let inserted = first_int(&q(
        ex,
        "insert_organization",
        &[
            Value::text(name),
            Value::text(org_email.map_or_else(|| derived_email(&email, name), str::to_string)),
            Value::text(uuid),
            Value::Int(removed_tag_expiration_s),
        ],
    )?);
    let Some(id) = inserted else {
        // Defensive: the lock (PostgreSQL) or the single writer (SQLite) serialises creators.
        let (id, organization) =
            existing(ex)?.ok_or_else(|| CoreError::Database("organization insert returned no id".into()))?;
        return taken(id, organization);
    };
    let team = first_int(&q(ex, "insert_owners_team", &[Value::Int(id)])?)
        .ok_or_else(|| CoreError::Database("teamrole 'admin' is missing".into()))?;
    q(ex, "insert_member", &[Value::Int(creator_id), Value::Int(team)])?;
    logs::record_opt(ex, log, Some(id))?;
    Ok((id, true))
}

#[cfg(test)]
mod tests {
    #[test]
    fn email_like_quay() {
        assert_eq!(super::derived_email("alice@example.com", "corp"), "alice+corp@example.com");
        assert_eq!(super::derived_email("alice", "corp"), "alice");
        assert_eq!(super::derived_email("a@b@c", "x"), "a+x@b+x@c");
    }
}
