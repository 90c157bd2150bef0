//! Who is calling a `/v2` route and whether they may: the bearer token's grants (what `/v2/auth`
//! issued) and, at request time, the caller's role from `quay.repository_role`, so a revoked
//! permission stops working before the token expires.

use super::{AppState, RepoName, challenge};
use crate::auth::credentials::{self, Limit};
use crate::auth::jwt::{self, Claims};
use crate::http::registry_error::{Code, RegistryError};
use crate::store::StoreError;
use crate::store::registry::RepoRef;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quay_core::permissions::Role;

/// The anonymous `sub`.
pub const ANONYMOUS: &str = "(anonymous)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
}

impl Action {
    fn grant(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
        }
    }
    /// The scope hint of the challenge.
    fn hint(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "pull,push",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub token: Option<Claims>,
    /// The token's user (robot, owner of an app or OAuth token), if enabled.
    pub user_id: Option<i64>,
    /// What the credential behind the token may do (delegate token, OAuth scopes).
    pub limit: Limit,
}

impl Caller {
    /// The token's `sub` (a username, `(anonymous)`, or none for a delegate token).
    pub fn username(&self) -> Option<&str> {
        self.token.as_ref().and_then(|t| t.sub.as_deref())
    }
}

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
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(Caller::default()) };
    let value = value.to_str().unwrap_or("");
    let Some(token) = value.strip_prefix("Bearer ") else {
        return Err(unauthorized_generic(state, "Invalid registry token: expected a Bearer token"));
    };
    let token = token.trim();
    if let Some(hit) = cache::get(token) {
        return Ok(hit);
    }
    let refuse = |e: jwt::InvalidToken| unauthorized_generic(state, &e.0);
    let kid = jwt::token_kid(token).map_err(refuse)?;
    let Some(key) = state.keys.resolve(&state.store, &kid).await else {
        return Err(unauthorized_generic(state, "Invalid token: unknown signing key"));
    };
    let cfg = &state.config;
    let claims = jwt::validate(
        token,
        &key,
        &cfg.server_hostname,
        &cfg.instance_service_key_service,
        cfg.registry_jwt_auth_max_fresh_s,
        jwt::now_s(),
    )
    .map_err(refuse)?;
    let (user_id, limit) = entity_of(state, &claims).await.map_err(|e| match e {
        Some(e) => RegistryError::from(e).into_response(),
        None => unauthorized_generic(state, "Invalid token: its credential is no longer valid"),
    })?;
    let caller = Caller { token: Some(claims), user_id, limit };
    cache::put(token, &caller);
    Ok(caller)
}

/// The user and limit behind a validated token, from its `context` (delegate and OAuth tokens
/// are looked up again, so a deleted or expired one stops working) or else its `sub`.
/// `Err(None)`: the credential is gone.
async fn entity_of(state: &AppState, claims: &Claims) -> Result<(Option<i64>, Limit), Option<StoreError>> {
    let reference = claims.context.get("entity_reference").and_then(|v| v.as_str()).unwrap_or("");
    match claims.context.get("entity_kind").and_then(|v| v.as_str()) {
        Some("token") => {
            let t = credentials::delegate_token(&state.store, reference, state.encrypter.as_deref())
                .await?
                .ok_or(None)?;
            Ok((None, Limit::Repository { id: t.repository_id, role: t.role }))
        }
        Some("oauthtoken") => {
            let t = state.store.oauth_token(reference, true).await?.ok_or(None)?;
            if !t.unexpired {
                return Err(None);
            }
            Ok((t.user_enabled.then_some(t.user_id), Limit::from_oauth_scopes(&t.scope)))
        }
        _ => {
            let sub = claims.sub.as_deref().unwrap_or(ANONYMOUS);
            if sub == ANONYMOUS {
                return Ok((None, Limit::Unlimited));
            }
            let user = state.store.user_credentials(sub).await?;
            Ok((user.filter(|u| u.enabled).map(|u| u.id), Limit::Unlimited))
        }
    }
}

/// Validated tokens, remembered for a few seconds (never past `exp`), so a client pulling many
/// objects pays one RS256 verification and user lookup, not one per request. What the caller
/// may do is still checked per request (`quay.repository_role`, which also refuses a user
/// disabled meanwhile).
mod cache {
    use super::Caller;
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    use std::time::{Duration, Instant};

    const TTL: Duration = Duration::from_secs(30);
    const MAX: usize = 10_000;

    type Map = HashMap<String, (Caller, Instant)>;

    fn map() -> &'static RwLock<Map> {
        static M: OnceLock<RwLock<Map>> = OnceLock::new();
        M.get_or_init(Default::default)
    }

    pub fn get(token: &str) -> Option<Caller> {
        let m = map().read().ok()?;
        let (caller, until) = m.get(token)?;
        let exp = caller.token.as_ref().map_or(0, |c| c.exp);
        (Instant::now() < *until && crate::auth::jwt::now_s() < exp).then(|| caller.clone())
    }

    pub fn put(token: &str, caller: &Caller) {
        if let Ok(mut m) = map().write() {
            if m.len() >= MAX {
                let now = Instant::now();
                m.retain(|_, (_, until)| *until > now);
                if m.len() >= MAX {
                    m.clear();
                }
            }
            m.insert(token.to_string(), (caller.clone(), Instant::now() + TTL));
        }
    }
}

/// Does the token grant `action` on `repo`? Grant names are parsed like URL paths; `*` grants
/// every action (what `/v2/auth` issues for a `*` scope, e.g. `skopeo delete`).
fn granted(state: &AppState, caller: &Caller, repo: &RepoName, action: Action) -> bool {
    let library = state.config.feature_library_support.0.then_some(state.config.library_namespace.as_str());
    caller.token.as_ref().is_some_and(|t| {
        t.access.iter().any(|a| {
            a.kind == "repository"
                && RepoName::parse(&a.name, library).as_ref() == Some(repo)
                && a.actions.iter().any(|x| x == action.grant() || x == "*")
        })
    })
}

/// 401 UNAUTHORIZED with the challenge naming the scope the route needs, as the Docker token
/// spec, distribution and Quay answer: without a token (get one), and with a token that does
/// not grant the action (`error="insufficient_scope"`: get a wider one). Clients refresh their
/// token on 401 only.
fn denied(state: &AppState, caller: &Caller, repo: &RepoName, action: Action) -> RegistryError {
    let scope = format!("repository:{}:{}", repo.full(), action.hint());
    let mut value = challenge(state, Some(&scope)).to_str().unwrap_or("Bearer").to_string();
    if caller.token.is_some() {
        value.push_str(",error=\"insufficient_scope\"");
    }
    let value = HeaderValue::from_str(&value).unwrap_or_else(|_| challenge(state, Some(&scope)));
    RegistryError::new(Code::Unauthorized).with_header("www-authenticate", value)
}

/// Whether the caller may learn that a repository does not exist: it names it in its token,
/// or would be allowed to read it once created (it may create repositories in the namespace,
/// or the configuration lets it read everything). Everyone else gets the challenge.
async fn may_see_absence(
    state: &AppState,
    caller: &Caller,
    repo: &RepoName,
    has_grant: bool,
) -> Result<bool, Response> {
    if has_grant || configured_role(state, caller.username(), caller.limit).is_some() {
        return Ok(true);
    }
    let (Some(user), true) = (caller.user_id, caller.limit.may_create()) else { return Ok(false) };
    let store_err = |e: StoreError| RegistryError::from(e).into_response();
    let Some(ns) = state.store.namespace_by_name(&repo.namespace).await.map_err(store_err)? else {
        return Ok(false);
    };
    state.store.can_create_repository(user, ns.id).await.map_err(store_err)
}

/// The repository, if the caller may do `action` on it now. Pulls of public repositories need no
/// token while `FEATURE_ANONYMOUS_ACCESS` is on. A missing repository is 404 NAME_UNKNOWN only
/// for a caller whose token names it or who would be allowed to read it once created (see
/// [`may_see_absence`]); everyone else gets the 401 challenge.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    repo: &RepoName,
    action: Action,
) -> Result<(Caller, RepoRef), Response> {
    let caller = caller(state, headers).await?;
    let found = state
        .store
        .repository(&repo.namespace, &repo.name)
        .await
        .map_err(|e| RegistryError::from(e).into_response())?;
    let has_grant = granted(state, &caller, repo, action);
    let Some(found) = found.filter(|r| r.namespace_enabled) else {
        let known =
            has_grant || (action == Action::Pull && may_see_absence(state, &caller, repo, has_grant).await?);
        return Err(if known {
            RegistryError::new(Code::NameUnknown).into_response()
        } else {
            denied(state, &caller, repo, action).into_response()
        });
    };
    if !found.is_image {
        return Err(RegistryError::new(Code::Unsupported).into_response());
    }
    let ok = match action {
        Action::Pull if found.public && state.config.feature_anonymous_access.0 => true,
        Action::Pull if has_grant => role(state, &caller, &found).await? >= Some(Role::Read),
        Action::Push if has_grant && found.state == 0 => {
            role(state, &caller, &found).await? >= Some(Role::Write)
        }
        _ => false,
    };
    if !ok {
        return Err(denied(state, &caller, repo, action).into_response());
    }
    Ok((caller, found))
}

async fn role(state: &AppState, caller: &Caller, repo: &RepoRef) -> Result<Option<Role>, Response> {
    effective_role(state, caller.user_id, caller.username(), caller.limit, repo.id)
        .await
        .map_err(|e| RegistryError::from(e).into_response())
}

/// What the configuration grants on every repository (quay-data-model.md §6.4), for credentials
/// without a limit (passwords, robots, app tokens): `GLOBAL_READONLY_SUPER_USERS` read (and never
/// more, even on their own repositories), `SUPER_USERS` admin when
/// `FEATURE_SUPERUSERS_FULL_ACCESS` is on.
pub fn configured_role(state: &AppState, username: Option<&str>, limit: Limit) -> Option<Role> {
    let user = username.filter(|_| limit == Limit::Unlimited)?;
    let c = &state.config;
    if c.global_readonly_super_users.iter().any(|s| s == user) {
        Some(Role::Read)
    } else if c.feature_superusers_full_access.0 && c.super_users.iter().any(|s| s == user) {
        Some(Role::Admin)
    } else {
        None
    }
}

/// The caller's role on a repository: `quay.repository_role`, then the credential's limit, then
/// what the configuration grants. Every grant (token issue, each request, mounts) comes from here.
pub async fn effective_role(
    state: &AppState,
    user_id: Option<i64>,
    username: Option<&str>,
    limit: Limit,
    repository_id: i64,
) -> Result<Option<Role>, StoreError> {
    // A delegate token's role does not depend on anyone's grants: no query for it.
    let user_role = match limit {
        Limit::Repository { .. } => None,
        _ => state.store.repository_role(user_id, repository_id).await?,
    };
    let own = limit.apply(repository_id, user_role);
    Ok(match configured_role(state, username, limit) {
        Some(Role::Read) => Some(Role::Read),
        Some(r) => own.max(Some(r)),
        None => own,
    })
}
