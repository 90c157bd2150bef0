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
