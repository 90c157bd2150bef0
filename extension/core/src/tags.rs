//! Tags and manifests, written once for both backends (quay-data-model.md §4).
//!
//! - A manifest is created once per (repository, digest) with all its `manifestblob`,
//!   `manifestchild` and `manifestsecuritystatus` rows, or refused with nothing written.
//! - A tag name has at most one alive generation: every change ends the alive generation and
//!   inserts the next one under a per-repository lock, at a time strictly after every earlier
//!   event on that name (a logical clock over the wall clock), so history never overlaps and
//!   two generations never end in the same millisecond (Quay's unique index).

use crate::exec::{
    CoreError, CoreResult, Executor, Value, composed, first_int, invalid, json_array, lock, named, now_ms,
    one_int, run,
};
use crate::logs::{self, LogEntry};
use crate::manifests::CheckedManifest;
use crate::names;
use crate::permissions::{
    RepositoryAccess, access_of, access_params, access_statement, repository_access_statement,
};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/tags.sql");

pub use crate::blobs::EMPTY_LAYER_DIGEST;
pub use crate::manifests::NewManifest;
use crate::repositories::require_writable_repository;
pub use crate::repositories::{STATE_MARKED_FOR_DELETION, require_live_repository};

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

fn q_int(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Option<i64>> {
    one_int(ex, named(SQL, name), params)
}

fn check_digest(what: &str, digest: &str) -> CoreResult<()> {
    if names::is_valid_digest(digest) {
        Ok(())
    } else {
        Err(invalid(Rule::DigestInvalid, format!("{what} {digest:?} is not a sha256 or sha512 digest")))
    }
}

fn tag_kind(ex: &mut dyn Executor) -> CoreResult<i64> {
    q_int(ex, "tag_kind_id", &[])?.ok_or_else(|| CoreError::Database("tagkind 'tag' is missing".into()))
}

/// A manifest as readers get it: the bytes exactly as pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub id: i64,
    pub digest: String,
    pub media_type: String,
    pub bytes: String,
}

/// The statement of a manifest pull (permissions' `repository_access` with tags.sql
/// `read_by_digest` or `read_by_tag`): $4 is the digest or tag. Columns after the access ones
/// are read by [`manifest_of`].
pub fn manifest_read_statement(by_digest: bool) -> &'static str {
    const COLUMNS: &str = ", m.id, m.digest, mt.name, m.manifest_bytes";
    if by_digest {
        composed("tags.read_by_digest", || access_statement(COLUMNS, named(SQL, "read_by_digest")))
    } else {
        composed("tags.read_by_tag", || access_statement(COLUMNS, named(SQL, "read_by_tag")))
    }
}

/// The manifest in a [`manifest_read_statement`] row, if it found one.
pub fn manifest_of(r: &[Value]) -> Option<StoredManifest> {
    Some(StoredManifest {
        id: r.get(7)?.as_i64()?,
        digest: r.get(8)?.as_text()?.to_string(),
        media_type: r.get(9)?.as_text()?.to_string(),
        bytes: r.get(10)?.as_text()?.to_string(),
    })
}

/// A pull of a manifest in one statement: the repository, the caller's role on it and the
/// manifest `reference` names if something keeps it alive: by digest (it has a `:`) an alive tag
/// on it or on an index listing it, by tag the alive, visible tag's (none when `reference` is
/// `None`). The caller decides, from the first two, whether the third may be served.
pub fn manifest_read(
    ex: &mut dyn Executor,
    namespace: &str,
    name: &str,
    user_id: Option<i64>,
    reference: Option<&str>,
) -> CoreResult<Option<(RepositoryAccess, Option<StoredManifest>)>> {
    let mut params = access_params(namespace, name, user_id);
    let sql = match reference {
        Some(r) => {
            params.push(Value::text(r));
            manifest_read_statement(r.contains(':'))
        }
        None => repository_access_statement(),
    };
    let rows = run(ex, sql, &params)?;
    Ok(rows.first().and_then(|r| Some((access_of(r)?, reference.and_then(|_| manifest_of(r))))))
}

/// What a push recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    pub id: i64,
    pub digest: String,
    /// The OCI `subject` (the manifest is a referrer of it).
    pub subject: Option<String>,
}

/// A push: checks `bytes` against every manifest rule ([`CheckedManifest::check`]: digest,
/// `expected_digest`, document, `media_type` as declared), then records it
/// ([`manifest_put_checked`]). Refuses with a stable code, writing nothing in the caller's
/// transaction (a refusal after the first write, e.g. an immutable tag, needs the caller to roll
/// back, as every error does).
#[allow(clippy::too_many_arguments)]
pub fn manifest_put_bytes(
    ex: &mut dyn Executor,
    repository_id: i64,
    media_type: Option<&str>,
    bytes: &str,
    expected_digest: Option<&str>,
    temp_tag_expiration_s: Option<i64>,
    tags: &[String],
) -> CoreResult<PushedManifest> {
    let checked = CheckedManifest::check(bytes, media_type, expected_digest)?;
    manifest_put_checked(ex, repository_id, checked, temp_tag_expiration_s, tags)
}

/// Records a checked manifest in the repository: the manifest (or the existing one of that
/// digest) with its `manifestblob`, `manifestchild` and security-status rows once every
/// referenced blob is usable by the repository and every child is one of its manifests
/// ([`manifest_put`]), then points each of `tags` at it. `temp_tag_expiration_s`: a hidden
/// temporary tag for a push by digest (pointless with `tags`).
pub fn manifest_put_checked(
    ex: &mut dyn Executor,
    repository_id: i64,
    manifest: CheckedManifest,
    temp_tag_expiration_s: Option<i64>,
    tags: &[String],
) -> CoreResult<PushedManifest> {
    for tag in tags {
        check_tag_name(tag)?;
    }
    let m = manifest.into_new_manifest(repository_id, temp_tag_expiration_s);
    let id = manifest_put(ex, &m)?;
    for tag in tags {
        tag_set(ex, repository_id, tag, id, None)?;
    }
    Ok(PushedManifest { id, digest: m.digest, subject: m.subject_digest })
}

/// Creates the manifest (or returns the existing one of that digest) and its blob, child and
/// security-status rows, in the caller's transaction. Refuses unknown blobs and children; takes
/// the other facts as given (see [`manifest_put_bytes`] for a push).
pub fn manifest_put(ex: &mut dyn Executor, m: &NewManifest) -> CoreResult<i64> {
    let repo = Value::Int(m.repository_id);
    check_digest("manifest digest", &m.digest)?;
    for d in m.blob_digests.iter().chain(&m.child_digests).chain(&m.config_digest).chain(&m.subject_digest) {
        check_digest("referenced digest", d)?;
    }
    // The namespace's quota lock before any other lock or row of this push (lock order: quota,
    // then the repository's tag lock, then rows), so pushes and GC never wait on each other in
    // a circle. The state is checked under the tag lock: a push by digest (no tag) must not land
    // after a change to read-only either.
    crate::quota::lock_for_write(ex, m.repository_id)?;
    lock_tags_writable(ex, m.repository_id)?;

    if let Some(id) = q_int(ex, "manifest_by_digest", &[repo.clone(), Value::text(&m.digest)])? {
        protect(ex, m, id)?;
        return Ok(id);
    }

    let media_type = q_int(ex, "media_type_id", &[Value::text(&m.media_type)])?
        .ok_or_else(|| invalid(Rule::MediaTypeUnknown, format!("unknown media type {:?}", m.media_type)))?;

    // Every blob (config included) must already be linked to the repository: one statement for
    // all of them (a manifest may list thousands of layers).
    let mut digests: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for digest in m.config_digest.iter().chain(&m.blob_digests) {
        if seen.insert(digest.as_str()) {
            digests.push(digest);
        }
    }
    let mut blob_ids: Vec<i64> = Vec::new();
    if !digests.is_empty() {
        let rows = q(
            ex,
            "usable_blobs",
            &[
                repo.clone(),
                Value::text(json_array(digests.iter().copied())),
                Value::text(EMPTY_LAYER_DIGEST),
            ],
        )?;
        let mut found = std::collections::HashSet::new();
        for r in &rows {
            if let (Some(d), Some(id)) =
                (r.first().and_then(Value::as_text), r.get(1).and_then(Value::as_i64))
            {
                found.insert(d.to_string());
                if !blob_ids.contains(&id) {
                    blob_ids.push(id);
                }
            }
        }
        if let Some(missing) = digests.iter().find(|d| !found.contains(**d)) {
            return Err(invalid(
                Rule::BlobUnknown,
                format!("blob {missing} is not known to repository {}", m.repository_id),
            ));
        }
    }
    let mut child_ids: Vec<i64> = Vec::new();
    for digest in &m.child_digests {
        let id = q_int(ex, "manifest_by_digest", &[repo.clone(), Value::text(digest)])?.ok_or_else(|| {
            invalid(
                Rule::ManifestUnknown,
                format!("child manifest {digest} is not in repository {}", m.repository_id),
            )
        })?;
        if !child_ids.contains(&id) {
            child_ids.push(id);
        }
    }

    let inserted = q(
        ex,
        "insert_manifest",
        &[
            repo.clone(),
            Value::text(&m.digest),
            Value::Int(media_type),
            Value::text(&m.manifest_bytes),
            Value::opt_text(m.config_media_type.as_deref()),
            Value::opt_int(m.layers_compressed_size),
            Value::opt_text(m.subject_digest.as_deref()),
            Value::opt_text(m.artifact_type.as_deref()),
        ],
    )?;
    let Some(id) = first_int(&inserted) else {
        // A concurrent push of the same digest committed first: use its row.
        let id = q_int(ex, "manifest_by_digest", &[repo, Value::text(&m.digest)])?
            .ok_or_else(|| CoreError::Database("manifest vanished after a conflicting insert".into()))?;
        protect(ex, m, id)?;
        return Ok(id);
    };
    if !blob_ids.is_empty() {
        let ids: Vec<String> = blob_ids.iter().map(i64::to_string).collect();
        q(
            ex,
            "insert_manifest_blobs",
            &[repo.clone(), Value::Int(id), Value::text(json_array(ids.iter().map(String::as_str)))],
        )?;
    }
    for child in child_ids {
        q(ex, "insert_manifest_child", &[repo.clone(), Value::Int(id), Value::Int(child)])?;
    }
    q(ex, "insert_security_status", &[Value::Int(id), repo])?;
    // The storage totals change with the blob rows, and the quota may refuse the manifest.
    crate::quota::manifest_added(ex, m.repository_id, id)?;
    protect(ex, m, id)?;
    Ok(id)
}

/// Referrers (a subject) get a non-expiring hidden tag; other manifests the temp tag asked for.
fn protect(ex: &mut dyn Executor, m: &NewManifest, manifest_id: i64) -> CoreResult<()> {
    if m.subject_digest.is_some() {
        temporary_tag(ex, m.repository_id, manifest_id, None)
    } else if let Some(s) = m.temp_tag_expiration_s {
        if !(0..=10 * 365 * 86_400).contains(&s) {
            return Err(invalid(Rule::InvalidArgument, format!("temp tag expiration {s}s is out of range")));
        }
        temporary_tag(ex, m.repository_id, manifest_id, Some(s))
    } else {
        Ok(())
    }
}

/// Quay's `create_temporary_tag_if_necessary`: a hidden `$temp-<uuid>` tag ending after
/// `expiration_s` (never, for `None`), unless some tag already keeps the manifest that long.
pub fn temporary_tag(
    ex: &mut dyn Executor,
    repository_id: i64,
    manifest_id: i64,
    expiration_s: Option<i64>,
) -> CoreResult<()> {
    let now = now_ms(ex)?;
    let end = expiration_s.map(|s| now + s * 1000);
    let keep_until = end.unwrap_or(i64::MAX);
    if q_int(ex, "tag_keeping_alive", &[Value::Int(manifest_id), Value::Int(keep_until)])?.is_some() {
        return Ok(());
    }
    let name = format!("$temp-{}", ex.uuid4());
    insert_tag(
        ex,
        &NewTag { name: &name, repository_id, manifest_id, start: now, end, hidden: true, reversion: false },
    )?;
    Ok(())
}

/// A tag generation to insert.
struct NewTag<'a> {
    name: &'a str,
    repository_id: i64,
    manifest_id: i64,
    start: i64,
    end: Option<i64>,
    hidden: bool,
    reversion: bool,
}

fn insert_tag(ex: &mut dyn Executor, t: &NewTag) -> CoreResult<i64> {
    let kind = tag_kind(ex)?;
    let rows = q(
        ex,
        "insert_tag",
        &[
            Value::text(t.name),
            Value::Int(t.repository_id),
            Value::Int(t.manifest_id),
            Value::Int(t.start),
            Value::opt_int(t.end),
            Value::Bool(t.hidden),
            Value::Bool(t.reversion),
            Value::Int(kind),
        ],
    )?;
    first_int(&rows).ok_or_else(|| CoreError::Database("tag insert returned no id".into()))
}

/// The time of a new event on a tag name: the wall clock, pushed strictly past the name's latest
/// start and latest past end.
fn name_clock(ex: &mut dyn Executor, repository_id: i64, name: &str) -> CoreResult<i64> {
    let clock = now_ms(ex)?;
    let rows = q(ex, "name_clock", &[Value::Int(repository_id), Value::text(name), Value::Int(clock)])?;
    let row = rows.first();
    let at = |i: usize| row.and_then(|r| r.get(i)).and_then(Value::as_i64);
    Ok([Some(clock), at(0).map(|s| s + 1), at(1).map(|e| e + 1)].into_iter().flatten().max().unwrap_or(clock))
}

struct AliveTag {
    id: i64,
    manifest_id: i64,
    immutable: bool,
}

fn alive_tag(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    now: i64,
) -> CoreResult<Option<AliveTag>> {
    let rows = q(ex, "alive_tag", &[Value::Int(repository_id), Value::text(name), Value::Int(now)])?;
    Ok(rows.first().and_then(|r| {
        Some(AliveTag {
            id: r.first()?.as_i64()?,
            manifest_id: r.get(1)?.as_i64()?,
            immutable: r.get(2)?.as_bool()?,
        })
    }))
}

/// Takes the repository's tag lock, then checks the repository still takes writes. The check
/// runs under the lock that [`crate::repositories::set_state`] also takes, so once a state change
/// to read-only has committed no tag write can commit after it.
fn lock_tags_writable(ex: &mut dyn Executor, repository_id: i64) -> CoreResult<()> {
    lock(ex, &crate::repositories::tag_lock_key(repository_id))?;
    require_writable_repository(ex, repository_id)
}

/// Cosign's tag schema: `sha256-<hex>.sig|.att|.sbom`.
fn is_cosign_tag(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("sha256-") else { return false };
    let Some((hex, suffix)) = rest.split_once('.') else { return false };
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && matches!(suffix, "sig" | "att" | "sbom")
}

/// Ends the alive generation `tag` of `name` at `now`, with Quay's side effects: its
/// notification-success rows go, and Cosign siblings of the displaced digest expire when no other
/// visible tag keeps that manifest.
fn end_generation(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    tag: &AliveTag,
    now: i64,
    new_manifest: Option<i64>,
) -> CoreResult<()> {
    q(ex, "delete_tag_notifications", &[Value::Int(tag.id)])?;
    q(ex, "end_tag", &[Value::Int(tag.id), Value::Int(now)])?;
    if new_manifest == Some(tag.manifest_id) || is_cosign_tag(name) {
        return Ok(());
    }
    let others = q_int(
        ex,
        "other_tag_on_manifest",
        &[Value::Int(repository_id), Value::Int(tag.manifest_id), Value::Int(tag.id), Value::Int(now)],
    )?;
    if others.is_some() {
        return Ok(());
    }
    let digest = q(ex, "manifest_in_repository", &[Value::Int(tag.manifest_id), Value::Int(repository_id)])?;
    let Some(hex) = digest
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_text)
        .and_then(|d| d.strip_prefix("sha256:"))
    else {
        return Ok(());
    };
    let hex = hex.to_string();
    for suffix in ["sig", "att", "sbom"] {
        let sibling = format!("sha256-{hex}.{suffix}");
        let at = name_clock(ex, repository_id, &sibling)?;
        if let Some(s) = alive_tag(ex, repository_id, &sibling, at)?
            && !s.immutable
        {
            q(ex, "delete_tag_notifications", &[Value::Int(s.id)])?;
            q(ex, "end_tag", &[Value::Int(s.id), Value::Int(at)])?;
        }
    }
    Ok(())
}

fn check_tag_name(name: &str) -> CoreResult<()> {
    if names::is_valid_tag(name) {
        Ok(())
    } else {
        Err(invalid(
            Rule::TagNameInvalid,
            format!("tag name {name:?} must match [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"),
        ))
    }
}

fn retarget(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    manifest_id: i64,
    expires_at_ms: Option<i64>,
    reversion: bool,
) -> CoreResult<i64> {
    lock_tags_writable(ex, repository_id)?;
    let now = name_clock(ex, repository_id, name)?;
    if let Some(end) = expires_at_ms
        && end <= now
    {
        return Err(invalid(
            Rule::InvalidArgument,
            format!("expiration {end} ms is not in the future ({now})"),
        ));
    }
    if let Some(current) = alive_tag(ex, repository_id, name, now)? {
        if current.immutable {
            return Err(invalid(Rule::TagImmutable, format!("tag {name:?} is immutable")));
        }
        end_generation(ex, repository_id, name, &current, now, Some(manifest_id))?;
    }
    insert_tag(
        ex,
        &NewTag {
            name,
            repository_id,
            manifest_id,
            start: now,
            end: expires_at_ms,
            hidden: false,
            reversion,
        },
    )
}

/// Points `name` at `manifest_id` (create or move): ends the alive generation and inserts the new
/// one atomically. Returns the new tag id.
pub fn tag_set(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    manifest_id: i64,
    expires_at_ms: Option<i64>,
) -> CoreResult<i64> {
    check_tag_name(name)?;
    require_writable_repository(ex, repository_id)?;
    if q(ex, "manifest_in_repository", &[Value::Int(manifest_id), Value::Int(repository_id)])?.is_empty() {
        return Err(invalid(
            Rule::ManifestUnknown,
            format!("manifest {manifest_id} is not in repository {repository_id}"),
        ));
    }
    retarget(ex, repository_id, name, manifest_id, expires_at_ms, false)
}

/// Ends the alive generation of `name` (recoverable inside the namespace's time-machine window).
/// `false` when the name has no alive tag.
pub fn tag_delete(ex: &mut dyn Executor, repository_id: i64, name: &str) -> CoreResult<bool> {
    check_tag_name(name)?;
    lock_tags_writable(ex, repository_id)?;
    let now = name_clock(ex, repository_id, name)?;
    let Some(current) = alive_tag(ex, repository_id, name, now)? else { return Ok(false) };
    if current.immutable {
        return Err(invalid(Rule::TagImmutable, format!("tag {name:?} is immutable")));
    }
    q(ex, "delete_tag_pull_statistics", &[Value::Int(repository_id), Value::text(name)])?;
    end_generation(ex, repository_id, name, &current, now, None)?;
    Ok(true)
}

/// The id of manifest `digest` in the repository, else `QUAY_MANIFEST_UNKNOWN`.
fn manifest_id(ex: &mut dyn Executor, repository_id: i64, digest: &str) -> CoreResult<i64> {
    q_int(ex, "manifest_by_digest", &[Value::Int(repository_id), Value::text(digest)])?.ok_or_else(|| {
        invalid(Rule::ManifestUnknown, format!("manifest {digest} is not in repository {repository_id}"))
    })
}

/// Deletes the manifest `digest` for every reader: ends every alive tag on it at once, visible,
/// hidden and temporary alike (visible ones recoverable inside the time-machine window, as
/// [`tag_delete`]), so it is no longer served by tag or by digest; GC removes it later. Refuses
/// (changing nothing) when one of those tags is immutable. Returns how many tags it ended;
/// `QUAY_MANIFEST_UNKNOWN` when the repository has no such manifest.
pub fn manifest_delete(ex: &mut dyn Executor, repository_id: i64, digest: &str) -> CoreResult<i64> {
    check_digest("manifest digest", digest)?;
    require_writable_repository(ex, repository_id)?;
    let manifest = manifest_id(ex, repository_id, digest)?;
    lock_tags_writable(ex, repository_id)?;
    let now = now_ms(ex)?;
    let rows =
        q(ex, "alive_tags_of_manifest", &[Value::Int(repository_id), Value::Int(manifest), Value::Int(now)])?;
    let tags: Vec<(i64, String, bool, bool)> = rows
        .iter()
        .filter_map(|r| {
            Some((
                r.first()?.as_i64()?,
                r.get(1)?.as_text()?.to_string(),
                r.get(2)?.as_bool()?,
                r.get(3)?.as_bool()?,
            ))
        })
        .collect();
    if let Some((_, name, _, _)) = tags.iter().find(|t| t.3) {
        return Err(invalid(Rule::TagImmutable, format!("tag {name:?} on {digest} is immutable")));
    }
    for (id, name, hidden, _) in &tags {
        let at = name_clock(ex, repository_id, name)?;
        if *hidden {
            q(ex, "delete_tag_notifications", &[Value::Int(*id)])?;
            q(ex, "end_tag", &[Value::Int(*id), Value::Int(at)])?;
        } else {
            let tag = AliveTag { id: *id, manifest_id: manifest, immutable: false };
            q(ex, "delete_tag_pull_statistics", &[Value::Int(repository_id), Value::text(name)])?;
            end_generation(ex, repository_id, name, &tag, at, None)?;
        }
    }
    Ok(i64::try_from(tags.len()).unwrap_or(i64::MAX))
}

/// Points `name` back at the manifest `digest` it had inside the time-machine window
/// (a new generation with `reversion = true`). Returns the new tag id.
pub fn tag_restore(ex: &mut dyn Executor, repository_id: i64, name: &str, digest: &str) -> CoreResult<i64> {
    check_tag_name(name)?;
    check_digest("manifest digest", digest)?;
    require_writable_repository(ex, repository_id)?;
    let manifest = manifest_id(ex, repository_id, digest)?;
    let window_s = q_int(ex, "namespace_window", &[Value::Int(repository_id)])?.unwrap_or(0);
    let now = now_ms(ex)?;
    let restorable = q_int(
        ex,
        "restorable_generation",
        &[
            Value::Int(repository_id),
            Value::text(name),
            Value::Int(manifest),
            Value::Int(now - window_s * 1000),
        ],
    )?;
    if restorable.is_none() {
        return Err(invalid(
            Rule::TagNotRestorable,
            format!("tag {name:?} never pointed at {digest} inside the {window_s}s time-machine window"),
        ));
    }
    retarget(ex, repository_id, name, manifest, None, true)
}

fn tag_unknown(name: &str) -> crate::exec::CoreError {
    invalid(Rule::TagUnknown, format!("no alive tag {name:?}"))
}

/// Changes when the alive tag `name` expires, in place (Quay's `change_tag_expiration`: no new
/// generation): `expires_at_ms` must lie in the future, `None` clears it. `QUAY_TAG_UNKNOWN`
/// without an alive tag. The log (Quay's `change_tag_expiration`) gets the old end as
/// `old_expiration_date` (ms). Returns the old end.
pub fn tag_set_expiration(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    expires_at_ms: Option<i64>,
    log: Option<&LogEntry>,
) -> CoreResult<Option<i64>> {
    check_tag_name(name)?;
    lock_tags_writable(ex, repository_id)?;
    let now = now_ms(ex)?;
    let current = alive_tag(ex, repository_id, name, now)?.ok_or_else(|| tag_unknown(name))?;
    if current.immutable {
        return Err(invalid(Rule::TagImmutable, format!("tag {name:?} is immutable")));
    }
    if let Some(end) = expires_at_ms
        && end <= now
    {
        return Err(invalid(
            Rule::InvalidArgument,
            format!("expiration {end} ms is not in the future ({now})"),
        ));
    }
    let old = q(ex, "tag_end_of", &[Value::Int(current.id)])?
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_i64);
    q(ex, "end_tag", &[Value::Int(current.id), Value::opt_int(expires_at_ms)])?;
    let log = log.map(|l| l.derive(&l.kind, serde_json::json!({ "old_expiration_date": old })));
    logs::record_for_repository(ex, repository_id, log.as_ref())?;
    Ok(old)
}

/// Points tag `name` at the repository's manifest `digest` (create or move, [`tag_set`]); the
/// log (Quay's `create_tag`) gets the digest it pointed at before as `original_manifest_digest`.
/// Returns that digest.
pub fn tag_point(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    digest: &str,
    log: Option<&LogEntry>,
) -> CoreResult<Option<String>> {
    check_tag_name(name)?;
    check_digest("manifest digest", digest)?;
    let manifest = manifest_id(ex, repository_id, digest)?;
    let now = now_ms(ex)?;
    let before = match alive_tag(ex, repository_id, name, now)? {
        Some(t) => q(ex, "tag_end_of", &[Value::Int(t.id)])?
            .first()
            .and_then(|r| r.get(1))
            .and_then(Value::as_text)
            .map(str::to_string),
        None => None,
    };
    tag_set(ex, repository_id, name, manifest, None)?;
    let log = log.map(|l| l.derive(&l.kind, serde_json::json!({ "original_manifest_digest": before })));
    logs::record_for_repository(ex, repository_id, log.as_ref())?;
    Ok(before)
}

/// [`tag_delete`] with its log in the same transaction; `QUAY_TAG_UNKNOWN` without an alive tag.
pub fn tag_delete_logged(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if !tag_delete(ex, repository_id, name)? {
        return Err(tag_unknown(name));
    }
    logs::record_for_repository(ex, repository_id, log)
}

/// [`tag_restore`] with its log in the same transaction.
pub fn tag_restore_logged(
    ex: &mut dyn Executor,
    repository_id: i64,
    name: &str,
    digest: &str,
    log: Option<&LogEntry>,
) -> CoreResult<i64> {
    let id = tag_restore(ex, repository_id, name, digest)?;
    logs::record_for_repository(ex, repository_id, log)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_tag_names() {
        let hex = "a".repeat(64);
        assert!(is_cosign_tag(&format!("sha256-{hex}.sig")));
        assert!(is_cosign_tag(&format!("sha256-{hex}.sbom")));
        assert!(!is_cosign_tag(&format!("sha256-{hex}.txt")));
        assert!(!is_cosign_tag("sha256-abc.sig"));
        assert!(!is_cosign_tag("latest"));
    }
}
