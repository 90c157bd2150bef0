//! `quay install` / `quay uninstall` (issue 15) into temporary directories with `--no-start`
//! (no systemd runs here): every step reported, a second run changes nothing, the generated
//! password is printed once and works, the systemd unit passes `systemd-analyze verify` and its
//! command line serves the registry with the installed certificate, the Quadlet file names the
//! image, port and volume, and uninstall removes the unit and (only when asked) the data.
//!
//! Podman here is 4.3 (Debian bookworm), older than Quadlet (4.4): the `.container` file is
//! checked for its content, not run through Quadlet's generator.

mod support;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use support::{QUAY, Server};

fn quay(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(QUAY)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("quay");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "quay {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_is_idempotent_and_its_unit_serves() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let units = dir.path().join("units");
    let (d, u) = (data.to_str().expect("utf8"), units.to_str().expect("utf8"));
    let args = [
        "install",
        "--data-dir",
        d,
        "--unit-dir",
        u,
        "--hostname",
        "registry.test",
        "--port",
        "18443",
        "--no-start",
    ];

    // First run: the password is generated and printed once; each step is logged.
    let first = quay(&args, None);
    let stdout = text(&first.stdout);
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password for admin: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
        .to_string();
    let log = text(&first.stderr);
    for step in [
        "data directory",
        "created",
        "generated a self-signed certificate",
        "first user: created admin",
        "written",
    ] {
        assert!(log.contains(step), "step {step:?} not reported: {log}");
    }
    let unit_path = units.join("quay-rs.service");
    let unit = std::fs::read_to_string(&unit_path).expect("unit");
    assert!(data.join("tls/cert.pem").is_file() && data.join("tls/key.pem").is_file());
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(data.join("tls/key.pem")).expect("key").permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&data).expect("data").permissions().mode() & 0o777, 0o700);

    // The generated password is the first user's.
    let check = quay(
        &["init", "--data-dir", d, "--init-user", "admin", "--init-password-stdin"],
        Some(&format!("{password}\n")),
    );
    assert!(text(&check.stdout).contains("already exists with this password"), "{}", text(&check.stdout));

    // Second run: nothing changes, no password printed.
    let second = quay(&args, None);
    assert!(!text(&second.stdout).contains("password"), "{}", text(&second.stdout));
    let log = text(&second.stderr);
    for step in
        ["exists", "kept the existing certificate", "up to date", "admin exists; unchanged", "unchanged"]
    {
        assert!(log.contains(step), "second run: {step:?} not reported: {log}");
    }
    assert_eq!(std::fs::read_to_string(&unit_path).expect("unit"), unit, "the unit is unchanged");

    // systemd accepts the unit.
    let verify =
        Command::new("systemd-analyze").arg("verify").arg(&unit_path).output().expect("systemd-analyze");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&verify.stderr)
    );
    // Its command line serves HTTPS with the installed certificate (on a free loopback port).
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let mut words: Vec<String> = exec.split_whitespace().map(str::to_string).collect();
    assert_eq!(words[0], QUAY);
    let listen = words.iter().position(|w| w == "--listen").expect("--listen") + 1;
    assert_eq!(words[listen], "0.0.0.0:18443");
    assert!(words.contains(&"--hostname".to_string()) && words.contains(&"registry.test:18443".to_string()));
    words[listen] = "127.0.0.1:0".to_string();
    let mut cmd = Command::new(&words[0]);
    cmd.args(&words[1..]).env("RUST_LOG", "info").env("QUAY_SHUTDOWN_DRAIN", "0");
    let server = tokio::task::spawn_blocking(move || Server::spawn(cmd)).await.expect("serve");
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let cert = reqwest::Certificate::from_pem(&std::fs::read(data.join("tls/cert.pem")).expect("cert"))
        .expect("pem");
    let http = reqwest::Client::builder()
        .add_root_certificate(cert)
        .resolve("registry.test", server.base.trim_start_matches("https://").parse().expect("addr"))
        .build()
        .expect("client");
    let port = server.base.rsplit(':').next().expect("port").to_string();
    let r = http
        .get(format!(
            "https://registry.test:{port}/v2/auth?service=registry.test:18443&scope=repository:admin/x:pull"
        ))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .expect("auth over the installed certificate");
    assert_eq!(r.status(), 200);
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");

    // Uninstall: the unit goes, the data stays; --remove-data removes it.
    quay(&["uninstall", "--data-dir", d, "--unit-dir", u, "--no-stop"], None);
    assert!(!unit_path.exists() && data.join("quay.db").is_file());
    quay(&["uninstall", "--data-dir", d, "--unit-dir", u, "--no-stop", "--remove-data"], None);
    assert!(!data.exists());
}

#[test]
fn install_with_a_container_writes_a_quadlet() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let quadlets = dir.path().join("quadlets");
    let (d, q) = (data.to_str().expect("utf8"), quadlets.to_str().expect("utf8"));
    let out = quay(
        &[
            "install",
            "--data-dir",
            d,
            "--quadlet-dir",
            q,
            "--container",
            "localhost/quay-rs:0.5.0",
            "--hostname",
            "registry.test",
            "--init-password-stdin",
            "--no-start",
        ],
        Some("password123\n"),
    );
    assert!(!text(&out.stdout).contains("password"), "a given password is not printed");
    let quadlet = std::fs::read_to_string(quadlets.join("quay-rs.container")).expect("quadlet");
    for line in [
        "Image=localhost/quay-rs:0.5.0",
        "PublishPort=8443:8443",
        &format!("Volume={d}:/data:Z"),
        "Exec=serve --data-dir /data --listen 0.0.0.0:8443 --hostname registry.test:8443",
    ] {
        assert!(quadlet.contains(line), "{line:?} in {quadlet}");
    }
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(
        std::fs::metadata(data.join("quay.db")).expect("db").uid(),
        65532,
        "the image's user owns the data"
    );
    // The Exec line parses as this binary's command line.
    let exec = quadlet.lines().find_map(|l| l.strip_prefix("Exec=")).expect("Exec");
    let parsed = <quay_server::cli::Cli as clap::Parser>::try_parse_from(
        std::iter::once("quay").chain(exec.split_whitespace()),
    );
    assert!(parsed.is_ok(), "{:?}", parsed.err());
}
