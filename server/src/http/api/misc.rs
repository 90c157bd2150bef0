//! App-specific tokens, global messages, the web UI's `/config`, and `/api/v1/discovery` (a
//! Swagger 2.0 document of the routes this server serves, from [`ROUTES`]).

use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::http::AppState;
use crate::ops::access::ApiCaller;
use crate::ops::apptokens;
use crate::ops::log_entry::Origin;
use crate::store::apptokens::AppToken;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

fn token_view(ctx: &AppState, t: &AppToken, with_code: bool) -> Value {
    let mut v = json!({
        "uuid": t.uuid,
        "title": t.title,
        "created": views::rfc2822_naive(t.created.as_deref()),
        "expiration": views::rfc2822_naive(t.expiration.as_deref()),
        "last_accessed": views::rfc2822_naive(t.last_accessed.as_deref()),
    });
    if with_code {
        v["token_code"] = json!(apptokens::code(ctx, t));
    }
    v
}

/// `GET /api/v1/user/apptoken`.
pub async fn apptokens_list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let all = apptokens::list(&ctx, &caller).await?;
    Ok(axum::Json(json!({
        "tokens": all.iter().map(|t| token_view(&ctx, t, false)).collect::<Vec<_>>(),
        "only_expiring": null,
    }))
    .into_response())
}

/// `POST /api/v1/user/apptoken {title}` → `{"token": {…, token_code}}`.
pub async fn apptokens_create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &["title"], &[("title", Kind::String)])?;
    let t = apptokens::create(&ctx, &caller, &origin, input::str_of(&body, "title").unwrap_or("")).await?;
    Ok(axum::Json(json!({ "token": token_view(&ctx, &t, true) })).into_response())
}

/// `GET /api/v1/user/apptoken/{uuid}` (with its code).
pub async fn apptokens_get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let t = apptokens::get(&ctx, &caller, &uuid).await?;
    Ok(axum::Json(json!({ "token": token_view(&ctx, &t, true) })).into_response())
}

/// `DELETE /api/v1/user/apptoken/{uuid}` → 204.
pub async fn apptokens_revoke(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    apptokens::revoke(&ctx, &caller, &origin, &uuid).await?;
    Ok((StatusCode::NO_CONTENT, [(header::CONTENT_TYPE, "application/json")]).into_response())
}

/// `GET /api/v1/messages`: the instance's global messages (public).
pub async fn messages(State(ctx): State<AppState>) -> Result<Response, ApiError> {
    let all = ctx.store.messages().await?;
    let list: Vec<Value> = all
        .iter()
        .map(|(uuid, content, severity, media_type)| {
            json!({"uuid": uuid, "content": content, "severity": severity, "media_type": media_type})
        })
        .collect();
    Ok(axum::Json(json!({ "messages": list })).into_response())
}

/// Where the web UI finds the logo (Quay's default path; the image is ours).
pub const LOGO_PATH: &str = "/static/img/quay-horizontal-color.svg";

/// `GET /static/img/quay-horizontal-color.svg`: our logo, at the path Quay's UI asks for.
pub async fn logo() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        include_str!("../../../assets/logo.svg"),
    )
        .into_response()
}

/// `GET /config`: what the web UI needs to know about this instance (no secrets).
pub async fn config(State(ctx): State<AppState>) -> Response {
    let c = &ctx.config;
    let features = json!({
        "ANONYMOUS_ACCESS": c.feature_anonymous_access.0,
        "APP_SPECIFIC_TOKENS": c.feature_app_specific_tokens.0,
        "CHANGE_TAG_EXPIRATION": c.feature_change_tag_expiration.0,
        "DIRECT_LOGIN": c.feature_direct_login.0,
        "GARBAGE_COLLECTION": c.feature_garbage_collection.0,
        "LIBRARY_SUPPORT": c.feature_library_support.0,
        "MAILING": c.feature_mailing.0,
        "PUBLIC_CATALOG": c.feature_public_catalog.0,
        "SUPER_USERS": c.feature_super_users.0,
        "SUPERUSERS_FULL_ACCESS": c.feature_superusers_full_access.0,
        "USER_CREATION": c.feature_user_creation.0,
        "USER_INITIALIZE": c.feature_user_initialize.0,
        "QUOTA_MANAGEMENT": c.feature_quota_management.0,
        "EDIT_QUOTA": c.feature_edit_quota.0,
        "VERIFY_QUOTA": c.feature_verify_quota.0,
        "AUTO_PRUNE": c.feature_auto_prune.0,
        "IMAGE_EXPIRY_TRIGGER": c.feature_image_expiry_trigger.0,
        "BILLING": false, "BUILD_SUPPORT": false, "SECURITY_SCANNER": false,
        "REPO_MIRROR": false, "PROXY_CACHE": false, "TEAM_SYNCING": false, "UI_V2": true,
    });
    axum::Json(json!({
        "config": {
            "AUTHENTICATION_TYPE": c.authentication_type,
            "BRANDING": {"logo": LOGO_PATH, "footer_img": null, "footer_url": null},
            "PERMANENTLY_DELETE_TAGS": false,
            "DEFAULT_TAG_EXPIRATION": c.default_tag_expiration,
            "PREFERRED_URL_SCHEME": c.preferred_url_scheme,
            "REGISTRY_TITLE": c.registry_title,
            "REGISTRY_TITLE_SHORT": c.registry_title_short,
            "SERVER_HOSTNAME": c.server_hostname,
            "TAG_EXPIRATION_OPTIONS": c.tag_expiration_options,
        },
        "features": features,
        "oauth": {},
        "external_login": [],
        "registry_state": c.registry_state,
        "account_recovery_mode": c.account_recovery_mode,
        "version_number": concat!("quay-rs ", env!("CARGO_PKG_VERSION")),
    }))
    .into_response()
}

/// Every `/api/v1` route this server serves: method, path (axum's `{param}` form, as Swagger
/// writes it), summary. `/api/v1/discovery` is generated from it, and a test calls each one.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/discovery", "This document"),
    ("GET", "/api/v1/messages", "Global messages"),
    ("POST", "/api/v1/signin", "Sign in with a username and password"),
    ("POST", "/api/v1/signout", "Sign out"),
    ("GET", "/api/v1/user/", "The signed-in user"),
    (
        "PUT",
        "/api/v1/user/",
        "Change the signed-in user's account (password, e-mail, invoicing, tag expiration)",
    ),
    ("POST", "/api/v1/user/initialize", "Create the first user of an empty database"),
    ("GET", "/api/v1/users/{name}", "A user's public profile"),
    ("GET", "/api/v1/user/apptoken", "The signed-in user's app-specific tokens"),
    ("POST", "/api/v1/user/apptoken", "Create an app-specific token"),
    ("GET", "/api/v1/user/apptoken/{uuid}", "One app-specific token"),
    ("DELETE", "/api/v1/user/apptoken/{uuid}", "Revoke an app-specific token"),
    ("GET", "/api/v1/user/starred", "Starred repositories"),
    ("POST", "/api/v1/user/starred", "Star a repository"),
    ("DELETE", "/api/v1/user/starred/{ns}/{name}", "Unstar a repository"),
    ("GET", "/api/v1/user/robots", "The signed-in user's robots"),
    ("GET", "/api/v1/user/robots/{short}", "A robot of the signed-in user"),
    ("PUT", "/api/v1/user/robots/{short}", "Create a robot"),
    ("DELETE", "/api/v1/user/robots/{short}", "Delete a robot"),
    ("POST", "/api/v1/user/robots/{short}/regenerate", "A new token for a robot"),
    ("GET", "/api/v1/user/robots/{short}/permissions", "A robot's permissions"),
    ("GET", "/api/v1/user/notifications", "The signed-in user's in-app notifications"),
    ("GET", "/api/v1/user/notifications/{uuid}", "One in-app notification"),
    ("PUT", "/api/v1/user/notifications/{uuid}", "Dismiss (or restore) an in-app notification"),
    ("GET", "/api/v1/user/authorizations", "OAuth tokens the signed-in user granted applications"),
    ("GET", "/api/v1/organization/{name}/applications", "An organization's OAuth applications"),
    ("GET", "/api/v1/superuser/registrysize/", "The registry's size as last computed (superusers)"),
    ("GET", "/api/v1/superuser/keys", "Service keys (superusers)"),
    ("GET", "/api/v1/superuser/changelog/", "This build's change log (superusers)"),
    ("GET", "/api/v1/superuser/logs", "Every account's action logs (superusers)"),
    ("GET", "/api/v1/superuser/aggregatelogs", "Daily counts of every account's action logs (superusers)"),
    ("GET", "/api/v1/error/{kind}", "What an error type means"),
    ("GET", "/api/v1/user/logs", "The signed-in user's action logs"),
    ("GET", "/api/v1/user/aggregatelogs", "Daily counts of the signed-in user's action logs"),
    ("GET", "/api/v1/registry/capabilities", "What this registry supports (sparse manifests)"),
    ("GET", "/api/v1/superuser/organizations/", "Organizations (superusers)"),
    ("GET", "/api/v1/superuser/users/", "Users (superusers)"),
    ("POST", "/api/v1/superuser/users/", "Create a user (superusers)"),
    ("GET", "/api/v1/superuser/users/{name}", "A user (superusers)"),
    ("PUT", "/api/v1/superuser/users/{name}", "Change a user (superusers)"),
    ("DELETE", "/api/v1/superuser/users/{name}", "Delete a user (superusers)"),
    ("POST", "/api/v1/organization/", "Create an organization"),
    ("GET", "/api/v1/organization/{name}", "An organization"),
    ("PUT", "/api/v1/organization/{name}", "Change an organization's e-mail, invoicing or time machine"),
    ("DELETE", "/api/v1/organization/{name}", "Delete an organization"),
    ("GET", "/api/v1/organization/{name}/members", "Members"),
    ("GET", "/api/v1/organization/{name}/members/{member}", "One member"),
    (
        "DELETE",
        "/api/v1/organization/{name}/members/{member}",
        "Remove a member from every team and permission",
    ),
    ("GET", "/api/v1/organization/{name}/collaborators", "Outside collaborators"),
    ("PUT", "/api/v1/organization/{org}/team/{team}", "Create or change a team"),
    ("DELETE", "/api/v1/organization/{org}/team/{team}", "Delete a team"),
    ("GET", "/api/v1/organization/{org}/team/{team}/members", "A team's members"),
    ("PUT", "/api/v1/organization/{org}/team/{team}/members/{member}", "Add a team member"),
    ("DELETE", "/api/v1/organization/{org}/team/{team}/members/{member}", "Remove a team member"),
    ("GET", "/api/v1/organization/{org}/team/{team}/permissions", "A team's repository permissions"),
    ("GET", "/api/v1/organization/{org}/robots", "An organization's robots"),
    ("GET", "/api/v1/organization/{org}/robots/{short}", "An organization robot"),
    ("PUT", "/api/v1/organization/{org}/robots/{short}", "Create an organization robot"),
    ("DELETE", "/api/v1/organization/{org}/robots/{short}", "Delete an organization robot"),
    ("POST", "/api/v1/organization/{org}/robots/{short}/regenerate", "A new token for a robot"),
    ("GET", "/api/v1/organization/{org}/robots/{short}/permissions", "A robot's permissions"),
    ("GET", "/api/v1/organization/{org}/prototypes", "Default permissions"),
    ("POST", "/api/v1/organization/{org}/prototypes", "Create a default permission"),
    ("PUT", "/api/v1/organization/{org}/prototypes/{uuid}", "Change a default permission"),
    ("DELETE", "/api/v1/organization/{org}/prototypes/{uuid}", "Delete a default permission"),
    ("GET", "/api/v1/organization/{org}/logs", "An organization's action logs"),
    ("GET", "/api/v1/organization/{org}/aggregatelogs", "Daily counts of an organization's logs"),
    ("GET", "/api/v1/entities/{prefix}", "Users, robots, teams and organizations by name prefix"),
    ("GET", "/api/v1/find/repositories", "Search repositories"),
    ("GET", "/api/v1/repository", "List repositories"),
    ("POST", "/api/v1/repository", "Create a repository"),
    ("GET", "/api/v1/repository/{ns}/{name}", "A repository"),
    ("PUT", "/api/v1/repository/{ns}/{name}", "Change a repository's description"),
    ("DELETE", "/api/v1/repository/{ns}/{name}", "Delete a repository"),
    ("POST", "/api/v1/repository/{ns}/{name}/changevisibility", "Make a repository public or private"),
    ("GET", "/api/v1/repository/{ns}/{name}/permissions/user/", "Users' permissions"),
    ("GET", "/api/v1/repository/{ns}/{name}/permissions/user/{who}", "A user's permission"),
    ("PUT", "/api/v1/repository/{ns}/{name}/permissions/user/{who}", "Set a user's permission"),
    ("DELETE", "/api/v1/repository/{ns}/{name}/permissions/user/{who}", "Remove a user's permission"),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/permissions/user/{who}/transitive",
        "A user's roles, through teams too",
    ),
    ("GET", "/api/v1/repository/{ns}/{name}/permissions/team/", "Teams' permissions"),
    ("GET", "/api/v1/repository/{ns}/{name}/permissions/team/{who}", "A team's permission"),
    ("PUT", "/api/v1/repository/{ns}/{name}/permissions/team/{who}", "Set a team's permission"),
    ("DELETE", "/api/v1/repository/{ns}/{name}/permissions/team/{who}", "Remove a team's permission"),
    ("GET", "/api/v1/repository/{ns}/{name}/tag/", "Tag history"),
    (
        "PUT",
        "/api/v1/repository/{ns}/{name}/tag/{tag}",
        "Point a tag at a manifest, or change its expiration",
    ),
    ("DELETE", "/api/v1/repository/{ns}/{name}/tag/{tag}", "Delete a tag"),
    ("POST", "/api/v1/repository/{ns}/{name}/tag/{tag}/restore", "Restore a tag"),
    ("GET", "/api/v1/repository/{ns}/{name}/manifest/{digest}", "A manifest"),
    ("GET", "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels", "A manifest's labels"),
    ("POST", "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels", "Add a label"),
    ("GET", "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels/{uuid}", "A label"),
    ("DELETE", "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels/{uuid}", "Delete a label"),
    ("GET", "/api/v1/repository/{ns}/{name}/notification/", "Notifications"),
    ("POST", "/api/v1/repository/{ns}/{name}/notification/", "Create a notification"),
    ("GET", "/api/v1/repository/{ns}/{name}/notification/{uuid}", "A notification"),
    ("POST", "/api/v1/repository/{ns}/{name}/notification/{uuid}", "Reset a notification's failures"),
    ("DELETE", "/api/v1/repository/{ns}/{name}/notification/{uuid}", "Delete a notification"),
    ("POST", "/api/v1/repository/{ns}/{name}/notification/{uuid}/test", "Queue a test notification"),
    ("PUT", "/api/v1/superuser/organizations/{name}", "Rename an organization (superusers)"),
    ("POST", "/api/v1/organization/{name}/applications", "Register an OAuth application"),
    ("GET", "/api/v1/organization/{name}/applications/{client_id}", "An OAuth application"),
    ("PUT", "/api/v1/organization/{name}/applications/{client_id}", "Change an OAuth application"),
    ("DELETE", "/api/v1/organization/{name}/applications/{client_id}", "Delete an OAuth application"),
    ("POST", "/api/v1/organization/{name}/applications/{client_id}/resetclientsecret", "A new client secret"),
    ("DELETE", "/api/v1/superuser/organizations/{name}", "Delete an organization (superusers)"),
    ("POST", "/api/v1/user/", "Create an account (FEATURE_USER_CREATION)"),
    ("DELETE", "/api/v1/user/", "Delete one's own account"),
    ("GET", "/api/v1/organization/{org}/quota", "The organization's storage quota"),
    ("POST", "/api/v1/organization/{org}/quota", "Give the organization a quota (superusers)"),
    ("GET", "/api/v1/organization/{org}/quota/{id}", "A quota"),
    ("PUT", "/api/v1/organization/{org}/quota/{id}", "Change a quota's limit (superusers)"),
    ("DELETE", "/api/v1/organization/{org}/quota/{id}", "Delete a quota (superusers)"),
    ("GET", "/api/v1/organization/{org}/quota/{id}/limit", "A quota's limits"),
    ("POST", "/api/v1/organization/{org}/quota/{id}/limit", "Add a Warning or Reject limit (superusers)"),
    ("GET", "/api/v1/organization/{org}/quota/{id}/limit/{limit}", "A quota limit"),
    ("PUT", "/api/v1/organization/{org}/quota/{id}/limit/{limit}", "Change a quota limit (superusers)"),
    ("DELETE", "/api/v1/organization/{org}/quota/{id}/limit/{limit}", "Delete a quota limit (superusers)"),
    ("GET", "/api/v1/user/quota", "The signed-in user's quota"),
    ("GET", "/api/v1/user/quota/{id}", "A quota of the signed-in user"),
    ("GET", "/api/v1/user/quota/{id}/limit", "Its limits"),
    ("GET", "/api/v1/user/quota/{id}/limit/{limit}", "One of its limits"),
    ("GET", "/api/v1/organization/{org}/autoprunepolicy/", "The organization's auto-prune policies"),
    ("POST", "/api/v1/organization/{org}/autoprunepolicy/", "Add an auto-prune policy"),
    ("GET", "/api/v1/organization/{org}/autoprunepolicy/{uuid}", "An auto-prune policy"),
    ("PUT", "/api/v1/organization/{org}/autoprunepolicy/{uuid}", "Change an auto-prune policy"),
    ("DELETE", "/api/v1/organization/{org}/autoprunepolicy/{uuid}", "Delete an auto-prune policy"),
    ("GET", "/api/v1/user/autoprunepolicy/", "The signed-in user's auto-prune policies"),
    ("POST", "/api/v1/user/autoprunepolicy/", "Add an auto-prune policy to the user's namespace"),
    ("GET", "/api/v1/user/autoprunepolicy/{uuid}", "An auto-prune policy of the user"),
    ("PUT", "/api/v1/user/autoprunepolicy/{uuid}", "Change it"),
    ("DELETE", "/api/v1/user/autoprunepolicy/{uuid}", "Delete it"),
    ("GET", "/api/v1/repository/{ns}/{name}/autoprunepolicy/", "The repository's auto-prune policies"),
    ("POST", "/api/v1/repository/{ns}/{name}/autoprunepolicy/", "Add an auto-prune policy to the repository"),
    ("GET", "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}", "A repository auto-prune policy"),
    ("PUT", "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}", "Change it"),
    ("DELETE", "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}", "Delete it"),
    ("GET", "/api/v1/repository/{ns}/{name}/logs", "A repository's action logs"),
    ("GET", "/api/v1/repository/{ns}/{name}/aggregatelogs", "Daily counts of a repository's logs"),
];

/// `GET /api/v1/discovery`: Swagger 2.0 over [`ROUTES`].
pub async fn discovery(State(ctx): State<AppState>) -> Response {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({"name": p, "in": "path", "required": true, "type": "string"}))
            .collect();
        let entry = paths.entry((*path).to_string()).or_insert_with(|| json!({}));
        entry[method.to_ascii_lowercase()] = json!({
            "summary": summary,
            "operationId": format!("{}{}", method.to_ascii_lowercase(), path.replace(['/', '{', '}'], "_")),
            "parameters": params,
        });
    }
    axum::Json(json!({
        "swagger": "2.0",
        "host": ctx.config.server_hostname,
        "basePath": "/",
        "schemes": [ctx.config.preferred_url_scheme],
        "info": {"title": "Quay Frontend", "version": "v1", "description": "The /api/v1 routes this registry serves."},
        "paths": paths,
    }))
    .into_response()
}

/// `GET /api/v1/registry/capabilities`.
pub async fn capabilities(State(ctx): State<AppState>) -> Response {
    axum::Json(json!({
        "sparse_manifests": {
            "supported": ctx.config.feature_sparse_index.0,
            "required_architectures": [],
            "optional_architectures_allowed": false,
        },
        "mirror_architectures": [],
    }))
    .into_response()
}

/// `GET /.well-known/app-capabilities`: where Quay-aware tools find a repository's pages.
pub async fn app_capabilities(State(ctx): State<AppState>) -> Response {
    let base = ctx.config.base_url();
    axum::Json(json!({
        "appName": "io.quay",
        "capabilities": {
            "io.quay.view-image": {"url-template": format!("{base}/{{namespace}}/{{reponame}}:{{tag}}")},
            "io.quay.manifest-security": {
                "rest-api-template": format!("{base}/api/v1/repository/{{namespace}}/{{reponame}}/manifest/{{digest}}/security"),
            },
        },
    }))
    .into_response()
}

/// The error types `/api/v1` answers with, and what each means (ours; docs/compat.md).
const ERROR_TYPES: [(&str, &str); 10] = [
    ("external_service_timeout", "A service this request needed did not answer in time."),
    ("invalid_request", "The request was malformed or failed validation."),
    ("invalid_response", "A service this request needed answered with something unexpected."),
    ("invalid_token", "The credential was missing, unknown or no longer valid."),
    ("expired_token", "The credential has expired."),
    ("insufficient_scope", "The caller may not do this, or its token's scopes do not cover it."),
    ("fresh_login_required", "This action needs a recent sign-in: sign in again, then retry."),
    ("exceeds_license", "The action would exceed what this installation is licensed for."),
    ("not_found", "The resource does not exist."),
    ("downstream_issue", "A service this request depends on failed."),
];

/// `GET /api/v1/error/{type}` → `{type, title, description}` (where problem bodies' `type` points).
pub async fn error_description(State(ctx): State<AppState>, Path(kind): Path<String>) -> Response {
    match ERROR_TYPES.iter().find(|(k, _)| *k == kind) {
        Some((k, description)) => axum::Json(json!({
            "description": description,
            "title": k,
            "type": format!("{}://{}/api/v1/error/{k}", ctx.config.preferred_url_scheme, ctx.config.server_hostname),
        }))
        .into_response(),
        None => super::error::ApiError::not_found().into_response(),
    }
}
