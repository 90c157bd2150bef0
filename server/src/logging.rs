//! Structured logs on stderr (`--log-format text|json`, level from `RUST_LOG`, default `info`)
//! and, when configured, trace export ([`crate::telemetry`]). The request line and request ids
//! are `http::request_log`.

use std::io::IsTerminal as _;
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
