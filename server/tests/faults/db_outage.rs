//! PostgreSQL restarted, then down for 10 s, under pulls and pushes (issue 14): a cluster of the
//! test's own (`quay_tests::cluster`) behind a real `quay serve`. While PostgreSQL is down every
//! request is answered promptly with 503 (none hangs, none is a 500) and `/health/instance`
//! reports the database; once it is back, pulls and pushes succeed again within 5 s (the pool's
//! broken connections are replaced, not handed out again); every push acknowledged at any
//! point pulls back byte-identical. `/csrf_token` (for a signed-in browser session too) and
//! `/config` answer 200 throughout: Quay's web UI retries them in a tight loop until they do.

use crate::client::{Image, PASSWORD, Rng, assert_acknowledged_pull_back, free_port, image, push, token};
use crate::installation::Installation;
use quay_tests::cluster::Cluster;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a request may take, outage or not: an answer, never a hang.
const PROMPT: Duration = Duration::from_secs(5);
/// How soon after PostgreSQL is back pulls and pushes must succeed again.
const RECOVERY: Duration = Duration::from_secs(5);

/// One answered (or failed) request: when it started, how long it took, what came back.
#[derive(Debug, Clone)]
struct Answer {
    at: Instant,
    took: Duration,
    /// The HTTP status, or 0 when no answer came (connection error, client timeout).
    status: u16,
    pull: bool,
}

/// One push: when it started, how long it took, how it ended.
type PushOutcome = (Instant, Duration, Result<(), String>);

#[derive(Default)]
struct Log {
    answers: Mutex<Vec<Answer>>,
    pushes: Mutex<Vec<PushOutcome>>,
    acked: Mutex<Vec<Image>>,
}

impl Log {
    fn first_success_after(&self, t: Instant, pull: bool) -> Option<Instant> {
        if pull {
            let a = self.answers.lock().expect("lock");
            a.iter().filter(|x| x.pull && x.at >= t && x.status == 200).map(|x| x.at + x.took).min()
        } else {
            let p = self.pushes.lock().expect("lock");
            p.iter().filter(|(at, _, r)| *at >= t && r.is_ok()).map(|(at, took, _)| *at + *took).min()
        }
    }
}

async fn wait_for(log: &Log, after: Instant, seed: u64) -> (Duration, Duration) {
    let deadline = after + RECOVERY + Duration::from_secs(20);
    loop {
        if let (Some(p), Some(q)) =
            (log.first_success_after(after, true), log.first_success_after(after, false))
        {
            return (p - after, q - after);
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: no successful pull and push after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn health(http: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    let r = http.get(format!("{base}/health/instance")).send().await.expect("health");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// The session cookie (`name=value`) a response sets, if any.
fn set_cookie(resp: &reqwest::Response) -> Option<String> {
    let v = resp.headers().get(reqwest::header::SET_COOKIE)?.to_str().ok()?;
    v.split(';').next().map(str::to_string)
}

/// Signs `admin` in as the web UI does; returns the signed-in session's cookie.
async fn browser_session(http: &reqwest::Client, base: &str) -> String {
    let resp = http.get(format!("{base}/csrf_token")).send().await.expect("csrf");
    let cookie = set_cookie(&resp).expect("session cookie");
    let body: serde_json::Value = resp.json().await.expect("csrf json");
    let resp = http
        .post(format!("{base}/api/v1/signin"))
        .header(reqwest::header::COOKIE, &cookie)
        .header("x-csrf-token", body["csrf_token"].as_str().expect("token"))
        .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .expect("signin");
    assert_eq!(resp.status(), 200);
    set_cookie(&resp).expect("signed-in cookie")
}

/// What the web UI asks first, answered while PostgreSQL is down: `/config` and, for the
/// signed-in session, `/csrf_token`. Returns both statuses.
async fn ui_bootstrap(http: &reqwest::Client, base: &str, cookie: &str) -> (u16, u16) {
    let config = http.get(format!("{base}/config")).send().await.expect("config");
    let config_status = config.status().as_u16();
    let features: serde_json::Value = config.json().await.unwrap_or_default();
    assert!(features["features"]["DIRECT_LOGIN"].is_boolean() || config_status != 200, "{features}");
    let csrf = http
        .get(format!("{base}/csrf_token"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .expect("csrf");
    let csrf_status = csrf.status().as_u16();
    let body: serde_json::Value = csrf.json().await.unwrap_or_default();
    assert!(body["csrf_token"].is_string() || csrf_status != 200, "{body}");
    (config_status, csrf_status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restart_and_outage_under_load() {
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Rng(seed.max(1));
    let cluster = Arc::new(Cluster::init().expect("a PostgreSQL cluster of this test's own"));
    let db_url = cluster.quay_database("quay").await.expect("database");
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let inst =
        Installation::on_database(&db_url, dir.path(), port, &Installation::local_storage(dir.path()), "")
            .await;
    inst.init_admin();
    let server = inst.serve(port).await;
    let base = server.base.clone();
    // The client gives up after 30 s: anything near that is a hang, caught by PROMPT below.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let tok = token(&http, &base).await.expect("token");
    let cookie = browser_session(&http, &base).await;
    let shared = rng.bytes(50_000);
    let pulled = image(0, &mut rng, &shared);
    push(&http, &base, &tok, &pulled, false, &AtomicUsize::new(0)).await.expect("first push");

    let log = Arc::new(Log::default());
    log.acked.lock().expect("lock").push(pulled.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(1));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (http, base, tok, log, stop, img) =
            (http.clone(), base.clone(), tok.clone(), log.clone(), stop.clone(), pulled.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                let r = crate::client::pull_by_tag(&http, &base, &tok, &img).await;
                let status = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        if s == 200 {
                            assert_eq!(r.bytes().await.expect("body").as_ref(), img.manifest.as_slice());
                        }
                        s
                    }
                    Err(_) => 0,
                };
                log.answers.lock().expect("lock").push(Answer { at, took: at.elapsed(), status, pull: true });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    for w in 0..3u64 {
        let (http, base, tok, log, stop, next, shared) = (
            http.clone(),
            base.clone(),
            tok.clone(),
            log.clone(),
            stop.clone(),
            next.clone(),
            shared.clone(),
        );
        let mut rng = Rng(seed ^ (w + 1));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let img = image(next.fetch_add(1, Ordering::Relaxed), &mut rng, &shared);
                let at = Instant::now();
                let r = push(&http, &base, &tok, &img, w == 0, &AtomicUsize::new(0)).await;
                if r.is_ok() {
                    log.acked.lock().expect("lock").push(img);
                }
                log.pushes.lock().expect("lock").push((at, at.elapsed(), r));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    // 1. A restart: stopped (sessions terminated) and started again at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || {
        c.stop().expect("stop");
        c.start().expect("start")
    })
    .await
    .expect("restart");
    let restarted = Instant::now();
    let (pull_back, push_back) = wait_for(&log, restarted, seed).await;
    eprintln!("db_outage: after a restart, pulls back in {pull_back:?}, pushes in {push_back:?}");
    assert!(pull_back <= RECOVERY && push_back <= RECOVERY, "seed {seed}: slow recovery after a restart");

    // 2. An outage of 10 s.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop()).await.expect("join").expect("stop");
    let down = Instant::now();
    let mut health_down = Vec::new();
    while down.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let at = Instant::now();
        let (status, body) = health(&http, &base).await;
        assert!(at.elapsed() <= PROMPT, "seed {seed}: /health/instance took {:?} while down", at.elapsed());
        health_down.push((status, body));
        let at = Instant::now();
        let ui = ui_bootstrap(&http, &base, &cookie).await;
        assert!(at.elapsed() <= PROMPT, "seed {seed}: the UI's bootstrap took {:?} while down", at.elapsed());
        assert_eq!(ui, (200, 200), "seed {seed}: /config and /csrf_token while PostgreSQL is down");
    }
    // The outage ends when the start begins: PostgreSQL accepts connections a little before
    // `pg_ctl start -w` notices.
    let starting = Instant::now();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start()).await.expect("join").expect("start");
    let up = Instant::now();
    let (pull_back, push_back) = wait_for(&log, up, seed).await;
    eprintln!("db_outage: after 10 s down, pulls back in {pull_back:?}, pushes in {push_back:?}");
    assert!(pull_back <= RECOVERY && push_back <= RECOVERY, "seed {seed}: slow recovery after an outage");
    // A little more load on the recovered database, then stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client");
    }

    // Requests made and answered while down (from 1 s after the stop, so requests already inside
    // PostgreSQL have ended, until it was started again): only 503s, each promptly.
    let answers = log.answers.lock().expect("lock").clone();
    let pushes: Vec<_> =
        log.pushes.lock().expect("lock").iter().map(|(a, t, r)| (*a, *t, r.clone())).collect();
    let outage = |at: Instant, took: Duration| at >= down + Duration::from_secs(1) && at + took < starting;
    let during: Vec<&Answer> = answers.iter().filter(|a| outage(a.at, a.took)).collect();
    assert!(during.len() > 50, "seed {seed}: too few pulls during the outage ({})", during.len());
    let not_503: Vec<&&Answer> = during.iter().filter(|a| a.status != 503).collect();
    assert!(not_503.is_empty(), "seed {seed}: pulls during the outage not answered 503: {not_503:?}");
    for (at, _, r) in pushes.iter().filter(|(at, took, _)| outage(*at, *took)) {
        let e = r.as_ref().expect_err("no push can succeed while PostgreSQL is down");
        assert!(
            e.contains("503"),
            "seed {seed}: a push during the outage failed with {e:?} at {:?}",
            *at - down
        );
    }
    // At any time, restart included: a success or a 503, never a 500 or a dropped connection.
    let odd: Vec<&Answer> = answers.iter().filter(|a| a.status != 200 && a.status != 503).collect();
    assert!(odd.is_empty(), "seed {seed}: pulls answered neither 200 nor 503: {odd:?}");
    for (_, _, r) in &pushes {
        if let Err(e) = r {
            assert!(e.contains("503"), "seed {seed}: a push failed with {e:?}, not 503");
        }
    }
    let slowest = answers.iter().map(|a| a.took).chain(pushes.iter().map(|p| p.1)).max().unwrap_or_default();
    assert!(slowest <= PROMPT, "seed {seed}: a request took {slowest:?}");
    // After recovery (RECOVERY past the start): only successes.
    let late_failures: Vec<&Answer> =
        answers.iter().filter(|a| a.at >= up + RECOVERY && a.status != 200).collect();
    assert!(late_failures.is_empty(), "seed {seed}: pulls failing after recovery: {late_failures:?}");
    for (at, _, r) in pushes.iter().filter(|(at, _, _)| *at >= up + RECOVERY) {
        assert!(r.is_ok(), "seed {seed}: a push after recovery failed: {r:?} at {:?}", *at - up);
    }
    for (status, body) in &health_down {
        assert_eq!(*status, 503, "seed {seed}: /health/instance while down: {body}");
        assert_eq!(body["data"]["services"]["database"], false, "{body}");
    }
    let (status, body) = health(&http, &base).await;
    assert_eq!(status, 200, "{body}");

    let acked = log.acked.lock().expect("lock").clone();
    let failed = pushes.iter().filter(|p| p.2.is_err()).count();
    eprintln!(
        "db_outage: {} pulls ({} during the outage, all 503), {} pushes acknowledged, {failed} refused, slowest {slowest:?}",
        answers.len(),
        during.len(),
        acked.len()
    );
    assert_acknowledged_pull_back(&http, &base, &acked, seed).await;
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
}
