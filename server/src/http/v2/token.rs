//! `GET /v2/auth`: Quay's Docker token endpoint (quay-http-surface.md §2.1–§2.3). Basic
//! credentials (or none), one `scope` per repository; what the token grants comes from
//! `ops::credentials::issue` (which creates what a push needs and signs); this module
//! authenticates, calls it and renders.

use super::{AppState, challenge};
use crate::auth::credentials::{self, LoginError};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::credentials::{self as grants, GrantError};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn login_failed(state: &AppState, message: String) -> Response {
    RegistryError::new(Code::Unauthorized)
        .message(message)
        .with_header("www-authenticate", challenge(state, None))
        .with_header("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"))
        .into_response()
}

/// Query pairs, percent-decoded, repeated keys kept.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect()
}

pub async fn issue(State(state): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let pairs = query_pairs(raw.as_deref());
    let service = pairs.iter().find(|(k, _)| k == "service").map(|(_, v)| v.clone());
    let scopes: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' '))
        .filter(|s| !s.is_empty())
        .collect();

    let entity = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let Some((user, secret)) = v.to_str().ok().and_then(credentials::parse_basic) else {
                return login_failed(&state, "Invalid credentials: expected HTTP Basic".into());
            };
            let cfg = &state.config;
            match credentials::authenticate(
                &state.store,
                state.encrypter.as_deref(),
                cfg.feature_app_specific_tokens.0,
                &user,
                &secret,
            )
            .await
            {
                Ok(e) => Some(e),
                Err(LoginError::Store(e)) => return RegistryError::from(e).into_response(),
                Err(e @ LoginError::Throttled(s)) => return too_many_attempts(&e, s),
                Err(e) => return login_failed(&state, e.to_string()),
            }
        }
    };
    if entity.is_none() {
        if scopes.is_empty() {
            return login_failed(&state, "access to the requested resource is not authorized".into());
        }
        if !state.config.feature_anonymous_access.0 {
            return (StatusCode::UNAUTHORIZED, Json(json!({"error": "Anonymous access is not allowed"})))
                .into_response();
        }
    }

    match grants::issue(&state, entity.as_ref(), service, &scopes).await {
        Ok(token) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")],
            Json(json!({"token": token})),
        )
            .into_response(),
        Err(grants::IssueError::Grant(e)) => grant_refused(e),
        Err(grants::IssueError::Sign(e)) => RegistryError::new(Code::Internal)
            .cause(format!("cannot sign registry token: {e}"))
            .into_response(),
    }
}

fn grant_refused(e: GrantError) -> Response {
    match e {
        GrantError::BadScope(scope) => RegistryError::new(Code::InvalidRequest)
            .message(format!("Unable to decode repository and actions: {scope}"))
            .into_response(),
        GrantError::NameInvalid => RegistryError::new(Code::NameInvalid).into_response(),
        GrantError::NamespaceDisabled(ns) => RegistryError::new(Code::Denied)
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .message(format!("Namespace {ns} has been disabled. Please contact a system administrator."))
            .into_response(),
        GrantError::NotAnImage => RegistryError::new(Code::Unsupported).into_response(),
        GrantError::Store(e) => RegistryError::from(e).into_response(),
    }
}

/// Quay's answer to a login inside its back-off: 429, plain text, `Retry-After`.
pub fn too_many_attempts(e: &LoginError, retry_after_s: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
            (header::RETRY_AFTER, retry_after_s.to_string()),
        ],
        e.to_string(),
    )
        .into_response()
}
