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
use axum::http::header;
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
    Ok(views::no_content())
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
        "REPO_MIRROR": c.feature_repo_mirror.0, "PROXY_CACHE": false, "TEAM_SYNCING": false, "UI_V2": true,
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
/// writes it), the OAuth scope Quay labels it with (its `require_scope`, `require_user_admin`,
/// `require_repo_admin`; a token's scopes cap what it may do, `ops::access`), summary. `/api/v1/discovery` is generated from it, and a test calls each one.
pub const ROUTES: &[(&str, &str, Option<&str>, &str)] = &[
    ("GET", "/api/v1/discovery", None, "This document"),
    ("GET", "/api/v1/messages", None, "Global messages"),
    ("POST", "/api/v1/signin", None, "Sign in with a username and password"),
    ("POST", "/api/v1/signout", None, "Sign out"),
    ("GET", "/api/v1/user/", Some("user:read"), "The signed-in user"),
    (
        "PUT",
        "/api/v1/user/",
        Some("user:admin"),
        "Change the signed-in user's account (password, e-mail, invoicing, tag expiration)",
    ),
    ("POST", "/api/v1/user/initialize", None, "Create the first user of an empty database"),
    ("GET", "/api/v1/users/{name}", None, "A user's public profile"),
    ("GET", "/api/v1/user/apptoken", Some("user:admin"), "The signed-in user's app-specific tokens"),
    ("POST", "/api/v1/user/apptoken", Some("user:admin"), "Create an app-specific token"),
    ("GET", "/api/v1/user/apptoken/{uuid}", Some("user:admin"), "One app-specific token"),
    ("DELETE", "/api/v1/user/apptoken/{uuid}", Some("user:admin"), "Revoke an app-specific token"),
    ("GET", "/api/v1/user/starred", Some("user:admin"), "Starred repositories"),
    ("POST", "/api/v1/user/starred", Some("repo:read"), "Star a repository"),
    ("DELETE", "/api/v1/user/starred/{ns}/{name}", Some("user:admin"), "Unstar a repository"),
    ("GET", "/api/v1/user/robots", Some("user:admin"), "The signed-in user's robots"),
    ("GET", "/api/v1/user/robots/{short}", Some("user:admin"), "A robot of the signed-in user"),
    ("PUT", "/api/v1/user/robots/{short}", Some("user:admin"), "Create a robot"),
    ("DELETE", "/api/v1/user/robots/{short}", Some("user:admin"), "Delete a robot"),
    ("POST", "/api/v1/user/robots/{short}/regenerate", Some("user:admin"), "A new token for a robot"),
    ("GET", "/api/v1/user/robots/{short}/permissions", Some("user:admin"), "A robot's permissions"),
    ("GET", "/api/v1/user/notifications", Some("user:admin"), "The signed-in user's in-app notifications"),
    ("GET", "/api/v1/user/notifications/{uuid}", Some("user:admin"), "One in-app notification"),
    (
        "PUT",
        "/api/v1/user/notifications/{uuid}",
        Some("user:admin"),
        "Dismiss (or restore) an in-app notification",
    ),
    (
        "GET",
        "/api/v1/user/authorizations",
        Some("user:admin"),
        "OAuth tokens the signed-in user granted applications",
    ),
    (
        "GET",
        "/api/v1/organization/{name}/applications",
        Some("org:admin"),
        "An organization's OAuth applications",
    ),
    (
        "GET",
        "/api/v1/superuser/registrysize/",
        Some("super:user"),
        "The registry's size as last computed (superusers)",
    ),
    ("GET", "/api/v1/superuser/keys", Some("super:user"), "Service keys (superusers)"),
    ("GET", "/api/v1/superuser/changelog/", Some("super:user"), "This build's change log (superusers)"),
    ("GET", "/api/v1/superuser/logs", Some("super:user"), "Every account's action logs (superusers)"),
    (
        "GET",
        "/api/v1/superuser/aggregatelogs",
        None,
        "Daily counts of every account's action logs (superusers)",
    ),
    ("GET", "/api/v1/error/{kind}", None, "What an error type means"),
    ("GET", "/api/v1/user/logs", Some("user:admin"), "The signed-in user's action logs"),
    (
        "GET",
        "/api/v1/user/aggregatelogs",
        Some("user:admin"),
        "Daily counts of the signed-in user's action logs",
    ),
    ("GET", "/api/v1/registry/capabilities", None, "What this registry supports (sparse manifests)"),
    ("GET", "/api/v1/superuser/organizations/", Some("super:user"), "Organizations (superusers)"),
    ("GET", "/api/v1/superuser/users/", Some("super:user"), "Users (superusers)"),
    ("POST", "/api/v1/superuser/users/", Some("super:user"), "Create a user (superusers)"),
    ("GET", "/api/v1/superuser/users/{name}", Some("super:user"), "A user (superusers)"),
    ("PUT", "/api/v1/superuser/users/{name}", Some("super:user"), "Change a user (superusers)"),
    ("DELETE", "/api/v1/superuser/users/{name}", Some("super:user"), "Delete a user (superusers)"),
    ("POST", "/api/v1/organization/", Some("user:admin"), "Create an organization"),
    ("GET", "/api/v1/organization/{name}", None, "An organization"),
    (
        "PUT",
        "/api/v1/organization/{name}",
        Some("org:admin"),
        "Change an organization's e-mail, invoicing or time machine",
    ),
    ("DELETE", "/api/v1/organization/{name}", Some("org:admin"), "Delete an organization"),
    ("GET", "/api/v1/organization/{name}/members", Some("org:admin"), "Members"),
    ("GET", "/api/v1/organization/{name}/members/{member}", Some("org:admin"), "One member"),
    (
        "DELETE",
        "/api/v1/organization/{name}/members/{member}",
        Some("org:admin"),
        "Remove a member from every team and permission",
    ),
    ("GET", "/api/v1/organization/{name}/collaborators", Some("org:admin"), "Outside collaborators"),
    ("PUT", "/api/v1/organization/{org}/team/{team}", Some("org:admin"), "Create or change a team"),
    ("DELETE", "/api/v1/organization/{org}/team/{team}", Some("org:admin"), "Delete a team"),
    ("GET", "/api/v1/organization/{org}/team/{team}/members", Some("org:admin"), "A team's members"),
    (
        "PUT",
        "/api/v1/organization/{org}/team/{team}/members/{member}",
        Some("org:admin"),
        "Add a team member",
    ),
    (
        "DELETE",
        "/api/v1/organization/{org}/team/{team}/members/{member}",
        Some("org:admin"),
        "Remove a team member",
    ),
    ("GET", "/api/v1/organization/{org}/team/{team}/permissions", None, "A team's repository permissions"),
    ("GET", "/api/v1/organization/{org}/robots", Some("org:admin"), "An organization's robots"),
    ("GET", "/api/v1/organization/{org}/robots/{short}", Some("org:admin"), "An organization robot"),
    ("PUT", "/api/v1/organization/{org}/robots/{short}", Some("org:admin"), "Create an organization robot"),
    (
        "DELETE",
        "/api/v1/organization/{org}/robots/{short}",
        Some("org:admin"),
        "Delete an organization robot",
    ),
    (
        "POST",
        "/api/v1/organization/{org}/robots/{short}/regenerate",
        Some("org:admin"),
        "A new token for a robot",
    ),
    (
        "GET",
        "/api/v1/organization/{org}/robots/{short}/permissions",
        Some("user:admin"),
        "A robot's permissions",
    ),
    ("GET", "/api/v1/organization/{org}/prototypes", Some("org:admin"), "Default permissions"),
    ("POST", "/api/v1/organization/{org}/prototypes", Some("org:admin"), "Create a default permission"),
    ("PUT", "/api/v1/organization/{org}/prototypes/{uuid}", Some("org:admin"), "Change a default permission"),
    (
        "DELETE",
        "/api/v1/organization/{org}/prototypes/{uuid}",
        Some("org:admin"),
        "Delete a default permission",
    ),
    ("GET", "/api/v1/organization/{org}/logs", Some("org:admin"), "An organization's action logs"),
    (
        "GET",
        "/api/v1/organization/{org}/aggregatelogs",
        Some("org:admin"),
        "Daily counts of an organization's logs",
    ),
    ("GET", "/api/v1/entities/{prefix}", None, "Users, robots, teams and organizations by name prefix"),
    ("GET", "/api/v1/find/repositories", None, "Search repositories"),
    ("GET", "/api/v1/repository", Some("repo:read"), "List repositories"),
    ("POST", "/api/v1/repository", Some("repo:create"), "Create a repository"),
    ("GET", "/api/v1/repository/{ns}/{name}", Some("repo:read"), "A repository"),
    ("PUT", "/api/v1/repository/{ns}/{name}", Some("repo:write"), "Change a repository's description"),
    ("DELETE", "/api/v1/repository/{ns}/{name}", Some("repo:admin"), "Delete a repository"),
    (
        "POST",
        "/api/v1/repository/{ns}/{name}/changevisibility",
        Some("repo:admin"),
        "Make a repository public or private",
    ),
    (
        "PUT",
        "/api/v1/repository/{ns}/{name}/changestate",
        Some("repo:admin"),
        "Set a repository's state: NORMAL, READ_ONLY or MIRROR (FEATURE_REPO_MIRROR)",
    ),
    ("GET", "/api/v1/repository/{ns}/{name}/permissions/user/", Some("repo:admin"), "Users' permissions"),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/permissions/user/{who}",
        Some("repo:admin"),
        "A user's permission",
    ),
    (
        "PUT",
        "/api/v1/repository/{ns}/{name}/permissions/user/{who}",
        Some("repo:admin"),
        "Set a user's permission",
    ),
    (
        "DELETE",
        "/api/v1/repository/{ns}/{name}/permissions/user/{who}",
        Some("repo:admin"),
        "Remove a user's permission",
    ),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/permissions/user/{who}/transitive",
        Some("repo:admin"),
        "A user's roles, through teams too",
    ),
    ("GET", "/api/v1/repository/{ns}/{name}/permissions/team/", Some("repo:admin"), "Teams' permissions"),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/permissions/team/{who}",
        Some("repo:admin"),
        "A team's permission",
    ),
    (
        "PUT",
        "/api/v1/repository/{ns}/{name}/permissions/team/{who}",
        Some("repo:admin"),
        "Set a team's permission",
    ),
    (
        "DELETE",
        "/api/v1/repository/{ns}/{name}/permissions/team/{who}",
        Some("repo:admin"),
        "Remove a team's permission",
    ),
    ("GET", "/api/v1/repository/{ns}/{name}/tag/", Some("repo:read"), "Tag history"),
    (
        "PUT",
        "/api/v1/repository/{ns}/{name}/tag/{tag}",
        Some("repo:write"),
        "Point a tag at a manifest, or change its expiration",
    ),
    ("DELETE", "/api/v1/repository/{ns}/{name}/tag/{tag}", Some("repo:write"), "Delete a tag"),
    ("POST", "/api/v1/repository/{ns}/{name}/tag/{tag}/restore", Some("repo:write"), "Restore a tag"),
    ("GET", "/api/v1/repository/{ns}/{name}/manifest/{digest}", Some("repo:read"), "A manifest"),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels",
        Some("repo:read"),
        "A manifest's labels",
    ),
    ("POST", "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels", Some("repo:write"), "Add a label"),
    ("GET", "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels/{uuid}", Some("repo:read"), "A label"),
    (
        "DELETE",
        "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels/{uuid}",
        Some("repo:write"),
        "Delete a label",
    ),
    ("GET", "/api/v1/repository/{ns}/{name}/notification/", Some("repo:admin"), "Notifications"),
    ("POST", "/api/v1/repository/{ns}/{name}/notification/", Some("repo:admin"), "Create a notification"),
    ("GET", "/api/v1/repository/{ns}/{name}/notification/{uuid}", Some("repo:admin"), "A notification"),
    (
        "POST",
        "/api/v1/repository/{ns}/{name}/notification/{uuid}",
        Some("repo:admin"),
        "Reset a notification's failures",
    ),
    (
        "DELETE",
        "/api/v1/repository/{ns}/{name}/notification/{uuid}",
        Some("repo:admin"),
        "Delete a notification",
    ),
    (
        "POST",
        "/api/v1/repository/{ns}/{name}/notification/{uuid}/test",
        Some("repo:admin"),
        "Queue a test notification",
    ),
    (
        "PUT",
        "/api/v1/superuser/organizations/{name}",
        Some("super:user"),
        "Rename an organization (superusers)",
    ),
    ("POST", "/api/v1/organization/{name}/applications", Some("org:admin"), "Register an OAuth application"),
    (
        "GET",
        "/api/v1/organization/{name}/applications/{client_id}",
        Some("org:admin"),
        "An OAuth application",
    ),
    (
        "PUT",
        "/api/v1/organization/{name}/applications/{client_id}",
        Some("org:admin"),
        "Change an OAuth application",
    ),
    (
        "DELETE",
        "/api/v1/organization/{name}/applications/{client_id}",
        Some("org:admin"),
        "Delete an OAuth application",
    ),
    (
        "POST",
        "/api/v1/organization/{name}/applications/{client_id}/resetclientsecret",
        None,
        "A new client secret",
    ),
    (
        "DELETE",
        "/api/v1/superuser/organizations/{name}",
        Some("super:user"),
        "Delete an organization (superusers)",
    ),
    ("POST", "/api/v1/user/", None, "Create an account (FEATURE_USER_CREATION)"),
    ("DELETE", "/api/v1/user/", Some("user:admin"), "Delete one's own account"),
    ("GET", "/api/v1/organization/{org}/quota", None, "The organization's storage quota"),
    (
        "POST",
        "/api/v1/organization/{org}/quota",
        Some("super:user"),
        "Give the organization a quota (superusers)",
    ),
    ("GET", "/api/v1/organization/{org}/quota/{id}", None, "A quota"),
    (
        "PUT",
        "/api/v1/organization/{org}/quota/{id}",
        Some("super:user"),
        "Change a quota's limit (superusers)",
    ),
    ("DELETE", "/api/v1/organization/{org}/quota/{id}", Some("super:user"), "Delete a quota (superusers)"),
    ("GET", "/api/v1/organization/{org}/quota/{id}/limit", None, "A quota's limits"),
    (
        "POST",
        "/api/v1/organization/{org}/quota/{id}/limit",
        Some("super:user"),
        "Add a Warning or Reject limit (superusers)",
    ),
    ("GET", "/api/v1/organization/{org}/quota/{id}/limit/{limit}", None, "A quota limit"),
    (
        "PUT",
        "/api/v1/organization/{org}/quota/{id}/limit/{limit}",
        Some("super:user"),
        "Change a quota limit (superusers)",
    ),
    (
        "DELETE",
        "/api/v1/organization/{org}/quota/{id}/limit/{limit}",
        Some("super:user"),
        "Delete a quota limit (superusers)",
    ),
    ("GET", "/api/v1/user/quota", Some("user:admin"), "The signed-in user's quota"),
    ("GET", "/api/v1/user/quota/{id}", Some("user:admin"), "A quota of the signed-in user"),
    ("GET", "/api/v1/user/quota/{id}/limit", Some("user:admin"), "Its limits"),
    ("GET", "/api/v1/user/quota/{id}/limit/{limit}", Some("user:admin"), "One of its limits"),
    (
        "GET",
        "/api/v1/organization/{org}/autoprunepolicy/",
        Some("org:admin"),
        "The organization's auto-prune policies",
    ),
    ("POST", "/api/v1/organization/{org}/autoprunepolicy/", Some("org:admin"), "Add an auto-prune policy"),
    ("GET", "/api/v1/organization/{org}/autoprunepolicy/{uuid}", Some("org:admin"), "An auto-prune policy"),
    (
        "PUT",
        "/api/v1/organization/{org}/autoprunepolicy/{uuid}",
        Some("org:admin"),
        "Change an auto-prune policy",
    ),
    (
        "DELETE",
        "/api/v1/organization/{org}/autoprunepolicy/{uuid}",
        Some("org:admin"),
        "Delete an auto-prune policy",
    ),
    ("GET", "/api/v1/user/autoprunepolicy/", Some("user:admin"), "The signed-in user's auto-prune policies"),
    (
        "POST",
        "/api/v1/user/autoprunepolicy/",
        Some("user:admin"),
        "Add an auto-prune policy to the user's namespace",
    ),
    ("GET", "/api/v1/user/autoprunepolicy/{uuid}", Some("user:admin"), "An auto-prune policy of the user"),
    ("PUT", "/api/v1/user/autoprunepolicy/{uuid}", Some("user:admin"), "Change it"),
    ("DELETE", "/api/v1/user/autoprunepolicy/{uuid}", Some("user:admin"), "Delete it"),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/autoprunepolicy/",
        Some("repo:admin"),
        "The repository's auto-prune policies",
    ),
    (
        "POST",
        "/api/v1/repository/{ns}/{name}/autoprunepolicy/",
        Some("repo:admin"),
        "Add an auto-prune policy to the repository",
    ),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}",
        Some("repo:admin"),
        "A repository auto-prune policy",
    ),
    ("PUT", "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}", Some("repo:admin"), "Change it"),
    ("DELETE", "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}", Some("repo:admin"), "Delete it"),
    ("GET", "/api/v1/repository/{ns}/{name}/logs", Some("repo:admin"), "A repository's action logs"),
    (
        "GET",
        "/api/v1/repository/{ns}/{name}/aggregatelogs",
        Some("repo:admin"),
        "Daily counts of a repository's logs",
    ),
];

/// `GET /api/v1/discovery`: Swagger 2.0 over [`ROUTES`].
pub async fn discovery(State(ctx): State<AppState>) -> Response {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, scope, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({"name": p, "in": "path", "required": true, "type": "string"}))
            .collect();
        let entry = paths.entry((*path).to_string()).or_insert_with(|| json!({}));
        let mut operation = json!({
            "summary": summary,
            "operationId": format!("{}{}", method.to_ascii_lowercase(), path.replace(['/', '{', '}'], "_")),
            "parameters": params,
        });
        if let Some(scope) = scope {
            operation["security"] = json!([{"oauth2_implicit": [scope]}]);
        }
        entry[method.to_ascii_lowercase()] = operation;
    }
    axum::Json(json!({
        "swagger": "2.0",
        "host": ctx.config.server_hostname,
        "basePath": "/",
        "schemes": [ctx.config.preferred_url_scheme],
        "info": {"title": "Quay Frontend", "version": "v1", "description": "The /api/v1 routes this registry serves."},
        "paths": paths,
        "securityDefinitions": {"oauth2_implicit": {
            "type": "oauth2",
            "flow": "implicit",
            "authorizationUrl": format!("{}://{}/oauth/authorize", ctx.config.preferred_url_scheme, ctx.config.server_hostname),
            "scopes": super::views::scope_descriptions(),
        }},
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
