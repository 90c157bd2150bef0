//! The `quay` command line: `serve`, `migrate`, `init`, `worker`, `config validate`.
//! Every failure surfaces as one `error: ...` line and a non-zero exit (see `main.rs`).

use crate::config::{Config, ConfigErrors, Database, Mode};
use crate::http::{self, AppState};
use crate::storage::BlobStorage;
use crate::store::{Store, StoreError};
use crate::{auth, tls};
use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "quay", version, about = "A Quay-compatible container registry backend", long_about = None)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Export traces over OTLP/HTTP to this collector URL (e.g. http://otel:4318); also
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`. Off when neither is set.
    #[arg(long, global = true, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

pub use crate::logging::LogFormat;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the registry. Without --config: mirror mode (SQLite + files in --data-dir).
    Serve(ServeArgs),
    /// Create Quay's schema (or check an existing Quay database) and install the `quay` extension.
    Migrate(Target),
    /// Create the first user (a superuser), idempotently. The password is read from stdin.
    Init(InitArgs),
    /// Run background jobs (repository and namespace deletion, garbage collection) until
    /// SIGTERM. Mirror-mode `serve` runs the same worker in-process.
    Worker(WorkerArgs),
    /// Run garbage collection once, now: every repository, one namespace or one repository.
    /// With --dry-run, report what would be removed and remove nothing.
    Gc(GcArgs),
    /// Install the registry as a service on this host (mirror mode): data directory, TLS
    /// certificate, first user, and a systemd unit (or a Podman Quadlet with --container).
    /// Safe to run again.
    Install(InstallArgs),
    /// Remove the service `install` set up; the data directory stays unless --remove-data.
    Uninstall(UninstallArgs),
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config.yaml: one line per bad field, non-zero exit if any.
    Validate {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Which installation a command acts on: a Quay config file, or a mirror-mode data directory.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Quay config.yaml (DB_URI, DISTRIBUTED_STORAGE_CONFIG, ...).
    #[arg(long, value_name = "FILE", env = "QUAY_CONFIG", conflicts_with = "data_dir")]
    pub config: Option<PathBuf>,
    /// Mirror-mode data directory: quay.db and storage/ live here.
    #[arg(long, value_name = "DIR", default_value = "quay-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub target: Target,
    /// Queues to serve (repeatable); default: repositorygc, namespacegc and notification.
    #[arg(long = "queue", value_name = "NAME")]
    pub queues: Vec<String>,
    /// Seconds between routine garbage-collection passes (0 disables them).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub gc_interval: u64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub target: Target,
    /// Address to listen on (port 0 picks a free port; the chosen address is logged).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mirror mode: the name clients use (`SERVER_HOSTNAME`, `host[:port]`); default: the
    /// listen address. With --config, `SERVER_HOSTNAME` from the config is used.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub hostname: Option<String>,
    /// On SIGTERM, keep serving this long with `/readyz` failing (so a load balancer or
    /// Kubernetes stops sending traffic) before closing the listener and finishing in-flight
    /// requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 0, env = "QUAY_SHUTDOWN_DRAIN")]
    pub shutdown_drain: u64,
    /// Also serve `GET /metrics` (plain HTTP) on this address, e.g. one only the monitoring
    /// network reaches (port 0 picks a free port; the chosen address is logged).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub target: Target,
    /// Only this namespace's repositories.
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Only this repository (`namespace/name`).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub repository: Option<String>,
    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Where the database, blobs and certificate live.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/quay-rs")]
    pub data_dir: PathBuf,
    /// The name clients use for this registry (default: this host's name).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Port the service listens on (HTTPS).
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
    /// PEM certificate to serve (with --ssl-key); default: a self-signed one for --hostname.
    #[arg(long, value_name = "FILE", requires = "ssl_key")]
    pub ssl_cert: Option<PathBuf>,
    /// PEM private key of --ssl-cert.
    #[arg(long, value_name = "FILE", requires = "ssl_cert")]
    pub ssl_key: Option<PathBuf>,
    /// Username of the first user.
    #[arg(long, value_name = "NAME", default_value = "admin")]
    pub init_user: String,
    /// Read the first user's password from stdin (default: generate one and print it once).
    #[arg(long)]
    pub init_password_stdin: bool,
    /// Where the systemd unit is written.
    #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
    /// Run this container image with Podman (a Quadlet file) instead of this binary.
    #[arg(long, value_name = "IMAGE")]
    pub container: Option<String>,
    /// Where the Quadlet file is written (with --container).
    #[arg(long, value_name = "DIR", default_value = "/etc/containers/systemd")]
    pub quadlet_dir: PathBuf,
    /// The binary the unit runs (default: this one).
    #[arg(long, value_name = "FILE")]
    pub binary: Option<PathBuf>,
    /// Write everything, but do not reload systemd or start the service.
    #[arg(long)]
    pub no_start: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[arg(long, value_name = "DIR", default_value = "/var/lib/quay-rs")]
    pub data_dir: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "/etc/containers/systemd")]
    pub quadlet_dir: PathBuf,
    /// Also delete the data directory: every image, the database and the certificate.
    #[arg(long)]
    pub remove_data: bool,
    /// Leave the service running; only remove the files.
    #[arg(long)]
    pub no_stop: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub target: Target,
    /// Username of the first user.
    #[arg(long, value_name = "NAME")]
    pub init_user: String,
    /// Read the password from stdin (one line).
    #[arg(long, required = true)]
    pub init_password_stdin: bool,
    /// E-mail address (default: a random UUID, as Quay does when e-mail is not required).
    #[arg(long, value_name = "EMAIL")]
    pub init_email: Option<String>,
}

/// A resolved installation: its config and, in mirror mode without a file, its data directory.
pub struct Installation {
    pub config: Config,
    pub data_dir: Option<PathBuf>,
}

/// Loads `--config`, or builds mirror defaults over `--data-dir` (creating it and proving it
/// writable).
pub fn resolve(target: &Target) -> anyhow::Result<Installation> {
    if let Some(path) = &target.config {
        let config = Config::load_file(path).map_err(|e| config_error(path, e))?;
        return Ok(Installation { config, data_dir: None });
    }
    let dir = prepare_data_dir(&target.data_dir)?;
    Ok(Installation { config: Config::mirror(&dir), data_dir: Some(dir) })
}

fn config_error(path: &Path, e: ConfigErrors) -> anyhow::Error {
    anyhow::anyhow!("invalid config {}: {}", path.display(), e.0.join("; "))
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    let dir =
        dir.canonicalize().with_context(|| format!("cannot resolve data directory {}", dir.display()))?;
    let probe = dir.join(format!(".write-test-{}", uuid::Uuid::new_v4()));
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("data directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(dir)
}

fn database(config: &Config) -> anyhow::Result<Database> {
    config.database().map_err(anyhow::Error::msg)?.context("DB_URI: required")
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(target) => migrate(&target).await,
        Command::Init(args) => init(args).await,
        Command::Worker(args) => worker(args).await,
        Command::Config { command: ConfigCommand::Validate { config } } => validate(&config),
        Command::Gc(args) => gc(args).await,
        Command::Install(args) => install(args).await,
        Command::Uninstall(args) => uninstall(args),
    }
}

async fn gc(args: GcArgs) -> anyhow::Result<()> {
    use crate::worker::once::Scope;
    let scope = match (args.namespace, args.repository) {
        (Some(ns), None) => Scope::Namespace(ns),
        (None, Some(r)) if r.contains('/') => Scope::Repository(r),
        (None, Some(r)) => bail!("--repository {r:?}: use namespace/name"),
        (None, None) => Scope::All,
        (Some(_), Some(_)) => bail!("--namespace and --repository cannot be combined"),
    };
    let inst = resolve(&args.target)?;
    let store = Store::open(&database(&inst.config)?).await?;
    if inst.data_dir.is_some() {
        store.migrate().await?;
    } else {
        store.check_ready().await?;
    }
    let storage = BlobStorage::from_config(&inst.config).await?;
    let done = crate::worker::once::collect(&store, &storage, &scope, args.dry_run).await?;
    let verb = if args.dry_run { "would free" } else { "freed" };
    for c in &done {
        for digest in &c.blobs {
            println!("{} {verb} {digest}", c.repository);
        }
    }
    let blobs: usize = done.iter().map(|c| c.blobs.len()).sum();
    let repos = match done.len() {
        1 => "1 repository".to_string(),
        n => format!("{n} repositories"),
    };
    let outcome = if args.dry_run { "would be freed" } else { "freed" };
    println!("{repos} with garbage; {blobs} blob(s) {outcome}");
    Ok(())
}

async fn install(args: InstallArgs) -> anyhow::Result<()> {
    if !quay_core::names::is_valid_username(&args.init_user) {
        bail!("invalid username {:?}", args.init_user);
    }
    let password = if args.init_password_stdin { Some(read_password()?) } else { None };
    let hostname = match args.hostname {
        Some(h) => h,
        None => std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string()),
    };
    let binary = match args.binary {
        Some(b) => b,
        None => std::env::current_exe().context("cannot find this binary's path")?,
    };
    let tls = match (args.ssl_cert, args.ssl_key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => bail!("--ssl-cert and --ssl-key must be given together"),
    };
    crate::install::Install {
        data_dir: args.data_dir,
        hostname,
        port: args.port,
        tls,
        init_user: args.init_user,
        password,
        unit_dir: args.unit_dir,
        container: args.container,
        quadlet_dir: args.quadlet_dir,
        binary,
        no_start: args.no_start,
    }
    .run()
    .await?;
    Ok(())
}

fn uninstall(args: UninstallArgs) -> anyhow::Result<()> {
    crate::install::Uninstall {
        data_dir: args.data_dir,
        unit_dir: args.unit_dir,
        quadlet_dir: args.quadlet_dir,
        remove_data: args.remove_data,
        no_stop: args.no_stop,
    }
    .run()
}

/// One line from stdin, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password).context("cannot read the password from stdin")?;
    let password = password.strip_suffix('\n').unwrap_or(&password);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_string())
}

fn validate(path: &Path) -> anyhow::Result<()> {
    match Config::load_file(path) {
        Ok(cfg) => {
            println!("{}: valid ({} mode)", path.display(), cfg.mode().as_str());
            Ok(())
        }
        Err(ConfigErrors(lines)) => {
            for line in &lines {
                println!("{line}");
            }
            bail!("{} has {} problem(s)", path.display(), lines.len())
        }
    }
}

async fn migrate(target: &Target) -> anyhow::Result<()> {
    let inst = resolve(target)?;
    let store = Store::open(&database(&inst.config)?).await?;
    let report = store.migrate().await?;
    // One step per part migrated (schema, extension): numbered on a terminal, logged otherwise.
    let lines: Vec<String> = report.to_string().lines().map(str::to_string).collect();
    let mut progress = crate::progress::Progress::new(lines.len());
    for line in &lines {
        progress.step(line);
    }
    Ok(())
}

async fn init(args: InitArgs) -> anyhow::Result<()> {
    let inst = resolve(&args.target)?;
    let username = args.init_user.trim().to_string();
    if !quay_core::names::is_valid_username(&username) {
        bail!(
            "invalid username {username:?}: use 2-255 lowercase letters, digits and single . _ - between them"
        );
    }
    let password = read_password()?;
    auth::password::check_policy(&password).map_err(|e| anyhow::anyhow!("{e}"))?;

    let store = Store::open(&database(&inst.config)?).await?;
    if inst.data_dir.is_some() {
        store.migrate().await?;
    } else {
        match store.check_ready().await {
            Ok(()) | Err(StoreError::ExtensionMissing) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let outcome = crate::users::ensure_user(
        &store,
        &username,
        &password,
        args.init_email.as_deref(),
        inst.config.default_tag_expiration_s(),
    )
    .await?;
    match outcome {
        crate::users::Ensured::Created => println!("created user {username}"),
        crate::users::Ensured::AlreadyPresent => {
            println!("user {username} already exists with this password; unchanged")
        }
    }
    if inst.data_dir.is_none() && !inst.config.super_users.contains(&username) {
        println!("note: add {username} to SUPER_USERS in the config to make it a superuser");
    }
    Ok(())
}

async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let inst = resolve(&args.target)?;
    let store = Store::open(&database(&inst.config)?).await?;
    if inst.config.mode() == Mode::Mirror {
        store.migrate().await?;
    } else {
        store.check_ready().await?;
    }
    let storage = BlobStorage::from_config(&inst.config).await?;
    for q in &args.queues {
        if !crate::worker::QUEUES.contains(&q.as_str()) {
            bail!("unknown queue {q:?}: this worker runs {}", crate::worker::QUEUES.join(", "));
        }
    }
    let mut cfg = crate::worker::WorkerConfig::from_config(&inst.config);
    if !args.queues.is_empty() {
        cfg.queues = args.queues.clone();
    }
    cfg.gc_every = (args.gc_interval > 0).then(|| Duration::from_secs(args.gc_interval));
    crate::worker::run(store, storage, cfg, crate::worker::shutdown_on_signal()).await;
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut inst = resolve(&args.target)?;
    let db = database(&inst.config)?;
    let store = Store::open(&db).await?;
    if inst.config.mode() == Mode::Mirror {
        let report = store.migrate().await?;
        for line in report.to_string().lines() {
            tracing::info!("{line}");
        }
    } else {
        store.check_ready().await?;
    }
    let storage = BlobStorage::from_config(&inst.config).await?;

    let std_listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = std_listener.local_addr()?;

    let tls = tls::server_config(
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        addr.ip(),
        inst.data_dir.as_deref(),
    )
    .await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if args.target.config.is_none() {
        // No config: the registry is addressed the way it listens.
        let host = if addr.ip().is_unspecified() { "localhost".to_string() } else { addr.ip().to_string() };
        inst.config.server_hostname =
            args.hostname.clone().unwrap_or_else(|| format!("{host}:{}", addr.port()));
        inst.config.preferred_url_scheme = scheme.into();
    }
    if inst.config.super_users.is_empty()
        && inst.config.mode() == Mode::Mirror
        && let Some(first) = store.first_user().await?
    {
        inst.config.super_users.push(first);
    }

    tracing::info!(
        mode = inst.config.mode().as_str(),
        database = store.backend(),
        server_hostname = %inst.config.server_hostname,
        "configuration loaded"
    );
    // Mirror mode has no separate worker process: run the same loop here.
    let (stop_worker, worker_stop) = tokio::sync::watch::channel(false);
    let worker = (inst.config.mode() == Mode::Mirror).then(|| {
        let (store, storage) = (store.clone(), storage.clone());
        let cfg = crate::worker::WorkerConfig::from_config(&inst.config);
        tokio::spawn(crate::worker::run(store, storage, cfg, worker_stop))
    });
    let key_refresh = inst.config.instance_key_refresh();
    let limits = http::conn::Limits::from_config(&inst.config);
    let state = AppState::new(inst.config, store, storage, inst.data_dir.as_deref()).await?;
    // The instance key lapses unless renewed: keep it alive while this process serves.
    let renewal = tokio::spawn(state.keys.clone().renew_every(state.store.clone(), key_refresh));
    let action_logs = state.logs.clone();
    if let Some(maddr) = args.metrics_listen {
        let listener = tokio::net::TcpListener::bind(maddr)
            .await
            .with_context(|| format!("cannot listen on {maddr} for metrics"))?;
        tracing::info!("metrics on http://{}/metrics", listener.local_addr()?);
        let metrics = axum::Router::new()
            .route("/metrics", axum::routing::get(http::metrics::scrape))
            .with_state(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::warn!(error = %e, "metrics listener stopped");
            }
        });
    }
    let draining = state.draining.clone();
    let drain = std::time::Duration::from_secs(args.shutdown_drain);
    let app = http::router(state);
    tracing::info!("listening on {scheme}://{addr}");

    let stop = async move {
        crate::shutdown::signal().await;
        draining.store(true, std::sync::atomic::Ordering::Relaxed);
        if !drain.is_zero() {
            tracing::info!(
                seconds = drain.as_secs(),
                "shutdown requested: /readyz fails; still serving while draining"
            );
            tokio::time::sleep(drain).await;
        }
    };
    http::conn::serve(std_listener, app, tls, limits, stop).await?;
    // The last request has been answered: write the action logs still queued.
    action_logs.close().await;
    renewal.abort();
    let _ = stop_worker.send(true);
    if let Some(w) = worker {
        let _ = w.await;
    }
    tracing::info!("stopped");
    Ok(())
}
