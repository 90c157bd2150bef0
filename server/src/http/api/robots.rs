//! Robot accounts of organizations (`/organization/{org}/robots…`) and of the signed-in user
//! (`/user/robots…`).

use super::error::ApiError;
use super::input;
use super::views;
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::robots::{self, Owner};
use crate::store::robots::Robot;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;
use serde_json::{Value, json};

fn base(r: &Robot) -> Value {
    json!({
        "created": views::rfc2822_naive(r.created.as_deref()),
        "description": r.description,
        "last_accessed": views::rfc2822_naive(r.last_accessed.as_deref()),
        "name": r.name,
    })
}

/// An unknown robot is Quay's bare 400 message.
fn refused(e: Refused) -> ApiError {
    match e {
        Refused::Rule { code: Rule::RobotUnknown, message } => {
            ApiError::message(StatusCode::BAD_REQUEST, message)
        }
        e => e.into(),
    }
}

async fn create(
    ctx: AppState,
    caller: ApiCaller,
    origin: Origin,
    owner: Owner<'_>,
    short: &str,
    body: &[u8],
) -> Result<Response, ApiError> {
    let body = input::body(body)?;
    let description = input::str_of(&body, "description");
    let metadata = body.get("unstructured_metadata").filter(|v| !v.is_null());
    let (r, token) =
        robots::create(&ctx, &caller, &origin, owner, short, description, metadata).await.map_err(refused)?;
    let mut v = base(&r);
    v["token"] = json!(token);
    v["unstructured_metadata"] = metadata.cloned().unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn get_one(
    ctx: AppState,
    caller: ApiCaller,
    owner: Owner<'_>,
    short: &str,
) -> Result<Response, ApiError> {
    let (r, token) = robots::get(&ctx, &caller, owner, short).await.map_err(refused)?;
    let mut v = base(&r);
    v["token"] = json!(token);
    v["unstructured_metadata"] = serde_json::from_str(&r.unstructured_json).unwrap_or_else(|_| json!({}));
    Ok(axum::Json(v).into_response())
}

async fn list(ctx: AppState, caller: ApiCaller, owner: Owner<'_>, uri: &Uri) -> Result<Response, ApiError> {
    let with_token = input::query(uri, "token").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let with_permissions = input::flag(uri, "permissions")?;
    let limit = match input::query(uri, "limit") {
        Some(l) => Some(l.parse::<usize>().map_err(|_| ApiError::bad_request())?),
        None => None,
    };
    let robots =
        robots::list(&ctx, &caller, owner, with_token, with_permissions, limit).await.map_err(refused)?;
    let items: Vec<Value> = robots
        .iter()
        .map(|l| {
            let mut v = base(&l.robot);
            if let Some(t) = &l.token {
                v["token"] = json!(t);
            }
            if let Some((repos, teams)) = &l.permissions {
                v["repositories"] = json!(repos);
                v["teams"] = json!(
                    teams
                        .iter()
                        .map(|t| json!({"avatar": views::avatar(t, Some(t), "team"), "name": t}))
                        .collect::<Vec<_>>()
                );
            }
            v
        })
        .collect();
    Ok(axum::Json(json!({ "robots": items })).into_response())
}

async fn regenerate(
    ctx: AppState,
    caller: ApiCaller,
    origin: Origin,
    owner: Owner<'_>,
    short: &str,
) -> Result<Response, ApiError> {
    let (r, token) = robots::regenerate(&ctx, &caller, &origin, owner, short).await.map_err(refused)?;
    let mut v = base(&r);
    v["token"] = json!(token);
    Ok(axum::Json(v).into_response())
}

async fn delete(
    ctx: AppState,
    caller: ApiCaller,
    origin: Origin,
    owner: Owner<'_>,
    short: &str,
) -> Result<Response, ApiError> {
    robots::delete(&ctx, &caller, &origin, owner, short).await.map_err(refused)?;
    Ok(views::no_content())
}

async fn permissions(
    ctx: AppState,
    caller: ApiCaller,
    owner: Owner<'_>,
    short: &str,
) -> Result<Response, ApiError> {
    let grants = robots::permissions(&ctx, &caller, owner, short).await.map_err(refused)?;
    let list: Vec<Value> = grants
        .iter()
        .map(|(name, public, role)| json!({"repository": {"is_public": public, "name": name}, "role": role}))
        .collect();
    Ok(axum::Json(json!({ "permissions": list })).into_response())
}

type Org = Path<(String, String)>;

pub async fn org_put(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Extension(o): Extension<Origin>,
    Path((org, short)): Org,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(ctx, c, o, Owner::Organization(&org), &short, &body).await
}
pub async fn org_get(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path((org, short)): Org,
) -> Result<Response, ApiError> {
    get_one(ctx, c, Owner::Organization(&org), &short).await
}
pub async fn org_delete(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Extension(o): Extension<Origin>,
    Path((org, short)): Org,
) -> Result<Response, ApiError> {
    delete(ctx, c, o, Owner::Organization(&org), &short).await
}
pub async fn org_regenerate(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Extension(o): Extension<Origin>,
    Path((org, short)): Org,
) -> Result<Response, ApiError> {
    regenerate(ctx, c, o, Owner::Organization(&org), &short).await
}
pub async fn org_permissions(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path((org, short)): Org,
) -> Result<Response, ApiError> {
    permissions(ctx, c, Owner::Organization(&org), &short).await
}
pub async fn org_list(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(org): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    list(ctx, c, Owner::Organization(&org), &uri).await
}

pub async fn user_put(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Extension(o): Extension<Origin>,
    Path(short): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    create(ctx, c, o, Owner::Caller, &short, &body).await
}
pub async fn user_get(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(short): Path<String>,
) -> Result<Response, ApiError> {
    get_one(ctx, c, Owner::Caller, &short).await
}
pub async fn user_delete(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Extension(o): Extension<Origin>,
    Path(short): Path<String>,
) -> Result<Response, ApiError> {
    delete(ctx, c, o, Owner::Caller, &short).await
}
pub async fn user_regenerate(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Extension(o): Extension<Origin>,
    Path(short): Path<String>,
) -> Result<Response, ApiError> {
    regenerate(ctx, c, o, Owner::Caller, &short).await
}
pub async fn user_permissions(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(short): Path<String>,
) -> Result<Response, ApiError> {
    permissions(ctx, c, Owner::Caller, &short).await
}
pub async fn user_list(
    State(ctx): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    list(ctx, c, Owner::Caller, &uri).await
}
