//! Tags: history with paging and filters, expiration, pointing at a manifest, delete, restore.

use super::error::ApiError;
use super::input;
use super::views;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::tags;
use crate::store::tags::TagFilter;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

fn listed(l: &tags::Listed) -> Value {
    let t = &l.tag;
    let mut v = json!({
        "is_manifest_list": l.children.is_some(),
        "last_modified": views::rfc2822_ms(t.start_ms),
        "manifest_digest": t.digest,
        "name": t.name,
        "reversion": t.reversion,
        "size": if l.children.is_some() { None } else { t.size },
        "start_ts": t.start_ms / 1000,
    });
    if let Some(end) = t.end_ms {
        v["end_ts"] = json!(end / 1000);
        v["expiration"] = views::rfc2822_ms(end);
    }
    if let Some(children) = &l.children {
        let presence: Map<String, Value> = children.iter().map(|d| (d.clone(), json!(true))).collect();
        v["child_manifest_count"] = json!(children.len());
        v["child_manifests_presence"] = Value::Object(presence);
        v["is_sparse"] = json!(false);
        v["present_child_count"] = json!(children.len());
    }
    v
}

/// `GET /api/v1/repository/{ns}/{name}/tag/?limit&page&specificTag&onlyActiveTags&filter_tag_name`.
pub async fn list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let number = |key: &str, default: i64| -> Result<i64, ApiError> {
        input::query(&uri, key).map_or(Ok(default), |v| v.parse::<i64>().map_err(|_| ApiError::bad_request()))
    };
    let limit = number("limit", 50)?.clamp(1, 100);
    let page = number("page", 1)?.max(1);
    let mut filter = TagFilter {
        name: input::query(&uri, "specificTag").filter(|s| !s.is_empty()),
        containing: None,
        only_active: input::flag(&uri, "onlyActiveTags")?,
    };
    if let Some(f) = input::query(&uri, "filter_tag_name") {
        match f.split_once(':') {
            Some(("like", v)) => filter.containing = Some(v.to_string()),
            Some(("eq", v)) => filter.name = Some(v.to_string()),
            _ => {
                return Err(ApiError::message(
                    StatusCode::BAD_REQUEST,
                    "Unsupported syntax for filter_tag_name. Expected <operation>:<tag_name> where <operation>can be 'like' or 'eq'.",
                ));
            }
        }
    }
    let (rows, more) = tags::history(&ctx, &caller, &ns, &repo, &filter, limit, page).await?;
    Ok(axum::Json(json!({
        "has_additional": more,
        "page": page,
        "tags": rows.iter().map(listed).collect::<Vec<_>>(),
    }))
    .into_response())
}

const INVALID_TAG: &str =
    r#"Invalid tag: must match [A-Za-z0-9_.-], NOT start with "." or "-", and can contain 1-128 characters"#;

/// `PUT /api/v1/repository/{ns}/{name}/tag/{tag} {expiration}` or `{manifest_digest}` → 201.
pub async fn put(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, tag)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &[], &[("manifest_digest", input::Kind::String)])?;
    if let Some(exp) = body.get("expiration") {
        if !ctx.config.feature_change_tag_expiration.0 {
            return Err(ApiError::bad_request());
        }
        let seconds = match exp {
            Value::Null => None,
            v => Some(v.as_i64().ok_or_else(ApiError::bad_request)?),
        };
        let now_s = crate::auth::jwt::now_s() as i64;
        if seconds.is_some_and(|s| s <= now_s) {
            return Err(ApiError::bad_request());
        }
        tags::set_expiration(&ctx, &caller, &origin, &ns, &repo, &tag, seconds).await?;
    }
    if let Some(digest) = input::str_of(&body, "manifest_digest") {
        if !quay_core::names::is_valid_tag(&tag) {
            return Err(ApiError::message(StatusCode::BAD_REQUEST, INVALID_TAG));
        }
        tags::point(&ctx, &caller, &origin, &ns, &repo, &tag, digest).await?;
    }
    Ok((StatusCode::CREATED, axum::Json(json!("Updated"))).into_response())
}

/// `DELETE /api/v1/repository/{ns}/{name}/tag/{tag}` → 204.
pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, tag)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    tags::delete(&ctx, &caller, &origin, &ns, &repo, &tag).await?;
    Ok(views::no_content())
}

/// `POST /api/v1/repository/{ns}/{name}/tag/{tag}/restore {manifest_digest}` → `{}`.
pub async fn restore(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, tag)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    let Some(digest) = input::str_of(&body, "manifest_digest") else {
        return Err(ApiError::invalid("Missing manifest_digest"));
    };
    tags::restore(&ctx, &caller, &origin, &ns, &repo, &tag, digest).await?;
    Ok(axum::Json(json!({})).into_response())
}
