//! Quay's work queue (`queueitem`), written once for both backends.
//!
//! Semantics follow Quay's `data/queue.py` (see docs/sql-api.md) with two deliberate changes:
//! the claim locks its candidate with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
//! claimers never wait on or collide with each other, and name prefixes are matched literally
//! (Quay's `ILIKE` treats `%`/`_` in namespace names as wildcards). Every update writes a new
//! `state_id`, so Python Quay workers doing compare-and-swap on it stay correct.

use crate::exec::{CoreError, CoreResult, Dialect, Executor, Value, first_int, invalid, named, run};
use crate::rules::Rule;

const PUT: &str = include_str!("../../../sql/queue/put.sql");
const CLAIM: &str = include_str!("../../../sql/queue/claim.sql");
const COMPLETE: &str = include_str!("../../../sql/queue/complete.sql");
const INCOMPLETE: &str = include_str!("../../../sql/queue/incomplete.sql");
const EXTEND: &str = include_str!("../../../sql/queue/extend.sql");
const PURGE_NAMESPACE: &str = include_str!("../../../sql/queue/purge_namespace.sql");
const GET: &str = include_str!("../../../sql/queue/get.sql");

/// Queues whose canonical names start with `<queue>/<namespace>/`.
pub const NAMESPACED_QUEUES: [&str; 5] =
    ["dockerfilebuild", "notification", "repositorygc", "proxycacheblob", "exportactionlogs"];

/// A queue row; timestamps as naive-UTC text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub id: i64,
    pub queue_name: String,
    pub body: String,
    pub available_after: String,
    pub available: bool,
    pub processing_expires: Option<String>,
    pub retries_remaining: i64,
    pub state_id: String,
}

fn check_seconds(name: &'static str, s: i64) -> CoreResult<()> {
    if !(0..=10 * 365 * 24 * 3600).contains(&s) {
        return Err(invalid(
            Rule::InvalidArgument,
            format!("{name} must be between 0 and 10 years in seconds, got {s}"),
        ));
    }
    Ok(())
}

/// Inserts a waiting item and returns its id. On PostgreSQL it also queues
/// `NOTIFY quay_queue, '<queue_name>'`, delivered when the caller commits; mirror mode wakes its
/// in-process workers itself after commit.
pub fn put(
    ex: &mut dyn Executor,
    queue_name: &str,
    body: &str,
    available_after_s: i64,
    retries: i64,
) -> CoreResult<i64> {
    if queue_name.is_empty() || !queue_name.contains('/') {
        return Err(invalid(
            Rule::QueueNameInvalid,
            format!("queue name {queue_name:?} must be canonical: <queue>/<part>/.../"),
        ));
    }
    check_seconds("available_after_s", available_after_s)?;
    if retries < 0 {
        return Err(invalid(Rule::InvalidArgument, format!("retries must not be negative, got {retries}")));
    }
    let state = ex.uuid4();
    let rows = run(
        ex,
        PUT,
        &[
            Value::Text(queue_name.into()),
            Value::Text(body.into()),
            Value::Int(available_after_s),
            Value::Int(retries),
            Value::Text(state),
        ],
    )?;
    let id = first_int(&rows).ok_or_else(|| CoreError::Database("queue_put returned no id".into()))?;
    if ex.dialect() == Dialect::Postgres {
        ex.query("SELECT pg_notify('quay_queue', $1)::text", &[Value::text(queue_name)])?;
    }
    Ok(id)
}

/// Claims one eligible item whose name starts with `prefix`, leased for `processing_s`.
/// With `ordering_required`, FIFO by id and never two running items of one exact name; the caller
/// must serialise ordered claims of a prefix (the extension takes an advisory lock).
pub fn claim(
    ex: &mut dyn Executor,
    prefix: &str,
    processing_s: i64,
    ordering_required: bool,
) -> CoreResult<Option<QueueItem>> {
    check_seconds("processing_s", processing_s)?;
    let p = [Value::Text(prefix.into())];
    let candidate = if ordering_required {
        first_int(&run(ex, named(CLAIM, "ordered"), &p)?)
    } else {
        match first_int(&run(ex, named(CLAIM, "waiting"), &[p[0].clone(), Value::Int(1)])?) {
            Some(id) => Some(id),
            None => first_int(&run(ex, named(CLAIM, "expired"), &p)?),
        }
    };
    let Some(id) = candidate else { return Ok(None) };
    let state = ex.uuid4();
    let rows =
        run(ex, named(CLAIM, "lease"), &[Value::Int(id), Value::Int(processing_s), Value::Text(state)])?;
    rows.into_iter().next().map(item).transpose()
}

/// Items a worker can take in one call at most.
pub const MAX_BATCH: i64 = 256;

/// Claims up to `max_items` eligible items of `prefix` (unordered), each leased for
/// `processing_s`: waiting items first, in id order, then expired leases. Concurrent claimers
/// skip each other's candidates (SKIP LOCKED), so no item is claimed twice.
pub fn claim_many(
    ex: &mut dyn Executor,
    prefix: &str,
    processing_s: i64,
    max_items: i64,
) -> CoreResult<Vec<QueueItem>> {
    check_seconds("processing_s", processing_s)?;
    // A lease of 0 s would expire within this transaction, and the fallback would claim the
    // same item again.
    if processing_s < 1 {
        return Err(invalid(Rule::InvalidArgument, "processing_s must be at least 1 for a batch claim"));
    }
    if !(1..=MAX_BATCH).contains(&max_items) {
        return Err(invalid(Rule::InvalidArgument, format!("max_items must be 1..={MAX_BATCH}")));
    }
    let rows = run(ex, named(CLAIM, "waiting"), &[Value::Text(prefix.into()), Value::Int(max_items)])?;
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.first().and_then(Value::as_i64)).collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids.drain(..) {
        let state = ex.uuid4();
        let leased =
            run(ex, named(CLAIM, "lease"), &[Value::Int(id), Value::Int(processing_s), Value::Text(state)])?;
        if let Some(r) = leased.into_iter().next() {
            out.push(item(r)?);
        }
    }
    while (out.len() as i64) < max_items {
        match claim(ex, prefix, processing_s, false)? {
            Some(i) => out.push(i),
            None => break,
        }
    }
    Ok(out)
}

/// Finishes the jobs `done` (their items go away) and claims up to `max_items` more of `prefix`,
/// in one transaction: a worker's loop costs one commit per batch instead of two per job.
/// Returns the new items (`max_items` 0: none, only the completion).
pub fn complete_and_claim(
    ex: &mut dyn Executor,
    done: &[i64],
    prefix: &str,
    processing_s: i64,
    max_items: i64,
) -> CoreResult<Vec<QueueItem>> {
    for id in done {
        complete(ex, *id)?;
    }
    if max_items == 0 {
        return Ok(Vec::new());
    }
    claim_many(ex, prefix, processing_s, max_items)
}

/// Deletes the item (the job is done). `false` if it was already gone.
pub fn complete(ex: &mut dyn Executor, id: i64) -> CoreResult<bool> {
    Ok(!run(ex, COMPLETE, &[Value::Int(id)])?.is_empty())
}

/// Makes the item available again after `retry_after_s`; `restore_retry` gives back the retry
/// the claim consumed. Returns whether it has retries left (`false` also when it is gone).
pub fn incomplete(
    ex: &mut dyn Executor,
    id: i64,
    retry_after_s: i64,
    restore_retry: bool,
) -> CoreResult<bool> {
    check_seconds("retry_after_s", retry_after_s)?;
    let state = ex.uuid4();
    let rows = run(
        ex,
        INCOMPLETE,
        &[
            Value::Int(id),
            Value::Int(retry_after_s),
            Value::Int(i64::from(restore_retry)),
            Value::Text(state),
        ],
    )?;
    Ok(first_int(&rows).is_some_and(|r| r > 0))
}

/// Extends a running item's lease to now + `seconds`. `false` if it is not running, is gone, or
/// its lease already ends later.
pub fn extend(ex: &mut dyn Executor, id: i64, seconds: i64) -> CoreResult<bool> {
    check_seconds("seconds", seconds)?;
    let state = ex.uuid4();
    Ok(!run(ex, EXTEND, &[Value::Int(id), Value::Int(seconds), Value::Text(state)])?.is_empty())
}

/// Deletes every item of `namespace` on the namespaced queues. Returns how many.
pub fn purge_namespace(ex: &mut dyn Executor, namespace: &str) -> CoreResult<i64> {
    Ok(run(ex, PURGE_NAMESPACE, &[Value::Text(namespace.into())])?.len() as i64)
}

pub fn get(ex: &mut dyn Executor, id: i64) -> CoreResult<Option<QueueItem>> {
    run(ex, GET, &[Value::Int(id)])?.into_iter().next().map(item).transpose()
}

/// A row in get.sql's column order.
/// A `queueitem` row as `sql/queue/get.sql` and the claim return it (timestamps as text).
pub fn item(r: Vec<Value>) -> CoreResult<QueueItem> {
    let text = |v: &Value| v.as_text().map(str::to_string);
    let bad = || CoreError::Database("unexpected queueitem row shape".into());
    Ok(QueueItem {
        id: r.first().and_then(Value::as_i64).ok_or_else(bad)?,
        queue_name: r.get(1).and_then(text).ok_or_else(bad)?,
        body: r.get(2).and_then(text).ok_or_else(bad)?,
        available_after: r.get(3).and_then(text).ok_or_else(bad)?,
        available: r.get(4).and_then(Value::as_bool).ok_or_else(bad)?,
        processing_expires: r.get(5).and_then(text),
        retries_remaining: r.get(6).and_then(Value::as_i64).ok_or_else(bad)?,
        state_id: r.get(7).and_then(text).ok_or_else(bad)?,
    })
}
