//! Auto-prune: the `autoprune/<namespace>/<repository id>/` items a push queues when a policy
//! applies (`quay.autoprune_repository`: the policies applied under the repository's tag lock),
//! and the slow timer over every namespace with policies (`quay.autoprune_run_due`, Quay's
//! auto-prune worker: each namespace at most once per `TASK_INTERVAL_MS`).

use super::job::Job;
use crate::storage::BlobStorage;
use crate::store::Store;
use futures_util::future::BoxFuture;
use quay_core::queue::QueueItem;

pub struct AutoPrune;

/// The repository an item names (the last path segment).
fn target(queue_name: &str) -> Option<i64> {
    let parts: Vec<&str> = queue_name.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [q, _, id] if *q == quay_core::autoprune::QUEUE => id.parse().ok(),
        _ => None,
    }
}

impl Job for AutoPrune {
    fn queue(&self) -> &'static str {
        quay_core::autoprune::QUEUE
    }
    fn lease_s(&self) -> i32 {
        300
    }
    fn retry_after_s(&self) -> i32 {
        30
    }
    fn run<'a>(
        &'a self,
        store: &'a Store,
        _storage: &'a BlobStorage,
        item: &'a QueueItem,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let Some(id) = target(&item.queue_name) else {
                tracing::warn!(queue_name = %item.queue_name, "unknown job: dropped");
                return Ok(());
            };
            let pruned = store.autoprune_repository(id).await.map_err(|e| e.to_string())?;
            if !pruned.is_empty() {
                tracing::info!(repository = id, tags = pruned.len(), "auto-pruned");
            }
            Ok(())
        })
    }
}

/// Namespaces one slow-timer pass may prune.
const NAMESPACES_PER_PASS: usize = 10;

/// One slow-timer pass: up to [`NAMESPACES_PER_PASS`] namespaces due, each in a transaction of
/// its own, so the tag locks a namespace's prune takes are held only while that namespace is
/// pruned (pushes to its repositories wait for it alone, not for the whole pass). A call when
/// nothing is due is one indexed read.
pub async fn run_due(store: &Store) -> Result<(), String> {
    let mut pruned = 0;
    let mut failure = None;
    for _ in 0..NAMESPACES_PER_PASS {
        match store.autoprune_run_due(1, quay_core::autoprune::TASK_INTERVAL_MS).await {
            Ok(n) => pruned += n,
            Err(e) => {
                // The namespace stays due: the next tick tries again, not this loop.
                tracing::warn!(error = %e, "auto-prune pass failed");
                failure = Some(e.to_string());
                break;
            }
        }
    }
    if pruned > 0 {
        tracing::info!(tags = pruned, "auto-prune pass");
    }
    failure.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    #[test]
    fn item_names() {
        assert_eq!(super::target("autoprune/acme/42/"), Some(42));
        assert_eq!(super::target("autoprune/42/"), None);
        assert_eq!(super::target("notification/acme/42/"), None);
    }
}
