//! Storage quotas over `/api/v1` (`/organization/{org}/quota…`, read-only `/user/quota…`):
//! members read their organization's quota, superusers change it. The rules (one quota per
//! namespace, limit types and percents, what a push may use) are the core's (`quay.quota_*`).

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use crate::store::quota::Quota;
use quay_core::permissions::NamespaceAccess;
use serde_json::json;

/// The routes exist with `FEATURE_SUPER_USERS`, `FEATURE_QUOTA_MANAGEMENT` and
/// `FEATURE_EDIT_QUOTA` (Quay's `show_if`).
pub fn enabled(ctx: &Context) -> bool {
    let c = &ctx.config;
    c.feature_super_users.0 && c.feature_quota_management.0 && c.feature_edit_quota.0
}

/// Which namespace the route names, and whether the caller may change its quota.
pub enum Namespace<'a> {
    /// `/organization/{name}/quota`: members read, superusers write.
    Organization(&'a str),
    /// `/user/quota`: the signed-in user's own namespace, read-only.
    CurrentUser,
}

async fn resolve(
    ctx: &Context,
    caller: &ApiCaller,
    which: &Namespace<'_>,
    write: bool,
) -> Result<NamespaceAccess, Refused> {
    if !enabled(ctx) {
        return Err(Refused::NotFound);
    }
    match which {
        Namespace::CurrentUser => {
            let user = caller.signed_in()?;
            // Quay's `require_user_admin`: a token needs `user:admin`, even to read.
            caller.require(caller.has_scope(super::access::Scope::UserAdmin))?;
            if write {
                return Err(Refused::Denied(super::access::ApiDenied::Forbidden));
            }
            let ns = ctx.store.namespace_access(&user.username, Some(user.id)).await?;
            ns.ok_or(Refused::NotFound)
        }
        Namespace::Organization(name) => {
            let ns = ctx.store.namespace_access(name, caller.user_id()).await?;
            let superuser = caller.is_superuser(ctx);
            let allowed =
                if write { superuser } else { superuser || ns.as_ref().is_some_and(|n| n.role.is_some()) };
            caller.require(allowed)?;
            match ns {
                Some(ns) if ns.enabled => Ok(ns),
                _ => Err(Refused::NotFound),
            }
        }
    }
}

/// The namespace's quota (none, or one) with its limits.
pub async fn list(ctx: &Context, caller: &ApiCaller, which: Namespace<'_>) -> Result<Vec<Quota>, Refused> {
    let ns = resolve(ctx, caller, &which, false).await?;
    Ok(ctx.store.quota_of(ns.id).await?.into_iter().collect())
}

pub async fn get(
    ctx: &Context,
    caller: &ApiCaller,
    which: Namespace<'_>,
    quota_id: i64,
) -> Result<Quota, Refused> {
    let ns = resolve(ctx, caller, &which, false).await?;
    ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)
}

/// Quay's `limit` text in the logs: bitmath's best binary prefix, one decimal (`"10.0 GiB"`).
pub fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 7] = ["Byte", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let (v, unit) = quay_core::quota::binary_scale(n, &UNITS);
    format!("{v:.1} {}", UNITS[unit])
}

/// Who acts and from where, for Quay's `org_*_quota*` action logs (account: the namespace).
pub struct Actor<'a> {
    pub caller: &'a ApiCaller,
    pub origin: &'a Origin,
}

pub async fn create(ctx: &Context, who: Actor<'_>, org: &str, limit_bytes: i64) -> Result<i64, Refused> {
    let ns = resolve(ctx, who.caller, &Namespace::Organization(org), true).await?;
    let log = entry(
        who.caller,
        who.origin,
        "org_create_quota",
        json!({"namespace": org, "limit_bytes": limit_bytes, "limit": human_bytes(limit_bytes)}),
    );
    Ok(ctx.store.quota_create(ns.id, limit_bytes, log).await?)
}

pub async fn update(
    ctx: &Context,
    who: Actor<'_>,
    org: &str,
    quota_id: i64,
    limit_bytes: Option<i64>,
) -> Result<Quota, Refused> {
    let ns = resolve(ctx, who.caller, &Namespace::Organization(org), true).await?;
    let before = ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)?;
    if let Some(bytes) = limit_bytes {
        let log = entry(
            who.caller,
            who.origin,
            "org_change_quota",
            json!({"namespace": org, "limit_bytes": bytes, "limit": human_bytes(bytes),
                   "previous_limit_bytes": before.limit_bytes, "quota_id": quota_id}),
        );
        ctx.store.quota_update(ns.id, quota_id, bytes, log).await?;
    }
    ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)
}

pub async fn delete(ctx: &Context, who: Actor<'_>, org: &str, quota_id: i64) -> Result<(), Refused> {
    let ns = resolve(ctx, who.caller, &Namespace::Organization(org), true).await?;
    let before = ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)?;
    let log = entry(
        who.caller,
        who.origin,
        "org_delete_quota",
        json!({"namespace": org, "quota_id": quota_id, "limit_bytes": before.limit_bytes}),
    );
    Ok(ctx.store.quota_delete(ns.id, quota_id, log).await?)
}

pub async fn limit_create(
    ctx: &Context,
    who: Actor<'_>,
    org: &str,
    quota_id: i64,
    kind: &str,
    percent: i64,
) -> Result<i64, Refused> {
    let ns = resolve(ctx, who.caller, &Namespace::Organization(org), true).await?;
    let log = entry(
        who.caller,
        who.origin,
        "org_create_quota_limit",
        json!({"namespace": org, "quota_id": quota_id, "type": kind, "threshold_percent": percent}),
    );
    Ok(ctx.store.quota_limit_create(ns.id, quota_id, (kind, percent), log).await?)
}

/// Changes a limit's type and/or percent; returns the whole quota (as Quay does).
pub async fn limit_update(
    ctx: &Context,
    who: Actor<'_>,
    org: &str,
    (quota_id, limit_id): (i64, i64),
    kind: Option<&str>,
    percent: Option<i64>,
) -> Result<Quota, Refused> {
    let ns = resolve(ctx, who.caller, &Namespace::Organization(org), true).await?;
    let quota = ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)?;
    let current = quota.limits.iter().find(|l| l.id == limit_id).ok_or(Refused::NotFound)?;
    let kind = kind.unwrap_or(&current.kind).to_string();
    let percent = percent.unwrap_or(current.percent);
    let log = entry(
        who.caller,
        who.origin,
        "org_change_quota_limit",
        json!({"namespace": org, "quota_id": quota_id, "limit_id": limit_id, "type": kind,
               "threshold_percent": percent, "previous_type": current.kind,
               "previous_threshold_percent": current.percent}),
    );
    ctx.store.quota_limit_update(ns.id, (quota_id, limit_id), (&kind, percent), log).await?;
    ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)
}

pub async fn limit_delete(
    ctx: &Context,
    who: Actor<'_>,
    org: &str,
    quota_id: i64,
    limit_id: i64,
) -> Result<(), Refused> {
    let ns = resolve(ctx, who.caller, &Namespace::Organization(org), true).await?;
    let quota = ctx.store.quota_of(ns.id).await?.filter(|q| q.id == quota_id).ok_or(Refused::NotFound)?;
    let current = quota.limits.iter().find(|l| l.id == limit_id).ok_or(Refused::NotFound)?;
    let log = entry(
        who.caller,
        who.origin,
        "org_delete_quota_limit",
        json!({"namespace": org, "quota_id": quota_id, "limit_id": limit_id, "type": current.kind,
               "threshold_percent": current.percent}),
    );
    Ok(ctx.store.quota_limit_delete(ns.id, (quota_id, limit_id), log).await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_as_quay_logs_them() {
        assert_eq!(super::human_bytes(512), "512.0 Byte");
        assert_eq!(super::human_bytes(10 << 30), "10.0 GiB");
        assert_eq!(super::human_bytes(1536 << 20), "1.5 GiB");
    }
}
