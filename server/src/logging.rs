//! Structured logs on stderr (`--log-format text|json`, level from `RUST_LOG`, default `info`)
//! and one log line per HTTP request.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::io::IsTerminal as _;
use std::time::Instant;
use tracing_subscriber::EnvFilter;

/// The log line format (`--log-format`).
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Log targets whose `debug` lines carry secrets: tokio-postgres prints every statement's
/// parameters (password hashes, field-encrypted tokens). They stay at `info` unless `RUST_LOG`
/// names them itself.
const QUIET_TARGETS: [&str; 1] = ["tokio_postgres"];

/// The filter for a `RUST_LOG` value (`None`: unset, `info`), with [`QUIET_TARGETS`] held at
/// `info` unless the value names them.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    // Unset: `info`, without the migration library's step-by-step lines.
    let given = rust_log.filter(|v| !v.trim().is_empty()).unwrap_or("info,refinery_core=warn");
    let mut directives = given.to_string();
    for target in QUIET_TARGETS.iter().filter(|t| !given.contains(*t)) {
        directives.push_str(&format!(",{target}=info"));
    }
    EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Sets up logging on stderr and, when `otlp` names an endpoint, trace export over OTLP
/// ([`crate::telemetry`]).
pub fn init(format: LogFormat, otlp: Option<String>) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let traces = otlp.and_then(|endpoint| match crate::telemetry::layer(&endpoint) {
        Ok(layer) => Some(layer),
        Err(e) => {
            eprintln!("warning: traces will not be exported to {endpoint}: {e:#}");
            None
        }
    });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let base = tracing_subscriber::registry().with(filter).with(traces);
    let _ = match format {
        LogFormat::Json => base.with(fmt.json().flatten_event(true)).try_init(),
        LogFormat::Text => base.with(fmt.with_ansi(std::io::stderr().is_terminal())).try_init(),
    };
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
    let route = crate::http::metrics::route_of(&req);
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
    use super::filter;

    #[test]
    fn statement_parameters_stay_out_of_debug_logs() {
        assert!(filter(Some("debug")).to_string().contains("tokio_postgres=info"));
        assert!(filter(None).to_string().contains("tokio_postgres=info"));
        let asked = filter(Some("debug,tokio_postgres=trace")).to_string();
        assert!(!asked.contains("tokio_postgres=info"), "{asked}");
    }
}
