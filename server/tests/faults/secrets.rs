//! No secret in any log line or error body (issue 14, "Secrets"). A real `quay serve` with every
//! log target at `debug`, in JSON and in text, over PostgreSQL (a password in `DB_URI`) and S3
//! storage (moto, with a secret key): a run that initializes the first user, signs in through a
//! browser session, issues registry tokens for a user, a robot and an app-specific token,
//! pushes and pulls, and fails on purpose with wrong passwords, forged bearer tokens and bad
//! Basic headers. Then every log line and every error body is searched for every secret used.

use crate::client::{Rng, free_port, image, push};
use crate::installation::Installation;
use crate::support::Server;
use quay_tests::TestDb;
use serde_json::{Value, json};
use std::sync::atomic::AtomicUsize;

struct Run {
    http: reqwest::Client,
    base: String,
    /// Every secret the run used or was given.
    secrets: Vec<(String, String)>,
    /// The bodies of every answer with status >= 400.
    error_bodies: Vec<(String, String)>,
}

impl Run {
    fn secret(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 8, "{what} too short to search for");
        self.secrets.push((what.to_string(), value.to_string()));
    }

    async fn send(
        &mut self,
        what: &str,
        req: reqwest::RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let resp = req.send().await.expect(what);
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        if status >= 400 {
            self.error_bodies.push((format!("{what} ({status})"), body.clone()));
        }
        (status, headers, body)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `/v2/auth` with Basic credentials; the token when granted.
    async fn registry_token(&mut self, user: &str, password: &str, scope: &str) -> Option<String> {
        let host = self.base.trim_start_matches("http://").to_string();
        let req = self
            .http
            .get(self.url(&format!("/v2/auth?service={host}&scope={scope}")))
            .basic_auth(user, Some(password));
        let (status, _, body) = self.send(&format!("/v2/auth as {user}"), req).await;
        let token = (status == 200).then(|| {
            serde_json::from_str::<Value>(&body).expect("json")["token"].as_str().expect("token").to_string()
        })?;
        self.secret(&format!("registry token of {user}"), &token);
        self.secret(&format!("registry token signature of {user}"), token.rsplit('.').next().unwrap_or(""));
        Some(token)
    }
}

fn cookies(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| {
            v.to_str().ok()?.split(';').next()?.split_once('=').map(|(n, v)| (n.into(), v.into()))
        })
        .collect()
}

async fn exercise(run: &mut Run) {
    let password = "correct-horse-battery-staple-41";
    run.secret("admin password", password);
    let (status, _, body) = run
        .send(
            "initialize",
            run.http.post(run.url("/api/v1/user/initialize")).json(&json!({
                "username": "admin", "password": password, "email": "admin@example.com", "access_token": true
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let oauth = serde_json::from_str::<Value>(&body).expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    run.secret("OAuth access token", &oauth);

    // A browser session: CSRF token, sign-in, the session cookie.
    let (_, headers, body) = run.send("csrf", run.http.get(run.url("/csrf_token"))).await;
    let csrf =
        serde_json::from_str::<Value>(&body).expect("json")["csrf_token"].as_str().expect("csrf").to_string();
    let jar = cookies(&headers);
    let cookie_header = jar.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
    let wrong = "wrong-password-for-signin-77";
    run.secret("wrong sign-in password", wrong);
    let signin = |run: &Run, pw: &str| {
        run.http
            .post(run.url("/api/v1/signin"))
            .header("cookie", &cookie_header)
            .header("x-csrf-token", &csrf)
            .json(&json!({"username": "admin", "password": pw}))
    };
    let req = signin(run, wrong);
    let (status, _, _) = run.send("signin, wrong password", req).await;
    assert!(status >= 400);
    // Quay's login back-off: the first wrong password holds logins for 0.5 s.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let req = signin(run, password);
    let (status, headers, _) = run.send("signin", req).await;
    assert_eq!(status, 200);
    for (name, value) in cookies(&headers).into_iter().chain(jar) {
        if value.len() >= 8 {
            run.secret(&format!("cookie {name}"), &value);
        }
    }

    // Registry tokens for the user, a robot and an app-specific token; a push and pulls.
    let scope = "repository:admin/app:push,pull";
    let token = run.registry_token("admin", password, scope).await.expect("admin token");
    let robot: Value = serde_json::from_str(
        &run.send(
            "robot",
            run.http.put(run.url("/api/v1/user/robots/ci")).bearer_auth(&oauth).json(&json!({})),
        )
        .await
        .2,
    )
    .expect("json");
    let robot_token = robot["token"].as_str().expect("robot token").to_string();
    run.secret("robot token", &robot_token);
    let created: Value = serde_json::from_str(
        &run.send(
            "app token",
            run.http.post(run.url("/api/v1/user/apptoken")).bearer_auth(&oauth).json(&json!({"title": "ci"})),
        )
        .await
        .2,
    )
    .expect("json");
    let code = created["token"]["token_code"].as_str().expect("code").to_string();
    run.secret("app token code", &code);
    run.registry_token("$app", &code, scope).await.expect("app token");
    run.registry_token("admin+ci", &robot_token, "repository:admin/app:pull").await;
    let mut rng = Rng(7);
    let img = image(1, &mut rng, b"a layer every image shares");
    let img = crate::client::Image { repo: "admin/app".into(), ..img };
    push(&run.http, &run.base, &token, &img, true, &AtomicUsize::new(0)).await.expect("push");
    let (status, _, _) = run
        .send(
            "pull",
            run.http.get(run.url(&format!("/v2/admin/app/manifests/{}", img.tag))).bearer_auth(&token),
        )
        .await;
    assert_eq!(status, 200);

    // Failures carrying secrets: wrong passwords and tokens, forged bearer tokens, bad Basic.
    for (user, pw) in [
        ("admin", "wrong-registry-password-88"),
        ("admin+ci", "wrong-robot-token-ABCDEFGH"),
        ("$app", "wrong-app-token-code-0123"),
    ] {
        run.secret(&format!("wrong secret for {user}"), pw);
        assert!(run.registry_token(user, pw, scope).await.is_none());
    }
    let forged = format!("{}.{}", token.rsplit_once('.').expect("jwt").0, "Zm9yZ2VkLXNpZ25hdHVyZS14eXo");
    run.secret("forged bearer token", "Zm9yZ2VkLXNpZ25hdHVyZS14eXo");
    let (status, _, _) = run
        .send("forged bearer", run.http.get(run.url("/v2/admin/app/tags/list")).bearer_auth(&forged))
        .await;
    assert_eq!(status, 401);
    let opaque = "opaque-bearer-token-secret-5150";
    run.secret("opaque bearer token", opaque);
    let (status, _, _) = run
        .send("opaque bearer on /api/v1", run.http.get(run.url("/api/v1/user/")).bearer_auth(opaque))
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = run
        .send("opaque bearer on /v2", run.http.get(run.url("/v2/admin/app/tags/list")).bearer_auth(opaque))
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = run
        .send(
            "malformed Basic",
            run.http.get(run.url("/v2/auth")).header("authorization", format!("Basic {opaque}!!")),
        )
        .await;
    assert!(status >= 400);
    // An API call with a password in its body that fails.
    let (status, _, _) = run
        .send(
            "password change refused",
            run.http.put(run.url("/api/v1/user/")).bearer_auth(&oauth).json(&json!({"password": "short"})),
        )
        .await;
    assert!(status >= 400);
}

async fn no_secret_in_logs(json_logs: bool) {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let moto = quay_tests::moto::moto("secrets").await;
    let s3_secret = "s3-secret-key-never-logged-1234";
    let storage = quay_tests::moto::storage(&moto, "secrets", false)
        .replace("s3_secret_key: testing", &format!("s3_secret_key: {s3_secret}"));
    let db = TestDb::with_extension("secrets").await.expect("database");
    // A password in DB_URI (the socket's peer authentication ignores it).
    let db_password = "db-password-never-logged-9876";
    let db_url = db.url.replacen("postgresql://", &format!("postgresql://{}:{db_password}@", whoami()), 1);
    let inst =
        Installation::on_database(&db_url, dir.path(), port, &storage, "FEATURE_USER_INITIALIZE: true\n")
            .await;
    let mut args = inst.args();
    if json_logs {
        args.extend(["--log-format", "json"]);
    }
    let listen = format!("127.0.0.1:{port}");
    let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let server = tokio::task::spawn_blocking(move || {
        Server::start_logging(&owned.iter().map(String::as_str).collect::<Vec<_>>(), &listen, "debug")
    })
    .await
    .expect("start");
    let mut run = Run {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        secrets: Vec::new(),
        error_bodies: Vec::new(),
    };
    run.secret("S3 secret key", s3_secret);
    run.secret("DB_URI password", db_password);
    run.secret("DATABASE_SECRET_KEY", "crash-secret");
    run.secret("SECRET_KEY", "crash-session");
    let pem = std::fs::read_to_string(dir.path().join("quay.pem")).expect("instance key");
    let key_line = pem.lines().nth(3).expect("a line of the private key").to_string();
    run.secret("instance private key", &key_line);
    exercise(&mut run).await;
    let (_, logs) = tokio::task::spawn_blocking(move || server.stop_with_logs()).await.expect("stop");
    assert!(logs.len() > 20, "the run logged ({} lines)", logs.len());
    if std::env::var("QUAY_SECRETS_DUMP").is_ok() {
        std::fs::write("/tmp/secrets-run.log", logs.join("\n")).expect("dump");
    }
    if json_logs {
        let not_json = logs.iter().filter(|l| serde_json::from_str::<Value>(l).is_err()).count();
        assert_eq!(not_json, 0, "every line is JSON");
    }
    let mut leaks = Vec::new();
    // Derived secrets: bcrypt hashes (`$2b$`) and field-encrypted values (`v0$$`), e.g. in SQL
    // statement parameters.
    for line in logs.iter().filter(|l| l.contains("$2b$") || l.contains("$2a$") || l.contains("v0$$")) {
        leaks.push(format!("log line has a password hash or an encrypted secret: {line}"));
    }
    for (what, secret) in &run.secrets {
        for line in logs.iter().filter(|l| l.contains(secret.as_str())) {
            leaks.push(format!("log line has the {what}: {line}"));
        }
        for (req, body) in run.error_bodies.iter().filter(|(_, b)| b.contains(secret.as_str())) {
            leaks.push(format!("error body of {req} has the {what}: {body}"));
        }
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
    eprintln!(
        "secrets: {} secrets searched in {} log lines and {} error bodies: none found",
        run.secrets.len(),
        logs.len(),
        run.error_bodies.len()
    );
}

fn whoami() -> String {
    let out = std::process::Command::new("id").arg("-un").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_text_logs() {
    no_secret_in_logs(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_json_logs() {
    no_secret_in_logs(true).await;
}
