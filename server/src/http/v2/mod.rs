//! The OCI distribution API (`/v2`) and Quay's token endpoint (`/v2/auth`).
//!
//! - [`access`]: bearer tokens → caller, and the per-route permission check;
//! - [`token`]: `GET /v2/auth`;
//! - [`manifests`], [`blobs`], [`uploads`], [`listing`] (tags, catalog, referrers): the routes.
//!
//! Repository paths have any number of segments, so everything under `/v2/` that is not a fixed
//! route is parsed here by its last `/manifests/`, `/blobs/`, `/tags/list` or `/referrers/` part.

pub mod access;
pub mod blobs;
pub mod listing;
pub mod manifests;
pub mod token;
pub mod uploads;

use super::AppState;
use super::registry_error::{Code, RegistryError};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

/// `/v2`: the token endpoint (Basic credentials), and every other route behind the write gate
/// (read-only mode, disabled pushes) and the authentication layer; every answer carries
/// `Docker-Distribution-API-Version`.
pub fn routes(state: &AppState) -> Router<AppState> {
    let registry = Router::new()
        .route("/v2/", get(base))
        .route("/v2", get(base))
        .route("/v2/_catalog", get(listing::catalog))
        .route("/v2/{*path}", any(dispatch))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), access::authenticate))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), write_gate));
    Router::new()
        .route("/v2/auth", get(token::issue))
        .merge(registry)
        .layer(axum::middleware::map_response(api_version))
}

async fn api_version(mut resp: Response) -> Response {
    resp.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    resp
}

/// Writes (anything but GET and HEAD) are refused before authentication while the registry is
/// read-only (`REGISTRY_STATE: readonly`) or pushes are disabled (`DISABLE_PUSHES`), on every
/// write route alike (upload finish included).
async fn write_gate(State(state): State<AppState>, req: Request, next: axum::middleware::Next) -> Response {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        if state.config.read_only() {
            return RegistryError::read_only().into_response();
        }
        if state.config.disable_pushes {
            return manifests::pushes_disabled();
        }
    }
    next.run(req).await
}

pub use crate::ops::repositories::RepoName;

/// One `/v2/<repo>/…` route.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route<'a> {
    Manifest(&'a str, &'a str),
    Blob(&'a str, &'a str),
    UploadStart(&'a str),
    Upload(&'a str, &'a str),
    Tags(&'a str),
    Referrers(&'a str, &'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    if let Some(repo) = path.strip_suffix("/tags/list") {
        return Some(Route::Tags(repo));
    }
    if let Some(repo) = path.strip_suffix("/blobs/uploads/").or_else(|| path.strip_suffix("/blobs/uploads")) {
        return Some(Route::UploadStart(repo));
    }
    let split = |marker: &str| path.rfind(marker).map(|i| (&path[..i], &path[i + marker.len()..]));
    if let Some((repo, uuid)) = split("/blobs/uploads/").filter(|(_, u)| !u.is_empty() && !u.contains('/')) {
        return Some(Route::Upload(repo, uuid));
    }
    if let Some((repo, r)) = split("/manifests/").filter(|(_, r)| !r.is_empty() && !r.contains('/')) {
        return Some(Route::Manifest(repo, r));
    }
    if let Some((repo, d)) = split("/blobs/").filter(|(_, d)| !d.is_empty() && !d.contains('/')) {
        return Some(Route::Blob(repo, d));
    }
    if let Some((repo, d)) = split("/referrers/").filter(|(_, d)| !d.is_empty() && !d.contains('/')) {
        return Some(Route::Referrers(repo, d));
    }
    None
}

async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().strip_prefix("/v2/").unwrap_or("").to_string();
    let Some(r) = route(&path) else {
        return RegistryError::new(Code::NameUnknown).message("no such route").into_response();
    };
    let repo_path = match &r {
        Route::Manifest(p, _)
        | Route::Blob(p, _)
        | Route::UploadStart(p)
        | Route::Upload(p, _)
        | Route::Tags(p)
        | Route::Referrers(p, _) => *p,
    };
    let library = state.config.feature_library_support.0.then_some(state.config.library_namespace.as_str());
    let Some(repo) = RepoName::parse(repo_path, library) else {
        return RegistryError::new(Code::NameInvalid).into_response();
    };
    let method = req.method().clone();
    let result = match (r, method) {
        (Route::Manifest(_, reference), m) if m == Method::GET || m == Method::HEAD => {
            manifests::get(&state, &repo, reference, req, m == Method::HEAD).await
        }
        (Route::Manifest(_, reference), Method::PUT) => manifests::put(&state, &repo, reference, req).await,
        (Route::Manifest(_, reference), Method::DELETE) => {
            manifests::delete(&state, &repo, reference, req).await
        }
        (Route::Blob(_, digest), m) if m == Method::GET || m == Method::HEAD => {
            blobs::get(&state, &repo, digest, req, m == Method::HEAD).await
        }
        (Route::Blob(_, digest), Method::DELETE) => blobs::delete(&state, &repo, digest, req).await,
        (Route::UploadStart(_), Method::POST) => uploads::start(&state, &repo, req).await,
        (Route::Upload(_, uuid), Method::PATCH) => uploads::patch(&state, &repo, uuid, req).await,
        (Route::Upload(_, uuid), Method::PUT) => uploads::finish(&state, &repo, uuid, req).await,
        (Route::Upload(_, uuid), Method::GET) => uploads::status(&state, &repo, uuid, req).await,
        (Route::Upload(_, uuid), Method::DELETE) => uploads::cancel(&state, &repo, uuid, req).await,
        (Route::Tags(_), m) if m == Method::GET || m == Method::HEAD => {
            listing::tags(&state, &repo, req).await
        }
        (Route::Referrers(_, digest), Method::GET) => listing::referrers(&state, &repo, digest, req).await,
        _ => Err(RegistryError::new(Code::Unsupported).into_response()),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `WWW-Authenticate` as Quay sends it (no `error=` parameter).
pub fn challenge(state: &AppState, scope: Option<&str>) -> HeaderValue {
    let host = &state.config.server_hostname;
    let scheme = &state.config.preferred_url_scheme;
    let mut v = format!("Bearer realm=\"{scheme}://{host}/v2/auth\",service=\"{host}\"");
    if let Some(scope) = scope {
        v.push_str(&format!(",scope=\"{scope}\""));
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The registry's absolute URL prefix (`<scheme>://<SERVER_HOSTNAME>`).
pub fn base_url(state: &AppState) -> String {
    format!("{}://{}", state.config.preferred_url_scheme, state.config.server_hostname)
}

fn base_headers(state: &AppState) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::WWW_AUTHENTICATE, challenge(state, None));
    h.insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    let sparse = if state.config.feature_sparse_index.0 { "true" } else { "false" };
    h.insert("X-Sparse-Manifest-Support", HeaderValue::from_static(sparse));
    h
}

/// `GET /v2/`: 200 `true` for a valid token; 401 with a challenge (body `true`, as Quay) when no
/// credentials are sent, so clients discover the token endpoint; 404 when `FEATURE_ADVERTISE_V2`
/// is off.
async fn base(State(state): State<AppState>, req: Request) -> Response {
    if !state.config.feature_advertise_v2.0 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let h = base_headers(&state);
    let status =
        if access::caller_of(&req).token.is_some() { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    (status, h, [(header::CONTENT_TYPE, "application/json")], "true").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_last_marker() {
        assert_eq!(route("a/b/manifests/latest"), Some(Route::Manifest("a/b", "latest")));
        assert_eq!(route("a/manifests/x/manifests/v1"), Some(Route::Manifest("a/manifests/x", "v1")));
        assert_eq!(route("a/b/blobs/sha256:00"), Some(Route::Blob("a/b", "sha256:00")));
        assert_eq!(route("a/b/blobs/uploads/"), Some(Route::UploadStart("a/b")));
        assert_eq!(route("a/b/blobs/uploads/u-1"), Some(Route::Upload("a/b", "u-1")));
        assert_eq!(route("a/b/c/tags/list"), Some(Route::Tags("a/b/c")));
        assert_eq!(route("a/b/referrers/sha256:00"), Some(Route::Referrers("a/b", "sha256:00")));
        assert_eq!(route("a/b/other"), None);
        assert_eq!(route("a/b/manifests/"), None);
    }
}
