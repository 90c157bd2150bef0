//! The `quay` binary as a user runs it: mirror mode with no config, health and `/v2/`, graceful
//! shutdown, `init`, `migrate`, `config validate`, and one clear error line for bad input.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{QUAY, Server, first_user_token, sha256};

fn quay(args: &[&str]) -> Output {
    Command::new(QUAY).args(args).env("RUST_LOG", "warn").output().expect("run quay")
}

fn quay_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(QUAY)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write");
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the command failed with exactly one `error: ...` line (and no panic/backtrace).
fn assert_one_error_line(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success; stderr: {stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("stack backtrace"), "{stderr}");
}

#[tokio::test]
async fn mirror_mode_serves_v2_and_health_with_no_config() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().expect("utf8")]);
    let http = reqwest::Client::new();

    let r = http.get(format!("{}/v2/", server.base)).send().await.expect("GET /v2/");
    assert_eq!(r.status(), 401);
    let host = server.base.trim_start_matches("http://").to_string();
    assert_eq!(
        r.headers()["www-authenticate"],
        format!("Bearer realm=\"http://{host}/v2/auth\",service=\"{host}\"").as_str()
    );
    assert_eq!(r.headers()["docker-distribution-api-version"], "registry/2.0");
    assert_eq!(r.text().await.expect("body"), "true");

    let r = http.get(format!("{}/v2/", server.base)).bearer_auth("bogus").send().await.expect("GET /v2/");
    assert_eq!(r.status(), 401);
    // Quay answers a token it cannot validate with its generic body (quay-http-surface.md §2.4).
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["error"].as_str().expect("error").starts_with("Invalid token"), "{body}");

    for path in ["/health/instance", "/health/endtoend"] {
        let r = http.get(format!("{}{path}", server.base)).send().await.expect("health");
        assert_eq!(r.status(), 200, "{path}");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(
            body,
            serde_json::json!({"data": {"services": {"database": true, "storage": true}}, "status_code": 200})
        );
    }
    assert!(data.join("quay.db").is_file());
    assert!(data.join("storage").is_dir());

    let status = server.stop();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[tokio::test]
async fn endtoend_health_reports_a_broken_storage() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().expect("utf8")]);
    // Break storage under the running server: replace the directory with a file.
    std::fs::remove_dir_all(data.join("storage")).expect("rm");
    std::fs::write(data.join("storage"), b"not a dir").expect("write");
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/health/endtoend", server.base)).send().await.expect("health");
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["data"]["services"]["storage"], false);
    assert_eq!(body["status_code"], 503);
    // The instance check skips storage, as Quay's LocalHealthCheck does.
    let r = http.get(format!("{}/health/instance", server.base)).send().await.expect("health");
    assert_eq!(r.status(), 200);
    server.stop();
}

#[test]
fn init_is_idempotent_and_refuses_a_different_password() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().to_str().expect("utf8");
    let args = ["init", "--data-dir", d, "--init-user", "admin", "--init-password-stdin"];
    let out = quay_with_stdin(&args, "password123\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "created user admin");

    let out = quay_with_stdin(&args, "password123\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("already exists with this password; unchanged"));

    let out = quay_with_stdin(&args, "different123\n");
    assert_one_error_line(&out, "user admin already exists with a different password; not changed");

    let out = quay_with_stdin(&args, "short\n");
    assert_one_error_line(&out, "password must be at least 8 characters");

    let bad = ["init", "--data-dir", d, "--init-user", "Bad Name", "--init-password-stdin"];
    assert_one_error_line(&quay_with_stdin(&bad, "password123\n"), "invalid username \"Bad Name\"");
}

#[test]
fn migrate_creates_then_reports_up_to_date() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().to_str().expect("utf8");
    // Not on a terminal: stdout stays quiet, the steps are logged.
    let migrate = || {
        Command::new(QUAY).args(["migrate", "--data-dir", d]).env("RUST_LOG", "info").output().expect("run")
    };
    let out = migrate();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "quiet stdout when not on a terminal");
    assert!(
        text(&out.stderr).contains("schema: created Quay's schema (V1__quay_baseline)"),
        "{}",
        text(&out.stderr)
    );
    let out = migrate();
    assert!(text(&out.stderr).contains("schema: up to date"), "{}", text(&out.stderr));
}

#[test]
fn config_validate_lists_each_bad_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "PREFERRED_URL_SCHEME: gopher\nDB_URI: postgresql://q:pw@db/quay\nFEATURE_ANONYMOUS_ACCESS: [x]\n\
         DISTRIBUTED_STORAGE_CONFIG: {local_us: [LocalStorage, {}]}\n",
    )
    .expect("write");
    let out = quay(&["config", "validate", "--config", bad.to_str().expect("utf8")]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    for want in [
        "PREFERRED_URL_SCHEME: must be http or https, got \"gopher\"",
        "FEATURE_ANONYMOUS_ACCESS: expected a boolean (true/false) or the string \"true\"",
        "DISTRIBUTED_STORAGE_CONFIG.local_us[1].storage_path: required",
        "DATABASE_SECRET_KEY: required outside mirror mode (it encrypts robot and app tokens)",
    ] {
        assert!(lines.contains(&want), "missing line {want:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("pw@"), "DB password leaked: {stdout}");
    assert!(text(&out.stderr).contains("has 4 problem(s)"), "{}", text(&out.stderr));

    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "DB_URI: postgresql://q:pw@db/quay\nDATABASE_SECRET_KEY: k\n\
         DISTRIBUTED_STORAGE_CONFIG: {local_us: [LocalStorage, {storage_path: /s}]}\nUNKNOWN_KEY: 1\n",
    )
    .expect("write");
    let out = quay(&["config", "validate", "--config", good.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("valid (standalone mode)"));
}

/// Configs as Quay's documentation writes them: the storage is not called `local_us` and
/// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` is left out. Python Quay starts with these.
#[test]
fn config_validate_accepts_quay_configs_without_default_locations() {
    let dir = tempfile::tempdir().expect("tmp");
    let local = "SERVER_HOSTNAME: quay-server.example.com\nPREFERRED_URL_SCHEME: http\n\
                 DB_URI: postgresql://quayuser:quaypass@quay-server.example.com:5432/quay\n\
                 DATABASE_SECRET_KEY: 0ce4f796-c295-415b-bf9d-b315114704b8\nSECRET_KEY: e8f9fdf0\n\
                 DISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - storage_path: /datastorage/registry\n\
                 DISTRIBUTED_STORAGE_PREFERENCE:\n  - default\nSETUP_COMPLETE: true\n";
    let s3 = "SERVER_HOSTNAME: quay.example.com\nPREFERRED_URL_SCHEME: https\n\
              DB_URI: postgresql://quay:pw@db:5432/quay\nDATABASE_SECRET_KEY: k\n\
              DISTRIBUTED_STORAGE_CONFIG:\n  s3_us_east:\n    - S3Storage\n\
              \x20   - {host: s3.us-east-1.amazonaws.com, s3_bucket: quay-registry, s3_access_key: AKIAEXAMPLE,\n\
              \x20      s3_secret_key: secretexample, storage_path: /datastorage/registry}\n\
              DISTRIBUTED_STORAGE_PREFERENCE: [s3_us_east]\n";
    for (name, body) in [("local.yaml", local), ("s3.yaml", s3)] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        let out = quay(&["config", "validate", "--config", path.to_str().expect("utf8")]);
        assert!(out.status.success(), "{name}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains("valid (standalone mode)"), "{name}: {}", text(&out.stdout));
    }
    // With replication on, the unset key's default must name a location: one clear line.
    let path = dir.path().join("replicated.yaml");
    std::fs::write(&path, format!("{local}FEATURE_STORAGE_REPLICATION: true\n")).expect("write");
    let out = quay(&["config", "validate", "--config", path.to_str().expect("utf8")]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS[0]: \"local_us\" is not a location"),
        "{stdout}"
    );
}

#[test]
fn bad_input_is_one_clear_error_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        path.to_str().expect("utf8").to_string()
    };

    let malformed = p("malformed.yaml", "DB_URI: [unclosed\n");
    assert_one_error_line(&quay(&["serve", "--config", &malformed]), "config is not valid YAML");

    let missing = dir.path().join("nope.yaml");
    assert_one_error_line(
        &quay(&["migrate", "--config", missing.to_str().expect("utf8")]),
        "cannot read config file",
    );

    let unreachable = p(
        "unreachable.yaml",
        "DB_URI: postgresql://quay:topsecret@127.0.0.1:1/quay\nDATABASE_SECRET_KEY: k\n\
         DISTRIBUTED_STORAGE_CONFIG: {local_us: [LocalStorage, {storage_path: /tmp/x}]}\n",
    );
    let out = quay(&["migrate", "--config", &unreachable]);
    assert_one_error_line(&out, "cannot connect to database postgresql://quay:***@127.0.0.1:1/quay");
    assert!(!text(&out.stderr).contains("topsecret"));

    let file = p("a-file", "x");
    let out = quay(&["serve", "--data-dir", &format!("{file}/sub"), "--listen", "127.0.0.1:0"]);
    assert_one_error_line(&out, "cannot create data directory");

    let out =
        quay(&["serve", "--data-dir", dir.path().to_str().expect("utf8"), "--tls-cert", "/nonexistent"]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn serving_a_quay_database_without_the_extension_is_refused() {
    let db = quay_tests::TestDb::quay_reference("noext").await.expect("db");
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "DB_URI: \"{}\"\nDATABASE_SECRET_KEY: k\nDISTRIBUTED_STORAGE_CONFIG: {{local_us: [LocalStorage, {{storage_path: {}}}]}}\n",
            db.url,
            dir.path().join("storage").display()
        ),
    )
    .expect("write");
    let out = quay(&["serve", "--config", cfg.to_str().expect("utf8"), "--listen", "127.0.0.1:0"]);
    assert_one_error_line(&out, "the `quay` extension is not installed in this database");
    db.drop_db().await.expect("drop");
}

/// Pulls are logged off the request path; a SIGTERM right after them still writes every
/// `pull_repo` row before the process exits.
#[tokio::test]
async fn graceful_stop_writes_the_queued_action_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().expect("utf8")]);
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let token = first_user_token(&http, &base, "pull,push").await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let dc = sha256(&config);
    let put = http
        .post(format!("{base}/v2/admin/app/blobs/uploads/?digest={dc}"))
        .bearer_auth(&token)
        .body(config.clone())
        .send()
        .await
        .expect("blob");
    assert_eq!(put.status(), 201);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{dc}","size":{}}},"layers":[]}}"#,
        config.len()
    );
    let put = http
        .put(format!("{base}/v2/admin/app/manifests/v1"))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest)
        .send()
        .await
        .expect("manifest");
    assert_eq!(put.status(), 201);
    // SIGTERM lands while pulls are still being answered: the last ones' entries are queued
    // when the server stops taking requests. Every pull answered 200 must be logged.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, base, token, answered) = (http.clone(), base.clone(), token.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            // Bounded: until the server stops answering, at most 10,000 pulls each.
            for _ in 0..10_000 {
                let r =
                    http.get(format!("{base}/v2/admin/app/manifests/v1")).bearer_auth(&token).send().await;
                match r {
                    Ok(r) if r.status() == 200 => answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                    _ => break,
                };
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.load(std::sync::atomic::Ordering::SeqCst) < 200 {
        assert!(Instant::now() < deadline, "pulls did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    for t in tasks {
        t.await.expect("join");
    }
    let answered = answered.load(std::sync::atomic::Ordering::SeqCst);
    let status = stopping.await.expect("stop");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let db = rusqlite::Connection::open(data.join("quay.db")).expect("open");
    let logged: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'pull_repo'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(logged, answered);
}

/// `serve --metrics-listen`: `/metrics` also answers on its own address.
#[tokio::test]
async fn metrics_on_their_own_listener() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server =
        Server::start(&["--data-dir", data.to_str().expect("utf8"), "--metrics-listen", "127.0.0.1:0"]);
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/v2/", server.base)).send().await.expect("GET /v2/");
    assert_eq!(r.status(), 401);
    let url = server.metrics.clone().expect("metrics address logged");
    let r = http.get(&url).send().await.expect("metrics");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    assert!(
        text.lines().any(|l| l
            .starts_with(r#"quay_request_duration_seconds_count{method="GET",route="/v2/",status="401"} "#)),
        "{text}"
    );
    assert!(server.stop().success());
}

/// Kubernetes-style probes and the SIGTERM sequence: `/livez`, `/readyz`, `/healthz` and
/// `/health/warning` answer; on SIGTERM `/readyz` fails at once while requests are still served
/// for `--shutdown-drain`, then the process exits 0.
#[tokio::test]
async fn readiness_fails_first_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().expect("utf8"), "--shutdown-drain", "2"]);
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.base)).send();
    for (path, want) in [
        ("/livez", serde_json::json!({"status": "ok"})),
        ("/readyz", serde_json::json!({"status": "ok"})),
        ("/healthz", serde_json::json!({"status": "ok"})),
    ] {
        let r = get(path).await.expect(path);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.json::<serde_json::Value>().await.expect("json"), want, "{path}");
    }
    // The disk check answers for this machine's disk (less than 10% free: 503), in Quay's shape.
    let r = get("/health/warning").await.expect("/health/warning");
    let status = r.status().as_u16();
    let ok = status == 200;
    assert!(ok || status == 503, "/health/warning: {status}");
    assert_eq!(
        r.json::<serde_json::Value>().await.expect("json"),
        serde_json::json!({"data": {"services": {"disk_space_warning": ok}}, "status_code": status}),
        "/health/warning"
    );
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    let signalled = Instant::now();
    let mut draining = false;
    while signalled.elapsed() < Duration::from_secs(1) {
        let r = get("/readyz").await.expect("readyz while draining");
        if r.status() == 503 {
            assert_eq!(
                r.json::<serde_json::Value>().await.expect("json"),
                serde_json::json!({"status": "draining"})
            );
            draining = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(draining, "/readyz still ready after SIGTERM");
    // Still serving while draining.
    assert_eq!(get("/v2/").await.expect("v2 while draining").status(), 401);
    assert_eq!(get("/livez").await.expect("livez while draining").status(), 200);
    let status = tokio::task::spawn_blocking(move || server.stop()).await.expect("join");
    assert!(status.success(), "{status}");
    let took = signalled.elapsed();
    assert!(took >= Duration::from_secs(2), "exited after {took:?}, before the drain ended");
}

/// Every request gets an id, answered in `X-Request-ID` (a sane one from the client is kept)
/// and carried by its JSON log lines.
#[tokio::test]
async fn request_ids_in_headers_and_json_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().expect("utf8"), "--log-format", "json"]);
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v2/", server.base))
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .expect("v2");
    assert_eq!(r.headers()["x-request-id"], "trace-abc.123");
    // Too long, or with characters a log reader could trip on: replaced.
    for bad in ["x".repeat(100), "two words".to_string(), "a\"quote".to_string()] {
        let r =
            http.get(format!("{}/v2/", server.base)).header("x-request-id", &bad).send().await.expect("v2");
        let id = r.headers()["x-request-id"].to_str().expect("id").to_string();
        assert_eq!(id.len(), 36, "{bad:?} replaced by a UUID, got {id}");
    }
    let r = http.get(format!("{}/health/instance", server.base)).send().await.expect("health");
    let fresh = r.headers()["x-request-id"].to_str().expect("id").to_string();
    assert_eq!(fresh.len(), 36, "a UUID when the client sends none: {fresh}");
    let (status, logs) = tokio::task::spawn_blocking(move || server.stop_with_logs()).await.expect("join");
    assert!(status.success());
    let lines: Vec<serde_json::Value> =
        logs.iter().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let find = |id: &str| {
        lines.iter().find(|l| l["request_id"] == id && l["message"] == "request").cloned().unwrap_or_default()
    };
    let kept = find("trace-abc.123");
    assert_eq!((kept["path"].as_str(), kept["status"].as_u64()), (Some("/v2/"), Some(401)), "{kept}");
    assert_eq!(find(&fresh)["path"], "/health/instance");
}

/// `quay gc`: a deleted image past its time machine (and its uploads' one-hour hold) is reported by `--dry-run` (nothing
/// removed), then collected: its own blobs leave storage, the blobs it shared with a live image
/// stay; a scope that does not cover the repository collects nothing.
#[tokio::test]
async fn gc_once_with_dry_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let d = data.to_str().expect("utf8").to_string();
    let server = Server::start(&["--data-dir", &d]);
    let http = reqwest::Client::new();
    let base = server.base.clone();
    let token = first_user_token(&http, &base, "pull,push,*").await;
    let shared = b"a layer both images have".to_vec();
    let mut pushed = Vec::new();
    for n in ["one", "two"] {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","n":"{n}"}}"#).into_bytes();
        let own = format!("a layer only image {n} has").into_bytes();
        for blob in [&config, &shared, &own] {
            let r = http
                .post(format!("{base}/v2/admin/app/blobs/uploads/?digest={}", sha256(blob)))
                .bearer_auth(&token)
                .body(blob.clone())
                .send()
                .await
                .expect("blob");
            assert_eq!(r.status(), 201);
        }
        let layers: Vec<String> = [&shared, &own]
            .iter()
            .map(|b| {
                format!(
                    r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}"#,
                    sha256(b),
                    b.len()
                )
            })
            .collect();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
            sha256(&config),
            config.len(),
            layers.join(",")
        );
        let r = http
            .put(format!("{base}/v2/admin/app/manifests/{n}"))
            .bearer_auth(&token)
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest.clone())
            .send()
            .await
            .expect("manifest");
        assert_eq!(r.status(), 201);
        pushed.push((sha256(manifest.as_bytes()), sha256(&config), sha256(&own)));
    }
    let r = http
        .delete(format!("{base}/v2/admin/app/manifests/{}", pushed[0].0))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 202);
    server.stop();
    // The deleted image is past the namespace's time machine.
    let db = rusqlite::Connection::open(data.join("quay.db")).expect("db");
    db.execute("UPDATE \"user\" SET removed_tag_expiration_s = 0", []).expect("window");
    db.execute(
        "UPDATE tag SET lifetime_end_ms = lifetime_end_ms - 1000 WHERE lifetime_end_ms IS NOT NULL",
        [],
    )
    .expect("age");
    // Blobs uploaded in the last hour are kept for the pushes that may still name them.
    db.execute("UPDATE uploadedblob SET expires_at = '2000-01-01 00:00:00'", []).expect("uploads");
    let object = |digest: &str| {
        let hex = digest.trim_start_matches("sha256:");
        data.join(format!("storage/sha256/{}/{hex}", &hex[..2]))
    };
    let gone = [pushed[0].1.clone(), pushed[0].2.clone()];
    let kept = [pushed[1].1.clone(), pushed[1].2.clone(), sha256(&shared)];

    let out = quay(&["gc", "--data-dir", &d, "--namespace", "someone-else"]);
    assert!(
        text(&out.stdout).contains("0 repositories with garbage; 0 blob(s) freed"),
        "{}",
        text(&out.stdout)
    );
    let out = quay(&["gc", "--data-dir", &d, "--repository", "admin/app", "--dry-run"]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for digest in &gone {
        assert!(report.contains(&format!("admin/app would free {digest}")), "{report}");
        assert!(object(digest).is_file(), "a dry run removes nothing");
    }
    assert!(report.contains("1 repository with garbage; 2 blob(s) would be freed"), "{report}");
    let out = quay(&["gc", "--data-dir", &d]);
    let report = text(&out.stdout);
    for digest in &gone {
        assert!(report.contains(&format!("admin/app freed {digest}")), "{report}");
        assert!(!object(digest).exists(), "{digest} collected");
    }
    for digest in &kept {
        assert!(object(digest).is_file(), "{digest} is still used and stays");
    }
    let out = quay(&["gc", "--data-dir", &d, "--dry-run"]);
    assert!(text(&out.stdout).contains("0 repositories with garbage"), "{}", text(&out.stdout));
}

/// An idle mirror-mode server (its worker runs in-process) does not spin: over two seconds it
/// takes almost no database connections. The worker's own claims used to wake it again, so an
/// idle server claimed in a loop, about a thousand times a second.
#[tokio::test]
async fn idle_mirror_server_stays_idle() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let server = Server::start(&["--data-dir", data.to_str().expect("utf8")]);
    let http = reqwest::Client::new();
    let gets = async || -> u64 {
        let text = http
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body");
        text.lines()
            .find_map(|l| l.strip_prefix("quay_db_pool_wait_seconds_count "))
            .and_then(|v| v.trim().parse().ok())
            .expect("pool wait count")
    };
    // Let startup (migrations, the first GC and cleanup passes) finish.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = gets().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = gets().await;
    assert!(after - before < 20, "{} connections taken in 2 s while idle", after - before);
    server.stop();
}
