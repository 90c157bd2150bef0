//! The `notification` queue: delivers what a push (or `/test`) queued for a repository
//! notification, as Quay's notification worker does. An item names its notification by uuid
//! and carries the event's payload; a deleted notification, or one that failed
//! [`MAX_FAILURES`] times (disabled until `POST …/notification/<uuid>` resets it), drops the
//! item. A delivery that fails adds one to `number_of_failures` and is retried (30 s later, while
//! the item has retries); one that succeeds starts the count over.
//!
//! Methods: `webhook` (POST of the event data as JSON, or of the config's `template` applied to
//! it, Quay's `Content-type` header, 2xx is success), `slack` (an incoming-webhook message),
//! `email` (SMTP: `mail.rs`) and `quay_notification` (an in-app notification for a user, an
//! organization or a team's members, with the event data as its metadata:
//! `/api/v1/user/notifications` shows it). The others Quay lists (HipChat, Flowdock) are accepted
//! on create and refused here with a clear error (counted as failures) until built.
//!
//! Webhook targets are checked again at send time as Quay does (http/https, not `localhost` or
//! `127.0.0.1`: refused targets are logged and skipped, not counted). With
//! `WEBHOOK_BLOCK_PRIVATE_ADDRESSES` (ours), every address the host resolves to must be a public
//! one (no loopback, private, link-local, shared, unique-local, multicast or unspecified), the
//! connection goes to the address that was checked, and redirects are not followed, so a
//! notification cannot reach internal services.

use super::job::Job;
use crate::storage::BlobStorage;
use crate::store::Store;
use crate::store::notifications::Notification;
use futures_util::future::BoxFuture;
use quay_core::queue::QueueItem;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;

/// Failures after which a notification is no longer sent (Quay's `number_of_failures < 3`).
pub const MAX_FAILURES: i64 = 3;
const LEASE_S: i32 = 30;
const RETRY_AFTER_S: i32 = 30;

pub struct Notify {
    http: reqwest::Client,
    timeout: Duration,
    block_private: bool,
    /// SMTP for the `email` method (`None` without `MAIL_SERVER`: e-mails fail with a clear error).
    mailer: Option<std::sync::Arc<super::mail::Mailer>>,
}

impl Notify {
    pub fn new(
        timeout: Duration,
        block_private: bool,
        mailer: Option<std::sync::Arc<super::mail::Mailer>>,
    ) -> Notify {
        // A request never outlives the lease (`NOTIFICATION_SEND_TIMEOUT` above it is capped).
        let timeout = timeout.min(Duration::from_secs((LEASE_S as u64).saturating_sub(10)));
        let http = reqwest::Client::builder().timeout(timeout).build().unwrap_or_default();
        Notify { http, timeout, block_private, mailer }
    }
}

/// Why a delivery did not happen.
enum Outcome {
    Sent,
    /// Not attempted, not counted (a target Quay's rules refuse at send time).
    Skipped(String),
    /// Counted as a failure and retried.
    Failed(String),
}

/// An address a webhook may reach under `WEBHOOK_BLOCK_PRIVATE_ADDRESSES`: a public unicast
/// one. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                is_public(IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                )))
            };
            // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96, 64:ff9b:1::/48): the last 32 bits.
            if s[..6] == [0; 6] || (s[0] == 0x64 && s[1] == 0xff9b) {
                return !v6.is_loopback() && !v6.is_unspecified() && embedded(s[6], s[7]);
            }
            // 6to4 (2002::/16): bits 16-48.
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]);
            }
            !(v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

impl Notify {
    async fn webhook(&self, url: &str, payload: &Value) -> Outcome {
        if !crate::ops::notifications::webhook_url_allowed(url) {
            return Outcome::Skipped(format!("webhook URL {url:?} is not allowed"));
        }
        let client = if self.block_private {
            match self.pinned_client(url).await {
                Ok(c) => c,
                Err(e) => return Outcome::Skipped(e),
            }
        } else {
            self.http.clone()
        };
        let sent = client
            .post(url)
            .header("Content-type", "application/json")
            .body(payload.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Outcome::Sent,
            Ok(r) => Outcome::Failed(format!("webhook answered {}", r.status())),
            Err(e) => Outcome::Failed(format!("webhook not reached: {e}")),
        }
    }

    /// A client bound to the one public address `url`'s host resolved to (no redirects).
    async fn pinned_client(&self, url: &str) -> Result<reqwest::Client, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("webhook URL {url:?}: {e}"))?;
        let host = parsed.host_str().ok_or_else(|| format!("webhook URL {url:?} has no host"))?.to_string();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let addrs: Vec<std::net::SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare.as_str(), port))
                .await
                .map_err(|e| format!("webhook host {host} does not resolve: {e}"))?
                .collect(),
        };
        if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(format!(
                "webhook host {host} resolves to a non-public address (WEBHOOK_BLOCK_PRIVATE_ADDRESSES)"
            ));
        }
        reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the host itself: connect directly to the address checked.
            .no_proxy()
            .resolve(&bare, addrs[0])
            .build()
            .map_err(|e| e.to_string())
    }

    async fn deliver(&self, store: &Store, n: &Notification, event_data: &Value) -> Outcome {
        let config: Value = serde_json::from_str(&n.config_json).unwrap_or_else(|_| json!({}));
        let url = config["url"].as_str().unwrap_or("");
        match n.method.as_str() {
            "webhook" => match config.get("template").filter(|t| !t.is_null()) {
                None => self.webhook(url, event_data).await,
                Some(t) => {
                    let text = t.as_str().map(str::to_string).unwrap_or_else(|| t.to_string());
                    match crate::ops::webhook_template::apply(&text, event_data) {
                        Ok(payload) => self.webhook(url, &payload).await,
                        Err(e) => Outcome::Failed(format!("webhook template: {e}")),
                    }
                }
            },
            "email" => {
                let Some(mailer) = &self.mailer else {
                    return Outcome::Failed("e-mail notifications need MAIL_SERVER in the config".into());
                };
                let to = config["email"].as_str().unwrap_or("");
                let subject = summary(&n.event, event_data);
                let link = event_data["homepage"].as_str().unwrap_or("");
                let html = format!(
                    "<html><body><h3>{}</h3><p>{}</p><p><a href=\"{}\">{}</a></p></body></html>",
                    html_escape(&subject),
                    html_escape(&plain_message(&n.event, event_data)),
                    html_escape(link),
                    html_escape(link),
                );
                match mailer.send(to, &subject, html).await {
                    Ok(()) => Outcome::Sent,
                    Err(e) => Outcome::Failed(e),
                }
            }
            "slack" => {
                let summary = summary(&n.event, event_data);
                let payload = json!({
                    "text": summary,
                    "username": "quayiobot",
                    "attachments": [{
                        "fallback": summary,
                        "text": message(&n.event, event_data),
                        "color": level_color(&n.event),
                        "mrkdwn_in": ["text"],
                    }],
                });
                self.webhook(url, &payload).await
            }
            "quay_notification" => {
                let kind = config["target"]["kind"].as_str().unwrap_or("");
                let name = config["target"]["name"].as_str().unwrap_or("");
                let namespace = event_data["namespace"].as_str().unwrap_or("");
                match store.inbox_deliver(kind, name, namespace, &n.event, &event_data.to_string()).await {
                    Ok(0) => Outcome::Skipped(format!("target {kind} {name:?} names nobody")),
                    Ok(_) => Outcome::Sent,
                    Err(e) => Outcome::Failed(format!("in-app notification not written: {e}")),
                }
            }
            other => {
                Outcome::Failed(format!("notification method {other:?} is not supported by this server yet"))
            }
        }
    }
}

/// Quay's one-line summary of an event (the e-mail subject, Slack's text).
fn summary(event: &str, data: &Value) -> String {
    let repo = data["repository"].as_str().unwrap_or("");
    let ns = data["namespace"].as_str().unwrap_or("");
    match event {
        "repo_push" => format!("Repository {repo} updated"),
        "repo_image_expiry" => format!("Repository {repo} image(s) expiring"),
        "quota_warning" => format!(
            "Namespace {ns} storage usage has reached {}% of its quota limit",
            data["threshold_percent"]
        ),
        "quota_error" => {
            format!("Namespace {ns} storage usage has exceeded its quota limit ({}%)", data["usage_percent"])
        }
        other => format!("{other} in repository {repo}"),
    }
}

/// Slack's attachment colour from the event's level (Quay: primary/success good, warning
/// warning, error danger).
fn level_color(event: &str) -> &'static str {
    match event {
        "quota_warning" => "warning",
        "quota_error" => "danger",
        _ => "good",
    }
}

/// The message in plain words (the e-mail body).
fn plain_message(event: &str, data: &Value) -> String {
    let list = |key: &str| -> String {
        data[key]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let repo = data["repository"].as_str().unwrap_or("");
    match event {
        "repo_push" => format!("Tags {} were pushed to repository {repo}.", list("updated_tags")),
        "repo_image_expiry" => format!(
            "Tags {} in repository {repo} expire within {}.",
            list("tags"),
            data["expiring_in"].as_str().unwrap_or("")
        ),
        "quota_warning" | "quota_error" => format!(
            "{} of {} used.",
            data["usage_bytes_formatted"].as_str().unwrap_or(""),
            data["limit_bytes_formatted"].as_str().unwrap_or("")
        ),
        _ => summary(event, data),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The message body Slack shows (Slack markup).
fn message(event: &str, data: &Value) -> String {
    let repo = data["repository"].as_str().unwrap_or("");
    let link = format!("<{}|{repo}>", data["homepage"].as_str().unwrap_or(""));
    match event {
        "repo_push" => {
            let tags: Vec<&str> = data["updated_tags"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("Pushed {} in repository {link}", tags.join(", "))
        }
        "repo_image_expiry" => {
            let tags: Vec<&str> = data["tags"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let when = data["expiring_in"].as_str().unwrap_or("");
            format!("Tags {} in repository {link} expire within {when}", tags.join(", "))
        }
        other => format!("{other} in repository {link}"),
    }
}

impl Job for Notify {
    fn queue(&self) -> &'static str {
        "notification"
    }
    fn lease_s(&self) -> i32 {
        LEASE_S
    }
    fn retry_after_s(&self) -> i32 {
        RETRY_AFTER_S
    }
    fn run<'a>(
        &'a self,
        store: &'a Store,
        _storage: &'a BlobStorage,
        item: &'a QueueItem,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let body: Value = serde_json::from_str(&item.body).unwrap_or(Value::Null);
            let Some(uuid) = body["notification_uuid"].as_str() else {
                tracing::warn!(queue_name = %item.queue_name, "notification item without a uuid: dropped");
                return Ok(());
            };
            let n = match store.notification_by_uuid(uuid).await.map_err(|e| e.to_string())? {
                Some(n) if n.failures < MAX_FAILURES => n,
                // Deleted, or disabled by its failures: nothing to send (Quay completes the item).
                _ => return Ok(()),
            };
            let started = std::time::Instant::now();
            // Within the lease, DNS included: a slower delivery would be claimed and sent again.
            let budget = Duration::from_secs((LEASE_S as u64).saturating_sub(5));
            let outcome = tokio::time::timeout(budget, self.deliver(store, &n, &body["event_data"]))
                .await
                .unwrap_or_else(|_| Outcome::Failed(format!("no answer within {} s", budget.as_secs())));
            match outcome {
                Outcome::Sent => {
                    store.notification_delivery(uuid, true).await.map_err(|e| e.to_string())?;
                    tracing::info!(notification = uuid, method = %n.method, ms = started.elapsed().as_millis() as u64, "notification sent");
                    Ok(())
                }
                Outcome::Skipped(why) => {
                    tracing::warn!(notification = uuid, method = %n.method, "notification not sent: {why}");
                    Ok(())
                }
                Outcome::Failed(why) => {
                    let failures =
                        store.notification_delivery(uuid, false).await.map_err(|e| e.to_string())?;
                    Err(format!("notification {uuid} ({}) failed {failures} time(s): {why}", n.method))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn only_public_addresses_pass() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(bad.parse().expect("ip")), "{bad}");
        }
        for good in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(is_public(good.parse().expect("ip")), "{good}");
        }
    }
}
