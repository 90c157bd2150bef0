//! Quay's health endpoints: `{"data":{"services":{name:bool}},"status_code":N}` with the same
//! HTTP status. `/health/instance` ignores storage failures (Quay's `LocalHealthCheck` skips
//! them); `/health/endtoend` counts every service; `/health/warning` reports free disk space
//! (`disk_space_warning`, `DISKSPACE_HEALTH_WARNING_THRESHOLD`).
//!
//! For load balancers and Kubernetes: `/livez` (the process answers; no dependency is checked,
//! so an outage elsewhere never restarts pods), `/readyz` (the database answers and the process
//! is not draining: it fails first on SIGTERM), and mirror-registry's `/healthz` (`SELECT 1`).

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
        .route("/health/warning", get(warning))
        .route("/_internal_ping", get(|| async { Json(true) }))
        .route("/livez", get(|| async { no_cache(Json(json!({"status": "ok"})).into_response()) }))
        .route("/readyz", get(readyz))
        .route("/healthz", get(healthz))
}

fn no_cache(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    resp
}

fn status_body(ok: bool, body: serde_json::Value) -> Response {
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    no_cache((status, Json(body)).into_response())
}

/// Ready for traffic: not draining, and the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return status_body(false, json!({"status": "draining"}));
    }
    match state.store.ping().await {
        Ok(()) => status_body(true, json!({"status": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            status_body(false, json!({"status": "unavailable", "database": false}))
        }
    }
}

/// mirror-registry's check: `SELECT 1`.
async fn healthz(State(state): State<AppState>) -> Response {
    let ok = state.store.ping().await.is_ok();
    status_body(ok, json!({"status": if ok { "ok" } else { "unhealthy" }}))
}

/// The free share of the volume holding `path` (0.0–1.0), if it can be read.
fn free_share(path: &std::path::Path) -> Option<f64> {
    let s = rustix::fs::statvfs(path).ok()?;
    (s.f_blocks > 0).then(|| s.f_bavail as f64 / s.f_blocks as f64)
}

/// Quay's `disk_space_warning`: the storage volume (local storage) and the temporary directory
/// each have at least `DISKSPACE_HEALTH_WARNING_THRESHOLD` of their space free.
async fn warning(State(state): State<AppState>) -> Response {
    let threshold = state.config.diskspace_health_warning_threshold;
    let mut paths = vec![std::env::temp_dir()];
    paths.extend(state.storage.local_root().map(std::path::Path::to_path_buf));
    let low: Vec<String> = paths
        .iter()
        .filter(|p| free_share(p).is_some_and(|free| free < threshold))
        .map(|p| p.display().to_string())
        .collect();
    if !low.is_empty() {
        tracing::warn!(volumes = ?low, threshold, "health: disk space below the warning threshold");
    }
    render(BTreeMap::from([("disk_space_warning", low.is_empty())]), &[])
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
