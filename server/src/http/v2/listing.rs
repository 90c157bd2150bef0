//! Listings: `tags/list` (`n`, `last`), `_catalog` (what the caller may see, through
//! `quay.visible_repositories`) and the OCI 1.1 referrers API.

use super::access::{self, Action, authorize};
use super::token::query_pairs;
use super::{AppState, RepoName, base_url};
use crate::auth::credentials::Limit;
use crate::http::registry_error::{Code, RegistryError};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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
    let (_, found) = authorize(state, req.headers(), repo, Action::Pull).await?;
    let pairs = query_pairs(req.uri().query());
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let n = page_size(state, get("n"));
    let last = get("last").map(str::trim).unwrap_or("");
    let mut names = if n == 0 {
        Vec::new()
    } else {
        state.store.tag_names(found.id, last, n + 1).await.map_err(store_err)?
    };
    let more = names.len() as i64 > n;
    names.truncate(usize::try_from(n).unwrap_or(0));
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
pub async fn catalog(State(state): State<AppState>, headers: HeaderMap, req: Request) -> Response {
    match catalog_page(&state, &headers, req.uri().query()).await {
        Ok(r) | Err(r) => r,
    }
}

async fn catalog_page(state: &AppState, headers: &HeaderMap, query: Option<&str>) -> Result<Response> {
    let caller = access::caller(state, headers).await?;
    let pairs = query_pairs(query);
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let n = page_size(state, get("n")).max(1);
    let last = get("last").unwrap_or("");
    let mut names: Vec<String> = Vec::new();
    let public_catalog = state.config.feature_public_catalog.0;
    // A delegate token sees its repository; an OAuth token without a repository scope, only
    // what anyone may see.
    let everything = access::configured_role(state, caller.username(), caller.limit).is_some();
    let ids = match caller.limit {
        // Superusers with full access and global read-only superusers list every repository.
        _ if everything => state
            .store
            .repository_names(0, i64::MAX)
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
        Limit::Repository { id, role: Some(_) } => vec![id],
        Limit::Repository { .. } => Vec::new(),
        Limit::Scopes { max: None, .. } if public_catalog => {
            state.store.visible_repository_ids(None).await.map_err(store_err)?
        }
        Limit::Scopes { max: None, .. } => Vec::new(),
        _ if caller.user_id.is_some() || public_catalog => {
            state.store.visible_repository_ids(caller.user_id).await.map_err(store_err)?
        }
        _ => Vec::new(),
    };
    if let (Some(lo), Some(hi)) = (ids.first(), ids.last()) {
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        names = state
            .store
            .repository_names(*lo, *hi)
            .await
            .map_err(store_err)?
            .into_iter()
            .filter(|(id, _)| wanted.contains(id))
            .map(|(_, name)| name)
            .filter(|name| name.as_str() > last)
            .collect();
    }
    names.sort();
    let more = names.len() as i64 > n;
    names.truncate(usize::try_from(n).unwrap_or(0));
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
    let found = match authorize(state, req.headers(), repo, Action::Pull).await {
        Ok((_, found)) => Some(found),
        Err(resp) if resp.status() == StatusCode::NOT_FOUND => None,
        Err(resp) => return Err(resp),
    };
    if !quay_core::names::is_valid_digest(digest) {
        return Err(RegistryError::new(Code::DigestInvalid).into_response());
    }
    let pairs = query_pairs(req.uri().query());
    let filter = pairs.iter().find(|(k, _)| k == "artifactType").map(|(_, v)| v.clone());
    let mut manifests = Vec::new();
    let stored = match &found {
        Some(found) => state.store.referrers(found.id, digest).await.map_err(store_err)?,
        None => Vec::new(),
    };
    for r in stored {
        let doc: Value = serde_json::from_str(&r.bytes).unwrap_or(Value::Null);
        let artifact_type = r.artifact_type.clone().or(r.config_media_type.clone());
        if filter.is_some() && filter != artifact_type {
            continue;
        }
        let mut d = json!({"mediaType": r.media_type, "digest": r.digest, "size": r.bytes.len()});
        if let Some(a) = artifact_type {
            d["artifactType"] = json!(a);
        }
        if let Some(a) = doc.get("annotations").filter(|a| a.is_object()) {
            d["annotations"] = a.clone();
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
