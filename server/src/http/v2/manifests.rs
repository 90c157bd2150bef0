//! Manifests on `/v2`: `GET`/`HEAD`/`PUT`/`DELETE /v2/<repo>/manifests/<tag|digest>`. The stored
//! bytes are served exactly as pushed. Each handler parses the request, calls one operation of
//! `ops::manifests` and renders; the rules are the core's (`quay.manifest_put`), which writes
//! nothing when it refuses.

use super::access::{self, Action, authorize};
use super::{AppState, RepoName};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::manifests::{self, ManifestError};
use crate::store::StoreError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;

type Result<T> = std::result::Result<T, Response>;

fn err(code: Code) -> Response {
    RegistryError::new(code).into_response()
}

/// The answer to a refused manifest operation; `reference` is the tag or digest of the request.
fn manifest_err(reference: &str, e: ManifestError) -> Response {
    match e {
        ManifestError::DigestInvalid => err(Code::DigestInvalid),
        ManifestError::TagInvalid(m) => RegistryError::detail(Code::TagInvalid, m).into_response(),
        ManifestError::Invalid(m) => RegistryError::detail(Code::ManifestInvalid, m).into_response(),
        // A child manifest the repository lacks is, for the spec, a reference it cannot resolve.
        ManifestError::Store(StoreError::Rule { code: Rule::ManifestUnknown, message }) => {
            RegistryError::detail(Code::ManifestBlobUnknown, message).into_response()
        }
        ManifestError::Store(StoreError::Rule { code: Rule::TagImmutable, .. }) => {
            RegistryError::detail(Code::TagImmutable, format!("tag '{reference}' is immutable"))
                .into_response()
        }
        ManifestError::Store(e) => RegistryError::from(e).into_response(),
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Who the request is, for the action logs.
fn actor(state: &AppState, caller: &crate::ops::access::Caller, req: &Request) -> manifests::Actor {
    manifests::Actor {
        user_id: caller.user_id,
        username: caller.username().map(str::to_string),
        origin: crate::http::origin::of(req, &state.trusted_proxies),
    }
}

pub async fn get(
    state: &AppState,
    repo: &RepoName,
    reference: &str,
    req: Request,
    head: bool,
) -> Result<Response> {
    let caller = access::caller_of(&req);
    let actor = actor(state, &caller, &req);
    let m = manifests::read(state, &caller, &actor, repo, reference)
        .await
        .map_err(|e| match e {
            manifests::ReadError::Denied(d) => access::denied(state, d),
            manifests::ReadError::Manifest(e) => manifest_err(reference, e),
        })?
        .ok_or_else(|| err(Code::ManifestUnknown))?;
    let len = m.bytes.len();
    let mut resp = if head { Body::empty().into_response() } else { Body::from(m.bytes).into_response() };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&m.media_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert("Docker-Content-Digest", header_value(&m.digest));
    h.insert(header::ETAG, header_value(&format!("\"{}\"", m.digest)));
    Ok(resp)
}

pub async fn put(state: &AppState, repo: &RepoName, reference: &str, req: Request) -> Result<Response> {
    let caller = access::caller_of(&req);
    let actor = actor(state, &caller, &req);
    let (_, found) = authorize(state, caller, repo, Action::Push).await?;
    // OCI distribution 1.1: a push by digest may name tags to set with it (`?tag=a&tag=b`).
    let query_tags: Vec<String> = super::token::query_pairs(req.uri().query())
        .into_iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v)
        .collect();
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let limit = usize::try_from(state.config.maximum_manifest_bytes()).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.downcast_ref::<http_body_util::LengthLimitError>().is_some());
        let e = if too_large {
            RegistryError::detail(
                Code::ManifestInvalid,
                format!("manifest is larger than the limit of {limit} bytes"),
            )
            .status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            // Shorter than its Content-Length, or the client stopped sending.
            RegistryError::detail(Code::ManifestInvalid, format!("the manifest body could not be read: {e}"))
        };
        // The rest of the body is not read: the connection cannot be reused.
        e.with_header("connection", HeaderValue::from_static("close")).into_response()
    })?;
    let pushed =
        manifests::push(state, repo, found.id, reference, content_type, &bytes, query_tags.clone(), &actor)
            .await
            .map_err(|e| manifest_err(reference, e))?;
    let digest = pushed.digest;
    let mut resp = (StatusCode::CREATED, "").into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, header_value(&format!("/v2/{}/manifests/{digest}", repo.full())));
    h.insert("Docker-Content-Digest", header_value(&digest));
    if let Some(s) = pushed.subject {
        h.insert("OCI-Subject", header_value(&s));
    }
    for t in &query_tags {
        h.append("OCI-Tag", header_value(t));
    }
    Ok(resp)
}

pub(crate) fn pushes_disabled() -> Response {
    RegistryError::new(Code::Denied)
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .message("Pushes to the registry are currently disabled. Please contact the administrator for more information.")
        .into_response()
}

/// Deleting a digest ends every alive tag on it, hidden ones too, in one transaction; deleting a
/// tag ends that tag. Both are restorable through the time machine. 202 either way; 404 when
/// nothing kept it alive.
pub async fn delete(state: &AppState, repo: &RepoName, reference: &str, req: Request) -> Result<Response> {
    let (_, found) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    if !manifests::delete(state, found.id, reference).await.map_err(|e| manifest_err(reference, e))? {
        return Err(err(Code::ManifestUnknown));
    }
    Ok((StatusCode::ACCEPTED, "").into_response())
}
