//! Blob uploads on `/v2`: `POST /v2/<repo>/blobs/uploads/` (session, monolithic `?digest=`,
//! cross-repository `?mount=[&from=]`), `PATCH` (chunked or streamed, in order), `PUT ?digest=`
//! (finish), `GET` (status) and `DELETE` (cancel). Each handler parses the request, calls one
//! operation of `ops::uploads` and renders its answer.

use super::access::{self, Action, authorize};
use super::token::query_pairs;
use super::{AppState, RepoName, base_url};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::OpError;
use crate::ops::uploads::{self, UploadError};
use crate::storage::ByteStream;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;

type Result<T> = std::result::Result<T, Response>;

fn op_err(e: OpError) -> Response {
    RegistryError::from(e).into_response()
}

/// The registry's answer to a refused upload step.
fn upload_err(state: &AppState, repo: &RepoName, uuid: &str, e: UploadError) -> Response {
    match e {
        UploadError::Unknown => RegistryError::new(Code::BlobUploadUnknown).into_response(),
        UploadError::RangeMismatch { byte_count } => {
            session_response(state, StatusCode::RANGE_NOT_SATISFIABLE, repo, uuid, byte_count)
        }
        UploadError::TooLarge => RegistryError::new(Code::TooLarge)
            .message(format!("blob exceeds MAXIMUM_LAYER_SIZE ({})", state.config.maximum_layer_size))
            .with_header("connection", HeaderValue::from_static("close"))
            .into_response(),
        UploadError::Client(e) => {
            RegistryError::detail(Code::BlobUploadInvalid, format!("request body failed: {e}"))
                .into_response()
        }
        UploadError::DigestInvalid => RegistryError::new(Code::DigestInvalid).into_response(),
        UploadError::DigestMismatch { expected, actual } => RegistryError::detail(
            Code::DigestInvalid,
            format!("uploaded content has digest {actual}, not {expected}"),
        )
        .into_response(),
        UploadError::Unresumable => {
            RegistryError::detail(Code::BlobUploadInvalid, "the upload's hash state is not resumable here")
                .into_response()
        }
        UploadError::Op(e) => op_err(e),
    }
}

fn body_stream(req: Request) -> ByteStream {
    Box::pin(req.into_body().into_data_stream().map(|r| r.map_err(std::io::Error::other)))
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
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
    if let Some(why) = uploads::quota_refusal(state, target.id).await.map_err(op_err)? {
        return Err(RegistryError::detail(Code::Denied, why)
            .message(crate::http::registry_error::QUOTA_EXCEEDED)
            .into_response());
    }
    let pairs = query_pairs(req.uri().query());
    if let Some(digest) = param(&pairs, "mount")
        && uploads::mount(state, &caller, target.id, digest, param(&pairs, "from")).await.map_err(op_err)?
    {
        return Ok(created(state, repo, digest));
    }
    if let Some(digest) = param(&pairs, "digest").map(str::to_string) {
        uploads::monolithic(state, target.id, &digest, body_stream(req))
            .await
            .map_err(|e| upload_err(state, repo, "", e))?;
        return Ok(created(state, repo, &digest));
    }
    let uuid = uploads::begin(state, target.id).await.map_err(op_err)?;
    Ok(session_response(state, StatusCode::ACCEPTED, repo, &uuid, 0))
}

/// `Content-Range: <start>-<end>` (Quay's form, no unit); `bytes <start>-<end>[/size]` is also
/// read. Only the start matters: a request must continue the upload where it stands.
#[allow(clippy::result_large_err)] // the error is the answer, built once per request
fn content_start(headers: &HeaderMap) -> std::result::Result<Option<u64>, Response> {
    let invalid = || RegistryError::detail(Code::InvalidRequest, "Invalid range header").into_response();
    let Some(v) = headers.get(header::CONTENT_RANGE) else { return Ok(None) };
    let v = v.to_str().map_err(|_| invalid())?;
    parse_content_range(v).map(Some).ok_or_else(invalid)
}

/// The start of a `Content-Range` value (`<start>-<end>`, or `bytes <start>-<end>[/size]`);
/// `None` when it is malformed or ends before it starts.
pub fn parse_content_range(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("bytes ").unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    let (a, b) = v.split_once('-')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (b >= a).then_some(a)
}

pub async fn patch(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let start = content_start(req.headers())?;
    let len = uploads::append(state, target.id, uuid, start, body_stream(req))
        .await
        .map_err(|e| upload_err(state, repo, uuid, e))?;
    Ok(session_response(state, StatusCode::ACCEPTED, repo, uuid, len))
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
    let start = content_start(req.headers())?;
    uploads::finish(state, target.id, uuid, start, &digest, body_stream(req))
        .await
        .map_err(|e| upload_err(state, repo, uuid, e))?;
    Ok(created(state, repo, &digest))
}

pub async fn status(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let len = uploads::status(state, target.id, uuid).await.map_err(|e| upload_err(state, repo, uuid, e))?;
    Ok(session_response(state, StatusCode::NO_CONTENT, repo, uuid, len))
}

pub async fn cancel(state: &AppState, repo: &RepoName, uuid: &str, req: Request) -> Result<Response> {
    let (_, target) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    uploads::cancel(state, target.id, uuid).await.map_err(|e| upload_err(state, repo, uuid, e))?;
    Ok((StatusCode::NO_CONTENT, "").into_response())
}
