//! Default permissions of an organization (Quay's permission prototypes), for its admins:
//! list, create, change the role, delete; each write one core call with its action log.

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use crate::store::prototypes::Prototype;
use quay_core::permissions::{Grantee, NamespaceAccess, Role};
use quay_core::rules::Rule;
use serde_json::{Value, json};

async fn administered(ctx: &Context, caller: &ApiCaller, org: &str) -> Result<NamespaceAccess, Refused> {
    let ns = ctx.store.namespace_access(org, caller.user_id()).await?;
    caller.require(caller.administers(ctx, ns.as_ref()))?;
    match ns {
        Some(ns) if ns.organization && ns.enabled => Ok(ns),
        _ => Err(Refused::NotFound),
    }
}

pub async fn list(ctx: &Context, caller: &ApiCaller, org: &str) -> Result<Vec<Prototype>, Refused> {
    let ns = administered(ctx, caller, org).await?;
    Ok(ctx.store.prototypes_of(ns.id).await?)
}

/// The metadata Quay logs for a default permission.
fn log_metadata(caller: &ApiCaller, p: &Prototype) -> Value {
    let mut m = json!({
        "activating_username": p.activating_user.as_ref().map(|u| u.username.clone()),
        "prototypeid": p.uuid,
        "role": p.role,
        "username": caller.username(),
    });
    match (&p.delegate_user, &p.delegate_team) {
        (Some(u), _) => m["delegate_user"] = json!(u.username),
        (None, Some(t)) => m["delegate_team"] = json!(t),
        (None, None) => {}
    }
    m
}

/// Who a default permission is for, by name.
#[derive(Debug, Clone, Copy)]
pub enum Delegate<'a> {
    User(&'a str),
    Team(&'a str),
}

pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    delegate: Delegate<'_>,
    activating_user: Option<&str>,
    role: Role,
) -> Result<Prototype, Refused> {
    let ns = administered(ctx, caller, org).await?;
    let who = match delegate {
        Delegate::Team(t) => match ctx.store.team_by_name(ns.id, t).await? {
            Some(team) => Grantee::Team(team.id),
            None => {
                return Err(Refused::Rule {
                    code: Rule::TeamUnknown,
                    message: format!("('Team does not exist: %s/%s', '{org}', '{t}')"),
                });
            }
        },
        Delegate::User(u) => match ctx.store.account_by_name(u).await? {
            Some(a) if !a.organization => Grantee::User(a.id),
            _ => {
                return Err(Refused::Rule { code: Rule::UserUnknown, message: format!("Unknown user: {u}") });
            }
        },
    };
    let activating = match activating_user {
        Some(name) => match ctx.store.account_by_name(name).await? {
            Some(a) if !a.organization => Some(a.id),
            _ => {
                return Err(Refused::Rule {
                    code: Rule::UserUnknown,
                    message: format!("Unknown user: {name}"),
                });
            }
        },
        None => None,
    };
    let uuid = uuid::Uuid::new_v4().to_string();
    let described = Prototype {
        uuid: uuid.clone(),
        role: role.as_str().to_string(),
        activating_user: activating_user.map(|n| crate::store::teams::Person {
            username: n.to_string(),
            email: String::new(),
            robot: false,
            org_member: false,
        }),
        delegate_user: match delegate {
            Delegate::User(u) => Some(crate::store::teams::Person {
                username: u.to_string(),
                email: String::new(),
                robot: false,
                org_member: false,
            }),
            Delegate::Team(_) => None,
        },
        delegate_team: match delegate {
            Delegate::Team(t) => Some(t.to_string()),
            Delegate::User(_) => None,
        },
    };
    let log = entry(caller, origin, "create_prototype_permission", log_metadata(caller, &described));
    ctx.store.prototype_create(ns.id, &uuid, activating, who, role, log).await?;
    let all = ctx.store.prototypes_of(ns.id).await?;
    all.into_iter().find(|p| p.uuid == uuid).ok_or(Refused::NotFound)
}

async fn find(ctx: &Context, org_id: i64, uuid: &str) -> Result<Prototype, Refused> {
    let all = ctx.store.prototypes_of(org_id).await?;
    all.into_iter().find(|p| p.uuid == uuid).ok_or(Refused::NotFound)
}

pub async fn set_role(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    uuid: &str,
    role: Role,
) -> Result<Prototype, Refused> {
    let ns = administered(ctx, caller, org).await?;
    let before = find(ctx, ns.id, uuid).await?;
    let mut m = log_metadata(caller, &Prototype { role: role.as_str().to_string(), ..before.clone() });
    m["original_role"] = json!(before.role);
    let log = entry(caller, origin, "modify_prototype_permission", m);
    match ctx.store.prototype_set_role(ns.id, uuid, role, log).await {
        Err(crate::store::StoreError::Rule { code: Rule::PrototypeUnknown, .. }) => {
            return Err(Refused::NotFound);
        }
        r => r?,
    };
    find(ctx, ns.id, uuid).await
}

pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    org: &str,
    uuid: &str,
) -> Result<(), Refused> {
    let ns = administered(ctx, caller, org).await?;
    let before = find(ctx, ns.id, uuid).await?;
    let log = entry(caller, origin, "delete_prototype_permission", log_metadata(caller, &before));
    match ctx.store.prototype_delete(ns.id, uuid, log).await {
        Err(crate::store::StoreError::Rule { code: Rule::PrototypeUnknown, .. }) => Err(Refused::NotFound),
        r => Ok(r?),
    }
}
