//! Repository notifications.

use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::notifications;
use crate::store::notifications::Notification;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn view(n: &Notification) -> Value {
    json!({
        "config": serde_json::from_str::<Value>(&n.config_json).unwrap_or_else(|_| json!({})),
        "event": n.event,
        "event_config": serde_json::from_str::<Value>(&n.event_config_json).unwrap_or_else(|_| json!({})),
        "method": n.method,
        "number_of_failures": n.failures,
        "title": n.title,
        "uuid": n.uuid,
    })
}

type Repo = Path<(String, String)>;
type One = Path<(String, String, String)>;

/// `POST …/notification/ {event, method, config, eventConfig, title?}` → 201.
pub async fn create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name)): Repo,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(
        &body,
        &["event", "method", "config", "eventConfig"],
        &[
            ("event", Kind::String),
            ("method", Kind::String),
            ("config", Kind::Object),
            ("eventConfig", Kind::Object),
            ("title", Kind::String),
        ],
    )?;
    let n = notifications::create(
        &ctx,
        &caller,
        &origin,
        &ns,
        &name,
        input::str_of(&body, "event").unwrap_or(""),
        input::str_of(&body, "method").unwrap_or(""),
        input::str_of(&body, "title"),
        &body["config"],
        &body["eventConfig"],
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&n))).into_response())
}

pub async fn list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, name)): Repo,
) -> Result<Response, ApiError> {
    let all = notifications::list(&ctx, &caller, &ns, &name).await?;
    Ok(axum::Json(json!({"notifications": all.iter().map(view).collect::<Vec<_>>()})).into_response())
}

pub async fn get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, name, uuid)): One,
) -> Result<Response, ApiError> {
    let n = notifications::get(&ctx, &caller, &ns, &name, &uuid).await?;
    Ok(axum::Json(view(&n)).into_response())
}

/// `POST …/notification/{uuid}`: resets the failure count → 204.
pub async fn reset(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name, uuid)): One,
) -> Result<Response, ApiError> {
    notifications::reset(&ctx, &caller, &origin, &ns, &name, &uuid).await?;
    Ok(views::no_content())
}

pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name, uuid)): One,
) -> Result<Response, ApiError> {
    notifications::delete(&ctx, &caller, &origin, &ns, &name, &uuid).await?;
    Ok(views::no_content())
}

/// `POST …/notification/{uuid}/test` → `{}`.
pub async fn test(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, name, uuid)): One,
) -> Result<Response, ApiError> {
    notifications::test(&ctx, &caller, &ns, &name, &uuid).await?;
    Ok(axum::Json(json!({})).into_response())
}
