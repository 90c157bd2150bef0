//! The purge jobs: `repositorygc/<namespace>/<repository id>/` → `quay.repository_purge` and
//! `namespacegc/<namespace id>/` → `quay.namespace_purge`, for what was marked for deletion;
//! then the freed blob objects are deleted (after the rows, each under its digest lock, so a
//! failure leaks an object for the sweep, never a row).

use super::job::Job;
use crate::storage::BlobStorage;
use crate::store::Store;
use crate::store::jobs::Cascade;
use futures_util::future::BoxFuture;
use quay_core::queue::QueueItem;

/// A queue whose items name one thing to purge.
#[derive(Debug, Clone, Copy)]
pub struct Purge {
    pub queue: &'static str,
    cascade: Cascade,
    /// Path segments after the queue name; the id is the last one.
    segments: usize,
}

pub const REPOSITORY_GC: Purge =
    Purge { queue: "repositorygc", cascade: Cascade::RepositoryPurge, segments: 2 };
pub const NAMESPACE_GC: Purge = Purge { queue: "namespacegc", cascade: Cascade::NamespacePurge, segments: 1 };

/// Lease of a purge (Quay: 3 hours).
const LEASE_S: i32 = 3 * 3600;

impl Purge {
    /// The id an item of this queue names.
    fn target(&self, queue_name: &str) -> Option<i64> {
        let parts: Vec<&str> = queue_name.trim_end_matches('/').split('/').collect();
        match parts.split_first() {
            Some((q, rest)) if *q == self.queue && rest.len() == self.segments => rest.last()?.parse().ok(),
            _ => None,
        }
    }
}

impl Job for Purge {
    fn queue(&self) -> &'static str {
        self.queue
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
            let Some(id) = self.target(&item.queue_name) else {
                tracing::warn!(queue_name = %item.queue_name, "unknown job: dropped");
                return Ok(());
            };
            let freed = store.cascade(self.cascade, id).await.map_err(|e| e.to_string())?;
            let blobs = freed.len();
            crate::ops::blobs::delete_freed(store, storage, freed).await;
            let m = crate::metrics::global();
            m.gc_storage_blobs_deleted.inc_by(blobs as u64);
            match self.cascade {
                Cascade::RepositoryPurge => m.gc_repos_purged.inc(),
                _ => m.gc_namespaces_purged.inc(),
            };
            tracing::info!(cascade = ?self.cascade, id, blobs, "purged");
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{NAMESPACE_GC, REPOSITORY_GC};

    #[test]
    fn item_names() {
        assert_eq!(REPOSITORY_GC.target("repositorygc/acme/42/"), Some(42));
        assert_eq!(NAMESPACE_GC.target("namespacegc/7/"), Some(7));
        for bad in ["repositorygc/acme/x/", "notification/acme/", "namespacegc/7/", "repositorygc/42/"] {
            assert_eq!(REPOSITORY_GC.target(bad), None, "{bad}");
        }
        for bad in ["namespacegc/x/", "repositorygc/acme/42/", "namespacegc/1/2/"] {
            assert_eq!(NAMESPACE_GC.target(bad), None, "{bad}");
        }
    }
}
