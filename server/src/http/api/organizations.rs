//! Organizations: create, view, members, collaborators.

use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::organizations;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `POST /api/v1/organization/ {name, email}` → 201 `"Created"`.
pub async fn create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.signed_in()?;
    let body = input::body(&body)?;
    input::check(&body, &["name"], &[("name", Kind::String), ("email", Kind::String)])?;
    let name = input::str_of(&body, "name").unwrap_or("");
    organizations::create(&ctx, &caller, &origin, name, input::str_of(&body, "email")).await?;
    Ok((StatusCode::CREATED, axum::Json(json!("Created"))).into_response())
}

/// `GET /api/v1/organization/{name}`.
pub async fn get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let o = organizations::view(&ctx, &caller, &name).await?;
    Ok(axum::Json(views::organization(&o)).into_response())
}

/// `GET /api/v1/organization/{name}/members`.
pub async fn members(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let members = organizations::members(&ctx, &caller, &name).await?;
    Ok(axum::Json(json!({"members": members.iter().map(views::member).collect::<Vec<_>>()})).into_response())
}

/// `GET /api/v1/organization/{name}/members/{member}`.
pub async fn member(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((name, member)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let m = organizations::member(&ctx, &caller, &name, &member).await?;
    Ok(axum::Json(views::member(&m)).into_response())
}

/// `GET /api/v1/organization/{name}/collaborators`.
pub async fn collaborators(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let c = organizations::collaborators(&ctx, &caller, &name).await?;
    Ok(axum::Json(json!({"collaborators": c.iter().map(views::member).collect::<Vec<_>>()})).into_response())
}

/// `PUT /api/v1/organization/{name} {email?, invoice_email?, invoice_email_address?,
/// tag_expiration_s?}` → the organization's view.
pub async fn update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(
        &body,
        &[],
        &[
            ("email", Kind::String),
            ("contact_email", Kind::String),
            ("invoice_email", Kind::Boolean),
            ("invoice_email_address", Kind::String),
            ("tag_expiration_s", Kind::Integer),
        ],
    )?;
    if body.get("tag_expiration_s").is_some_and(|v| !v.is_i64()) {
        return Err(ApiError::invalid(format!("{} is too large", body["tag_expiration_s"])));
    }
    if body.get("tag_expiration_s").and_then(serde_json::Value::as_i64).is_some_and(|s| s < 0) {
        return Err(ApiError::invalid(format!("{} is less than the minimum of 0", body["tag_expiration_s"])));
    }
    let changes = quay_core::organizations::Changes {
        email: input::str_of(&body, "email").map(str::to_string),
        invoice_email: body.get("invoice_email").and_then(serde_json::Value::as_bool),
        invoice_email_address: input::str_of(&body, "invoice_email_address").map(str::to_string),
        tag_expiration_s: body.get("tag_expiration_s").and_then(serde_json::Value::as_i64),
    };
    let o = organizations::update(&ctx, &caller, &origin, &name, changes).await?;
    Ok(axum::Json(views::organization(&o)).into_response())
}

/// `DELETE /api/v1/organization/{name}/members/{member}` → 204.
pub async fn remove_member(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((name, member)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    organizations::remove_member(&ctx, &caller, &name, &member).await?;
    Ok(views::no_content())
}

/// `DELETE /api/v1/organization/{name}` → 204.
pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    organizations::delete(&ctx, &caller, &name).await?;
    Ok(views::no_content())
}

/// `GET /api/v1/superuser/organizations/`.
pub async fn superuser_list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let all = organizations::all(&ctx, &caller).await?;
    let list: Vec<serde_json::Value> = all
        .iter()
        .map(|(name, email)| json!({"avatar": super::views::avatar(name, Some(email), "org"), "email": email, "name": name}))
        .collect();
    Ok(axum::Json(json!({ "organizations": list })).into_response())
}

/// `DELETE /api/v1/superuser/organizations/{name}` → 204.
pub async fn superuser_delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    organizations::superuser_delete(&ctx, &caller, &name).await?;
    Ok(views::no_content())
}

/// `PUT /api/v1/superuser/organizations/{name} {name?}` → the organization as the superuser list
/// shows it.
pub async fn superuser_rename(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<crate::ops::log_entry::Origin>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = super::input::body(&body)?;
    super::input::check(&body, &[], &[("name", super::input::Kind::String)])?;
    let (n, email) =
        organizations::superuser_rename(&ctx, &caller, &origin, &name, super::input::str_of(&body, "name"))
            .await?;
    Ok(axum::Json(
        json!({"avatar": super::views::avatar(&n, Some(&email), "org"), "email": email, "name": n}),
    )
    .into_response())
}

/// `GET /api/v1/organization/{name}/applications` (admins) → `{applications: [...]}`.
fn application_view(v: &organizations::ApplicationView) -> serde_json::Value {
    json!({
        "application_uri": v.app.uri,
        "avatar_email": if v.is_admin { json!(v.app.avatar_email) } else { json!(null) },
        "client_id": v.app.client_id,
        "client_secret": if v.is_admin { json!(v.client_secret) } else { json!(null) },
        "description": v.app.description,
        "name": v.app.name,
        "redirect_uri": if v.is_admin { json!(v.app.redirect_uri) } else { json!(null) },
    })
}

pub async fn applications(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let apps = organizations::applications(&ctx, &caller, &name).await?;
    let list: Vec<serde_json::Value> = apps.iter().map(application_view).collect();
    Ok(axum::Json(json!({ "applications": list })).into_response())
}

/// The fields of an application in a body (`name` required; `required` more for PUT).
fn app_fields(
    body: &serde_json::Value,
    required: &[&str],
) -> Result<quay_core::oauth_apps::AppFields, ApiError> {
    use super::input::{self, Kind};
    input::check(
        body,
        required,
        &[
            ("name", Kind::String),
            ("redirect_uri", Kind::String),
            ("application_uri", Kind::String),
            ("description", Kind::String),
            ("avatar_email", Kind::String),
        ],
    )?;
    let text = |k: &str| input::str_of(body, k).unwrap_or("").to_string();
    Ok(quay_core::oauth_apps::AppFields {
        name: text("name"),
        redirect_uri: text("redirect_uri"),
        application_uri: text("application_uri"),
        description: text("description"),
        avatar_email: input::str_of(body, "avatar_email").map(str::to_string),
    })
}

/// `POST /api/v1/organization/{name}/applications {name, …}` → 200 the application.
pub async fn application_create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<crate::ops::log_entry::Origin>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = super::input::body(&body)?;
    let fields = app_fields(&body, &["name"])?;
    let app = organizations::application_create(&ctx, &caller, &origin, &name, fields).await?;
    Ok(axum::Json(application_view(&app)).into_response())
}

pub async fn application_get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((name, client_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let app = organizations::application(&ctx, &caller, &name, &client_id).await?;
    Ok(axum::Json(application_view(&app)).into_response())
}

/// `PUT …/applications/{client_id} {name, redirect_uri, application_uri, …}` → the application.
pub async fn application_update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<crate::ops::log_entry::Origin>,
    Path((name, client_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = super::input::body(&body)?;
    let fields = app_fields(&body, &["name", "redirect_uri", "application_uri"])?;
    let app = organizations::application_update(&ctx, &caller, &origin, &name, &client_id, fields).await?;
    Ok(axum::Json(application_view(&app)).into_response())
}

pub async fn application_reset_secret(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<crate::ops::log_entry::Origin>,
    Path((name, client_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let app = organizations::application_reset_secret(&ctx, &caller, &origin, &name, &client_id).await?;
    Ok(axum::Json(application_view(&app)).into_response())
}

pub async fn application_delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<crate::ops::log_entry::Origin>,
    Path((name, client_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    organizations::application_delete(&ctx, &caller, &origin, &name, &client_id).await?;
    Ok(views::no_content())
}
