//! Auto-prune policies over `/api/v1` (`FEATURE_AUTO_PRUNE`): an organization's (its admins), a
//! user's own (`/user/autoprunepolicy/`) and a repository's (its admins); each write one core
//! call with Quay's action log. The rules and the prune itself are the core's
//! (`quay_core::autoprune`); the worker applies them.

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use super::repositories::{Need, authorize};
use quay_core::autoprune::{Policy, Scope};
use serde_json::{Value, json};

/// Whose policies a route names.
pub enum Owner<'a> {
    Organization(&'a str),
    CurrentUser,
    Repository(&'a str, &'a str),
}

/// The scope and the names the logs carry (namespace, repository).
async fn resolve(
    ctx: &Context,
    caller: &ApiCaller,
    owner: &Owner<'_>,
) -> Result<(Scope, String, Option<String>), Refused> {
    if !ctx.config.feature_auto_prune.0 {
        return Err(Refused::NotFound);
    }
    match owner {
        Owner::Organization(org) => {
            let ns = ctx.store.namespace_access(org, caller.user_id()).await?;
            caller.require(caller.administers(ctx, ns.as_ref()))?;
            match ns {
                Some(ns) if ns.organization && ns.enabled => {
                    Ok((Scope::Namespace(ns.id), org.to_string(), None))
                }
                _ => Err(Refused::NotFound),
            }
        }
        Owner::CurrentUser => {
            let user = caller.signed_in()?;
            // Quay's require_user_admin: a token needs `user:admin` to touch its owner's policies.
            caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
            Ok((Scope::Namespace(user.id), user.username.clone(), None))
        }
        Owner::Repository(ns, name) => {
            let r = authorize(ctx, caller, ns, name, Need::Admin).await?;
            Ok((Scope::Repository(r.repository_id), ns.to_string(), Some(name.to_string())))
        }
    }
}

/// Quay's policy view.
pub fn view(uuid: &str, p: &Policy) -> Value {
    json!({
        "uuid": uuid,
        "method": p.method_name(),
        "value": p.value(),
        "tagPattern": p.tag_pattern,
        "tagPatternMatches": p.tag_pattern_matches,
    })
}

fn log(
    caller: &ApiCaller,
    origin: &Origin,
    action: &str,
    (scope, ns, repo): &(Scope, String, Option<String>),
    uuid: &str,
    p: Option<&Policy>,
) -> quay_core::logs::LogEntry {
    let of = match scope {
        Scope::Namespace(_) => "namespace",
        Scope::Repository(_) => "repository",
    };
    let mut m = json!({"namespace": ns, "policy_uuid": uuid});
    if let Some(p) = p {
        m["method"] = json!(p.method_name());
        m["value"] = p.value();
        m["tag_pattern"] = json!(p.tag_pattern);
        m["tag_pattern_matches"] = json!(p.tag_pattern_matches);
    }
    if let Some(r) = repo {
        m["repo"] = json!(r);
    }
    entry(caller, origin, &format!("{action}_{of}_autoprune_policy"), m)
}

pub async fn list(ctx: &Context, caller: &ApiCaller, owner: Owner<'_>) -> Result<Vec<Value>, Refused> {
    let (scope, ..) = resolve(ctx, caller, &owner).await?;
    Ok(ctx.store.autoprune_policies(scope).await?.iter().map(|(u, p)| view(u, p)).collect())
}

pub async fn get(ctx: &Context, caller: &ApiCaller, owner: Owner<'_>, uuid: &str) -> Result<Value, Refused> {
    let (scope, ..) = resolve(ctx, caller, &owner).await?;
    let all = ctx.store.autoprune_policies(scope).await?;
    all.iter().find(|(u, _)| u == uuid).map(|(u, p)| view(u, p)).ok_or(Refused::NotFound)
}

pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    owner: Owner<'_>,
    policy: Policy,
) -> Result<String, Refused> {
    let target = resolve(ctx, caller, &owner).await?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let entry = log(caller, origin, "create", &target, &uuid, Some(&policy));
    ctx.store.autoprune_create(target.0, &uuid, policy, entry).await?;
    Ok(uuid)
}

pub async fn update(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    owner: Owner<'_>,
    uuid: &str,
    policy: Policy,
) -> Result<(), Refused> {
    let target = resolve(ctx, caller, &owner).await?;
    let entry = log(caller, origin, "update", &target, uuid, Some(&policy));
    match ctx.store.autoprune_update(target.0, uuid, policy, entry).await {
        Err(crate::store::StoreError::Rule { code: quay_core::rules::Rule::PolicyUnknown, .. }) => {
            Err(Refused::NotFound)
        }
        r => Ok(r?),
    }
}

pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    owner: Owner<'_>,
    uuid: &str,
) -> Result<(), Refused> {
    let target = resolve(ctx, caller, &owner).await?;
    let entry = log(caller, origin, "delete", &target, uuid, None);
    match ctx.store.autoprune_delete(target.0, uuid, entry).await {
        Err(crate::store::StoreError::Rule { code: quay_core::rules::Rule::PolicyUnknown, .. }) => {
            Err(Refused::NotFound)
        }
        r => Ok(r?),
    }
}
