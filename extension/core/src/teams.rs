//! Teams of an organization, written once for both backends: creating a team or changing its
//! role and description (Quay's `TeamResource.put`), and adding members. Each write records its
//! action log in the same transaction, derived from the caller's log template
//! ([`LogEntry::derive`]): `org_create_team`, `org_set_team_role`, `org_set_team_description`,
//! `org_add_team_member`.

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, lock, named, run};
use crate::logs::{self, LogEntry};
use crate::names;
use crate::rules::Rule;
use serde_json::json;

const SQL: &str = include_str!("../../../sql/teams.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// Refuses (`QUAY_NAMESPACE_LAST_ADMIN`) a change after which nobody would administer the
/// organization: no enabled person left in an admin team other than `without_team` and other
/// than `without_member` (team, user).
fn keep_an_admin(
    ex: &mut dyn Executor,
    org_id: i64,
    without_team: i64,
    without_member: (i64, i64),
) -> CoreResult<()> {
    let left = first_int(&q(
        ex,
        "other_admins",
        &[
            Value::Int(org_id),
            Value::Int(without_team),
            Value::Int(without_member.0),
            Value::Int(without_member.1),
        ],
    )?)
    .unwrap_or(0);
    if left == 0 {
        return Err(invalid(Rule::NamespaceLastAdmin, "An organization must keep at least one admin"));
    }
    Ok(())
}

/// Team roles (`teamrole`).
pub const ROLES: [&str; 3] = ["member", "creator", "admin"];

/// Creates team `name` in organization `org_id` with `role` and `description`, or sets them on
/// the existing team. Returns the team id and whether it was created.
pub fn set(
    ex: &mut dyn Executor,
    org_id: i64,
    name: &str,
    role: &str,
    description: Option<&str>,
    log: Option<&LogEntry>,
) -> CoreResult<(i64, bool)> {
    if !names::is_valid_username(name) {
        return Err(invalid(
            Rule::TeamNameInvalid,
            format!(
                "Invalid team name {name}: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$"
            ),
        ));
    }
    if !ROLES.contains(&role) {
        return Err(invalid(Rule::InvalidArgument, format!("{role:?} is not a team role")));
    }
    if q(ex, "organization", &[Value::Int(org_id)])?.is_empty() {
        return Err(invalid(Rule::NamespaceUnknown, format!("{org_id} is not an enabled organization")));
    }
    lock(ex, &format!("quay:team:{org_id}:{name}"))?;
    lock(ex, &format!("quay:team:admins:{org_id}"))?;
    let existing = q(ex, "team_by_name", &[Value::Int(org_id), Value::text(name)])?;
    let Some(row) = existing.first() else {
        let id = first_int(&q(
            ex,
            "insert_team",
            &[
                Value::Int(org_id),
                Value::text(name),
                Value::text(role),
                Value::text(description.unwrap_or("")),
            ],
        )?)
        .ok_or_else(|| CoreError::Database("team insert returned no id".into()))?;
        if let Some(l) = log {
            logs::record(ex, &l.derive("org_create_team", json!({"team": name})), Some(org_id))?;
        }
        return Ok((id, true));
    };
    let id = row.first().and_then(Value::as_i64).unwrap_or_default();
    let old_role = row.get(1).and_then(Value::as_text).unwrap_or("").to_string();
    let old_description = row.get(2).and_then(Value::as_text).unwrap_or("").to_string();
    let new_description = description.unwrap_or(&old_description).to_string();
    if old_role == "admin" && role != "admin" {
        keep_an_admin(ex, org_id, id, (-1, -1))?;
    }
    q(ex, "update_team", &[Value::Int(id), Value::text(role), Value::text(&new_description)])?;
    if let Some(l) = log {
        if old_role != role {
            logs::record(
                ex,
                &l.derive("org_set_team_role", json!({"role": role, "team": name})),
                Some(org_id),
            )?;
        }
        if old_description != new_description {
            let m = json!({"description": new_description, "team": name});
            logs::record(ex, &l.derive("org_set_team_description", m), Some(org_id))?;
        }
    }
    Ok((id, false))
}

/// Adds user `user_id` (a person, or a robot of the organization) to team `team_id`. Returns
/// whether it was added now (`false`: already a member; nothing logged).
pub fn add_member(
    ex: &mut dyn Executor,
    team_id: i64,
    user_id: i64,
    log: Option<&LogEntry>,
) -> CoreResult<bool> {
    let team = q(ex, "team_organization", &[Value::Int(team_id)])?;
    let Some(t) = team.first() else {
        return Err(invalid(Rule::TeamUnknown, format!("team {team_id} does not exist")));
    };
    let org_id = t.first().and_then(Value::as_i64).unwrap_or_default();
    let team_name = t.get(1).and_then(Value::as_text).unwrap_or("").to_string();
    let candidate = q(ex, "member_candidate", &[Value::Int(user_id), Value::Int(org_id)])?;
    let Some(member) = candidate.first().and_then(|r| r.first()).and_then(Value::as_text).map(str::to_string)
    else {
        return Err(invalid(Rule::UserUnknown, "Unknown user"));
    };
    let added = !q(ex, "insert_member", &[Value::Int(user_id), Value::Int(team_id)])?.is_empty();
    if added && let Some(l) = log {
        logs::record(
            ex,
            &l.derive("org_add_team_member", json!({"member": member, "team": team_name})),
            Some(org_id),
        )?;
    }
    Ok(added)
}

/// The team's organization, name and whether it is an admin team (`QUAY_TEAM_UNKNOWN`).
fn team_info(ex: &mut dyn Executor, team_id: i64) -> CoreResult<(i64, String, bool)> {
    let rows = q(ex, "team_organization", &[Value::Int(team_id)])?;
    let t =
        rows.first().ok_or_else(|| invalid(Rule::TeamUnknown, format!("team {team_id} does not exist")))?;
    Ok((
        t.first().and_then(Value::as_i64).unwrap_or_default(),
        t.get(1).and_then(Value::as_text).unwrap_or("").to_string(),
        t.get(2).and_then(Value::as_text) == Some("admin"),
    ))
}

/// Removes a member from a team, logging `org_remove_team_member`. `QUAY_USER_UNKNOWN` when it
/// is not a member.
pub fn remove_member(
    ex: &mut dyn Executor,
    team_id: i64,
    user_id: i64,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    let (org_id, team, admin_team) = team_info(ex, team_id)?;
    lock(ex, &format!("quay:team:admins:{org_id}"))?;
    if admin_team {
        keep_an_admin(ex, org_id, -1, (team_id, user_id))?;
    }
    if q(ex, "remove_member", &[Value::Int(team_id), Value::Int(user_id)])?.is_empty() {
        return Err(invalid(Rule::UserUnknown, format!("user {user_id} is not a member of team {team}")));
    }
    let member = q(ex, "member_name", &[Value::Int(user_id)])?
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_text)
        .unwrap_or("")
        .to_string();
    if let Some(l) = log {
        logs::record(
            ex,
            &l.derive("org_remove_team_member", json!({"member": member, "team": team})),
            Some(org_id),
        )?;
    }
    Ok(())
}

/// Deletes a team with its memberships, permissions, default permissions and invitations,
/// logging `org_delete_team`.
pub fn delete(ex: &mut dyn Executor, team_id: i64, log: Option<&LogEntry>) -> CoreResult<()> {
    let (org_id, team, admin_team) = team_info(ex, team_id)?;
    lock(ex, &format!("quay:team:admins:{org_id}"))?;
    if admin_team {
        keep_an_admin(ex, org_id, team_id, (-1, -1))?;
    }
    for step in
        ["unref_team_members", "unref_team_permissions", "unref_team_prototypes", "unref_team_invites"]
    {
        q(ex, step, &[Value::Int(team_id)])?;
    }
    if q(ex, "delete_team", &[Value::Int(team_id)])?.is_empty() {
        return Err(CoreError::Database(format!("team {team_id} was not deleted")));
    }
    if let Some(l) = log {
        logs::record(ex, &l.derive("org_delete_team", json!({"team": team})), Some(org_id))?;
    }
    Ok(())
}
