//! Access on `/v2`, in HTTP terms: the `Authorization: Bearer` header becomes the operations'
//! [`Caller`] (`ops::access`), and a refusal becomes the registry's answer (401 with the
//! challenge naming the scope to ask for, 404 `NAME_UNKNOWN`, ...). The rules live in `ops::access`.

use super::{AppState, RepoName, challenge};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::access::{self as ops, Denied, TokenRefused};
use crate::store::repositories::RepoRef;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use crate::ops::access::{ANONYMOUS, Action, Caller, configured_role, effective_role};

/// 401 with Quay's generic body, the challenge and the API version.
pub fn unauthorized_generic(state: &AppState, message: &str) -> Response {
    let mut resp = (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"error": message}))).into_response();
    let h = resp.headers_mut();
    h.insert(header::WWW_AUTHENTICATE, challenge(state, None));
    h.insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    resp
}

/// The caller of a `/v2` route: anonymous without `Authorization`, else a valid bearer token.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let token = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str().unwrap_or("").strip_prefix("Bearer ") {
            Some(t) => Some(t.trim()),
            None => {
                return Err(unauthorized_generic(state, "Invalid registry token: expected a Bearer token"));
            }
        },
    };
    ops::caller_from_token(state, token).await.map_err(|e| match e {
        TokenRefused::Invalid(message) => unauthorized_generic(state, &message),
        TokenRefused::Store(e) => RegistryError::from(e).into_response(),
    })
}

/// The answer to a refusal: 401 `UNAUTHORIZED` with the challenge naming the scope the route
/// needs (and `error="insufficient_scope"` when a token was sent: the Docker token spec,
/// distribution and Quay; clients refresh their token on 401 only), 404 `NAME_UNKNOWN`, 405 for
/// a repository that is not an image repository.
pub fn denied(state: &AppState, d: Denied) -> Response {
    match d {
        Denied::Unauthorized { scope, insufficient } => {
            let mut value = challenge(state, Some(&scope)).to_str().unwrap_or("Bearer").to_string();
            if insufficient {
                value.push_str(",error=\"insufficient_scope\"");
            }
            let value = HeaderValue::from_str(&value).unwrap_or_else(|_| challenge(state, Some(&scope)));
            RegistryError::new(Code::Unauthorized).with_header("www-authenticate", value).into_response()
        }
        Denied::NameUnknown => RegistryError::new(Code::NameUnknown).into_response(),
        Denied::NotAnImage => RegistryError::new(Code::Unsupported).into_response(),
        Denied::Store(e) => RegistryError::from(e).into_response(),
    }
}

/// The authentication layer of every `/v2` route but `/v2/auth`: resolves the bearer token once
/// (an invalid one answers 401 here) and hands the [`Caller`] to the handler in the request's
/// extensions, so no handler can skip it.
pub async fn authenticate(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match caller(&state, req.headers()).await {
        Ok(c) => {
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Err(resp) => resp,
    }
}

/// The caller [`authenticate`] resolved for this request (anonymous if the layer is missing,
/// which only grants what anonymous callers get).
pub fn caller_of(req: &axum::extract::Request) -> Caller {
    req.extensions().get::<Caller>().cloned().unwrap_or_default()
}

/// The caller and the repository, if the caller may do `action` on it now (`ops::access::authorize`).
pub async fn authorize(
    state: &AppState,
    caller: Caller,
    repo: &RepoName,
    action: Action,
) -> Result<(Caller, RepoRef), Response> {
    let found = ops::authorize(state, &caller, repo, action).await.map_err(|d| denied(state, d))?;
    Ok((caller, found))
}
