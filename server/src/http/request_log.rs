//! One log line per failed request, written here and nowhere else: an error answer carries its
//! cause in the response's extensions ([`Cause`]), and [`log_failures`] logs it once with the
//! request's method, path and status. Handlers and error mappings never log what they answer.
//! [`log_request`] gives every request its id and span and logs the request line.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Why a request failed, for the operator (never sent to the client).
#[derive(Debug, Clone)]
pub struct Cause(pub String);

/// Logs each answer that carries a [`Cause`] or is a server error: 503 (a dependency is down)
/// and refusals with a cause as warnings, other 5xx as errors.
pub async fn log_failures(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = next.run(req).await;
    let status = resp.status();
    let cause = resp.extensions().get::<Cause>().map(|c| c.0.as_str());
    if cause.is_none() && !status.is_server_error() {
        return resp;
    }
    let cause = cause.unwrap_or("-");
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(%method, %path, status = status.as_u16(), %cause, "request failed");
    } else {
        tracing::warn!(%method, %path, status = status.as_u16(), %cause, "request refused");
    }
    resp
}

/// The header carrying a request's id, in both directions.
pub const REQUEST_ID: &str = "x-request-id";

/// The client's `X-Request-ID` when it is a plain token (1–64 of `A-Z a-z 0-9 . _ -`, as a
/// proxy in front would send), else a new UUID.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

/// Middleware (the router's outermost): gives each request an id (answered in `X-Request-ID`;
/// every log line written while handling it carries it through the `request` span, which is
/// also the request's trace span) and logs method, path (never the query string, which may
/// carry tokens), status and latency.
pub async fn log_request(req: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    let start = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    // Named by its route template: a path (with names, tags, digests) is never a span name.
    let route = super::metrics::route_of(&req);
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = route,
        http.response.status_code = tracing::field::Empty,
        request_id = %id,
    );
    crate::telemetry::adopt_parent(&span, req.headers());
    let path = req.uri().path().to_string();
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.record("http.response.status_code", resp.status().as_u16());
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    span.in_scope(|| {
        tracing::info!(
            target: "quay::http",
            %method,
            path,
            status = resp.status().as_u16(),
            ms = start.elapsed().as_secs_f64() * 1000.0,
            request_id = %id,
            "request"
        )
    });
    resp
}

#[cfg(test)]
mod tests {
    use super::log_failures;
    use crate::http::registry_error::{Code, RegistryError};
    use axum::Router;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failure_is_logged_once_with_its_request_and_cause() {
        let buf = Buffer::default();
        let writer = buf.clone();
        let subscriber =
            tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = Router::new()
            .route(
                "/fail",
                get(|| async { RegistryError::new(Code::Internal).cause("disk on fire").into_response() }),
            )
            .route(
                "/down",
                get(|| async { RegistryError::new(Code::Unavailable).cause("db gone").into_response() }),
            )
            .route("/unknown", get(|| async { RegistryError::new(Code::BlobUnknown).into_response() }))
            .route("/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(log_failures));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        for (path, status) in [("/fail", 500), ("/down", 503), ("/unknown", 404), ("/ok", 200)] {
            let resp = http.get(format!("http://{addr}{path}")).send().await.expect("send");
            assert_eq!(resp.status().as_u16(), status, "{path}");
            let body = resp.text().await.expect("body");
            assert!(!body.contains("disk on fire") && !body.contains("db gone"), "cause leaked: {body}");
        }
        let out = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf8");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].contains("ERROR") && lines[0].contains("path=/fail") && lines[0].contains("status=500")
        );
        assert!(lines[0].contains("disk on fire"), "{out}");
        assert!(lines[1].contains("WARN") && lines[1].contains("path=/down") && lines[1].contains("db gone"));
    }
}
