//! Traces over OTLP (OpenTelemetry), off unless an endpoint is configured (`--otlp-endpoint`,
//! or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). Each
//! request is one span (named by its route template, never a raw path), with child spans for
//! database and storage calls; a W3C `traceparent` on the request makes it part of the caller's
//! trace. Spans are exported in batches over OTLP/HTTP (JSON) by a background thread.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::OnceLock;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The endpoint to export to: the flag, else OpenTelemetry's standard variables.
pub fn endpoint(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").ok())
        .or_else(|| {
            std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .map(|e| format!("{}/v1/traces", e.trim_end_matches('/')))
        })
        .filter(|e| !e.trim().is_empty())
}

/// A `tracing` layer exporting spans to `endpoint` (the full `/v1/traces` URL), and the W3C
/// trace-context propagator for incoming `traceparent` headers.
pub fn layer<S>(endpoint: &str) -> anyhow::Result<impl tracing_subscriber::Layer<S> + use<S>>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{}/v1/traces", endpoint.trim_end_matches('/'))
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpJson)
        .with_endpoint(url)
        .with_http_client(reqwest::blocking::Client::new())
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("quay-rs")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("quay-rs");
    let _ = PROVIDER.set(provider);
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    Ok(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// Makes `span` a child of the caller's trace when the request carries a W3C `traceparent`.
pub fn adopt_parent(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if PROVIDER.get().is_none() || !headers.contains_key("traceparent") {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(cx);
}

struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Exports what is still buffered (on shutdown).
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.shutdown();
    }
}
