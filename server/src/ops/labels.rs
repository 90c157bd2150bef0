//! Manifests as `/api/v1` shows them (layers described from the image config in storage) and
//! their labels (list, add, get, delete; labels from the image config added at push).

use super::Context;
use super::Refused;
use super::access::ApiCaller;
use super::log_entry::{Origin, entry};
use super::repositories::{Need, authorize};
use crate::store::StoreError;
use crate::store::labels::{Label, ManifestRow};
use futures_util::StreamExt as _;
use quay_core::rules::Rule;
use serde_json::{Value, json};

/// The largest image config read to describe layers or take labels from.
const CONFIG_LIMIT: u64 = 4 << 20;

/// A blob's bytes from storage, when it is small enough.
async fn small_blob(ctx: &Context, digest: &str, size: u64) -> Option<Vec<u8>> {
    if size > CONFIG_LIMIT {
        return None;
    }
    let mut stream = ctx.storage.blob_read(digest, 0, size).await.ok()?;
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.ok()?);
    }
    Some(out)
}

/// The image config a manifest names, parsed.
async fn config_of(ctx: &Context, manifest: &Value) -> Option<Value> {
    let digest = manifest["config"]["digest"].as_str()?;
    let size = manifest["config"]["size"].as_u64()?;
    serde_json::from_slice(&small_blob(ctx, digest, size).await?).ok()
}

/// One layer as the API describes it.
#[derive(Debug, Clone)]
pub struct Layer {
    pub index: usize,
    pub digest: String,
    pub size: Option<i64>,
    pub urls: Option<Value>,
    /// From the config's history entry for this layer.
    pub created_by: Option<String>,
    pub created: Option<String>,
    pub author: Option<String>,
    pub comment: Option<String>,
}

/// A manifest, and its layers unless it is a list.
pub struct ManifestView {
    pub row: ManifestRow,
    pub is_list: bool,
    pub layers: Option<Vec<Layer>>,
}

/// `GET /api/v1/repository/{ns}/{name}/manifest/{digest}`.
pub async fn manifest(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    digest: &str,
) -> Result<ManifestView, Refused> {
    let a = authorize(ctx, caller, ns, repo, Need::Read).await?;
    let row = ctx.store.api_manifest(a.repository_id, digest).await?.ok_or(Refused::NotFound)?;
    let is_list = super::tags::is_list(&row.media_type);
    if is_list {
        return Ok(ManifestView { row, is_list, layers: None });
    }
    let doc: Value = serde_json::from_str(&row.bytes).unwrap_or(Value::Null);
    let config = config_of(ctx, &doc).await.unwrap_or(Value::Null);
    let history: Vec<&Value> = config["history"]
        .as_array()
        .map(|h| h.iter().filter(|e| !e["empty_layer"].as_bool().unwrap_or(false)).collect())
        .unwrap_or_default();
    let layers = doc["layers"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .enumerate()
                .map(|(i, l)| {
                    let h = history.get(i).copied().unwrap_or(&Value::Null);
                    let s = |v: &Value| v.as_str().map(str::to_string);
                    Layer {
                        index: i,
                        digest: s(&l["digest"]).unwrap_or_default(),
                        size: l["size"].as_i64(),
                        urls: l.get("urls").cloned(),
                        created_by: s(&h["created_by"]),
                        created: s(&h["created"]),
                        author: s(&h["author"]),
                        comment: s(&h["comment"]),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ManifestView { row, is_list, layers: Some(layers) })
}

async fn manifest_id(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    digest: &str,
    need: Need,
) -> Result<(i64, i64), Refused> {
    let a = authorize(ctx, caller, ns, repo, need).await?;
    let row = ctx.store.api_manifest(a.repository_id, digest).await?.ok_or(Refused::NotFound)?;
    Ok((a.repository_id, row.id))
}

/// The labels of a manifest, optionally only those whose key starts with `prefix`.
pub async fn list(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    digest: &str,
    prefix: Option<&str>,
) -> Result<Vec<Label>, Refused> {
    let (_, m) = manifest_id(ctx, caller, ns, repo, digest, Need::Read).await?;
    let mut all = ctx.store.labels_of(m).await?;
    if let Some(p) = prefix {
        all.retain(|l| l.key.starts_with(p));
    }
    Ok(all)
}

pub async fn get(
    ctx: &Context,
    caller: &ApiCaller,
    ns: &str,
    repo: &str,
    digest: &str,
    uuid: &str,
) -> Result<Label, Refused> {
    let all = list(ctx, caller, ns, repo, digest, None).await?;
    all.into_iter().find(|l| l.uuid == uuid).ok_or(Refused::NotFound)
}

/// Adds a label from the API (`manifest_label_add`).
#[allow(clippy::too_many_arguments)]
pub async fn add(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    digest: &str,
    key: &str,
    value: &str,
    media_type: &str,
) -> Result<Label, Refused> {
    let (repository_id, _) = manifest_id(ctx, caller, ns, repo, digest, Need::Write).await?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let log = entry(
        caller,
        origin,
        "manifest_label_add",
        json!({"id": uuid, "key": key, "manifest_digest": digest, "media_type": media_type, "namespace": ns, "repo": repo, "value": value}),
    );
    let label = Label {
        uuid,
        key: key.to_string(),
        value: value.to_string(),
        media_type: media_type.to_string(),
        source: "api".into(),
    };
    match ctx.store.label_add(repository_id, digest, label.clone(), Some(log)).await {
        Err(StoreError::Rule { code: Rule::ManifestUnknown, .. }) => Err(Refused::NotFound),
        r => r.map(|_| label).map_err(Refused::from),
    }
}

/// Deletes a label (`manifest_label_delete`).
pub async fn delete(
    ctx: &Context,
    caller: &ApiCaller,
    origin: &Origin,
    ns: &str,
    repo: &str,
    digest: &str,
    uuid: &str,
) -> Result<(), Refused> {
    let (repository_id, m) = manifest_id(ctx, caller, ns, repo, digest, Need::Write).await?;
    let label =
        ctx.store.labels_of(m).await?.into_iter().find(|l| l.uuid == uuid).ok_or(Refused::NotFound)?;
    let log = entry(
        caller,
        origin,
        "manifest_label_delete",
        json!({"id": uuid, "key": label.key, "manifest_digest": digest, "namespace": ns, "repo": repo, "value": label.value}),
    );
    match ctx.store.label_delete(repository_id, digest, uuid, log).await {
        Err(StoreError::Rule { code: Rule::LabelUnknown | Rule::ManifestUnknown, .. }) => {
            Err(Refused::NotFound)
        }
        r => Ok(r?),
    }
}

/// Quay's label value type: JSON objects and arrays are `application/json`, the rest text.
fn label_media_type(value: &str) -> &'static str {
    let t = value.trim_start();
    if (t.starts_with('{') || t.starts_with('[')) && serde_json::from_str::<Value>(value).is_ok() {
        "application/json"
    } else {
        "text/plain"
    }
}

/// After a push: the image config's `config.Labels` become `manifest` labels of the manifest
/// (as Quay adds them). Best effort: the push is already acknowledged; a failure is logged.
pub async fn add_from_config(ctx: &Context, repository_id: i64, digest: &str, manifest_bytes: &str) {
    let Ok(doc) = serde_json::from_str::<Value>(manifest_bytes) else { return };
    if doc.get("config").is_none() {
        return;
    }
    let Some(config) = config_of(ctx, &doc).await else { return };
    let Some(labels) = config["config"]["Labels"].as_object() else { return };
    for (k, v) in labels {
        let Some(value) = v.as_str() else { continue };
        if !quay_core::labels::is_valid_key(k) {
            continue;
        }
        let label = Label {
            uuid: uuid::Uuid::new_v4().to_string(),
            key: k.clone(),
            value: value.to_string(),
            media_type: label_media_type(value).into(),
            source: "manifest".into(),
        };
        if let Err(e) = ctx.store.label_add(repository_id, digest, label, None).await {
            tracing::warn!(digest, key = %k, error = %e, "label from the image config not added");
        }
    }
}
