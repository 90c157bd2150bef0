//! Default permissions of an organization (Quay's permission prototypes), written once for both
//! backends: create, change the role, delete; each with its action log in the same transaction.
//! New repositories receive them in `repositories::create`.

use crate::exec::{CoreResult, Executor, Value, invalid, named, run};
use crate::logs::{self, LogEntry};
use crate::permissions::{Grantee, Role};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/prototypes.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

fn unknown(uuid: &str) -> crate::exec::CoreError {
    invalid(Rule::PrototypeUnknown, format!("no default permission {uuid}"))
}

/// Creates default permission `uuid` in organization `org_id`: `delegate` gets `role` on every
/// repository created later (by `activating_user_id` only, when given).
pub fn create(
    ex: &mut dyn Executor,
    org_id: i64,
    uuid: &str,
    activating_user_id: Option<i64>,
    delegate: Grantee,
    role: Role,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if q(ex, "organization", &[Value::Int(org_id)])?.is_empty() {
        return Err(invalid(Rule::NamespaceUnknown, format!("{org_id} is not an enabled organization")));
    }
    if let Some(a) = activating_user_id
        && q(ex, "person_or_robot", &[Value::Int(a)])?.is_empty()
    {
        return Err(invalid(Rule::UserUnknown, format!("activating user {a} does not exist")));
    }
    let (user, team) = match delegate {
        Grantee::User(u) => {
            if q(ex, "person_or_robot", &[Value::Int(u)])?.is_empty() {
                return Err(invalid(Rule::UserUnknown, format!("delegate user {u} does not exist")));
            }
            (Value::Int(u), Value::NullInt)
        }
        Grantee::Team(t) => {
            if q(ex, "team_of", &[Value::Int(t), Value::Int(org_id)])?.is_empty() {
                return Err(invalid(
                    Rule::TeamUnknown,
                    format!("team {t} is not a team of organization {org_id}"),
                ));
            }
            (Value::NullInt, Value::Int(t))
        }
    };
    q(
        ex,
        "insert",
        &[
            Value::Int(org_id),
            Value::text(uuid),
            Value::opt_int(activating_user_id),
            user,
            team,
            Value::text(role.as_str()),
        ],
    )?;
    logs::record_opt(ex, log, Some(org_id))
}

/// Changes a default permission's role; returns the previous one (`QUAY_PROTOTYPE_UNKNOWN`).
pub fn set_role(
    ex: &mut dyn Executor,
    org_id: i64,
    uuid: &str,
    role: Role,
    log: Option<&LogEntry>,
) -> CoreResult<String> {
    let old = q(ex, "role_of", &[Value::Int(org_id), Value::text(uuid)])?;
    let old = old
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_text)
        .map(str::to_string)
        .ok_or_else(|| unknown(uuid))?;
    q(ex, "set_role", &[Value::Int(org_id), Value::text(uuid), Value::text(role.as_str())])?;
    logs::record_opt(ex, log, Some(org_id))?;
    Ok(old)
}

/// Deletes a default permission (`QUAY_PROTOTYPE_UNKNOWN`).
pub fn delete(ex: &mut dyn Executor, org_id: i64, uuid: &str, log: Option<&LogEntry>) -> CoreResult<()> {
    if q(ex, "delete", &[Value::Int(org_id), Value::text(uuid)])?.is_empty() {
        return Err(unknown(uuid));
    }
    logs::record_opt(ex, log, Some(org_id))
}
