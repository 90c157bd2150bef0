//! `GET /v2/auth`: Quay's Docker token endpoint (quay-http-surface.md §2.1–§2.3). Basic
//! credentials (or none), one `scope` per repository; what the token grants comes from
//! `ops::credentials::grant` (which creates what a push needs); this module signs and renders.

use super::access::ANONYMOUS;
use super::{AppState, challenge};
use crate::auth::credentials::{self, Entity, EntityKind, LoginError};
use crate::auth::jwt::{self, Access, Claims};
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

    let mut access = Vec::new();
    let mut roots = serde_json::Map::new();
    for scope in scopes {
        match grant(&state, entity.as_ref(), scope).await {
            Ok((entry, repo)) => {
                roots.insert(repo, json!("$disabled"));
                access.push(entry);
            }
            Err(resp) => return resp,
        }
    }

    let now = jwt::now_s();
    let mut context = json!({"version": 2, "com.apostille.roots": roots, "com.apostille.root": "$disabled"});
    match &entity {
        Some(e) => {
            context["entity_kind"] = json!(e.kind.as_str());
            context["entity_reference"] = json!(e.reference);
            // Quay's legacy keys, which its other pods still read.
            match e.kind {
                EntityKind::AccessToken => {
                    context["kind"] = json!("token");
                    context["token"] = json!(e.reference);
                }
                EntityKind::OAuthToken => {
                    context["kind"] = json!("oauth");
                    context["oauth"] = json!(e.reference);
                    context["user"] = json!(e.username);
                }
                _ => {
                    context["kind"] = json!("user");
                    context["user"] = json!(e.username);
                }
            }
        }
        None => {
            context["entity_kind"] = json!("anonymous");
            context["kind"] = json!("anonymous");
        }
    }
    let claims = Claims {
        iss: state.config.instance_service_key_service.clone(),
        aud: service.unwrap_or_else(|| state.config.server_hostname.clone()),
        nbf: now,
        iat: now,
        exp: now + jwt::TOKEN_LIFETIME_S,
        sub: match &entity {
            Some(e) => e.username.clone(),
            None => Some(ANONYMOUS.to_string()),
        },
        access,
        context,
    };
    match state.keys.instance.sign(&claims) {
        Ok(token) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")],
            Json(json!({"token": token})),
        )
            .into_response(),
        Err(e) => RegistryError::new(Code::Internal)
            .cause(format!("cannot sign registry token: {e}"))
            .into_response(),
    }
}

/// The access entry of one scope (`ops::credentials::grant`), or the answer refusing it.
async fn grant(state: &AppState, entity: Option<&Entity>, scope: &str) -> Result<(Access, String), Response> {
    grants::grant(state, entity, scope).await.map_err(|e| match e {
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
    })
}
