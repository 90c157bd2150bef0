//! One queue, one job: what a worker claims from a queue (its lease) and what an item does. The
//! loop claims through the store (`quay.queue_claim`), then completes the item or gives it back
//! for a retry (`quay.queue_complete` / `quay.queue_incomplete`).

use crate::storage::BlobStorage;
use crate::store::Store;
use futures_util::future::BoxFuture;
use quay_core::queue::QueueItem;

/// Retry delay after a failed job.
pub const RETRY_AFTER_S: i32 = 60;

/// A queue's job.
pub trait Job: Send + Sync {
    /// The queue (`queueitem.queue_name` starts with `<queue>/`).
    fn queue(&self) -> &'static str;
    /// How long a claim keeps the item from other workers.
    fn lease_s(&self) -> i32;
    /// How long a failed item waits before its next try.
    fn retry_after_s(&self) -> i32 {
        RETRY_AFTER_S
    }
    /// Runs one item: `Ok` completes it (also for an item this job cannot parse, which is
    /// dropped with a warning), `Err` gives it back for a retry.
    fn run<'a>(
        &'a self,
        store: &'a Store,
        storage: &'a BlobStorage,
        item: &'a QueueItem,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Claims one item of `job`'s queue and runs it; `true` if there was one.
pub async fn claim_and_run(job: &dyn Job, store: &Store, storage: &BlobStorage) -> bool {
    let item = match store.queue_claim(&format!("{}/", job.queue()), job.lease_s()).await {
        Ok(Some(item)) => item,
        Ok(None) => return false,
        Err(e) => {
            tracing::warn!(error = %e, queue = job.queue(), "claim failed");
            return false;
        }
    };
    let started = std::time::Instant::now();
    match job.run(store, storage, &item).await {
        Ok(()) => {
            if let Err(e) = store.queue_complete(item.id).await {
                tracing::warn!(error = %e, item = item.id, "could not complete job (it will be retried)");
            }
            tracing::info!(queue_name = %item.queue_name, ms = started.elapsed().as_millis() as u64, "job done");
        }
        Err(e) => {
            tracing::warn!(error = %e, queue_name = %item.queue_name, "job failed; retrying later");
            if let Err(e) = store.queue_incomplete(item.id, job.retry_after_s()).await {
                tracing::warn!(error = %e, item = item.id, "could not give the job back (lease expiry will)");
            }
        }
    }
    true
}
