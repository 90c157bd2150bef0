//! Repository permissions for users and teams, and a team's permissions.

use super::error::ApiError;
use super::input;
use super::views;
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::{permissions, teams};
use crate::store::permissions::UserGrant;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use quay_core::permissions::Role;
use quay_core::rules::Rule;
use serde_json::{Map, Value, json};

const ROLES: &[&str] = &["read", "write", "admin"];

/// A role from a `{role}` body (schema: required, one of read/write/admin).
fn role_of(body: &Bytes) -> Result<Role, ApiError> {
    let body = input::body(body)?;
    input::check(&body, &["role"], &[])?;
    input::one_of(&body, "role", ROLES)?;
    input::str_of(&body, "role").and_then(Role::parse).ok_or_else(|| ApiError::invalid("role"))
}

/// A user permission; `is_org_member` only in organizations.
fn user_grant(g: &UserGrant, organization: bool) -> Value {
    let mut v = json!({
        "avatar": views::avatar(&g.username, Some(&g.email), if g.robot { "robot" } else { "user" }),
        "is_robot": g.robot,
        "name": g.username,
        "role": g.role,
    });
    if organization {
        v["is_org_member"] = json!(g.org_member);
    }
    v
}

fn team_grant(team: &str, role: &str) -> Value {
    json!({"avatar": views::avatar(team, Some(team), "team"), "name": team, "role": role})
}

type RepoPath = Path<(String, String)>;
type RepoWhoPath = Path<(String, String, String)>;

pub async fn list_users(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo)): RepoPath,
) -> Result<Response, ApiError> {
    let (grants, org) = permissions::users(&ctx, &caller, &ns, &repo).await?;
    let map: Map<String, Value> = grants.iter().map(|g| (g.username.clone(), user_grant(g, org))).collect();
    Ok(axum::Json(json!({ "permissions": map })).into_response())
}

pub async fn get_user(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo, name)): RepoWhoPath,
) -> Result<Response, ApiError> {
    match permissions::user(&ctx, &caller, &ns, &repo, &name).await {
        Ok((g, org)) => Ok(axum::Json(user_grant(&g, org)).into_response()),
        Err(Refused::Rule { code: Rule::PermissionUnknown, message }) => {
            Err(ApiError::message(StatusCode::BAD_REQUEST, message))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn put_user(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, name)): RepoWhoPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    let role = role_of(&body)?;
    let (g, org) = permissions::set_user(&ctx, &caller, &origin, &ns, &repo, &name, role).await?;
    Ok(axum::Json(user_grant(&g, org)).into_response())
}

pub async fn delete_user(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, name)): RepoWhoPath,
) -> Result<Response, ApiError> {
    permissions::delete_user(&ctx, &caller, &origin, &ns, &repo, &name).await?;
    Ok(views::no_content())
}

pub async fn transitive(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo, name)): RepoWhoPath,
) -> Result<Response, ApiError> {
    let roles = permissions::transitive(&ctx, &caller, &ns, &repo, &name).await?;
    let list: Vec<Value> = roles.iter().map(|r| json!({"role": r})).collect();
    Ok(axum::Json(json!({ "permissions": list })).into_response())
}

pub async fn list_teams(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo)): RepoPath,
) -> Result<Response, ApiError> {
    let grants = permissions::teams(&ctx, &caller, &ns, &repo).await?;
    let map: Map<String, Value> = grants.iter().map(|(t, r)| (t.clone(), team_grant(t, r))).collect();
    Ok(axum::Json(json!({ "permissions": map })).into_response())
}

pub async fn get_team(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((ns, repo, team)): RepoWhoPath,
) -> Result<Response, ApiError> {
    let grants = permissions::teams(&ctx, &caller, &ns, &repo).await?;
    match grants.iter().find(|(t, _)| *t == team) {
        Some((_, role)) => Ok(axum::Json(json!({ "role": role })).into_response()),
        None => Err(ApiError::message(StatusCode::BAD_REQUEST, "Team does not have permission for repo.")),
    }
}

pub async fn put_team(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, team)): RepoWhoPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    let role = role_of(&body)?;
    permissions::set_team(&ctx, &caller, &origin, &ns, &repo, &team, role).await?;
    Ok(axum::Json(team_grant(&team, role.as_str())).into_response())
}

pub async fn delete_team(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path((ns, repo, team)): RepoWhoPath,
) -> Result<Response, ApiError> {
    permissions::delete_team(&ctx, &caller, &origin, &ns, &repo, &team).await?;
    Ok(views::no_content())
}

/// `GET /api/v1/organization/{org}/team/{team}/permissions`.
pub async fn of_team(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path((org, team)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let grants = teams::permissions(&ctx, &caller, &org, &team).await?;
    let list: Vec<Value> = grants
        .iter()
        .map(|(name, public, role)| json!({"repository": {"is_public": public, "name": name}, "role": role}))
        .collect();
    Ok(axum::Json(json!({ "permissions": list })).into_response())
}
