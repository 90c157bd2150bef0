//! What the benchmarks share: starting our release binary (`quay init`, `quay serve`) and
//! waiting for it, free ports, digests, latency percentiles.

use anyhow::{Context as _, bail};
use sha2::Digest as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bench user's password (`quay init`).
pub const PASSWORD: &str = "bench-password";

/// A child process stopped when dropped: SIGTERM first (so nginx's master stops its workers
/// rather than orphaning them), SIGKILL after 3 s.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn wait_port(port: u16) -> anyhow::Result<()> {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on 127.0.0.1:{port}")
}

/// `quay init` of the bench user, for `target` (`--data-dir DIR` or `--config FILE`).
pub fn init_user(quay: &Path, target: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let mut init = Command::new(quay)
        .args(["init", "--init-user", "bench", "--init-password-stdin"])
        .args(target)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("{} (cargo build --release --bin quay)", quay.display()))?;
    {
        use std::io::Write as _;
        init.stdin.take().context("stdin")?.write_all(format!("{PASSWORD}\n").as_bytes())?;
    }
    if !init.wait()?.success() {
        bail!("quay init failed");
    }
    Ok(())
}

/// `quay serve` on `port` for `target`.
pub fn serve(quay: &Path, port: u16, target: &[&std::ffi::OsStr]) -> anyhow::Result<Killed> {
    Ok(Killed(
        Command::new(quay)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(target)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    ))
}

/// The `q`-quantile (0..=1) of `sorted` (ascending), nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Our release binary: `--quay` when given, else `$CARGO_TARGET_DIR/release/quay`.
pub fn release_binary(given: Option<std::path::PathBuf>) -> std::path::PathBuf {
    given.unwrap_or_else(|| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        std::path::PathBuf::from(target).join("release/quay")
    })
}

/// Writes `work/config.yaml` for our server in PostgreSQL mode on `db_url`, listening on
/// `port`, local storage under `work`, `bench` a superuser, plus `extra` keys. Returns its path.
pub fn pg_config(work: &Path, port: u16, db_url: &str, extra: &str) -> anyhow::Result<std::path::PathBuf> {
    let cfg = work.join("config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "SERVER_HOSTNAME: \"127.0.0.1:{port}\"\nPREFERRED_URL_SCHEME: http\nDB_URI: \"{db_url}\"\n\
             DATABASE_SECRET_KEY: bench-secret\nSUPER_USERS: [bench]\n\
             DISTRIBUTED_STORAGE_CONFIG: {{local_us: [LocalStorage, {{storage_path: \"{}\"}}]}}\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [local_us]\n{extra}",
            work.join("pg-storage").display()
        ),
    )?;
    Ok(cfg)
}

/// A push token of the bench user for `repo` from the server at `base` (`http://host:port`).
pub async fn push_token(http: &reqwest::Client, base: &str, repo: &str) -> anyhow::Result<String> {
    let host = base.trim_start_matches("http://");
    let auth: serde_json::Value = http
        .get(format!("{base}/v2/auth?service={host}&scope=repository:{repo}:pull,push"))
        .basic_auth("bench", Some(PASSWORD))
        .send()
        .await?
        .json()
        .await?;
    Ok(auth["token"].as_str().context("no token")?.to_string())
}

/// Uploads a small image config to `repo` and returns an OCI image manifest naming it (no
/// layers), ready to be PUT under any tag.
pub async fn config_only_image(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    repo: &str,
) -> anyhow::Result<String> {
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let dc = sha(config);
    let r = http
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={dc}"))
        .bearer_auth(token)
        .body(config.to_vec())
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "config blob: {}", r.status());
    Ok(format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{dc}","size":{}}},"layers":[]}}"#,
        config.len()
    ))
}

/// PUTs `manifest` as `repo:tag`.
pub async fn put_manifest(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    repo: &str,
    tag: &str,
    manifest: &str,
) -> anyhow::Result<()> {
    let r = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .bearer_auth(token)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.to_string())
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "push {repo}:{tag}: {}", r.status());
    Ok(())
}
