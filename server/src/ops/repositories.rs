//! Repositories as operations name them, and what `/api/v1` does with them: the permission
//! check (401/403 before 404), create, view, describe, change visibility, list.

use super::Context;
use super::Refused;
use super::access::{ApiCaller, Scope, Via};
use super::log_entry::{Origin, entry};
use crate::store::repositories::{ListFilter, RepositoryDetail, RepositoryListed, TagSummary};
use quay_core::permissions::{NamespaceRole, Role};
use serde_json::json;

pub use super::repo_name::RepoName;

/// What an `/api/v1` caller needs on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Read,
    Write,
    Admin,
}

/// A repository an `/api/v1` caller was allowed to act on, and the caller's role there.
#[derive(Debug, Clone)]
pub struct Allowed {
    pub repository_id: i64,
    pub namespace_id: i64,
    /// The namespace is an organization.
    pub organization: bool,
    pub role: Option<Role>,
    /// Administers the namespace (owner, organization admin, superuser with full access).
    pub namespace_admin: bool,
}

impl Allowed {
    pub fn can_write(&self) -> bool {
        self.namespace_admin || self.role >= Some(Role::Write)
    }
    pub fn can_admin(&self) -> bool {
        self.namespace_admin || self.role >= Some(Role::Admin)
    }
}

/// The most an OAuth token's scopes let it do on repositories (sessions: no cap).
fn scope_cap(caller: &ApiCaller) -> Option<Role> {
    match &caller.via {
        // The same cap `/v2` applies to OAuth tokens (one scope parser).
        Via::OAuth { scopes, .. } => match crate::auth::credentials::Limit::from_oauth_scopes(scopes) {
            crate::auth::credentials::Limit::Scopes { max, .. } => max,
            _ => None,
        },
        _ => Some(Role::Admin),
    }
}

/// Quay's repository permission check for the API, decided before existence: a caller who would
/// hold `need` (a grant, the namespace's admins and owner, public reads) learns whether the
/// repository exists (404); others get 401 (anonymous) or 403.
pub async fn authorize(
    ctx: &Context,
    caller: &ApiCaller,
    namespace: &str,
    name: &str,
    need: Need,
) -> Result<Allowed, Refused> {
    let uid = caller.user_id();
    let ns = ctx.store.namespace_access(namespace, uid).await?;
    let repo = ctx.store.repository_access(namespace, name, uid).await?;
    let cap = scope_cap(caller);
    let namespace_admin = caller.administers(ctx, ns.as_ref()) && cap >= Some(Role::Admin);
    let role = repo.as_ref().and_then(|r| r.role).min(cap);
    let public_read = need == Need::Read && repo.as_ref().is_some_and(|r| r.repository.public);
    let held = match need {
        Need::Read => role.is_some(),
        Need::Write => role >= Some(Role::Write),
        Need::Admin => role >= Some(Role::Admin),
    };
    caller.require(held || namespace_admin || public_read)?;
    match repo {
        Some(r) if r.repository.is_image && r.repository.namespace_enabled => Ok(Allowed {
            repository_id: r.repository.id,
            namespace_id: r.repository.namespace_id,
            organization: ns.as_ref().is_some_and(|n| n.organization),
            role,
            namespace_admin,
        }),
        _ => Err(Refused::NotFound),
    }
}

/// `POST /api/v1/repository`: a repository in `namespace` (default: the caller's own), with
/// its description and `create_repo` log in one transaction.
pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    namespace: Option<&str>,
    name: &str,
    public: bool,
    description: &str,
) -> Result<(), Refused> {
    let Some(user) = caller.user.as_ref() else {
        return Err(Refused::Invalid("Must provide a namespace or must be logged in.".into()));
    };
    let ns_name = namespace.unwrap_or(&user.username);
    let ns = ctx.store.namespace_access(ns_name, Some(user.id)).await?;
    let full_access_superuser = ctx.config.feature_superusers_full_access.0 && caller.is_superuser(ctx);
    let may = ns.as_ref().and_then(|n| n.role).is_some_and(|r| r >= NamespaceRole::Creator)
        || full_access_superuser;
    caller.require(may && caller.has_scope(Scope::RepoCreate))?;
    let Some(ns) = ns else { return Err(Refused::Denied(super::access::ApiDenied::Forbidden)) };
    let log = entry(caller, origin, "create_repo", json!({"namespace": ns_name, "repo": name}));
    let (_, created) = ctx
        .store
        .repository_create_logged(ns.id, name, public, user.id, description, full_access_superuser, log)
        .await?;
    if !created {
        return Err(Refused::Invalid("Repository already exists".into()));
    }
    Ok(())
}

/// `GET /api/v1/repository/{ns}/{name}`: the repository, the caller's standing, its alive tags.
pub async fn detail(
    ctx: &Context,
    caller: &ApiCaller,
    namespace: &str,
    name: &str,
    include_tags: bool,
) -> Result<(RepositoryDetail, Allowed, Vec<TagSummary>), Refused> {
    let allowed = authorize(ctx, caller, namespace, name, Need::Read).await?;
    let d = ctx.store.repository_detail(namespace, name, caller.user_id()).await?.ok_or(Refused::NotFound)?;
    let tags = if include_tags { ctx.store.active_tags(d.id).await? } else { Vec::new() };
    Ok((d, allowed, tags))
}

/// Days of action counts `includeStats` covers (Quay's `MAX_DAYS_IN_3_MONTHS`).
pub const STATS_DAYS: i64 = 92;

/// A repository's daily action counts over the last [`STATS_DAYS`] days (`includeStats`):
/// `(YYYY-MM-DD, count)` as stored; the caller already passed [`detail`]'s check.
pub async fn stats(
    ctx: &Context,
    repository_id: i64,
    today: time::Date,
) -> Result<Vec<(String, i64)>, Refused> {
    let since = today - time::Duration::days(STATS_DAYS);
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let since = since.format(&fmt).map_err(|e| Refused::Other(e.into()))?;
    Ok(ctx.store.action_counts(repository_id, &since).await?)
}

/// `PUT /api/v1/repository/{ns}/{name} {description}` (write).
pub async fn set_description(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    namespace: &str,
    name: &str,
    description: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, namespace, name, Need::Write).await?;
    let log = entry(
        caller,
        origin,
        "set_repo_description",
        json!({"description": description, "namespace": namespace, "repo": name}),
    );
    Ok(ctx.store.repository_set_description(a.repository_id, description, log).await?)
}

/// `POST /api/v1/repository/{ns}/{name}/changevisibility` (admin).
pub async fn set_visibility(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    namespace: &str,
    name: &str,
    public: bool,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, namespace, name, Need::Admin).await?;
    let visibility = if public { "public" } else { "private" };
    let log = entry(
        caller,
        origin,
        "change_repo_visibility",
        json!({"namespace": namespace, "repo": name, "visibility": visibility}),
    );
    Ok(ctx.store.repository_set_visibility(a.repository_id, public, log).await?)
}

/// `PUT /api/v1/repository/{ns}/{name}/changestate` (admin; the route answers only with
/// `FEATURE_REPO_MIRROR`): `state` is
/// `NORMAL`, `READ_ONLY` or `MIRROR`. Once it returns, no push, tag change or delete commits in a
/// state that refuses it (`quay.repository_set_state`).
pub async fn set_state(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    namespace: &str,
    name: &str,
    state: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, namespace, name, Need::Admin).await?;
    let value = match state {
        "NORMAL" => quay_core::repositories::STATE_NORMAL,
        "READ_ONLY" => quay_core::repositories::STATE_READ_ONLY,
        "MIRROR" => quay_core::repositories::STATE_MIRROR,
        other => return Err(Refused::Invalid(format!("{other} is not a valid Repository state."))),
    };
    let log = entry(
        caller,
        origin,
        "change_repo_state",
        json!({"namespace": namespace, "repo": name, "state_changed": state}),
    );
    Ok(ctx.store.repository_set_state(a.repository_id, value, log).await?)
}

/// Who lists repositories: the caller, unless its token may not read repositories (then it
/// sees what anonymous callers see).
fn reader(caller: &ApiCaller) -> Option<i64> {
    caller.user_id().filter(|_| caller.has_scope(Scope::RepoRead))
}

/// Repositories per `/api/v1/repository` page (Quay ignores `limit` here).
pub const PAGE_SIZE: i64 = 100;

/// One page of `GET /api/v1/repository` after repository id `after`; the second value is
/// whether more follow.
pub async fn list(
    ctx: &Context,
    caller: &ApiCaller,
    filter: &ListFilter,
    after: i64,
) -> Result<(Vec<RepositoryListed>, bool), Refused> {
    let mut page = ctx.store.repository_page(reader(caller), filter, after, PAGE_SIZE + 1).await?;
    let more = page.len() as i64 > PAGE_SIZE;
    page.truncate(PAGE_SIZE as usize);
    Ok((page, more))
}

/// `POST /api/v1/user/starred`: stars a repository the caller can read; `false` when there is
/// none it can read by that name (Quay answers 200 `null` then).
pub async fn star(ctx: &Context, caller: &ApiCaller, namespace: &str, name: &str) -> Result<bool, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(Scope::RepoRead))?;
    match authorize(ctx, caller, namespace, name, Need::Read).await {
        Ok(a) => {
            ctx.store.star_add(user.id, a.repository_id).await?;
            Ok(true)
        }
        Err(Refused::Denied(_) | Refused::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `DELETE /api/v1/user/starred/{ns}/{name}` (idempotent).
pub async fn unstar(ctx: &Context, caller: &ApiCaller, namespace: &str, name: &str) -> Result<(), Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(Scope::UserAdmin))?;
    Ok(ctx.store.star_remove(user.id, namespace, name).await?)
}

/// `GET /api/v1/user/starred`: the starred repositories the caller can still read.
pub async fn starred(ctx: &Context, caller: &ApiCaller) -> Result<Vec<RepositoryListed>, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(Scope::UserAdmin))?;
    let filter = ListFilter { namespace: None, starred_only: true, include_public: true, popularity: false };
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = ctx.store.repository_page(Some(user.id), &filter, after, PAGE_SIZE).await?;
        let full = page.len() as i64 == PAGE_SIZE;
        after = page.last().map_or(after, |r| r.id);
        out.extend(page);
        if !full || out.len() >= 10_000 {
            return Ok(out);
        }
    }
}

/// `DELETE /api/v1/repository/{ns}/{name}` (admins): marked for deletion at once, purged by the
/// repositorygc job. A namespace admin deleting a missing repository succeeds (as in Quay).
pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    namespace: &str,
    name: &str,
) -> Result<(), Refused> {
    let a = match authorize(ctx, caller, namespace, name, Need::Admin).await {
        Err(Refused::NotFound) => return Ok(()),
        r => r?,
    };
    let log = entry(caller, origin, "delete_repo", json!({"namespace": namespace, "repo": name}));
    match ctx.store.repository_delete_logged(a.repository_id, log).await {
        Err(crate::store::StoreError::Rule { code: quay_core::rules::Rule::RepositoryUnknown, .. }) => Ok(()),
        r => Ok(r?),
    }
}

/// Results per `/api/v1/find/repositories` page (Quay's).
pub const SEARCH_PAGE: i64 = 10;

/// `GET /api/v1/find/repositories?query&page`: repositories the caller can read whose name
/// contains `query`; the second value says whether more follow.
pub async fn search(
    ctx: &Context,
    caller: &ApiCaller,
    query: &str,
    page: i64,
) -> Result<(Vec<crate::store::repositories::Found>, bool), Refused> {
    let offset = (page.max(1) - 1).saturating_mul(SEARCH_PAGE);
    let mut found = ctx.store.repository_search(reader(caller), query, SEARCH_PAGE + 1, offset).await?;
    let more = found.len() as i64 > SEARCH_PAGE;
    found.truncate(SEARCH_PAGE as usize);
    Ok((found, more))
}
