//! The superuser panel's views of the instance: registry size, service keys, change log.

use super::error::ApiError;
use super::views;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::instance;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `GET /api/v1/superuser/registrysize/` → `{size_bytes, last_ran, queued, running}`.
pub async fn registry_size(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let s = instance::registry_size(&ctx, &caller).await?;
    Ok(axum::Json(json!({
        "last_ran": s.completed_ms,
        "queued": s.queued,
        "running": s.running,
        "size_bytes": s.size_bytes,
    }))
    .into_response())
}

/// A naive UTC timestamp as Flask's JSON encoder writes a datetime (`Sun, 06 Dec 2026 05:00:00 GMT`).
fn http_date(text: Option<&str>) -> Value {
    match views::rfc2822_naive(text) {
        Value::String(s) => Value::String(s.replace("-0000", "GMT")),
        other => other,
    }
}

/// `GET /api/v1/superuser/keys` → `{keys: [...]}`.
pub async fn service_keys(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let keys = instance::service_keys(&ctx, &caller).await?;
    let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or_else(|_| json!({}));
    let list: Vec<Value> = keys
        .iter()
        .map(|k| {
            let approval = k.approval.as_ref().map(|a| {
                json!({
                    "approval_type": a.kind,
                    "approved_date": http_date(a.date.as_deref()),
                    "approver": a.approver.as_ref().map(|(name, email)| json!({
                        "avatar": views::avatar(name, Some(email), "user"),
                        "kind": "user",
                        "name": name,
                        "username": name,
                    })),
                    "notes": a.notes,
                })
            });
            json!({
                "approval": approval,
                "created_date": http_date(k.created.as_deref()),
                "expiration_date": http_date(k.expiration.as_deref()),
                "jwk": parse(&k.jwk),
                "kid": k.kid,
                "metadata": parse(&k.metadata),
                "name": k.name,
                "rotation_duration": k.rotation_s,
                "service": k.service,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "keys": list })).into_response())
}

/// `GET /api/v1/superuser/changelog/` → `{log}`.
pub async fn changelog(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let log = instance::changelog(&ctx, &caller).await?;
    Ok(axum::Json(json!({ "log": log })).into_response())
}
