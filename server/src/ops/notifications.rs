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

/// Quay refuses webhooks to the local host at creation (`Invalid webhook URL`) and skips them at
/// send time. The host is read the way the HTTP client will read it (the URL standard: `127.1`,
/// `2130706433`, `127.0.0.1\@x` and IPv4-mapped IPv6 are all 127.0.0.1), so no spelling of a
/// refused host passes.
pub fn webhook_url_allowed(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else { return false };
    if !matches!(parsed.scheme(), "http" | "https") {
        return false;
    }
    match parsed.host() {
        None => false,
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            !d.is_empty() && d != "localhost"
        }
        Some(url::Host::Ipv4(v4)) => {
            !(v4.is_loopback() && v4.octets() == [127, 0, 0, 1] || v4.is_unspecified())
        }
        Some(url::Host::Ipv6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets() != [127, 0, 0, 1] && !v4.is_unspecified(),
            None => !(v6.is_loopback() || v6.is_unspecified()),
        },
    }
}

/// Quay's checks of an in-app notification's target: a known user, a team of the repository's
/// organization, or that organization itself (no other organization's inbox).
async fn check_quay_target(ctx: &Context, ns: &str, target: &Value) -> Result<(), Refused> {
    let name = target["name"].as_str().unwrap_or("");
    let invalid = |m: String| Err(Refused::Invalid(m));
    match target["kind"].as_str().unwrap_or("") {
        "user" => match ctx.store.account_by_name(name).await? {
            Some(a) if !a.organization && !a.robot => Ok(()),
            _ => invalid(format!("Unknown user {name}")),
        },
        "org" if name == ns => Ok(()),
        "org" => {
            invalid("Only repositories under the organization can cause notifications to that org".into())
        }
        "team" => {
            let org = ctx.store.account_by_name(ns).await?.filter(|a| a.organization);
            let team = match org {
                Some(o) => ctx.store.team_by_name(o.id, name).await?,
                None => None,
            };
            if team.is_some() { Ok(()) } else { invalid(format!("Unknown team {name}")) }
        }
        _ => invalid("Missing target".into()),
    }
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

/// Creates a notification; returns it. A webhook's `template` must apply (Quay's check); an
/// e-mail address must be confirmed for the repository (`repositoryauthorizedemail`, as Quay
/// requires).
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
    if method == "webhook"
        && let Some(t) = config.get("template").filter(|t| !t.is_null())
    {
        // Quay checks a template by applying it to empty data.
        let text = t.as_str().map(str::to_string).unwrap_or_else(|| t.to_string());
        super::webhook_template::apply(&text, &json!({})).map_err(Refused::Invalid)?;
    }
    if method == "quay_notification" {
        check_quay_target(ctx, ns, &config["target"]).await?;
    }
    if method == "email" {
        let to = config["email"].as_str().unwrap_or("").trim();
        if to.is_empty() {
            return Err(Refused::Invalid("Missing e-mail address".into()));
        }
        if !ctx.store.email_authorized(r, to).await? {
            return Err(Refused::Invalid(
                "The specified e-mail address is not authorized to receive notifications for this repository"
                    .into(),
            ));
        }
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
        for bad in [
            "http://127.0.0.1:9/",
            "http://localhost/x",
            "http://LOCALHOST./x",
            "http://[::1]:80/",
            "ftp://x/",
            "http://",
            "x",
            "http://127.1/",
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/",
            "http://127.0.0.1\\@evil.example.com/",
            "http://0.0.0.0/",
        ] {
            assert!(!webhook_url_allowed(bad), "{bad}");
        }
    }
}
