//! Registry tokens: what a credential may do on the repositories a token request names (Docker
//! token auth scopes), creating what a push needs on the way (`quay.repository_create_on_push`),
//! and the signed token with Quay's claims ([`issue`]).

use super::Context;
use super::access;
use super::repositories::RepoName;
use crate::auth::credentials::{Entity, EntityKind, Limit};
use crate::auth::jwt::{self, Access, Claims};
use crate::store::StoreError;
use quay_core::permissions::Role;
use serde_json::json;

/// Why a scope cannot be granted at all (a scope the caller simply may not use gets an entry
/// with no actions instead).
#[derive(Debug)]
pub enum GrantError {
    /// Not `repository:<name>:<pull|push|*,...>`.
    BadScope(String),
    NameInvalid,
    NamespaceDisabled(String),
    NotAnImage,
    Store(StoreError),
}

/// Why no token was issued.
#[derive(Debug)]
pub enum IssueError {
    Grant(GrantError),
    /// The instance key could not sign (the message says why).
    Sign(String),
}

/// A registry token for `entity` (anonymous: `None`) with the grant of each scope, for audience
/// `service` (default: `SERVER_HOSTNAME`), signed by the instance key. The claims are Quay's:
/// `context` names the entity (user, robot, delegate or OAuth token) so each request can find it
/// again, and the trust roots are disabled.
pub async fn issue(
    ctx: &Context,
    entity: Option<&Entity>,
    service: Option<String>,
    scopes: &[&str],
) -> Result<String, IssueError> {
    let mut access = Vec::new();
    let mut roots = serde_json::Map::new();
    for scope in scopes {
        let (entry, repo) = grant(ctx, entity, scope).await.map_err(IssueError::Grant)?;
        roots.insert(repo, json!("$disabled"));
        access.push(entry);
    }
    let now = jwt::now_s();
    let mut context = json!({"version": 2, "com.apostille.roots": roots, "com.apostille.root": "$disabled"});
    match entity {
        Some(e) => {
            context["entity_kind"] = json!(e.kind.as_str());
            context["entity_reference"] = json!(e.reference);
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
        iss: ctx.config.instance_service_key_service.clone(),
        aud: service.unwrap_or_else(|| ctx.config.server_hostname.clone()),
        nbf: now,
        iat: now,
        exp: now + jwt::TOKEN_LIFETIME_S,
        sub: match entity {
            Some(e) => e.username.clone(),
            None => Some(access::ANONYMOUS.to_string()),
        },
        access,
        context,
    };
    ctx.keys.instance.sign(&claims).map_err(|e| IssueError::Sign(e.to_string()))
}

/// `repository:<name>:<action>[,<action>...]` → the name (as written: host prefix and all) and
/// the actions, each `push`, `pull` or `*`; `None` for anything else.
pub fn parse_scope(scope: &str) -> Option<(&str, Vec<&str>)> {
    let rest = scope.strip_prefix("repository:")?;
    let (name, actions) = rest.rsplit_once(':')?;
    let requested: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    if requested.is_empty() || requested.iter().any(|a| !matches!(*a, "push" | "pull" | "*")) {
        return None;
    }
    Some((name, requested))
}

/// One `repository:<name>:<actions>` scope → the access entry (possibly with no actions) and the
/// repository's full name.
pub async fn grant(
    state: &Context,
    entity: Option<&Entity>,
    scope: &str,
) -> Result<(Access, String), GrantError> {
    let (name, requested) = parse_scope(scope).ok_or_else(|| GrantError::BadScope(scope.to_string()))?;
    let host_prefix = format!("{}/", state.config.server_hostname);
    let path = name.strip_prefix(&host_prefix).unwrap_or(name);
    let library = state.config.feature_library_support.0.then_some(state.config.library_namespace.as_str());
    let Some(repo) = RepoName::parse(path, library) else {
        return Err(GrantError::NameInvalid);
    };
    let store = &state.store;
    let err = GrantError::Store;
    let ns = store.namespace_by_name(&repo.namespace).await.map_err(err)?;
    if ns.as_ref().is_some_and(|n| !n.enabled) {
        return Err(GrantError::NamespaceDisabled(repo.namespace.clone()));
    }
    let user_id = entity.and_then(|e| e.user_id);
    let limit = entity.map(|e| e.limit).unwrap_or_default();
    // Whose grants count: none for a delegate token, whose role is its own.
    let grant_user = if matches!(limit, Limit::Repository { .. }) { None } else { user_id };
    let mut found = store.repository_access(&repo.namespace, &repo.name, grant_user).await.map_err(err)?;
    if found.as_ref().is_some_and(|a| !a.repository.is_image) {
        return Err(GrantError::NotAnImage);
    }
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
                Ok(_) => {
                    found = store
                        .repository_access(&repo.namespace, &repo.name, grant_user)
                        .await
                        .map_err(err)?;
                }
                Err(crate::store::StoreError::Rule { code, message }) => {
                    tracing::info!(%code, %message, "nothing created on push");
                }
                Err(e) => return Err(err(e)),
            }
        }
    }
    if let Some(found) = &found {
        let r = &found.repository;
        let role = access::combine_role(state, username, limit, r.id, found.role);
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
