use clap::Parser as _;
use quay_server::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A bug must still end in one readable line, not a backtrace on a user's terminal.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error (a bug; please report it): {info}");
    }));
    let cli = Cli::parse();
    quay_server::logging::init(
        cli.log_format,
        quay_server::telemetry::endpoint(cli.otlp_endpoint.as_deref()),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(cli));
    // Spans still buffered are exported before the process ends.
    quay_server::telemetry::shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

fn one_line(s: &str) -> String {
    s.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}
