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
    q(ex, "unref_successes", &[Value::Int(repository_id), Value::text(uuid)])?;
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

/// What an event's payload needs that the database does not hold: how the registry is addressed
/// (`SERVER_HOSTNAME`, `PREFERRED_URL_SCHEME`) and who acted (Quay's `performer_data`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct EventContext {
    pub server_hostname: String,
    pub scheme: String,
    #[serde(default)]
    pub performer: serde_json::Value,
}

impl EventContext {
    pub fn from_json(text: &str) -> CoreResult<EventContext> {
        serde_json::from_str(text).map_err(|e| invalid(Rule::InvalidArgument, format!("event context: {e}")))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Quay's repository event data (`build_repository_event_data`) with `extra`'s keys added.
pub fn repository_event_data(
    ctx: &EventContext,
    namespace: &str,
    name: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let repo = format!("{namespace}/{name}");
    let mut data = serde_json::json!({
        "repository": repo,
        "namespace": namespace,
        "name": name,
        "docker_url": format!("{}/{repo}", ctx.server_hostname),
        "homepage": format!("{}://{}/repository/{repo}", ctx.scheme, ctx.server_hostname),
    });
    if let (Some(m), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        m.extend(extra);
    }
    data
}

/// Queues one delivery of notification `uuid`: `notification/<namespace>/<repository>/<event>/`
/// with Quay's body (`notification_uuid`, `event_data` = the repository's event data with
/// `extra`, `performer_data` = the context's performer or `{}`).
fn queue_delivery(
    ex: &mut dyn Executor,
    ctx: &EventContext,
    uuid: &str,
    ns: &str,
    name: &str,
    event: &str,
    extra: serde_json::Value,
) -> CoreResult<i64> {
    let body = serde_json::json!({
        "notification_uuid": uuid,
        "event_data": repository_event_data(ctx, ns, name, extra),
        "performer_data": if ctx.performer.is_null() { serde_json::json!({}) } else { ctx.performer.clone() },
    });
    queue::put(ex, &format!("notification/{ns}/{name}/{event}/"), &body.to_string(), 0, 5)
}

/// Queues a delivery (`notification/<namespace>/<repository>/<event>/`, Quay's body:
/// `notification_uuid`, `event_data`, `performer_data`) for every notification of the repository
/// subscribed to `event`, in the caller's transaction: an event that rolls back sends nothing.
/// Returns how many were queued.
pub fn spawn(
    ex: &mut dyn Executor,
    repository_id: i64,
    event: &str,
    extra: serde_json::Value,
    ctx: &EventContext,
) -> CoreResult<usize> {
    let rows = q(ex, "subscribed", &[Value::Int(repository_id), Value::text(event)])?;
    for r in &rows {
        let text = |i: usize| r.get(i).and_then(Value::as_text).unwrap_or("").to_string();
        let (uuid, ns, name) = (text(0), text(1), text(2));
        queue_delivery(ex, ctx, &uuid, &ns, &name, event, extra.clone())?;
    }
    Ok(rows.len())
}

/// A namespace event (`quota_warning`, `quota_error`): Quay's namespace event data (`namespace`,
/// `homepage` of the organization, and `data`'s keys) queued for every notification subscribed
/// to `event` in any repository of the namespace. Returns how many were queued.
pub fn spawn_namespace_event(
    ex: &mut dyn Executor,
    namespace_id: i64,
    event: &str,
    data: serde_json::Value,
    ctx: &EventContext,
) -> CoreResult<usize> {
    let rows = q(ex, "subscribed_in_namespace", &[Value::Int(namespace_id), Value::text(event)])?;
    for r in &rows {
        let text = |i: usize| r.get(i).and_then(Value::as_text).unwrap_or("").to_string();
        let (uuid, ns, name) = (text(0), text(1), text(2));
        let mut event_data = serde_json::json!({
            "namespace": ns,
            "homepage": format!("{}://{}/organization/{ns}", ctx.scheme, ctx.server_hostname),
        });
        if let (Some(m), serde_json::Value::Object(extra)) = (event_data.as_object_mut(), data.clone()) {
            m.extend(extra);
        }
        let body = serde_json::json!({
            "notification_uuid": uuid,
            "event_data": event_data,
            "performer_data": if ctx.performer.is_null() { serde_json::json!({}) } else { ctx.performer.clone() },
        });
        queue::put(ex, &format!("notification/{ns}/{name}/{event}/"), &body.to_string(), 0, 5)?;
    }
    Ok(rows.len())
}

/// How long a `repo_image_expiry` notification rests between scans (Quay's
/// `NOTIFICATION_TASK_RUN_MINIMUM_INTERVAL_MINUTES`, 5 hours).
pub const EXPIRY_SCAN_INTERVAL_MS: i64 = 5 * 3600 * 1000;

/// One pass of Quay's tag-expiry notifications (`FEATURE_IMAGE_EXPIRY_TRIGGER`): up to 10
/// `repo_image_expiry` notifications due for a scan (others' candidates skipped, so concurrent
/// workers share them) are marked scanned; for each, the alive, visible tags expiring within its
/// `days` that it has not announced are remembered (`tagnotificationsuccess`) and one delivery
/// is queued with them (`tags`, `expiring_in: "<days> days"`), in one transaction. A tag whose
/// expiry changes is announced again (tag writes clear its rows). Returns the deliveries queued.
pub fn scan_image_expiry(ex: &mut dyn Executor, ctx: &EventContext) -> CoreResult<usize> {
    let now = crate::exec::now_ms(ex)?;
    let due = q(ex, "expiry_due", &[Value::Int(now - EXPIRY_SCAN_INTERVAL_MS)])?;
    let mut queued = 0;
    for r in due {
        let int = |i: usize| r.get(i).and_then(Value::as_i64).unwrap_or_default();
        let text = |i: usize| r.get(i).and_then(Value::as_text).unwrap_or("").to_string();
        let (id, uuid, config, method, ns, name, repo) =
            (int(0), text(1), text(2), int(3), text(4), text(5), int(6));
        q(ex, "mark_scanned", &[Value::Int(id), Value::Int(now)])?;
        let config: serde_json::Value = serde_json::from_str(&config).unwrap_or_default();
        // Quay's UI sends the days as a number or a numeric string.
        let days =
            config["days"].as_i64().or_else(|| config["days"].as_str().and_then(|d| d.trim().parse().ok()));
        let Some(days) = days.filter(|d| *d > 0) else { continue };
        let until = now.saturating_add(days.saturating_mul(86_400_000));
        let tags = q(
            ex,
            "expiring_tags",
            &[Value::Int(repo), Value::Int(now), Value::Int(until), Value::Int(id), Value::Int(method)],
        )?;
        if tags.is_empty() {
            continue;
        }
        let mut names = Vec::with_capacity(tags.len());
        for t in &tags {
            let tag_id = t.first().and_then(Value::as_i64).unwrap_or_default();
            q(ex, "announced", &[Value::Int(id), Value::Int(tag_id), Value::Int(method)])?;
            names.push(t.get(1).and_then(Value::as_text).unwrap_or("").to_string());
        }
        let extra = serde_json::json!({"notification_uuid": uuid, "tags": names, "expiring_in": format!("{days} days")});
        queue_delivery(ex, ctx, &uuid, &ns, &name, "repo_image_expiry", extra)?;
        queued += 1;
    }
    Ok(queued)
}
