//! Organizations for `/api/v1`: creating one, its view (what a member, an admin or an outsider
//! sees), members and collaborators. Permission is decided before existence, as Quay does: an
//! outsider asking for an unknown organization's members gets 403, an admin 404.

use super::Context;
use super::Refused;
use super::access::{ApiCaller, Scope};
use super::log_entry::{Origin, entry};
use crate::store::organizations::{Member, TeamSummary};
use crate::store::users::Account;
use quay_core::permissions::NamespaceAccess;
use serde_json::json;

/// An organization as its view needs it.
#[derive(Debug, Clone)]
pub struct Organization {
    pub account: Account,
    pub is_admin: bool,
    pub is_member: bool,
    /// The teams, for members and admins.
    pub teams: Option<Vec<TeamSummary>>,
}

/// `POST /api/v1/organization/`: any signed-in person (with `user:admin` on a token).
pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    name: &str,
    email: Option<&str>,
) -> Result<(), Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(Scope::UserAdmin))?;
    let log = entry(caller, origin, "org_create", json!({"email": email, "namespace": name}));
    let exp = i64::try_from(ctx.config.default_tag_expiration_s()).unwrap_or(1_209_600);
    let (_, created) = ctx.store.organization_create_logged(name, user.id, email, exp, log).await?;
    if !created {
        return Err(Refused::Rule {
            code: quay_core::rules::Rule::NamespaceExists,
            message: "A user or organization with this name already exists".into(),
        });
    }
    Ok(())
}

async fn organization_access(
    ctx: &Context,
    caller: &ApiCaller,
    name: &str,
) -> Result<NamespaceAccess, Refused> {
    match ctx.store.namespace_access(name, caller.user_id()).await? {
        Some(ns) if ns.organization && ns.enabled => Ok(ns),
        _ => Err(Refused::NotFound),
    }
}

/// `GET /api/v1/organization/{name}`: everyone may see it exists; members see its teams, admins
/// its settings.
pub async fn view(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<Organization, Refused> {
    let ns = organization_access(ctx, caller, name).await?;
    let account = ctx.store.account_by_name(name).await?.ok_or(Refused::NotFound)?;
    let is_admin = caller.administers(ctx, Some(&ns));
    let is_member = ns.role.is_some() || is_admin;
    let teams =
        if is_member { Some(ctx.store.organization_teams(ns.id, caller.user_id()).await?) } else { None };
    Ok(Organization { account, is_admin, is_member, teams })
}

/// The namespace an organization admin acts on (401/403 before 404).
async fn administered(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<NamespaceAccess, Refused> {
    let ns = ctx.store.namespace_access(name, caller.user_id()).await?;
    caller.require(caller.administers(ctx, ns.as_ref()))?;
    match ns {
        Some(ns) if ns.organization && ns.enabled => Ok(ns),
        _ => Err(Refused::NotFound),
    }
}

/// `GET /api/v1/organization/{name}/members` (admins).
pub async fn members(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<Vec<Member>, Refused> {
    let ns = administered(ctx, caller, name).await?;
    Ok(ctx.store.organization_members(ns.id).await?)
}

/// `GET /api/v1/organization/{name}/members/{member}` (admins).
pub async fn member(ctx: &Context, caller: &ApiCaller, name: &str, member: &str) -> Result<Member, Refused> {
    let ns = administered(ctx, caller, name).await?;
    let all = ctx.store.organization_members(ns.id).await?;
    all.into_iter().find(|m| m.username == member).ok_or(Refused::NotFound)
}

/// `GET /api/v1/organization/{name}/collaborators` (admins).
pub async fn collaborators(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<Vec<Member>, Refused> {
    let ns = administered(ctx, caller, name).await?;
    Ok(ctx.store.organization_collaborators(ns.id).await?)
}

/// `DELETE /api/v1/organization/{name}` (admins, with a fresh sign-in): disabled and renamed at
/// once, purged by the namespacegc job.
pub async fn delete(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<(), Refused> {
    let ns = administered(ctx, caller, name).await?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    ctx.store.namespace_delete(ns.id).await?;
    super::access::forget_validated_tokens();
    Ok(())
}

/// `DELETE /api/v1/superuser/organizations/{name}` (superusers, with a fresh sign-in): as the
/// owners' delete, for any organization.
pub async fn superuser_delete(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<(), Refused> {
    caller.require_superuser(ctx)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    let ns = ctx.store.namespace_access(name, caller.user_id()).await?;
    let Some(ns) = ns.filter(|n| n.organization && n.enabled) else { return Err(Refused::NotFound) };
    ctx.store.namespace_delete(ns.id).await?;
    super::access::forget_validated_tokens();
    Ok(())
}

/// `PUT /api/v1/superuser/organizations/{name} {name}` (superusers, with a fresh sign-in):
/// renames the organization and its robots; logged as Quay does (`org_change_name`). Returns
/// the new name and the e-mail.
pub async fn superuser_rename(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &super::log_entry::Origin,
    name: &str,
    new_name: Option<&str>,
) -> Result<(String, String), Refused> {
    caller.require_superuser(ctx)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    let account = ctx.store.account_by_name(name).await?.filter(|a| a.organization && a.enabled);
    let Some(account) = account else { return Err(Refused::NotFound) };
    if let Some(new) = new_name.filter(|n| *n != name) {
        let log = super::log_entry::entry(
            caller,
            origin,
            "org_change_name",
            serde_json::json!({"old_name": name, "new_name": new, "superuser": caller.username()}),
        );
        ctx.store.organization_rename(account.id, new, log).await?;
        super::access::forget_validated_tokens();
        return Ok((new.to_string(), account.email));
    }
    Ok((account.username, account.email))
}

/// Superusers: every organization.
pub async fn all(ctx: &Context, caller: &ApiCaller) -> Result<Vec<(String, String)>, Refused> {
    caller.require_superuser(ctx)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    Ok(ctx.store.all_organizations().await?)
}

/// `PUT /api/v1/organization/{name}` (admins): e-mail, invoicing and the time-machine window,
/// in one transaction with their logs; answers the organization's view after the change.
/// `tag_expiration_s` is ignored unless `FEATURE_CHANGE_TAG_EXPIRATION`, as in Quay.
pub async fn update(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    name: &str,
    mut changes: quay_core::organizations::Changes,
) -> Result<Organization, Refused> {
    let ns = administered(ctx, caller, name).await?;
    if !ctx.config.feature_change_tag_expiration.0 {
        changes.tag_expiration_s = None;
    }
    let log = entry(caller, origin, "org_change_email", json!({}));
    ctx.store.organization_update(ns.id, changes, log).await?;
    view(ctx, caller, name).await
}

/// `DELETE /api/v1/organization/{name}/members/{member}` (admins): the person leaves every team
/// and loses every direct permission in the organization; its only admin is refused.
pub async fn remove_member(
    ctx: &Context,
    caller: &ApiCaller,
    name: &str,
    member: &str,
) -> Result<(), Refused> {
    let ns = administered(ctx, caller, name).await?;
    let person = ctx.store.account_by_name(member).await?.filter(|a| !a.robot && !a.organization);
    let person = person.ok_or(Refused::NotFound)?;
    ctx.store.organization_member_remove(ns.id, person.id).await?;
    Ok(())
}

/// An organization's OAuth application as the caller may see it: the secret (decrypted),
/// redirect URI and avatar e-mail only for admins.
pub struct ApplicationView {
    pub app: crate::store::oauth::Application,
    pub client_secret: Option<String>,
    pub is_admin: bool,
}

/// `GET /api/v1/organization/{name}/applications` (admins).
pub async fn applications(
    ctx: &Context,
    caller: &ApiCaller,
    name: &str,
) -> Result<Vec<ApplicationView>, Refused> {
    let ns = administered(ctx, caller, name).await?;
    let apps = ctx.store.applications_of(ns.id).await?;
    Ok(apps
        .into_iter()
        .map(|app| {
            let client_secret = app
                .encrypted_secret
                .as_deref()
                .and_then(|s| ctx.encrypter.as_ref().and_then(|e| e.decrypt(s).ok()));
            ApplicationView { app, client_secret, is_admin: true }
        })
        .collect())
}

fn encrypt_secret(ctx: &Context, secret: &str) -> Result<String, Refused> {
    let enc = ctx.encrypter.as_ref().ok_or_else(|| {
        Refused::Invalid("OAuth applications need DATABASE_SECRET_KEY in the configuration".into())
    })?;
    enc.encrypt(secret, None).map_err(|e| Refused::Other(anyhow::anyhow!("encrypting a client secret: {e}")))
}

/// One application of the organization, as its admins see it.
pub async fn application(
    ctx: &Context,
    caller: &ApiCaller,
    name: &str,
    client_id: &str,
) -> Result<ApplicationView, Refused> {
    applications(ctx, caller, name)
        .await?
        .into_iter()
        .find(|a| a.app.client_id == client_id)
        .ok_or(Refused::NotFound)
}

fn app_log(
    caller: &ApiCaller,
    origin: &super::log_entry::Origin,
    kind: &str,
    name: &str,
    client_id: &str,
) -> quay_core::logs::LogEntry {
    super::log_entry::entry(
        caller,
        origin,
        kind,
        serde_json::json!({"application_name": name, "client_id": client_id}),
    )
}

/// `POST …/applications` (admins): a client id of 20 and a secret of 40 characters (kept
/// field-encrypted), logged as `create_application`.
pub async fn application_create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &super::log_entry::Origin,
    name: &str,
    fields: quay_core::oauth_apps::AppFields,
) -> Result<ApplicationView, Refused> {
    let ns = administered(ctx, caller, name).await?;
    if !ns.organization {
        return Err(Refused::NotFound);
    }
    let client_id = super::users::random_token(20);
    let secret = encrypt_secret(ctx, &super::users::random_token(40))?;
    let log = app_log(caller, origin, "create_application", &fields.name, &client_id);
    ctx.store.application_create(ns.id, &client_id, &secret, fields, log).await?;
    application(ctx, caller, name, &client_id).await
}

/// `PUT …/applications/{client_id}` (admins), logged as `update_application`.
pub async fn application_update(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &super::log_entry::Origin,
    name: &str,
    client_id: &str,
    fields: quay_core::oauth_apps::AppFields,
) -> Result<ApplicationView, Refused> {
    let ns = administered(ctx, caller, name).await?;
    let log = app_log(caller, origin, "update_application", &fields.name, client_id);
    match ctx.store.application_update(ns.id, client_id, fields, log).await {
        Err(crate::store::StoreError::Rule { code: quay_core::rules::Rule::ApplicationUnknown, .. }) => {
            return Err(Refused::NotFound);
        }
        r => r?,
    }
    application(ctx, caller, name, client_id).await
}

/// `POST …/applications/{client_id}/resetclientsecret` (admins): a new secret, logged as
/// `reset_application_client_secret`.
pub async fn application_reset_secret(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &super::log_entry::Origin,
    name: &str,
    client_id: &str,
) -> Result<ApplicationView, Refused> {
    let current = application(ctx, caller, name, client_id).await?;
    let ns = administered(ctx, caller, name).await?;
    let secret = encrypt_secret(ctx, &super::users::random_token(40))?;
    let log = app_log(caller, origin, "reset_application_client_secret", &current.app.name, client_id);
    ctx.store.application_set_secret(ns.id, client_id, &secret, log).await?;
    application(ctx, caller, name, client_id).await
}

/// `DELETE …/applications/{client_id}` (admins): with its tokens and codes, logged as
/// `delete_application`.
pub async fn application_delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &super::log_entry::Origin,
    name: &str,
    client_id: &str,
) -> Result<(), Refused> {
    let current = application(ctx, caller, name, client_id).await?;
    let ns = administered(ctx, caller, name).await?;
    let log = app_log(caller, origin, "delete_application", &current.app.name, client_id);
    ctx.store.application_delete(ns.id, client_id, log).await?;
    Ok(())
}
