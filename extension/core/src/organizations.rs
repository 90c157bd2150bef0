//! Creating organizations (Quay's `create_organization`), written once for both backends: the
//! organization's `user` row, its `owners` team with the admin team role, and the creating user
//! as its first member. Used when a push names a missing namespace and
//! `CREATE_NAMESPACE_ON_PUSH` is on (quay-http-surface.md §1.10).

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, lock, named, run};
use crate::logs::{self, LogEntry};
use crate::names;
use crate::rules::Rule;
use serde_json::json;

pub(crate) const SQL: &str = include_str!("../../../sql/organizations.sql");

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

/// What `PUT /api/v1/organization/<org>` may change; `None` leaves a field as it is.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Changes {
    pub email: Option<String>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<String>,
    pub tag_expiration_s: Option<i64>,
}

impl Changes {
    /// From JSON (`{"email": ..., "tag_expiration_s": ...}`); `QUAY_INVALID_ARGUMENT` otherwise.
    pub fn from_json(text: &str) -> CoreResult<Changes> {
        serde_json::from_str(text)
            .map_err(|e| invalid(Rule::InvalidArgument, format!("organization changes: {e}")))
    }

    pub fn to_json(&self) -> String {
        json!({
            "email": self.email,
            "invoice_email": self.invoice_email,
            "invoice_email_address": self.invoice_email_address,
            "tag_expiration_s": self.tag_expiration_s,
        })
        .to_string()
    }
}

/// Changes an organization's details in one transaction, logging each change as Quay does
/// (`org_change_invoicing`, `org_change_email` with the old address, `org_change_tag_expiration`;
/// account: the organization). An e-mail another namespace uses is refused
/// (`QUAY_EMAIL_TAKEN`) and nothing is written; an unchanged e-mail or invoice address is not
/// logged.
pub fn update(
    ex: &mut dyn Executor,
    org_id: i64,
    changes: &Changes,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    lock(ex, &format!("quay:namespace:update:{org_id}"))?;
    let rows = q(ex, "organization_row", &[Value::Int(org_id)])?;
    let Some(row) = rows.first() else {
        return Err(invalid(Rule::NamespaceUnknown, format!("organization {org_id} does not exist")));
    };
    let text = |i: usize| row.get(i).and_then(Value::as_text).map(str::to_string);
    let (name, email, invoice_address) = (text(0).unwrap_or_default(), text(1), text(2));
    let logged = |ex: &mut dyn Executor, kind: &str, metadata: serde_json::Value| -> CoreResult<()> {
        match log {
            Some(l) => logs::record(ex, &l.derive(kind, metadata), Some(org_id)),
            None => Ok(()),
        }
    };
    if let Some(on) = changes.invoice_email {
        q(ex, "set_invoice_email", &[Value::Int(org_id), Value::Bool(on)])?;
        logged(ex, "org_change_invoicing", json!({"invoice_email": on, "namespace": name}))?;
    }
    if let Some(address) = &changes.invoice_email_address
        && invoice_address.as_deref() != Some(address.as_str())
    {
        q(ex, "set_invoice_email_address", &[Value::Int(org_id), Value::text(address.clone())])?;
        logged(ex, "org_change_invoicing", json!({"invoice_email_address": address, "namespace": name}))?;
    }
    if let Some(new) = &changes.email
        && email.as_deref() != Some(new.as_str())
    {
        if !q(ex, "email_taken", &[Value::text(new.clone()), Value::Int(org_id)])?.is_empty() {
            return Err(invalid(Rule::EmailTaken, "E-mail address already used"));
        }
        q(ex, "set_email", &[Value::Int(org_id), Value::text(new.clone())])?;
        logged(ex, "org_change_email", json!({"email": new, "namespace": name, "old_email": email}))?;
    }
    if let Some(seconds) = changes.tag_expiration_s {
        if seconds < 0 {
            return Err(invalid(Rule::InvalidArgument, "tag_expiration_s must not be negative"));
        }
        q(ex, "set_tag_expiration", &[Value::Int(org_id), Value::Int(seconds)])?;
        logged(ex, "org_change_tag_expiration", json!({"tag_expiration": seconds, "namespace": name}))?;
    }
    Ok(())
}

/// Renames an organization (a superuser's `PUT /api/v1/superuser/organizations/<name>`): the
/// name must be valid and free (people, organizations and robots share names), and its robots
/// follow (`old+bot` becomes `new+bot`), in one transaction with the log. Repositories, teams and
/// permissions hang on ids and move with it.
pub fn rename(ex: &mut dyn Executor, org_id: i64, new_name: &str, log: Option<&LogEntry>) -> CoreResult<()> {
    if !crate::names::is_valid_username(new_name) {
        return Err(invalid(
            Rule::NameInvalid,
            format!(
                "Invalid username {new_name}: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$"
            ),
        ));
    }
    lock(ex, &format!("quay:namespace:update:{org_id}"))?;
    lock(ex, &format!("quay:namespace:create:{new_name}"))?;
    let rows = q(ex, "organization_row", &[Value::Int(org_id)])?;
    let Some(old) = rows.first().and_then(|r| r.first()).and_then(Value::as_text).map(str::to_string) else {
        return Err(invalid(Rule::NamespaceUnknown, format!("organization {org_id} does not exist")));
    };
    if old == new_name {
        return Ok(());
    }
    if !q(ex, "namespace_by_name", &[Value::text(new_name)])?.is_empty()
        || !q(ex, "name_reserved", &[Value::text(new_name)])?.is_empty()
    {
        return Err(invalid(Rule::NamespaceExists, "Username is already in use"));
    }
    logs::record_opt(ex, log, Some(org_id))?;
    q(ex, "rename_namespace", &[Value::Int(org_id), Value::text(new_name)])?;
    q(ex, "rename_robots", &[Value::text(&old), Value::text(new_name)])?;
    Ok(())
}

/// Removes a person from an organization (Quay's `remove_organization_member`): every team
/// membership in it and every direct permission on its repositories, in one transaction. The
/// organization's only admin is refused (`QUAY_NAMESPACE_LAST_ADMIN`). Someone who is not a
/// member changes nothing.
pub fn remove_member(ex: &mut dyn Executor, org_id: i64, user_id: i64) -> CoreResult<()> {
    // The same lock as team membership changes, so two removals cannot both pass the check.
    lock(ex, &format!("quay:team:admins:{org_id}"))?;
    let admin = !q(ex, "is_admin_of", &[Value::Int(org_id), Value::Int(user_id)])?.is_empty();
    if admin
        && first_int(&q(ex, "admins_besides", &[Value::Int(org_id), Value::Int(user_id)])?).unwrap_or(0) == 0
    {
        return Err(invalid(
            Rule::NamespaceLastAdmin,
            "Cannot remove user as they are the only organization admin",
        ));
    }
    q(ex, "drop_member_permissions", &[Value::Int(org_id), Value::Int(user_id)])?;
    q(ex, "drop_member_teams", &[Value::Int(org_id), Value::Int(user_id)])?;
    Ok(())
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
