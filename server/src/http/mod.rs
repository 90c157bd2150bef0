//! The HTTP tier: routers only. Handlers call the store and storage; they never build SQL.

pub mod health;
pub mod registry_error;
pub mod v2;

use crate::config::Config;
use crate::storage::BlobStorage;
use crate::store::Store;
use axum::Router;
use std::sync::Arc;

/// Everything a handler may use. Cheap to clone; no per-pod state that another pod would need.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub storage: BlobStorage,
}

pub fn router(state: AppState) -> Router {
    Router::new().merge(health::routes()).merge(v2::routes()).with_state(state)
}
