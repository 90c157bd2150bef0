//! `GET /v2/auth`: Quay's Docker token endpoint (quay-http-surface.md §2.1–§2.3). Basic
//! credentials (or none), one `scope` per repository; the token grants what the caller may do,
//! creating a missing repository for a caller who asks for `push` and may create in the namespace.

use super::access::{self, ANONYMOUS};
use super::{AppState, RepoName, challenge};
use crate::auth::credentials::{self, Entity, EntityKind, LoginError};
use crate::auth::jwt::{self, Access, Claims};
use crate::http::registry_error::{Code, RegistryError};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quay_core::permissions::Role;
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
        Err(e) => {
            tracing::error!(error = %e, "cannot sign registry token");
            RegistryError::new(Code::Internal).into_response()
        }
    }
}

/// One `repository:<name>:<actions>` scope → the access entry (possibly with no actions) and the
/// repository's full name.
async fn grant(state: &AppState, entity: Option<&Entity>, scope: &str) -> Result<(Access, String), Response> {
    let bad = || {
        RegistryError::new(Code::InvalidRequest)
            .message(format!("Unable to decode repository and actions: {scope}"))
            .into_response()
    };
    let rest = scope.strip_prefix("repository:").ok_or_else(bad)?;
    let (name, actions) = rest.rsplit_once(':').ok_or_else(bad)?;
    let requested: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    if requested.is_empty() || requested.iter().any(|a| !matches!(*a, "push" | "pull" | "*")) {
        return Err(bad());
    }
    let host_prefix = format!("{}/", state.config.server_hostname);
    let path = name.strip_prefix(&host_prefix).unwrap_or(name);
    let library = state.config.feature_library_support.0.then_some(state.config.library_namespace.as_str());
    let Some(repo) = RepoName::parse(path, library) else {
        return Err(RegistryError::new(Code::NameInvalid).into_response());
    };
    let store = &state.store;
    let err = |e| RegistryError::from(e).into_response();
    let ns = store.namespace_by_name(&repo.namespace).await.map_err(err)?;
    if ns.as_ref().is_some_and(|n| !n.enabled) {
        return Err(RegistryError::new(Code::Denied)
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .message(format!(
                "Namespace {} has been disabled. Please contact a system administrator.",
                repo.namespace
            ))
            .into_response());
    }
    let mut found = store.repository(&repo.namespace, &repo.name).await.map_err(err)?;
    if found.as_ref().is_some_and(|r| !r.is_image) {
        return Err(RegistryError::new(Code::Unsupported).into_response());
    }
    let user_id = entity.and_then(|e| e.user_id);
    let limit = entity.map(|e| e.limit).unwrap_or_default();
    let username = entity.and_then(|e| e.username.as_deref());
    // Global read-only superusers never write, so nothing is created for them either.
    let may_create =
        limit.may_create() && access::configured_role(state, username, limit) != Some(Role::Read);
    let mut granted = Vec::new();
    let wants = |a: &str| requested.contains(&a);

    // Asking for push on a missing repository creates it when the caller may create there, and
    // first its namespace (as an organization the caller owns) when CREATE_NAMESPACE_ON_PUSH is
    // on, for people only (not robots or delegate tokens): one core call, one transaction; the
    // core refuses what the caller may not create, and then nothing is created.
    let read_only = state.config.read_only();
    if found.is_none()
        && wants("push")
        && !read_only
        && may_create
        && let Some(creator) = user_id
    {
        let namespace_expiration = (ns.is_none()
            && state.config.create_namespace_on_push
            && entity.is_some_and(|e| e.kind != EntityKind::Robot))
        .then(|| i64::try_from(state.config.default_tag_expiration_s()).unwrap_or(1_209_600));
        if ns.is_some() || namespace_expiration.is_some() {
            let public = !state.config.create_private_repo_on_push;
            match store
                .repository_create_on_push(&repo.namespace, &repo.name, public, creator, namespace_expiration)
                .await
            {
                Ok(_) => found = store.repository(&repo.namespace, &repo.name).await.map_err(err)?,
                Err(crate::store::StoreError::Rule { code, message }) => {
                    tracing::info!(%code, %message, "nothing created on push");
                }
                Err(e) => return Err(err(e)),
            }
        }
    }
    if let Some(r) = &found {
        let role = access::effective_role(state, user_id, username, limit, r.id).await.map_err(err)?;
        if wants("push") && entity.is_some() && role >= Some(Role::Write) && r.state == 0 {
            granted.push("push");
        }
        if wants("pull") {
            let anonymous_ok = r.public && (entity.is_some() || state.config.feature_anonymous_access.0);
            if role >= Some(Role::Read) || anonymous_ok {
                granted.push("pull");
            }
        }
        if wants("*") && role == Some(Role::Admin) && r.state == 0 {
            granted.push("*");
        }
    }
    Ok((
        Access {
            kind: "repository".into(),
            name: name.to_string(),
            actions: granted.into_iter().map(String::from).collect(),
        },
        repo.full(),
    ))
}
