//! Who calls `/api/v1`, decided once per request by [`authenticate`] (a layer over every API
//! route, so no handler can forget it): an OAuth bearer token, else the browser session cookie,
//! else anonymous; HTTP Basic is ignored, as in Quay. Then the CSRF check for every non-GET
//! without a bearer token, before anything else. Handlers read the [`ApiCaller`] and the
//! [`CurrentSession`] from the request; a handler that changes the session answers a
//! [`NewSession`] and the layer sets the cookie.

use super::error::ApiError;
use crate::auth::credentials;
use crate::auth::session::{self, COOKIE, Session};
use crate::http::AppState;
use crate::ops::access::{ApiCaller, ApiUser, Via};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The session cookie's content, when the request had a valid one.
#[derive(Debug, Clone, Default)]
pub struct CurrentSession(pub Option<Session>);

/// A session to send back as the cookie.
#[derive(Debug, Clone)]
pub struct NewSession(pub Session);

/// Paths a request without a CSRF token may change (the first user of an empty database).
const CSRF_EXEMPT: &[&str] = &["/api/v1/user/initialize"];

/// Paths served whatever `FEATURE_ANONYMOUS_ACCESS` and `REGISTRY_STATE` say: signing in and
/// out, the CSRF token, the UI's configuration, and what describes the instance.
const OPEN_PATHS: &[&str] = &[
    "/csrf_token",
    "/config",
    "/api/v1/signin",
    "/api/v1/signout",
    "/api/v1/user/initialize",
    "/api/v1/user/",
    "/api/v1/discovery",
    "/api/v1/messages",
    "/api/v1/registry/capabilities",
    "/.well-known/app-capabilities",
    super::misc::LOGO_PATH,
];

/// Paths answered from the session cookie alone (no caller is looked up).
const SESSION_ONLY_PATHS: &[&str] = &["/csrf_token", "/config"];

fn has_body(req: &Request) -> bool {
    let h = req.headers();
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || h.contains_key(header::TRANSFER_ENCODING)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

pub async fn authenticate(State(ctx): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = crate::auth::jwt::now_s() as i64;
    // The web UI retries these two in a tight loop until they answer: they need the session's
    // cookie at most, never the database, so they answer while nothing else can.
    let identified = if SESSION_ONLY_PATHS.contains(&req.uri().path()) {
        Ok((ApiCaller::default(), decode_session(&ctx, req.headers(), now)))
    } else {
        identify(&ctx, req.headers(), now).await
    };
    let (caller, session) = match identified {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let oauth = matches!(caller.via, Via::OAuth { .. });
    if !safe && !oauth && !CSRF_EXEMPT.contains(&req.uri().path()) {
        let presented = csrf_presented(&req);
        let expected = session.as_ref().and_then(|s| s.csrf.as_deref());
        let ok = matches!((presented.as_deref(), expected), (Some(p), Some(e)) if session::same_token(p, e));
        if !ok {
            return ApiError::Csrf { user: caller.username().map(str::to_string) }.into_response();
        }
    }
    // A body must be JSON: a cross-site form or `text/plain` post cannot reach a handler
    // (Quay reads bodies with Flask's `get_json`).
    if !safe && has_body(&req) && !is_json(req.headers()) {
        return ApiError::bad_request().into_response();
    }
    let path = req.uri().path();
    if !OPEN_PATHS.contains(&path) {
        if caller.user.is_none() && !ctx.config.feature_anonymous_access.0 {
            return ApiError::unauthorized().into_response();
        }
        if !safe && ctx.config.read_only() {
            return ApiError::problem(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "read_only",
                "System is currently read-only. Pulls will succeed but all write operations are currently suspended.",
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(caller);
    req.extensions_mut().insert(CurrentSession(session));
    let mut resp = next.run(req).await;
    if let Some(NewSession(s)) = resp.extensions_mut().remove::<NewSession>() {
        let secure = if ctx.config.preferred_url_scheme == "https" { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            session::encode(&ctx.session_key, &s),
            ctx.config.permanent_session_lifetime
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// The caller and the session cookie's content. An unknown or invalid bearer token is
/// anonymous (Quay: the request proceeds without a user), not an error.
async fn identify(
    ctx: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<(ApiCaller, Option<Session>), ApiError> {
    let session = decode_session(ctx, headers, now);
    if let Some(token) = bearer(headers) {
        match credentials::oauth_token(&ctx.store, token).await {
            Ok(t) => {
                let uuid = ctx.store.user_uuid(t.user_id).await?.unwrap_or_default();
                let caller = ApiCaller {
                    user: Some(ApiUser { id: t.user_id, username: t.username, uuid }),
                    via: Via::OAuth {
                        token_id: t.id,
                        client_id: t.client_id,
                        application: t.application,
                        scopes: t.scope,
                    },
                };
                return Ok((caller, session));
            }
            Err(credentials::LoginError::Store(e)) => return Err(e.into()),
            Err(_) => return Ok((ApiCaller::default(), session)),
        }
    }
    let Some(s) = &session else { return Ok((ApiCaller::default(), None)) };
    let Some(uid) = &s.uid else { return Ok((ApiCaller::default(), session)) };
    let caller = match ctx.store.account_by_uuid(uid).await? {
        Some(a) if a.enabled && !a.organization && !a.robot => ApiCaller {
            user: Some(ApiUser { id: a.id, username: a.username, uuid: a.uuid }),
            via: Via::Session { login_s: s.login_s },
        },
        _ => ApiCaller::default(),
    };
    Ok((caller, session))
}

/// The session cookie's content, if it verifies and has not expired.
fn decode_session(ctx: &AppState, headers: &HeaderMap, now: i64) -> Option<Session> {
    cookie(headers, COOKIE)
        .and_then(|v| session::decode(&ctx.session_key, v, now, ctx.config.permanent_session_lifetime as i64))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// One cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The CSRF token a request presents: `X-CSRF-Token`, or the `_csrf_token` query parameter.
fn csrf_presented(req: &Request) -> Option<String> {
    if let Some(v) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "_csrf_token").map(|(_, v)| v.into_owned())
}
