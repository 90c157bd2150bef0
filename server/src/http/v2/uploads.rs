//! Blob uploads: `POST /v2/<repo>/blobs/uploads/` (session, monolithic `?digest=`, cross-repository
//! `?mount=[&from=]`), `PATCH` (chunked or streamed, in order), `PUT ?digest=` (finish), `GET`
//! (status) and `DELETE` (cancel). The running hash is saved in the `blobupload` row after every
//! chunk (see `registry::hasher`), so any pod can continue an upload. A blob becomes visible only
//! after its digest verified, its object is durable and `quay.blob_commit` linked it.

use super::access::{Action, authorize};
use super::manifests::pushes_disabled;
use super::token::query_pairs;
use super::{AppState, RepoName, base_url};
use crate::http::registry_error::{Code, RegistryError};
use crate::registry::hasher::{Algorithm, Hasher};
use crate::storage::{ByteStream, WriteError};
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
    if state.config.disable_pushes {
        return Err(pushes_disabled());
    }
    let (caller, target) = authorize(state, req.headers(), repo, Action::Push).await?;
    let pairs = query_pairs(req.uri().query());
    if let Some(digest) = param(&pairs, "mount").filter(|d| quay_core::names::is_valid_digest(d)) {
        if let Some(size) = mountable(state, req.headers(), &caller, param(&pairs, "from"), digest).await? {
            state
                .store
                .blob_commit(
                    target.id,
                    digest,
                    i64::try_from(size).unwrap_or(i64::MAX),
                    &state.location,
                    link_expiration(state),
                )
                .await
                .map_err(store_err)?;
            return Ok(created(state, repo, digest));
        }
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    if let Some(digest) = param(&pairs, "digest") {
        let digest = digest.to_string();
        let alg = Algorithm::of_digest(&digest)
            .filter(|_| quay_core::names::is_valid_digest(&digest))
            .ok_or_else(|| RegistryError::new(Code::DigestInvalid).into_response())?;
        state.storage.upload_begin(&uuid).await.map_err(internal)?;
        let mut hasher = Hasher::new(alg);
        let result = receive(state, &uuid, 0, body_stream(req), &mut hasher).await;
        let size = match result {
            Ok(n) => n,
            Err(resp) => {
                let _ = state.storage.upload_cancel(&uuid).await;
                return Err(resp);
            }
        };
        return commit(state, repo, target.id, &uuid, &digest, hasher.digest(), size).await;
    }
    state.storage.upload_begin(&uuid).await.map_err(internal)?;
    let fresh = Hasher::new(Algorithm::Sha256).save();
    state.store.upload_create(target.id, &uuid, &fresh, &state.location).await.map_err(store_err)?;
    Ok(session_response(state, StatusCode::ACCEPTED, repo, &uuid, 0))
}

/// The size of `digest` if the caller may mount it: from `from` when named (and readable), else
/// from any repository holding it that the caller can read. `None` → a normal upload session.
async fn mountable(
    state: &AppState,
    headers: &HeaderMap,
    caller: &super::access::Caller,
    from: Option<&str>,
    digest: &str,
) -> Result<Option<u64>> {
    let store = &state.store;
    let library = state.config.feature_library_support.0.then_some(state.config.library_namespace.as_str());
    let candidates: Vec<i64> = match from {
        Some(from) => {
            let Some(src) = RepoName::parse(from, library) else { return Ok(None) };
            match authorize(state, headers, &src, Action::Pull).await {
                Ok((_, r)) => vec![r.id],
                Err(_) => return Ok(None),
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
        if let Some(b) = store.blob_lookup(id, digest).await.map_err(store_err)? {
            let size = match b.size {
                Some(s) => u64::try_from(s).unwrap_or(0),
                None => state.storage.blob_size(digest).await.map_err(internal)?.unwrap_or(0),
            };
            return Ok(Some(size));
        }
    }
    Ok(None)
}

/// Writes a request body at `offset` of upload `uuid`, mapping failures to registry errors.
async fn receive(
    state: &AppState,
    uuid: &str,
    offset: u64,
    body: ByteStream,
    hasher: &mut Hasher,
) -> Result<u64> {
    let max = state.config.maximum_layer_bytes();
    state.storage.upload_write(uuid, offset, body, hasher, max).await.map_err(|e| match e {
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

/// Verifies, stores and links a finished upload. A wrong digest removes the upload.
async fn commit(
    state: &AppState,
    repo: &RepoName,
    repository_id: i64,
    uuid: &str,
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
    state.storage.upload_commit(uuid, expected, size).await.map_err(internal)?;
    let size = i64::try_from(size).unwrap_or(i64::MAX);
    state
        .store
        .blob_commit(repository_id, expected, size, &state.location, link_expiration(state))
        .await
        .map_err(store_err)?;
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
) -> Result<(crate::store::registry::Upload, Hasher)> {
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
        return Err(session_response(state, StatusCode::RANGE_NOT_SATISFIABLE, repo, uuid, up.byte_count));
    }
    let hasher = up.sha_state.as_deref().and_then(Hasher::restore).ok_or_else(|| {
        RegistryError::detail(Code::BlobUploadInvalid, "the upload's hash state is not resumable here")
            .into_response()
    })?;
    Ok((up, hasher))
}

/// Appends a request body and records the new length; a concurrent writer loses with 416.
async fn append(
    state: &AppState,
    repo: &RepoName,
    uuid: &str,
    up: &crate::store::registry::Upload,
    hasher: &mut Hasher,
    req: Request,
) -> Result<i64> {
    let from = up.byte_count;
    let to = receive(state, uuid, u64::try_from(from).unwrap_or(0), body_stream(req), hasher).await?;
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    if to != from && !state.store.upload_advance(up.id, from, to, &hasher.save()).await.map_err(store_err)? {
        return Err(session_response(state, StatusCode::RANGE_NOT_SATISFIABLE, repo, uuid, from));
    }
    Ok(to)
}

pub async fn patch(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    if state.config.disable_pushes {
        return Err(pushes_disabled());
    }
    let (_, target) = authorize(state, req.headers(), repo, Action::Push).await?;
    let (up, mut hasher) = resume(state, repo, target.id, uuid, req.headers()).await?;
    let to = append(state, repo, uuid, &up, &mut hasher, req).await?;
    Ok(session_response(state, StatusCode::ACCEPTED, repo, uuid, to))
}

pub async fn finish(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, req.headers(), repo, Action::Push).await?;
    let pairs = query_pairs(req.uri().query());
    let digest = param(&pairs, "digest")
        .filter(|d| quay_core::names::is_valid_digest(d))
        .map(str::to_string)
        .ok_or_else(|| {
            RegistryError::detail(Code::DigestInvalid, "a valid digest query parameter is required")
                .into_response()
        })?;
    let (up, mut hasher) = resume(state, repo, target.id, uuid, req.headers()).await?;
    let size = append(state, repo, uuid, &up, &mut hasher, req).await?;
    let size_u = u64::try_from(size).unwrap_or(0);
    let actual = match Algorithm::of_digest(&digest) {
        Some(alg) if alg != hasher.algorithm() => {
            let mut h = Hasher::new(alg);
            let mut s = state.storage.upload_read(uuid, size_u).await.map_err(internal)?;
            while let Some(chunk) = s.next().await {
                h.update(&chunk.map_err(internal)?);
            }
            h.digest()
        }
        _ => hasher.digest(),
    };
    let resp = commit(state, repo, target.id, uuid, &digest, actual, size_u).await;
    state.store.upload_delete(target.id, uuid).await.map_err(store_err)?;
    resp
}

pub async fn status(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, req.headers(), repo, Action::Push).await?;
    let up = state
        .store
        .upload(target.id, uuid)
        .await
        .map_err(store_err)?
        .ok_or_else(|| RegistryError::new(Code::BlobUploadUnknown).into_response())?;
    Ok(session_response(state, StatusCode::NO_CONTENT, repo, uuid, up.byte_count))
}

pub async fn cancel(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    if state.config.disable_pushes {
        return Err(pushes_disabled());
    }
    let (_, target) = authorize(state, req.headers(), repo, Action::Push).await?;
    if !state.store.upload_delete(target.id, uuid).await.map_err(store_err)? {
        return Err(RegistryError::new(Code::BlobUploadUnknown).into_response());
    }
    state.storage.upload_cancel(uuid).await.map_err(internal)?;
    Ok((StatusCode::NO_CONTENT, "").into_response())
}
