//! Operations, written once for every caller (`/v2` handlers, workers, and later `/api/v1`):
//! who the caller is and what it may do ([`access`]), blob objects and their rows ([`blobs`]),
//! registry token grants ([`credentials`]), blob uploads ([`uploads`]), manifests
//! ([`manifests`]), listings ([`catalog`]).
//! They know neither HTTP nor SQL: they take a [`Context`], call `store` and `storage`, and
//! return typed errors.

pub mod access;
pub mod blobs;
pub mod catalog;
pub mod credentials;
pub mod manifests;
pub mod repositories;
pub mod uploads;

use crate::auth::field_encryption::FieldEncrypter;
use crate::auth::keys::KeySet;
use crate::config::Config;
use crate::storage::BlobStorage;
use crate::store::{Store, StoreError};
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;

/// Everything an operation may use. Cheap to clone; no per-pod state that another pod would need.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub store: Store,
    pub storage: BlobStorage,
    pub keys: Arc<KeySet>,
    /// `DATABASE_SECRET_KEY`'s field encryption (robot and app tokens), when configured.
    pub encrypter: Option<Arc<FieldEncrypter>>,
    /// The `imagestoragelocation` name blobs are written to (first of `DISTRIBUTED_STORAGE_PREFERENCE`).
    pub location: Arc<str>,
}

impl Context {
    /// Loads the signing key (see [`KeySet::open`]), the field-encryption key, and makes sure the
    /// configured storage locations exist in `imagestoragelocation`.
    pub async fn new(
        config: Config,
        store: Store,
        storage: BlobStorage,
        data_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let location: Arc<str> = config
            .primary_storage()
            .map(|(name, _)| name)
            .context("DISTRIBUTED_STORAGE_PREFERENCE names no configured storage location")?
            .into();
        let names: Vec<String> = config.distributed_storage_config.keys().cloned().collect();
        store.ensure_storage_locations(&names).await?;
        let encrypter = match &config.database_secret_key {
            Some(k) => Some(Arc::new(
                FieldEncrypter::new(k.expose()).map_err(|e| anyhow::anyhow!("DATABASE_SECRET_KEY: {e}"))?,
            )),
            None => None,
        };
        let keys = Arc::new(KeySet::open(&config, &store, data_dir).await?);
        Ok(Context { config: Arc::new(config), store, storage, keys, encrypter, location })
    }

    /// The library namespace when `FEATURE_LIBRARY_SUPPORT` is on (one-segment names live there).
    pub fn library(&self) -> Option<&str> {
        self.config.feature_library_support.0.then_some(self.config.library_namespace.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("blob storage failed: {0:#}")]
    Storage(anyhow::Error),
}
