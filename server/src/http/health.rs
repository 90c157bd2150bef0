//! Quay's health endpoints: `{"data":{"services":{name:bool}},"status_code":N}` with the same
//! HTTP status. `/health/instance` ignores storage failures (Quay's `LocalHealthCheck` skips
//! them); `/health/endtoend` counts every service.

use super::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(instance))
        .route("/health/instance", get(instance))
        .route("/health/endtoend", get(endtoend))
        .route("/status", get(endtoend))
        .route("/_internal_ping", get(|| async { Json(true) }))
}

async fn services(state: &AppState) -> BTreeMap<&'static str, bool> {
    let (db, storage) = tokio::join!(state.store.ping(), state.storage.check());
    if let Err(e) = &db {
        tracing::warn!(error = %e, "health: database check failed");
    }
    if let Err(e) = &storage {
        tracing::warn!(error = %format!("{e:#}"), "health: storage check failed");
    }
    BTreeMap::from([("database", db.is_ok()), ("storage", storage.is_ok())])
}

fn render(services: BTreeMap<&'static str, bool>, skip: &[&str]) -> Response {
    let healthy = services.iter().all(|(name, ok)| *ok || skip.contains(name));
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({"data": {"services": services}, "status_code": status.as_u16()});
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    resp
}

async fn instance(State(state): State<AppState>) -> Response {
    render(services(&state).await, &["storage"])
}

async fn endtoend(State(state): State<AppState>) -> Response {
    render(services(&state).await, &[])
}
