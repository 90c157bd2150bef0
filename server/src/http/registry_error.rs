//! Registry errors in the OCI distribution JSON format: `{"errors":[{"code","message","detail"}]}`,
//! with the spec's codes and statuses (quay-http-surface.md §1.4).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An OCI error code with its HTTP status and Quay's default message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    TagInvalid,
    TagImmutable,
    Unauthorized,
    Denied,
    Unsupported,
    InvalidRequest,
    RangeInvalid,
    TooLarge,
    /// A server-side failure (500); details go to the log only.
    Internal,
    /// The database cannot be reached (503 with `Retry-After`): distribution's `UNAVAILABLE`.
    Unavailable,
    /// Blob storage has no space left (507): the write was abandoned and nothing of it kept.
    StorageFull,
}

impl Code {
    pub fn parts(self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Code::BlobUnknown => (S::NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry"),
            Code::BlobUploadInvalid => (S::BAD_REQUEST, "BLOB_UPLOAD_INVALID", "blob upload invalid"),
            Code::BlobUploadUnknown => {
                (S::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            }
            Code::DigestInvalid => {
                (S::BAD_REQUEST, "DIGEST_INVALID", "provided digest did not match uploaded content")
            }
            Code::ManifestBlobUnknown => (
                S::BAD_REQUEST,
                "MANIFEST_BLOB_UNKNOWN",
                "manifest references a manifest or blob unknown to registry",
            ),
            Code::ManifestInvalid => (S::BAD_REQUEST, "MANIFEST_INVALID", "manifest invalid"),
            Code::ManifestUnknown => (S::NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown"),
            Code::NameInvalid => (S::BAD_REQUEST, "NAME_INVALID", "invalid repository name"),
            Code::NameUnknown => (S::NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry"),
            Code::SizeInvalid => {
                (S::BAD_REQUEST, "SIZE_INVALID", "provided length did not match content length")
            }
            Code::TagInvalid => (S::BAD_REQUEST, "TAG_INVALID", "manifest tag did not match URI"),
            Code::TagImmutable => {
                (S::CONFLICT, "TAG_IMMUTABLE", "tag is immutable and cannot be overwritten")
            }
            Code::Unauthorized => {
                (S::UNAUTHORIZED, "UNAUTHORIZED", "access to the requested resource is not authorized")
            }
            Code::Denied => (S::FORBIDDEN, "DENIED", "requested access to the resource is denied"),
            Code::Unsupported => (S::METHOD_NOT_ALLOWED, "UNSUPPORTED", "The operation is unsupported."),
            Code::InvalidRequest => (S::BAD_REQUEST, "INVALID_REQUEST", "Invalid request"),
            Code::RangeInvalid => {
                (S::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", "requested range is not satisfiable")
            }
            Code::Internal => (S::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error; see the server log"),
            Code::Unavailable => (S::SERVICE_UNAVAILABLE, "UNAVAILABLE", "service unavailable; retry later"),
            Code::StorageFull => (
                S::INSUFFICIENT_STORAGE,
                "UNKNOWN",
                "blob storage has no space left; the data of this request was not kept",
            ),
            Code::TooLarge => {
                (S::PAYLOAD_TOO_LARGE, "SIZE_INVALID", "content exceeds the configured maximum size")
            }
        }
    }
}

pub struct RegistryError {
    pub code: Code,
    pub status: Option<StatusCode>,
    pub message: Option<String>,
    pub detail: serde_json::Value,
    pub headers: HeaderMap,
    /// Quay's `is_readonly: true` in the error object (read-only mode).
    pub readonly: bool,
    /// What went wrong, for the log ([`super::request_log`]); never in the body.
    pub cause: Option<String>,
}

impl RegistryError {
    pub fn new(code: Code) -> Self {
        RegistryError {
            code,
            status: None,
            message: None,
            detail: json!({}),
            headers: HeaderMap::new(),
            readonly: false,
            cause: None,
        }
    }
    /// With a message in `detail` (`{"message": …}`, as Quay).
    pub fn detail(code: Code, message: impl Into<String>) -> Self {
        let mut e = Self::new(code);
        e.detail = json!({"message": message.into()});
        e
    }
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
    pub fn status(mut self, s: StatusCode) -> Self {
        self.status = Some(s);
        self
    }
    /// Quay's answer to a write while `REGISTRY_STATE: readonly`: 405 DENIED, `is_readonly`.
    pub fn read_only() -> Self {
        let mut e = Self::new(Code::Denied)
            .status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
            .message("System is currently read-only. Pulls will succeed but all write operations are currently suspended.");
        e.readonly = true;
        e
    }
    /// Records why, for the one log line of this request.
    pub fn cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }
    pub fn with_header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

impl std::fmt::Debug for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {:?} {}", self.code, self.message, self.detail)
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let (status, code, default) = self.code.parts();
        let mut error = json!({"code": code, "message": self.message.as_deref().unwrap_or(default), "detail": self.detail});
        if self.readonly {
            error["is_readonly"] = json!(true);
        }
        let body = json!({ "errors": [error] });
        let mut resp = (self.status.unwrap_or(status), Json(body)).into_response();
        resp.headers_mut().extend(self.headers);
        if let Some(cause) = self.cause {
            resp.extensions_mut().insert(super::request_log::Cause(cause));
        }
        resp
    }
}

/// Seconds a client is asked to wait while the database is unreachable.
pub const RETRY_AFTER_S: u32 = 5;

/// Quay's message when a push would pass the namespace's quota (403 DENIED).
pub const QUOTA_EXCEEDED: &str = "Quota has been exceeded on namespace";

/// The OCI error of a rule the core refused with: the one mapping from `quay_core::rules::Rule`
/// to `/v2` errors (a route with a more precise answer for one rule matches it first).
fn rule_error(rule: quay_core::rules::Rule, message: String) -> RegistryError {
    use quay_core::rules::Rule as R;
    let code = match rule {
        R::DigestInvalid => Code::DigestInvalid,
        R::MediaTypeUnsupported => {
            return RegistryError::detail(Code::ManifestInvalid, message)
                .status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        R::ManifestInvalid | R::MediaTypeMismatch | R::MediaTypeUnknown => Code::ManifestInvalid,
        R::BlobUnknown => Code::ManifestBlobUnknown,
        R::ManifestUnknown | R::TagUnknown => Code::ManifestUnknown,
        R::UploadChanged => Code::BlobUploadUnknown,
        R::TagImmutable => Code::TagImmutable,
        R::TagNameInvalid => Code::TagInvalid,
        R::NameInvalid => Code::NameInvalid,
        R::RepositoryUnknown | R::NamespaceUnknown => Code::NameUnknown,
        R::PermissionDenied | R::NamespaceDisabled | R::RepositoryNotWritable => Code::Denied,
        R::QuotaExceeded => {
            return RegistryError::detail(Code::Denied, message).message(QUOTA_EXCEEDED);
        }
        R::InvalidArgument
        | R::DatabaseNotEmpty
        | R::EmailTaken
        | R::UserUnknown
        | R::TeamNameInvalid
        | R::TeamUnknown
        | R::PermissionUnknown
        | R::PrototypeUnknown
        | R::PolicyUnknown
        | R::ApplicationUnknown
        | R::LabelUnknown
        | R::NotificationUnknown
        | R::TokenUnknown
        | R::RobotExists
        | R::RobotUnknown
        | R::NamespaceExists
        | R::NamespaceLastAdmin
        | R::NamespaceNotMarked
        | R::QueueNameInvalid
        | R::RepositoryNotMarked
        | R::StorageLocationUnknown
        | R::TagNotRestorable
        | R::QuotaExists
        | R::QuotaLimitExists
        | R::QuotaUnknown => {
            return RegistryError::new(Code::Internal).cause(format!("rule {rule} refused: {message}"));
        }
    };
    RegistryError::detail(code, message)
}

impl From<crate::store::StoreError> for RegistryError {
    fn from(e: crate::store::StoreError) -> Self {
        if let crate::store::StoreError::Rule { code, message } = e {
            return rule_error(code, message);
        }
        if matches!(e, crate::store::StoreError::Unreachable { .. }) {
            return RegistryError::new(Code::Unavailable)
                .with_header("retry-after", HeaderValue::from(RETRY_AFTER_S))
                .cause(e);
        }
        RegistryError::new(Code::Internal).cause(format!("store: {e}"))
    }
}

impl From<crate::ops::OpError> for RegistryError {
    fn from(e: crate::ops::OpError) -> Self {
        match e {
            crate::ops::OpError::Store(e) => e.into(),
            crate::ops::OpError::Storage(e) if storage_full(&e) => {
                RegistryError::new(Code::StorageFull).cause(format!("blob storage: {e:#}"))
            }
            crate::ops::OpError::Storage(e)
                if e.chain().any(|c| c.is::<crate::storage::StorageUnavailable>()) =>
            {
                RegistryError::detail(Code::Unavailable, "blob storage is unavailable; retry later")
                    .with_header("retry-after", HeaderValue::from(RETRY_AFTER_S))
                    .cause(format!("blob storage: {e:#}"))
            }
            crate::ops::OpError::Storage(e) => {
                RegistryError::new(Code::Internal).cause(format!("blob storage: {e:#}"))
            }
        }
    }
}

/// Whether a storage failure is a full filesystem (ENOSPC, or a disk quota), anywhere in its
/// chain of causes.
fn storage_full(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(io.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
        })
    })
}
