//! Manifests: `GET`/`HEAD`/`PUT`/`DELETE /v2/<repo>/manifests/<tag|digest>`. The stored bytes are
//! served exactly as pushed. A push hands the bytes, the `Content-Type`, the digest it was pushed
//! by and its tags to the core (`quay.manifest_put` / `quay_core::tags::manifest_put_checked`),
//! which computes the digest, validates the document, checks what it references and records it,
//! or refuses with a stable code and writes nothing; this module maps the codes to OCI errors.

use super::access::{self, Action, authorize};
use super::{AppState, RepoName};
use crate::http::registry_error::{Code, RegistryError};
use crate::store::StoreError;
use crate::store::registry::ManifestPush;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quay_core::exec::CoreError;
use quay_core::rules::Rule;

type Result<T> = std::result::Result<T, Response>;

fn err(code: Code) -> Response {
    RegistryError::new(code).into_response()
}

fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

pub async fn get(
    state: &AppState,
    repo: &RepoName,
    reference: &str,
    req: Request,
    head: bool,
) -> Result<Response> {
    let (_, found) = authorize(state, access::caller_of(&req), repo, Action::Pull).await?;
    let store = &state.store;
    let m = if is_digest(reference) {
        if !quay_core::names::is_valid_digest(reference) {
            return Err(err(Code::DigestInvalid));
        }
        store.manifest_by_digest(found.id, reference).await
    } else {
        // No manifest can have an invalid tag: unknown, as the spec's conformance tests and
        // Quay expect (a PUT with one is refused with TAG_INVALID).
        if !quay_core::names::is_valid_tag(reference) {
            return Err(err(Code::ManifestUnknown));
        }
        store.manifest_by_tag(found.id, reference).await
    }
    .map_err(|e| RegistryError::from(e).into_response())?
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

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn invalid(message: impl Into<String>) -> Response {
    RegistryError::detail(Code::ManifestInvalid, message).into_response()
}

pub async fn put(state: &AppState, repo: &RepoName, reference: &str, req: Request) -> Result<Response> {
    let (_, found) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let by_digest = is_digest(reference);
    // OCI distribution 1.1: a push by digest may name tags to set with it (`?tag=a&tag=b`).
    let query_tags: Vec<String> = super::token::query_pairs(req.uri().query())
        .into_iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v)
        .collect();
    if query_tags.iter().any(|t| !quay_core::names::is_valid_tag(t)) || (!by_digest && !query_tags.is_empty())
    {
        return Err(RegistryError::detail(
            Code::TagInvalid,
            "tag query parameters need a valid tag each and a push by digest",
        )
        .into_response());
    }
    if by_digest {
        if !quay_core::names::is_valid_digest(reference) {
            return Err(err(Code::DigestInvalid));
        }
    } else if !quay_core::names::is_valid_tag(reference) {
        return Err(err(Code::TagInvalid));
    }
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
    let text = match quay_core::manifests::manifest_text(&bytes) {
        Ok(text) => text.to_string(),
        Err(CoreError::Invalid { message, .. }) => return Err(invalid(message)),
        Err(e) => return Err(invalid(e.to_string())),
    };
    drop(bytes);
    // The core checks everything else (digest, document, media type, what it references) and
    // records the manifest and its tags in one transaction, or nothing.
    let push = ManifestPush {
        repository_id: found.id,
        content_type,
        bytes: text,
        expected_digest: by_digest.then(|| reference.to_string()),
        temp_tag_expiration_s: (by_digest && query_tags.is_empty())
            .then(|| i64::try_from(state.config.push_temp_tag_expiration_sec).unwrap_or(3600)),
        tags: if by_digest { query_tags.clone() } else { vec![reference.to_string()] },
    };
    let pushed = state.store.manifest_push(push).await.map_err(|e| match e {
        // A child manifest the repository lacks is, for the spec, a reference it cannot resolve.
        StoreError::Rule { code: Rule::ManifestUnknown, message } => {
            RegistryError::detail(Code::ManifestBlobUnknown, message).into_response()
        }
        StoreError::Rule { code: Rule::TagImmutable, .. } => {
            RegistryError::detail(Code::TagImmutable, format!("tag '{reference}' is immutable"))
                .into_response()
        }
        other => RegistryError::from(other).into_response(),
    })?;
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

/// Deleting a digest ends every alive tag on it, hidden ones too, in one transaction
/// (`quay.manifest_delete`), so no reader sees it any more; deleting a tag ends that tag. Both
/// are restorable through the time machine. 202 either way; 404 when nothing kept it alive.
pub async fn delete(state: &AppState, repo: &RepoName, reference: &str, req: Request) -> Result<Response> {
    let (_, found) = authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    let store = &state.store;
    let to_store = |e: StoreError| RegistryError::from(e).into_response();
    let deleted = if is_digest(reference) {
        if !quay_core::names::is_valid_digest(reference) {
            return Err(err(Code::DigestInvalid));
        }
        match store.manifest_delete(found.id, reference).await {
            Ok(n) => n > 0,
            Err(StoreError::Rule { code: Rule::ManifestUnknown, .. }) => false,
            Err(e) => return Err(to_store(e)),
        }
    } else {
        if !quay_core::names::is_valid_tag(reference) {
            return Err(err(Code::TagInvalid));
        }
        store.tag_delete(found.id, reference).await.map_err(to_store)?
    };
    if !deleted {
        return Err(err(Code::ManifestUnknown));
    }
    Ok((StatusCode::ACCEPTED, "").into_response())
}
