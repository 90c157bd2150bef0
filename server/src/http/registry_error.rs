//! Registry errors in the OCI distribution JSON format: `{"errors":[{"code","message","detail"}]}`.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OCI error code with its HTTP status and Quay's default message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthorized,
    Denied,
    Unsupported,
}

impl Code {
    pub fn parts(self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Code::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "access to the requested resource is not authorized",
            ),
            Code::Denied => (StatusCode::FORBIDDEN, "DENIED", "requested access to the resource is denied"),
            Code::Unsupported => {
                (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "The operation is unsupported.")
            }
        }
    }
}

pub struct RegistryError {
    pub code: Code,
    pub message: Option<String>,
    pub headers: HeaderMap,
}

impl RegistryError {
    pub fn new(code: Code) -> Self {
        RegistryError { code, message: None, headers: HeaderMap::new() }
    }
    pub fn with_header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let (status, code, default) = self.code.parts();
        let body = json!({"errors": [{"code": code, "message": self.message.as_deref().unwrap_or(default), "detail": {}}]});
        let mut resp = (status, Json(body)).into_response();
        resp.headers_mut().extend(self.headers);
        resp
    }
}
