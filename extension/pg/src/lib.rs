//! The `quay` PostgreSQL extension. Functions live in schema `quay` (see `quay.control`); their
//! bodies are `quay_core`'s, the same code mirror mode runs on SQLite, executed here through SPI.
//! Quay's tables are expected in schema `public`, as Quay creates them.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use quay_core::exec::{CoreError, CoreResult, Dialect, Executor, Row, Value};

::pgrx::pg_module_magic!(name, version);

/// `quay_core::exec::Executor` over SPI, inside the calling transaction.
struct SpiExecutor<'a, 'conn> {
    client: &'a mut SpiClient<'conn>,
}

impl Executor for SpiExecutor<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> CoreResult<Vec<Row>> {
        let args: Vec<pgrx::datum::DatumWithOid> = params
            .iter()
            .map(|v| match v {
                Value::Null => pgrx::datum::DatumWithOid::null::<String>(),
                Value::Bool(b) => (*b).into(),
                Value::Int(i) => (*i).into(),
                Value::Text(s) => s.as_str().into(),
            })
            .collect();
        let db = |e: pgrx::spi::SpiError| CoreError::Database(e.to_string());
        let table = self.client.update(sql, None, &args).map_err(db)?;
        let mut rows = Vec::new();
        for row in table {
            let mut out = Vec::with_capacity(row.columns());
            for i in 1..=row.columns() {
                let entry = row.get_datum_by_ordinal(i).map_err(db)?;
                let oid = entry.oid();
                let v = if oid == pg_sys::INT8OID {
                    entry.value::<i64>().map_err(db)?.map(Value::Int)
                } else if oid == pg_sys::INT4OID {
                    entry.value::<i32>().map_err(db)?.map(|i| Value::Int(i64::from(i)))
                } else if oid == pg_sys::INT2OID {
                    entry.value::<i16>().map_err(db)?.map(|i| Value::Int(i64::from(i)))
                } else if oid == pg_sys::BOOLOID {
                    entry.value::<bool>().map_err(db)?.map(Value::Bool)
                } else {
                    entry.value::<String>().map_err(db)?.map(Value::Text)
                };
                out.push(v.unwrap_or(Value::Null));
            }
            rows.push(out);
        }
        Ok(rows)
    }

    fn uuid4(&mut self) -> String {
        Spi::get_one::<String>("SELECT gen_random_uuid()::text").ok().flatten().unwrap_or_default()
    }
}

/// Runs a core function through SPI; rule violations become SQLSTATE 22023 with the stable code
/// in DETAIL, database errors propagate as PostgreSQL raised them.
fn with_core<T>(f: impl FnOnce(&mut dyn Executor) -> CoreResult<T>) -> T {
    let result = Spi::connect_mut(|client| {
        let mut ex = SpiExecutor { client };
        f(&mut ex)
    });
    match result {
        Ok(v) => v,
        Err(CoreError::Invalid { code, message }) => {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, code);
        }
        Err(CoreError::Database(message)) => {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, message);
        }
    }
}

/// The extension's version, e.g. `SELECT quay.version();`.
#[pg_extern(immutable, parallel_safe)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The Quay schema revision (Alembic head) the extension's functions are written against.
#[pg_extern(immutable, parallel_safe)]
fn quay_schema_revision() -> &'static str {
    quay_core::QUAY_ALEMBIC_HEAD
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_put(
    queue_name: &str,
    body: &str,
    available_after_s: default!(i32, 0),
    retries: default!(i32, 5),
) -> i64 {
    let id = with_core(|ex| {
        quay_core::queue::put(ex, queue_name, body, i64::from(available_after_s), i64::from(retries))
    });
    // Delivered when the caller commits, never for a rolled-back put.
    Spi::run_with_args("SELECT pg_notify('quay_queue', $1)", &[queue_name.into()])
        .unwrap_or_else(|e| error!("NOTIFY failed: {e}"));
    id
}

/// Claims one item and returns its id; `quay.queue_claim` (SQL) wraps it to return the row.
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn _queue_claim_id(queue_prefix: &str, processing_s: i32, ordering_required: bool) -> Option<i64> {
    with_core(|ex| quay_core::queue::claim(ex, queue_prefix, i64::from(processing_s), ordering_required))
        .map(|item| item.id)
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_complete(item_id: i64) -> bool {
    with_core(|ex| quay_core::queue::complete(ex, item_id))
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_incomplete(
    item_id: i64,
    retry_after_s: default!(i32, 300),
    restore_retry: default!(bool, false),
) -> bool {
    with_core(|ex| quay_core::queue::incomplete(ex, item_id, i64::from(retry_after_s), restore_retry))
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_extend(item_id: i64, seconds: i32) -> bool {
    with_core(|ex| quay_core::queue::extend(ex, item_id, i64::from(seconds)))
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_purge_namespace(namespace_name: &str) -> i64 {
    with_core(|ex| quay_core::queue::purge_namespace(ex, namespace_name))
}

extension_sql!(
    r#"
CREATE FUNCTION queue_claim(queue_prefix text, processing_s integer DEFAULT 300,
                            ordering_required boolean DEFAULT false)
RETURNS SETOF public.queueitem
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_catalog
AS $body$
DECLARE
  claimed bigint;
BEGIN
  IF ordering_required THEN
    -- Ordered claims of one prefix take turns, so two claimers never start one name twice.
    PERFORM pg_advisory_xact_lock(hashtextextended('quay_queue_ordered:' || queue_prefix, 0));
  END IF;
  claimed := quay._queue_claim_id(queue_prefix, processing_s, ordering_required);
  IF claimed IS NOT NULL THEN
    RETURN QUERY SELECT * FROM public.queueitem WHERE id = claimed;
  END IF;
END
$body$;

CREATE VIEW queue_status AS
SELECT split_part(q.queue_name, '/', 1) AS queue,
       count(*) FILTER (WHERE q.available AND q.retries_remaining > 0) AS available,
       count(*) FILTER (WHERE NOT q.available AND q.processing_expires > n.now) AS running,
       count(*) FILTER (WHERE NOT q.available AND q.processing_expires <= n.now
                          AND q.retries_remaining > 0) AS expired_leases,
       count(*) FILTER (WHERE q.retries_remaining <= 0
                          AND (q.available OR q.processing_expires <= n.now)) AS exhausted,
       n.now - min(q.available_after) FILTER (WHERE q.available AND q.retries_remaining > 0
                                                AND q.available_after <= n.now) AS oldest_available_age
  FROM public.queueitem q CROSS JOIN (SELECT now() AT TIME ZONE 'UTC' AS now) n
 GROUP BY 1, n.now;

COMMENT ON FUNCTION version() IS 'Version of the quay extension installed in this database.';
COMMENT ON FUNCTION quay_schema_revision() IS 'Quay Alembic revision whose schema the quay extension targets.';
COMMENT ON FUNCTION queue_put(text, text, integer, integer) IS
  'Enqueue a job on Quay''s queueitem table; NOTIFY quay_queue with the queue name at commit. Returns the item id.';
COMMENT ON FUNCTION _queue_claim_id(text, integer, boolean) IS 'Internal: claim one item, return its id (use queue_claim).';
COMMENT ON FUNCTION queue_claim(text, integer, boolean) IS
  'Claim zero or one eligible item whose name starts with queue_prefix (literal), leasing it for processing_s seconds; SKIP LOCKED, never double-claims.';
COMMENT ON FUNCTION queue_complete(bigint) IS 'Finish a job: delete the item. False if it was already gone.';
COMMENT ON FUNCTION queue_incomplete(bigint, integer, boolean) IS
  'Give a job back, available again after retry_after_s; restore_retry returns the retry the claim used. True if retries remain.';
COMMENT ON FUNCTION queue_extend(bigint, integer) IS 'Extend a running job''s lease to now + seconds. False if not running.';
COMMENT ON FUNCTION queue_purge_namespace(text) IS
  'Delete every queued job of a namespace on the namespaced queues (including proxycacheblob and exportactionlogs). Returns the count.';
COMMENT ON VIEW queue_status IS 'Per queue: available, running, expired leases, exhausted items and the age of the oldest available item.';
"#,
    name = "queue_sql",
    finalize
);
