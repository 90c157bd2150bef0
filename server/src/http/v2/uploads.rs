//! Blob uploads: `POST /v2/<repo>/blobs/uploads/` (session, monolithic `?digest=`, cross-repository
//! `?mount=[&from=]`), `PATCH` (chunked or streamed, in order), `PUT ?digest=` (finish), `GET`
//! (status) and `DELETE` (cancel). The running hash is saved in the `blobupload` row after every
//! chunk (see `registry::hasher`), so any pod can continue an upload. Each request writes its bytes
//! to a piece of its own and records it with a compare-and-swap on the row, so racing requests
//! cannot mix bytes: the loser's piece is dropped and it answers 416. A blob becomes visible only
//! after its digest verified over the recorded pieces and `ops::blobs::commit_upload` placed the
//! object (never replacing a stored one) and linked it under the digest lock.

use super::access::{self, Action, authorize};
use super::token::query_pairs;
use super::{AppState, RepoName, base_url};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::OpError;
use crate::ops::blobs::{self, Link};
use crate::registry::hasher::{Algorithm, Hasher};
use crate::storage::{ByteStream, WriteError, piece_name};
use crate::store::registry::Upload;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use quay_core::permissions::Role;

type Result<T> = std::result::Result<T, Response>;

fn internal(e: impl std::fmt::Display + std::fmt::Debug) -> Response {
    tracing::error!(error = %e, detail = ?e, "upload failed");
    RegistryError::new(Code::Internal).into_response()
}

fn store_err(e: crate::store::StoreError) -> Response {
    RegistryError::from(e).into_response()
}

fn op_err(e: OpError) -> Response {
    match e {
        OpError::Store(e) => store_err(e),
        OpError::Storage(e) => internal(e),
    }
}

fn link<'a>(state: &'a AppState, repository_id: i64, digest: &'a str) -> Link<'a> {
    Link { repository_id, digest, location: &state.location, link_expiration_s: link_expiration(state) }
}

fn body_stream(req: Request) -> ByteStream {
    Box::pin(req.into_body().into_data_stream().map(|r| r.map_err(std::io::Error::other)))
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn link_expiration(state: &AppState) -> i64 {
    i64::try_from(state.config.push_temp_tag_expiration_sec).unwrap_or(3600)
}

/// `Range` of an upload's received bytes: `0-<last byte>` (`0-0` when empty).
fn received_range(byte_count: i64) -> String {
    format!("0-{}", (byte_count - 1).max(0))
}

fn session_response(
    state: &AppState,
    status: StatusCode,
    repo: &RepoName,
    uuid: &str,
    byte_count: i64,
) -> Response {
    let mut resp = (status, "").into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, hv(&format!("{}/v2/{}/blobs/uploads/{uuid}", base_url(state), repo.full())));
    h.insert(header::RANGE, hv(&received_range(byte_count)));
    h.insert("Docker-Upload-UUID", hv(uuid));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

fn created(state: &AppState, repo: &RepoName, digest: &str) -> Response {
    let mut resp = (StatusCode::CREATED, "").into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, hv(&format!("{}/v2/{}/blobs/{digest}", base_url(state), repo.full())));
    h.insert("Docker-Content-Digest", hv(digest));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub async fn start(state: &AppState, repo: &RepoName, req: Request) -> Result<Response> {
    let (caller, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let pairs = query_pairs(req.uri().query());
    if let Some(digest) = param(&pairs, "mount").filter(|d| quay_core::names::is_valid_digest(d))
        && mountable(state, &caller, param(&pairs, "from"), digest).await?
        && blobs::link_stored(&state.store, &state.storage, link(state, target.id, digest))
            .await
            .map_err(op_err)?
    {
        return Ok(created(state, repo, digest));
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    if let Some(digest) = param(&pairs, "digest") {
        let digest = digest.to_string();
        let alg = Algorithm::of_digest(&digest)
            .filter(|_| quay_core::names::is_valid_digest(&digest))
            .ok_or_else(|| RegistryError::new(Code::DigestInvalid).into_response())?;
        let mut hasher = Hasher::new(alg);
        let piece = piece_name(0);
        let result = receive(state, &uuid, &piece, 0, body_stream(req), &mut hasher).await;
        let size = match result {
            Ok(n) => n,
            Err(resp) => {
                let _ = state.storage.upload_cancel(&uuid).await;
                return Err(resp);
            }
        };
        let pieces = if size == 0 {
            let _ = state.storage.upload_cancel(&uuid).await;
            Vec::new()
        } else {
            vec![piece]
        };
        return commit(state, repo, target.id, &uuid, &pieces, &digest, hasher.digest(), size).await;
    }
    let fresh = Hasher::new(Algorithm::Sha256).save();
    state.store.upload_create(target.id, &uuid, &fresh, &state.location).await.map_err(store_err)?;
    Ok(session_response(state, StatusCode::ACCEPTED, repo, &uuid, 0))
}

/// Whether the caller may mount `digest`: from `from` when named (and readable), else from any
/// repository holding it that the caller can read. `false` → a normal upload session.
async fn mountable(
    state: &AppState,
    caller: &super::access::Caller,
    from: Option<&str>,
    digest: &str,
) -> Result<bool> {
    let store = &state.store;
    let library = state.library();
    let candidates: Vec<i64> = match from {
        Some(from) => {
            let Some(src) = RepoName::parse(from, library) else { return Ok(false) };
            match crate::ops::access::authorize(state, caller, &src, Action::Pull).await {
                Ok(r) => vec![r.id],
                Err(_) => return Ok(false),
            }
        }
        None => {
            let mut readable = Vec::new();
            for id in store.repositories_with_blob(digest).await.map_err(store_err)? {
                let role =
                    super::access::effective_role(state, caller.user_id, caller.username(), caller.limit, id)
                        .await
                        .map_err(store_err)?;
                if role >= Some(Role::Read) {
                    readable.push(id);
                    break;
                }
            }
            readable
        }
    };
    for id in candidates {
        if store.blob_lookup(id, digest).await.map_err(store_err)?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes a request body to a new `piece` of upload `uuid` (continuing at `offset`), mapping
/// failures to registry errors.
async fn receive(
    state: &AppState,
    uuid: &str,
    piece: &str,
    offset: u64,
    body: ByteStream,
    hasher: &mut Hasher,
) -> Result<u64> {
    let max = state.config.maximum_layer_bytes();
    state.storage.upload_write(uuid, piece, offset, body, hasher, max).await.map_err(|e| match e {
        WriteError::TooLarge => RegistryError::new(Code::TooLarge)
            .message(format!("blob exceeds MAXIMUM_LAYER_SIZE ({})", state.config.maximum_layer_size))
            .with_header("connection", HeaderValue::from_static("close"))
            .into_response(),
        WriteError::Client(e) => {
            RegistryError::detail(Code::BlobUploadInvalid, format!("request body failed: {e}"))
                .into_response()
        }
        WriteError::Storage(e) => internal(e),
    })
}

/// Verifies, stores and links a finished upload of `pieces`. A wrong digest or a failure
/// removes the upload's objects.
#[allow(clippy::too_many_arguments)]
async fn commit(
    state: &AppState,
    repo: &RepoName,
    repository_id: i64,
    uuid: &str,
    pieces: &[String],
    expected: &str,
    actual: String,
    size: u64,
) -> Result<Response> {
    if actual != expected {
        let _ = state.storage.upload_cancel(uuid).await;
        return Err(RegistryError::detail(
            Code::DigestInvalid,
            format!("uploaded content has digest {actual}, not {expected}"),
        )
        .into_response());
    }
    let committed = blobs::commit_upload(
        &state.store,
        &state.storage,
        uuid,
        pieces,
        size,
        link(state, repository_id, expected),
    )
    .await;
    if let Err(e) = committed {
        let _ = state.storage.upload_cancel(uuid).await;
        return Err(op_err(e));
    }
    Ok(created(state, repo, expected))
}

/// `Content-Range: <start>-<end>` (Quay's form, no unit); `bytes <start>-<end>[/size]` is also read.
fn content_range(headers: &HeaderMap) -> std::result::Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::CONTENT_RANGE) else { return Ok(None) };
    let v = v.to_str().map_err(|_| ())?.trim();
    let v = v.strip_prefix("bytes ").unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    let (a, b) = v.split_once('-').ok_or(())?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| ())?, b.parse().map_err(|_| ())?);
    if b < a {
        return Err(());
    }
    Ok(Some((a, b)))
}

/// Loads an upload and checks that a chunk starting at `Content-Range` continues it.
async fn resume(
    state: &AppState,
    repo: &RepoName,
    repository_id: i64,
    uuid: &str,
    headers: &HeaderMap,
) -> Result<(Upload, Hasher)> {
    let up = state
        .store
        .upload(repository_id, uuid)
        .await
        .map_err(store_err)?
        .ok_or_else(|| RegistryError::new(Code::BlobUploadUnknown).into_response())?;
    let range = content_range(headers)
        .map_err(|()| RegistryError::detail(Code::InvalidRequest, "Invalid range header").into_response())?;
    if let Some((start, _)) = range
        && i64::try_from(start).unwrap_or(i64::MAX) != up.byte_count
    {
        // Answered before the body is read: the connection cannot carry another request.
        let mut resp = session_response(state, StatusCode::RANGE_NOT_SATISFIABLE, repo, uuid, up.byte_count);
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(resp);
    }
    let hasher = up.sha_state.as_deref().and_then(Hasher::restore).ok_or_else(|| {
        RegistryError::detail(Code::BlobUploadInvalid, "the upload's hash state is not resumable here")
            .into_response()
    })?;
    Ok((up, hasher))
}

/// Writes a request body to a piece of its own and records it if the upload is still as `up`
/// says; a concurrent writer loses with 416 and its piece is dropped. Returns the upload as
/// recorded now.
async fn append(
    state: &AppState,
    repo: &RepoName,
    uuid: &str,
    up: Upload,
    hasher: &mut Hasher,
    req: Request,
) -> Result<Upload> {
    let from = up.byte_count;
    let piece = piece_name(u64::try_from(from).unwrap_or(0));
    let to = receive(state, uuid, &piece, u64::try_from(from).unwrap_or(0), body_stream(req), hasher).await?;
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    let sha_state = hasher.save();
    let recorded =
        to != from && state.store.upload_advance(&up, &piece, to, &sha_state).await.map_err(store_err)?;
    if !recorded {
        let _ = state.storage.upload_discard_piece(uuid, &piece).await;
        if to != from {
            return Err(session_response(state, StatusCode::RANGE_NOT_SATISFIABLE, repo, uuid, from));
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

pub async fn patch(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let (up, mut hasher) = resume(state, repo, target.id, uuid, req.headers()).await?;
    let up = append(state, repo, uuid, up, &mut hasher, req).await?;
    Ok(session_response(state, StatusCode::ACCEPTED, repo, uuid, up.byte_count))
}

pub async fn finish(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let pairs = query_pairs(req.uri().query());
    let digest = param(&pairs, "digest")
        .filter(|d| quay_core::names::is_valid_digest(d))
        .map(str::to_string)
        .ok_or_else(|| {
            RegistryError::detail(Code::DigestInvalid, "a valid digest query parameter is required")
                .into_response()
        })?;
    let (up, mut hasher) = resume(state, repo, target.id, uuid, req.headers()).await?;
    let up = append(state, repo, uuid, up, &mut hasher, req).await?;
    // Exactly one finisher ends the session; from here its pieces are this request's alone.
    if !state.store.upload_claim(&up).await.map_err(store_err)? {
        return Err(match state.store.upload(target.id, uuid).await.map_err(store_err)? {
            Some(now) => {
                session_response(state, StatusCode::RANGE_NOT_SATISFIABLE, repo, uuid, now.byte_count)
            }
            None => RegistryError::new(Code::BlobUploadUnknown).into_response(),
        });
    }
    let size = u64::try_from(up.byte_count).unwrap_or(0);
    let actual = match Algorithm::of_digest(&digest) {
        Some(alg) if alg != hasher.algorithm() => {
            let mut h = Hasher::new(alg);
            let mut s = state.storage.upload_read(uuid, &up.pieces, size).await.map_err(internal)?;
            while let Some(chunk) = s.next().await {
                h.update(&chunk.map_err(internal)?);
            }
            h.digest()
        }
        _ => hasher.digest(),
    };
    commit(state, repo, target.id, uuid, &up.pieces, &digest, actual, size).await
}

pub async fn status(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let up = state
        .store
        .upload(target.id, uuid)
        .await
        .map_err(store_err)?
        .ok_or_else(|| RegistryError::new(Code::BlobUploadUnknown).into_response())?;
    Ok(session_response(state, StatusCode::NO_CONTENT, repo, uuid, up.byte_count))
}

pub async fn cancel(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    if !state.store.upload_delete(target.id, uuid).await.map_err(store_err)? {
        return Err(RegistryError::new(Code::BlobUploadUnknown).into_response());
    }
    state.storage.upload_cancel(uuid).await.map_err(internal)?;
    Ok((StatusCode::NO_CONTENT, "").into_response())
}
