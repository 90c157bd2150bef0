//! Replays the recorded Python Quay `/api/v1` scenario (the `quay-api-golden` reference: 391
//! steps, its placeholders and comparing rules in that folder's README) against the server on both
//! backends, as docs/api-v1.md §4 says, and compares every answer with the recording. Steps listed
//! in `tests/api-golden-expected-failures.txt` may fail; any other failing step fails the test.
//!
//! The golden folder is `$QUAY_API_GOLDEN`, else `tests/reference/quay-api-golden`, else the team's
//! shared copy beside the checkout (`../shared/reference/quay-api-golden`).

pub mod matcher;

use super::common::{Backend, Registry};

use matcher::{Bindings, Got};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The recorder's configuration, as far as it shows in the answers (docs/api-v1.md §4).
/// `SERVER_HOSTNAME`, `PREFERRED_URL_SCHEME` and `DATABASE_SECRET_KEY` come from `Registry::start`.
const CONFIG: &str = "SUPER_USERS: [quayadmin]\n\
    FEATURE_SUPERUSERS_FULL_ACCESS: true\n\
    FEATURE_ANONYMOUS_ACCESS: true\n\
    FEATURE_USER_INITIALIZE: true\n\
    FEATURE_MAILING: false\n\
    DEFAULT_TAG_EXPIRATION: 2w\n\
    PERMANENTLY_DELETE_TAGS: true\n\
    SECRET_KEY: \"golden-secret-key\"\n\
    FRESH_LOGIN_TIMEOUT: 1h\n";

const USER_AGENT: &str = "quay-golden-recorder/1";
const SUPERUSER: &str = "quayadmin";
const SUPERUSER_PASSWORD: &str = "golden-admin-password";
const FIXTURE_USER: &str = "bench";
/// A hung route must not hang CI.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const PUSH_TIMEOUT: Duration = Duration::from_secs(180);
/// Anonymous steps that send the anonymous session (cookie jar and CSRF token) of S21/S51.
const ANON_SESSION_STEPS: [u64; 5] = [21, 22, 51, 52, 194];
/// S21 and S51 start a fresh anonymous session.
const ANON_SESSION_STARTS: [u64; 2] = [21, 51];
/// S23 sends its session without the CSRF header on purpose.
const NO_CSRF_STEP: u64 = 23;
/// S3: "current user with an unknown bearer token".
const UNKNOWN_BEARER_STEP: u64 = 3;
/// Aggregate logs group by UTC day: skipped when the run crossed midnight UTC.
const AGGREGATE_STEPS: [u64; 3] = [250, 259, 262];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_golden_sqlite() {
    replay(Backend::Sqlite, "api_golden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_golden_postgres() {
    replay(Backend::Postgres, "api_golden").await;
}

/// The reference folder: `scenario.jsonl`, `digest-map.json`, `image-layout/`.
fn golden_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QUAY_API_GOLDEN") {
        return PathBuf::from(dir);
    }
    let inside = quay_tests::repo_path("tests/reference/quay-api-golden");
    if inside.join("scenario.jsonl").exists() {
        return inside;
    }
    let shared = quay_tests::repo_path("../shared/reference/quay-api-golden");
    shared.canonicalize().unwrap_or(shared)
}

struct Golden {
    dir: PathBuf,
    steps: Vec<Value>,
    /// `<digest:N>` → `sha256:…`
    digests: HashMap<String, String>,
}

impl Golden {
    fn load() -> Golden {
        let dir = golden_dir();
        let text = std::fs::read_to_string(dir.join("scenario.jsonl"))
            .unwrap_or_else(|e| panic!("cannot read {}/scenario.jsonl: {e}", dir.display()));
        let steps: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("scenario.jsonl: one JSON object a line"))
            .collect();
        let map: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("digest-map.json")).expect("digest-map.json"),
        )
        .expect("digest-map.json is JSON");
        let digests = map
            .as_object()
            .expect("digest-map.json: an object")
            .iter()
            .map(|(k, v)| (k.clone(), v["digest"].as_str().expect("digest").to_string()))
            .collect();
        Golden { dir, steps, digests }
    }
}

/// The step numbers of `tests/api-golden-expected-failures.txt` (one a line, `#` comments).
fn expected_failures() -> BTreeSet<u64> {
    let path = quay_tests::repo_path("tests/api-golden-expected-failures.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    parse_step_list(&text)
}

fn parse_step_list(text: &str) -> BTreeSet<u64> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.parse().unwrap_or_else(|_| panic!("api-golden-expected-failures.txt: {l:?} is not a step"))
        })
        .collect()
}

fn now_s() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// (year, month, day) of a day number since 1970-01-01 (proleptic Gregorian, UTC).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A request-only placeholder's value at sending time: `<epoch_s:now±S>` (an integer),
/// `<date:mdy:today>` / `<date:mdy:today-N>` (UTC `MM/DD/YYYY`).
fn send_time_value(ph: &str, now: i64) -> Option<Value> {
    let inner = ph.strip_prefix('<')?.strip_suffix('>')?;
    if let Some(off) = inner.strip_prefix("epoch_s:now") {
        let delta: i64 = match off.split_at_checked(1)? {
            ("+", n) => n.parse().ok()?,
            ("-", n) => -n.parse::<i64>().ok()?,
            _ => return None,
        };
        return Some(json!(now + delta));
    }
    if let Some(rest) = inner.strip_prefix("date:mdy:today") {
        let back: i64 = if rest.is_empty() { 0 } else { rest.strip_prefix('-')?.parse().ok()? };
        let (y, m, d) = civil_from_days(now.div_euclid(86_400) - back);
        return Some(Value::String(format!("{m:02}/{d:02}/{y:04}")));
    }
    None
}

/// Percent-encodes a value put into a query string (unreserved characters, `/` and `:` stay).
fn query_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` with every bound placeholder and request-only placeholder replaced by its value
/// (percent-encoded when `encode`); other `<…>` text stays as it is.
fn substitute(text: &str, binds: &Bindings, now: i64, encode: bool) -> String {
    let is_ph = |p: &str| binds.contains_key(p) || send_time_value(p, now).is_some();
    let mut out = String::new();
    for piece in matcher::pieces(text, &is_ph) {
        match piece {
            matcher::Piece::Lit(l) => out.push_str(l),
            matcher::Piece::Ph(p) => {
                let v = binds.get(p).cloned().unwrap_or_else(|| match send_time_value(p, now) {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => p.to_string(),
                });
                out.push_str(&if encode { query_encode(&v) } else { v });
            }
        }
    }
    out
}

/// A request path: placeholders substituted, values in the query string percent-encoded.
fn substitute_path(path: &str, binds: &Bindings, now: i64) -> String {
    match path.split_once('?') {
        Some((p, q)) => format!("{}?{}", substitute(p, binds, now, false), substitute(q, binds, now, true)),
        None => substitute(path, binds, now, false),
    }
}

/// A request body: strings and keys substituted; a string that is exactly `<epoch_s:now±S>`
/// becomes that integer.
fn substitute_json(v: &Value, binds: &Bindings, now: i64) -> Value {
    match v {
        Value::String(s) => match send_time_value(s, now) {
            Some(n @ Value::Number(_)) if !binds.contains_key(s.as_str()) => n,
            _ => Value::String(substitute(s, binds, now, false)),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute_json(x, binds, now)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (substitute(k, binds, now, false), substitute_json(x, binds, now)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A browser-like session: cookies (name=value) and the current CSRF token.
#[derive(Debug, Default, Clone)]
struct Session {
    cookies: Vec<(String, String)>,
    csrf: Option<String>,
}

impl Session {
    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty())
            .then(|| self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; "))
    }

    /// Takes one `Set-Cookie` value: keeps name=value, drops the cookie when it is expired.
    fn set_cookie(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else { return };
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        let expired = parts.any(|attr| {
            let attr = attr.trim().to_ascii_lowercase();
            attr.strip_prefix("max-age=").is_some_and(|n| n.trim().parse::<i64>().is_ok_and(|n| n <= 0))
                || attr.strip_prefix("expires=").is_some_and(|d| d.contains("1970"))
        });
        self.cookies.retain(|(n, _)| *n != name);
        if !expired && !value.is_empty() {
            self.cookies.push((name, value));
        }
    }
}

/// Who sends a step, as far as the harness keeps state for it.
enum Jar {
    User(String),
    Anonymous,
    None,
}

struct Replay {
    base_url: String,
    http: reqwest::Client,
    binds: Bindings,
    bearer: Option<String>,
    users: HashMap<String, Session>,
    anon: Session,
    /// Robot full name → the token of its latest create/get/regenerate answer.
    robots: HashMap<String, String>,
    /// `<user1>` / `<user2>` → the password the harness picked.
    passwords: HashMap<String, String>,
    layout: tempfile::TempDir,
}

impl Replay {
    fn new(r: &Registry, golden: &Golden) -> Replay {
        let prefix = format!("gd{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let mut binds = Bindings::new();
        let mut bind = |k: &str, v: String| binds.insert(k.to_string(), v);
        bind("<run-prefix>", prefix.clone());
        bind("<user1>", format!("{prefix}alice"));
        bind("<user2>", format!("{prefix}bob"));
        bind("<org>", format!("{prefix}org"));
        bind("<superuser>", SUPERUSER.into());
        bind("<fixture_user>", FIXTURE_USER.into());
        bind("<base>", format!("http://{}", r.host));
        bind("<host>", r.host.clone());
        bind("<registry>", r.host.clone());
        bind("<secret:password:user1>", "alice-golden-pw1".into());
        bind("<secret:password:user2>", "bob-golden-pw2".into());
        for (k, v) in &golden.digests {
            bind(k, v.clone());
        }
        let passwords = HashMap::from([
            ("<user1>".to_string(), binds["<secret:password:user1>"].clone()),
            ("<user2>".to_string(), binds["<secret:password:user2>"].clone()),
        ]);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("client");
        // A private copy of the image layout: skopeo never touches the reference.
        let layout = tempfile::tempdir().expect("tmp");
        copy_dir(&golden.dir.join("image-layout"), layout.path());
        Replay {
            base_url: format!("http://{}", r.host),
            http,
            binds,
            bearer: None,
            users: HashMap::new(),
            anon: Session::default(),
            robots: HashMap::new(),
            passwords,
            layout,
        }
    }

    /// The fixture the scenario assumes: `quayadmin` (first user, OAuth token) and `bench`.
    async fn fixture(&mut self) -> Result<(), String> {
        let resp = self
            .http
            .post(format!("{}/api/v1/user/initialize", self.base_url))
            .json(&json!({"username": SUPERUSER, "password": SUPERUSER_PASSWORD,
                          "email": "quayadmin@example.com", "access_token": true}))
            .send()
            .await
            .map_err(|e| format!("POST /api/v1/user/initialize: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        let token = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .filter(|_| status == 200)
            .ok_or_else(|| format!("POST /api/v1/user/initialize: {status} {}", matcher::brief(&body)))?;
        self.bearer = Some(token.clone());
        let resp = self
            .http
            .post(format!("{}/api/v1/superuser/users/", self.base_url))
            .bearer_auth(&token)
            .json(&json!({"username": FIXTURE_USER, "email": "bench@example.com"}))
            .send()
            .await
            .map_err(|e| format!("POST /api/v1/superuser/users/: {e}"))?;
        let status = resp.status().as_u16();
        if status != 200 {
            let body = resp.text().await.unwrap_or_default();
            return Err(format!("POST /api/v1/superuser/users/ (bench): {status} {}", matcher::brief(&body)));
        }
        Ok(())
    }

    async fn step(&mut self, step: &Value) -> Result<(), String> {
        if step.get("action").and_then(Value::as_str) == Some("push") {
            self.push(step).await
        } else {
            self.http_step(step).await
        }
    }

    async fn http_step(&mut self, step: &Value) -> Result<(), String> {
        let n = step["step"].as_u64().unwrap_or(0);
        let now = now_s();
        let method = step["method"].as_str().unwrap_or("GET");
        let path = substitute_path(step["path"].as_str().unwrap_or(""), &self.binds, now);
        let actor = step["actor"].as_str().unwrap_or("anonymous");
        let actor_name = step["actor_name"].as_str().unwrap_or("");
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let is_get = method == reqwest::Method::GET;
        let mut req = self.http.request(method, format!("{}{path}", self.base_url));
        let jar = match actor {
            "superuser" => {
                if let Some(t) = &self.bearer {
                    req = req.bearer_auth(t);
                }
                Jar::None
            }
            "user" => Jar::User(actor_name.to_string()),
            "robot" => {
                let name = substitute(actor_name, &self.binds, now, false);
                let token = self.robots.get(&name).cloned().unwrap_or_default();
                req = req.basic_auth(name, Some(token));
                Jar::None
            }
            _ if ANON_SESSION_STEPS.contains(&n) => {
                if ANON_SESSION_STARTS.contains(&n) {
                    self.anon = Session::default();
                }
                Jar::Anonymous
            }
            _ => {
                if n == UNKNOWN_BEARER_STEP {
                    req = req.bearer_auth("golden-unknown-token");
                }
                Jar::None
            }
        };
        if let Some(session) = self.session(&jar) {
            if let Some(cookie) = session.cookie_header() {
                req = req.header(reqwest::header::COOKIE, cookie);
            }
            if !is_get
                && n != NO_CSRF_STEP
                && let Some(csrf) = &session.csrf
            {
                req = req.header("X-CSRF-Token", csrf.clone());
            }
        }
        if let Some(text) = step.get("request_text").and_then(Value::as_str) {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(text.to_string());
        } else if let Some(body) = step.get("request_json").filter(|b| !b.is_null()) {
            req = req.json(&substitute_json(body, &self.binds, now));
        }
        let resp = req.send().await.map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let mut headers = HashMap::new();
        for (name, value) in resp.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == reqwest::header::SET_COOKIE {
                if let Some(session) = self.session(&jar) {
                    session.set_cookie(&value);
                }
                continue;
            }
            headers.entry(name.as_str().to_ascii_lowercase()).or_insert(value);
        }
        let body = resp.text().await.map_err(|e| format!("reading the body failed: {e}"))?;
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        if let Some(session) = self.session(&jar) {
            if let Some(t) = parsed.as_ref().and_then(|v| v.get("csrf_token")).and_then(Value::as_str)
                && path.starts_with("/csrf_token")
            {
                session.csrf = Some(t.to_string());
            }
            if let Some(t) = headers.get("x-next-csrf-token") {
                session.csrf = Some(t.clone());
            }
        }
        // A robot answer (create, get, regenerate) carries its current token.
        if let Some(Value::Object(o)) = &parsed
            && let (Some(name), Some(token)) =
                (o.get("name").and_then(Value::as_str), o.get("token").and_then(Value::as_str))
            && name.contains('+')
            && !token.is_empty()
        {
            self.robots.insert(name.to_string(), token.to_string());
        }
        matcher::compare_step(step, &Got { status, headers, body }, &mut self.binds)
    }

    fn session(&mut self, jar: &Jar) -> Option<&mut Session> {
        match jar {
            Jar::User(name) => Some(self.users.entry(name.clone()).or_default()),
            Jar::Anonymous => Some(&mut self.anon),
            Jar::None => None,
        }
    }

    /// `skopeo copy` of a ref of the golden layout; only zero or non-zero exit is compared.
    async fn push(&mut self, step: &Value) -> Result<(), String> {
        let now = now_s();
        let actor_name = step["actor_name"].as_str().unwrap_or("");
        let creds = match step["actor"].as_str() {
            Some("user") => {
                let user =
                    self.binds.get(actor_name).ok_or_else(|| format!("unknown push actor {actor_name}"))?;
                let password =
                    self.passwords.get(actor_name).ok_or_else(|| format!("no password for {actor_name}"))?;
                format!("{user}:{password}")
            }
            _ => {
                let name = substitute(actor_name, &self.binds, now, false);
                let token = self.robots.get(&name).ok_or_else(|| {
                    format!("no token for robot {name} (its create/regenerate step failed)")
                })?;
                format!("{name}:{token}")
            }
        };
        let source = step["source"].as_str().unwrap_or("");
        let reference =
            source.strip_prefix("golden-layout:").ok_or_else(|| format!("unknown push source {source}"))?;
        let dest = substitute(step["dest"].as_str().unwrap_or(""), &self.binds, now, false);
        let tool = step["tool"].as_str().unwrap_or("");
        let mut cmd = std::process::Command::new("skopeo");
        cmd.args(["--insecure-policy", "copy", "--preserve-digests"]);
        if tool.split_whitespace().any(|a| a == "--all") {
            cmd.arg("--all");
        }
        cmd.args(["--dest-tls-verify=false", "--dest-creds", &creds]);
        cmd.arg(format!("oci:{}:{reference}", self.layout.path().display()));
        cmd.arg(format!("docker://{dest}"));
        let log = tempfile::NamedTempFile::new().expect("tmp");
        cmd.stdout(std::process::Stdio::null()).stderr(log.reopen().expect("reopen"));
        let mut child =
            cmd.spawn().map_err(|e| format!("cannot run skopeo (tests/run.sh installs it): {e}"))?;
        let started = std::time::Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > PUSH_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("skopeo did not finish in {PUSH_TIMEOUT:?}"));
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => return Err(format!("skopeo: {e}")),
            }
        };
        let want_ok = step["exit_code"].as_i64() == Some(0);
        if status.success() == want_ok {
            return Ok(());
        }
        let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        // `time="…" level=fatal msg="…"`: the message, whose end says what the registry answered.
        let last = last.split_once(" msg=").map_or(last, |(_, m)| m.trim_matches('"'));
        let last: String = {
            let chars: Vec<char> = last.chars().collect();
            chars[chars.len().saturating_sub(160)..].iter().collect()
        };
        Err(format!(
            "skopeo exit {} (expected {}): {}",
            status.code().map_or("signal".into(), |c| c.to_string()),
            if want_ok { "0" } else { "non-zero" },
            last
        ))
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn utc_day() -> i64 {
    now_s().div_euclid(86_400)
}

async fn replay(backend: Backend, tag: &str) {
    let golden = Golden::load();
    let expected = expected_failures();
    let r = Registry::start(backend, tag, CONFIG).await;
    let first_day = utc_day();
    let mut run = Replay::new(&r, &golden);
    let fixture = run.fixture().await;
    let mut results = Vec::new();
    for step in &golden.steps {
        let mut result = run.step(step).await;
        // A wrong password starts Quay's login back-off (0.5 s after the first). The recording
        // ran at Python Quay's pace, which outlasted it before the next password login; this
        // replay is fast enough to land inside it, so it waits it out as the recording did.
        if step["path"].as_str() == Some("/api/v1/signin") && step["status"].as_u64() == Some(403) {
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        if fixture.is_err() && result.is_ok() {
            result = Err("(the step matched, but the fixture failed)".into());
        }
        results.push((step, result));
    }
    let crossed_midnight = utc_day() != first_day;

    let mut report = String::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut unexpected = Vec::new();
    let mut now_passing = Vec::new();
    let mut lines = Vec::new();
    for (step, result) in &results {
        let n = step["step"].as_u64().unwrap_or(0);
        if crossed_midnight && AGGREGATE_STEPS.contains(&n) {
            skipped += 1;
            continue;
        }
        match result {
            Ok(()) => {
                passed += 1;
                if expected.contains(&n) {
                    now_passing.push(n);
                }
            }
            Err(why) => {
                failed += 1;
                let listed = expected.contains(&n);
                if !listed {
                    unexpected.push(n);
                }
                let (method, path) = match step.get("action").and_then(Value::as_str) {
                    Some("push") => ("PUSH", step["dest"].as_str().unwrap_or("")),
                    _ => (step["method"].as_str().unwrap_or(""), step["path"].as_str().unwrap_or("")),
                };
                let mark = if listed { "" } else { " [NOT IN THE EXPECTED-FAILURES LIST]" };
                lines.push(format!("  S{n} {method} {path}: {why}{mark}"));
            }
        }
    }
    report.push_str(&format!("\n== api_golden {backend:?} ({}):\n", golden.dir.display()));
    if let Err(e) = &fixture {
        report.push_str(&format!("  fixture failed, so every step counts as failed: {e}\n"));
    }
    report.push_str(&format!("  {passed} passed, {failed} failed"));
    if skipped > 0 {
        report.push_str(&format!(", {skipped} skipped (the run crossed midnight UTC)"));
    }
    report.push('\n');
    for l in &lines {
        report.push_str(l);
        report.push('\n');
    }
    if !now_passing.is_empty() {
        let list: Vec<String> = now_passing.iter().map(u64::to_string).collect();
        report.push_str(&format!(
            "  now passing on {backend:?}, remove from tests/api-golden-expected-failures.txt once both \
             backends pass: {}\n",
            list.join(" ")
        ));
    }
    println!("{report}");
    assert!(
        unexpected.is_empty(),
        "api_golden {backend:?}: steps {unexpected:?} failed and are not in tests/api-golden-expected-failures.txt"
    );
}

#[cfg(test)]
mod harness_tests {
    use super::*;

    #[test]
    fn dates_and_send_time_values() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let t = 1_764_979_200; // 2025-12-06 00:00:00 UTC
        assert_eq!(send_time_value("<date:mdy:today>", t), Some(json!("12/06/2025")));
        assert_eq!(send_time_value("<date:mdy:today-1>", t), Some(json!("12/05/2025")));
        assert_eq!(send_time_value("<epoch_s:now+259200>", t), Some(json!(t + 259_200)));
        assert_eq!(send_time_value("<epoch_s:now-3600>", t), Some(json!(t - 3600)));
        assert_eq!(send_time_value("<epoch_s>", t), None);
    }

    #[test]
    fn request_substitution() {
        let b: Bindings = [("<org>", "gdorg"), ("<token:page:1>", "gAAA+b/c==")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            substitute_path(
                "/api/v1/organization/<org>/logs?performer=<org>%2Bbuilder&next_page=<token:page:1>",
                &b,
                0
            ),
            "/api/v1/organization/gdorg/logs?performer=gdorg%2Bbuilder&next_page=gAAA%2Bb/c%3D%3D"
        );
        assert_eq!(substitute_path("/api/v1/x/<uuid:4>", &b, 0), "/api/v1/x/<uuid:4>", "unbound stays");
        let body = json!({"expiration": "<epoch_s:now+10>", "namespace": "<org>", "<org>": ["<org>x"]});
        assert_eq!(
            substitute_json(&body, &b, 100),
            json!({"expiration": 110, "namespace": "gdorg", "gdorg": ["gdorgx"]})
        );
    }

    #[test]
    fn cookies() {
        let mut s = Session::default();
        s.set_cookie("_csrf_token=abc; HttpOnly; Path=/");
        s.set_cookie("session=xyz; Path=/; SameSite=Lax");
        assert_eq!(s.cookie_header().as_deref(), Some("_csrf_token=abc; session=xyz"));
        s.set_cookie("_csrf_token=def; Path=/");
        assert_eq!(s.cookie_header().as_deref(), Some("session=xyz; _csrf_token=def"));
        s.set_cookie("session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/");
        assert_eq!(s.cookie_header().as_deref(), Some("_csrf_token=def"));
    }

    #[test]
    fn expected_failures_list() {
        assert_eq!(parse_step_list("# header\n1\n 23 # why\n\n391\n"), BTreeSet::from([1, 23, 391]));
    }

    /// Every golden string's `<…>` is either a placeholder the matcher knows or literal text the
    /// README names (HTML tags, `<operation>`/`<tag_name>` in S180's message).
    #[test]
    fn golden_scenario_is_readable() {
        let golden = Golden::load();
        assert_eq!(golden.steps.len(), 391);
        for (i, step) in golden.steps.iter().enumerate() {
            assert_eq!(step["step"].as_u64(), Some(i as u64 + 1));
            if step.get("action").and_then(Value::as_str) == Some("push") {
                assert!(step["source"].as_str().is_some_and(|s| s.starts_with("golden-layout:")));
                assert!(step["dest"].is_string() && step["exit_code"].is_i64() && step["tool"].is_string());
            } else {
                assert!(step["method"].is_string() && step["path"].is_string() && step["status"].is_u64());
                assert!(step.get("response_json").is_some() || step["response_text"].is_string());
            }
        }
        for k in golden.digests.keys() {
            assert!(k.starts_with("<digest:"));
        }
    }
}
