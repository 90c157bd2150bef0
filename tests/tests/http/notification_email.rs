//! E-mail notifications over SMTP with STARTTLS and AUTH, to a real SMTP server this test starts
//! on 127.0.0.1 (`tests/tools/smtp_sink.py`, aiosmtpd, its own self-signed certificate trusted
//! through `MAIL_CA_FILE`); webhook templates (Quay's `JSONTemplate`); and, on PostgreSQL, the
//! workers' periodic jobs in `quay.periodic_jobs`.

use super::common::{Backend, OCI_MANIFEST, Registry, api, exec, image_manifest, scalar};
use reqwest::Method;
use serde_json::{Value, json};
use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The SMTP server, killed when the test ends (also when it fails).
struct Smtp {
    child: Child,
    port: u16,
    out: std::path::PathBuf,
    ca: std::path::PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(dir: &std::path::Path) -> Smtp {
    let (cert, key) = (dir.join("smtp-cert.pem"), dir.join("smtp-key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(made.success(), "openssl req");
    let out = dir.join("mails.jsonl");
    let script = quay_tests::repo_path("tests/tools/smtp_sink.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--user", "quay", "--password", "s3cret", "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 tests/tools/smtp_sink.py (tests/run.sh installs aiosmtpd)");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufReader::new(stdout).read_line(&mut line).expect("ready line");
    let port = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok()).expect("ready <port>");
    Smtp { child, port, out, ca: cert }
}

async fn mails(s: &Smtp, n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let text = std::fs::read_to_string(&s.out).unwrap_or_default();
        let got: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Vec::new()
}

type Received = Arc<Mutex<Vec<Value>>>;

async fn sink() -> (String, Received) {
    let got: Received = Arc::default();
    let store = got.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let store = store.clone();
        async move {
            store.lock().expect("lock").push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

async fn email_and_templates(backend: Backend) {
    let dir = tempfile::tempdir().expect("tmp");
    let s = smtp(dir.path());
    let extra = format!(
        "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"mail\"\n\
         MAIL_SERVER: 127.0.0.1\nMAIL_PORT: {}\nMAIL_USE_TLS: true\nMAIL_USERNAME: quay\nMAIL_PASSWORD: s3cret\n\
         MAIL_DEFAULT_SENDER: quay@example.com\nMAIL_CA_FILE: {}\n",
        s.port,
        s.ca.display()
    );
    let r = Registry::start(backend, "mail", &extra).await;
    let admin = r.initialize_admin().await;
    let (st, body) = api(
        &r,
        Method::POST,
        "/api/v1/repository",
        &admin,
        Some(json!({"namespace": "admin", "repository": "app", "visibility": "private", "description": ""})),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let path = "/api/v1/repository/admin/app/notification/";
    let email = |to: &str| json!({"event": "repo_push", "method": "email", "config": {"email": to}, "eventConfig": {}});
    // Quay's rule: the address must be confirmed for the repository.
    let (st, body) = api(&r, Method::POST, path, &admin, Some(email("ops@example.com"))).await;
    assert_eq!(st, 400);
    assert!(body.to_string().contains("not authorized to receive notifications"), "{body}");
    let (st, body) = api(&r, Method::POST, path, &admin, Some(email(""))).await;
    assert!(st == 400 && body.to_string().contains("Missing e-mail address"), "{body}");
    exec(
        &r,
        "INSERT INTO repositoryauthorizedemail (repository_id, email, code, confirmed) \
              SELECT id, 'ops@example.com', 'c0de', true FROM repository WHERE name = 'app'",
    )
    .await;
    let (st, body) = api(&r, Method::POST, path, &admin, Some(email("ops@example.com"))).await;
    assert_eq!(st, 201, "{body}");

    // A webhook with a template; a template that does not parse is refused at creation.
    let (url, got) = sink().await;
    let hook = |template: &str| json!({"event": "repo_push", "method": "webhook", "config": {"url": url, "template": template}, "eventConfig": {}});
    let (st, body) = api(&r, Method::POST, path, &admin, Some(hook(r#"{"text": "#))).await;
    assert!(st == 400 && body.to_string().contains("Could not parse template"), "{body}");
    let (st, body) = api(&r, Method::POST, path, &admin,
        Some(hook(r#"{"text": "pushed ${updated_tags} to ${repository}", "tags": "${updated_tags}", "missing": "${nope.x}"}"#))).await;
    assert_eq!(st, 201, "{body}");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut cfg = quay_server::worker::WorkerConfig::from_config(&r.config);
    cfg.gc_every = Some(Duration::from_millis(200));
    cfg.storage_sweep_every = None;
    cfg.upload_cleanup_every = None;
    tokio::spawn(quay_server::worker::run(r.store.clone(), r.storage.clone(), cfg, stopped));

    let t = r.token(Some("admin"), &["repository:admin/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("admin/app", &t, config).await;
    let m = image_manifest((&dc, config.len()), &[], "");
    assert_eq!(r.put_manifest("admin/app", "v1", &t, OCI_MANIFEST, &m).await.status(), 201);

    let got_mail = mails(&s, 1).await;
    assert_eq!(got_mail.len(), 1, "one e-mail");
    let mail = &got_mail[0];
    assert_eq!(mail["from"], "quay@example.com");
    assert_eq!(mail["to"], json!(["ops@example.com"]));
    assert_eq!(mail["tls"], true, "STARTTLS before the message");
    assert_eq!(mail["auth"], true, "authenticated");
    let data = mail["data"].as_str().unwrap_or("");
    assert!(data.contains("Subject: Repository admin/app updated"), "{data}");
    assert!(data.contains("v1"), "{data}");

    let mut hooks = Vec::new();
    for _ in 0..200 {
        hooks = got.lock().expect("lock").clone();
        if !hooks.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(hooks, vec![json!({"text": "pushed v1 to admin/app", "tags": ["v1"], "missing": null})]);
    let failures =
        scalar(&r, "SELECT CAST(COALESCE(SUM(number_of_failures), 0) AS BIGINT) FROM repositorynotification")
            .await;
    assert_eq!(failures, 0);

    // The periodic jobs are visible to a DBA (PostgreSQL).
    if backend == Backend::Postgres {
        let mut runs = 0;
        for _ in 0..200 {
            runs = scalar(&r, "SELECT COALESCE(MAX(runs), 0) FROM quay.periodic_jobs WHERE job = 'gc' AND last_status = 'ok'").await;
            if runs >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(runs >= 2, "quay.periodic_jobs shows GC runs: {runs}");
        assert_eq!(scalar(&r, "SELECT COUNT(*) FROM quay.periodic_jobs WHERE job = 'autoprune'").await, 1);
    }
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_and_templates_sqlite() {
    email_and_templates(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_and_templates_postgres() {
    email_and_templates(Backend::Postgres).await;
}
