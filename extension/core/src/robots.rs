//! Robot accounts, written once for both backends (Quay's `create_robot`,
//! `regenerate_robot_token`, `delete_robot`): the robot's `user` row with its metadata, token
//! and `quayrobot` login; a new token; deletion with every row naming it. Tokens arrive
//! encrypted (field encryption is the server's, it holds `DATABASE_SECRET_KEY`). Each write
//! records its action log in the same transaction (account: the owner).

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, lock, named, run};
use crate::logs::{self, LogEntry};
use crate::names;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/robots.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// A robot to create.
#[derive(Debug, Clone)]
pub struct NewRobot<'a> {
    pub owner_id: i64,
    /// The short name (after `owner+`).
    pub short_name: &'a str,
    /// Truncated to 255 characters, as Quay does.
    pub description: &'a str,
    /// JSON text (`{}` when none).
    pub unstructured_json: &'a str,
    /// The field-encrypted token.
    pub encrypted_token: &'a str,
}

/// Creates a robot. Refuses an invalid short name (`QUAY_NAME_INVALID`), an owner that cannot
/// have robots (`QUAY_NAMESPACE_UNKNOWN`) and a taken name (`QUAY_ROBOT_EXISTS`). Returns its id.
pub fn create(ex: &mut dyn Executor, r: &NewRobot<'_>, log: Option<&LogEntry>) -> CoreResult<i64> {
    if !names::is_valid_username(r.short_name) {
        return Err(invalid(
            Rule::NameInvalid,
            format!(
                "The name for the robot '{}' is invalid: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$",
                r.short_name
            ),
        ));
    }
    let owner = q(ex, "owner", &[Value::Int(r.owner_id)])?;
    let Some(owner) = owner.first().and_then(|r| r.first()).and_then(Value::as_text).map(str::to_string)
    else {
        return Err(invalid(Rule::NamespaceUnknown, format!("namespace {} cannot have robots", r.owner_id)));
    };
    let name = format!("{owner}+{}", r.short_name);
    lock(ex, &format!("quay:namespace:create:{name}"))?;
    let taken = || invalid(Rule::RobotExists, format!("Existing robot with name: {name}"));
    if !q(ex, "name_taken", &[Value::text(&name)])?.is_empty() {
        return Err(taken());
    }
    let (uuid, email) = (ex.uuid4(), ex.uuid4());
    let id = first_int(&q(ex, "insert_robot", &[Value::text(uuid), Value::text(&name), Value::text(email)])?)
        .ok_or_else(taken)?;
    let description: String = r.description.chars().take(255).collect();
    q(ex, "insert_metadata", &[Value::Int(id), Value::text(description), Value::text(r.unstructured_json)])?;
    q(ex, "insert_token", &[Value::Int(id), Value::text(r.encrypted_token)])?;
    q(ex, "insert_login", &[Value::Int(id)])?;
    logs::record_opt(ex, log, Some(r.owner_id))?;
    Ok(id)
}

/// The owner of robot `robot_id` (`QUAY_ROBOT_UNKNOWN` when it is not a robot).
fn owner_of(ex: &mut dyn Executor, robot_id: i64) -> CoreResult<i64> {
    first_int(&q(ex, "robot", &[Value::Int(robot_id)])?)
        .ok_or_else(|| invalid(Rule::RobotUnknown, "Could not find robot with specified username"))
}

/// Replaces a robot's token (and, as Quay does, its e-mail uuid).
pub fn set_token(
    ex: &mut dyn Executor,
    robot_id: i64,
    encrypted_token: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    let owner = owner_of(ex, robot_id)?;
    if q(ex, "set_token", &[Value::Int(robot_id), Value::text(encrypted_token)])?.is_empty() {
        q(ex, "insert_token", &[Value::Int(robot_id), Value::text(encrypted_token)])?;
    }
    let email = ex.uuid4();
    q(ex, "new_email", &[Value::Int(robot_id), Value::text(email)])?;
    logs::record_opt(ex, log, Some(owner))
}

/// Deletes a robot and every row that names it.
pub fn delete(ex: &mut dyn Executor, robot_id: i64, log: Option<&LogEntry>) -> CoreResult<()> {
    let owner = owner_of(ex, robot_id)?;
    for step in [
        "unref_permissions",
        "unref_teams",
        "unref_prototypes",
        "unref_stars",
        "unref_notifications",
        "unref_token",
        "unref_metadata",
        "unref_login",
    ] {
        q(ex, step, &[Value::Int(robot_id)])?;
    }
    q(ex, "delete_robot", &[Value::Int(robot_id)])?;
    if !run(ex, "SELECT 1 FROM \"user\" WHERE id = $1", &[Value::Int(robot_id)])?.is_empty() {
        return Err(CoreError::Database(format!("robot {robot_id} was not deleted")));
    }
    logs::record_opt(ex, log, Some(owner))
}
