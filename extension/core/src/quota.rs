//! Storage quotas, exact by construction. The running totals (`quotanamespacesize`,
//! `quotarepositorysize`) change in the transaction that adds or removes a manifest's
//! `manifestblob` rows ([`manifest_added`] from `tags::manifest_put`, [`manifest_removing`] from
//! GC), under a lock per namespace: the "does another manifest still reference this blob?" checks
//! of two writers never interleave, so the totals never drift and need no recount. A total that
//! is missing or not backfilled (`backfill_complete = false`, a database Python Quay wrote) is
//! computed from the rows on first use, under the same lock.
//!
//! Sizes are Quay's: a namespace's (repository's) size is the sum of `image_size` over the
//! distinct blobs its manifests reference. A new manifest that would take the namespace past its
//! `Reject` limit is refused (`QUAY_QUOTA_EXCEEDED`, nothing written: the caller rolls back).
//! Crossing a limit upward queues `quota_warning` / `quota_error` for the namespace's
//! notifications, once per 24 h (`quotanotificationstate`), and leaves an in-app notice for its
//! admins (as Quay's `notify_organization_admins`).

use crate::exec::{CoreResult, Executor, Value, first_int, invalid, lock, named, one_int, run};
use crate::logs::LogEntry;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/quota.sql");

pub const WARNING: &str = "Warning";
pub const REJECT: &str = "Reject";

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

fn q_int(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Option<i64>> {
    one_int(ex, named(SQL, name), params)
}

fn namespace_of(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<i64> {
    q_int(ex, "namespace_of_repository", &[Value::Int(repository_id)])?
        .ok_or_else(|| invalid(Rule::RepositoryUnknown, format!("repository {repository_id} does not exist")))
}

/// Takes the quota lock of the repository's namespace (a push takes it first of all its locks;
/// see `tags::manifest_put`). Returns the namespace.
pub fn lock_for_write(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<i64> {
    let ns = namespace_of(ex, repository_id)?;
    lock_namespace(ex, ns)?;
    Ok(ns)
}

/// Serialises every change to one namespace's totals (and its quota's notification state).
fn lock_namespace(ex: &mut dyn Executor, namespace_id: i64) -> CoreResult<()> {
    lock(ex, &format!("quay:quota:{namespace_id}"))
}

#[derive(Clone, Copy)]
enum Scope {
    Repository(i64),
    Namespace(i64),
}

impl Scope {
    fn id(self) -> Value {
        match self {
            Scope::Repository(id) | Scope::Namespace(id) => Value::Int(id),
        }
    }
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Scope::Repository(_) => {
                ("repository_size", "repository_delta", "repository_recount", "set_repository_size")
            }
            Scope::Namespace(_) => {
                ("namespace_size", "namespace_delta", "namespace_recount", "set_namespace_size")
            }
        }
    }
}

/// Applies manifest `manifest_id`'s blobs to one total: `adding` (its rows are written) or
/// removing (its rows are about to go). Returns the new total.
fn adjust(ex: &mut dyn Executor, scope: Scope, manifest_id: i64, adding: bool) -> CoreResult<i64> {
    let (size, delta, recount, set) = scope.names();
    let row = q(ex, size, &[scope.id()])?;
    let current = row.first().and_then(|r| {
        let complete = r.get(1).and_then(Value::as_bool)?;
        complete.then(|| r.first().and_then(Value::as_i64)).flatten()
    });
    let total = match current {
        Some(current) => {
            let d = q_int(ex, delta, &[Value::Int(manifest_id), scope.id()])?.unwrap_or(0);
            if adding { current.saturating_add(d) } else { current.saturating_sub(d).max(0) }
        }
        // No (complete) total yet: count the rows as they will be after this change.
        None => {
            let left_out = if adding { 0 } else { manifest_id };
            q_int(ex, recount, &[scope.id(), Value::Int(left_out)])?.unwrap_or(0)
        }
    };
    q(ex, set, &[scope.id(), Value::Int(total)])?;
    Ok(total)
}

/// A namespace's limits: `(bytes at which it applies, type, percent)`, lowest first.
fn limits(ex: &mut dyn Executor, namespace_id: i64) -> CoreResult<Vec<(i64, String, i64)>> {
    Ok(q(ex, "limits", &[Value::Int(namespace_id)])?
        .iter()
        .filter_map(|r| {
            let bytes = r.first()?.as_i64()?;
            let percent = r.get(2)?.as_i64()?;
            let at = (i128::from(bytes) * i128::from(percent) / 100).clamp(0, i128::from(i64::MAX)) as i64;
            Some((at, r.get(1)?.as_text()?.to_string(), percent))
        })
        .collect())
}

/// The new manifest's blob rows are written: add what they bring to the repository's and the
/// namespace's totals, and refuse it if the namespace passes a `Reject` limit.
pub fn manifest_added(ex: &mut dyn Executor, repository_id: i64, manifest_id: i64) -> CoreResult<()> {
    let ns = namespace_of(ex, repository_id)?;
    lock_namespace(ex, ns)?;
    adjust(ex, Scope::Repository(repository_id), manifest_id, true)?;
    let total = adjust(ex, Scope::Namespace(ns), manifest_id, true)?;
    if let Some((at, _, _)) = limits(ex, ns)?.into_iter().find(|(at, kind, _)| kind == REJECT && total > *at)
    {
        return Err(invalid(
            Rule::QuotaExceeded,
            format!("Quota has been exceeded on namespace: {total} bytes would pass the limit of {at} bytes"),
        ));
    }
    Ok(())
}

/// The manifest's rows are about to be deleted: take what only it brought off both totals, and
/// re-arm the notifications of limits the namespace is back under.
pub fn manifest_removing(ex: &mut dyn Executor, repository_id: i64, manifest_id: i64) -> CoreResult<()> {
    let ns = namespace_of(ex, repository_id)?;
    lock_namespace(ex, ns)?;
    adjust(ex, Scope::Repository(repository_id), manifest_id, false)?;
    let total = adjust(ex, Scope::Namespace(ns), manifest_id, false)?;
    for (at, _, percent) in limits(ex, ns)? {
        if total < at {
            q(
                ex,
                "set_notification_state",
                &[Value::Int(ns), Value::Int(percent), Value::Bool(true), Value::Bool(false)],
            )?;
        }
    }
    Ok(())
}

fn namespace_total(ex: &mut dyn Executor, ns: i64) -> CoreResult<i64> {
    let row = q(ex, "namespace_size", &[Value::Int(ns)])?;
    match row.first().and_then(|r| r.first()).and_then(Value::as_i64) {
        Some(t) => Ok(t),
        None => Ok(q_int(ex, "namespace_recount", &[Value::Int(ns), Value::Int(0)])?.unwrap_or(0)),
    }
}

/// Whether the namespace is past a `Reject` limit already (Quay's check before an upload
/// starts): `Some(message)` to refuse with.
pub fn over_reject_limit(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<Option<String>> {
    let ns = namespace_of(ex, repository_id)?;
    let limits = limits(ex, ns)?;
    if !limits.iter().any(|(_, kind, _)| kind == REJECT) {
        return Ok(None);
    }
    let total = namespace_total(ex, ns)?;
    Ok(limits
        .iter()
        .find(|(at, kind, _)| kind == REJECT && total > *at)
        .map(|(at, _, _)| format!("Quota has been exceeded on namespace: {total} of {at} bytes used")))
}

/// How long a namespace's limit stays quiet after a notification while it stays crossed
/// (Quay's `QUOTA_NOTIFICATION_COOLDOWN_SECONDS`).
pub const NOTIFICATION_COOLDOWN_S: i64 = 86_400;

/// `n` bytes in the largest of `units` (each 1024 times the one before, the first for `n`
/// itself) that keeps the value at least 1: the value and the unit's index.
pub fn binary_scale(n: i64, units: &[&str]) -> (f64, usize) {
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < units.len() {
        v /= 1024.0;
        unit += 1;
    }
    (v, unit)
}

/// Quay's byte formatting in quota events: 1024-based, two decimals (`"819.20 MB"`).
pub fn format_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    match binary_scale(n, &UNITS) {
        (_, 0) => format!("{n} bytes"),
        (v, unit) => format!("{v:.2} {}", UNITS[unit]),
    }
}

/// Queues `event` (`quota_warning`/`quota_error`) with Quay's namespace event data for every
/// notification of the namespace subscribed to it, unless this limit was notified within the
/// cooldown and not cleared since. Returns the deliveries queued.
fn notify(
    ex: &mut dyn Executor,
    ns: i64,
    event: &str,
    (quota_bytes, percent, total): (i64, i64, i64),
    ctx: &crate::notifications::EventContext,
) -> CoreResult<usize> {
    let due = q(
        ex,
        "notification_due",
        &[Value::Int(ns), Value::Int(percent), Value::Int(-NOTIFICATION_COOLDOWN_S)],
    )?;
    if due.first().and_then(|r| r.first()).and_then(Value::as_bool) == Some(false) {
        return Ok(0);
    }
    let data = serde_json::json!({
        "threshold_percent": percent,
        "usage_bytes": total,
        "limit_bytes": quota_bytes,
        "usage_percent": if quota_bytes > 0 { (i128::from(total) * 100 / i128::from(quota_bytes)) as i64 } else { 0 },
        "usage_bytes_formatted": format_bytes(total),
        "limit_bytes_formatted": format_bytes(quota_bytes),
    });
    let queued = crate::notifications::spawn_namespace_event(ex, ns, event, data, ctx)?;
    // As Quay: a limit nobody listens to is not marked notified.
    if queued > 0 {
        q(
            ex,
            "set_notification_state",
            &[Value::Int(ns), Value::Int(percent), Value::Bool(false), Value::Bool(true)],
        )?;
    }
    Ok(queued)
}

/// Quay's in-app notice to the namespace's admins (`quota_warning` / `quota_error`, metadata
/// `{"namespace": …}`): one notification on the namespace (its admins see an organization's, a
/// person sees its own), unless the same one is still waiting undismissed.
fn notice_admins(ex: &mut dyn Executor, ns: i64, kind: &str) -> CoreResult<()> {
    let Some(name) = q(ex, "namespace_name", &[Value::Int(ns)])?
        .first()
        .and_then(|r| r.first()?.as_text().map(str::to_string))
    else {
        return Ok(());
    };
    let metadata = serde_json::json!({"namespace": name}).to_string();
    if !q(ex, "inbox_waiting", &[Value::Int(ns), Value::text(kind), Value::text(&metadata)])?.is_empty() {
        return Ok(());
    }
    let uuid = ex.uuid4();
    q(ex, "inbox_insert", &[Value::text(uuid), Value::Int(ns), Value::text(metadata), Value::text(kind)])?;
    Ok(())
}

/// After a push into the repository: for the highest limit the namespace is now past, queue
/// `quota_warning` (a `Warning` limit) or `quota_error` (a `Reject` one) as Quay does. Returns
/// the deliveries queued.
pub fn notify_limits(
    ex: &mut dyn Executor,
    repository_id: i64,
    ctx: &crate::notifications::EventContext,
) -> CoreResult<usize> {
    let ns = namespace_of(ex, repository_id)?;
    let limits = limits(ex, ns)?;
    if limits.is_empty() {
        return Ok(0);
    }
    lock_namespace(ex, ns)?;
    let total = namespace_total(ex, ns)?;
    // Quay: the crossed limit with the highest threshold decides.
    let Some((_, kind, percent)) = limits.iter().filter(|(at, _, _)| total > *at).max_by_key(|l| l.2) else {
        return Ok(0);
    };
    let event = if kind == REJECT { "quota_error" } else { "quota_warning" };
    notice_admins(ex, ns, event)?;
    let quota_bytes =
        q(ex, "quota_of_namespace", &[Value::Int(ns)])?.first().and_then(|r| r.get(1)?.as_i64()).unwrap_or(0);
    notify(ex, ns, event, (quota_bytes, *percent, total), ctx)
}

/// A push into the repository was refused by a `Reject` limit (its own transaction rolled
/// back): queue `quota_error` as Quay does, within the cooldown once.
pub fn notify_rejected(
    ex: &mut dyn Executor,
    repository_id: i64,
    ctx: &crate::notifications::EventContext,
) -> CoreResult<usize> {
    let ns = namespace_of(ex, repository_id)?;
    let Some((_, _, percent)) = limits(ex, ns)?.into_iter().filter(|l| l.1 == REJECT).min_by_key(|l| l.0)
    else {
        return Ok(0);
    };
    lock_namespace(ex, ns)?;
    notice_admins(ex, ns, "quota_error")?;
    let total = namespace_total(ex, ns)?;
    let quota_bytes =
        q(ex, "quota_of_namespace", &[Value::Int(ns)])?.first().and_then(|r| r.get(1)?.as_i64()).unwrap_or(0);
    notify(ex, ns, "quota_error", (quota_bytes, percent, total), ctx)
}

/// A quota's limit types and the percent rule (Quay: 1..=100... see [`limit_create`]).
fn limit_type(ex: &mut dyn Executor, kind: &str) -> CoreResult<i64> {
    q_int(ex, "quota_type_id", &[Value::text(kind)])?
        .filter(|_| kind == WARNING || kind == REJECT)
        .ok_or_else(|| invalid(Rule::InvalidArgument, format!("Invalid quota limit type {kind:?}")))
}

fn check_limit_bytes(limit_bytes: i64) -> CoreResult<()> {
    if limit_bytes <= 0 {
        return Err(invalid(Rule::InvalidArgument, "Invalid quota size limit value: must be positive"));
    }
    Ok(())
}

/// Creates the namespace's quota (one per namespace). Returns its id.
pub fn quota_create(
    ex: &mut dyn Executor,
    namespace_id: i64,
    limit_bytes: i64,
    log: Option<&LogEntry>,
) -> CoreResult<i64> {
    check_limit_bytes(limit_bytes)?;
    lock_namespace(ex, namespace_id)?;
    let id = first_int(&q(ex, "insert_quota", &[Value::Int(namespace_id), Value::Int(limit_bytes)])?)
        .ok_or_else(|| invalid(Rule::QuotaExists, "Organization quota for this namespace already exists"))?;
    crate::logs::record_opt(ex, log, Some(namespace_id))?;
    Ok(id)
}

/// Changes the quota's limit. The notification state starts over (the thresholds moved).
pub fn quota_update(
    ex: &mut dyn Executor,
    namespace_id: i64,
    quota_id: i64,
    limit_bytes: i64,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    check_limit_bytes(limit_bytes)?;
    lock_namespace(ex, namespace_id)?;
    first_int(&q(
        ex,
        "update_quota",
        &[Value::Int(namespace_id), Value::Int(quota_id), Value::Int(limit_bytes)],
    )?)
    .ok_or_else(|| invalid(Rule::QuotaUnknown, format!("quota {quota_id} does not exist")))?;
    q(ex, "clear_notification_states", &[Value::Int(namespace_id)])?;
    crate::logs::record_opt(ex, log, Some(namespace_id))
}

/// Deletes the quota with its limits.
pub fn quota_delete(
    ex: &mut dyn Executor,
    namespace_id: i64,
    quota_id: i64,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    lock_namespace(ex, namespace_id)?;
    let ids = [Value::Int(namespace_id), Value::Int(quota_id)];
    q(ex, "delete_quota_limits", &ids)?;
    first_int(&q(ex, "delete_quota", &ids)?)
        .ok_or_else(|| invalid(Rule::QuotaUnknown, format!("quota {quota_id} does not exist")))?;
    q(ex, "clear_notification_states", &[Value::Int(namespace_id)])?;
    crate::logs::record_opt(ex, log, Some(namespace_id))
}

fn check_percent(percent: i64) -> CoreResult<()> {
    if !(1..=100).contains(&percent) {
        return Err(invalid(
            Rule::InvalidArgument,
            "Quota limit threshold must be between 1 and 100 percent",
        ));
    }
    Ok(())
}

fn quota_of(ex: &mut dyn Executor, namespace_id: i64, quota_id: i64) -> CoreResult<()> {
    let found = q(ex, "quota_of_namespace", &[Value::Int(namespace_id)])?
        .first()
        .and_then(|r| r.first()?.as_i64())
        .is_some_and(|id| id == quota_id);
    if found { Ok(()) } else { Err(invalid(Rule::QuotaUnknown, format!("quota {quota_id} does not exist"))) }
}

/// Adds a `Warning` or `Reject` limit at `percent` (1..=100) of the quota; the same type and
/// percent twice is refused. Returns the limit's id.
pub fn limit_create(
    ex: &mut dyn Executor,
    namespace_id: i64,
    quota_id: i64,
    kind: &str,
    percent: i64,
    log: Option<&LogEntry>,
) -> CoreResult<i64> {
    check_percent(percent)?;
    lock_namespace(ex, namespace_id)?;
    quota_of(ex, namespace_id, quota_id)?;
    let t = limit_type(ex, kind)?;
    if q_int(ex, "same_limit", &[Value::Int(quota_id), Value::Int(t), Value::Int(percent), Value::Int(0)])?
        .is_some()
    {
        return Err(invalid(Rule::QuotaLimitExists, format!("a {kind} limit at {percent}% already exists")));
    }
    let id = first_int(&q(ex, "insert_limit", &[Value::Int(quota_id), Value::Int(t), Value::Int(percent)])?)
        .ok_or_else(|| crate::exec::CoreError::Database("quotalimits insert returned no id".into()))?;
    crate::logs::record_opt(ex, log, Some(namespace_id))?;
    Ok(id)
}

/// Changes a limit's type and percent.
pub fn limit_update(
    ex: &mut dyn Executor,
    namespace_id: i64,
    quota_id: i64,
    limit_id: i64,
    kind: &str,
    percent: i64,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    check_percent(percent)?;
    lock_namespace(ex, namespace_id)?;
    quota_of(ex, namespace_id, quota_id)?;
    let t = limit_type(ex, kind)?;
    let same = [Value::Int(quota_id), Value::Int(t), Value::Int(percent), Value::Int(limit_id)];
    if q_int(ex, "same_limit", &same)?.is_some() {
        return Err(invalid(Rule::QuotaLimitExists, format!("a {kind} limit at {percent}% already exists")));
    }
    first_int(&q(
        ex,
        "update_limit",
        &[Value::Int(quota_id), Value::Int(limit_id), Value::Int(t), Value::Int(percent)],
    )?)
    .ok_or_else(|| invalid(Rule::QuotaUnknown, format!("quota limit {limit_id} does not exist")))?;
    q(ex, "clear_notification_states", &[Value::Int(namespace_id)])?;
    crate::logs::record_opt(ex, log, Some(namespace_id))
}

/// Deletes a limit.
pub fn limit_delete(
    ex: &mut dyn Executor,
    namespace_id: i64,
    quota_id: i64,
    limit_id: i64,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    lock_namespace(ex, namespace_id)?;
    quota_of(ex, namespace_id, quota_id)?;
    first_int(&q(ex, "delete_limit", &[Value::Int(quota_id), Value::Int(limit_id)])?)
        .ok_or_else(|| invalid(Rule::QuotaUnknown, format!("quota limit {limit_id} does not exist")))?;
    crate::logs::record_opt(ex, log, Some(namespace_id))
}

#[cfg(test)]
mod tests {
    use super::{binary_scale, format_bytes};

    #[test]
    fn bytes_as_quay_writes_them_in_events() {
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(1023), "1023 bytes");
        assert_eq!(format_bytes(1024), "1.00 KB");
        assert_eq!(format_bytes(858_993_459), "819.20 MB");
        assert_eq!(format_bytes(5 << 40), "5.00 TB");
        assert_eq!(format_bytes(3 << 50), "3072.00 TB");
    }

    #[test]
    fn binary_scale_stops_at_the_last_unit() {
        assert_eq!(binary_scale(1 << 20, &["B", "K", "M"]), (1.0, 2));
        assert_eq!(binary_scale(1 << 30, &["B", "K", "M"]), (1024.0, 2));
        assert_eq!(binary_scale(1000, &["B", "K"]), (1000.0, 0));
    }
}
