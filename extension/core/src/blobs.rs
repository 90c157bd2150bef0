//! Blobs in repositories, written once for both backends (quay-data-model.md §4.7): recording a
//! stored blob and its temporary link into a repository, and finding a blob a repository may use.

use crate::exec::{CoreError, CoreResult, Executor, Value, composed, first_int, invalid, lock, named, run};
use crate::names;
use crate::permissions::{
    RepositoryAccess, access_of, access_params, access_statement, repository_access_statement,
};
use crate::repositories::{require_live_repository, require_writable_repository};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/blobs.sql");

/// The shared empty layer, visible in every repository (Quay's `get_shared_blob`).
pub const EMPTY_LAYER_DIGEST: &str =
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

/// A blob as a repository sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoBlob {
    pub storage_id: i64,
    pub size: Option<i64>,
}

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// The lock shared by blob creation and blob collection of one digest (Quay's
/// `BLOB_DELETE_<digest>`), so GC never deletes an object a commit is about to reference.
pub fn digest_lock_key(digest: &str) -> String {
    format!("quay:blob:{digest}")
}

/// Records that the object of `digest` (`size` bytes) is stored in `location` and links it to the
/// repository for `link_expiration_s` (Quay: `PUSH_TEMP_TAG_EXPIRATION_SEC`). Reuses the storage
/// row of that checksum. Returns the storage id.
pub fn blob_commit(
    ex: &mut dyn Executor,
    repository_id: i64,
    digest: &str,
    size: i64,
    location: &str,
    link_expiration_s: i64,
) -> CoreResult<i64> {
    if !names::is_valid_digest(digest) {
        return Err(invalid(Rule::DigestInvalid, format!("{digest:?} is not a sha256 or sha512 digest")));
    }
    if size < 0 || !(0..=10 * 365 * 86_400).contains(&link_expiration_s) {
        return Err(invalid(Rule::InvalidArgument, "size and link expiration must be non-negative"));
    }
    require_writable_repository(ex, repository_id)?;
    let location_id = first_int(&q(ex, "location_id", &[Value::text(location)])?).ok_or_else(|| {
        invalid(
            Rule::StorageLocationUnknown,
            format!("storage location {location:?} is not in imagestoragelocation"),
        )
    })?;
    lock(ex, &digest_lock_key(digest))?;
    let storage = match first_int(&q(ex, "storage_by_checksum", &[Value::text(digest)])?) {
        Some(id) => {
            q(ex, "fill_size", &[Value::Int(id), Value::Int(size)])?;
            id
        }
        None => {
            let uuid = ex.uuid4();
            first_int(&q(ex, "insert_storage", &[Value::text(uuid), Value::Int(size), Value::text(digest)])?)
                .ok_or_else(|| CoreError::Database("imagestorage insert returned no id".into()))?
        }
    };
    if q(ex, "placement", &[Value::Int(storage), Value::Int(location_id)])?.is_empty() {
        q(ex, "insert_placement", &[Value::Int(storage), Value::Int(location_id)])?;
    }
    q(ex, "insert_link", &[Value::Int(repository_id), Value::Int(storage), Value::Int(link_expiration_s)])?;
    Ok(storage)
}

/// The end of an upload session, in one transaction: the session row goes (only if it is still
/// at `byte_count` bytes in `chunk_count` pieces, else `QUAY_UPLOAD_CHANGED` and nothing
/// happens) and the verified blob is recorded and linked as [`blob_commit`] does. So a
/// finished upload is never both gone and unlinked, and two finishers never both succeed.
#[allow(clippy::too_many_arguments)]
pub fn upload_finish(
    ex: &mut dyn Executor,
    upload_id: i64,
    repository_id: i64,
    byte_count: i64,
    chunk_count: i64,
    digest: &str,
    size: i64,
    location: &str,
    link_expiration_s: i64,
) -> CoreResult<i64> {
    let params =
        [Value::Int(upload_id), Value::Int(repository_id), Value::Int(byte_count), Value::Int(chunk_count)];
    if q(ex, "upload_end", &params)?.is_empty() {
        return Err(invalid(
            Rule::UploadChanged,
            format!(
                "upload {upload_id} is not at {byte_count} bytes in {chunk_count} pieces (finished, cancelled or advanced meanwhile)"
            ),
        ));
    }
    blob_commit(ex, repository_id, digest, size, location, link_expiration_s)
}

/// The blob `digest` if the repository may use it (linked or in one of its manifests; the empty
/// layer everywhere). `None` for an unknown blob or a repository that is gone.
pub fn blob_lookup(ex: &mut dyn Executor, repository_id: i64, digest: &str) -> CoreResult<Option<RepoBlob>> {
    if !names::is_valid_digest(digest) || require_live_repository(ex, repository_id).is_err() {
        return Ok(None);
    }
    find(ex, repository_id, digest)
}

/// The subquery of the storage row of blob {digest} visible in repository {repository}.
fn visible(shared: bool, repository: &str, digest: &str) -> String {
    let name = if shared { "shared_blob" } else { "blob_in_repository" };
    format!(
        "({})",
        named(SQL, name).trim_end().replace("{repository}", repository).replace("{digest}", digest)
    )
}

/// The statement of a blob pull (permissions' `repository_access` with blobs.sql `read_blob`):
/// $4 is the digest; `shared` for the shared empty layer. Columns after the access ones are read
/// by [`blob_of`].
pub fn blob_read_statement(shared: bool) -> &'static str {
    let build = move || {
        let joins = named(SQL, "read_blob").replace("{visible}", &visible(shared, "r.id", "$4"));
        access_statement(", b.id, b.image_size", &joins)
    };
    if shared { composed("blobs.read_shared_blob", build) } else { composed("blobs.read_blob", build) }
}

/// The blob in a [`blob_read_statement`] row, if it found one.
pub fn blob_of(r: &[Value]) -> Option<RepoBlob> {
    Some(RepoBlob { storage_id: r.get(7)?.as_i64()?, size: r.get(8).and_then(Value::as_i64) })
}

/// A pull of a blob in one statement: the repository, the caller's role on it and the blob
/// `digest` if the repository may use it (none when `digest` is `None` or invalid). The caller
/// decides, from the first two, whether the third may be served.
pub fn blob_read(
    ex: &mut dyn Executor,
    namespace: &str,
    name: &str,
    user_id: Option<i64>,
    digest: Option<&str>,
) -> CoreResult<Option<(RepositoryAccess, Option<RepoBlob>)>> {
    let mut params = access_params(namespace, name, user_id);
    let digest = digest.filter(|d| names::is_valid_digest(d));
    let sql = match digest {
        Some(d) => {
            params.push(Value::text(d));
            blob_read_statement(d == EMPTY_LAYER_DIGEST)
        }
        None => repository_access_statement(),
    };
    let rows = run(ex, sql, &params)?;
    Ok(rows.first().and_then(|r| Some((access_of(r)?, digest.and_then(|_| blob_of(r))))))
}

/// [`blob_lookup`] for a repository already known to be live.
pub(crate) fn find(ex: &mut dyn Executor, repository_id: i64, digest: &str) -> CoreResult<Option<RepoBlob>> {
    let shared = digest == EMPTY_LAYER_DIGEST;
    let build = move || named(SQL, "blob_by_id").replace("{visible}", &visible(shared, "$1", "$2"));
    let sql =
        if shared { composed("blobs.shared_by_id", build) } else { composed("blobs.blob_by_id", build) };
    let rows = run(ex, sql, &[Value::Int(repository_id), Value::text(digest)])?;
    Ok(rows
        .first()
        .and_then(|r| Some(RepoBlob { storage_id: r.first()?.as_i64()?, size: r.get(1)?.as_i64() })))
}
