//! Repository permissions for `/api/v1` (repository admins): users' and teams' roles, listed,
//! read, set and removed, each write with its action log in the same core call.

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use super::repositories::{Need, authorize};
use crate::store::StoreError;
use crate::store::permissions::UserGrant;
use quay_core::permissions::{Grantee, Role};
use quay_core::rules::Rule;
use serde_json::json;

/// "User does not have permission for repo." (a message on GET, a problem on DELETE).
pub const NO_PERMISSION: &str = "User does not have permission for repo.";

/// The users with a direct permission, and whether the namespace is an organization.
pub async fn users(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
) -> Result<(Vec<UserGrant>, bool), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    Ok((ctx.store.user_grants(a.repository_id).await?, a.organization))
}

/// One user's direct permission (`Refused::Rule(PermissionUnknown)` when it has none).
pub async fn user(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    username: &str,
) -> Result<(UserGrant, bool), Refused> {
    let (all, org) = users(ctx, caller, ns, repo).await?;
    let g = all.into_iter().find(|g| g.username == username);
    g.map(|g| (g, org)).ok_or(Refused::Rule { code: Rule::PermissionUnknown, message: NO_PERMISSION.into() })
}

async fn user_id(ctx: &Context, username: &str) -> Result<i64, Refused> {
    match ctx.store.account_by_name(username).await? {
        Some(a) if !a.organization => Ok(a.id),
        _ => Err(Refused::Invalid(format!("Invalid username: {username}"))),
    }
}

/// Sets a user's role (`change_repo_permission`).
pub async fn set_user(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    username: &str,
    role: Role,
) -> Result<(UserGrant, bool), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    let uid = user_id(ctx, username).await?;
    let log = entry(
        caller,
        origin,
        "change_repo_permission",
        json!({"namespace": ns, "repo": repo, "role": role.as_str(), "username": username}),
    );
    match ctx.store.permission_set(a.repository_id, Grantee::User(uid), role, log).await {
        Err(StoreError::Rule { code: Rule::UserUnknown, .. }) => {
            return Err(Refused::Invalid(format!("Invalid username: {username}")));
        }
        r => r?,
    }
    user(ctx, caller, ns, repo, username).await
}

/// Removes a user's permission (`delete_repo_permission`).
pub async fn delete_user(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    username: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    let Ok(uid) = user_id(ctx, username).await else {
        return Err(Refused::Rule { code: Rule::PermissionUnknown, message: NO_PERMISSION.into() });
    };
    let log = entry(
        caller,
        origin,
        "delete_repo_permission",
        json!({"namespace": ns, "repo": repo, "username": username}),
    );
    Ok(ctx.store.permission_delete(a.repository_id, Grantee::User(uid), log).await?)
}

/// Every role a user holds on the repository, directly and through teams.
pub async fn transitive(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    username: &str,
) -> Result<Vec<String>, Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    let uid = user_id(ctx, username).await?;
    Ok(ctx.store.transitive_roles(a.repository_id, uid).await?)
}

/// `(team, role)` of every team permission.
pub async fn teams(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
) -> Result<Vec<(String, String)>, Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    Ok(ctx.store.team_grants(a.repository_id).await?)
}

/// Sets a team's role (`change_repo_permission`); an unknown team is Quay's 400.
pub async fn set_team(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    team: &str,
    role: Role,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    let no_team = || Refused::Invalid(format!("No team {team} in organization {ns}"));
    let t = ctx.store.team_by_name(a.namespace_id, team).await?.ok_or_else(no_team)?;
    let log = entry(
        caller,
        origin,
        "change_repo_permission",
        json!({"repo": repo, "role": role.as_str(), "team": team}),
    );
    match ctx.store.permission_set(a.repository_id, Grantee::Team(t.id), role, log).await {
        Err(StoreError::Rule { code: Rule::TeamUnknown, .. }) => Err(no_team()),
        r => Ok(r?),
    }
}

/// Removes a team's permission (`delete_repo_permission`).
pub async fn delete_team(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    team: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Admin).await?;
    let t = ctx
        .store
        .team_by_name(a.namespace_id, team)
        .await?
        .ok_or_else(|| Refused::Invalid(format!("No team {team} in organization {ns}")))?;
    let log = entry(caller, origin, "delete_repo_permission", json!({"repo": repo, "team": team}));
    Ok(ctx.store.permission_delete(a.repository_id, Grantee::Team(t.id), log).await?)
}
