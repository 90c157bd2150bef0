//! Listings on `/v2`: `tags/list` (`n`, `last`), `_catalog` and the OCI 1.1 referrers API; the
//! pages come from `ops::catalog`, the handlers parse the query and render.

use super::access::{self, Action, authorize};
use super::token::query_pairs;
use super::{AppState, RepoName, base_url};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::catalog::{self, Page};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

type Result<T> = std::result::Result<T, Response>;

fn store_err(e: crate::store::StoreError) -> Response {
    RegistryError::from(e).into_response()
}

/// Page size: `n` clamped to `[0, cap]` where cap = max(`V2_PAGINATION_SIZE`, 100); no `n` = cap.
fn page_size(state: &AppState, n: Option<&str>) -> i64 {
    let cap = i64::from(state.config.v2_pagination_size.max(100));
    match n {
        None => cap,
        Some(v) => v.trim().parse::<i64>().map_or(cap, |n| n.clamp(0, cap)),
    }
}

fn link(url: String) -> HeaderValue {
    HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn encode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub async fn tags(state: &AppState, repo: &RepoName, req: Request) -> Result<Response> {
    let (_, found) = authorize(state, access::caller_of(&req), repo, Action::Pull).await?;
    let pairs = query_pairs(req.uri().query());
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let n = page_size(state, get("n"));
    let last = get("last").map(str::trim).unwrap_or("");
    let Page { names, more } = catalog::tags(state, found.id, last, n).await.map_err(store_err)?;
    let mut resp = Json(json!({"name": repo.full(), "tags": names})).into_response();
    if more && let Some(l) = names.last() {
        let url = format!("{}/v2/{}/tags/list?n={n}&last={}", base_url(state), repo.full(), encode(l));
        resp.headers_mut().insert(header::LINK, link(url));
    }
    Ok(resp)
}

/// `GET /v2/_catalog?n=&last=`: repositories the caller can read, by full name. Anonymous
/// callers see nothing unless `FEATURE_PUBLIC_CATALOG`; `last` is a repository name (the spec's
/// cursor, not Quay's encrypted page token).
pub async fn catalog(State(state): State<AppState>, req: Request) -> Response {
    let caller = access::caller_of(&req);
    let query = req.uri().query().map(str::to_string);
    match catalog_page(&state, &caller, query.as_deref()).await {
        Ok(r) | Err(r) => r,
    }
}

async fn catalog_page(state: &AppState, caller: &access::Caller, query: Option<&str>) -> Result<Response> {
    let pairs = query_pairs(query);
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let n = page_size(state, get("n")).max(1);
    let last = get("last").unwrap_or("");
    let Page { names, more } = catalog::page(state, caller, last, n).await.map_err(store_err)?;
    let mut resp = Json(json!({"repositories": names})).into_response();
    if more && let Some(l) = names.last() {
        let url = format!("{}/v2/_catalog?n={n}&last={}", base_url(state), encode(l));
        resp.headers_mut().insert(header::LINK, link(url));
    }
    Ok(resp)
}

/// `GET /v2/<repo>/referrers/<digest>[?artifactType=]`: an OCI index of the manifests whose
/// `subject` is the digest (an empty index for an unknown subject, as the spec requires).
pub async fn referrers(state: &AppState, repo: &RepoName, digest: &str, req: Request) -> Result<Response> {
    if !state.config.feature_referrers_api.0 {
        return Err(RegistryError::new(Code::NameUnknown)
            .message("referrers API is disabled")
            .into_response());
    }
    // A repository that does not exist yet has no referrers: an empty index for whoever may
    // learn that it does not exist (404 NAME_UNKNOWN from `authorize`).
    let found = match authorize(state, access::caller_of(&req), repo, Action::Pull).await {
        Ok((_, found)) => Some(found),
        Err(resp) if resp.status() == StatusCode::NOT_FOUND => None,
        Err(resp) => return Err(resp),
    };
    if !quay_core::names::is_valid_digest(digest) {
        return Err(RegistryError::new(Code::DigestInvalid).into_response());
    }
    let pairs = query_pairs(req.uri().query());
    let filter = pairs.iter().find(|(k, _)| k == "artifactType").map(|(_, v)| v.clone());
    let found = found.map(|f| f.id);
    let mut manifests = Vec::new();
    for r in catalog::referrers(state, found, digest, filter.as_deref()).await.map_err(store_err)? {
        let mut d = json!({"mediaType": r.media_type, "digest": r.digest, "size": r.size});
        if let Some(a) = r.artifact_type {
            d["artifactType"] = json!(a);
        }
        if let Some(a) = r.annotations {
            d["annotations"] = a;
        }
        manifests.push(d);
    }
    let body = json!({
        "schemaVersion": 2,
        "mediaType": quay_core::manifests::OCI_INDEX,
        "manifests": manifests,
    });
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(quay_core::manifests::OCI_INDEX));
    if filter.is_some() {
        h.insert("OCI-Filters-Applied", HeaderValue::from_static("artifactType"));
    }
    Ok(resp)
}
