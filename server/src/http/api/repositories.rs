//! Repositories: create, view, describe, change visibility, list.

use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::auth::session;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::{Refused, repositories};
use crate::store::repositories::ListFilter;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;
use serde_json::json;

const VISIBILITIES: &[&str] = &["public", "private"];

/// `POST /api/v1/repository {repository, visibility, description, namespace?}` → 201.
pub async fn create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(
        &body,
        &["repository", "visibility", "description"],
        &[("repository", Kind::String), ("namespace", Kind::String), ("description", Kind::String)],
    )?;
    input::one_of(&body, "visibility", VISIBILITIES)?;
    let name = input::str_of(&body, "repository").unwrap_or("");
    let namespace = input::str_of(&body, "namespace");
    let public = input::str_of(&body, "visibility") == Some("public");
    let description = input::str_of(&body, "description").unwrap_or("");
    repositories::create(&ctx, &caller, &origin, namespace, name, public, description).await?;
    let ns = namespace.or(caller.username()).unwrap_or_default();
    Ok((StatusCode::CREATED, axum::Json(json!({"kind": "image", "name": name, "namespace": ns})))
        .into_response())
}

/// `GET /api/v1/repository/{ns}/{name}[?includeTags=false]`.
pub async fn get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, name)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let include_tags = input::query(&uri, "includeTags").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let include_stats = input::flag(&uri, "includeStats")?;
    let (d, allowed, tags) = repositories::detail(&ctx, &caller, &ns, &name, include_tags).await?;
    let mut v = views::repository(&ns, &name, &d, &allowed, include_tags.then_some(tags.as_slice()));
    if include_stats {
        let today = time::OffsetDateTime::now_utc().date();
        let counts = repositories::stats(&ctx, d.id, today).await?;
        v["stats"] = views::repository_stats(&counts, today);
    }
    Ok(axum::Json(v).into_response())
}

/// `PUT /api/v1/repository/{ns}/{name} {description}`.
pub async fn update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["description"], &[("description", Kind::String)])?;
    let description = input::str_of(&body, "description").unwrap_or("");
    repositories::set_description(&ctx, &caller, &origin, &ns, &name, description).await?;
    Ok(axum::Json(json!({"success": true})).into_response())
}

/// `POST /api/v1/repository/{ns}/{name}/changevisibility {visibility}`.
pub async fn change_visibility(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["visibility"], &[])?;
    input::one_of(&body, "visibility", VISIBILITIES)?;
    let public = input::str_of(&body, "visibility") == Some("public");
    repositories::set_visibility(&ctx, &caller, &origin, &ns, &name, public).await?;
    Ok(axum::Json(json!({"success": true})).into_response())
}

/// `PUT /api/v1/repository/{ns}/{name}/changestate {state}` (`FEATURE_REPO_MIRROR`). A
/// repository its organization mirrors answers Quay's ad-hoc 400 `{"detail"}`.
pub async fn change_state(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Quay's `show_if(REPO_MIRROR)`: without the flag there is no route, whatever the body.
    if !ctx.config.feature_repo_mirror.0 {
        return Err(ApiError::not_found());
    }
    let body = input::body(&body)?;
    input::check(&body, &["state"], &[])?;
    input::one_of(&body, "state", &["NORMAL", "READ_ONLY", "MIRROR"])?;
    let state = input::str_of(&body, "state").unwrap_or_default();
    match repositories::set_state(&ctx, &caller, &origin, &ns, &name, state).await {
        Ok(()) => Ok(axum::Json(json!({"success": true})).into_response()),
        Err(Refused::Rule { code: Rule::RepositoryNotWritable, message }) => {
            Ok((StatusCode::BAD_REQUEST, axum::Json(json!({"detail": message}))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/repository?namespace|public|starred|last_modified|popularity|next_page`: 100 per
/// page in id order; `next_page` while more follow (an unreadable one starts over).
pub async fn list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let namespace = input::query(&uri, "namespace").filter(|n| !n.is_empty());
    let starred = input::flag(&uri, "starred")?;
    let public = input::flag(&uri, "public")?;
    if namespace.is_none() && !starred && !public {
        return Err(ApiError::invalid("namespace, starred or public are required for this API call"));
    }
    if starred && caller.user.is_none() {
        return Err(ApiError::bad_request());
    }
    let after = input::query(&uri, "next_page")
        .and_then(|t| session::open(&ctx.session_key, &t))
        .and_then(|v| v["repo_after"].as_i64())
        .unwrap_or(0);
    let (last_modified, popularity) = (input::flag(&uri, "last_modified")?, input::flag(&uri, "popularity")?);
    let filter = ListFilter { namespace, starred_only: starred, include_public: public, popularity };
    let (page, more) = repositories::list(&ctx, &caller, &filter, after).await?;
    let signed_in = caller.user.is_some();
    let mut v = json!({
        "repositories": page
            .iter()
            .map(|r| views::listed_repository(r, signed_in, last_modified, popularity))
            .collect::<Vec<_>>(),
    });
    if more && let Some(last) = page.last() {
        v["next_page"] = json!(session::seal(&ctx.session_key, &json!({"repo_after": last.id})));
    }
    Ok(axum::Json(v).into_response())
}

/// `POST /api/v1/user/starred {namespace, repository}` → 201 (200 `null` for a repository the
/// caller cannot see, as Quay answers).
pub async fn star(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.signed_in()?;
    let body = input::body(&body)?;
    input::check(
        &body,
        &["namespace", "repository"],
        &[("namespace", Kind::String), ("repository", Kind::String)],
    )?;
    let (ns, name) =
        (input::str_of(&body, "namespace").unwrap_or(""), input::str_of(&body, "repository").unwrap_or(""));
    if repositories::star(&ctx, &caller, ns, name).await? {
        Ok((StatusCode::CREATED, axum::Json(json!({"namespace": ns, "repository": name}))).into_response())
    } else {
        Ok(axum::Json(serde_json::Value::Null).into_response())
    }
}

/// `DELETE /api/v1/user/starred/{ns}/{name}` → 204.
pub async fn unstar(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    repositories::unstar(&ctx, &caller, &ns, &name).await?;
    Ok(views::no_content())
}

/// `GET /api/v1/user/starred`.
pub async fn starred(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let repos = repositories::starred(&ctx, &caller).await?;
    let list: Vec<serde_json::Value> = repos
        .iter()
        .map(|r| json!({"description": r.description, "is_public": r.public, "name": r.name, "namespace": r.namespace}))
        .collect();
    Ok(axum::Json(json!({ "repositories": list })).into_response())
}

/// `DELETE /api/v1/repository/{ns}/{name}` → 204.
pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    repositories::delete(&ctx, &caller, &origin, &ns, &name).await?;
    Ok(views::no_content())
}

/// `GET /api/v1/find/repositories?query&page`.
pub async fn find(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = input::query(&uri, "query").unwrap_or_default();
    let page = match input::query(&uri, "page") {
        Some(p) => p.parse::<i64>().map_err(|_| ApiError::bad_request())?.max(1),
        None => 1,
    };
    let (found, more) = repositories::search(&ctx, &caller, &query, page).await?;
    let results: Vec<serde_json::Value> = found
        .iter()
        .map(|f| {
            let (kind, title, href) = if f.organization {
                ("org", "org", format!("/organization/{}", f.namespace))
            } else {
                ("user", "user", format!("/user/{}", f.namespace))
            };
            json!({
                "description": f.description,
                "href": format!("/repository/{}/{}", f.namespace, f.name),
                "is_public": f.public,
                "kind": "repository",
                "name": f.name,
                "namespace": {
                    "avatar": super::views::avatar(&f.namespace, Some(&f.namespace_email), kind),
                    "href": href,
                    "kind": kind,
                    "name": f.namespace,
                    "score": 1,
                    "title": title,
                },
                "score": 4,
                "title": "repo",
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "has_additional": more,
        "page": page,
        "page_size": repositories::SEARCH_PAGE,
        "results": results,
        "start_index": (page - 1).saturating_mul(repositories::SEARCH_PAGE),
    }))
    .into_response())
}
