//! App-specific tokens of the signed-in user (`FEATURE_APP_SPECIFIC_TOKENS`): list, create
//! (fresh sign-in; the 120-character code is shown at creation and to its owner), read, revoke.
//! The secret half is stored field-encrypted (`DATABASE_SECRET_KEY`).

use super::Context;
use super::Refused;
use super::access::{ApiCaller, Scope};
use super::log_entry::{Origin, entry};
use super::users::random_token;
use crate::store::StoreError;
use crate::store::apptokens::AppToken;
use quay_core::rules::Rule;
use serde_json::json;

fn owner(ctx: &Context, caller: &ApiCaller) -> Result<i64, Refused> {
    if !ctx.config.feature_app_specific_tokens.0 {
        return Err(Refused::NotFound);
    }
    let u = caller.signed_in()?;
    caller.require(caller.has_scope(Scope::UserAdmin))?;
    Ok(u.id)
}

/// The token's 120-character code (`$app` password), for its owner.
pub fn code(ctx: &Context, t: &AppToken) -> Option<String> {
    let secret = ctx.encrypter.as_ref()?.decrypt(&t.encrypted_secret).ok()?;
    Some(format!("{}{secret}", t.token_name))
}

pub async fn list(ctx: &Context, caller: &ApiCaller) -> Result<Vec<AppToken>, Refused> {
    let uid = owner(ctx, caller)?;
    Ok(ctx.store.app_tokens_of(uid).await?)
}

pub async fn get(ctx: &Context, caller: &ApiCaller, uuid: &str) -> Result<AppToken, Refused> {
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    list(ctx, caller).await?.into_iter().find(|t| t.uuid == uuid).ok_or(Refused::NotFound)
}

/// Creates a token titled `title`; returns it (its code via [`code`]).
pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    title: &str,
) -> Result<AppToken, Refused> {
    let uid = owner(ctx, caller)?;
    caller.require_fresh(ctx, crate::auth::jwt::now_s() as i64)?;
    let enc = ctx.encrypter.as_ref().ok_or_else(|| {
        Refused::Invalid("App-specific tokens need DATABASE_SECRET_KEY in the configuration".into())
    })?;
    let (name, secret) = (random_token(60), random_token(60));
    let encrypted =
        enc.encrypt(&secret, None).map_err(|e| Refused::Other(anyhow::anyhow!("encrypting a token: {e}")))?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let log = entry(
        caller,
        origin,
        "create_app_specific_token",
        json!({"app_specific_token_title": title, "app_specific_token": uuid}),
    );
    ctx.store.app_token_create(uid, &uuid, title, &name, &encrypted, log).await?;
    ctx.store.app_tokens_of(uid).await?.into_iter().find(|t| t.uuid == uuid).ok_or(Refused::NotFound)
}

pub async fn revoke(ctx: &Context, caller: &ApiCaller, origin: &Origin, uuid: &str) -> Result<(), Refused> {
    let uid = owner(ctx, caller)?;
    let t =
        ctx.store.app_tokens_of(uid).await?.into_iter().find(|t| t.uuid == uuid).ok_or(Refused::NotFound)?;
    let log = entry(
        caller,
        origin,
        "revoke_app_specific_token",
        json!({"app_specific_token_title": t.title, "app_specific_token": uuid}),
    );
    match ctx.store.app_token_revoke(uid, uuid, log).await {
        Err(StoreError::Rule { code: Rule::TokenUnknown, .. }) => Err(Refused::NotFound),
        r => {
            r?;
            super::access::forget_validated_tokens();
            Ok(())
        }
    }
}
