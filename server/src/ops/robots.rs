//! Robot accounts of organizations (their admins; members may list them without tokens) and of
//! the signed-in user. Tokens are generated here and stored field-encrypted
//! (`DATABASE_SECRET_KEY`); every write is one core call with its action log.

use super::Context;
use super::Refused;
use super::access::{ApiCaller, Scope};
use super::log_entry::{Origin, entry};
use super::users::random_token;
use crate::store::robots::Robot;
use serde_json::{Value, json};

/// Whose robots.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Organization(&'a str),
    /// The signed-in user's own.
    Caller,
}

/// A namespace whose robots the caller may see.
pub struct Namespace {
    pub id: i64,
    pub name: String,
    /// May see tokens and change robots.
    pub admin: bool,
}

/// The robot owner, checked: admins (and the user itself) may do everything; organization
/// members may only list (`list_only`).
async fn namespace(
    ctx: &Context,
    caller: &ApiCaller,
    owner: Owner<'_>,
    list_only: bool,
) -> Result<Namespace, Refused> {
    match owner {
        Owner::Caller => {
            let user = caller.signed_in()?;
            caller.require(caller.has_scope(Scope::UserAdmin))?;
            Ok(Namespace { id: user.id, name: user.username.clone(), admin: true })
        }
        Owner::Organization(org) => {
            let ns = ctx.store.namespace_access(org, caller.user_id()).await?;
            let admin = caller.administers(ctx, ns.as_ref());
            let member = ns.as_ref().is_some_and(|n| n.role.is_some());
            caller.require(admin || (list_only && member))?;
            match ns {
                Some(n) if n.organization && n.enabled => {
                    Ok(Namespace { id: n.id, name: org.to_string(), admin })
                }
                _ => Err(Refused::NotFound),
            }
        }
    }
}

fn unknown_robot() -> Refused {
    Refused::Rule {
        code: quay_core::rules::Rule::RobotUnknown,
        message: "Could not find robot with specified username".into(),
    }
}

async fn find(ctx: &Context, ns: &Namespace, short: &str) -> Result<Robot, Refused> {
    let name = format!("{}+{short}", ns.name);
    let all = ctx.store.robots_of(&ns.name).await?;
    all.into_iter().find(|r| r.name == name).ok_or_else(unknown_robot)
}

fn encrypt(ctx: &Context, token: &str) -> Result<String, Refused> {
    let enc = ctx.encrypter.as_ref().ok_or_else(|| {
        Refused::Invalid("Robot accounts need DATABASE_SECRET_KEY in the configuration".into())
    })?;
    enc.encrypt(token, None).map_err(|e| Refused::Other(anyhow::anyhow!("encrypting a robot token: {e}")))
}

/// The plain token of a robot (for admins).
pub fn token(ctx: &Context, r: &Robot) -> Option<String> {
    let enc = ctx.encrypter.as_ref()?;
    r.encrypted_token.as_deref().and_then(|t| enc.decrypt(t).ok())
}

/// Creates robot `short` (`PUT …/robots/{short}`). Returns it and its token.
pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    owner: Owner<'_>,
    short: &str,
    description: Option<&str>,
    metadata: Option<&Value>,
) -> Result<(Robot, String), Refused> {
    let ns = namespace(ctx, caller, owner, false).await?;
    let token = random_token(64);
    let encrypted = encrypt(ctx, &token)?;
    let unstructured = metadata.map_or_else(|| "{}".to_string(), Value::to_string);
    let log = entry(
        caller,
        origin,
        "create_robot",
        json!({"description": description, "robot": short, "unstructured_metadata": metadata}),
    );
    ctx.store.robot_create(ns.id, short, description.unwrap_or(""), &unstructured, &encrypted, log).await?;
    Ok((find(ctx, &ns, short).await?, token))
}

/// One robot with its token (admins).
pub async fn get(
    ctx: &Context,
    caller: &ApiCaller,
    owner: Owner<'_>,
    short: &str,
) -> Result<(Robot, Option<String>), Refused> {
    let ns = namespace(ctx, caller, owner, false).await?;
    let r = find(ctx, &ns, short).await?;
    let t = token(ctx, &r);
    Ok((r, t))
}

/// A robot in a list, with what was asked for.
pub struct Listed {
    pub robot: Robot,
    pub token: Option<String>,
    /// Repository names and team names, when permissions were asked for.
    pub permissions: Option<(Vec<String>, Vec<String>)>,
}

/// The robots (members of an organization see them without tokens); `limit` keeps the first.
pub async fn list(
    ctx: &Context,
    caller: &ApiCaller,
    owner: Owner<'_>,
    with_token: bool,
    with_permissions: bool,
    limit: Option<usize>,
) -> Result<Vec<Listed>, Refused> {
    let ns = namespace(ctx, caller, owner, true).await?;
    let mut robots = ctx.store.robots_of(&ns.name).await?;
    if let Some(l) = limit {
        robots.truncate(l);
    }
    let mut out = Vec::with_capacity(robots.len());
    for r in robots {
        let token = (with_token && ns.admin).then(|| token(ctx, &r)).flatten();
        let permissions = if with_permissions && ns.admin {
            let repos = ctx.store.robot_grants(r.id).await?.into_iter().map(|(n, _, _)| n).collect();
            Some((repos, ctx.store.robot_teams(r.id).await?))
        } else {
            None
        };
        out.push(Listed { robot: r, token, permissions });
    }
    Ok(out)
}

/// A new token for a robot (`regenerate_robot_token`).
pub async fn regenerate(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    owner: Owner<'_>,
    short: &str,
) -> Result<(Robot, String), Refused> {
    let ns = namespace(ctx, caller, owner, false).await?;
    let r = find(ctx, &ns, short).await?;
    let token = random_token(64);
    let encrypted = encrypt(ctx, &token)?;
    let log = entry(caller, origin, "regenerate_robot_token", json!({"robot": short}));
    ctx.store.robot_set_token(r.id, &encrypted, log).await?;
    Ok((find(ctx, &ns, short).await?, token))
}

/// Deletes a robot and everything naming it (`delete_robot`).
pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    owner: Owner<'_>,
    short: &str,
) -> Result<(), Refused> {
    let ns = namespace(ctx, caller, owner, false).await?;
    let r = find(ctx, &ns, short).await?;
    let log = entry(caller, origin, "delete_robot", json!({"robot": short}));
    ctx.store.robot_delete(r.id, log).await?;
    super::access::forget_validated_tokens();
    Ok(())
}

/// `(repository, public, role)` of a robot's permissions.
pub async fn permissions(
    ctx: &Context,
    caller: &ApiCaller,
    owner: Owner<'_>,
    short: &str,
) -> Result<Vec<(String, bool, String)>, Refused> {
    let ns = namespace(ctx, caller, owner, false).await?;
    let r = find(ctx, &ns, short).await?;
    Ok(ctx.store.robot_grants(r.id).await?)
}
