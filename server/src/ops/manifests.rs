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
///
/// A manifest served is logged as Quay does (`pull_repo` with the tag or the digest, by
/// [`LogWriter`](super::log_writer::LogWriter), off the request's path).
pub async fn read(
    ctx: &Context,
    caller: &Caller,
    actor: &Actor,
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
    let repository = access.as_ref().map(|a| (a.repository.id, a.repository.namespace_id));
    access::decide(ctx, caller, repo, Action::Pull, access).await.map_err(ReadError::Denied)?;
    if !valid && is_digest(reference) {
        return Err(ReadError::Manifest(ManifestError::DigestInvalid));
    }
    if let (Some(_), Some((id, namespace_id))) = (&manifest, repository) {
        let key = if is_digest(reference) { "manifest_digest" } else { "tag" };
        let mut entry = registry_log("pull_repo", repo, id, actor, serde_json::json!({key: reference}));
        // The account is known: no lookup when the batch is written (nor a failure, should the
        // repository be purged before it is).
        entry.account_id = Some(namespace_id);
        ctx.logs.record(entry).await;
    }
    Ok(manifest)
}

/// Pushes `bytes` (sent with `content_type`) as `reference`: a tag, or a digest the bytes must
/// have, optionally with `tags` to set with it (OCI 1.1 `?tag=`). The core checks everything
/// else (document, media type, digest, what it references) and records the manifest and its
/// tags in one transaction, or nothing.
/// Who pulled or pushed, for the `pull_repo` and `push_repo` action logs.
#[derive(Debug, Clone, Default)]
pub struct Actor {
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
    actor: &Actor,
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
        event: event_context(ctx, actor),
    };
    let bytes_for_labels = push.bytes.clone();
    let event = push.event.clone();
    let pushed = match ctx.store.manifest_push(push).await {
        Ok(p) => p,
        Err(e @ StoreError::Rule { code: quay_core::rules::Rule::QuotaExceeded, .. }) => {
            // The refused push rolled back; its `quota_error` goes out in a transaction of its own.
            if let Err(n) = ctx.store.quota_notify_rejected(repository_id, event).await {
                tracing::warn!(error = %n, "quota_error notification not queued");
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    super::labels::add_from_config(ctx, repository_id, &pushed.digest, &bytes_for_labels).await;
    // Quay logs pushes of tags; children of a list pushed by digest are not logged.
    if first_tag.is_some() {
        let metadata = serde_json::json!({"mediaType": media_type, "tag": first_tag});
        ctx.logs.record(registry_log("push_repo", repo, repository_id, actor, metadata)).await;
        // A push waits for its log (shared with concurrent pushes' batch), so the API shows it
        // as soon as the push is acknowledged; pulls do not wait.
        ctx.logs.flush().await;
    }
    Ok(pushed)
}

/// What a push's `repo_push` notifications need that the database does not hold: how this
/// registry is addressed, and who pushed (Quay's `performer_data`).
fn event_context(ctx: &Context, actor: &Actor) -> quay_core::notifications::EventContext {
    let performer = match (actor.user_id, actor.username.as_deref()) {
        (Some(id), Some(name)) => serde_json::json!({"entity_id": id, "entity_name": name}),
        _ => serde_json::json!({}),
    };
    quay_core::notifications::EventContext {
        server_hostname: ctx.config.server_hostname.clone(),
        scheme: ctx.config.preferred_url_scheme.clone(),
        performer,
    }
}

/// A registry action's log as Quay's `track_and_log` writes it: the repository, the user agent,
/// the caller's name (`is_robot` for robots), the resolved address, and `extra` (the tag, the
/// digest, the media type). Push logs are queued after the push committed, as Quay writes them:
/// a failure to log never undoes an acknowledged push.
fn registry_log(
    kind: &str,
    repo: &RepoName,
    repository_id: i64,
    actor: &Actor,
    extra: serde_json::Value,
) -> quay_core::logs::LogEntry {
    let mut metadata = serde_json::json!({
        "namespace": repo.namespace,
        "repo": repo.name,
        "resolved_ip": {
            "aws_region": null, "continent": null, "country_iso_code": null,
            "provider": "internet", "service": null, "sync_token": null,
        },
        "user-agent": actor.origin.user_agent,
    });
    if let Some(name) = actor.username.as_deref().filter(|_| actor.user_id.is_some()) {
        metadata["username"] = serde_json::json!(name);
        if name.contains('+') {
            metadata["is_robot"] = serde_json::json!(true);
        }
    }
    if let (Some(m), serde_json::Value::Object(extra)) = (metadata.as_object_mut(), extra) {
        m.extend(extra);
    }
    let mut entry = quay_core::logs::LogEntry::new(kind, metadata);
    entry.performer_id = actor.user_id;
    entry.repository_id = Some(repository_id);
    entry.ip = actor.origin.ip.clone();
    entry
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
