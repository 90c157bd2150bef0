//! The `quay` binary as a child process, for the tests that run it as a user would (`cli.rs`)
//! and the ones that crash it (`faults.rs`).
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const QUAY: &str = env!("CARGO_BIN_EXE_quay");

pub struct Server {
    pub child: Child,
    pub base: String,
    /// `--metrics-listen`'s URL, when the server logged one before its main address.
    pub metrics: Option<String>,
    _log: std::thread::JoinHandle<Vec<String>>,
}

/// A test that fails half-way must not leave its server running.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `quay serve` on port 0 and reads the bound address from its log.
    pub fn start(args: &[&str]) -> Server {
        Server::start_on(args, "127.0.0.1:0")
    }

    /// Starts `quay serve --listen <listen>` and waits until it announces its address.
    pub fn start_on(args: &[&str], listen: &str) -> Server {
        Server::start_logging(args, listen, "info")
    }

    /// As [`Server::start_on`], with `RUST_LOG` set to `filter`.
    pub fn start_logging(args: &[&str], listen: &str, filter: &str) -> Server {
        let mut cmd = Command::new(QUAY);
        cmd.arg("serve").args(args).args(["--listen", listen]).env("RUST_LOG", filter);
        Server::spawn(cmd)
    }

    /// Runs `cmd` (a `quay serve`, however launched) and waits until it announces its address.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // The address ends at a space or, in JSON lines, at the closing quote.
                let after = |marker: &str| {
                    line.find(marker).map(|i| {
                        let rest = &line[i + marker.len()..];
                        rest.split(|c: char| c == '"' || c.is_whitespace()).next().unwrap_or("").to_string()
                    })
                };
                if let Some(url) = after("metrics on ") {
                    let _ = tx.send(format!("metrics {url}"));
                }
                if let Some(url) = after("listening on ") {
                    let _ = tx.send(url);
                }
                lines.push(line);
            }
            lines
        });
        let mut metrics = None;
        let base = loop {
            let line = rx.recv_timeout(Duration::from_secs(60)).expect("server announced its address");
            match line.strip_prefix("metrics ") {
                Some(url) => metrics = Some(url.to_string()),
                None => break line,
            }
        };
        Server { child, base, metrics, _log: log }
    }

    /// SIGKILL: no graceful anything, as a crash or an OOM kill.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then every line the server wrote to stderr.
    pub fn stop_with_logs(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.terminate();
        let log = std::mem::replace(&mut self._log, std::thread::spawn(Vec::new));
        (status, log.join().expect("log reader"))
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate()
    }

    /// SIGTERM, then waits (at most 30 s) for the exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// `POST /api/v1/user/initialize` as `admin`, then a registry token for `admin/app` with
/// `actions`.
pub async fn first_user_token(http: &reqwest::Client, base: &str, actions: &str) -> String {
    let init = http
        .post(format!("{base}/api/v1/user/initialize"))
        .json(&serde_json::json!({"username": "admin", "password": "password123", "email": "a@example.com"}))
        .send()
        .await
        .expect("initialize");
    assert_eq!(init.status(), 200);
    let host = base.trim_start_matches("http://");
    let auth: serde_json::Value = http
        .get(format!("{base}/v2/auth?service={host}&scope=repository:admin/app:{actions}"))
        .basic_auth("admin", Some("password123"))
        .send()
        .await
        .expect("auth")
        .json()
        .await
        .expect("json");
    auth["token"].as_str().expect("token").to_string()
}
