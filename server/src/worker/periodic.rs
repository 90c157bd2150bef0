//! Work on a timer rather than a queue: routine garbage collection of every repository with
//! garbage (`quay.repositories_with_garbage`, `quay.gc_repository`) and the stale-upload cleanup.

use crate::storage::BlobStorage;
use crate::store::Store;
use crate::store::jobs::Cascade;
use std::time::Duration;

/// Collects each repository with garbage, then deletes its freed objects. `Err` names the
/// last failure (the other repositories are still collected).
pub async fn routine_gc(store: &Store, storage: &BlobStorage) -> Result<(), String> {
    crate::metrics::global().gc_iterations.inc();
    let repos = match store.repositories_with_garbage(500).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "GC candidate query failed");
            return Err(format!("candidates: {e}"));
        }
    };
    let mut status = Ok(());
    for repo in repos {
        match store.cascade(Cascade::RepositoryGc, repo).await {
            Ok(freed) => {
                if !freed.is_empty() {
                    tracing::info!(repository = repo, blobs = freed.len(), "repository garbage collected");
                }
                crate::metrics::global().gc_storage_blobs_deleted.inc_by(freed.len() as u64);
                crate::ops::blobs::delete_freed(store, storage, freed).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, repository = repo, "repository GC failed");
                status = Err(format!("repository {repo}: {e}"));
            }
        }
    }
    status
}

/// Counts yesterday's actions per repository (`quay.repository_action_counts_run`).
pub async fn count_actions(store: &Store) -> Result<(), String> {
    match store.repository_action_counts().await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(repositories = n, "yesterday's repository actions counted");
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "repository action count failed");
            Err(e.to_string())
        }
    }
}

/// Removes uploads older than `max_age` (Quay's blob upload cleanup worker): the row, then its
/// storage objects (a failure is logged; the sweep removes them later: they are under
/// `uploads/`, never content). Safe on several pods at once: both deletes are
/// idempotent. Returns how many uploads were removed.
pub async fn clean_stale_uploads(store: &Store, storage: &BlobStorage, max_age: Duration) -> usize {
    let max_age_s = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX / 2);
    let mut removed = 0;
    loop {
        let batch = match store.stale_uploads(max_age_s, 100).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "stale upload query failed");
                return removed;
            }
        };
        if batch.is_empty() {
            break;
        }
        for (id, uuid) in &batch {
            // The row first: a session's pieces go only once its row is gone (as a finish does),
            // so a request landing meanwhile never finds a live session without its pieces.
            match store.upload_delete_by_id(*id).await {
                Ok(true) => removed += 1,
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, %uuid, "could not remove a stale upload row");
                    return removed;
                }
            }
            if let Err(e) = storage.upload_cancel(uuid).await {
                // The row is gone: the storage sweep removes what is left.
                tracing::warn!(error = %e, %uuid, "could not remove a stale upload's objects");
            }
        }
    }
    if removed > 0 {
        tracing::info!(uploads = removed, "stale uploads removed");
    }
    removed
}

/// Tags about to expire: one pass of `repo_image_expiry` notifications (queued for the
/// notification job). Quay runs it with its GC worker when `FEATURE_IMAGE_EXPIRY_TRIGGER` is on.
pub async fn image_expiry_scan(
    store: &Store,
    ctx: quay_core::notifications::EventContext,
) -> Result<(), String> {
    match store.notification_expiry_scan(ctx).await {
        Ok(0) => Ok(()),
        Ok(n) => {
            tracing::info!(deliveries = n, "tag expiry notifications queued");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "tag expiry scan failed");
            Err(e.to_string())
        }
    }
}

/// Records a periodic job's run (`quay.periodic_jobs` on PostgreSQL): `ok` or what failed.
pub async fn ran(store: &Store, job: &str, started: std::time::Instant, outcome: Result<(), String>) {
    let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let status = outcome.err().unwrap_or_else(|| "ok".into());
    if let Err(e) = store.periodic_job_ran(job, &status, ms).await {
        tracing::debug!(error = %e, job, "periodic job run not recorded");
    }
}
