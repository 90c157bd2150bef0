//! The OCI distribution API (`/v2`). Token auth arrives with `/v2/auth`; until a token is
//! presented every route answers 401 with Quay's challenge.

use super::AppState;
use super::registry_error::{Code, RegistryError};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v2/", get(base))
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

fn base_headers(state: &AppState) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::WWW_AUTHENTICATE, challenge(state, None));
    h.insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    let sparse = if state.config.feature_sparse_index.0 { "true" } else { "false" };
    h.insert("X-Sparse-Manifest-Support", HeaderValue::from_static(sparse));
    h
}

/// `GET /v2/`: 401 with a challenge (body `true`, as Quay) when no credentials are sent, so
/// clients discover the token endpoint; 404 when `FEATURE_ADVERTISE_V2` is off.
async fn base(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.feature_advertise_v2.0 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let h = base_headers(&state);
    if !headers.contains_key(header::AUTHORIZATION) {
        return (StatusCode::UNAUTHORIZED, h, [(header::CONTENT_TYPE, "application/json")], "true")
            .into_response();
    }
    // No token validation yet: any presented credential is not (yet) a valid registry token.
    let mut err = RegistryError::new(Code::Unauthorized);
    err.headers = h;
    err.into_response()
}
