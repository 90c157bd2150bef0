//! Who is calling and what it may do, for every protocol: a validated registry token becomes a
//! [`Caller`] ([`caller_from_token`]); [`effective_role`] is the one place a role is computed
//! (`quay.repository_role`, the credential's limit, configured superusers); [`authorize`] decides
//! an action on a repository at request time, so a revoked permission stops working before the
//! token expires.

use super::Context;
use super::repo_name::RepoName;
use crate::auth::credentials::{self, Limit};
use crate::auth::jwt::{self, Claims};
use crate::store::StoreError;
use crate::store::repositories::{RepoRef, RepositoryAccess};
use quay_core::permissions::Role;

/// The anonymous `sub`.
pub const ANONYMOUS: &str = "(anonymous)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
}

impl Action {
    /// The action's name in a token grant.
    pub fn grant(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
        }
    }
    /// The actions a client should ask for to do this (the challenge's scope).
    pub fn hint(self) -> &'static str {
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

/// Why a token does not make a caller.
#[derive(Debug)]
pub enum TokenRefused {
    /// Invalid, expired, signed by an unknown key, or its credential is gone (the message says).
    Invalid(String),
    Store(StoreError),
}

/// The caller behind a bearer token (validated: signature by a known key, audience, expiry,
/// freshness), or anonymous without one.
pub async fn caller_from_token(ctx: &Context, token: Option<&str>) -> Result<Caller, TokenRefused> {
    let Some(token) = token else { return Ok(Caller::default()) };
    if let Some(hit) = cache::get(token) {
        return Ok(hit);
    }
    let refuse = |e: jwt::InvalidToken| TokenRefused::Invalid(e.0);
    let kid = jwt::token_kid(token).map_err(refuse)?;
    let Some(key) = ctx.keys.resolve(&ctx.store, &kid).await else {
        return Err(TokenRefused::Invalid("Invalid token: unknown signing key".into()));
    };
    let cfg = &ctx.config;
    let claims = jwt::validate(
        token,
        &key,
        &cfg.server_hostname,
        &cfg.instance_service_key_service,
        cfg.registry_jwt_auth_max_fresh_s,
        jwt::now_s(),
    )
    .map_err(refuse)?;
    let (user_id, limit) = entity_of(ctx, &claims).await.map_err(|e| match e {
        Some(e) => TokenRefused::Store(e),
        None => TokenRefused::Invalid("Invalid token: its credential is no longer valid".into()),
    })?;
    let caller = Caller { token: Some(claims), user_id, limit };
    cache::put(token, &caller);
    Ok(caller)
}

/// The user and limit behind a validated token, from its `context` (delegate, OAuth and
/// app-specific tokens are looked up again, so a revoked or expired one stops working) or else
/// its `sub`, which must still name an enabled user or robot: a deleted robot's token is refused,
/// never downgraded to anonymous (and a deleted superuser's never keeps what `SUPER_USERS` grants
/// by name). `Err(None)`: the credential is gone.
async fn entity_of(ctx: &Context, claims: &Claims) -> Result<(Option<i64>, Limit), Option<StoreError>> {
    let reference = claims.context.get("entity_reference").and_then(|v| v.as_str()).unwrap_or("");
    match claims.context.get("entity_kind").and_then(|v| v.as_str()) {
        Some("token") => {
            let t = credentials::delegate_token(&ctx.store, reference, ctx.encrypter.as_deref())
                .await?
                .ok_or(None)?;
            Ok((None, Limit::Repository { id: t.repository_id, role: t.role }))
        }
        Some("oauthtoken") => {
            let t = ctx.store.oauth_token(reference, true).await?.ok_or(None)?;
            if !t.unexpired {
                return Err(None);
            }
            Ok((t.user_enabled.then_some(t.user_id), Limit::from_oauth_scopes(&t.scope)))
        }
        Some("appspecifictoken") => {
            let t = ctx.store.app_token_secret(reference, true).await?.filter(|t| t.usable).ok_or(None)?;
            if claims.sub.as_deref() != Some(t.username.as_str()) {
                return Err(None);
            }
            Ok((Some(t.user_id), Limit::Unlimited))
        }
        _ => {
            let sub = claims.sub.as_deref().unwrap_or(ANONYMOUS);
            if sub == ANONYMOUS {
                return Ok((None, Limit::Unlimited));
            }
            let user = ctx.store.user_credentials(sub).await?.filter(|u| u.enabled).ok_or(None)?;
            Ok((Some(user.id), Limit::Unlimited))
        }
    }
}

/// A credential was removed: registry tokens validated before are checked again.
pub fn forget_validated_tokens() {
    cache::clear();
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

    /// Forgets every remembered token: called when a credential is removed here (robot deleted,
    /// app token revoked, user deleted), so this pod refuses its tokens at once; other pods
    /// refuse them within [`TTL`].
    pub fn clear() {
        if let Ok(mut m) = map().write() {
            m.clear();
        }
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
fn granted(ctx: &Context, caller: &Caller, repo: &RepoName, action: Action) -> bool {
    caller.token.as_ref().is_some_and(|t| {
        t.access.iter().any(|a| {
            a.kind == "repository"
                && RepoName::parse(&a.name, ctx.library()).as_ref() == Some(repo)
                && a.actions.iter().any(|x| x == action.grant() || x == "*")
        })
    })
}

/// Why [`authorize`] refused.
#[derive(Debug)]
pub enum Denied {
    /// The token (if any) does not grant the action: the client should ask for
    /// `repository:<name>:<action hint>`. `insufficient` when a token was sent.
    Unauthorized {
        scope: String,
        insufficient: bool,
    },
    /// The repository does not exist, and the caller may learn that.
    NameUnknown,
    /// Not an image repository.
    NotAnImage,
    Store(StoreError),
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Self {
        Denied::Store(e)
    }
}

fn unauthorized(caller: &Caller, repo: &RepoName, action: Action) -> Denied {
    Denied::Unauthorized {
        scope: format!("repository:{}:{}", repo.full(), action.hint()),
        insufficient: caller.token.is_some(),
    }
}

/// Whether the caller may learn that a repository does not exist: it names it in its token,
/// or would be allowed to read it once created (it may create repositories in the namespace,
/// or the configuration lets it read everything). Everyone else gets the challenge.
async fn may_see_absence(ctx: &Context, caller: &Caller, repo: &RepoName) -> Result<bool, StoreError> {
    if configured_role(ctx, caller.username(), caller.limit).is_some() {
        return Ok(true);
    }
    let (Some(user), true) = (caller.user_id, caller.limit.may_create()) else { return Ok(false) };
    let Some(ns) = ctx.store.namespace_by_name(&repo.namespace).await? else { return Ok(false) };
    ctx.store.can_create_repository(user, ns.id).await
}

/// The user whose grants count for the caller (none for a delegate token, whose role is its own).
pub fn grant_user(caller: &Caller) -> Option<i64> {
    match caller.limit {
        Limit::Repository { .. } => None,
        _ => caller.user_id,
    }
}

/// The repository, if the caller may do `action` on it now. Pulls of public repositories need no
/// token while `FEATURE_ANONYMOUS_ACCESS` is on. A missing repository is [`Denied::NameUnknown`]
/// only for a caller whose token names it or who would be allowed to read it once created (see
/// [`may_see_absence`]); everyone else is [`Denied::Unauthorized`]. One store call
/// (`quay.repository_access`); reads that fetch their object with it call [`decide`].
pub async fn authorize(
    ctx: &Context,
    caller: &Caller,
    repo: &RepoName,
    action: Action,
) -> Result<RepoRef, Denied> {
    let found = ctx.store.repository_access(&repo.namespace, &repo.name, grant_user(caller)).await?;
    decide(ctx, caller, repo, action, found).await
}

/// [`authorize`]'s decision over what the store found: the repository and the role of
/// [`grant_user`] on it (`quay.repository_access`, or a read that extends it).
pub async fn decide(
    ctx: &Context,
    caller: &Caller,
    repo: &RepoName,
    action: Action,
    found: Option<RepositoryAccess>,
) -> Result<RepoRef, Denied> {
    let has_grant = granted(ctx, caller, repo, action);
    let Some(found) = found.filter(|a| a.repository.namespace_enabled) else {
        let known = has_grant || (action == Action::Pull && may_see_absence(ctx, caller, repo).await?);
        return Err(if known { Denied::NameUnknown } else { unauthorized(caller, repo, action) });
    };
    let RepositoryAccess { repository: found, role } = found;
    if !found.is_image {
        return Err(Denied::NotAnImage);
    }
    let needs = match action {
        Action::Pull if found.public && ctx.config.feature_anonymous_access.0 => None,
        Action::Pull if has_grant => Some(Role::Read),
        Action::Push if has_grant && found.state == 0 => Some(Role::Write),
        _ => return Err(unauthorized(caller, repo, action)),
    };
    let ok = match needs {
        None => true,
        Some(needed) => combine_role(ctx, caller.username(), caller.limit, found.id, role) >= Some(needed),
    };
    if !ok {
        return Err(unauthorized(caller, repo, action));
    }
    Ok(found)
}

/// What the configuration grants on every repository (quay-data-model.md §6.4), for credentials
/// without a limit (passwords, robots, app tokens): `GLOBAL_READONLY_SUPER_USERS` read (and never
/// more, even on their own repositories), `SUPER_USERS` admin when
/// `FEATURE_SUPERUSERS_FULL_ACCESS` is on.
pub fn configured_role(ctx: &Context, username: Option<&str>, limit: Limit) -> Option<Role> {
    let user = username.filter(|_| limit == Limit::Unlimited)?;
    let c = &ctx.config;
    if c.global_readonly_super_users.iter().any(|s| s == user) {
        Some(Role::Read)
    } else if c.feature_superusers_full_access.0 && ctx.is_superuser_name(user) {
        Some(Role::Admin)
    } else {
        None
    }
}

/// The caller's role on a repository: `quay.repository_role`, then the credential's limit, then
/// what the configuration grants ([`combine_role`]). Every grant (token issue, each request,
/// mounts) comes from here or from [`combine_role`] over a role read with the repository.
pub async fn effective_role(
    ctx: &Context,
    user_id: Option<i64>,
    username: Option<&str>,
    limit: Limit,
    repository_id: i64,
) -> Result<Option<Role>, StoreError> {
    // A delegate token's role does not depend on anyone's grants: no query for it.
    let user_role = match limit {
        Limit::Repository { .. } => None,
        _ => ctx.store.repository_role(user_id, repository_id).await?,
    };
    Ok(combine_role(ctx, username, limit, repository_id, user_role))
}

/// The effective role from the user's own role on the repository (`quay.repository_role`): the
/// credential's limit applied, then what the configuration grants.
pub fn combine_role(
    ctx: &Context,
    username: Option<&str>,
    limit: Limit,
    repository_id: i64,
    user_role: Option<Role>,
) -> Option<Role> {
    let own = limit.apply(repository_id, user_role);
    match configured_role(ctx, username, limit) {
        Some(Role::Read) => Some(Role::Read),
        Some(r) => own.max(Some(r)),
        None => own,
    }
}

/// Who calls `/api/v1`: a user signed in through a browser session, a user behind an OAuth
/// bearer token (limited by its scopes), or anonymous. Robots never act on the API (Basic
/// credentials are ignored there, as in Quay).
#[derive(Debug, Clone, Default)]
pub struct ApiCaller {
    pub user: Option<ApiUser>,
    pub via: Via,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUser {
    pub id: i64,
    pub username: String,
    pub uuid: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Via {
    #[default]
    Anonymous,
    /// A browser session; `login_s`: when the user last signed in with a password.
    Session { login_s: Option<i64> },
    /// An OAuth access token with its space-separated scopes.
    OAuth { token_id: i64, client_id: Option<String>, application: Option<String>, scopes: String },
}

/// An OAuth scope (Quay's `scopes.py`); sessions hold every scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    UserRead,
    UserAdmin,
    RepoRead,
    RepoWrite,
    RepoAdmin,
    RepoCreate,
    OrgAdmin,
    SuperUser,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::UserRead => "user:read",
            Scope::UserAdmin => "user:admin",
            Scope::RepoRead => "repo:read",
            Scope::RepoWrite => "repo:write",
            Scope::RepoAdmin => "repo:admin",
            Scope::RepoCreate => "repo:create",
            Scope::OrgAdmin => "org:admin",
            Scope::SuperUser => "super:user",
        }
    }

    /// Scopes that imply this one (Quay's scope hierarchy: admin implies write implies read).
    fn implied_by(self) -> &'static [Scope] {
        match self {
            Scope::UserRead => &[Scope::UserAdmin],
            Scope::RepoRead => &[Scope::RepoWrite, Scope::RepoAdmin],
            Scope::RepoWrite => &[Scope::RepoAdmin],
            _ => &[],
        }
    }
}

impl ApiCaller {
    pub fn user_id(&self) -> Option<i64> {
        self.user.as_ref().map(|u| u.id)
    }

    pub fn username(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.username.as_str())
    }

    /// Whether the credential carries `scope` (sessions: every scope; anonymous: none).
    pub fn has_scope(&self, scope: Scope) -> bool {
        match &self.via {
            Via::Anonymous => false,
            Via::Session { .. } => self.user.is_some(),
            Via::OAuth { scopes, .. } => {
                let held: Vec<&str> = scopes.split([' ', ',']).filter(|s| !s.is_empty()).collect();
                std::iter::once(scope)
                    .chain(scope.implied_by().iter().copied())
                    .any(|s| held.contains(&s.name()))
            }
        }
    }

    /// A superuser of this instance acting as one: named in `SUPER_USERS` (with
    /// `FEATURE_SUPER_USERS`), through a session or a token with `super:user`.
    pub fn is_superuser(&self, ctx: &Context) -> bool {
        let Some(name) = self.username() else { return false };
        ctx.is_superuser_name(name) && self.has_scope(Scope::SuperUser)
    }

    /// A password sign-in within `FRESH_LOGIN_TIMEOUT`, or an OAuth token (exempt, as in Quay).
    pub fn is_fresh(&self, ctx: &Context, now_s: i64) -> bool {
        match &self.via {
            Via::OAuth { .. } => true,
            Via::Session { login_s } => {
                login_s.is_some_and(|t| now_s - t <= ctx.config.fresh_login_timeout_s())
            }
            Via::Anonymous => false,
        }
    }
}

/// Why an `/api/v1` caller may not do something: Quay answers 401 to callers who are not signed
/// in and 403 to those who are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiDenied {
    /// Not signed in (401).
    Anonymous,
    /// Signed in, not allowed (403).
    Forbidden,
    /// A browser session whose password sign-in is too old for this (401 `fresh_login_required`).
    NotFresh,
}

impl ApiCaller {
    /// The one place the 401/403 rule is applied: `allowed` decided by the caller of this
    /// function; an anonymous caller is refused with 401, others with 403.
    pub fn require(&self, allowed: bool) -> Result<(), ApiDenied> {
        match (allowed, self.user.is_some()) {
            (true, _) => Ok(()),
            (false, false) => Err(ApiDenied::Anonymous),
            (false, true) => Err(ApiDenied::Forbidden),
        }
    }

    /// A signed-in user, or 401.
    pub fn signed_in(&self) -> Result<&ApiUser, ApiDenied> {
        self.user.as_ref().ok_or(ApiDenied::Anonymous)
    }

    /// A superuser acting as one (401 / 403 otherwise).
    pub fn require_superuser(&self, ctx: &Context) -> Result<(), ApiDenied> {
        self.require(self.is_superuser(ctx))
    }

    /// A fresh sign-in for sensitive calls (sessions only).
    pub fn require_fresh(&self, ctx: &Context, now_s: i64) -> Result<(), ApiDenied> {
        if self.user.is_some() && !self.is_fresh(ctx, now_s) {
            return Err(ApiDenied::NotFresh);
        }
        Ok(())
    }
}

impl ApiCaller {
    /// Administers the namespace: its owner or an organization admin (with a credential that
    /// may act as one: sessions, OAuth `org:admin`), or a superuser with
    /// `FEATURE_SUPERUSERS_FULL_ACCESS`.
    pub fn administers(&self, ctx: &Context, ns: Option<&quay_core::permissions::NamespaceAccess>) -> bool {
        if self.user.is_none() {
            return false;
        }
        let by_role =
            ns.and_then(|n| n.role).is_some_and(|r| r.administers()) && self.has_scope(Scope::OrgAdmin);
        by_role || (ctx.config.feature_superusers_full_access.0 && self.is_superuser(ctx))
    }
}
