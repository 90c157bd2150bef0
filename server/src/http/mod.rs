//! The HTTP tier: routers only. Handlers call the store and storage; they never build SQL.

pub mod body;
pub mod conn;
pub mod health;
pub mod registry_error;
pub mod v2;

use crate::auth::field_encryption::FieldEncrypter;
use crate::auth::keys::KeySet;
use crate::config::Config;
use crate::storage::BlobStorage;
use crate::store::Store;
use anyhow::Context as _;
use axum::Router;
use std::path::Path;
use std::sync::Arc;

/// Everything a handler may use. Cheap to clone; no per-pod state that another pod would need.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub storage: BlobStorage,
    pub keys: Arc<KeySet>,
    /// `DATABASE_SECRET_KEY`'s field encryption (robot and app tokens), when configured.
    pub encrypter: Option<Arc<FieldEncrypter>>,
    /// The `imagestoragelocation` name blobs are written to (first of `DISTRIBUTED_STORAGE_PREFERENCE`).
    pub location: Arc<str>,
}

impl AppState {
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
        Ok(AppState { config: Arc::new(config), store, storage, keys, encrypter, location })
    }
}

pub fn router(state: AppState) -> Router {
    let guard = body::Guard::from_config(&state.config);
    Router::new()
        .merge(health::routes())
        .merge(v2::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(guard, body::guard))
}
