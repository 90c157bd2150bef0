//! Operations that span the metadata store and blob storage, written once for every caller
//! (`/v2` handlers, workers, and later `/api/v1`). They know neither HTTP nor SQL: they call
//! `store` and `storage` and return an [`OpError`].

pub mod blobs;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("blob storage failed: {0:#}")]
    Storage(anyhow::Error),
}
