//! Blob uploads as operations, without HTTP: open a session, mount a blob from another
//! repository, receive a monolithic blob, append a piece, finish, read the status, cancel.
//!
//! The running hash is saved in the `blobupload` row after every piece (`registry::hasher`), so
//! any pod can continue an upload. Each request writes its bytes to a piece of its own and
//! records it with a compare-and-swap on the row, so racing requests cannot mix bytes: the loser's
//! piece is dropped ([`UploadError::RangeMismatch`]). A blob becomes visible only after its digest
//! verified over the recorded pieces and [`super::blobs::commit_upload`] placed the object (never
//! replacing a stored one) and linked it under the digest lock (docs/blob-lifecycle.md).

use super::access::{self, Action, Caller};
use super::blobs::{self, Link};
use super::repositories::RepoName;
use super::{Context, OpError};
use crate::registry::hasher::{Algorithm, Hasher};
use crate::storage::{ByteStream, WriteError, piece_name};
use crate::store::StoreError;
use crate::store::uploads::Upload;
use futures_util::StreamExt as _;
use quay_core::permissions::Role;
use quay_core::rules::Rule;

#[derive(Debug)]
pub enum UploadError {
    /// No such upload session in the repository.
    Unknown,
    /// The request does not continue the upload at its recorded length, or another request
    /// recorded a piece first.
    RangeMismatch {
        byte_count: i64,
    },
    /// The blob would exceed `MAXIMUM_LAYER_SIZE`.
    TooLarge,
    /// The client stopped sending.
    Client(std::io::Error),
    /// Not a sha256/sha512 digest.
    DigestInvalid,
    /// The received bytes have another digest (the upload is removed).
    DigestMismatch {
        expected: String,
        actual: String,
    },
    /// The saved hash state was written by another implementation.
    Unresumable,
    Op(OpError),
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        UploadError::Op(OpError::Store(e))
    }
}

impl From<OpError> for UploadError {
    fn from(e: OpError) -> Self {
        UploadError::Op(e)
    }
}

fn link<'a>(ctx: &'a Context, repository_id: i64, digest: &'a str) -> Link<'a> {
    Link {
        repository_id,
        digest,
        location: &ctx.location,
        link_expiration_s: i64::try_from(ctx.config.push_temp_tag_expiration_sec).unwrap_or(3600),
    }
}

/// Quay's check before an upload starts (`FEATURE_QUOTA_MANAGEMENT` and `FEATURE_VERIFY_QUOTA`):
/// `Some(why)` when the repository's namespace is already past a `Reject` limit. (The manifest
/// that would pass it is refused by the core whatever the flags say.)
pub async fn quota_refusal(ctx: &Context, repository_id: i64) -> Result<Option<String>, OpError> {
    if !(ctx.config.feature_quota_management.0 && ctx.config.feature_verify_quota.0) {
        return Ok(None);
    }
    Ok(ctx.store.quota_check(repository_id).await?)
}

/// Opens an upload session in the repository; returns its uuid.
pub async fn begin(ctx: &Context, repository_id: i64) -> Result<String, OpError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let fresh = Hasher::new(Algorithm::Sha256).save();
    ctx.store.upload_create(repository_id, &uuid, &fresh, &ctx.location).await?;
    Ok(uuid)
}

/// Mounts `digest` into the repository if the caller may read it where it is (in `from` when
/// named, else in any repository holding it) and its object is still stored; `false` means the
/// client should upload it instead.
pub async fn mount(
    ctx: &Context,
    caller: &Caller,
    repository_id: i64,
    digest: &str,
    from: Option<&str>,
) -> Result<bool, OpError> {
    if !quay_core::names::is_valid_digest(digest) {
        return Ok(false);
    }
    let candidates: Vec<i64> = match from {
        Some(from) => {
            let Some(src) = RepoName::parse(from, ctx.library()) else { return Ok(false) };
            match access::authorize(ctx, caller, &src, Action::Pull).await {
                Ok(r) => vec![r.id],
                Err(_) => return Ok(false),
            }
        }
        // A credential without limits and no configured role: one query over the grants.
        None if caller.limit == crate::auth::credentials::Limit::Unlimited
            && access::configured_role(ctx, caller.username(), caller.limit).is_none() =>
        {
            ctx.store.readable_repository_with_blob(caller.user_id, digest).await?.into_iter().collect()
        }
        // Delegate and OAuth tokens, configured superusers: their limits decide, per candidate.
        None => {
            let mut readable = Vec::new();
            for id in ctx.store.repositories_with_blob(digest).await? {
                let role =
                    access::effective_role(ctx, caller.user_id, caller.username(), caller.limit, id).await?;
                if role >= Some(Role::Read) {
                    readable.push(id);
                    break;
                }
            }
            readable
        }
    };
    for id in candidates {
        if ctx.store.blob_lookup(id, digest).await?.is_some() {
            return blobs::link_stored(&ctx.store, &ctx.storage, link(ctx, repository_id, digest)).await;
        }
    }
    Ok(false)
}

/// Writes `body` to a new `piece` of upload `uuid` (continuing at `offset`).
async fn receive(
    ctx: &Context,
    uuid: &str,
    piece: &str,
    offset: u64,
    body: ByteStream,
    hasher: &mut Hasher,
) -> Result<u64, UploadError> {
    let max = ctx.config.maximum_layer_bytes();
    ctx.storage.upload_write(uuid, piece, offset, body, hasher, max).await.map_err(|e| match e {
        WriteError::TooLarge => UploadError::TooLarge,
        WriteError::Client(e) => UploadError::Client(e),
        WriteError::Storage(e) => UploadError::Op(OpError::Storage(e)),
    })
}

/// Verifies, stores and links a finished upload of `pieces`. A wrong digest or a failure removes
/// the upload's objects.
#[allow(clippy::too_many_arguments)] // the upload's facts, as the one call that ends it needs them
async fn commit(
    ctx: &Context,
    repository_id: i64,
    uuid: &str,
    session: Option<&Upload>,
    pieces: &[String],
    expected: &str,
    actual: String,
    size: u64,
) -> Result<(), UploadError> {
    if actual != expected {
        // The session ends with the refusal (as the spec's conformance tests expect), if it is
        // still as this request left it.
        let ended = match session {
            Some(up) => ctx.store.upload_claim(up).await?,
            None => true,
        };
        if ended {
            let _ = ctx.storage.upload_cancel(uuid).await;
        }
        return Err(UploadError::DigestMismatch { expected: expected.to_string(), actual });
    }
    let link = link(ctx, repository_id, expected);
    match blobs::commit_upload(&ctx.store, &ctx.storage, uuid, session, pieces, size, link).await {
        Ok(_) => {
            if let Err(e) = ctx.storage.upload_cancel(uuid).await {
                // Committed; the sweep removes what is left of the pieces.
                tracing::warn!(%uuid, error = %e, "upload pieces not removed");
            }
            Ok(())
        }
        Err(OpError::Store(StoreError::Rule { code: Rule::UploadChanged, .. })) => {
            // Another request finished, cancelled or advanced the session: its pieces are
            // theirs now, and this request says where the session is.
            Err(match ctx.store.upload(repository_id, uuid).await? {
                Some(now) => UploadError::RangeMismatch { byte_count: now.byte_count },
                None => UploadError::Unknown,
            })
        }
        Err(e) => {
            let Some(up) = session else {
                // A single request's pieces are nobody's.
                let _ = ctx.storage.upload_cancel(uuid).await;
                return Err(e.into());
            };
            // Another request may have ended or advanced the session meanwhile (and removed its
            // pieces, which is how placing can fail): then say where the session is. Else it is
            // still as this request saw it (its transaction rolled back): the client may finish
            // again, so the pieces stay.
            Err(session_moved_on(ctx, repository_id, uuid, up).await?.unwrap_or(e.into()))
        }
    }
}

/// Receives a whole blob in one request (`POST …/uploads/?digest=`) and commits it.
pub async fn monolithic(
    ctx: &Context,
    repository_id: i64,
    digest: &str,
    body: ByteStream,
) -> Result<(), UploadError> {
    let alg = Algorithm::of_digest(digest)
        .filter(|_| quay_core::names::is_valid_digest(digest))
        .ok_or(UploadError::DigestInvalid)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut hasher = Hasher::new(alg);
    let piece = piece_name(0);
    let size = match receive(ctx, &uuid, &piece, 0, body, &mut hasher).await {
        Ok(n) => n,
        Err(e) => {
            let _ = ctx.storage.upload_cancel(&uuid).await;
            return Err(e);
        }
    };
    let pieces = if size == 0 {
        let _ = ctx.storage.upload_cancel(&uuid).await;
        Vec::new()
    } else {
        vec![piece]
    };
    commit(ctx, repository_id, &uuid, None, &pieces, digest, hasher.digest(), size).await
}

/// Loads an upload and checks that a request starting at `start` (when the client said) continues it.
async fn resume(
    ctx: &Context,
    repository_id: i64,
    uuid: &str,
    start: Option<u64>,
) -> Result<(Upload, Hasher), UploadError> {
    let up = ctx.store.upload(repository_id, uuid).await?.ok_or(UploadError::Unknown)?;
    if start.is_some_and(|s| i64::try_from(s).unwrap_or(i64::MAX) != up.byte_count) {
        return Err(UploadError::RangeMismatch { byte_count: up.byte_count });
    }
    let hasher = up.sha_state.as_deref().and_then(Hasher::restore).ok_or(UploadError::Unresumable)?;
    Ok((up, hasher))
}

/// Writes `body` to a piece of its own and records it if the upload is still as `up` says; a
/// concurrent writer loses and its piece is dropped. Returns the upload as recorded now.
async fn record(
    ctx: &Context,
    uuid: &str,
    up: Upload,
    hasher: &mut Hasher,
    body: ByteStream,
) -> Result<Upload, UploadError> {
    let from = up.byte_count;
    let piece = piece_name(u64::try_from(from).unwrap_or(0));
    let to = receive(ctx, uuid, &piece, u64::try_from(from).unwrap_or(0), body, hasher).await?;
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    let sha_state = hasher.save();
    let recorded = to != from && ctx.store.upload_advance(&up, &piece, to, &sha_state).await?;
    if !recorded {
        let _ = ctx.storage.upload_discard_piece(uuid, &piece).await;
        if to != from {
            return Err(UploadError::RangeMismatch { byte_count: from });
        }
        return Ok(up);
    }
    let mut pieces = up.pieces;
    pieces.push(piece);
    Ok(Upload {
        id: up.id,
        byte_count: to,
        sha_state: Some(sha_state),
        chunk_count: up.chunk_count + 1,
        pieces,
    })
}

/// Appends a request body (`PATCH`), starting at `start` when the client said. Returns the
/// upload's length now.
pub async fn append(
    ctx: &Context,
    repository_id: i64,
    uuid: &str,
    start: Option<u64>,
    body: ByteStream,
) -> Result<i64, UploadError> {
    let (up, mut hasher) = resume(ctx, repository_id, uuid, start).await?;
    Ok(record(ctx, uuid, up, &mut hasher, body).await?.byte_count)
}

/// Appends the last body (possibly empty) and finishes the upload as `digest` (`PUT ?digest=`):
/// exactly one finisher ends the session, verifies the digest over the recorded pieces (re-read
/// when the digest's algorithm is not the running hash's) and commits the blob.
pub async fn finish(
    ctx: &Context,
    repository_id: i64,
    uuid: &str,
    start: Option<u64>,
    digest: &str,
    body: ByteStream,
) -> Result<(), UploadError> {
    if !quay_core::names::is_valid_digest(digest) {
        return Err(UploadError::DigestInvalid);
    }
    let (up, mut hasher) = resume(ctx, repository_id, uuid, start).await?;
    let up = record(ctx, uuid, up, &mut hasher, body).await?;
    let size = u64::try_from(up.byte_count).unwrap_or(0);
    let actual = match Algorithm::of_digest(digest) {
        Some(alg) if alg != hasher.algorithm() => match rehash(ctx, uuid, &up.pieces, size, alg).await {
            Ok(d) => d,
            Err(e) => return Err(session_moved_on(ctx, repository_id, uuid, &up).await?.unwrap_or(e.into())),
        },
        _ => hasher.digest(),
    };
    commit(ctx, repository_id, uuid, Some(&up), &up.pieces, digest, actual, size).await
}

/// The digest with algorithm `alg` of an upload's first `size` bytes, read back from its pieces.
async fn rehash(
    ctx: &Context,
    uuid: &str,
    pieces: &[String],
    size: u64,
    alg: Algorithm,
) -> Result<String, OpError> {
    let mut h = Hasher::new(alg);
    let mut s = ctx.storage.upload_read(uuid, pieces, size).await.map_err(OpError::Storage)?;
    while let Some(chunk) = s.next().await {
        h.update(&chunk.map_err(|e| OpError::Storage(e.into()))?);
    }
    Ok(h.digest())
}

/// What to answer when a finish failed because another request ended or advanced the session
/// meanwhile (and removed its pieces): where the session is now. `None` while the session is
/// still as this request saw it.
async fn session_moved_on(
    ctx: &Context,
    repository_id: i64,
    uuid: &str,
    up: &Upload,
) -> Result<Option<UploadError>, UploadError> {
    Ok(match ctx.store.upload(repository_id, uuid).await? {
        None => Some(UploadError::Unknown),
        Some(now) if now.byte_count != up.byte_count || now.chunk_count != up.chunk_count => {
            Some(UploadError::RangeMismatch { byte_count: now.byte_count })
        }
        Some(_) => None,
    })
}

/// The upload's recorded length.
pub async fn status(ctx: &Context, repository_id: i64, uuid: &str) -> Result<i64, UploadError> {
    Ok(ctx.store.upload(repository_id, uuid).await?.ok_or(UploadError::Unknown)?.byte_count)
}

/// Ends the session and removes its objects.
pub async fn cancel(ctx: &Context, repository_id: i64, uuid: &str) -> Result<(), UploadError> {
    if !ctx.store.upload_delete(repository_id, uuid).await? {
        return Err(UploadError::Unknown);
    }
    ctx.storage.upload_cancel(uuid).await.map_err(OpError::Storage)?;
    Ok(())
}
