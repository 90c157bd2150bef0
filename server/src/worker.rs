//! `quay worker`: claims jobs from Quay's queue and runs them; in mirror mode the same loop runs
//! inside `quay serve`.
//!
//! Wake-ups: PostgreSQL workers hold a dedicated `LISTEN quay_queue` connection (reconnected
//! with backoff), opened before they claim, so no put committed meanwhile is missed; SQLite
//! workers wait on the store's in-process signal. A slow poll covers anything else (a Python
//! Quay writer that does not NOTIFY, items whose `available_after` passes). On shutdown the
//! current job finishes (or is given back on failure) before the loop exits.
//!
//! Jobs: `repositorygc/<ns>/<repo id>/` → `quay.repository_purge`, `namespacegc/<id>/` →
//! `quay.namespace_purge`, then the freed blobs are deleted from storage after commit; and a
//! periodic `quay.gc_repository` over `quay.repositories_with_garbage`.

use crate::storage::BlobStorage;
use crate::store::Store;
use crate::store::jobs::Cascade;
use quay_core::gc::FreedBlob;
use quay_core::queue::QueueItem;
use std::time::Duration;
use tokio::sync::watch;

/// Queues this worker serves by default.
pub const QUEUES: [&str; 2] = ["repositorygc", "namespacegc"];

/// Lease of a GC job (Quay: 3 hours).
const GC_LEASE_S: i32 = 3 * 3600;
/// Retry delay after a failed job.
const RETRY_AFTER_S: i32 = 60;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub queues: Vec<String>,
    /// Fallback poll when no wake-up arrives.
    pub poll: Duration,
    /// Routine GC interval (Quay's GARBAGE_COLLECTION_FREQUENCY); `None` disables it.
    pub gc_every: Option<Duration>,
    /// Stale-upload cleanup interval (`BLOBUPLOAD_CLEANUP_FREQUENCY`); `None` disables it.
    pub upload_cleanup_every: Option<Duration>,
    /// Age after which an unfinished upload is removed (`BLOBUPLOAD_DELETION_DATE_THRESHOLD`);
    /// also the age after which the storage sweep removes objects no row names.
    pub upload_max_age: Duration,
    /// Storage sweep interval (`ops::blobs::sweep`: objects crashes left behind); `None` disables it.
    pub storage_sweep_every: Option<Duration>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            queues: QUEUES.iter().map(|q| q.to_string()).collect(),
            poll: Duration::from_secs(30),
            gc_every: Some(Duration::from_secs(30)),
            upload_cleanup_every: Some(Duration::from_secs(3600)),
            upload_max_age: Duration::from_secs(2 * 86_400),
            storage_sweep_every: Some(Duration::from_secs(86_400)),
        }
    }
}

impl WorkerConfig {
    /// The defaults, with the upload cleanup from the config.
    pub fn from_config(c: &crate::config::Config) -> Self {
        WorkerConfig {
            upload_cleanup_every: (c.blobupload_cleanup_frequency > 0)
                .then(|| Duration::from_secs(c.blobupload_cleanup_frequency)),
            upload_max_age: Duration::from_secs(c.blobupload_deletion_date_threshold.saturating_mul(86_400)),
            ..WorkerConfig::default()
        }
    }
}

/// Where wake-ups come from.
enum Wakeups {
    Listen(Option<tokio::sync::mpsc::UnboundedReceiver<String>>, Option<tokio_postgres::Client>),
    InProcess(std::sync::Arc<tokio::sync::Notify>),
}

impl Wakeups {
    fn new(store: &Store) -> Wakeups {
        match store {
            Store::Postgres(_) => Wakeups::Listen(None, None),
            Store::Sqlite(s) => Wakeups::InProcess(s.wakeups()),
        }
    }

    /// Makes sure interest is registered (PostgreSQL: a live LISTEN connection), reconnecting
    /// with backoff. Called before each round of claims.
    async fn ensure(&mut self, store: &Store, shutdown: &mut watch::Receiver<bool>) {
        let (Wakeups::Listen(rx, client), Store::Postgres(pg)) = (&mut *self, store) else { return };
        if rx.as_ref().is_some_and(|r| !r.is_closed()) {
            return;
        }
        let mut backoff = Duration::from_millis(500);
        loop {
            match pg.listen("quay_queue").await {
                Ok((c, r)) => {
                    *client = Some(c);
                    *rx = Some(r);
                    tracing::info!("worker listening on quay_queue");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "LISTEN connection failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Waits for a wake-up (or returns at once if one is pending).
    async fn wait(&mut self) {
        match self {
            Wakeups::Listen(Some(rx), _) => {
                if rx.recv().await.is_some() {
                    while rx.try_recv().is_ok() {}
                }
            }
            Wakeups::Listen(None, _) => std::future::pending().await,
            Wakeups::InProcess(n) => n.notified().await,
        }
    }
}

/// Runs the loop until `shutdown` becomes true.
pub async fn run(store: Store, storage: BlobStorage, cfg: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    let mut wake = Wakeups::new(&store);
    let never = Duration::from_secs(3600 * 24 * 365);
    let mut gc_tick = tokio::time::interval(cfg.gc_every.unwrap_or(never));
    gc_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut upload_tick = tokio::time::interval(cfg.upload_cleanup_every.unwrap_or(never));
    upload_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep_tick = tokio::time::interval(cfg.storage_sweep_every.unwrap_or(never));
    sweep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(queues = ?cfg.queues, backend = store.backend(), "worker started");
    while !*shutdown.borrow() {
        wake.ensure(&store, &mut shutdown).await;
        // Drain: claim until every queue is empty (or we are asked to stop).
        loop {
            let mut worked = false;
            for q in &cfg.queues {
                if *shutdown.borrow() {
                    break;
                }
                match store.queue_claim(&format!("{q}/"), GC_LEASE_S).await {
                    Ok(Some(item)) => {
                        worked = true;
                        run_job(&store, &storage, &item).await;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, queue = %q, "claim failed");
                    }
                }
            }
            if !worked || *shutdown.borrow() {
                break;
            }
        }
        tokio::select! {
            _ = wake.wait() => {}
            _ = tokio::time::sleep(cfg.poll) => {}
            _ = gc_tick.tick(), if cfg.gc_every.is_some() => routine_gc(&store, &storage).await,
            _ = upload_tick.tick(), if cfg.upload_cleanup_every.is_some() => {
                clean_stale_uploads(&store, &storage, cfg.upload_max_age).await;
            }
            _ = sweep_tick.tick(), if cfg.storage_sweep_every.is_some() => {
                if let Err(e) = crate::ops::blobs::sweep(&store, &storage, cfg.upload_max_age).await {
                    tracing::warn!(error = %e, "storage sweep failed");
                }
            }
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("worker stopped");
}

/// Parses `repositorygc/<ns>/<id>/` or `namespacegc/<id>/` into the cascade to run.
fn job_of(queue_name: &str) -> Option<(Cascade, i64)> {
    let parts: Vec<&str> = queue_name.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["repositorygc", _ns, id] => Some((Cascade::RepositoryPurge, id.parse().ok()?)),
        ["namespacegc", id] => Some((Cascade::NamespacePurge, id.parse().ok()?)),
        _ => None,
    }
}

async fn run_job(store: &Store, storage: &BlobStorage, item: &QueueItem) {
    let Some((cascade, id)) = job_of(&item.queue_name) else {
        tracing::warn!(queue_name = %item.queue_name, "unknown job: dropped");
        let _ = store.queue_complete(item.id).await;
        return;
    };
    let started = std::time::Instant::now();
    match store.cascade(cascade, id).await {
        Ok(freed) => {
            let blobs = freed.len();
            delete_objects(store, storage, freed).await;
            if let Err(e) = store.queue_complete(item.id).await {
                tracing::warn!(error = %e, item = item.id, "could not complete job (it will be retried)");
            }
            tracing::info!(job = ?cascade, id, blobs, ms = started.elapsed().as_millis() as u64, "job done");
        }
        Err(e) => {
            tracing::warn!(error = %e, job = ?cascade, id, "job failed; retrying later");
            if let Err(e) = store.queue_incomplete(item.id, RETRY_AFTER_S).await {
                tracing::warn!(error = %e, item = item.id, "could not give the job back (lease expiry will)");
            }
        }
    }
}

/// Deletes freed objects after their rows are gone, each under its digest lock and only if no
/// row names it again (a failure leaks an object for the sweep, never a row).
async fn delete_objects(store: &Store, storage: &BlobStorage, freed: Vec<FreedBlob>) {
    crate::ops::blobs::delete_freed(store, storage, freed).await;
}

async fn routine_gc(store: &Store, storage: &BlobStorage) {
    let repos = match store.repositories_with_garbage(500).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "GC candidate query failed");
            return;
        }
    };
    for repo in repos {
        match store.cascade(Cascade::RepositoryGc, repo).await {
            Ok(freed) => {
                if !freed.is_empty() {
                    tracing::info!(repository = repo, blobs = freed.len(), "repository garbage collected");
                }
                delete_objects(store, storage, freed).await;
            }
            Err(e) => tracing::warn!(error = %e, repository = repo, "repository GC failed"),
        }
    }
}

/// Removes uploads older than `max_age` (Quay's blob upload cleanup worker): storage objects
/// first (a failure is logged and the row removed anyway, as Quay does: the objects are under
/// `uploads/`, never content), then the row. Safe on several pods at once: both deletes are
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
            if let Err(e) = storage.upload_cancel(uuid).await {
                tracing::warn!(error = %e, %uuid, "could not remove a stale upload's objects");
            }
            match store.upload_delete_by_id(*id).await {
                Ok(_) => removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, %uuid, "could not remove a stale upload row");
                    return removed;
                }
            }
        }
    }
    if removed > 0 {
        tracing::info!(uploads = removed, "stale uploads removed");
    }
    removed
}

/// A watch channel that turns true on SIGTERM/SIGINT.
pub fn shutdown_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        crate::shutdown::signal().await;
        tracing::info!("shutdown requested: finishing the current job");
        let _ = tx.send(true);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names() {
        assert_eq!(job_of("repositorygc/acme/42/"), Some((Cascade::RepositoryPurge, 42)));
        assert_eq!(job_of("namespacegc/7/"), Some((Cascade::NamespacePurge, 7)));
        assert_eq!(job_of("repositorygc/acme/x/"), None);
        assert_eq!(job_of("notification/acme/"), None);
    }
}
