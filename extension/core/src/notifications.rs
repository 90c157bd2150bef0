//! Repository notifications, written once for both backends: create, reset the failure count,
//! delete, and queue a test delivery on Quay's `notification` queue (sending is the worker's).
//! Each write records its action log in the same transaction.

use crate::exec::{CoreError, CoreResult, Executor, Value, invalid, json_str, named, run};
use crate::logs::{self, LogEntry};
use crate::queue;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/notifications.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

fn unknown(uuid: &str) -> CoreError {
    invalid(Rule::NotificationUnknown, format!("no repository notification {uuid}"))
}

/// A notification to create.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub uuid: &'a str,
    pub event: &'a str,
    pub method: &'a str,
    pub title: Option<&'a str>,
    pub config_json: &'a str,
    pub event_config_json: &'a str,
}

/// Creates a notification on a repository. `QUAY_INVALID_ARGUMENT` for an unknown event or
/// method (Quay's `externalnotificationevent` / `externalnotificationmethod` names).
pub fn create(
    ex: &mut dyn Executor,
    repository_id: i64,
    n: &NewNotification<'_>,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if q(ex, "event_known", &[Value::text(n.event)])?.is_empty() {
        return Err(invalid(Rule::InvalidArgument, format!("Unknown notification event: {}", n.event)));
    }
    if q(ex, "method_known", &[Value::text(n.method)])?.is_empty() {
        return Err(invalid(Rule::InvalidArgument, format!("Unknown notification method: {}", n.method)));
    }
    let inserted = q(
        ex,
        "insert",
        &[
            Value::text(n.uuid),
            Value::Int(repository_id),
            Value::text(n.event),
            Value::text(n.method),
            Value::opt_text(n.title),
            Value::text(n.config_json),
            Value::text(n.event_config_json),
        ],
    )?;
    if inserted.is_empty() {
        return Err(CoreError::Database("repositorynotification insert returned no id".into()));
    }
    logs::record_for_repository(ex, repository_id, log)
}

/// Sets the failure count back to zero (a notification disabled by failures works again).
pub fn reset(
    ex: &mut dyn Executor,
    repository_id: i64,
    uuid: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if q(ex, "reset", &[Value::Int(repository_id), Value::text(uuid)])?.is_empty() {
        return Err(unknown(uuid));
    }
    logs::record_for_repository(ex, repository_id, log)
}

pub fn delete(
    ex: &mut dyn Executor,
    repository_id: i64,
    uuid: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if q(ex, "delete", &[Value::Int(repository_id), Value::text(uuid)])?.is_empty() {
        return Err(unknown(uuid));
    }
    logs::record_for_repository(ex, repository_id, log)
}

/// Queues a test delivery of notification `uuid` (`notification/<namespace>/<repository>/<event>/`
/// with Quay's body shape; the notification worker sends it). Returns the queue item id.
pub fn test(ex: &mut dyn Executor, repository_id: i64, uuid: &str) -> CoreResult<i64> {
    let rows = q(ex, "target", &[Value::Int(repository_id), Value::text(uuid)])?;
    let r = rows.first().ok_or_else(|| unknown(uuid))?;
    let text = |i: usize| r.get(i).and_then(Value::as_text).unwrap_or("").to_string();
    let (event, ns, name) = (text(0), text(1), text(2));
    let body = format!(
        "{{\"notification_uuid\": {}, \"event_data\": {{\"repository\": {}, \"namespace\": {}, \"name\": {}, \"is_test\": true}}, \"performer_data\": {{}}}}",
        json_str(uuid),
        json_str(&format!("{ns}/{name}")),
        json_str(&ns),
        json_str(&name)
    );
    queue::put(ex, &format!("notification/{ns}/{name}/{event}/"), &body, 0, 5)
}
