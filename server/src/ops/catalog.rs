//! The catalog: the repositories a caller may see, one page at a time by full name.

use super::Context;
use super::access::{self, Caller};
use crate::auth::credentials::Limit;
use crate::store::StoreError;

/// A page of names and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub names: Vec<String>,
    pub more: bool,
}

/// Up to `n` full names after `last` (exclusive), in name order. Anonymous callers see nothing
/// unless `FEATURE_PUBLIC_CATALOG`; configured superusers see everything; a delegate token its
/// repository; an OAuth token without a repository scope only what anyone may see.
pub async fn page(ctx: &Context, caller: &Caller, last: &str, n: i64) -> Result<Page, StoreError> {
    let public_catalog = ctx.config.feature_public_catalog.0;
    let everything = access::configured_role(ctx, caller.username(), caller.limit).is_some();
    // One more than asked, to know whether more follow; paged in the database.
    let want = n.saturating_add(1);
    let rows: Vec<(i64, String)> = match caller.limit {
        _ if everything => ctx.store.repository_names_after(last, want).await?,
        Limit::Repository { id, role: Some(_) } => ctx
            .store
            .repository_names(id, id)
            .await?
            .into_iter()
            .filter(|(_, name)| name.as_str() > last)
            .collect(),
        Limit::Repository { .. } => Vec::new(),
        Limit::Scopes { max: None, .. } if public_catalog => {
            ctx.store.visible_repository_names(None, last, want).await?
        }
        Limit::Scopes { max: None, .. } => Vec::new(),
        _ if caller.user_id.is_some() || public_catalog => {
            ctx.store.visible_repository_names(caller.user_id, last, want).await?
        }
        _ => Vec::new(),
    };
    let mut names: Vec<String> = rows.into_iter().map(|(_, name)| name).collect();
    let more = names.len() as i64 > n;
    names.truncate(usize::try_from(n).unwrap_or(0));
    Ok(Page { names, more })
}

/// Up to `n` alive tag names of a repository after `last`, in name order.
pub async fn tags(ctx: &Context, repository_id: i64, last: &str, n: i64) -> Result<Page, StoreError> {
    let mut names = if n == 0 { Vec::new() } else { ctx.store.tag_names(repository_id, last, n + 1).await? };
    let more = names.len() as i64 > n;
    names.truncate(usize::try_from(n).unwrap_or(0));
    Ok(Page { names, more })
}

/// A manifest that refers to a subject, as the referrers index lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Referrer {
    pub media_type: String,
    pub digest: String,
    pub size: usize,
    pub artifact_type: Option<String>,
    pub annotations: Option<serde_json::Value>,
}

/// The manifests of the repository whose `subject` is `digest` (and whose artifact type is
/// `artifact_type`, when given), as the OCI referrers API lists them. A repository that does
/// not exist (`None`) has none.
pub async fn referrers(
    ctx: &Context,
    repository_id: Option<i64>,
    digest: &str,
    artifact_type: Option<&str>,
) -> Result<Vec<Referrer>, StoreError> {
    let Some(id) = repository_id else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for r in ctx.store.referrers(id, digest).await? {
        let kind = r.artifact_type.clone().or(r.config_media_type.clone());
        if artifact_type.is_some() && artifact_type != kind.as_deref() {
            continue;
        }
        let doc: serde_json::Value = serde_json::from_str(&r.bytes).unwrap_or(serde_json::Value::Null);
        out.push(Referrer {
            media_type: r.media_type,
            digest: r.digest,
            size: r.bytes.len(),
            artifact_type: kind,
            annotations: doc.get("annotations").filter(|a| a.is_object()).cloned(),
        });
    }
    Ok(out)
}
