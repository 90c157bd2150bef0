//! Accounts: the CSRF token, sign-in and sign-out, the signed-in user, public profiles, the first
//! user of an empty database, and superusers' user management.

use super::auth::{CurrentSession, NewSession};
use super::error::ApiError;
use super::input::{self, Kind};
use super::views;
use crate::auth::session::{self, Session};
use crate::http::AppState;
use crate::ops::Refused;
use crate::ops::access::ApiCaller;
use crate::ops::log_entry::Origin;
use crate::ops::users;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use quay_core::rules::Rule;
use serde_json::{Value, json};

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn now() -> i64 {
    crate::auth::jwt::now_s() as i64
}

/// An answer that also signs `user` in: a new session (and CSRF token, sent in
/// `X-Next-CSRF-Token`, so the old one stops working).
fn signed_in(mut resp: Response, uuid: String) -> Response {
    let t = now();
    let csrf = session::new_csrf_token();
    if let Ok(v) = csrf.parse() {
        resp.headers_mut().insert("x-next-csrf-token", v);
    }
    resp.extensions_mut().insert(NewSession(Session {
        uid: Some(uuid),
        csrf: Some(csrf),
        login_s: Some(t),
        iat_s: t,
    }));
    resp
}

/// `GET /csrf_token`: the session's CSRF token, creating the session or token when missing.
pub async fn csrf_token(Extension(CurrentSession(current)): Extension<CurrentSession>) -> Response {
    let mut s = current.unwrap_or_else(|| Session { iat_s: now(), ..Session::default() });
    let created = s.csrf.is_none();
    let token = s.csrf.get_or_insert_with(session::new_csrf_token).clone();
    let mut resp = ok(json!({ "csrf_token": token }));
    if created {
        resp.extensions_mut().insert(NewSession(s));
    }
    resp
}

/// `POST /api/v1/signin {username, password}`.
pub async fn signin(
    State(ctx): State<AppState>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !ctx.config.feature_direct_login.0 {
        return Err(ApiError::url_not_found());
    }
    let body = input::body(&body)?;
    input::check(
        &body,
        &["username", "password"],
        &[("username", Kind::String), ("password", Kind::String)],
    )?;
    let (u, p) =
        (input::str_of(&body, "username").unwrap_or(""), input::str_of(&body, "password").unwrap_or(""));
    match users::signin(&ctx, &origin, u, p).await {
        Ok(user) => Ok(signed_in(ok(json!({"success": true})), user.uuid)),
        Err(Refused::Denied(_)) => Err(ApiError::InvalidCredentials),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/signout`: an empty session with a new CSRF token.
pub async fn signout() -> Response {
    let mut resp = ok(json!({"success": true}));
    let s = Session { csrf: Some(session::new_csrf_token()), iat_s: now(), ..Session::default() };
    resp.extensions_mut().insert(NewSession(s));
    resp
}

/// `GET /api/v1/user/`.
pub async fn current_user(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    match users::current(&ctx, &caller).await {
        Ok((account, orgs)) => Ok(ok(views::current_user(&ctx, &account, &orgs))),
        // Quay adds `session_required` to this route's 401.
        Err(Refused::Denied(_)) => Err(ApiError::unauthorized().with("session_required", json!(false))),
        Err(e) => Err(e.into()),
    }
}

/// `GET /api/v1/users/{name}`.
pub async fn profile(State(ctx): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    match users::profile(&ctx, &name).await {
        Ok(a) => Ok(ok(views::public_profile(&a))),
        Err(Refused::NotFound) => Err(ApiError::url_not_found()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/user/initialize {username, password, email, access_token}`.
pub async fn initialize(State(ctx): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if !ctx.config.feature_user_initialize.0 {
        return Err(ApiError::url_not_found());
    }
    let body = input::body(&body)?;
    input::check(
        &body,
        &["username", "password"],
        &[
            ("username", Kind::String),
            ("password", Kind::String),
            ("email", Kind::String),
            ("access_token", Kind::Boolean),
        ],
    )?;
    let username = input::str_of(&body, "username").unwrap_or("");
    let password = input::str_of(&body, "password").unwrap_or("");
    let email = input::str_of(&body, "email");
    let want_token = body.get("access_token").and_then(Value::as_bool).unwrap_or(false);
    let (account, token) = match users::initialize(&ctx, username, password, email, want_token).await {
        Ok(done) => done,
        Err(Refused::Rule { code: Rule::DatabaseNotEmpty, message }) => {
            return Err(ApiError::message(StatusCode::BAD_REQUEST, message));
        }
        Err(Refused::Rule { message, .. }) | Err(Refused::Invalid(message)) => {
            return Err(ApiError::message(StatusCode::BAD_REQUEST, message));
        }
        Err(e) => return Err(e.into()),
    };
    let mut v = json!({
        "username": account.username,
        "email": account.email,
        "encrypted_password": users::encrypted_password(&ctx, password),
    });
    if let Some(t) = token {
        v["access_token"] = json!(t);
    }
    Ok(signed_in(ok(v), account.uuid))
}

/// `GET /api/v1/superuser/users/?limit&next_page`: people in id order; `next_page` (only with a
/// `limit`) while more follow.
pub async fn superuser_list(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    caller.require_superuser(&ctx)?;
    let limit = match input::query(&uri, "limit") {
        Some(l) => Some(l.parse::<i64>().map_err(|_| ApiError::bad_request())?),
        None => None,
    };
    if limit.is_some_and(|l| l > 100) {
        return Err(ApiError::invalid("Page limit cannot be above 100"));
    }
    let after = input::query(&uri, "next_page")
        .and_then(|t| session::open(&ctx.session_key, &t))
        .and_then(|v| v["after"].as_i64())
        .unwrap_or(0);
    let want = limit.map_or(i64::MAX / 2, |l| l.max(1));
    let mut people = users::list_people(&ctx, &caller, after, want + 1).await?;
    let more = people.len() as i64 > want;
    people.truncate(usize::try_from(want).unwrap_or(usize::MAX));
    let mut v = json!({ "users": people.iter().map(|a| views::superuser_user(&ctx, a)).collect::<Vec<_>>() });
    if limit.is_some()
        && more
        && let Some(last) = people.last()
    {
        v["next_page"] = json!(session::seal(&ctx.session_key, &json!({"after": last.id})));
    }
    Ok(ok(v))
}

/// `GET /api/v1/superuser/users/{name}`.
pub async fn superuser_get(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let a = users::get_person(&ctx, &caller, &name).await?;
    Ok(ok(views::superuser_user(&ctx, &a)))
}

/// `POST /api/v1/superuser/users/ {username, email}`: a person with a generated password.
pub async fn superuser_create(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require_superuser(&ctx)?;
    let body = input::body(&body)?;
    input::check(&body, &["username"], &[("username", Kind::String), ("email", Kind::String)])?;
    let username = input::str_of(&body, "username").unwrap_or("");
    let email = input::str_of(&body, "email");
    match users::create_person(&ctx, &caller, &origin, username, email).await {
        Ok((a, password)) => Ok(ok(json!({
            "username": a.username,
            "email": a.email,
            "password": password,
            "encrypted_password": users::encrypted_password(&ctx, &password),
        }))),
        Err(Refused::Rule { message, .. }) => Err(ApiError::message(StatusCode::BAD_REQUEST, message)),
        Err(e) => Err(e.into()),
    }
}

/// `PUT /api/v1/superuser/users/{name} {password}`.
pub async fn superuser_update(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require_superuser(&ctx)?;
    let body = input::body(&body)?;
    input::check(&body, &[], &[("password", Kind::String)])?;
    let Some(password) = input::str_of(&body, "password") else {
        let a = users::get_person(&ctx, &caller, &name).await?;
        return Ok(ok(views::superuser_user(&ctx, &a)));
    };
    let a = users::set_password(&ctx, &caller, &origin, &name, password).await?;
    let mut v = views::superuser_user(&ctx, &a);
    v["encrypted_password"] = json!(users::encrypted_password(&ctx, password));
    Ok(ok(v))
}

/// `DELETE /api/v1/superuser/users/{name}` → 204.
pub async fn superuser_delete(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    users::delete_person(&ctx, &caller, &name).await?;
    Ok(views::no_content())
}

/// `PUT /api/v1/user/`: the signed-in person's own account: invoicing, e-mail, the
/// time-machine window and, with `FEATURE_USER_METADATA`, names, company and location, in one
/// transaction, then `password` (a browser session is renewed: the old one ends with the
/// password change). `username` is ignored (Quay without `FEATURE_USER_RENAME`). Answers the user view.
pub async fn update_current(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.signed_in()?;
    let body = input::body(&body)?;
    input::check(
        &body,
        &[],
        &[
            ("password", Kind::String),
            ("invoice_email", Kind::Boolean),
            ("email", Kind::String),
            ("tag_expiration_s", Kind::Integer),
            ("username", Kind::String),
        ],
    )?;
    if body["tag_expiration_s"].as_i64().is_some_and(|s| s < 0) {
        return Err(ApiError::invalid(format!("{} is less than the minimum of 0", body["tag_expiration_s"])));
    }
    let mut changes = quay_core::users::PersonChanges {
        email: input::str_of(&body, "email").map(str::to_string),
        invoice_email: body["invoice_email"].as_bool(),
        invoice_email_address: body
            .get("invoice_email_address")
            .map(|v| v.as_str().unwrap_or("").to_string()),
        tag_expiration_s: body["tag_expiration_s"].as_i64(),
        ..Default::default()
    };
    for field in quay_core::users::METADATA_FIELDS {
        if let Some(v) = body.get(field) {
            if !(v.is_string() || v.is_null()) {
                return Err(ApiError::invalid(format!(
                    "{} is not of type 'string', 'null'",
                    input::py_repr(v)
                )));
            }
            changes.metadata.insert(field.to_string(), v.clone());
        }
    }
    // The password's rule first, then the other changes (one transaction), then the password:
    // a refused change leaves the password as it was, and a changed password always answers
    // with the new session.
    let password = input::str_of(&body, "password");
    if let Some(pw) = password {
        crate::auth::password::check_policy(pw)
            .map_err(|m| ApiError::invalid(format!("Invalid password: {m}")))?;
    }
    let mut account = match users::change_own_account(&ctx, &caller, &origin, changes).await {
        Err(Refused::Rule { code: quay_core::rules::Rule::InvalidArgument, message })
            if message == "Invalid tag expiration option" =>
        {
            return Err(ApiError::message(axum::http::StatusCode::BAD_REQUEST, message));
        }
        r => r?,
    };
    let password_changed = password.is_some();
    if let Some(pw) = password {
        account = users::change_own_password(&ctx, &caller, &origin, pw).await?;
    }
    let orgs = ctx.store.user_organizations(account.id).await?;
    let resp = ok(views::current_user(&ctx, &account, &orgs));
    Ok(match caller.via {
        crate::ops::access::Via::Session { .. } if password_changed => signed_in(resp, account.uuid),
        _ => resp,
    })
}

/// `DELETE /api/v1/user/` → 204; the only admin of an organization gets Quay's 400 message.
pub async fn delete_current(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Extension(origin): Extension<Origin>,
) -> Result<Response, ApiError> {
    match users::delete_own(&ctx, &caller, &origin).await {
        Ok(()) => Ok(views::no_content()),
        Err(Refused::Rule { code: Rule::NamespaceLastAdmin, message }) => {
            Err(ApiError::message(StatusCode::BAD_REQUEST, message))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/v1/user/ {username, password, email?}`: a new account, signed in at once (no
/// mailing, so nothing awaits verification) → 200 with the user view.
pub async fn create_current(
    State(ctx): State<AppState>,
    Extension(origin): Extension<Origin>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(
        &body,
        &["username", "password"],
        &[("username", Kind::String), ("password", Kind::String), ("email", Kind::String)],
    )?;
    let (u, p) =
        (input::str_of(&body, "username").unwrap_or(""), input::str_of(&body, "password").unwrap_or(""));
    let account = match users::create_own(&ctx, &origin, u, p, input::str_of(&body, "email")).await {
        Err(Refused::NotFound) => return Err(ApiError::url_not_found()),
        r => r?,
    };
    let orgs = ctx.store.user_organizations(account.id).await?;
    Ok(signed_in(ok(views::current_user(&ctx, &account, &orgs)), account.uuid))
}

fn inbox_view(n: &crate::store::inbox::InboxItem) -> Value {
    json!({
        "created": views::rfc2822_naive(n.created.as_deref()),
        "dismissed": n.dismissed,
        "id": n.uuid,
        "kind": n.kind,
        "metadata": serde_json::from_str::<Value>(&n.metadata_json).unwrap_or_else(|_| json!({})),
        "organization": n.organization,
    })
}

/// An integer query parameter (Flask's bare 400 when it is not one).
fn int_param(uri: &Uri, key: &str, default: i64) -> Result<i64, ApiError> {
    match input::query(uri, key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ApiError::bad_request()),
    }
}

/// `GET /api/v1/user/notifications[?page&limit]` → `{notifications, additional}`.
pub async fn notifications(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let (page, limit) = (int_param(&uri, "page", 0)?, int_param(&uri, "limit", 5)?);
    let (items, more) = users::inbox(&ctx, &caller, page, limit).await?;
    Ok(axum::Json(json!({
        "additional": more,
        "notifications": items.iter().map(inbox_view).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/user/notifications/{uuid}`.
pub async fn notification(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    let n = users::inbox_item(&ctx, &caller, &uuid).await?;
    Ok(axum::Json(inbox_view(&n)).into_response())
}

/// `PUT /api/v1/user/notifications/{uuid} {dismissed}` → the notification.
pub async fn dismiss_notification(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = input::body(&body)?;
    input::check(&body, &[], &[("dismissed", Kind::Boolean)])?;
    let dismissed = body.get("dismissed").and_then(Value::as_bool).unwrap_or(false);
    let n = users::inbox_dismiss(&ctx, &caller, &uuid, dismissed).await?;
    Ok(axum::Json(inbox_view(&n)).into_response())
}

/// `GET /api/v1/user/authorizations` → `{authorizations: [{application, scopes, uuid}]}`.
pub async fn authorizations(
    State(ctx): State<AppState>,
    Extension(caller): Extension<ApiCaller>,
) -> Result<Response, ApiError> {
    let list = users::authorizations(&ctx, &caller).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|a| {
            let avatar_source = a.avatar_email.as_deref().unwrap_or(&a.organization_email);
            json!({
                "application": {
                    "avatar": views::avatar(&a.application, Some(avatar_source), "app"),
                    "description": a.description,
                    "name": a.application,
                    "organization": {
                        "avatar": views::avatar(&a.organization, Some(&a.organization_email), "org"),
                        "name": a.organization,
                    },
                    "url": a.uri,
                },
                "scopes": views::scope_information(&a.scope),
                "uuid": a.uuid,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "authorizations": items })).into_response())
}
