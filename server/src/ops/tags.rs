//! Tags for `/api/v1`: their history (every generation, newest first), expiration changed in
//! place, pointing a tag at a manifest, deleting and restoring; each write one core call with
//! Quay's action log.

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use super::repositories::{Need, authorize};
use crate::store::StoreError;
use crate::store::tags::{TagFilter, TagGeneration};
use quay_core::rules::Rule;
use serde_json::json;

/// A tag generation and, for lists (indexes), their children's digests.
pub struct Listed {
    pub tag: TagGeneration,
    pub children: Option<Vec<String>>,
}

/// Media types of manifest lists (OCI index, Docker manifest list).
pub fn is_list(media_type: &str) -> bool {
    media_type == "application/vnd.oci.image.index.v1+json"
        || media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// One page (`page` from 1) of `limit` generations; the second value says whether more follow.
pub async fn history(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    filter: &TagFilter,
    limit: i64,
    page: i64,
) -> Result<(Vec<Listed>, bool), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Read).await?;
    let offset = (page.max(1) - 1).saturating_mul(limit);
    let mut rows = ctx.store.tag_history(a.repository_id, filter, limit + 1, offset).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let mut out = Vec::with_capacity(rows.len());
    for tag in rows {
        let children = if is_list(&tag.media_type) {
            Some(ctx.store.manifest_children(tag.manifest_id).await?)
        } else {
            None
        };
        out.push(Listed { tag, children });
    }
    Ok((out, more))
}

fn not_found_for(e: StoreError, rules: &[Rule]) -> Refused {
    match e {
        StoreError::Rule { code, .. } if rules.contains(&code) => Refused::NotFound,
        e => e.into(),
    }
}

/// Changes when a tag expires (`expiration_s`: epoch seconds, `None`: never), in place.
pub async fn set_expiration(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    tag: &str,
    expiration_s: Option<i64>,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Write).await?;
    let log = entry(
        caller,
        origin,
        "change_tag_expiration",
        json!({"expiration_date": expiration_s, "namespace": ns, "repo": repo, "tag": tag, "username": caller.username()}),
    );
    let ms = expiration_s.map(|s| s.saturating_mul(1000));
    ctx.store
        .tag_set_expiration(a.repository_id, tag, ms, log)
        .await
        .map(|_| ())
        .map_err(|e| not_found_for(e, &[Rule::TagUnknown]))
}

/// Points `tag` at the repository's manifest `digest`.
pub async fn point(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    tag: &str,
    digest: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Write).await?;
    let log = entry(
        caller,
        origin,
        "create_tag",
        json!({"manifest_digest": digest, "namespace": ns, "repo": repo, "tag": tag, "username": caller.username()}),
    );
    ctx.store
        .tag_point(a.repository_id, tag, digest, log)
        .await
        .map(|_| ())
        .map_err(|e| not_found_for(e, &[Rule::ManifestUnknown, Rule::DigestInvalid]))
}

pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    tag: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Write).await?;
    let log = entry(
        caller,
        origin,
        "delete_tag",
        json!({"namespace": ns, "repo": repo, "tag": tag, "username": caller.username()}),
    );
    ctx.store
        .tag_delete_logged(a.repository_id, tag, log)
        .await
        .map_err(|e| not_found_for(e, &[Rule::TagUnknown, Rule::TagNameInvalid]))
}

pub async fn restore(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    tag: &str,
    digest: &str,
) -> Result<(), Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Write).await?;
    let log = entry(
        caller,
        origin,
        "revert_tag",
        json!({"manifest_digest": digest, "repo": repo, "tag": tag, "username": caller.username()}),
    );
    ctx.store
        .tag_restore_logged(a.repository_id, tag, digest, log)
        .await
        .map(|_| ())
        .map_err(|e| not_found_for(e, &[Rule::ManifestUnknown, Rule::TagNotRestorable, Rule::DigestInvalid]))
}
