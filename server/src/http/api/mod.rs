//! Quay's REST API (`/api/v1`) and the web routes it needs (`/csrf_token`). Every route runs
//! under [`auth::authenticate`] (caller, CSRF) and [`error::render`] (problem bodies); handlers
//! parse, call one operation in `ops`, and render with [`views`].

pub mod auth;
pub mod autoprune;
pub mod error;
pub mod input;
pub mod instance;
pub mod labels;
pub mod logs;
pub mod misc;
pub mod notifications;
pub mod organizations;
pub mod permissions;
pub mod prototypes;
pub mod quota;
pub mod repositories;
pub mod robots;
pub mod tags;
pub mod teams;
pub mod users;
pub mod views;

use crate::http::AppState;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use std::sync::Arc;

pub fn routes(state: &AppState) -> Router<AppState> {
    let base: Arc<str> = state.config.base_url().into();
    Router::new()
        .route("/csrf_token", get(users::csrf_token))
        .route("/api/v1/signin", post(users::signin))
        .route("/api/v1/signout", post(users::signout))
        .route(
            "/api/v1/user/",
            get(users::current_user)
                .put(users::update_current)
                .post(users::create_current)
                .delete(users::delete_current),
        )
        .route("/api/v1/user/initialize", post(users::initialize))
        .route("/api/v1/users/{name}", get(users::profile))
        .route("/api/v1/superuser/users/", get(users::superuser_list).post(users::superuser_create))
        .route(
            "/api/v1/superuser/users/{name}",
            get(users::superuser_get).put(users::superuser_update).delete(users::superuser_delete),
        )
        .route("/api/v1/organization/", post(organizations::create))
        .route(
            "/api/v1/organization/{name}",
            get(organizations::get).put(organizations::update).delete(organizations::delete),
        )
        .route("/api/v1/organization/{name}/members", get(organizations::members))
        .route(
            "/api/v1/organization/{name}/members/{member}",
            get(organizations::member).delete(organizations::remove_member),
        )
        .route("/api/v1/organization/{name}/collaborators", get(organizations::collaborators))
        .route("/api/v1/repository", get(repositories::list).post(repositories::create))
        .route(
            "/api/v1/repository/{ns}/{name}",
            get(repositories::get).put(repositories::update).delete(repositories::delete),
        )
        .route("/api/v1/repository/{ns}/{name}/changevisibility", post(repositories::change_visibility))
        .route("/api/v1/repository/{ns}/{name}/changestate", put(repositories::change_state))
        .route("/api/v1/organization/{org}/team/{team}", put(teams::put).delete(teams::delete))
        .route("/api/v1/organization/{org}/team/{team}/members", get(teams::members))
        .route(
            "/api/v1/organization/{org}/team/{team}/members/{member}",
            put(teams::add_member).delete(teams::remove_member),
        )
        .route("/api/v1/entities/{prefix}", get(teams::entities))
        .route("/api/v1/organization/{org}/team/{team}/permissions", get(permissions::of_team))
        .route("/api/v1/repository/{ns}/{name}/permissions/user/", get(permissions::list_users))
        .route(
            "/api/v1/repository/{ns}/{name}/permissions/user/{who}",
            get(permissions::get_user).put(permissions::put_user).delete(permissions::delete_user),
        )
        .route(
            "/api/v1/repository/{ns}/{name}/permissions/user/{who}/transitive",
            get(permissions::transitive),
        )
        .route("/api/v1/repository/{ns}/{name}/permissions/team/", get(permissions::list_teams))
        .route(
            "/api/v1/repository/{ns}/{name}/permissions/team/{who}",
            get(permissions::get_team).put(permissions::put_team).delete(permissions::delete_team),
        )
        .route("/api/v1/organization/{org}/robots", get(robots::org_list))
        .route(
            "/api/v1/organization/{org}/robots/{short}",
            get(robots::org_get).put(robots::org_put).delete(robots::org_delete),
        )
        .route("/api/v1/organization/{org}/robots/{short}/regenerate", post(robots::org_regenerate))
        .route("/api/v1/organization/{org}/robots/{short}/permissions", get(robots::org_permissions))
        .route("/api/v1/user/robots", get(robots::user_list))
        .route(
            "/api/v1/user/robots/{short}",
            get(robots::user_get).put(robots::user_put).delete(robots::user_delete),
        )
        .route("/api/v1/user/robots/{short}/regenerate", post(robots::user_regenerate))
        .route("/api/v1/user/robots/{short}/permissions", get(robots::user_permissions))
        .route("/api/v1/organization/{org}/prototypes", get(prototypes::list).post(prototypes::create))
        .route(
            "/api/v1/organization/{org}/prototypes/{uuid}",
            put(prototypes::update).delete(prototypes::delete),
        )
        .route("/api/v1/user/starred", get(repositories::starred).post(repositories::star))
        .route("/api/v1/user/starred/{ns}/{name}", axum::routing::delete(repositories::unstar))
        .route("/api/v1/repository/{ns}/{name}/logs", get(logs::repository))
        .route("/api/v1/repository/{ns}/{name}/aggregatelogs", get(logs::repository_aggregate))
        .route("/api/v1/organization/{org}/logs", get(logs::organization))
        .route("/api/v1/organization/{org}/aggregatelogs", get(logs::organization_aggregate))
        .route("/api/v1/user/notifications", get(users::notifications))
        .route("/api/v1/user/notifications/{uuid}", get(users::notification).put(users::dismiss_notification))
        .route("/api/v1/user/authorizations", get(users::authorizations))
        .route(
            "/api/v1/organization/{name}/applications",
            get(organizations::applications).post(organizations::application_create),
        )
        .route(
            "/api/v1/organization/{name}/applications/{client_id}",
            get(organizations::application_get)
                .put(organizations::application_update)
                .delete(organizations::application_delete),
        )
        .route(
            "/api/v1/organization/{name}/applications/{client_id}/resetclientsecret",
            post(organizations::application_reset_secret),
        )
        .route("/api/v1/superuser/registrysize/", get(instance::registry_size))
        .route("/api/v1/superuser/keys", get(instance::service_keys))
        .route("/api/v1/superuser/changelog/", get(instance::changelog))
        .route("/api/v1/superuser/logs", get(logs::superuser))
        .route("/api/v1/superuser/aggregatelogs", get(logs::superuser_aggregate))
        .route("/api/v1/error/{kind}", get(misc::error_description))
        .route("/api/v1/user/logs", get(logs::user))
        .route("/api/v1/user/aggregatelogs", get(logs::user_aggregate))
        .route("/api/v1/repository/{ns}/{name}/tag/", get(tags::list))
        .route("/api/v1/repository/{ns}/{name}/tag/{tag}", put(tags::put).delete(tags::delete))
        .route("/api/v1/repository/{ns}/{name}/tag/{tag}/restore", post(tags::restore))
        .route("/api/v1/find/repositories", get(repositories::find))
        .route("/api/v1/repository/{ns}/{name}/manifest/{digest}", get(labels::manifest))
        .route("/api/v1/repository/{ns}/{name}/manifest/{digest}/labels", get(labels::list).post(labels::add))
        .route(
            "/api/v1/repository/{ns}/{name}/manifest/{digest}/labels/{uuid}",
            get(labels::get).delete(labels::delete),
        )
        .route(
            "/api/v1/repository/{ns}/{name}/notification/",
            get(notifications::list).post(notifications::create),
        )
        .route(
            "/api/v1/repository/{ns}/{name}/notification/{uuid}",
            get(notifications::get).post(notifications::reset).delete(notifications::delete),
        )
        .route("/api/v1/repository/{ns}/{name}/notification/{uuid}/test", post(notifications::test))
        .route("/config", get(misc::config))
        .route(misc::LOGO_PATH, get(misc::logo))
        .route("/api/v1/discovery", get(misc::discovery))
        .route("/api/v1/messages", get(misc::messages))
        .route("/api/v1/user/apptoken", get(misc::apptokens_list).post(misc::apptokens_create))
        .route("/api/v1/user/apptoken/{uuid}", get(misc::apptokens_get).delete(misc::apptokens_revoke))
        .route("/api/v1/registry/capabilities", get(misc::capabilities))
        .route("/.well-known/app-capabilities", get(misc::app_capabilities))
        .route("/api/v1/superuser/organizations/", get(organizations::superuser_list))
        .route(
            "/api/v1/superuser/organizations/{name}",
            put(organizations::superuser_rename).delete(organizations::superuser_delete),
        )
        .route("/api/v1/organization/{org}/quota", get(quota::org_list).post(quota::org_create))
        .route(
            "/api/v1/organization/{org}/quota/{id}",
            get(quota::org_get).put(quota::org_update).delete(quota::org_delete),
        )
        .route(
            "/api/v1/organization/{org}/quota/{id}/limit",
            get(quota::org_limits).post(quota::org_limit_create),
        )
        .route(
            "/api/v1/organization/{org}/quota/{id}/limit/{limit}",
            get(quota::org_limit).put(quota::org_limit_update).delete(quota::org_limit_delete),
        )
        .route("/api/v1/user/quota", get(quota::user_list))
        .route("/api/v1/user/quota/{id}", get(quota::user_get))
        .route("/api/v1/user/quota/{id}/limit", get(quota::user_limits))
        .route("/api/v1/user/quota/{id}/limit/{limit}", get(quota::user_limit))
        .route(
            "/api/v1/organization/{org}/autoprunepolicy/",
            get(autoprune::org_list).post(autoprune::org_create),
        )
        .route(
            "/api/v1/organization/{org}/autoprunepolicy/{uuid}",
            get(autoprune::org_get).put(autoprune::org_update).delete(autoprune::org_delete),
        )
        .route("/api/v1/user/autoprunepolicy/", get(autoprune::user_list).post(autoprune::user_create))
        .route(
            "/api/v1/user/autoprunepolicy/{uuid}",
            get(autoprune::user_get).put(autoprune::user_update).delete(autoprune::user_delete),
        )
        .route(
            "/api/v1/repository/{ns}/{name}/autoprunepolicy/",
            get(autoprune::repo_list).post(autoprune::repo_create),
        )
        .route(
            "/api/v1/repository/{ns}/{name}/autoprunepolicy/{uuid}",
            get(autoprune::repo_get).put(autoprune::repo_update).delete(autoprune::repo_delete),
        )
        .route("/api/v1/{*rest}", any(unknown))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), origin))
        .layer(middleware::from_fn_with_state(base, error::render))
}

async fn unknown() -> Response {
    error::ApiError::url_not_found().into_response()
}

/// Where the request came from, for action logs ([`crate::http::origin`]).
async fn origin(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let o = crate::http::origin::of(&req, &state.trusted_proxies);
    req.extensions_mut().insert(o);
    next.run(req).await
}
