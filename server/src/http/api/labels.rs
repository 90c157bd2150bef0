//! Manifests by digest and their labels.

use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::labels;
use crate::ops::log_entry::Origin;
use crate::store::labels::Label;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;
use serde_json::{Value, json};

fn label(l: &Label) -> Value {
    json!({"id": l.uuid, "key": l.key, "media_type": l.media_type, "source_type": l.source, "value": l.value})
}

/// RFC 3339 (the image config's `created`) as Quay's RFC 2822.
fn created(text: Option<&str>) -> Value {
    text.and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .map_or(Value::Null, |t| views::rfc2822_ms((t.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// `GET /api/v1/repository/{ns}/{name}/manifest/{digest}`.
pub async fn manifest(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo, digest)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let m = labels::manifest(&ctx, &caller, &ns, &repo, &digest).await?;
    let layers = m.layers.as_ref().map(|ls| {
        ls.iter()
            .map(|l| {
                json!({
                    "author": l.author,
                    "blob_digest": l.digest,
                    "command": l.created_by.as_ref().map(|c| vec![c.clone()]),
                    "comment": l.comment,
                    "compressed_size": l.size,
                    "created_datetime": created(l.created.as_deref()),
                    "index": l.index,
                    "is_remote": false,
                    "urls": l.urls,
                })
            })
            .collect::<Vec<_>>()
    });
    Ok(axum::Json(json!({
        "config_media_type": if m.is_list { None } else { m.row.config_media_type.clone() },
        "digest": digest,
        "is_manifest_list": m.is_list,
        "layers": layers,
        "layers_compressed_size": m.row.layers_size.unwrap_or(0),
        "manifest_data": m.row.bytes,
    }))
    .into_response())
}

type ManifestPath = Path<(String, String, String)>;

/// `GET …/manifest/{digest}/labels[?filter=prefix]`.
pub async fn list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo, digest)): ManifestPath,
    uri: Uri,
) -> Result<Response, ApiError> {
    let filter = input::query(&uri, "filter").filter(|f| !f.is_empty());
    let all = labels::list(&ctx, &caller, &ns, &repo, &digest, filter.as_deref()).await?;
    Ok(axum::Json(json!({"labels": all.iter().map(label).collect::<Vec<_>>()})).into_response())
}

/// `POST …/manifest/{digest}/labels {key, value, media_type}` → 201 with `Location`.
pub async fn add(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, digest)): ManifestPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["key", "value", "media_type"], &[("key", Kind::String), ("value", Kind::String)])?;
    let media_type = match &body["media_type"] {
        Value::Null => "text/plain".to_string(),
        Value::String(s) if quay_core::labels::MEDIA_TYPES.contains(&s.as_str()) => s.clone(),
        other => {
            return Err(ApiError::invalid(format!(
                "{} is not one of ['text/plain', 'application/json', None]",
                input::py_repr(other)
            )));
        }
    };
    let key = input::str_of(&body, "key").unwrap_or("");
    let value = input::str_of(&body, "value").unwrap_or("");
    if !quay_core::labels::is_valid_key(key) {
        return Err(ApiError::message(
            StatusCode::BAD_REQUEST,
            "Label is of an invalid format or missing please use ^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$ format for labels",
        ));
    }
    if quay_core::labels::RESERVED_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Err(ApiError::message(StatusCode::BAD_REQUEST, "Label has a reserved prefix"));
    }
    let l = match labels::add(&ctx, &caller, &origin, &ns, &repo, &digest, key, value, &media_type).await {
        Ok(l) => l,
        Err(Refused::Rule { code: Rule::InvalidArgument, message }) => {
            return Err(ApiError::message(StatusCode::BAD_REQUEST, message));
        }
        Err(e) => return Err(e.into()),
    };
    let mut resp = (StatusCode::CREATED, axum::Json(json!({ "label": label(&l) }))).into_response();
    let location = format!("/api/v1/repository/{ns}/{repo}/manifest/{digest}/labels/{}", l.uuid);
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET …/labels/{uuid}`.
pub async fn get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo, digest, uuid)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let l = labels::get(&ctx, &caller, &ns, &repo, &digest, &uuid).await?;
    Ok(axum::Json(label(&l)).into_response())
}

/// `DELETE …/labels/{uuid}` → 204.
pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, digest, uuid)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    match labels::delete(&ctx, &caller, &origin, &ns, &repo, &digest, &uuid).await {
        Ok(()) => Ok(views::no_content()),
        Err(Refused::Rule { code: Rule::InvalidArgument, message }) => {
            Err(ApiError::message(StatusCode::BAD_REQUEST, message))
        }
        Err(e) => Err(e.into()),
    }
}
