//! `namespacegc/<namespace id>/`: a namespace marked for deletion is purged
//! (`quay.namespace_purge`), then its freed blob objects are deleted.

use super::job::Job;
use crate::storage::BlobStorage;
use crate::store::Store;
use crate::store::jobs::Cascade;
use futures_util::future::BoxFuture;
use quay_core::queue::QueueItem;

pub const QUEUE: &str = "namespacegc";

/// Lease of a GC job (Quay: 3 hours).
const LEASE_S: i32 = 3 * 3600;

pub struct NamespaceGc;

/// The id an item names (`namespacegc/<id>/`).
fn target(queue_name: &str) -> Option<i64> {
    let parts: Vec<&str> = queue_name.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["namespacegc", id] => id.parse().ok(),
        _ => None,
    }
}

impl Job for NamespaceGc {
    fn queue(&self) -> &'static str {
        QUEUE
    }
    fn lease_s(&self) -> i32 {
        LEASE_S
    }
    fn run<'a>(
        &'a self,
        store: &'a Store,
        storage: &'a BlobStorage,
        item: &'a QueueItem,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let Some(id) = target(&item.queue_name) else {
                tracing::warn!(queue_name = %item.queue_name, "unknown job: dropped");
                return Ok(());
            };
            let freed = store.cascade(Cascade::NamespacePurge, id).await.map_err(|e| e.to_string())?;
            let blobs = freed.len();
            // Freed objects go after their rows, each under its digest lock (a failure leaks
            // an object for the sweep, never a row).
            crate::ops::blobs::delete_freed(store, storage, freed).await;
            tracing::info!(cascade = "NamespacePurge", id, blobs, "purged");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn item_names() {
        assert_eq!(super::target("namespacegc/7/"), Some(7));
        for bad in ["namespacegc/x/", "repositorygc/acme/42/"] {
            assert_eq!(super::target(bad), None, "{bad}");
        }
    }
}
