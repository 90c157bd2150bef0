//! The `quay` PostgreSQL extension. Functions live in schema `quay` (see `quay.control`); their
//! bodies are `quay_core`'s, the same code mirror mode runs on SQLite, executed here through SPI.
//! Quay's tables are expected in schema `public`, as Quay creates them.

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use quay_core::exec::{CoreError, CoreResult, Dialect, Executor, Row, Value};

::pgrx::pg_module_magic!(name, version);

thread_local! {
    /// Prepared SPI plans by (SQL text, parameter types), kept for the backend's life.
    static PLANS: std::cell::RefCell<std::collections::HashMap<(String, Vec<u32>), pgrx::spi::OwnedPreparedStatement>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

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
                Value::NullInt => pgrx::datum::DatumWithOid::null::<i64>(),
                Value::Bool(b) => (*b).into(),
                Value::Int(i) => (*i).into(),
                Value::Text(s) => s.as_str().into(),
            })
            .collect();
        let db = |e: pgrx::spi::SpiError| CoreError::Database(e.to_string());
        // Plans are prepared once per backend and statement (PostgreSQL revalidates them when
        // the schema changes), so the hot paths skip parsing and planning.
        let oids: Vec<u32> = params
            .iter()
            .map(|v| match v {
                Value::Null | Value::Text(_) => pg_sys::TEXTOID.to_u32(),
                Value::NullInt | Value::Int(_) => pg_sys::INT8OID.to_u32(),
                Value::Bool(_) => pg_sys::BOOLOID.to_u32(),
            })
            .collect();
        let key = (sql.to_string(), oids);
        let table = PLANS.with(|plans| -> CoreResult<_> {
            let mut plans = plans.borrow_mut();
            if !plans.contains_key(&key) {
                let types: Vec<PgOid> = key.1.iter().map(|o| PgOid::from(pg_sys::Oid::from(*o))).collect();
                let plan = self.client.prepare_mut(sql, &types).map_err(db)?.keep();
                plans.insert(key.clone(), plan);
            }
            let plan = plans.get(&key).ok_or_else(|| CoreError::Database("plan cache".into()))?;
            self.client.update(plan, None, &args).map_err(db)
        })?;
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
        let rows = self.query("SELECT gen_random_uuid()::text", &[]).unwrap_or_default();
        rows.first().and_then(|r| r.first()).and_then(Value::as_text).unwrap_or_default().to_string()
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
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message, code.as_str());
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

extension_sql!(
    r#"
-- Qualified: an unqualified version() is pg_catalog's (0.1.0 and 0.2.0 commented that one).
COMMENT ON FUNCTION quay.version() IS 'Version of the quay extension installed in this database.';
"#,
    name = "comment_version",
    requires = [version]
);

/// The Quay schema revision (Alembic head) the extension's functions are written against.
#[pg_extern(immutable, parallel_safe)]
fn quay_schema_revision() -> &'static str {
    quay_core::QUAY_ALEMBIC_HEAD
}

extension_sql!(
    r#"
COMMENT ON FUNCTION quay_schema_revision() IS 'Quay Alembic revision whose schema the quay extension targets.';
"#,
    name = "comment_quay_schema_revision",
    requires = [quay_schema_revision]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_put(
    queue_name: &str,
    body: &str,
    available_after_s: default!(i32, 0),
    retries: default!(i32, 5),
) -> i64 {
    // The core queues the NOTIFY: delivered when the caller commits, never for a rollback.
    with_core(|ex| {
        quay_core::queue::put(ex, queue_name, body, i64::from(available_after_s), i64::from(retries))
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION queue_put(text, text, integer, integer) IS
  'Enqueue a job on Quay''s queueitem table; NOTIFY quay_queue with the queue name at commit. Returns the item id.';
"#,
    name = "comment_queue_put",
    requires = [queue_put]
);

/// Claims one item and returns its id; `quay.queue_claim` (SQL) wraps it to return the row.
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn _queue_claim_id(queue_prefix: &str, processing_s: i32, ordering_required: bool) -> Option<i64> {
    with_core(|ex| quay_core::queue::claim(ex, queue_prefix, i64::from(processing_s), ordering_required))
        .map(|item| item.id)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION _queue_claim_id(text, integer, boolean) IS 'Internal: claim one item, return its id (use queue_claim).';
"#,
    name = "comment__queue_claim_id",
    requires = [_queue_claim_id]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn _queue_complete_and_claim_ids(
    done: Vec<i64>,
    queue_prefix: &str,
    processing_s: i32,
    max_items: i32,
) -> SetOfIterator<'static, i64> {
    let items = with_core(|ex| {
        quay_core::queue::complete_and_claim(
            ex,
            &done,
            queue_prefix,
            i64::from(processing_s),
            i64::from(max_items),
        )
    });
    SetOfIterator::new(items.into_iter().map(|i| i.id))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION _queue_complete_and_claim_ids(bigint[], text, integer, integer) IS 'Internal: complete, claim, return the claimed ids (use queue_complete_and_claim).';

CREATE FUNCTION queue_complete_and_claim(done bigint[], queue_prefix text, processing_s integer DEFAULT 300,
                                         max_items integer DEFAULT 1)
RETURNS SETOF public.queueitem
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_catalog
AS $body$
DECLARE
  claimed bigint[];
BEGIN
  claimed := ARRAY(SELECT quay._queue_complete_and_claim_ids(done, queue_prefix, processing_s, max_items));
  RETURN QUERY SELECT * FROM public.queueitem WHERE id = ANY(claimed) ORDER BY id;
END
$body$;

COMMENT ON FUNCTION queue_complete_and_claim(bigint[], text, integer, integer) IS
  'Finish the jobs done (their items go away) and claim up to max_items (1..256) more whose names start with queue_prefix, each leased for processing_s seconds, in one transaction: a worker''s loop is one commit per batch. Unordered queues only; SKIP LOCKED, never double-claims. With max_items 0 it only completes.';
"#,
    name = "queue_complete_and_claim_sql",
    requires = [_queue_complete_and_claim_ids]
);

extension_sql!(
    r#"
CREATE VIEW queue_running AS
SELECT q.id, split_part(q.queue_name, '/', 1) AS queue, q.queue_name, q.state_id,
       q.processing_expires AS lease_expires,
       q.processing_expires - (now() AT TIME ZONE 'UTC') AS lease_left,
       q.retries_remaining
  FROM public.queueitem q
 WHERE NOT q.available AND q.processing_expires > (now() AT TIME ZONE 'UTC');

CREATE VIEW queue_failed AS
SELECT q.id, split_part(q.queue_name, '/', 1) AS queue, q.queue_name, q.body, q.available_after,
       q.processing_expires AS last_lease_expired
  FROM public.queueitem q
 WHERE q.retries_remaining <= 0
   AND (q.available OR q.processing_expires <= (now() AT TIME ZONE 'UTC'));

CREATE VIEW notification_failing AS
SELECT ns.username AS namespace, r.name AS repository, n.uuid, n.title, e.name AS event,
       m.name AS method, n.number_of_failures AS failures, n.number_of_failures >= 3 AS disabled,
       (SELECT count(*) FROM public.queueitem q
         WHERE q.queue_name LIKE 'notification/%' AND q.body LIKE '%' || n.uuid || '%') AS queued
  FROM public.repositorynotification n
  JOIN public.repository r ON r.id = n.repository_id
  JOIN public."user" ns ON ns.id = r.namespace_user_id
  JOIN public.externalnotificationevent e ON e.id = n.event_id
  JOIN public.externalnotificationmethod m ON m.id = n.method_id
 WHERE n.number_of_failures > 0;

COMMENT ON VIEW queue_running IS 'Items being worked on: queue, name, the claim''s state_id, when the lease expires and how long is left, retries left.';
COMMENT ON VIEW queue_failed IS 'Items that will not run again: no retries left and not running (Quay leaves them in queueitem).';
COMMENT ON VIEW notification_failing IS 'Repository notifications whose last deliveries failed: failures, disabled (3 or more: not sent until reset), deliveries still queued.';
"#,
    name = "worker_state_views"
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_complete(item_id: i64) -> bool {
    with_core(|ex| quay_core::queue::complete(ex, item_id))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION queue_complete(bigint) IS 'Finish a job: delete the item. False if it was already gone.';
"#,
    name = "comment_queue_complete",
    requires = [queue_complete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_incomplete(
    item_id: i64,
    retry_after_s: default!(i32, 300),
    restore_retry: default!(bool, false),
) -> bool {
    with_core(|ex| quay_core::queue::incomplete(ex, item_id, i64::from(retry_after_s), restore_retry))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION queue_incomplete(bigint, integer, boolean) IS
  'Give a job back, available again after retry_after_s; restore_retry returns the retry the claim used. True if retries remain.';
"#,
    name = "comment_queue_incomplete",
    requires = [queue_incomplete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_extend(item_id: i64, seconds: i32) -> bool {
    with_core(|ex| quay_core::queue::extend(ex, item_id, i64::from(seconds)))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION queue_extend(bigint, integer) IS 'Extend a running job''s lease to now + seconds. False if not running.';
"#,
    name = "comment_queue_extend",
    requires = [queue_extend]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn queue_purge_namespace(namespace_name: &str) -> i64 {
    with_core(|ex| quay_core::queue::purge_namespace(ex, namespace_name))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION queue_purge_namespace(text) IS
  'Delete every queued job of a namespace on the namespaced queues (including proxycacheblob and exportactionlogs). Returns the count.';
"#,
    name = "comment_queue_purge_namespace",
    requires = [queue_purge_namespace]
);

fn digests(what: &str, v: Option<Vec<Option<String>>>) -> Vec<String> {
    v.unwrap_or_default()
        .into_iter()
        .map(|d| {
            d.unwrap_or_else(|| {
                ereport!(
                    ERROR,
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("{what} must not contain NULL"),
                    "QUAY_INVALID_ARGUMENT"
                );
            })
        })
        .collect()
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn blob_commit(
    repository_id: i64,
    digest: &str,
    size_bytes: i64,
    location: &str,
    link_expiration_s: default!(i32, 3600),
) -> i64 {
    with_core(|ex| {
        quay_core::blobs::blob_commit(
            ex,
            repository_id,
            digest,
            size_bytes,
            location,
            i64::from(link_expiration_s),
        )
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION blob_commit(bigint, text, bigint, text, integer) IS
  'Record a stored blob (imagestorage by checksum, placement in the location) and link it to a repository for link_expiration_s seconds. Returns the storage id.';
"#,
    name = "comment_blob_commit",
    requires = [blob_commit]
);

#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn upload_finish(
    upload_id: i64,
    repository_id: i64,
    byte_count: i64,
    chunk_count: i64,
    digest: &str,
    size_bytes: i64,
    location: &str,
    link_expiration_s: default!(i32, 3600),
) -> i64 {
    with_core(|ex| {
        quay_core::blobs::upload_finish(
            ex,
            upload_id,
            repository_id,
            byte_count,
            chunk_count,
            digest,
            size_bytes,
            location,
            i64::from(link_expiration_s),
        )
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION upload_finish(bigint, bigint, bigint, bigint, text, bigint, text, integer) IS
  'Finish an upload session in one transaction: delete its blobupload row only if it still has byte_count bytes in chunk_count pieces (else QUAY_UPLOAD_CHANGED, nothing done), then record and link the verified blob as quay.blob_commit. Returns the imagestorage id.';
"#,
    name = "comment_upload_finish",
    requires = [upload_finish]
);

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn blob_lookup(
    repository_id: i64,
    digest: &str,
) -> TableIterator<'static, (name!(storage_id, i64), name!(size_bytes, Option<i64>))> {
    let found = with_core(|ex| quay_core::blobs::blob_lookup(ex, repository_id, digest));
    TableIterator::new(found.into_iter().map(|b| (b.storage_id, b.size)))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION blob_lookup(bigint, text) IS
  'The blob a repository may use for a digest (upload link or one of its manifests; the empty layer everywhere): storage id and size, or no row.';
"#,
    name = "comment_blob_lookup",
    requires = [blob_lookup]
);

/// The legacy (0.1.0) form: facts the caller parsed, recorded as given. Kept for callers of 0.1.0.
#[allow(clippy::too_many_arguments)]
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn manifest_put(
    repository_id: i64,
    digest: &str,
    media_type: &str,
    manifest_bytes: &str,
    config_digest: Option<&str>,
    blob_digests: Option<Vec<Option<String>>>,
    child_digests: Option<Vec<Option<String>>>,
    subject_digest: default!(Option<&str>, "NULL"),
    artifact_type: default!(Option<&str>, "NULL"),
    config_media_type: default!(Option<&str>, "NULL"),
    layers_compressed_size: default!(Option<i64>, "NULL"),
    temp_tag_expiration_s: default!(Option<i32>, "NULL"),
) -> i64 {
    let m = quay_core::tags::NewManifest {
        repository_id,
        digest: digest.into(),
        media_type: media_type.into(),
        manifest_bytes: manifest_bytes.into(),
        config_digest: config_digest.map(Into::into),
        blob_digests: digests("blob_digests", blob_digests),
        child_digests: digests("child_digests", child_digests),
        subject_digest: subject_digest.map(Into::into),
        artifact_type: artifact_type.map(Into::into),
        config_media_type: config_media_type.map(Into::into),
        layers_compressed_size,
        temp_tag_expiration_s: temp_tag_expiration_s.map(i64::from),
    };
    with_core(|ex| quay_core::tags::manifest_put(ex, &m))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION manifest_put(bigint, text, text, text, text, text[], text[], text, text, text, bigint, integer) IS
  'Legacy form (0.1.0): record a manifest from facts its caller parsed, taken as given (the bytes are not checked; pushes use manifest_put(repository_id, media_type, manifest_bytes, ...)). Creates it in a repository (idempotent per digest) with its manifestblob, manifestchild and security-status rows; refuses blobs not linked to the repository and children not in it. Referrers (subject) get a non-expiring hidden tag; temp_tag_expiration_s adds a hidden $temp- tag. Returns the manifest id.';
"#,
    name = "comment_manifest_put",
    requires = [manifest_put]
);

/// A push: the manifest checked against every rule from its bytes alone (digest, document, media
/// type) and recorded with its blob, child and security-status rows, then tagged. The SQL name is
/// `manifest_put` (an overload of the legacy 12-argument form above).
#[pg_extern(volatile, name = "manifest_put")]
#[search_path(public, pg_catalog)]
fn manifest_put_document(
    repository_id: i64,
    media_type: Option<&str>,
    manifest_bytes: &str,
    temp_tag_expiration_s: default!(Option<i32>, "NULL"),
    expected_digest: default!(Option<&str>, "NULL"),
    tag_names: default!(Option<Vec<Option<String>>>, "NULL"),
) -> TableIterator<'static, (name!(manifest_id, i64), name!(digest, String), name!(subject, Option<String>))>
{
    let tags = digests("tag_names", tag_names);
    let pushed = with_core(|ex| {
        quay_core::tags::manifest_put_bytes(
            ex,
            repository_id,
            media_type,
            manifest_bytes,
            expected_digest,
            temp_tag_expiration_s.map(i64::from),
            &tags,
        )
    });
    TableIterator::once((pushed.id, pushed.digest, pushed.subject))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION manifest_put(bigint, text, text, integer, text, text[]) IS
  'Push a manifest from its bytes: computes the digest (sha256, or the algorithm of expected_digest, which must match), validates the document against media_type (a Content-Type; NULL lets the document decide), derives config, layers, children, subject and artifact type, refuses blobs the repository cannot use and children not in it, records the manifest (idempotent per digest) with its manifestblob, manifestchild and security-status rows and points each of tag_names at it. Referrers get a non-expiring hidden tag, temp_tag_expiration_s an expiring one. Refusals: SQLSTATE 22023, DETAIL QUAY_MANIFEST_INVALID, QUAY_MEDIA_TYPE_UNSUPPORTED, QUAY_MEDIA_TYPE_MISMATCH, QUAY_DIGEST_INVALID, QUAY_BLOB_UNKNOWN, QUAY_MANIFEST_UNKNOWN, QUAY_TAG_NAME_INVALID, QUAY_TAG_IMMUTABLE, QUAY_REPOSITORY_UNKNOWN; nothing is written. Returns the manifest id, digest and subject.';
"#,
    name = "comment_manifest_put_document",
    requires = [manifest_put_document]
);

/// `manifest_put` with the event context: also queues the repository's `repo_push`
/// notifications in the same transaction. Its own name: another `manifest_put` overload of seven
/// arguments would make calls of the legacy form with untyped arguments ambiguous.
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn manifest_push(
    repository_id: i64,
    media_type: Option<&str>,
    manifest_bytes: &str,
    temp_tag_expiration_s: Option<i32>,
    expected_digest: Option<&str>,
    tag_names: Option<Vec<Option<String>>>,
    event_context: &str,
) -> TableIterator<'static, (name!(manifest_id, i64), name!(digest, String), name!(subject, Option<String>))>
{
    let tags = digests("tag_names", tag_names);
    let pushed = with_core(|ex| {
        let event = quay_core::notifications::EventContext::from_json(event_context)?;
        quay_core::push::manifest_push(
            ex,
            repository_id,
            media_type,
            manifest_bytes,
            expected_digest,
            temp_tag_expiration_s.map(i64::from),
            &tags,
            &event,
        )
    });
    TableIterator::once((pushed.id, pushed.digest, pushed.subject))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION manifest_push(bigint, text, text, integer, text, text[], text) IS
  'A push as manifest_put(bigint, text, text, integer, text, text[]) does, and when tags moved, queues the repository''s repo_push notifications in the same transaction (queue notification/<ns>/<repo>/repo_push/, Quay''s body with event_data and performer_data). event_context is JSON {server_hostname, scheme, performer}: what the payload needs that the database does not hold.';
"#,
    name = "comment_manifest_push",
    requires = [manifest_push]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn notification_expiry_scan(event_context: &str) -> i64 {
    with_core(|ex| {
        let ctx = quay_core::notifications::EventContext::from_json(event_context)?;
        quay_core::notifications::scan_image_expiry(ex, &ctx).map(|n| n as i64)
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION notification_expiry_scan(text) IS
  'One pass of the repo_image_expiry notifications (FEATURE_IMAGE_EXPIRY_TRIGGER): up to 10 notifications not scanned for 5 hours (SKIP LOCKED) are marked scanned; for each, the alive visible tags expiring within its eventConfig days that it has not announced are recorded in tagnotificationsuccess and one delivery is queued (event_data tags, expiring_in). event_context as quay.manifest_push takes. Returns the deliveries queued.';
"#,
    name = "comment_notification_expiry_scan",
    requires = [notification_expiry_scan]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn tag_set(
    repository_id: i64,
    tag_name: &str,
    manifest_id: i64,
    expires_at_ms: default!(Option<i64>, "NULL"),
) -> i64 {
    with_core(|ex| quay_core::tags::tag_set(ex, repository_id, tag_name, manifest_id, expires_at_ms))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_set(bigint, text, bigint, bigint) IS
  'Point a tag at a manifest: end the alive generation and insert the new one atomically (one alive generation per name, under any concurrency). Returns the new tag id.';
"#,
    name = "comment_tag_set",
    requires = [tag_set]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn tag_delete(repository_id: i64, tag_name: &str) -> bool {
    with_core(|ex| quay_core::tags::tag_delete(ex, repository_id, tag_name))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_delete(bigint, text) IS
  'End the alive generation of a tag (restorable inside the namespace time-machine window). False if the tag is not alive.';
"#,
    name = "comment_tag_delete",
    requires = [tag_delete]
);

/// Ends every alive tag (hidden ones too) on the manifest: deleted for every reader.
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn manifest_delete(repository_id: i64, manifest_digest: &str) -> i64 {
    with_core(|ex| quay_core::tags::manifest_delete(ex, repository_id, manifest_digest))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION manifest_delete(bigint, text) IS
  'Delete a manifest for every reader: end every alive tag on it (hidden and temporary ones too) in one transaction. Returns how many tags it ended. Errors: QUAY_MANIFEST_UNKNOWN, QUAY_TAG_IMMUTABLE, QUAY_REPOSITORY_NOT_WRITABLE.';
"#,
    name = "comment_manifest_delete",
    requires = [manifest_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn tag_restore(repository_id: i64, tag_name: &str, manifest_digest: &str) -> i64 {
    with_core(|ex| quay_core::tags::tag_restore(ex, repository_id, tag_name, manifest_digest))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_restore(bigint, text, text) IS
  'Point a tag back at a manifest it had inside the time-machine window (a reversion generation). Returns the new tag id.';
"#,
    name = "comment_tag_restore",
    requires = [tag_restore]
);

fn freed(
    blobs: Vec<quay_core::gc::FreedBlob>,
) -> TableIterator<'static, (name!(storage_id, i64), name!(content_checksum, String))> {
    TableIterator::new(blobs.into_iter().map(|b| (b.storage_id, b.content_checksum)))
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn gc_repository(
    repository_id: i64,
) -> TableIterator<'static, (name!(storage_id, i64), name!(content_checksum, String))> {
    freed(with_core(|ex| quay_core::gc::gc_repository(ex, repository_id)))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION gc_repository(bigint) IS
  'Collect a repository: tags past the time-machine window, expired upload links, then unreferenced manifests, labels and blobs. Returns blobs whose stored object may be deleted after commit.';
"#,
    name = "comment_gc_repository",
    requires = [gc_repository]
);

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn repositories_with_garbage(max_repositories: default!(i32, 500)) -> SetOfIterator<'static, i64> {
    SetOfIterator::new(with_core(|ex| {
        quay_core::gc::repositories_with_garbage(ex, i64::from(max_repositories))
    }))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repositories_with_garbage(integer) IS
  'Live repositories holding tags past their namespace time-machine window (what quay.gc_repository would collect), by id.';
"#,
    name = "comment_repositories_with_garbage",
    requires = [repositories_with_garbage]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_delete(repository_id: i64) -> i64 {
    with_core(|ex| quay_core::gc::repository_delete(ex, repository_id))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_delete(bigint) IS
  'Mark a repository for deletion (renamed to a uuid, state 3, stars removed, deletedrepository marker) and enqueue its repositorygc job. Returns the queue item id.';
"#,
    name = "comment_repository_delete",
    requires = [repository_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_purge(
    repository_id: i64,
) -> TableIterator<'static, (name!(storage_id, i64), name!(content_checksum, String))> {
    freed(with_core(|ex| quay_core::gc::repository_purge(ex, repository_id)))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_purge(bigint) IS
  'Delete a repository marked for deletion and every row of it, in Quay''s order. Returns blobs whose stored object may be deleted after commit.';
"#,
    name = "comment_repository_purge",
    requires = [repository_purge]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn namespace_delete(namespace_id: i64) -> Option<i64> {
    with_core(|ex| quay_core::gc::namespace_delete(ex, namespace_id))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION namespace_delete(bigint) IS
  'Mark a user or organization for deletion (disabled, renamed to uuids, robots disabled, queue items purged, deletednamespace marker) and enqueue its namespacegc job. Returns the queue item id, NULL if already disabled.';
"#,
    name = "comment_namespace_delete",
    requires = [namespace_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn namespace_purge(
    namespace_id: i64,
) -> TableIterator<'static, (name!(storage_id, i64), name!(content_checksum, String))> {
    freed(with_core(|ex| quay_core::gc::namespace_purge(ex, namespace_id)))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION namespace_purge(bigint) IS
  'Delete a namespace marked for deletion: repositories, teams, robots, applications, quotas, mirrors and every row referencing it. Returns blobs whose stored object may be deleted after commit.';
"#,
    name = "comment_namespace_purge",
    requires = [namespace_purge]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_create(
    namespace_id: i64,
    repository_name: &str,
    public: bool,
    creator_id: i64,
) -> TableIterator<'static, (name!(repository_id, i64), name!(created, bool))> {
    let (id, created) = with_core(|ex| {
        quay_core::repositories::create(ex, namespace_id, repository_name, public, creator_id)
    });
    TableIterator::once((id, created))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_create(bigint, text, boolean, bigint) IS
  'The live repository of that name in the namespace, created (private unless public) when missing, with its action-count and search-score rows, admin for the creating user and the organization''s default permissions. Refuses creators without create permission. Returns the id and whether it was created.';
"#,
    name = "comment_repository_create",
    requires = [repository_create]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn organization_create(
    organization_name: &str,
    creator_id: i64,
    removed_tag_expiration_s: default!(i64, 1209600),
) -> TableIterator<'static, (name!(organization_id, i64), name!(created, bool))> {
    let (id, created) = with_core(|ex| {
        quay_core::organizations::create(ex, organization_name, creator_id, removed_tag_expiration_s)
    });
    TableIterator::once((id, created))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION organization_create(text, bigint, bigint) IS
  'The organization of that name, created when no namespace has it: its user row (e-mail derived from the creator''s as Quay does), an owners team with the admin team role, the creator as its member. Refuses invalid names, a user of that name and creators that are not enabled people. Returns the id and whether it was created.';
"#,
    name = "comment_organization_create",
    requires = [organization_create]
);

#[pg_extern(volatile, name = "repository_create")]
#[search_path(public, pg_catalog)]
fn repository_create_with(
    namespace_id: i64,
    repository_name: &str,
    public: bool,
    creator_id: i64,
    description: Option<&str>,
    log: Option<&str>,
) -> TableIterator<'static, (name!(repository_id, i64), name!(created, bool))> {
    repository_create_by(namespace_id, repository_name, public, creator_id, description, log, false)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_create(bigint, text, boolean, bigint, text, text) IS
  'As repository_create(bigint, text, boolean, bigint), with a description and the action log (JSON as quay.log_action takes; account the namespace, repository the new one) written in the same transaction when it is created (/api/v1/repository). An existing repository is returned with created = false, nothing written.';
"#,
    name = "comment_repository_create_with",
    requires = [repository_create_with]
);

#[pg_extern(volatile, name = "repository_create")]
#[search_path(public, pg_catalog)]
fn repository_create_by(
    namespace_id: i64,
    repository_name: &str,
    public: bool,
    creator_id: i64,
    description: Option<&str>,
    log: Option<&str>,
    superuser: bool,
) -> TableIterator<'static, (name!(repository_id, i64), name!(created, bool))> {
    let (id, created) = with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::repositories::create_with(
            ex,
            namespace_id,
            repository_name,
            public,
            creator_id,
            description,
            superuser,
            log.as_ref(),
        )
    });
    TableIterator::once((id, created))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_create(bigint, text, boolean, bigint, text, text, boolean) IS
  'As repository_create(bigint, text, boolean, bigint, text, text); superuser = true: the caller vouches that the creator is a superuser with FEATURE_SUPERUSERS_FULL_ACCESS (configuration, not in the database), who may create in any namespace (the creator still becomes its admin).';
"#,
    name = "comment_repository_create_by",
    requires = [repository_create_by]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_set_description(repository_id: i64, description: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::repositories::set_description(ex, repository_id, description, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_set_description(bigint, text, text) IS
  'Set a live repository''s description and write its action log (account: its namespace) in the same transaction; QUAY_REPOSITORY_UNKNOWN otherwise.';
"#,
    name = "comment_repository_set_description",
    requires = [repository_set_description]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_set_visibility(repository_id: i64, public: bool, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::repositories::set_visibility(ex, repository_id, public, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_set_visibility(bigint, boolean, text) IS
  'Make a live repository public or private and write its action log in the same transaction; QUAY_REPOSITORY_UNKNOWN otherwise.';
"#,
    name = "comment_repository_set_visibility",
    requires = [repository_set_visibility]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_set_state(repository_id: i64, state: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::repositories::set_state(ex, repository_id, state, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_set_state(bigint, bigint, text) IS
  'Set a live repository''s state (0 NORMAL, 1 READ_ONLY, 2 MIRROR) under its tag lock, so no tag write commits after a change that refuses it, and write its action log in the same transaction.';
"#,
    name = "comment_repository_set_state",
    requires = [repository_set_state]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_action_counts_run() -> i64 {
    with_core(|ex| quay_core::repositories::count_actions_yesterday(ex).map(|n| n as i64))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_action_counts_run() IS
  'Quay''s repository action counter: count each live repository''s log entries of yesterday (UTC) into repositoryactioncount, keeping counts already there; returns the repositories counted.';
"#,
    name = "comment_repository_action_counts_run",
    requires = [repository_action_counts_run]
);

/// The grantee of a permission call: exactly one of `user_id` and `team_id`.
fn grantee(user_id: Option<i64>, team_id: Option<i64>) -> CoreResult<quay_core::permissions::Grantee> {
    match (user_id, team_id) {
        (Some(u), None) => Ok(quay_core::permissions::Grantee::User(u)),
        (None, Some(t)) => Ok(quay_core::permissions::Grantee::Team(t)),
        _ => Err(quay_core::exec::invalid(
            quay_core::rules::Rule::InvalidArgument,
            "give exactly one of user_id and team_id",
        )),
    }
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn permission_set(
    repository_id: i64,
    user_id: Option<i64>,
    team_id: Option<i64>,
    role: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let role = quay_core::permissions::Role::parse(role).ok_or_else(|| {
            quay_core::exec::invalid(
                quay_core::rules::Rule::InvalidArgument,
                format!("{role:?} is not a role"),
            )
        })?;
        quay_core::permissions::grant_set(ex, repository_id, grantee(user_id, team_id)?, role, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION permission_set(bigint, bigint, bigint, text, text) IS
  'Give a user (person or robot) or a team of the repository''s organization a role (read, write, admin) on a live repository, replacing its previous one, with the action log (JSON as quay.log_action takes) in the same transaction. Exactly one of user_id and team_id. QUAY_REPOSITORY_UNKNOWN, QUAY_USER_UNKNOWN, QUAY_TEAM_UNKNOWN.';
"#,
    name = "comment_permission_set",
    requires = [permission_set]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn permission_delete(
    repository_id: i64,
    user_id: Option<i64>,
    team_id: Option<i64>,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::permissions::grant_delete(ex, repository_id, grantee(user_id, team_id)?, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION permission_delete(bigint, bigint, bigint, text) IS
  'Remove a user''s or team''s permission on a live repository, with the action log in the same transaction; QUAY_PERMISSION_UNKNOWN when it has none.';
"#,
    name = "comment_permission_delete",
    requires = [permission_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn robot_create(
    owner_id: i64,
    short_name: &str,
    description: &str,
    unstructured_json: &str,
    encrypted_token: &str,
    log: default!(Option<&str>, "NULL"),
) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let r = quay_core::robots::NewRobot {
            owner_id,
            short_name,
            description,
            unstructured_json,
            encrypted_token,
        };
        quay_core::robots::create(ex, &r, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION robot_create(bigint, text, text, text, text, text) IS
  'Create robot owner+short_name for a person or organization: its user row, metadata (description truncated to 255), token (field-encrypted by the caller) and quayrobot login, with the action log (account: the owner) in the same transaction. QUAY_NAME_INVALID, QUAY_NAMESPACE_UNKNOWN, QUAY_ROBOT_EXISTS. Returns its id.';
"#,
    name = "comment_robot_create",
    requires = [robot_create]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn robot_set_token(robot_id: i64, encrypted_token: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::robots::set_token(ex, robot_id, encrypted_token, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION robot_set_token(bigint, text, text) IS
  'Replace a robot''s (field-encrypted) token and e-mail uuid, with the action log in the same transaction; QUAY_ROBOT_UNKNOWN.';
"#,
    name = "comment_robot_set_token",
    requires = [robot_set_token]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn robot_delete(robot_id: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::robots::delete(ex, robot_id, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION robot_delete(bigint, text) IS
  'Delete a robot and every row naming it (permissions, team memberships, default permissions, stars, notifications, token, metadata, login), with the action log in the same transaction; QUAY_ROBOT_UNKNOWN.';
"#,
    name = "comment_robot_delete",
    requires = [robot_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn prototype_create(
    organization_id: i64,
    prototype_uuid: &str,
    activating_user_id: Option<i64>,
    delegate_user_id: Option<i64>,
    delegate_team_id: Option<i64>,
    role: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let role = quay_core::permissions::Role::parse(role).ok_or_else(|| {
            quay_core::exec::invalid(
                quay_core::rules::Rule::InvalidArgument,
                format!("{role:?} is not a role"),
            )
        })?;
        let delegate = grantee(delegate_user_id, delegate_team_id)?;
        quay_core::prototypes::create(
            ex,
            organization_id,
            prototype_uuid,
            activating_user_id,
            delegate,
            role,
            log.as_ref(),
        )
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION prototype_create(bigint, text, bigint, bigint, bigint, text, text) IS
  'A default permission of the organization: the delegate (exactly one of a user and a team of the organization) gets the role on every repository created later, by activating_user_id only when given; with the action log in the same transaction. QUAY_NAMESPACE_UNKNOWN, QUAY_USER_UNKNOWN, QUAY_TEAM_UNKNOWN.';
"#,
    name = "comment_prototype_create",
    requires = [prototype_create]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn prototype_set_role(
    organization_id: i64,
    prototype_uuid: &str,
    role: &str,
    log: default!(Option<&str>, "NULL"),
) -> String {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let role = quay_core::permissions::Role::parse(role).ok_or_else(|| {
            quay_core::exec::invalid(
                quay_core::rules::Rule::InvalidArgument,
                format!("{role:?} is not a role"),
            )
        })?;
        quay_core::prototypes::set_role(ex, organization_id, prototype_uuid, role, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION prototype_set_role(bigint, text, text, text) IS
  'Change a default permission''s role, with the action log in the same transaction; returns the previous role. QUAY_PROTOTYPE_UNKNOWN.';
"#,
    name = "comment_prototype_set_role",
    requires = [prototype_set_role]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn prototype_delete(organization_id: i64, prototype_uuid: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::prototypes::delete(ex, organization_id, prototype_uuid, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION prototype_delete(bigint, text, text) IS
  'Delete a default permission, with the action log in the same transaction; QUAY_PROTOTYPE_UNKNOWN.';
"#,
    name = "comment_prototype_delete",
    requires = [prototype_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn tag_set_expiration(
    repository_id: i64,
    tag_name: &str,
    expires_at_ms: Option<i64>,
    log: default!(Option<&str>, "NULL"),
) -> Option<i64> {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::tags::tag_set_expiration(ex, repository_id, tag_name, expires_at_ms, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_set_expiration(bigint, text, bigint, text) IS
  'Change when the alive tag expires, in place (no new generation): a future epoch-ms time, or NULL for never; the action log gets the old end as old_expiration_date, in the same transaction. Returns the old end. QUAY_TAG_UNKNOWN, QUAY_INVALID_ARGUMENT (not in the future), QUAY_REPOSITORY_NOT_WRITABLE.';
"#,
    name = "comment_tag_set_expiration",
    requires = [tag_set_expiration]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn tag_point(
    repository_id: i64,
    tag_name: &str,
    manifest_digest: &str,
    log: default!(Option<&str>, "NULL"),
) -> Option<String> {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::tags::tag_point(ex, repository_id, tag_name, manifest_digest, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_point(bigint, text, text, text) IS
  'Point a tag at the repository''s manifest of that digest (create or move, as quay.tag_set), with the action log (original_manifest_digest added) in the same transaction. Returns the digest it pointed at before. QUAY_MANIFEST_UNKNOWN, QUAY_TAG_NAME_INVALID, QUAY_TAG_IMMUTABLE.';
"#,
    name = "comment_tag_point",
    requires = [tag_point]
);

#[pg_extern(volatile, name = "tag_delete")]
#[search_path(public, pg_catalog)]
fn tag_delete_logged(repository_id: i64, tag_name: &str, log: Option<&str>) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::tags::tag_delete_logged(ex, repository_id, tag_name, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_delete(bigint, text, text) IS
  'As tag_delete(bigint, text), with the action log in the same transaction; QUAY_TAG_UNKNOWN when no alive tag has the name.';
"#,
    name = "comment_tag_delete_logged",
    requires = [tag_delete_logged]
);

#[pg_extern(volatile, name = "tag_restore")]
#[search_path(public, pg_catalog)]
fn tag_restore_logged(repository_id: i64, tag_name: &str, manifest_digest: &str, log: Option<&str>) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::tags::tag_restore_logged(ex, repository_id, tag_name, manifest_digest, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION tag_restore(bigint, text, text, text) IS
  'As tag_restore(bigint, text, text), with the action log in the same transaction.';
"#,
    name = "comment_tag_restore_logged",
    requires = [tag_restore_logged]
);

#[pg_extern(volatile, name = "repository_delete")]
#[search_path(public, pg_catalog)]
fn repository_delete_logged(repository_id: i64, log: Option<&str>) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::gc::repository_delete_logged(ex, repository_id, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_delete(bigint, text) IS
  'As repository_delete(bigint), with the action log (account: the namespace) in the same transaction.';
"#,
    name = "comment_repository_delete_logged",
    requires = [repository_delete_logged]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn team_member_remove(team_id: i64, user_id: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::teams::remove_member(ex, team_id, user_id, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION team_member_remove(bigint, bigint, text) IS
  'Remove a member from a team, logging org_remove_team_member (derived from log) in the same transaction. QUAY_TEAM_UNKNOWN, QUAY_USER_UNKNOWN (not a member).';
"#,
    name = "comment_team_member_remove",
    requires = [team_member_remove]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn organization_update(organization_id: i64, changes: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let changes = quay_core::organizations::Changes::from_json(changes)?;
        quay_core::organizations::update(ex, organization_id, &changes, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION organization_update(bigint, text, text) IS
  'Change an organization (PUT /api/v1/organization/<org>): changes is JSON with any of email, invoice_email (boolean), invoice_email_address, tag_expiration_s; one transaction, each change logged as Quay does (org_change_email, org_change_invoicing, org_change_tag_expiration, derived from log). QUAY_NAMESPACE_UNKNOWN, QUAY_EMAIL_TAKEN, QUAY_INVALID_ARGUMENT.';
"#,
    name = "comment_organization_update",
    requires = [organization_update]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn organization_member_remove(organization_id: i64, user_id: i64) {
    with_core(|ex| quay_core::organizations::remove_member(ex, organization_id, user_id))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION organization_member_remove(bigint, bigint) IS
  'Remove a person from an organization: every team membership in it and every direct permission on its repositories, in one transaction (DELETE /api/v1/organization/<org>/members/<member>). The only admin is refused with QUAY_NAMESPACE_LAST_ADMIN; a non-member changes nothing.';
"#,
    name = "comment_organization_member_remove",
    requires = [organization_member_remove]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn team_delete(team_id: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::teams::delete(ex, team_id, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION team_delete(bigint, text) IS
  'Delete a team with its memberships, repository permissions, default permissions and invitations, logging org_delete_team in the same transaction. QUAY_TEAM_UNKNOWN.';
"#,
    name = "comment_team_delete",
    requires = [team_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
#[allow(clippy::too_many_arguments)]
fn label_add(
    repository_id: i64,
    manifest_digest: &str,
    label_uuid: &str,
    key: &str,
    value: &str,
    media_type: default!(&str, "'text/plain'"),
    source: default!(&str, "'api'"),
    log: default!(Option<&str>, "NULL"),
) -> bool {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let l = quay_core::labels::NewLabel { uuid: label_uuid, key, value, media_type, source };
        quay_core::labels::add(ex, repository_id, manifest_digest, &l, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION label_add(bigint, text, text, text, text, text, text, text) IS
  'Add a label (key, value, media type text/plain or application/json, source api, manifest or internal) to the repository''s manifest of that digest, with the action log in the same transaction. A manifest-sourced label the manifest already has is not added twice (false). QUAY_INVALID_ARGUMENT (key format, reserved prefix, media type), QUAY_MANIFEST_UNKNOWN.';
"#,
    name = "comment_label_add",
    requires = [label_add]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn label_delete(
    repository_id: i64,
    manifest_digest: &str,
    label_uuid: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::labels::delete(ex, repository_id, manifest_digest, label_uuid, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION label_delete(bigint, text, text, text) IS
  'Delete a label of the repository''s manifest, with the action log in the same transaction. QUAY_LABEL_UNKNOWN, QUAY_INVALID_ARGUMENT (its source makes it immutable), QUAY_MANIFEST_UNKNOWN.';
"#,
    name = "comment_label_delete",
    requires = [label_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
#[allow(clippy::too_many_arguments)]
fn notification_create(
    repository_id: i64,
    notification_uuid: &str,
    event: &str,
    method: &str,
    title: Option<&str>,
    config_json: &str,
    event_config_json: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let n = quay_core::notifications::NewNotification {
            uuid: notification_uuid,
            event,
            method,
            title,
            config_json,
            event_config_json,
        };
        quay_core::notifications::create(ex, repository_id, &n, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION notification_create(bigint, text, text, text, text, text, text, text) IS
  'Create a repository notification (event and method by their Quay names, config and event config as JSON text), with the action log in the same transaction. QUAY_INVALID_ARGUMENT for an unknown event or method.';
"#,
    name = "comment_notification_create",
    requires = [notification_create]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn notification_reset(repository_id: i64, notification_uuid: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::notifications::reset(ex, repository_id, notification_uuid, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION notification_reset(bigint, text, text) IS
  'Set a repository notification''s failure count back to zero, with the action log in the same transaction. QUAY_NOTIFICATION_UNKNOWN.';
"#,
    name = "comment_notification_reset",
    requires = [notification_reset]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn notification_delete(repository_id: i64, notification_uuid: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::notifications::delete(ex, repository_id, notification_uuid, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION notification_delete(bigint, text, text) IS
  'Delete a repository notification, with the action log in the same transaction. QUAY_NOTIFICATION_UNKNOWN.';
"#,
    name = "comment_notification_delete",
    requires = [notification_delete]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn notification_test(repository_id: i64, notification_uuid: &str) -> i64 {
    with_core(|ex| quay_core::notifications::test(ex, repository_id, notification_uuid))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION notification_test(bigint, text) IS
  'Queue a test delivery of a repository notification on Quay''s notification queue (notification/<namespace>/<repository>/<event>/); the worker sends it. Returns the queue item id. QUAY_NOTIFICATION_UNKNOWN.';
"#,
    name = "comment_notification_test",
    requires = [notification_test]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn app_token_create(
    user_id: i64,
    token_uuid: &str,
    title: &str,
    token_name: &str,
    encrypted_secret: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::apptokens::create(
            ex,
            user_id,
            token_uuid,
            title,
            token_name,
            encrypted_secret,
            log.as_ref(),
        )
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION app_token_create(bigint, text, text, text, text, text) IS
  'Create an app-specific token for a person: its public first half (token_name) and its field-encrypted second half, with the action log in the same transaction. QUAY_USER_UNKNOWN.';
"#,
    name = "comment_app_token_create",
    requires = [app_token_create]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn app_token_revoke(user_id: i64, token_uuid: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::apptokens::revoke(ex, user_id, token_uuid, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION app_token_revoke(bigint, text, text) IS
  'Revoke (delete) a person''s app-specific token, with the action log in the same transaction. QUAY_TOKEN_UNKNOWN.';
"#,
    name = "comment_app_token_revoke",
    requires = [app_token_revoke]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn team_set(
    organization_id: i64,
    team_name: &str,
    role: &str,
    description: default!(Option<&str>, "NULL"),
    log: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(team_id, i64), name!(created, bool))> {
    let row = with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::teams::set(ex, organization_id, team_name, role, description, log.as_ref())
    });
    TableIterator::once(row)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION team_set(bigint, text, text, text, text) IS
  'Create team team_name in the organization with that team role (member, creator, admin) and description (NULL: kept, or empty for a new team), or set them on the existing team; the action logs (org_create_team, org_set_team_role, org_set_team_description) derived from log (JSON as quay.log_action takes) in the same transaction. QUAY_TEAM_NAME_INVALID, QUAY_NAMESPACE_UNKNOWN. Returns the team id and whether it was created.';
"#,
    name = "comment_team_set",
    requires = [team_set]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn team_member_add(team_id: i64, user_id: i64, log: default!(Option<&str>, "NULL")) -> bool {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::teams::add_member(ex, team_id, user_id, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION team_member_add(bigint, bigint, text) IS
  'Add a person (or a robot of the team''s organization) to a team, logging org_add_team_member (derived from log) in the same transaction. QUAY_TEAM_UNKNOWN, QUAY_USER_UNKNOWN. Returns whether it was added now (false: already a member).';
"#,
    name = "comment_team_member_add",
    requires = [team_member_add]
);

#[pg_extern(volatile, name = "organization_create")]
#[search_path(public, pg_catalog)]
fn organization_create_with(
    organization_name: &str,
    creator_id: i64,
    email: Option<&str>,
    removed_tag_expiration_s: i64,
    log: Option<&str>,
) -> TableIterator<'static, (name!(organization_id, i64), name!(created, bool))> {
    let (id, created) = with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::organizations::create_with(
            ex,
            organization_name,
            creator_id,
            email,
            removed_tag_expiration_s,
            log.as_ref(),
        )
    });
    TableIterator::once((id, created))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION organization_create(text, bigint, text, bigint, text) IS
  'As organization_create(text, bigint, bigint), with the organization''s e-mail (NULL: derived from the creator''s) and the action log (JSON as quay.log_action takes) written in the same transaction when it is created (/api/v1/organization/).';
"#,
    name = "comment_organization_create_with",
    requires = [organization_create_with]
);

/// What a push creates, in one transaction: the namespace (as an organization, when
/// `namespace_expiration_s` is given and it is missing) and the repository.
#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn repository_create_on_push(
    namespace_name: &str,
    repository_name: &str,
    public: bool,
    creator_id: i64,
    namespace_expiration_s: default!(Option<i64>, "NULL"),
) -> TableIterator<
    'static,
    (name!(repository_id, i64), name!(namespace_created, bool), name!(repository_created, bool)),
> {
    let row = with_core(|ex| {
        quay_core::repositories::create_on_push(
            ex,
            namespace_name,
            repository_name,
            public,
            creator_id,
            namespace_expiration_s,
        )
    });
    TableIterator::once(row)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_create_on_push(text, text, boolean, bigint, bigint) IS
  'What a push creates, in one transaction: the repository namespace/name (private unless public), and first its namespace as an organization owned by the creator when it is missing and namespace_expiration_s is given. A refusal (QUAY_PERMISSION_DENIED, QUAY_NAME_INVALID, QUAY_NAMESPACE_UNKNOWN, QUAY_NAMESPACE_EXISTS, QUAY_NAMESPACE_DISABLED) creates nothing. Returns the repository id and what was created now.';
"#,
    name = "comment_repository_create_on_push",
    requires = [repository_create_on_push]
);

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn can_create_repository(user_id: i64, namespace_id: i64) -> bool {
    with_core(|ex| quay_core::repositories::can_create(ex, user_id, namespace_id))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION can_create_repository(bigint, bigint) IS
  'Whether a user may create repositories in a namespace: its own, or an organization where it is in an admin or creator team.';
"#,
    name = "comment_can_create_repository",
    requires = [can_create_repository]
);

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn repository_role(user_id: Option<i64>, repository_id: i64) -> Option<&'static str> {
    with_core(|ex| quay_core::permissions::repository_role(ex, user_id, repository_id)).map(|r| r.as_str())
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_role(bigint, bigint) IS
  'The role (admin, write, read) a user (NULL = anonymous) has on a repository, or NULL: public, direct and team grants, organization admin teams, namespace ownership.';
"#,
    name = "comment_repository_role",
    requires = [repository_role]
);

/// The columns every read function starts with: the repository and the caller's role on it.
type AccessColumns = (i64, i64, bool, bool, i64, bool, Option<String>);

fn access_columns(a: &quay_core::permissions::RepositoryAccess) -> AccessColumns {
    let r = &a.repository;
    (
        r.id,
        r.namespace_id,
        r.public,
        r.is_image,
        r.state,
        r.namespace_enabled,
        a.role.map(|x| x.as_str().into()),
    )
}

/// The live repository `namespace_name/repository_name` and the role `user_id` (NULL =
/// anonymous) has on it: what a registry request decides on, in one call. No row when there is
/// no such repository.
#[allow(clippy::type_complexity)] // pgrx reads the column names from the signature
#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn repository_access(
    namespace_name: &str,
    repository_name: &str,
    user_id: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(repository_id, i64),
        name!(namespace_id, i64),
        name!(public, bool),
        name!(is_image, bool),
        name!(state, i64),
        name!(namespace_enabled, bool),
        name!(role, Option<String>),
    ),
> {
    let found = with_core(|ex| {
        quay_core::permissions::repository_access(ex, namespace_name, repository_name, user_id)
    });
    TableIterator::new(found.iter().map(access_columns).collect::<Vec<_>>())
}

extension_sql!(
    r#"
COMMENT ON FUNCTION repository_access(text, text, bigint) IS
  'The live repository namespace/name (any kind, state or namespace state) and the role (admin, write, read, NULL) a user (NULL = anonymous) has on it, as quay.repository_role: what a registry request decides on, in one call. No row when there is no such repository.';
"#,
    name = "comment_repository_access",
    requires = [repository_access]
);

/// A manifest pull in one call: [`repository_access`]'s columns and the manifest `reference` (a
/// tag or a digest) names, if something keeps it alive (NULL columns when not).
#[allow(clippy::type_complexity)] // pgrx reads the column names from the signature
#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn manifest_read(
    namespace_name: &str,
    repository_name: &str,
    user_id: Option<i64>,
    reference: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(repository_id, i64),
        name!(namespace_id, i64),
        name!(public, bool),
        name!(is_image, bool),
        name!(state, i64),
        name!(namespace_enabled, bool),
        name!(role, Option<String>),
        name!(manifest_id, Option<i64>),
        name!(digest, Option<String>),
        name!(media_type, Option<String>),
        name!(manifest_bytes, Option<String>),
    ),
> {
    let found = with_core(|ex| {
        quay_core::tags::manifest_read(ex, namespace_name, repository_name, user_id, reference)
    });
    TableIterator::new(
        found
            .into_iter()
            .map(|(a, m)| {
                let (id, ns, public, image, state, enabled, role) = access_columns(&a);
                let (mid, digest, media_type, bytes) = match m {
                    Some(m) => (Some(m.id), Some(m.digest), Some(m.media_type), Some(m.bytes)),
                    None => (None, None, None, None),
                };
                (id, ns, public, image, state, enabled, role, mid, digest, media_type, bytes)
            })
            .collect::<Vec<_>>(),
    )
}

extension_sql!(
    r#"
COMMENT ON FUNCTION manifest_read(text, text, bigint, text) IS
  'A manifest pull in one call: the columns of quay.repository_access and the manifest a tag or digest names if something keeps it alive (an alive tag on it or on an index listing it; by tag, the alive visible tag), else NULLs. The caller serves it only if the role allows.';
"#,
    name = "comment_manifest_read",
    requires = [manifest_read]
);

/// A blob pull in one call: [`repository_access`]'s columns and blob `blob_digest` if the
/// repository may use it (NULL columns when not).
#[allow(clippy::type_complexity)] // pgrx reads the column names from the signature
#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn blob_read(
    namespace_name: &str,
    repository_name: &str,
    user_id: Option<i64>,
    blob_digest: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(repository_id, i64),
        name!(namespace_id, i64),
        name!(public, bool),
        name!(is_image, bool),
        name!(state, i64),
        name!(namespace_enabled, bool),
        name!(role, Option<String>),
        name!(storage_id, Option<i64>),
        name!(size_bytes, Option<i64>),
    ),
> {
    let found = with_core(|ex| {
        quay_core::blobs::blob_read(ex, namespace_name, repository_name, user_id, blob_digest)
    });
    TableIterator::new(
        found
            .into_iter()
            .map(|(a, b)| {
                let (id, ns, public, image, state, enabled, role) = access_columns(&a);
                let (sid, size) = match b {
                    Some(b) => (Some(b.storage_id), b.size),
                    None => (None, None),
                };
                (id, ns, public, image, state, enabled, role, sid, size)
            })
            .collect::<Vec<_>>(),
    )
}

extension_sql!(
    r#"
COMMENT ON FUNCTION blob_read(text, text, bigint, text) IS
  'A blob pull in one call: the columns of quay.repository_access and the blob if the repository may use it (linked, in one of its manifests, or the shared empty layer), else NULLs. The caller serves it only if the role allows.';
"#,
    name = "comment_blob_read",
    requires = [blob_read]
);

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn visible_repositories(
    user_id: Option<i64>,
    namespace_name: default!(Option<&str>, "NULL"),
) -> TableIterator<'static, (name!(repository_id, i64), name!(role, String))> {
    let rows = with_core(|ex| quay_core::permissions::visible_repositories(ex, user_id, namespace_name));
    TableIterator::new(rows.into_iter().map(|(id, role)| (id, role.as_str().to_string())))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION visible_repositories(bigint, text) IS
  'Repositories a user (NULL = anonymous) can read, with the role, optionally in one namespace.';
"#,
    name = "comment_visible_repositories",
    requires = [visible_repositories]
);

/// A page of the catalog: the repositories `user_id` can read, by full name in byte order, at most
/// `max_rows` after `after`.
#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn visible_repository_names(
    user_id: Option<i64>,
    after: default!(&str, "''"),
    max_rows: default!(i32, 100),
) -> TableIterator<'static, (name!(repository_id, i64), name!(full_name, String))> {
    let rows = with_core(|ex| quay_core::permissions::visible_names(ex, user_id, after, i64::from(max_rows)));
    TableIterator::new(rows)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION visible_repository_names(bigint, text, integer) IS
  'A page of the catalog: repositories a user (NULL = anonymous) can read, by full name (namespace/name) in byte order, at most max_rows after after.';
"#,
    name = "comment_visible_repository_names",
    requires = [visible_repository_names]
);

/// Where a mount without `from` takes blob `digest` from: the first repository (by id) the user
/// can read that holds it; NULL when none.
#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn readable_repository_with_blob(user_id: Option<i64>, blob_digest: &str) -> Option<i64> {
    with_core(|ex| quay_core::permissions::readable_with_blob(ex, user_id, blob_digest))
}

extension_sql!(
    r#"
COMMENT ON FUNCTION readable_repository_with_blob(bigint, text) IS
  'Where a mount without a source takes a blob from: the first repository (by id) the user (NULL = anonymous) can read that uses the blob or holds an unexpired upload link to it; NULL when none.';
"#,
    name = "comment_readable_repository_with_blob",
    requires = [readable_repository_with_blob]
);

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn namespace_access(
    namespace_name: &str,
    user_id: Option<i64>,
) -> TableIterator<
    'static,
    (name!(namespace_id, i64), name!(organization, bool), name!(enabled, bool), name!(role, Option<String>)),
> {
    let found = with_core(|ex| quay_core::permissions::namespace_access(ex, namespace_name, user_id));
    TableIterator::new(
        found
            .into_iter()
            .map(|a| (a.id, a.organization, a.enabled, a.role.map(|r| r.as_str().to_string())))
            .collect::<Vec<_>>(),
    )
}

extension_sql!(
    r#"
COMMENT ON FUNCTION namespace_access(text, bigint) IS
  'The user or organization of that name and the role a user (NULL = anonymous) has in it: owner (its own namespace), else the best team role in the organization (admin, creator, member), else NULL. No row when no namespace has the name.';
"#,
    name = "comment_namespace_access",
    requires = [namespace_access]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn log_action(log: &str) {
    with_core(|ex| {
        let entry = quay_core::logs::LogEntry::from_json(log)?;
        quay_core::logs::record(ex, &entry, None)
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION log_action(text) IS
  'Write one action log row (logentry3) from its JSON form {kind, account_id?, performer_id?, repository_id?, ip?, metadata}; the kind is looked up by name, the account defaults to the repository''s namespace. Refuses an unknown kind or an entry naming neither account nor repository (QUAY_INVALID_ARGUMENT).';
"#,
    name = "comment_log_action",
    requires = [log_action]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn log_actions(logs: &str) {
    with_core(|ex| {
        let entries = quay_core::logs::LogEntry::list_from_json(logs)?;
        quay_core::logs::record_all(ex, &entries)
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION log_actions(text) IS
  'Write a batch of action log rows in one transaction: a JSON array of what quay.log_action takes; all or none (the server batches pull_repo and push_repo this way).';
"#,
    name = "comment_log_actions",
    requires = [log_actions]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn user_create(
    username: &str,
    email: &str,
    password_hash: Option<&str>,
    removed_tag_expiration_s: default!(i64, 1209600),
    verified: default!(bool, true),
    log: default!(Option<&str>, "NULL"),
) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let person = quay_core::users::NewPerson {
            username,
            email,
            password_hash,
            removed_tag_expiration_s,
            verified,
        };
        quay_core::users::create(ex, &person, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION user_create(text, text, text, bigint, boolean, text) IS
  'Create a person (password_hash: bcrypt, or NULL for none) and, in the same transaction, its action log (log: JSON as quay.log_action takes, account defaulting to the new user). Refuses invalid names, names any namespace has (QUAY_NAMESPACE_EXISTS) and e-mails another person uses (QUAY_EMAIL_TAKEN). Returns the new id.';
"#,
    name = "comment_user_create",
    requires = [user_create]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn user_set_password(user_id: i64, password_hash: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::users::set_password(ex, user_id, password_hash, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION user_set_password(bigint, text, text) IS
  'Set a person''s bcrypt password hash and write its action log in the same transaction; QUAY_USER_UNKNOWN when no person has that id.';
"#,
    name = "comment_user_set_password",
    requires = [user_set_password]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
#[allow(clippy::too_many_arguments)]
fn user_initialize(
    username: &str,
    email: &str,
    password_hash: &str,
    removed_tag_expiration_s: i64,
    token_name: Option<&str>,
    token_code_hash: Option<&str>,
    scope: Option<&str>,
    lifetime_s: default!(i64, 315360000),
) -> TableIterator<'static, (name!(user_id, i64), name!(token_id, Option<i64>))> {
    let row = with_core(|ex| {
        let person = quay_core::users::NewPerson {
            username,
            email,
            password_hash: Some(password_hash),
            removed_tag_expiration_s,
            verified: true,
        };
        let token = match (token_name, token_code_hash) {
            (Some(token_name), Some(token_code_hash)) => Some(quay_core::users::NewOAuthToken {
                token_name,
                token_code_hash,
                scope: scope.unwrap_or(""),
                lifetime_s,
                application_description: "Application token generated via /api/v1/user/initialize",
            }),
            _ => None,
        };
        quay_core::users::initialize(ex, &person, token.as_ref())
    });
    TableIterator::once(row)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION user_initialize(text, text, text, bigint, text, text, text, bigint) IS
  'The first user of an empty database (QUAY_DATABASE_NOT_EMPTY otherwise), verified; with token_name and token_code_hash also its automation OAuth application and an access token with that scope, valid lifetime_s seconds. One transaction. Returns the user id and the token row id.';
"#,
    name = "comment_user_initialize",
    requires = [user_initialize]
);

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

-- Claims scan waiting items in id order; without this index they would step over every
-- running item on each claim. Owned by the extension (dropped with it); Quay ignores it.
CREATE INDEX IF NOT EXISTS quay_queueitem_waiting ON public.queueitem (id) WHERE available;

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

COMMENT ON FUNCTION queue_claim(text, integer, boolean) IS
  'Claim zero or one eligible item whose name starts with queue_prefix (literal), leasing it for processing_s seconds; SKIP LOCKED, never double-claims.';
COMMENT ON VIEW queue_status IS 'Per queue: available, running, expired leases, exhausted items and the age of the oldest available item.';
"#,
    name = "queue_sql",
    finalize
);

// ---- Storage quotas (quay_core::quota). The totals are kept by quay.manifest_put and GC. ----

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_create(namespace_id: i64, limit_bytes: i64, log: default!(Option<&str>, "NULL")) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::quota::quota_create(ex, namespace_id, limit_bytes, log.as_ref())
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_update(namespace_id: i64, quota_id: i64, limit_bytes: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::quota::quota_update(ex, namespace_id, quota_id, limit_bytes, log.as_ref())
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_delete(namespace_id: i64, quota_id: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::quota::quota_delete(ex, namespace_id, quota_id, log.as_ref())
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_limit_create(
    namespace_id: i64,
    quota_id: i64,
    limit_type: &str,
    threshold_percent: i64,
    log: default!(Option<&str>, "NULL"),
) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::quota::limit_create(
            ex,
            namespace_id,
            quota_id,
            limit_type,
            threshold_percent,
            log.as_ref(),
        )
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_limit_update(
    namespace_id: i64,
    quota_id: i64,
    limit_id: i64,
    limit_type: &str,
    threshold_percent: i64,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::quota::limit_update(
            ex,
            namespace_id,
            quota_id,
            limit_id,
            limit_type,
            threshold_percent,
            log.as_ref(),
        )
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_limit_delete(namespace_id: i64, quota_id: i64, limit_id: i64, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::quota::limit_delete(ex, namespace_id, quota_id, limit_id, log.as_ref())
    })
}

#[pg_extern(stable)]
#[search_path(public, pg_catalog)]
fn quota_check(repository_id: i64) -> Option<String> {
    with_core(|ex| quay_core::quota::over_reject_limit(ex, repository_id))
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn quota_notify_rejected(repository_id: i64, event_context: &str) -> i64 {
    with_core(|ex| {
        let ctx = quay_core::notifications::EventContext::from_json(event_context)?;
        quay_core::quota::notify_rejected(ex, repository_id, &ctx).map(|n| n as i64)
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION quota_notify_rejected(bigint, text) IS
  'After a push into the repository was refused with QUAY_QUOTA_EXCEEDED (its transaction rolled back): queue quota_error for the repository''s notifications, at most once per 24 h while the limit stays crossed. event_context as quay.manifest_push takes. Returns the deliveries queued.';
COMMENT ON FUNCTION quota_create(bigint, bigint, text) IS
  'Give a namespace its storage quota (userorganizationquota, one per namespace) of limit_bytes (> 0), with the action log (org_create_quota) in the same transaction. Returns its id. QUAY_QUOTA_EXISTS when it has one.';
COMMENT ON FUNCTION quota_update(bigint, bigint, bigint, text) IS
  'Change the namespace quota''s limit_bytes; quota notifications start over. QUAY_QUOTA_UNKNOWN for another namespace''s quota.';
COMMENT ON FUNCTION quota_delete(bigint, bigint, text) IS
  'Delete the namespace''s quota with its limits.';
COMMENT ON FUNCTION quota_limit_create(bigint, bigint, text, bigint, text) IS
  'Add a Warning or Reject limit at threshold_percent (1..100) of the quota. A push that takes the namespace past a Reject limit is refused (QUAY_QUOTA_EXCEEDED); reaching a limit queues quota_warning / quota_error. QUAY_QUOTA_LIMIT_EXISTS for the same type and percent twice.';
COMMENT ON FUNCTION quota_limit_update(bigint, bigint, bigint, text, bigint, text) IS
  'Change a quota limit''s type and percent.';
COMMENT ON FUNCTION quota_limit_delete(bigint, bigint, bigint, text) IS
  'Delete a quota limit.';
COMMENT ON FUNCTION quota_check(bigint) IS
  'NULL, or why a new upload into the repository is refused: its namespace is at or past a Reject limit (Quay''s check before an upload starts).';

CREATE VIEW quota_usage AS
SELECT u.username AS namespace, u.organization, s.size_bytes, s.backfill_complete,
       q.limit_bytes,
       CASE WHEN q.limit_bytes > 0 THEN round(100.0 * s.size_bytes / q.limit_bytes, 2) END AS percent_used,
       (SELECT string_agg(t.name || ' ' || l.percent_of_limit || '%', ', ' ORDER BY l.percent_of_limit)
          FROM public.quotalimits l JOIN public.quotatype t ON t.id = l.quota_type_id
         WHERE l.quota_id = q.id) AS limits
  FROM public.quotanamespacesize s
  JOIN public."user" u ON u.id = s.namespace_user_id
  LEFT JOIN public.userorganizationquota q ON q.namespace_id = s.namespace_user_id;
COMMENT ON VIEW quota_usage IS 'Each namespace''s stored bytes (exact: kept in the push and GC transactions), its quota and limits, and the percent used.';
"#,
    name = "quota_sql",
    requires = [
        quota_create,
        quota_update,
        quota_delete,
        quota_limit_create,
        quota_limit_update,
        quota_limit_delete,
        quota_check,
        quota_notify_rejected
    ]
);

// ---- Auto-prune policies (quay_core::autoprune). ----

fn autoprune_scope(namespace_id: i64, repository_id: Option<i64>) -> quay_core::autoprune::Scope {
    quay_core::autoprune::Scope::of(namespace_id, repository_id)
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn autoprune_policy_create(
    namespace_id: i64,
    repository_id: Option<i64>,
    policy_uuid: &str,
    policy: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let p = quay_core::autoprune::Policy::from_stored(policy)?;
        quay_core::autoprune::create(
            ex,
            autoprune_scope(namespace_id, repository_id),
            policy_uuid,
            &p,
            log.as_ref(),
        )
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn autoprune_policy_update(
    namespace_id: i64,
    repository_id: Option<i64>,
    policy_uuid: &str,
    policy: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let p = quay_core::autoprune::Policy::from_stored(policy)?;
        quay_core::autoprune::update(
            ex,
            autoprune_scope(namespace_id, repository_id),
            policy_uuid,
            &p,
            log.as_ref(),
        )
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn autoprune_policy_delete(
    namespace_id: i64,
    repository_id: Option<i64>,
    policy_uuid: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::autoprune::delete(
            ex,
            autoprune_scope(namespace_id, repository_id),
            policy_uuid,
            log.as_ref(),
        )
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn autoprune_repository(repository_id: i64) -> SetOfIterator<'static, String> {
    let names = with_core(|ex| quay_core::autoprune::prune_repository(ex, repository_id));
    SetOfIterator::new(names)
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn autoprune_run_due(max_namespaces: default!(i32, 10), interval_ms: default!(i64, 3600000)) -> i64 {
    with_core(|ex| quay_core::autoprune::run_due(ex, i64::from(max_namespaces), interval_ms))
        .try_into()
        .unwrap_or(i64::MAX)
}

extension_sql!(
    r#"
COMMENT ON FUNCTION autoprune_policy_create(bigint, bigint, text, text, text) IS
  'Add an auto-prune policy to a namespace (repository_id NULL) or a repository: policy is its config JSON (method number_of_tags with an integer value, or creation_date with a duration such as 7d; optional tag_pattern and tag_pattern_matches), stored as Quay stores it; an exact duplicate is refused. Queues the namespace''s task; the action log in the same transaction.';
COMMENT ON FUNCTION autoprune_policy_update(bigint, bigint, text, text, text) IS
  'Replace an auto-prune policy''s config. QUAY_POLICY_UNKNOWN for a uuid not in that namespace or repository.';
COMMENT ON FUNCTION autoprune_policy_delete(bigint, bigint, text, text) IS
  'Delete an auto-prune policy.';
COMMENT ON FUNCTION autoprune_repository(bigint) IS
  'Apply the namespace''s and the repository''s auto-prune policies now (creation_date first, then number_of_tags) under the repository''s tag lock: ends each pruned tag as a delete does (recoverable in the time machine; immutable tags kept) and logs autoprune_tag_delete. Returns the tags pruned.';
COMMENT ON FUNCTION autoprune_run_due(integer, bigint) IS
  'One slow-timer pass: up to max_namespaces namespaces whose autoprunetaskstatus last ran more than interval_ms ago (SKIP LOCKED) are pruned repository by repository and marked run (success or failure: ...). Returns the tags pruned.';
"#,
    name = "autoprune_sql",
    requires = [
        autoprune_policy_create,
        autoprune_policy_update,
        autoprune_policy_delete,
        autoprune_repository,
        autoprune_run_due
    ]
);

// ---- Periodic work of the workers (GC, upload cleanup, sweep, expiry scan, auto-prune). ----

extension_sql!(
    r#"
CREATE TABLE periodic_job_run (
  job text PRIMARY KEY,
  last_started timestamp NOT NULL,
  last_finished timestamp NOT NULL,
  last_status text NOT NULL,
  last_duration_ms bigint NOT NULL,
  runs bigint NOT NULL DEFAULT 1,
  failures bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE periodic_job_run IS 'The last run of each periodic job of the workers (one row per job, written by quay.periodic_job_ran).';

CREATE FUNCTION periodic_job_ran(job text, status text, duration_ms bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = quay, pg_catalog
AS $body$
  INSERT INTO quay.periodic_job_run AS p (job, last_started, last_finished, last_status, last_duration_ms, runs, failures)
  VALUES ($1, (now() AT TIME ZONE 'UTC') - make_interval(secs => $3 / 1000.0), now() AT TIME ZONE 'UTC', $2, $3,
          1, CASE WHEN $2 = 'ok' THEN 0 ELSE 1 END)
  ON CONFLICT (job) DO UPDATE
     SET last_started = EXCLUDED.last_started, last_finished = EXCLUDED.last_finished,
         last_status = EXCLUDED.last_status, last_duration_ms = EXCLUDED.last_duration_ms,
         runs = p.runs + 1, failures = p.failures + EXCLUDED.failures;
$body$;
COMMENT ON FUNCTION periodic_job_ran(text, text, bigint) IS
  'Record that a worker finished a periodic job (status ok, or what failed) that took duration_ms.';

CREATE VIEW periodic_jobs AS
SELECT job, last_finished, (now() AT TIME ZONE 'UTC') - last_finished AS since, last_status, last_duration_ms, runs, failures
  FROM periodic_job_run;
COMMENT ON VIEW periodic_jobs IS 'Each periodic job of the workers: when it last finished, how long ago, its status and duration, runs and failures.';
"#,
    name = "periodic_jobs_sql"
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn user_update(user_id: i64, changes: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let changes = quay_core::users::PersonChanges::from_json(changes)?;
        quay_core::users::update(ex, user_id, &changes, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION user_update(bigint, text, text) IS
  'Change a person''s own account (PUT /api/v1/user/): changes JSON with email, invoice_email, invoice_email_address, tag_expiration_s and metadata (given_name, family_name, company, location), each change logged as Quay does (user_change_*), in one transaction. QUAY_EMAIL_TAKEN when another person uses the address.';
"#,
    name = "comment_user_update",
    requires = [user_update]
);

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn organization_rename(organization_id: i64, new_name: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::organizations::rename(ex, organization_id, new_name, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION organization_rename(bigint, text, text) IS
  'Rename an organization (a superuser''s PUT /api/v1/superuser/organizations/<name>): the new name must be valid and free (QUAY_NAME_INVALID, QUAY_NAMESPACE_EXISTS); its robots follow (old+bot becomes new+bot); with the action log (org_change_name), in one transaction.';
"#,
    name = "comment_organization_rename",
    requires = [organization_rename]
);

// ---- OAuth applications of organizations (quay_core::oauth_apps). ----

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn oauth_application_create(
    organization_id: i64,
    client_id: &str,
    encrypted_secret: &str,
    fields: &str,
    log: default!(Option<&str>, "NULL"),
) -> i64 {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let f = quay_core::oauth_apps::AppFields::from_json(fields)?;
        quay_core::oauth_apps::create(ex, organization_id, client_id, encrypted_secret, &f, log.as_ref())
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn oauth_application_update(
    organization_id: i64,
    client_id: &str,
    fields: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        let f = quay_core::oauth_apps::AppFields::from_json(fields)?;
        quay_core::oauth_apps::update(ex, organization_id, client_id, &f, log.as_ref())
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn oauth_application_set_secret(
    organization_id: i64,
    client_id: &str,
    encrypted_secret: &str,
    log: default!(Option<&str>, "NULL"),
) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::oauth_apps::set_secret(ex, organization_id, client_id, encrypted_secret, log.as_ref())
    })
}

#[pg_extern(volatile)]
#[search_path(public, pg_catalog)]
fn oauth_application_delete(organization_id: i64, client_id: &str, log: default!(Option<&str>, "NULL")) {
    with_core(|ex| {
        let log = quay_core::logs::LogEntry::parse_opt(log)?;
        quay_core::oauth_apps::delete(ex, organization_id, client_id, log.as_ref())
    })
}

extension_sql!(
    r#"
COMMENT ON FUNCTION oauth_application_create(bigint, text, text, text, text) IS
  'Register an OAuth application of an organization: client id and field-encrypted secret made by the caller, fields JSON (name required; redirect_uri, application_uri, description, avatar_email), with the action log. Returns its id.';
COMMENT ON FUNCTION oauth_application_update(bigint, text, text, text) IS
  'Change an OAuth application''s name, URIs, description and avatar e-mail. QUAY_APPLICATION_UNKNOWN for a client id not of the organization.';
COMMENT ON FUNCTION oauth_application_set_secret(bigint, text, text, text) IS
  'Give an OAuth application a new (field-encrypted) client secret.';
COMMENT ON FUNCTION oauth_application_delete(bigint, text, text) IS
  'Delete an OAuth application with its access tokens and authorization codes, in one transaction.';
"#,
    name = "oauth_application_sql",
    requires = [
        oauth_application_create,
        oauth_application_update,
        oauth_application_set_secret,
        oauth_application_delete
    ]
);
