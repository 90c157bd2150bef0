//! A registry push as one transaction: the manifest and its tags (`tags`), then what follows from
//! it in the same transaction — Quay's `repo_push` notifications, the quota events
//! (`quota`), and the auto-prune job when a policy applies (`autoprune`). A push that rolls back
//! leaves none of them.

use crate::exec::{CoreResult, Executor};
use crate::tags::PushedManifest;

/// [`crate::tags::manifest_put_bytes`] and, when tags moved, Quay's `repo_push` notifications queued in the
/// same transaction (`updated_tags`: the tags pushed) — a push that rolls back sends nothing.
#[allow(clippy::too_many_arguments)]
pub fn manifest_push(
    ex: &mut dyn Executor,
    repository_id: i64,
    media_type: Option<&str>,
    bytes: &str,
    expected_digest: Option<&str>,
    temp_tag_expiration_s: Option<i64>,
    tags: &[String],
    event: &crate::notifications::EventContext,
) -> CoreResult<PushedManifest> {
    let checked = crate::manifests::CheckedManifest::check(bytes, media_type, expected_digest)?;
    manifest_push_checked(ex, repository_id, checked, temp_tag_expiration_s, tags, event)
}

/// [`manifest_push`] of a manifest already checked (mirror mode checks before its write
/// transaction).
pub fn manifest_push_checked(
    ex: &mut dyn Executor,
    repository_id: i64,
    manifest: crate::manifests::CheckedManifest,
    temp_tag_expiration_s: Option<i64>,
    tags: &[String],
    event: &crate::notifications::EventContext,
) -> CoreResult<PushedManifest> {
    let pushed = crate::tags::manifest_put_checked(ex, repository_id, manifest, temp_tag_expiration_s, tags)?;
    if !tags.is_empty() {
        crate::notifications::spawn(
            ex,
            repository_id,
            "repo_push",
            serde_json::json!({"updated_tags": tags}),
            event,
        )?;
    }
    crate::quota::notify_limits(ex, repository_id, event)?;
    if !tags.is_empty() {
        // A push that adds or moves tags wakes the auto-prune job (when a policy applies).
        crate::autoprune::queue_after_push(ex, repository_id)?;
    }
    Ok(pushed)
}
