//! Teams of organizations and entity search for `/api/v1`. Team changes are for organization
//! admins; a team's members are visible to admins and to the team's own members.

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use crate::store::teams::{Person, Team};
use quay_core::permissions::NamespaceAccess;
use quay_core::rules::Rule;
use serde_json::json;

async fn administered_org(ctx: &Context, caller: &ApiCaller, org: &str) -> Result<NamespaceAccess, Refused> {
    let ns = ctx.store.namespace_access(org, caller.user_id()).await?;
    caller.require(caller.administers(ctx, ns.as_ref()))?;
    match ns {
        Some(ns) if ns.organization && ns.enabled => Ok(ns),
        _ => Err(Refused::NotFound),
    }
}

/// `PUT /api/v1/organization/{org}/team/{team} {role, description}`: creates or updates the
/// team. Returns it and whether it is new.
pub async fn set(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    team: &str,
    role: &str,
    description: Option<&str>,
) -> Result<(Team, bool), Refused> {
    let ns = administered_org(ctx, caller, org).await?;
    let log = entry(caller, origin, "org_create_team", json!({}));
    let (id, created) = ctx.store.team_set(ns.id, team, role, description, log).await?;
    let t = ctx.store.team_by_name(ns.id, team).await?.unwrap_or(Team {
        id,
        role: role.to_string(),
        description: description.unwrap_or("").to_string(),
    });
    Ok((t, created))
}

/// `PUT /api/v1/organization/{org}/team/{team}/members/{member}`: adds a person or one of the
/// organization's robots at once (no invitation: `FEATURE_MAILING` is off).
pub async fn add_member(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    team: &str,
    member: &str,
) -> Result<Person, Refused> {
    let ns = administered_org(ctx, caller, org).await?;
    let t = ctx.store.team_by_name(ns.id, team).await?.ok_or(Refused::NotFound)?;
    let unknown = || Refused::Invalid("Unknown user".into());
    let user = ctx.store.account_by_name(member).await?.ok_or_else(unknown)?;
    let log = entry(caller, origin, "org_add_team_member", json!({}));
    match ctx.store.team_member_add(t.id, user.id, log).await {
        Ok(_) => {}
        Err(crate::store::StoreError::Rule { code: Rule::UserUnknown, .. }) => return Err(unknown()),
        Err(e) => return Err(e.into()),
    }
    Ok(Person { username: user.username, email: user.email, robot: user.robot, org_member: true })
}

/// `GET /api/v1/organization/{org}/team/{team}/members`: the members, and whether the caller
/// may change them.
pub async fn members(
    ctx: &Context,
    caller: &ApiCaller,
    org: &str,
    team: &str,
) -> Result<(Vec<Person>, bool), Refused> {
    let ns = ctx.store.namespace_access(org, caller.user_id()).await?;
    let admin = caller.administers(ctx, ns.as_ref());
    let ns = match ns {
        Some(ns) if ns.organization && ns.enabled => ns,
        _ => {
            caller.require(admin)?;
            return Err(Refused::NotFound);
        }
    };
    let t = ctx.store.team_by_name(ns.id, team).await?;
    let member = match (&t, caller.user_id()) {
        (Some(t), Some(uid)) => ctx.store.is_team_member(t.id, uid).await?,
        _ => false,
    };
    caller.require(admin || member)?;
    let t = t.ok_or(Refused::NotFound)?;
    Ok((ctx.store.team_members(t.id).await?, admin))
}

/// What an entity search found.
#[derive(Debug, Clone, Default)]
pub struct Entities {
    pub teams: Vec<String>,
    pub users: Vec<Person>,
    /// The namespace itself, when it is an organization the caller administers and its name
    /// starts with the prefix (`includeOrgs`).
    pub organization: Option<crate::store::users::Account>,
    /// The search was about an organization (results say whether each user is in it).
    pub in_organization: bool,
}

/// `GET /api/v1/entities/{prefix}?namespace&includeTeams&includeOrgs`.
pub async fn search(
    ctx: &Context,
    caller: &ApiCaller,
    prefix: &str,
    namespace: Option<&str>,
    include_teams: bool,
    include_orgs: bool,
) -> Result<Entities, Refused> {
    let mut found = Entities::default();
    let ns = match namespace {
        Some(n) => ctx.store.namespace_access(n, caller.user_id()).await?,
        None => None,
    };
    let org = ns.as_ref().filter(|n| n.organization);
    found.in_organization = org.is_some();
    if let Some(o) = org {
        if include_teams && o.role.is_some() {
            found.teams = ctx.store.teams_by_prefix(o.id, prefix).await?;
        }
        if include_orgs
            && caller.administers(ctx, Some(o))
            && let Some(n) = namespace.filter(|n| n.starts_with(prefix))
        {
            found.organization = ctx.store.account_by_name(n).await?;
        }
    }
    // Robots of the namespace are found by their full name, for its admins.
    let robots = namespace.filter(|_| caller.administers(ctx, ns.as_ref()));
    found.users = ctx.store.users_by_prefix(prefix, robots, org.map(|o| o.id), 10).await?;
    Ok(found)
}

/// `GET /api/v1/organization/{org}/team/{team}/permissions`: `(repository, public, role)` of
/// the team's permissions, for admins and the team's members.
pub async fn permissions(
    ctx: &Context,
    caller: &ApiCaller,
    org: &str,
    team: &str,
) -> Result<Vec<(String, bool, String)>, Refused> {
    let ns = ctx.store.namespace_access(org, caller.user_id()).await?;
    let admin = caller.administers(ctx, ns.as_ref());
    let Some(ns) = ns.filter(|n| n.organization && n.enabled) else {
        caller.require(admin)?;
        return Err(Refused::NotFound);
    };
    let t = ctx.store.team_by_name(ns.id, team).await?;
    let member = match (&t, caller.user_id()) {
        (Some(t), Some(uid)) => ctx.store.is_team_member(t.id, uid).await?,
        _ => false,
    };
    caller.require(admin || member)?;
    let t = t.ok_or(Refused::NotFound)?;
    Ok(ctx.store.team_repository_grants(t.id).await?)
}

/// `DELETE …/team/{team}/members/{member}`.
pub async fn remove_member(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    team: &str,
    member: &str,
) -> Result<(), Refused> {
    let ns = administered_org(ctx, caller, org).await?;
    let t = ctx.store.team_by_name(ns.id, team).await?.ok_or(Refused::NotFound)?;
    let user =
        ctx.store.account_by_name(member).await?.ok_or_else(|| Refused::Invalid("Unknown user".into()))?;
    let log = entry(caller, origin, "org_remove_team_member", json!({}));
    match ctx.store.team_member_remove(t.id, user.id, log).await {
        Err(crate::store::StoreError::Rule { code: Rule::UserUnknown, message }) => {
            Err(Refused::Invalid(message))
        }
        r => Ok(r?),
    }
}

/// `DELETE /api/v1/organization/{org}/team/{team}`.
pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    team: &str,
) -> Result<(), Refused> {
    let ns = administered_org(ctx, caller, org).await?;
    let Some(t) = ctx.store.team_by_name(ns.id, team).await? else {
        return Err(Refused::Rule {
            code: Rule::TeamUnknown,
            message: format!("Team '{team}' is not a team in org '{org}'"),
        });
    };
    let log = entry(caller, origin, "org_delete_team", json!({}));
    Ok(ctx.store.team_delete(t.id, log).await?)
}
