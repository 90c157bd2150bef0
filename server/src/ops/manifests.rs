//! Manifests as operations: read by tag or digest, push (the core checks and records the bytes:
//! `quay.manifest_put`), delete by tag or digest. The protocol reads the body and renders.

use super::Context;
use super::access::{self, Action, Caller, Denied};
use super::repositories::RepoName;
use crate::store::StoreError;
use crate::store::tags::{ManifestPush, StoredManifest};
use quay_core::exec::CoreError;
use quay_core::rules::Rule;
use quay_core::tags::PushedManifest;

/// How a request names a manifest: a digest (it has a `:`) or a tag.
fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

#[derive(Debug)]
pub enum ManifestError {
    /// A reference or expected digest that is not a sha256/sha512 digest.
    DigestInvalid,
    /// A tag name that cannot be (or a `?tag=` on a push by tag).
    TagInvalid(String),
    /// The bytes are not a manifest (not UTF-8 here; the core says the rest with its rules).
    Invalid(String),
    Store(StoreError),
}

impl From<StoreError> for ManifestError {
    fn from(e: StoreError) -> Self {
        ManifestError::Store(e)
    }
}

/// Why a manifest read is refused.
#[derive(Debug)]
pub enum ReadError {
    Denied(Denied),
    Manifest(ManifestError),
}

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> Self {
        ReadError::Manifest(ManifestError::Store(e))
    }
}

/// A pull of the manifest `reference` names in `repo` by `caller`, if something keeps it alive:
/// the repository, the caller's role and the manifest in one store call (`quay.manifest_read`),
/// then the decision of [`access::decide`]. An invalid tag names nothing (the spec's conformance
/// tests and Quay answer "unknown"); an invalid digest is refused, to callers who may read.
pub async fn read(
    ctx: &Context,
    caller: &Caller,
    repo: &RepoName,
    reference: &str,
) -> Result<Option<StoredManifest>, ReadError> {
    let valid = if is_digest(reference) {
        quay_core::names::is_valid_digest(reference)
    } else {
        quay_core::names::is_valid_tag(reference)
    };
    let found = ctx
        .store
        .manifest_read(&repo.namespace, &repo.name, access::grant_user(caller), valid.then_some(reference))
        .await?;
    let (access, manifest) = match found {
        Some((a, m)) => (Some(a), m),
        None => (None, None),
    };
    access::decide(ctx, caller, repo, Action::Pull, access).await.map_err(ReadError::Denied)?;
    if !valid && is_digest(reference) {
        return Err(ReadError::Manifest(ManifestError::DigestInvalid));
    }
    Ok(manifest)
}

/// Pushes `bytes` (sent with `content_type`) as `reference`: a tag, or a digest the bytes must
/// have, optionally with `tags` to set with it (OCI 1.1 `?tag=`). The core checks everything
/// else (document, media type, digest, what it references) and records the manifest and its
/// tags in one transaction, or nothing.
/// Who pushed, for the `push_repo` action log.
#[derive(Debug, Clone, Default)]
pub struct Pusher {
    pub user_id: Option<i64>,
    /// The token's subject (a user or `owner+robot`).
    pub username: Option<String>,
    pub origin: super::log_entry::Origin,
}

#[allow(clippy::too_many_arguments)]
pub async fn push(
    ctx: &Context,
    repo: &super::repositories::RepoName,
    repository_id: i64,
    reference: &str,
    content_type: Option<String>,
    bytes: &[u8],
    tags: Vec<String>,
    pusher: &Pusher,
) -> Result<PushedManifest, ManifestError> {
    let by_digest = is_digest(reference);
    if tags.iter().any(|t| !quay_core::names::is_valid_tag(t)) || (!by_digest && !tags.is_empty()) {
        return Err(ManifestError::TagInvalid(
            "tag query parameters need a valid tag each and a push by digest".into(),
        ));
    }
    if by_digest {
        if !quay_core::names::is_valid_digest(reference) {
            return Err(ManifestError::DigestInvalid);
        }
    } else if !quay_core::names::is_valid_tag(reference) {
        return Err(ManifestError::TagInvalid(format!("{reference:?} is not a valid tag")));
    }
    let text = match quay_core::manifests::manifest_text(bytes) {
        Ok(text) => text.to_string(),
        Err(CoreError::Invalid { message, .. }) => return Err(ManifestError::Invalid(message)),
        Err(e) => return Err(ManifestError::Invalid(e.to_string())),
    };
    let temp = i64::try_from(ctx.config.push_temp_tag_expiration_sec).unwrap_or(3600);
    let tags = if by_digest { tags } else { vec![reference.to_string()] };
    let first_tag = tags.first().cloned();
    let media_type = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string))
        .or_else(|| content_type.clone());
    let push = ManifestPush {
        repository_id,
        content_type,
        bytes: text,
        expected_digest: by_digest.then(|| reference.to_string()),
        temp_tag_expiration_s: (by_digest && tags.is_empty()).then_some(temp),
        tags,
    };
    let bytes_for_labels = push.bytes.clone();
    let pushed = ctx.store.manifest_push(push).await?;
    super::labels::add_from_config(ctx, repository_id, &pushed.digest, &bytes_for_labels).await;
    // Quay logs pushes of tags; children of a list pushed by digest are not logged.
    if first_tag.is_some() {
        log_push(ctx, repo, repository_id, media_type, first_tag, pusher).await;
    }
    Ok(pushed)
}

/// Quay's `push_repo` log, written after the push committed (as Quay's is): a failure to log is
/// reported, never undoes an acknowledged push.
async fn log_push(
    ctx: &Context,
    repo: &super::repositories::RepoName,
    repository_id: i64,
    media_type: Option<String>,
    tag: Option<String>,
    pusher: &Pusher,
) {
    let mut metadata = serde_json::json!({
        "mediaType": media_type,
        "namespace": repo.namespace,
        "repo": repo.name,
        "resolved_ip": {
            "aws_region": null, "continent": null, "country_iso_code": null,
            "provider": "internet", "service": null, "sync_token": null,
        },
        "tag": tag,
        "user-agent": pusher.origin.user_agent,
        "username": pusher.username,
    });
    if pusher.username.as_deref().is_some_and(|u| u.contains('+')) {
        metadata["is_robot"] = serde_json::json!(true);
    }
    let mut entry = quay_core::logs::LogEntry::new("push_repo", metadata);
    entry.performer_id = pusher.user_id;
    entry.repository_id = Some(repository_id);
    entry.ip = pusher.origin.ip.clone();
    if let Err(e) = ctx.store.log_action(entry).await {
        tracing::warn!(repository = %repo.full(), error = %e, "push_repo action log not written");
    }
}

/// Deletes by digest (every alive tag on it ends, hidden ones too: `quay.manifest_delete`) or by
/// tag (that tag ends). `false` when nothing kept it alive.
pub async fn delete(ctx: &Context, repository_id: i64, reference: &str) -> Result<bool, ManifestError> {
    if is_digest(reference) {
        if !quay_core::names::is_valid_digest(reference) {
            return Err(ManifestError::DigestInvalid);
        }
        return match ctx.store.manifest_delete(repository_id, reference).await {
            Ok(n) => Ok(n > 0),
            Err(StoreError::Rule { code: Rule::ManifestUnknown, .. }) => Ok(false),
            Err(e) => Err(e.into()),
        };
    }
    if !quay_core::names::is_valid_tag(reference) {
        return Err(ManifestError::TagInvalid(format!("{reference:?} is not a valid tag")));
    }
    Ok(ctx.store.tag_delete(repository_id, reference).await?)
}
