//! Auto-prune policies: `/organization/{org}/autoprunepolicy/`, `/user/autoprunepolicy/` and
//! `/repository/{ns}/{name}/autoprunepolicy/`, each with `/{uuid}` (Quay's `policy.py` shapes:
//! create 201 `{uuid}`, update 204, delete 200 `{uuid}`).

use super::error::ApiError;
use super::input;
use super::views;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::autoprune::{self, Owner};
use crate::ops::log_entry::Origin;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quay_core::autoprune::Policy;
use serde_json::json;

fn policy_of(body: &Bytes) -> Result<Policy, ApiError> {
    let body = input::body(body)?;
    input::check(&body, &[], &[])?;
    let (Some(method), Some(value)) = (body.get("method"), body.get("value")) else {
        return Err(ApiError::invalid("Missing the following parameters: method, value"));
    };
    let method = method.as_str().unwrap_or("");
    Policy::new(method, value, body.get("tagPattern"), body.get("tagPatternMatches")).map_err(|e| match e {
        quay_core::exec::CoreError::Invalid { message, .. } => ApiError::invalid(message),
        e => ApiError::internal(e),
    })
}

async fn list(ctx: AppState, caller: ApiCaller, owner: Owner<'_>) -> Result<Response, ApiError> {
    let policies = autoprune::list(&ctx, &caller, owner).await?;
    Ok(axum::Json(json!({ "policies": policies })).into_response())
}

async fn create(
    ctx: AppState,
    caller: ApiCaller,
    origin: Origin,
    owner: Owner<'_>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let policy = policy_of(&body)?;
    let uuid = autoprune::create(&ctx, &caller, &origin, owner, policy).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "uuid": uuid }))).into_response())
}

async fn get(ctx: AppState, caller: ApiCaller, owner: Owner<'_>, uuid: &str) -> Result<Response, ApiError> {
    Ok(axum::Json(autoprune::get(&ctx, &caller, owner, uuid).await?).into_response())
}

async fn update(
    ctx: AppState,
    caller: ApiCaller,
    origin: Origin,
    owner: Owner<'_>,
    uuid: &str,
    body: Bytes,
) -> Result<Response, ApiError> {
    let policy = policy_of(&body)?;
    autoprune::update(&ctx, &caller, &origin, owner, uuid, policy).await?;
    Ok(views::no_content())
}

async fn delete(
    ctx: AppState,
    caller: ApiCaller,
    origin: Origin,
    owner: Owner<'_>,
    uuid: &str,
) -> Result<Response, ApiError> {
    autoprune::delete(&ctx, &caller, &origin, owner, uuid).await?;
    Ok(axum::Json(json!({ "uuid": uuid })).into_response())
}

type Caller = Extension<ApiCaller>;
type From = Extension<Origin>;

pub async fn org_list(
    State(c): State<AppState>,
    Extension(a): Caller,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    list(c, a, Owner::Organization(&org)).await
}
pub async fn org_create(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path(org): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(c, a, o, Owner::Organization(&org), body).await
}
pub async fn org_get(
    State(c): State<AppState>,
    Extension(a): Caller,
    Path((org, u)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    get(c, a, Owner::Organization(&org), &u).await
}
pub async fn org_update(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path((org, u)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(c, a, o, Owner::Organization(&org), &u, body).await
}
pub async fn org_delete(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path((org, u)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    delete(c, a, o, Owner::Organization(&org), &u).await
}

pub async fn user_list(State(c): State<AppState>, Extension(a): Caller) -> Result<Response, ApiError> {
    list(c, a, Owner::CurrentUser).await
}
pub async fn user_create(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(c, a, o, Owner::CurrentUser, body).await
}
pub async fn user_get(
    State(c): State<AppState>,
    Extension(a): Caller,
    Path(u): Path<String>,
) -> Result<Response, ApiError> {
    get(c, a, Owner::CurrentUser, &u).await
}
pub async fn user_update(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path(u): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(c, a, o, Owner::CurrentUser, &u, body).await
}
pub async fn user_delete(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path(u): Path<String>,
) -> Result<Response, ApiError> {
    delete(c, a, o, Owner::CurrentUser, &u).await
}

pub async fn repo_list(
    State(c): State<AppState>,
    Extension(a): Caller,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    list(c, a, Owner::Repository(&ns, &name)).await
}
pub async fn repo_create(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(c, a, o, Owner::Repository(&ns, &name), body).await
}
pub async fn repo_get(
    State(c): State<AppState>,
    Extension(a): Caller,
    Path((ns, name, u)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    get(c, a, Owner::Repository(&ns, &name), &u).await
}
pub async fn repo_update(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path((ns, name, u)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    update(c, a, o, Owner::Repository(&ns, &name), &u, body).await
}
pub async fn repo_delete(
    State(c): State<AppState>,
    Extension(a): Caller,
    Extension(o): From,
    Path((ns, name, u)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    delete(c, a, o, Owner::Repository(&ns, &name), &u).await
}
