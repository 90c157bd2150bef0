//! `quay gc`: garbage collection run once, now, for one repository, one namespace or
//! everything, with the same calls as the worker's routine GC (`quay.gc_repository` or the
//! core), then the freed blobs' storage deletes. `--dry-run` makes the same calls in
//! transactions that are rolled back, and reports what would go.

use crate::progress::Progress;
use crate::storage::BlobStorage;
use crate::store::jobs::Cascade;
use crate::store::{Store, StoreError};

/// What to collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(String),
    /// `namespace/name`
    Repository(String),
}

impl Scope {
    fn covers(&self, full_name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Namespace(ns) => full_name.split_once('/').is_some_and(|(n, _)| n == ns),
            Scope::Repository(r) => full_name == r,
        }
    }
}

/// One repository's outcome: the digests of the blobs freed (or that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub repository: String,
    pub blobs: Vec<String>,
}

/// Repositories with garbage in `scope`, collected (or previewed) one after the other.
pub async fn collect(
    store: &Store,
    storage: &BlobStorage,
    scope: &Scope,
    dry_run: bool,
) -> Result<Vec<Collected>, StoreError> {
    let ids = store.repositories_with_garbage(i32::MAX).await?;
    let (Some(&from), Some(&to)) = (ids.iter().min(), ids.iter().max()) else { return Ok(Vec::new()) };
    let names = store.repository_names(from, to).await?;
    let todo: Vec<(i64, String)> =
        names.into_iter().filter(|(id, name)| ids.contains(id) && scope.covers(name)).collect();
    let mut p = Progress::new(todo.len());
    let mut out = Vec::new();
    for (id, name) in todo {
        let freed = if dry_run {
            store.cascade_preview(Cascade::RepositoryGc, id).await?
        } else {
            let freed = store.cascade(Cascade::RepositoryGc, id).await?;
            crate::metrics::global().gc_storage_blobs_deleted.inc_by(freed.len() as u64);
            crate::ops::blobs::delete_freed(store, storage, freed.clone()).await;
            freed
        };
        let verb = if dry_run { "would free" } else { "freed" };
        p.step(&format!("{name}: {verb} {} blob(s)", freed.len()));
        out.push(Collected {
            repository: name,
            blobs: freed.into_iter().map(|f| f.content_checksum).collect(),
        });
    }
    Ok(out)
}
