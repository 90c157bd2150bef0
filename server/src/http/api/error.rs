//! `/api/v1` errors in Quay's formats, rendered in one place:
//! - a *problem* (`{detail, error_message, error_type, status, title, type}`, `type` =
//!   `<PREFERRED_URL_SCHEME>://<SERVER_HOSTNAME>/api/v1/error/<error_type>`), Quay's
//!   `ApiException`s;
//! - a *message* (`{"message": ...}`), Quay's bare `abort(status, message=...)`;
//! - the CSRF refusal (JSON sent as `text/html`, as Quay's `abort` does) and the sign-in refusal.
//!
//! A problem needs the server's base URL, which a handler does not hold: [`ApiError`] answers
//! carry it as a [`PendingProblem`] extension and [`render`] (middleware over the API routes)
//! writes the body.

use crate::http::registry_error::RETRY_AFTER_S;
use crate::http::request_log::Cause;
use crate::ops::Refused;
use crate::ops::access::ApiDenied;
use crate::store::StoreError;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub enum ApiError {
    Problem {
        status: StatusCode,
        error_type: &'static str,
        detail: String,
        extra: Option<(&'static str, Value)>,
    },
    Message {
        status: StatusCode,
        message: String,
    },
    Csrf {
        user: Option<String>,
    },
    InvalidCredentials,
    /// Quay's login back-off: 429, plain text, `Retry-After`.
    TooManyAttempts(u64),
    /// 500 (or 503 when the database is unreachable) with the cause kept for the log.
    Failed {
        unavailable: bool,
        cause: String,
    },
}

impl ApiError {
    pub fn problem(status: StatusCode, error_type: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Problem { status, error_type, detail: detail.into(), extra: None }
    }
    /// 400 `invalid_request` with a handler's text (or a JSON-schema error's first line).
    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::problem(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }
    pub fn not_found() -> ApiError {
        ApiError::problem(StatusCode::NOT_FOUND, "not_found", "Not Found")
    }
    pub fn unauthorized() -> ApiError {
        ApiError::problem(StatusCode::UNAUTHORIZED, "invalid_token", "Requires authentication")
    }
    pub fn forbidden() -> ApiError {
        ApiError::problem(StatusCode::FORBIDDEN, "insufficient_scope", "Unauthorized")
    }
    pub fn message(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::Message { status, message: message.into() }
    }
    /// Flask's bare 400 (a body that does not parse, a bad query value).
    pub fn bad_request() -> ApiError {
        ApiError::message(
            StatusCode::BAD_REQUEST,
            "The browser (or proxy) sent a request that this server could not understand.",
        )
    }
    /// Flask's 404 for a route or object the web layer does not know.
    pub fn url_not_found() -> ApiError {
        ApiError::message(
            StatusCode::NOT_FOUND,
            "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
        )
    }
    pub fn with(self, key: &'static str, value: Value) -> ApiError {
        match self {
            ApiError::Problem { status, error_type, detail, .. } => {
                ApiError::Problem { status, error_type, detail, extra: Some((key, value)) }
            }
            other => other,
        }
    }
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Failed { unavailable: false, cause: cause.to_string() }
    }
}

impl From<ApiDenied> for ApiError {
    fn from(d: ApiDenied) -> Self {
        match d {
            ApiDenied::Anonymous => ApiError::unauthorized(),
            ApiDenied::Forbidden => ApiError::forbidden(),
            ApiDenied::NotFresh => {
                ApiError::problem(StatusCode::UNAUTHORIZED, "fresh_login_required", "Requires fresh login")
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule { message, .. } => ApiError::invalid(message),
            StoreError::Unreachable { .. } => ApiError::Failed { unavailable: true, cause: e.to_string() },
            e => ApiError::internal(format!("store: {e}")),
        }
    }
}

/// The default rendering of an operation's refusal; routes that answer one case differently
/// (a message instead of a problem) match it first.
impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Denied(d) => d.into(),
            Refused::NotFound => ApiError::not_found(),
            Refused::Invalid(m) => ApiError::invalid(m),
            Refused::Rule { message, .. } => ApiError::invalid(message),
            Refused::TooManyAttempts(s) => ApiError::TooManyAttempts(s),
            Refused::Store(e) => e.into(),
            Refused::Other(e) => ApiError::internal(format!("{e:#}")),
        }
    }
}

/// A problem waiting for [`render`] to write its body.
#[derive(Debug, Clone)]
pub struct PendingProblem {
    error_type: &'static str,
    detail: String,
    extra: Option<(&'static str, Value)>,
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Problem { status, error_type, detail, extra } => {
                let mut resp = status.into_response();
                resp.extensions_mut().insert(PendingProblem { error_type, detail, extra });
                resp
            }
            ApiError::Message { status, message } => json_response(status, &json!({ "message": message })),
            ApiError::Csrf { user } => {
                let suffix = user.map(|u| format!(" (authorized: user {u})")).unwrap_or_default();
                let body = json!({ "error": format!("CSRF token was invalid or missing.{suffix}") });
                // Quay's `abort` answers JSON labelled as HTML; its text is `json.dumps` spacing.
                let text = format!("{{\"error\": {}}}", body["error"]);
                (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], text)
                    .into_response()
            }
            ApiError::InvalidCredentials => json_response(
                StatusCode::FORBIDDEN,
                &json!({"invalidCredentials": true, "message": "Invalid Username or Password", "needsEmailVerification": false}),
            ),
            ApiError::TooManyAttempts(retry_after_s) => (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
                    (header::RETRY_AFTER, retry_after_s.to_string()),
                ],
                "Too many login attempts. \nPlease reset your Quay password and try again.",
            )
                .into_response(),
            ApiError::Failed { unavailable, cause } => {
                let (status, error_type, detail) = if unavailable {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "service_unavailable",
                        "The database is unavailable; retry shortly",
                    )
                } else {
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Internal server error")
                };
                let mut resp = ApiError::problem(status, error_type, detail).into_response();
                if unavailable {
                    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
                }
                resp.extensions_mut().insert(Cause(cause));
                resp
            }
        }
    }
}

/// Writes the body of every [`PendingProblem`] answer with this server's base URL.
pub async fn render(State(base): State<std::sync::Arc<str>>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let Some(p) = resp.extensions_mut().remove::<PendingProblem>() else { return resp };
    let status = resp.status();
    let mut body = json!({
        "detail": p.detail,
        "error_message": p.detail,
        "error_type": p.error_type,
        "status": status.as_u16(),
        "title": p.error_type,
        "type": format!("{base}/api/v1/error/{}", p.error_type),
    });
    if let Some((k, v)) = p.extra {
        body[k] = v;
    }
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}
