//! People's accounts for `/api/v1`: the signed-in user, public profiles, sign-in, the first
//! user of an empty database (`initialize`), and superusers managing users. Every write goes
//! through one core call that also writes its action log (`quay.user_*`).

use super::access::{ApiCaller, ApiDenied, ApiUser};
use super::log_entry::{Origin, entry};
use super::{Context, Refused};
use crate::auth::password;
use crate::store::users::{Account, Membership};
use serde_json::json;

/// The caller's own account and the organizations it belongs to.
pub async fn current(ctx: &Context, caller: &ApiCaller) -> Result<(Account, Vec<Membership>), Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserRead))?;
    let account =
        ctx.store.account_by_uuid(&user.uuid).await?.ok_or(Refused::Denied(ApiDenied::Anonymous))?;
    let orgs = ctx.store.user_organizations(account.id).await?;
    Ok((account, orgs))
}

/// A person's public profile (not organizations or robots).
pub async fn profile(ctx: &Context, name: &str) -> Result<Account, Refused> {
    match ctx.store.account_by_name(name).await? {
        Some(a) if !a.organization && !a.robot => Ok(a),
        _ => Err(Refused::NotFound),
    }
}

/// The session of a user who signed in with a password, or why not.
pub async fn signin(ctx: &Context, origin: &Origin, username: &str, pw: &str) -> Result<ApiUser, Refused> {
    let user = verified_person(ctx, username, pw).await?;
    let Some(user) = user else { return Err(Refused::Denied(ApiDenied::Forbidden)) };
    let uuid = ctx.store.user_uuid(user.id).await?.unwrap_or_default();
    let signed_in = ApiUser { id: user.id, username: user.username.clone(), uuid };
    let mut log = entry(
        &ApiCaller::default(),
        origin,
        "login_success",
        json!({"type": "quayauth", "useragent": origin.user_agent.clone().unwrap_or_default()}),
    );
    log.account_id = Some(user.id);
    ctx.store.log_action(log).await?;
    Ok(signed_in)
}

/// `POST /api/v1/user/initialize`: the first user of an empty database (with
/// `FEATURE_USER_INITIALIZE`), and with `access_token` an OAuth token for automation. Returns the
/// account and the token.
pub async fn initialize(
    ctx: &Context,
    username: &str,
    pw: &str,
    email: Option<&str>,
    access_token: bool,
) -> Result<(Account, Option<String>), Refused> {
    if !ctx.config.feature_user_initialize.0 {
        return Err(Refused::NotFound);
    }
    password::check_policy(pw).map_err(|m| Refused::Invalid(format!("Invalid password: {m}")))?;
    let pw_hash = hash(pw).await?;
    let token = access_token.then(|| random_token(40));
    let stored_token = match &token {
        Some(t) => {
            let (name, code) = t.split_at(20);
            Some((name.to_string(), hash(code).await?, INITIALIZE_SCOPES.to_string()))
        }
        None => None,
    };
    let email = email.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    ctx.store.initialize_first_user(username, &email, &pw_hash, tag_expiration(ctx), stored_token).await?;
    let account = ctx.store.account_by_name(username).await?.ok_or(Refused::NotFound)?;
    ctx.first_user_created(&account.username);
    Ok((account, token))
}

/// Every scope: the token `initialize` hands out is the instance owner's automation token.
pub const INITIALIZE_SCOPES: &str =
    "org:admin repo:admin repo:create repo:read repo:write super:user user:admin user:read";

/// Superusers: one page of people in id order.
pub async fn list_people(
    ctx: &Context,
    caller: &ApiCaller,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Account>, Refused> {
    superuser(ctx, caller)?;
    Ok(ctx.store.people_page(after_id, limit).await?)
}

/// Superusers: one person.
pub async fn get_person(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<Account, Refused> {
    superuser(ctx, caller)?;
    profile(ctx, name).await
}

/// Superusers: creates a person with a generated password. Returns the account and the password.
pub async fn create_person(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    username: &str,
    email: Option<&str>,
) -> Result<(Account, String), Refused> {
    superuser(ctx, caller)?;
    let pw = random_token(32);
    let hash = hash(&pw).await?;
    let email = email.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let log = entry(
        caller,
        origin,
        "user_create",
        json!({"email": email, "username": username, "superuser": caller.username()}),
    );
    ctx.store.person_create(username, &email, Some(&hash), tag_expiration(ctx), Some(log)).await?;
    let account = ctx.store.account_by_name(username).await?.ok_or(Refused::NotFound)?;
    Ok((account, pw))
}

/// Superusers: sets a person's password.
pub async fn set_password(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    name: &str,
    pw: &str,
) -> Result<Account, Refused> {
    superuser(ctx, caller)?;
    let account = profile(ctx, name).await?;
    not_a_superuser(ctx, &account, "Cannot update a superuser")?;
    password::check_policy(pw).map_err(|m| Refused::Invalid(format!("Invalid password: {m}")))?;
    let hash = hash(pw).await?;
    let log = entry(
        caller,
        origin,
        "user_change_password",
        json!({"username": name, "superuser": caller.username()}),
    );
    ctx.store.person_set_password(account.id, &hash, Some(log)).await?;
    Ok(account)
}

/// The password in the form Quay hands out for Docker logins (`encrypted_password`): here the
/// field encryption of `DATABASE_SECRET_KEY`, or nothing without that key.
pub fn encrypted_password(ctx: &Context, pw: &str) -> Option<String> {
    ctx.encrypter.as_ref().and_then(|e| e.encrypt(pw, None).ok())
}

fn tag_expiration(ctx: &Context) -> i64 {
    i64::try_from(ctx.config.default_tag_expiration_s()).unwrap_or(1_209_600)
}

async fn hash(secret: &str) -> Result<String, Refused> {
    let s = secret.to_string();
    tokio::task::spawn_blocking(move || password::hash(&s))
        .await
        .map_err(|e| Refused::Other(e.into()))?
        .map_err(Refused::Other)
}

/// `len` characters of `[A-Z0-9]` from the OS random source (Quay's token alphabet).
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf).expect("the OS random source works");
        // 252 = 7 * 36: reject the tail so every character is equally likely.
        for b in buf.iter().filter(|b| **b < 252) {
            if out.len() == len {
                break;
            }
            out.push(ALPHABET[usize::from(*b) % 36] as char);
        }
    }
    out
}

/// Superusers: deletes a person (`quay.namespace_delete`: disabled and renamed at once, so its
/// sessions and tokens stop working; purged by the namespacegc job).
pub async fn delete_person(ctx: &Context, caller: &ApiCaller, name: &str) -> Result<(), Refused> {
    superuser(ctx, caller)?;
    let account = profile(ctx, name).await?;
    not_a_superuser(ctx, &account, "Cannot delete a superuser")?;
    ctx.store.namespace_delete(account.id).await?;
    super::access::forget_validated_tokens();
    Ok(())
}

/// `DELETE /api/v1/user/`: the signed-in person deletes its own account (`user:admin`, fresh
/// sign-in): disabled and renamed at once, purged by the namespacegc job; refused while it is
/// the only admin of an organization (Quay's message). Logged as Quay does (`user_delete`).
pub async fn delete_own(ctx: &Context, caller: &ApiCaller, origin: &Origin) -> Result<(), Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    if ctx.config.authentication_type != "Database" {
        return Err(Refused::NotFound);
    }
    let (id, name) = (user.id, user.username.clone());
    ctx.store.namespace_delete(id).await?;
    super::access::forget_validated_tokens();
    let mut log = entry(caller, origin, "user_delete", json!({"username": name}));
    log.account_id = Some(id);
    if let Err(e) = ctx.store.log_action(log).await {
        tracing::warn!(error = %e, "user_delete not logged");
    }
    Ok(())
}

/// `POST /api/v1/user/`: anyone creates an account (with `FEATURE_USER_CREATION` and
/// `FEATURE_DIRECT_LOGIN`, database authentication): Quay's checks and messages, then the new
/// person is signed in (no mailing here, so nothing awaits verification). Returns the account.
pub async fn create_own(
    ctx: &Context,
    origin: &Origin,
    username: &str,
    pw: &str,
    email: Option<&str>,
) -> Result<Account, Refused> {
    let c = &ctx.config;
    if !(c.feature_user_creation.0 && c.feature_direct_login.0) || c.authentication_type != "Database" {
        return Err(Refused::NotFound);
    }
    if ctx.store.account_by_name(username).await?.is_some_and(|a| !a.organization && !a.robot) {
        return Err(Refused::Invalid("The username already exists".into()));
    }
    password::check_policy(pw).map_err(|_| {
        Refused::Invalid(
            "Invalid password, password must be at least 8 characters and contain no whitespace.".into(),
        )
    })?;
    let hash = hash(pw).await?;
    let email =
        email.filter(|e| !e.is_empty()).map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let log =
        entry(&ApiCaller::default(), origin, "user_create", json!({"email": email, "username": username}));
    ctx.store.person_create(username, &email, Some(&hash), tag_expiration(ctx), Some(log)).await?;
    ctx.store.account_by_name(username).await?.ok_or(Refused::NotFound)
}

/// A superuser acting as one, with a fresh sign-in when through a browser session (Quay's
/// superuser routes all require one).
fn superuser(ctx: &Context, caller: &ApiCaller) -> Result<(), Refused> {
    caller.require_superuser(ctx)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    Ok(())
}

/// Superusers cannot change or delete each other through the API (as in Quay).
fn not_a_superuser(ctx: &Context, account: &Account, message: &str) -> Result<(), Refused> {
    if ctx.is_superuser_name(&account.username) {
        return Err(Refused::Invalid(message.to_string()));
    }
    Ok(())
}

/// An enabled person whose password is `pw`, checked on the blocking pool (bcrypt takes ~250 ms
/// at Quay's cost); an unknown name pays for a check too, so the answer time does not tell
/// which names exist.
async fn verified_person(
    ctx: &Context,
    username: &str,
    pw: &str,
) -> Result<Option<crate::store::UserCredentials>, Refused> {
    /// bcrypt of a random string at Quay's cost, made once, for names without a password.
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let user =
        ctx.store.user_credentials(username).await?.filter(|u| u.enabled && !u.organization && !u.robot);
    // Quay checks the back-off before the password: a right one waits too.
    if let Some(ms) = user.as_ref().and_then(|u| u.login_retry_after_ms()) {
        return Err(Refused::TooManyAttempts(u64::try_from(ms).unwrap_or(0).div_ceil(1000)));
    }
    // Once a name has failed, each attempt is counted before bcrypt: concurrent guesses cannot
    // share a back-off step. A name without failures is counted after a wrong password.
    let claimed = user.as_ref().is_some_and(|u| u.failed_logins > 0);
    if let Some(u) = user.as_ref().filter(|_| claimed)
        && !ctx.store.login_claim(u.id, u.failed_logins).await
    {
        return Err(Refused::TooManyAttempts(1));
    }
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let secret = pw.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| {
            DECOY.get_or_init(|| password::hash(&random_token(32)).unwrap_or_default()).clone()
        });
        password::verify(&secret, &hash)
    })
    .await
    .unwrap_or(false);
    match &user {
        Some(u) if !ok && !claimed => ctx.store.login_failed(u.id).await,
        Some(u) if ok && claimed => ctx.store.login_reset(u.id).await,
        _ => {}
    }
    Ok(user.filter(|u| ok && u.password_hash.is_some()))
}

/// `PUT /api/v1/user/ {password}`: the signed-in person changes its own password (fresh sign-in;
/// `user:admin` on a token). Its sessions end with the new uuid; returns the account.
pub async fn change_own_password(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    pw: &str,
) -> Result<Account, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    password::check_policy(pw).map_err(|m| Refused::Invalid(format!("Invalid password: {m}")))?;
    let hash = hash(pw).await?;
    let log = entry(caller, origin, "account_change_password", json!({}));
    ctx.store.person_set_password(user.id, &hash, Some(log)).await?;
    ctx.store.account_by_name(&user.username).await?.ok_or(Refused::NotFound)
}

/// `PUT /api/v1/user/` beyond the password: invoicing, e-mail (no mailing: changed at once and
/// verified), the time-machine window (with `FEATURE_CHANGE_TAG_EXPIRATION`, one of
/// `TAG_EXPIRATION_OPTIONS`) and, with `FEATURE_USER_METADATA`, names, company and location;
/// one transaction with Quay's logs. The caller's `user:admin` and a fresh sign-in, as for the
/// password.
pub async fn change_own_account(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    mut changes: quay_core::users::PersonChanges,
) -> Result<Account, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    if !ctx.config.feature_change_tag_expiration.0 {
        changes.tag_expiration_s = None;
    }
    if let Some(s) = changes.tag_expiration_s {
        let allowed = ctx.config.tag_expiration_options.iter().any(|o| {
            quay_core::duration::parse_seconds(o).ok().and_then(|v| i64::try_from(v).ok()) == Some(s)
        });
        if !allowed {
            return Err(Refused::Rule {
                code: quay_core::rules::Rule::InvalidArgument,
                message: "Invalid tag expiration option".into(),
            });
        }
    }
    if !ctx.config.feature_user_metadata.0 {
        changes.metadata.clear();
    }
    let nothing = changes.email.is_none()
        && changes.invoice_email.is_none()
        && changes.invoice_email_address.is_none()
        && changes.tag_expiration_s.is_none()
        && changes.metadata.is_empty();
    if !nothing {
        let log = entry(caller, origin, "user_change_metadata", json!({}));
        ctx.store.person_update(user.id, changes, log).await?;
    }
    ctx.store.account_by_name(&user.username).await?.ok_or(Refused::NotFound)
}

/// `GET /api/v1/user/notifications`: the caller's in-app notifications (and those of the
/// organizations it administers), newest first, `limit` from page `page` (Quay's pages start at
/// 1; page 0 is page 1); `true` when more follow.
pub async fn inbox(
    ctx: &Context,
    caller: &ApiCaller,
    page: i64,
    limit: i64,
) -> Result<(Vec<crate::store::inbox::InboxItem>, bool), Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    let limit = limit.clamp(1, 100);
    let offset = (page.max(1) - 1).saturating_mul(limit);
    let mut items = ctx.store.inbox(user.id, limit + 1, offset).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Ok((items, more))
}

/// `GET /api/v1/user/notifications/{uuid}` (dismissed ones too).
pub async fn inbox_item(
    ctx: &Context,
    caller: &ApiCaller,
    uuid: &str,
) -> Result<crate::store::inbox::InboxItem, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    ctx.store.inbox_item(user.id, uuid).await?.ok_or(Refused::NotFound)
}

/// `PUT /api/v1/user/notifications/{uuid} {dismissed}`: returns the notification after.
pub async fn inbox_dismiss(
    ctx: &Context,
    caller: &ApiCaller,
    uuid: &str,
    dismissed: bool,
) -> Result<crate::store::inbox::InboxItem, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    if !ctx.store.inbox_dismiss(user.id, uuid, dismissed).await? {
        return Err(Refused::NotFound);
    }
    ctx.store.inbox_item(user.id, uuid).await?.ok_or(Refused::NotFound)
}

/// `GET /api/v1/user/authorizations`: the OAuth tokens the caller granted applications.
pub async fn authorizations(
    ctx: &Context,
    caller: &ApiCaller,
) -> Result<Vec<crate::store::oauth::Authorization>, Refused> {
    let user = caller.signed_in()?;
    caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
    Ok(ctx.store.authorizations_of(user.id).await?)
}
