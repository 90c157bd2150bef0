//! `GET /metrics`: Prometheus text format. Requests by normalised route (the route's template,
//! never a raw path: no repository names, tags or digests in labels), method and status, with
//! latency histograms (Quay's `quay_request_duration_seconds`); requests in flight; bytes
//! received and served (by `Content-Length`); and, read at scrape time, the database pool
//! (Quay's `quay_db_pooled_connections_*`), queue depth and oldest waiting item per queue, and
//! open upload sessions. The worker counts GC work in the same registry (Quay's `quay_gc_*`).

use crate::metrics::{QueueLabels, RequestLabels, RouteLabels, global};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The route template of a `/v2` path (the registry dispatches `/v2/*` itself, so axum's
/// matched path says nothing): names, tags, digests and upload ids never become labels.
pub fn v2_route(path: &str) -> &'static str {
    let rest = path.strip_prefix("/v2").unwrap_or(path);
    if rest.is_empty() || rest == "/" {
        return "/v2/";
    }
    if rest == "/auth" {
        return "/v2/auth";
    }
    if rest == "/_catalog" {
        return "/v2/_catalog";
    }
    let segs: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let n = segs.len();
    match segs.as_slice() {
        [.., "tags", "list"] if n >= 3 => "/v2/{name}/tags/list",
        [.., "manifests", _] if n >= 3 => "/v2/{name}/manifests/{reference}",
        [.., "referrers", _] if n >= 3 => "/v2/{name}/referrers/{digest}",
        [.., "blobs", "uploads", ""] | [.., "blobs", "uploads"] if n >= 3 => "/v2/{name}/blobs/uploads/",
        [.., "blobs", "uploads", _] if n >= 4 => "/v2/{name}/blobs/uploads/{uuid}",
        [.., "blobs", _] if n >= 3 => "/v2/{name}/blobs/{digest}",
        _ => "/v2/other",
    }
}

/// The route template of a request: `/v2` paths by [`v2_route`], the others by the route axum
/// matched (`other` for none).
pub fn route_of(req: &Request) -> &'static str {
    let path = req.uri().path();
    if path == "/v2" || path.starts_with("/v2/") {
        v2_route(path)
    } else {
        req.extensions().get::<MatchedPath>().map_or("other", |p| crate::metrics::intern(p.as_str()))
    }
}

fn content_length(h: &axum::http::HeaderMap) -> u64 {
    h.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// A method as a label (the standard ones; anything else is `other`).
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: times every request and counts it by route, method and status.
pub async fn record(req: Request, next: Next) -> Response {
    let m = global();
    let route = route_of(&req);
    let method = method_label(req.method());
    let received = content_length(req.headers());
    if received > 0 {
        m.received.get_or_create(&RouteLabels { route }).inc_by(received);
    }
    m.in_flight.inc();
    let started = Instant::now();
    let resp = next.run(req).await;
    m.in_flight.dec();
    // The header when a handler set it, else what the body knows of its size (a full body).
    let served = match content_length(resp.headers()) {
        0 => http_body::Body::size_hint(resp.body()).exact().unwrap_or(0),
        n => n,
    };
    if served > 0 {
        m.served.get_or_create(&RouteLabels { route }).inc_by(served);
    }
    m.requests
        .get_or_create(&RequestLabels { method, route, status: resp.status().as_u16() })
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`.
pub async fn scrape(State(ctx): State<super::AppState>) -> Response {
    let m = global();
    let (in_use, available) = ctx.store.pool_status();
    m.pool_in_use.set(in_use as i64);
    m.pool_available.set(available as i64);
    match ctx.store.queue_depths().await {
        Ok(depths) => {
            for d in depths {
                let l = QueueLabels { queue_name: d.queue };
                m.queue_available.get_or_create(&l).set(d.available);
                m.queue_locked.get_or_create(&l).set(d.locked);
                m.queue_oldest_s.get_or_create(&l).set(d.oldest_available_s);
            }
        }
        Err(e) => tracing::warn!(error = %e, "queue depths not read for /metrics"),
    }
    if let Ok(n) = ctx.store.upload_sessions_open().await {
        m.uploads_open.set(n);
    }
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, &m.registry).is_err() {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "metrics not encoded").into_response();
    }
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::v2_route;

    #[test]
    fn v2_paths_become_templates() {
        for (path, route) in [
            ("/v2/", "/v2/"),
            ("/v2", "/v2/"),
            ("/v2/auth", "/v2/auth"),
            ("/v2/_catalog", "/v2/_catalog"),
            ("/v2/acme/app/manifests/v1", "/v2/{name}/manifests/{reference}"),
            ("/v2/a/b/c/manifests/sha256:ab", "/v2/{name}/manifests/{reference}"),
            ("/v2/acme/app/blobs/sha256:ab", "/v2/{name}/blobs/{digest}"),
            ("/v2/acme/app/blobs/uploads/", "/v2/{name}/blobs/uploads/"),
            ("/v2/acme/app/blobs/uploads/5f2c", "/v2/{name}/blobs/uploads/{uuid}"),
            ("/v2/acme/app/tags/list", "/v2/{name}/tags/list"),
            ("/v2/acme/app/referrers/sha256:ab", "/v2/{name}/referrers/{digest}"),
            ("/v2/whatever", "/v2/other"),
        ] {
            assert_eq!(v2_route(path), route, "{path}");
        }
    }
}
