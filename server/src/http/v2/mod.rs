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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/", get(base))
        .route("/v2", get(base))
        .route("/v2/auth", get(token::issue))
        .route("/v2/_catalog", get(listing::catalog))
        .route("/v2/{*path}", any(dispatch))
}

/// A repository as named in a URL: namespace and repository name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub namespace: String,
    pub name: String,
}

impl RepoName {
    /// `ns/name…`; one segment means the library namespace (`FEATURE_LIBRARY_SUPPORT`).
    pub fn parse(path: &str, library: Option<&str>) -> Option<RepoName> {
        let (ns, name) = match path.split_once('/') {
            Some((ns, name)) => (ns, name),
            None => (library?, path),
        };
        let ns_ok = !ns.is_empty()
            && ns.len() <= 255
            && ns.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
        (ns_ok && quay_core::names::is_valid_repository_name(name))
            .then(|| RepoName { namespace: ns.to_string(), name: name.to_string() })
    }
    pub fn full(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

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
    if state.config.read_only() && method != Method::GET && method != Method::HEAD {
        return RegistryError::read_only().into_response();
    }
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
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    resp.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    resp
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
async fn base(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.feature_advertise_v2.0 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let h = base_headers(&state);
    match access::caller(&state, &headers).await {
        Ok(c) if c.token.is_some() => {
            (StatusCode::OK, h, [(header::CONTENT_TYPE, "application/json")], "true").into_response()
        }
        Ok(_) => (StatusCode::UNAUTHORIZED, h, [(header::CONTENT_TYPE, "application/json")], "true")
            .into_response(),
        Err(resp) => resp,
    }
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

    #[test]
    fn repository_names() {
        let lib = Some("library");
        assert_eq!(RepoName::parse("alpine", lib).map(|r| r.full()).as_deref(), Some("library/alpine"));
        assert_eq!(RepoName::parse("org/team/app", lib).map(|r| r.full()).as_deref(), Some("org/team/app"));
        assert_eq!(RepoName::parse("alpine", None), None);
        assert_eq!(RepoName::parse("Org/app", lib), None);
        assert_eq!(RepoName::parse("org/App", lib), None);
        assert_eq!(RepoName::parse("org//app", lib), None);
    }
}
