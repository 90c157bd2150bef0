//! Teams and entity search.

use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::teams;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;
use serde_json::{Value, json};

/// `PUT /api/v1/organization/{org}/team/{team} {role, description}`.
pub async fn put(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, team)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["role"], &[("description", Kind::String)])?;
    input::one_of(&body, "role", &quay_core::teams::ROLES)?;
    let role = input::str_of(&body, "role").unwrap_or("member");
    let description = input::str_of(&body, "description");
    match teams::set(&ctx, &caller, &origin, &org, &team, role, description).await {
        Ok((t, created)) => Ok(axum::Json(json!({
            "avatar": views::avatar(&team, Some(&team), "team"),
            "can_view": true,
            "description": t.description,
            "name": team,
            "new_team": created,
            "role": t.role,
        }))
        .into_response()),
        Err(Refused::Rule { code: Rule::TeamNameInvalid, message }) => {
            Err(ApiError::message(StatusCode::BAD_REQUEST, message))
        }
        Err(e) => Err(e.into()),
    }
}

/// A team member as the team routes show it.
fn member(p: &crate::store::teams::Person) -> Value {
    json!({
        "avatar": views::avatar(&p.username, Some(&p.email), if p.robot { "robot" } else { "user" }),
        "invited": false,
        "is_robot": p.robot,
        "kind": "user",
        "name": p.username,
    })
}

/// `PUT /api/v1/organization/{org}/team/{team}/members/{member}`.
pub async fn add_member(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, team, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = teams::add_member(&ctx, &caller, &origin, &org, &team, &name).await?;
    Ok(axum::Json(member(&p)).into_response())
}

/// `GET /api/v1/organization/{org}/team/{team}/members[?includePending]`.
pub async fn members(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((org, team)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (people, can_edit) = teams::members(&ctx, &caller, &org, &team).await?;
    Ok(axum::Json(json!({
        "can_edit": can_edit,
        "members": people.iter().map(member).collect::<Vec<_>>(),
        "name": team,
    }))
    .into_response())
}

/// `GET /api/v1/entities/{prefix}?namespace&includeTeams&includeOrgs`.
pub async fn entities(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(prefix): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let namespace = input::query(&uri, "namespace").filter(|n| !n.is_empty());
    let found = teams::search(
        &ctx,
        &caller,
        &prefix,
        namespace.as_deref(),
        input::flag(&uri, "includeTeams")?,
        input::flag(&uri, "includeOrgs")?,
    )
    .await?;
    let mut results: Vec<Value> = found
        .teams
        .iter()
        .map(|t| json!({"avatar": views::avatar(t, Some(t), "team"), "is_org_member": true, "kind": "team", "name": t}))
        .collect();
    for p in &found.users {
        let mut v = json!({
            "avatar": views::avatar(&p.username, Some(&p.email), if p.robot { "robot" } else { "user" }),
            "is_robot": p.robot,
            "kind": "user",
            "name": p.username,
        });
        if found.in_organization {
            v["is_org_member"] = json!(p.org_member);
        }
        results.push(v);
    }
    if let Some(o) = &found.organization {
        results.push(json!({
            "avatar": views::avatar(&o.username, Some(&o.email), "org"),
            "is_org_member": true,
            "kind": "org",
            "name": o.username,
        }));
    }
    Ok(axum::Json(json!({ "results": results })).into_response())
}

/// `DELETE /api/v1/organization/{org}/team/{team}/members/{member}` → 204.
pub async fn remove_member(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, team, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    teams::remove_member(&ctx, &caller, &origin, &org, &team, &name).await?;
    Ok(views::no_content())
}

/// `DELETE /api/v1/organization/{org}/team/{team}` → 204; an unknown team is Quay's 400 message.
pub async fn delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((org, team)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    match teams::delete(&ctx, &caller, &origin, &org, &team).await {
        Ok(()) => Ok(views::no_content()),
        Err(Refused::Rule { code: Rule::TeamUnknown, message }) => {
            Err(ApiError::message(StatusCode::BAD_REQUEST, message))
        }
        Err(e) => Err(e.into()),
    }
}
