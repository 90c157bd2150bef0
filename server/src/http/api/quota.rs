//! Storage quotas: `/organization/{org}/quota[/{id}[/limit[/{limit_id}]]]` and the read-only
//! `/user/quota…` (Quay's `namespacequota.py` shapes).

use super::error::ApiError;
use super::input;
use super::views;
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::quota::{self, Actor, Namespace};
use crate::store::quota::Quota;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;
use serde_json::{Value, json};

fn view(q: &Quota) -> Value {
    json!({
        "id": q.id,
        "limit_bytes": q.limit_bytes,
        "limit": quota::human_bytes(q.limit_bytes),
        "default_config": false,
        "default_config_exists": false,
        "limits": q.limits.iter().map(|l| json!({"id": l.id, "type": l.kind, "limit_percent": l.percent})).collect::<Vec<_>>(),
    })
}

fn refused(org: &str, r: Refused) -> ApiError {
    match r {
        Refused::Rule { code: Rule::QuotaUnknown, .. } => ApiError::not_found(),
        Refused::Rule { code: Rule::QuotaExists, .. } => {
            ApiError::invalid(format!("Organization quota for '{org}' already exists"))
        }
        Refused::Rule { code: Rule::QuotaLimitExists, .. } => ApiError::invalid("Quota limit already exists"),
        r => r.into(),
    }
}

fn created() -> Response {
    (StatusCode::CREATED, axum::Json(json!("Created"))).into_response()
}

/// `limit_bytes` (an integer) or `limit` (`"10 GiB"`), exactly one of them (`None`: neither, for
/// an update that changes nothing).
fn limit_of(body: &Value) -> Result<Option<i64>, ApiError> {
    match (body.get("limit_bytes"), body.get("limit")) {
        (Some(_), Some(_)) => Err(ApiError::invalid("Specify exactly one of limit_bytes or limit")),
        (Some(b), None) => b
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{} is not of type 'integer'", input::py_repr(b)))),
        (None, Some(l)) => l
            .as_str()
            .and_then(crate::config::parse_bytes)
            .and_then(|n| i64::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid("Invalid limit format, use a number followed by a unit (e.g. 1GiB)")
            }),
        (None, None) => Ok(None),
    }
}

fn id_of(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| ApiError::not_found())
}

pub async fn org_list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let all =
        quota::list(&ctx, &caller, Namespace::Organization(&org)).await.map_err(|e| refused(&org, e))?;
    Ok(axum::Json(all.iter().map(view).collect::<Vec<_>>()).into_response())
}

pub async fn user_list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let all = quota::list(&ctx, &caller, Namespace::CurrentUser).await?;
    Ok(axum::Json(all.iter().map(view).collect::<Vec<_>>()).into_response())
}

/// `POST /organization/{org}/quota {limit_bytes | limit}` → 201 `"Created"` (superusers).
pub async fn org_create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path(org): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &[], &[])?;
    let Some(bytes) = limit_of(&body)? else {
        return Err(ApiError::invalid("Specify exactly one of limit_bytes or limit"));
    };
    if bytes <= 0 {
        return Err(ApiError::invalid(format!("Invalid quota size limit value: '{bytes}'")));
    }
    quota::create(&ctx, Actor { caller: &caller, origin: &origin }, &org, bytes)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(created())
}

pub async fn org_get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let q = quota::get(&ctx, &caller, Namespace::Organization(&org), id_of(&id)?)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(axum::Json(view(&q)).into_response())
}

pub async fn user_get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let q = quota::get(&ctx, &caller, Namespace::CurrentUser, id_of(&id)?).await?;
    Ok(axum::Json(view(&q)).into_response())
}

pub async fn user_limits(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let q = quota::get(&ctx, &caller, Namespace::CurrentUser, id_of(&id)?).await?;
    Ok(axum::Json(view(&q)["limits"].clone()).into_response())
}

pub async fn user_limit(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((id, limit)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let q = quota::get(&ctx, &caller, Namespace::CurrentUser, id_of(&id)?).await?;
    let limit = id_of(&limit)?;
    let l = view(&q)["limits"].as_array().and_then(|a| a.iter().find(|l| l["id"] == limit).cloned());
    Ok(axum::Json(l.ok_or_else(ApiError::not_found)?).into_response())
}

/// `PUT /organization/{org}/quota/{id} {limit_bytes | limit | nothing}` → the quota.
pub async fn org_update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &[], &[])?;
    let bytes = limit_of(&body)?;
    if let Some(b) = bytes.filter(|b| *b <= 0) {
        return Err(ApiError::invalid(format!("Invalid quota size limit value: '{b}'")));
    }
    let q = quota::update(&ctx, Actor { caller: &caller, origin: &origin }, &org, id_of(&id)?, bytes)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(axum::Json(view(&q)).into_response())
}

pub async fn org_delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    quota::delete(&ctx, Actor { caller: &caller, origin: &origin }, &org, id_of(&id)?)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(views::no_content())
}

pub async fn org_limits(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((org, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let q = quota::get(&ctx, &caller, Namespace::Organization(&org), id_of(&id)?)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(axum::Json(view(&q)["limits"].clone()).into_response())
}

pub async fn org_limit(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((org, id, limit)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let q = quota::get(&ctx, &caller, Namespace::Organization(&org), id_of(&id)?)
        .await
        .map_err(|e| refused(&org, e))?;
    let limit = id_of(&limit)?;
    let l = view(&q)["limits"].as_array().and_then(|a| a.iter().find(|l| l["id"] == limit).cloned());
    Ok(axum::Json(l.ok_or_else(ApiError::not_found)?).into_response())
}

/// A limit type as Quay accepts it (any case) in its stored spelling.
fn limit_type(body: &Value) -> Result<Option<&'static str>, ApiError> {
    match body.get("type") {
        None => Ok(None),
        Some(t) => match t.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("warning") => Ok(Some(quay_core::quota::WARNING)),
            Some("reject") => Ok(Some(quay_core::quota::REJECT)),
            _ => Err(ApiError::invalid("Quota type must be one of [Warning, Reject]")),
        },
    }
}

fn percent_of(body: &Value) -> Result<Option<i64>, ApiError> {
    match body.get("threshold_percent") {
        None => Ok(None),
        Some(p) => match p.as_i64() {
            Some(p) if (1..=100).contains(&p) => Ok(Some(p)),
            Some(_) => Err(ApiError::invalid("Quota limit threshold must be between 1 and 100")),
            None => Err(ApiError::invalid(format!("{} is not of type 'integer'", input::py_repr(p)))),
        },
    }
}

/// `POST …/quota/{id}/limit {type, threshold_percent}` → 201 `"Created"` (superusers).
pub async fn org_limit_create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["type", "threshold_percent"], &[])?;
    let (kind, percent) = (limit_type(&body)?, percent_of(&body)?);
    let (Some(kind), Some(percent)) = (kind, percent) else { return Err(ApiError::bad_request()) };
    quota::limit_create(&ctx, Actor { caller: &caller, origin: &origin }, &org, id_of(&id)?, kind, percent)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(created())
}

/// `PUT …/quota/{id}/limit/{limit_id} {type?, threshold_percent?}` → the whole quota.
pub async fn org_limit_update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, id, limit)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &[], &[])?;
    let (kind, percent) = (limit_type(&body)?, percent_of(&body)?);
    let q = quota::limit_update(
        &ctx,
        Actor { caller: &caller, origin: &origin },
        &org,
        (id_of(&id)?, id_of(&limit)?),
        kind,
        percent,
    )
    .await
    .map_err(|e| refused(&org, e))?;
    Ok(axum::Json(view(&q)).into_response())
}

pub async fn org_limit_delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, id, limit)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    quota::limit_delete(&ctx, Actor { caller: &caller, origin: &origin }, &org, id_of(&id)?, id_of(&limit)?)
        .await
        .map_err(|e| refused(&org, e))?;
    Ok(views::no_content())
}
