//! Content objects and their rows under one protocol, so that a blob's object exists exactly
//! while some `imagestorage` row names it (quay-data-model.md §5; docs/blob-lifecycle.md):
//!
//! - an object is placed (or found already there) and its row committed while holding the
//!   digest lock (`Store::digest_lock`): [`commit_upload`], [`link_stored`] (mounts);
//! - an object is removed only while holding the digest lock, after checking that no row names
//!   it: [`delete_freed`] (after GC committed) and [`sweep`] (objects a crash left behind);
//! - content objects are written once: a finished upload of a digest already stored is
//!   discarded and the stored object kept.

use super::access::{self, Action, Caller, Denied};
use super::repositories::RepoName;
use super::{Context, OpError};
use crate::storage::{BlobStorage, Placed};
use crate::store::uploads::Upload;
use crate::store::{Store, StoreError};
use quay_core::gc::FreedBlob;
use quay_core::tags::EMPTY_LAYER_DIGEST;
use std::time::{Duration, SystemTime};

/// Where a finished upload goes.
pub struct Link<'a> {
    pub repository_id: i64,
    pub digest: &'a str,
    /// `imagestoragelocation` name of this storage.
    pub location: &'a str,
    /// How long the upload link keeps the blob for the repository (PUSH_TEMP_TAG_EXPIRATION_SEC).
    pub link_expiration_s: i64,
}

/// Makes a verified upload (its recorded `pieces`, `size` bytes) the content object of the
/// digest, unless one is already stored, and links it into the repository: for a `session`, in
/// the same transaction that ends it (`quay.upload_finish`), so the session is gone exactly when
/// the blob is linked; a session that moved on meanwhile fails with `QUAY_UPLOAD_CHANGED` and
/// links nothing. The upload's pieces stay for the caller to remove once this succeeded.
pub async fn commit_upload(
    store: &Store,
    storage: &BlobStorage,
    uuid: &str,
    session: Option<&Upload>,
    pieces: &[String],
    size: u64,
    link: Link<'_>,
) -> Result<Placed, OpError> {
    let lock = store.digest_lock(link.digest).await?;
    let result = async {
        let placed = storage.upload_place(uuid, pieces, link.digest, size).await.map_err(OpError::Storage)?;
        if placed == Placed::AlreadyStored {
            let have = storage.blob_size(link.digest).await.map_err(OpError::Storage)?;
            if have != Some(size) {
                // Never replaced: a wrong object is an operator's matter, not a client's.
                tracing::error!(
                    digest = link.digest,
                    ?have,
                    size,
                    "stored content object has the wrong size"
                );
            }
        }
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let (repo, digest, location, exp) =
            (link.repository_id, link.digest, link.location, link.link_expiration_s);
        match session {
            Some(up) => store.upload_finish(&lock, up, repo, digest, size, location, exp).await?,
            None => store.blob_commit(&lock, repo, digest, size, location, exp).await?,
        };
        Ok(placed)
    }
    .await;
    lock.release().await;
    result
}

/// Links the already stored blob of the digest into the repository (a mount) if its object is
/// still in storage; `false` when it is not (the caller falls back to a normal upload).
pub async fn link_stored(store: &Store, storage: &BlobStorage, link: Link<'_>) -> Result<bool, OpError> {
    let lock = store.digest_lock(link.digest).await?;
    let result = async {
        let Some(size) = storage.blob_size(link.digest).await.map_err(OpError::Storage)? else {
            return Ok(false);
        };
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        store
            .blob_commit(&lock, link.repository_id, link.digest, size, link.location, link.link_expiration_s)
            .await?;
        Ok(true)
    }
    .await;
    lock.release().await;
    result
}

/// Where a blob a repository may serve is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// Not a blob of this repository (or its object is missing, which is logged).
    Unknown,
    /// The storage serves it directly from this URL (a presigned S3 GET).
    Redirect(String),
    /// Read it through [`BlobStorage::blob_read`]; `size` bytes.
    Stored { size: u64 },
}

/// Why a blob read is refused.
#[derive(Debug)]
pub enum ReadError {
    Denied(Denied),
    /// Not a sha256/sha512 digest (said only to callers who may read the repository).
    DigestInvalid,
    Op(OpError),
}

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> Self {
        ReadError::Op(OpError::Store(e))
    }
}

/// A pull of blob `digest` from `repo` by `caller`: the repository, the caller's role and the
/// blob in one store call (`quay.blob_read`), the decision of [`access::decide`], then where the
/// object is: a direct URL when `redirect` is allowed and the storage offers one, else its size.
pub async fn read(
    ctx: &Context,
    caller: &Caller,
    repo: &RepoName,
    digest: &str,
    redirect: bool,
) -> Result<Located, ReadError> {
    let valid = quay_core::names::is_valid_digest(digest);
    let found = ctx
        .store
        .blob_read(&repo.namespace, &repo.name, access::grant_user(caller), valid.then_some(digest))
        .await?;
    let (access, blob) = match found {
        Some((a, b)) => (Some(a), b),
        None => (None, None),
    };
    access::decide(ctx, caller, repo, Action::Pull, access).await.map_err(ReadError::Denied)?;
    if !valid {
        return Err(ReadError::DigestInvalid);
    }
    if blob.is_none() {
        return Ok(Located::Unknown);
    }
    locate_object(&ctx.storage, digest, redirect).await.map_err(ReadError::Op)
}

/// Where the object of a blob the repository may serve is.
async fn locate_object(storage: &BlobStorage, digest: &str, redirect: bool) -> Result<Located, OpError> {
    if redirect {
        match storage.direct_url(digest).await {
            Ok(Some(url)) => return Ok(Located::Redirect(url)),
            Ok(None) => {}
            Err(e) => tracing::warn!(%digest, error = %e, "no direct URL; streaming instead"),
        }
    }
    match storage.blob_size(digest).await.map_err(OpError::Storage)? {
        Some(size) => Ok(Located::Stored { size }),
        None => {
            tracing::error!(%digest, "blob is recorded but its object is missing from storage");
            Ok(Located::Unknown)
        }
    }
}

/// Removes the object of `digest` if no storage row names it, under its lock. `true` if removed.
async fn remove_if_unnamed(store: &Store, storage: &BlobStorage, digest: &str) -> Result<bool, OpError> {
    if digest == EMPTY_LAYER_DIGEST {
        return Ok(false);
    }
    let lock = store.digest_lock(digest).await?;
    let result = async {
        if store.checksum_stored(&lock, digest).await? {
            return Ok(false);
        }
        storage.delete_blob(digest).await.map_err(OpError::Storage)?;
        Ok(true)
    }
    .await;
    lock.release().await;
    result
}

/// Deletes the objects of blobs a committed GC freed, each only if no row (say, of a push that
/// committed meanwhile) names it again. A failure leaks an object for [`sweep`], never a row.
pub async fn delete_freed(store: &Store, storage: &BlobStorage, freed: Vec<FreedBlob>) -> usize {
    let mut removed = 0;
    for b in freed {
        match remove_if_unnamed(store, storage, &b.content_checksum).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, digest = %b.content_checksum, "could not delete a freed blob object")
            }
        }
    }
    removed
}

/// What a [`sweep`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub uploads: usize,
    pub objects: usize,
}

/// Removes what crashes leave behind, once older than `max_age` (BLOBUPLOAD_DELETION_DATE_THRESHOLD):
/// upload objects without a `blobupload` row (monolithic uploads cut off mid-way) and content
/// objects no storage row names (a crash between placing an object and committing its row, or
/// between GC's commit and its deletes). Safe beside pushes: young objects are left alone, and
/// content objects go only under their digest lock after the row check.
pub async fn sweep(store: &Store, storage: &BlobStorage, max_age: Duration) -> Result<Swept, OpError> {
    let cutoff = SystemTime::now().checked_sub(max_age).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut swept = Swept::default();
    for (uuid, modified) in storage.list_uploads().await.map_err(OpError::Storage)? {
        if modified > cutoff || store.upload_exists(&uuid).await? {
            continue;
        }
        storage.upload_cancel(&uuid).await.map_err(OpError::Storage)?;
        swept.uploads += 1;
    }
    for (digest, modified) in storage.list_content().await.map_err(OpError::Storage)? {
        if modified > cutoff || store.blob_named(&digest).await? {
            continue;
        }
        if remove_if_unnamed(store, storage, &digest).await? {
            swept.objects += 1;
        }
    }
    if swept != Swept::default() {
        tracing::info!(uploads = swept.uploads, objects = swept.objects, "storage sweep removed leftovers");
    }
    Ok(swept)
}
