//! Blobs: `GET`/`HEAD /v2/<repo>/blobs/<digest>` (with single `Range` requests) and `DELETE`
//! (unsupported, as Quay: blobs go away with garbage collection).

use super::access::{self, Action, authorize};
use super::{AppState, RepoName};
use crate::http::registry_error::{Code, RegistryError};
use crate::ops::blobs::{self, Located};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

type Result<T> = std::result::Result<T, Response>;

/// A `Range` header against an object of `size` bytes: `Ok(None)` = whole object, `Ok(Some((start,
/// end_inclusive)))`, `Err(())` = not satisfiable. Only one `bytes=` range is honoured; a header
/// in another unit or with several ranges is ignored (the whole object is sent), as RFC 9110 allows.
#[allow(clippy::result_unit_err)] // `()`: the only failure is "not satisfiable"
pub fn parse_range(value: &str, size: u64) -> std::result::Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end: u64 = if b.is_empty() { size.saturating_sub(1) } else { b.parse().map_err(|_| ())? };
        if start >= size || end < start {
            return Err(());
        }
        (start, end.min(size - 1))
    };
    Ok(Some(range))
}

pub async fn get(
    state: &AppState,
    repo: &RepoName,
    digest: &str,
    req: Request,
    head: bool,
) -> Result<Response> {
    let unknown = || RegistryError::new(Code::BlobUnknown).into_response();
    let located =
        blobs::read(state, &access::caller_of(&req), repo, digest, !head).await.map_err(|e| match e {
            blobs::ReadError::Denied(d) => access::denied(state, d),
            blobs::ReadError::DigestInvalid => RegistryError::new(Code::DigestInvalid).into_response(),
            blobs::ReadError::Op(e) => RegistryError::from(e).into_response(),
        })?;
    let size = match located {
        Located::Unknown => return Err(unknown()),
        Located::Redirect(url) => {
            let mut resp = (StatusCode::FOUND, "").into_response();
            let h = resp.headers_mut();
            h.insert(
                header::LOCATION,
                HeaderValue::from_str(&url)
                    .map_err(|_| RegistryError::new(Code::Internal).into_response())?,
            );
            h.insert(
                "Docker-Content-Digest",
                HeaderValue::from_str(digest).unwrap_or(HeaderValue::from_static("")),
            );
            h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            return Ok(resp);
        }
        Located::Stored { size } => size,
    };
    let range = match req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) => parse_range(v, size).map_err(|()| {
            let mut r = (StatusCode::RANGE_NOT_SATISFIABLE, "").into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            r
        })?,
        None => None,
    };
    let (status, start, len) = match range {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e - s + 1),
        None => (StatusCode::OK, 0, size),
    };
    let body = if head {
        Body::empty()
    } else {
        let stream = state.storage.blob_read(digest, start, len).await.map_err(|e| {
            RegistryError::new(Code::Internal)
                .cause(format!("cannot read blob {digest}: {e:#}"))
                .into_response()
        })?;
        Body::from_stream(stream)
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("Docker-Content-Digest", HeaderValue::from_str(digest).unwrap_or(HeaderValue::from_static("")));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=31536000"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some((s, e)) = range {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {s}-{e}/{size}")).unwrap_or(HeaderValue::from_static("")),
        );
    }
    Ok(resp)
}

pub async fn delete(state: &AppState, repo: &RepoName, _digest: &str, req: Request) -> Result<Response> {
    authorize(state, access::caller_of(&req), repo, Action::Push).await?;
    Err(RegistryError::new(Code::Unsupported).into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("bytes=x-2", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }
}
