//! Repository notifications for `/api/v1` (repository admins): create (webhook targets checked
//! as Quay checks them), list, get, test (queued for the notification worker), reset, delete.

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use super::repositories::{Need, authorize};
use crate::store::StoreError;
use crate::store::notifications::Notification;
use quay_core::rules::Rule;
use serde_json::{Value, json};

/// Quay refuses webhooks to the local host at creation (`Invalid webhook URL`).
pub fn webhook_url_allowed(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    !host.is_empty()
        && !matches!(host.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1" | "0.0.0.0")
}

async fn repo(ctx: &Context, caller: &ApiCaller, ns: &str, name: &str) -> Result<i64, Refused> {
    Ok(authorize(ctx, caller, ns, name, Need::Admin).await?.repository_id)
}

fn log_metadata(ns: &str, name: &str, n: &Notification) -> Value {
    json!({"event": n.event, "method": n.method, "namespace": ns, "notification_id": n.uuid, "repo": name})
}

pub async fn list(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    name: &str,
) -> Result<Vec<Notification>, Refused> {
    let r = repo(ctx, caller, ns, name).await?;
    Ok(ctx.store.notifications_of(r).await?)
}

pub async fn get(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    name: &str,
    uuid: &str,
) -> Result<Notification, Refused> {
    list(ctx, caller, ns, name).await?.into_iter().find(|n| n.uuid == uuid).ok_or(Refused::NotFound)
}

/// Creates a notification; returns it.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    name: &str,
    event: &str,
    method: &str,
    title: Option<&str>,
    config: &Value,
    event_config: &Value,
) -> Result<Notification, Refused> {
    let r = repo(ctx, caller, ns, name).await?;
    if method == "webhook" && !config["url"].as_str().is_some_and(webhook_url_allowed) {
        return Err(Refused::Invalid("Invalid webhook URL".into()));
    }
    let n = Notification {
        uuid: uuid::Uuid::new_v4().to_string(),
        event: event.to_string(),
        method: method.to_string(),
        title: title.map(str::to_string),
        config_json: config.to_string(),
        event_config_json: event_config.to_string(),
        failures: 0,
    };
    let log = entry(caller, origin, "add_repo_notification", log_metadata(ns, name, &n));
    ctx.store.notification_create(r, n.clone(), log).await?;
    Ok(n)
}

fn missing(ns: &str, name: &str, uuid: &str) -> Refused {
    Refused::Invalid(format!("No repository notification found for: {ns}, {name}, {uuid}"))
}

pub async fn reset(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    name: &str,
    uuid: &str,
) -> Result<(), Refused> {
    let r = repo(ctx, caller, ns, name).await?;
    let n = ctx
        .store
        .notifications_of(r)
        .await?
        .into_iter()
        .find(|n| n.uuid == uuid)
        .ok_or_else(|| missing(ns, name, uuid))?;
    let log = entry(caller, origin, "reset_repo_notification", log_metadata(ns, name, &n));
    match ctx.store.notification_reset(r, uuid, log).await {
        Err(StoreError::Rule { code: Rule::NotificationUnknown, .. }) => Err(missing(ns, name, uuid)),
        res => Ok(res?),
    }
}

pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    name: &str,
    uuid: &str,
) -> Result<(), Refused> {
    let r = repo(ctx, caller, ns, name).await?;
    let n = ctx
        .store
        .notifications_of(r)
        .await?
        .into_iter()
        .find(|n| n.uuid == uuid)
        .ok_or_else(|| missing(ns, name, uuid))?;
    let log = entry(caller, origin, "delete_repo_notification", log_metadata(ns, name, &n));
    match ctx.store.notification_delete(r, uuid, log).await {
        Err(StoreError::Rule { code: Rule::NotificationUnknown, .. }) => Err(missing(ns, name, uuid)),
        res => Ok(res?),
    }
}

/// Queues a test delivery (not logged, as in Quay).
pub async fn test(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    name: &str,
    uuid: &str,
) -> Result<(), Refused> {
    let r = repo(ctx, caller, ns, name).await?;
    match ctx.store.notification_test(r, uuid).await {
        Err(StoreError::Rule { code: Rule::NotificationUnknown, .. }) => Err(Refused::NotFound),
        res => res.map(|_| ()).map_err(Refused::from),
    }
}

#[cfg(test)]
mod tests {
    use super::webhook_url_allowed;

    #[test]
    fn webhooks_to_the_local_host_are_refused() {
        assert!(webhook_url_allowed("http://127.0.0.2:9/"));
        assert!(webhook_url_allowed("https://hooks.example.com/x"));
        for bad in
            ["http://127.0.0.1:9/", "http://localhost/x", "http://[::1]:80/", "ftp://x/", "http://", "x"]
        {
            assert!(!webhook_url_allowed(bad), "{bad}");
        }
    }
}
