//! Default permissions (`/organization/{org}/prototypes`).

use super::error::ApiError;
use super::input;
use super::views;
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::prototypes::{self, Delegate};
use crate::store::prototypes::Prototype;
use crate::store::teams::Person;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quay_core::permissions::Role;
use quay_core::rules::Rule;
use serde_json::{Value, json};

const ROLES: &[&str] = &["read", "write", "admin"];

fn user_ref(p: &Person) -> Value {
    json!({
        "avatar": views::avatar(&p.username, Some(&p.email), if p.robot { "robot" } else { "user" }),
        "is_org_member": p.org_member,
        "is_robot": p.robot,
        "kind": "user",
        "name": p.username,
    })
}

fn view(p: &Prototype) -> Value {
    let delegate = match (&p.delegate_user, &p.delegate_team) {
        (Some(u), _) => user_ref(u),
        (None, Some(t)) => json!({"avatar": views::avatar(t, Some(t), "team"), "kind": "team", "name": t}),
        (None, None) => Value::Null,
    };
    json!({
        "activating_user": p.activating_user.as_ref().map(user_ref),
        "delegate": delegate,
        "id": p.uuid,
        "role": p.role,
    })
}

fn role_of(body: &Value) -> Result<Role, ApiError> {
    input::one_of(body, "role", ROLES)?;
    input::str_of(body, "role")
        .and_then(Role::parse)
        .ok_or_else(|| ApiError::invalid("'role' is a required property"))
}

pub async fn list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let all = prototypes::list(&ctx, &caller, &org).await?;
    Ok(axum::Json(json!({"prototypes": all.iter().map(view).collect::<Vec<_>>()})).into_response())
}

/// `POST …/prototypes {delegate: {kind, name}, role, activating_user?: {name}}` → 200.
pub async fn create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path(org): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["role", "delegate"], &[("delegate", input::Kind::Object)])?;
    let role = role_of(&body)?;
    let d = &body["delegate"];
    input::check(d, &["kind", "name"], &[("name", input::Kind::String)])?;
    input::one_of(d, "kind", &["user", "team"])?;
    let name = input::str_of(d, "name").unwrap_or("");
    let delegate =
        if input::str_of(d, "kind") == Some("team") { Delegate::Team(name) } else { Delegate::User(name) };
    let activating = body.get("activating_user").and_then(|a| a.get("name")).and_then(Value::as_str);
    match prototypes::create(&ctx, &caller, &origin, &org, delegate, activating, role).await {
        Ok(p) => Ok(axum::Json(view(&p)).into_response()),
        Err(Refused::Rule { code: Rule::TeamUnknown | Rule::UserUnknown, message }) => {
            Err(ApiError::message(StatusCode::BAD_REQUEST, message))
        }
        Err(e) => Err(e.into()),
    }
}

/// `PUT …/prototypes/{uuid} {role}`.
pub async fn update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, uuid)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["role"], &[])?;
    let role = role_of(&body)?;
    let p = prototypes::set_role(&ctx, &caller, &origin, &org, &uuid, role).await?;
    Ok(axum::Json(view(&p)).into_response())
}

pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, uuid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    prototypes::delete(&ctx, &caller, &origin, &org, &uuid).await?;
    Ok(views::no_content())
}
