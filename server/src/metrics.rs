//! The process's metrics (Prometheus), shared by the HTTP tier (`http::metrics`: requests,
//! `/metrics`) and the worker (GC work). Names follow Quay's where Quay exports the same measure
//! (`quay_request_duration_seconds`, `quay_db_pooled_connections_*`, `quay_gc_*`,
//! `quay_queue_items_*`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue_name: String,
}

pub type Histograms = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

/// Every metric of the process.
pub struct Metrics {
    pub registry: Registry,
    pub requests: Histograms,
    pub in_flight: Gauge,
    pub received: Family<RouteLabels, Counter>,
    pub served: Family<RouteLabels, Counter>,
    pub pool_in_use: Gauge,
    pub pool_available: Gauge,
    /// Time spent waiting for a pooled database connection, and failures to get one.
    pub pool_wait: Histogram,
    pub pool_errors: Counter,
    pub queue_available: Family<QueueLabels, Gauge>,
    pub queue_locked: Family<QueueLabels, Gauge>,
    pub queue_oldest_s: Family<QueueLabels, Gauge>,
    pub uploads_open: Gauge,
    /// Worker GC passes, repositories and namespaces purged, blobs deleted (Quay's names).
    pub gc_iterations: Counter,
    pub gc_repos_purged: Counter,
    pub gc_namespaces_purged: Counter,
    pub gc_storage_blobs_deleted: Counter,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests: Histograms = Family::new_with_constructor(latency_histogram);
        registry.register(
            "quay_request_duration_seconds",
            "seconds taken to process a request",
            requests.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("quay_http_requests_in_flight", "requests being served", in_flight.clone());
        let received = Family::<RouteLabels, Counter>::default();
        registry.register(
            "quay_http_request_bytes",
            "request body bytes received (by Content-Length)",
            received.clone(),
        );
        let served = Family::<RouteLabels, Counter>::default();
        registry.register(
            "quay_http_response_bytes",
            "response body bytes served (by Content-Length)",
            served.clone(),
        );
        let pool_in_use = Gauge::default();
        registry.register(
            "quay_db_pooled_connections_in_use",
            "number of pooled db connections in use",
            pool_in_use.clone(),
        );
        let pool_available = Gauge::default();
        registry.register(
            "quay_db_pooled_connections_available",
            "number of pooled db connections available",
            pool_available.clone(),
        );
        let pool_wait = Histogram::new([0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]);
        registry.register(
            "quay_db_pool_wait_seconds",
            "time spent waiting for a pooled db connection",
            pool_wait.clone(),
        );
        let pool_errors = Counter::default();
        registry.register(
            "quay_db_pool_errors",
            "failures to get a pooled db connection (database unreachable, pool timeout)",
            pool_errors.clone(),
        );
        let queue_available = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "quay_queue_items_available",
            "queue items waiting to be claimed",
            queue_available.clone(),
        );
        let queue_locked = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "quay_queue_items_locked",
            "queue items being worked on (leased)",
            queue_locked.clone(),
        );
        let queue_oldest_s = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "quay_queue_oldest_available_age_seconds",
            "age of the oldest item waiting to be claimed",
            queue_oldest_s.clone(),
        );
        let uploads_open = Gauge::default();
        registry.register(
            "quay_upload_sessions_open",
            "blob upload sessions not finished",
            uploads_open.clone(),
        );
        let gc_iterations = Counter::default();
        registry.register(
            "quay_gc_iterations",
            "number of iterations by the GC worker",
            gc_iterations.clone(),
        );
        let gc_repos_purged = Counter::default();
        registry.register("quay_gc_repos_purged", "number of repositories purged", gc_repos_purged.clone());
        let gc_namespaces_purged = Counter::default();
        registry.register(
            "quay_gc_namespaces_purged",
            "number of namespaces purged",
            gc_namespaces_purged.clone(),
        );
        let gc_storage_blobs_deleted = Counter::default();
        registry.register(
            "quay_gc_storage_blobs_deleted",
            "number of storage blobs deleted",
            gc_storage_blobs_deleted.clone(),
        );
        Metrics {
            registry,
            requests,
            in_flight,
            received,
            served,
            pool_in_use,
            pool_available,
            pool_wait,
            pool_errors,
            queue_available,
            queue_locked,
            queue_oldest_s,
            uploads_open,
            gc_iterations,
            gc_repos_purged,
            gc_namespaces_purged,
            gc_storage_blobs_deleted,
        }
    }
}

/// Counts a pooled-connection get: how long it waited, and whether it failed.
pub fn pool_get<T, E>(started: std::time::Instant, result: &Result<T, E>) {
    let m = global();
    m.pool_wait.observe(started.elapsed().as_secs_f64());
    if result.is_err() {
        m.pool_errors.inc();
    }
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// A route template as a `&'static str` label: the set of templates is the router's (bounded),
/// so each is stored once and requests allocate nothing for their labels.
pub fn intern(route: &str) -> &'static str {
    static SEEN: OnceLock<std::sync::RwLock<std::collections::HashSet<&'static str>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(r) = seen.read().ok().and_then(|s| s.get(route).copied()) {
        return r;
    }
    let mut w = match seen.write() {
        Ok(w) => w,
        Err(_) => return "other",
    };
    if let Some(r) = w.get(route).copied() {
        return r;
    }
    // Bounded by the router's templates; a runaway set would mean a bug, not traffic.
    if w.len() >= 4096 {
        return "other";
    }
    let r: &'static str = Box::leak(route.to_string().into_boxed_str());
    w.insert(r);
    r
}
