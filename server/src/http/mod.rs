//! The HTTP tier: routers and handlers. Handlers parse a request, call operations (`ops`) and
//! the store, and render the answer; they never build SQL.

pub mod api;
pub mod body;
pub mod conn;
pub mod health;
pub mod metrics;
pub mod origin;
pub mod registry_error;
pub mod request_log;
pub mod v2;

use axum::Router;

/// What handlers use: the operations' context (`ops::Context`); HTTP adds nothing of its own.
pub type AppState = crate::ops::Context;

pub fn router(state: AppState) -> Router {
    let guard = body::Guard::from_config(&state.config);
    Router::new()
        .merge(health::routes())
        .merge(v2::routes(&state))
        .merge(api::routes(&state))
        .route("/metrics", axum::routing::get(metrics::scrape))
        .with_state(state)
        .layer(axum::middleware::from_fn(metrics::record))
        .layer(axum::middleware::from_fn_with_state(guard, body::guard))
        .layer(axum::middleware::from_fn(request_log::log_failures))
        .layer(axum::middleware::from_fn(request_log::log_request))
}
