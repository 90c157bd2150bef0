//! Many pods (issue 14): three `quay serve` processes and two `quay worker` processes sharing only
//! PostgreSQL and blob storage, behind Debian's nginx (round-robin, started here on 127.0.0.1).
//! Each pod has its own instance key, so a token from one pod is checked by the others through
//! `servicekey`. Proven: a token issued by one pod is honoured by all; a chunked upload whose
//! requests each land on a different pod completes; under pushes, pulls and tag deletions through
//! the balancer, with both workers collecting garbage every second, a pod killed with SIGKILL
//! costs only its in-flight requests, and afterwards nothing acknowledged is lost and no manifest
//! names a missing blob; a worker killed in the middle of a webhook delivery has the item
//! delivered by the other worker after the lease.

use crate::client::{
    Image, OCI_MANIFEST, PASSWORD, Rng, assert_acknowledged_pull_back, free_port, image, push, token_at,
};
use crate::installation::Installation;
use crate::support::{QUAY, Server, sha256};
use quay_tests::TestDb;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// nginx in front of the pods; stopped when dropped.
struct Balancer(Child);

impl Balancer {
    fn start(dir: &Path, port: u16, pods: &[u16]) -> Balancer {
        let temp = dir.join("nginx-temp");
        std::fs::create_dir_all(&temp).expect("nginx temp");
        let servers: String = pods
            .iter()
            .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
            .collect();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/nginx-error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_max_body_size 0;\n  proxy_request_buffering off;\n\
             \x20 proxy_buffering off;\n  client_body_temp_path {t}/body;\n  proxy_temp_path {t}/proxy;\n\
             \x20 fastcgi_temp_path {t}/fastcgi;\n  uwsgi_temp_path {t}/uwsgi;\n  scgi_temp_path {t}/scgi;\n\
             \x20 upstream quay {{\n{servers}  }}\n\
             \x20 server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://quay;\n\
             \x20     proxy_http_version 1.1;\n      proxy_set_header Host $http_host;\n\
             \x20     proxy_set_header Connection \"\";\n      proxy_next_upstream error timeout;\n    }}\n  }}\n}}\n",
            d = dir.display(),
            t = temp.display(),
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("nginx.conf");
        let balancer = Balancer(
            Command::new("nginx")
                .arg("-c")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx (Debian's nginx package)"),
        );
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return balancer;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default()
        );
    }
}

impl Drop for Balancer {
    /// SIGTERM, so the master stops its workers (SIGKILL would leave them running).
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `quay worker` process, killed when dropped (also when the test fails half-way).
struct Worker(Child);

impl Worker {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn worker(inst: &Installation) -> Worker {
    Worker(
        Command::new(QUAY)
            .arg("worker")
            .args(inst.args())
            .args(["--gc-interval", "1"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("quay worker"),
    )
}

/// A webhook sink on 127.0.0.2 that records the `updated_tags` of every delivery.
async fn recording_sink() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let store = store.clone();
        async move {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            for t in v["updated_tags"].as_array().into_iter().flatten() {
                store.lock().expect("lock").push(t.as_str().unwrap_or("").to_string());
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/record"), seen)
}

/// A webhook sink on 127.0.0.2 that holds its first request open (the delivery a worker is
/// killed in the middle of) and answers the later ones.
async fn holding_sink() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_secs(120)).await;
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), calls)
}

fn path_of(location: &str) -> &str {
    location.find("/v2/").map_or(location, |i| &location[i..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_pods_two_workers_behind_nginx() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = TestDb::with_extension("pods").await.expect("database");
    let lb = free_port();
    let storage = Installation::local_storage(&dir.path().join("shared"));
    let extra = "FEATURE_USER_INITIALIZE: true\nNOTIFICATION_SEND_TIMEOUT: 60\n";
    let mut pods = Vec::new();
    for i in 0..3 {
        let home = dir.path().join(format!("pod{i}"));
        std::fs::create_dir_all(&home).expect("pod dir");
        pods.push(Installation::on_database(&db.url, &home, lb, &storage, extra).await);
    }
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Option<Server>> = Vec::new();
    for (inst, port) in pods.iter().zip(&ports) {
        servers.push(Some(inst.serve(*port).await));
    }
    let direct: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let _balancer = Balancer::start(dir.path(), lb, &ports);
    let base = format!("http://127.0.0.1:{lb}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let init: serde_json::Value = http
        .post(format!("{base}/api/v1/user/initialize"))
        .json(&serde_json::json!({
            "username": "admin", "password": PASSWORD, "email": "admin@example.com", "access_token": true
        }))
        .send()
        .await
        .expect("initialize")
        .json()
        .await
        .expect("json");
    let api_token = init["access_token"].as_str().expect("access token").to_string();
    // Deleted tags are collectable at once, so the workers' GC races the pushes.
    pods[0].exec("UPDATE \"user\" SET removed_tag_expiration_s = 0").await;

    // A token from pod 0 (signed with pod 0's key) works on every pod.
    let tok = token_at(&http, &direct[0], &format!("127.0.0.1:{lb}")).await.expect("token from pod 0");
    let mut rng = Rng(0x9d);
    let shared = rng.bytes(40_000);
    let first = image(0, &mut rng, &shared);
    push(&http, &direct[0], &tok, &first, false, &AtomicUsize::new(0)).await.expect("push on pod 0");
    for pod in &direct {
        let r = http
            .get(format!("{pod}/v2/{}/tags/list", first.repo))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("tags");
        assert_eq!(r.status(), 200, "pod {pod} honours pod 0's token");
    }

    // One chunked upload, each request on another pod: POST on 0, PATCH on 1 and 2, PUT on 0.
    let blob = rng.bytes(300_000);
    let digest = sha256(&blob);
    let r = http
        .post(format!("{}/v2/{}/blobs/uploads/", direct[0], first.repo))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), 202);
    let mut loc = path_of(r.headers()["location"].to_str().expect("location")).to_string();
    for (n, range) in [(1, 0..100_000), (2, 100_000..200_000)] {
        let r = http
            .patch(format!("{}{loc}", direct[n]))
            .bearer_auth(&tok)
            .header("content-range", format!("{}-{}", range.start, range.end - 1))
            .body(blob[range].to_vec())
            .send()
            .await
            .expect("patch");
        assert_eq!(r.status(), 202, "PATCH on pod {n}");
        loc = path_of(r.headers()["location"].to_str().expect("location")).to_string();
    }
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = http
        .put(format!("{}{loc}{sep}digest={digest}", direct[0]))
        .bearer_auth(&tok)
        .body(blob[200_000..].to_vec())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 201, "the upload completes on a third request's pod");
    for pod in &direct {
        let r = http
            .get(format!("{pod}/v2/{}/blobs/{digest}", first.repo))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("get");
        assert_eq!(r.bytes().await.expect("body").as_ref(), blob.as_slice(), "the blob on {pod}");
    }

    // Traffic through the balancer: 6 clients push, pull and delete their previous image (so GC
    // on both workers, every second, races pushes reusing the shared layer); pod 1 is killed.
    let mut workers = vec![worker(&pods[0]), worker(&pods[1])];
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(1));
    let failures: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let kept: Arc<Mutex<Vec<Image>>> = Arc::default();
    let pushes = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..6u64 {
        let (http, base, tok, stop, next, failures, kept, pushes, shared) = (
            http.clone(),
            base.clone(),
            tok.clone(),
            stop.clone(),
            next.clone(),
            failures.clone(),
            kept.clone(),
            pushes.clone(),
            shared.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x51 + c);
            let mut previous: Option<Image> = None;
            while !stop.load(Ordering::Relaxed) {
                let img = image(next.fetch_add(1, Ordering::Relaxed), &mut rng, &shared);
                let at = Instant::now();
                if let Err(e) = push(&http, &base, &tok, &img, c % 2 == 0, &AtomicUsize::new(0)).await {
                    failures.lock().expect("lock").push((at, format!("push: {e}")));
                    continue;
                }
                pushes.fetch_add(1, Ordering::Relaxed);
                let r = crate::client::pull_by_tag(&http, &base, &tok, &img).await;
                match r {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures.lock().expect("lock").push((at, format!("pull: {}", r.status()))),
                    Err(e) => failures.lock().expect("lock").push((at, format!("pull: {e}"))),
                }
                if let Some(old) = previous.take() {
                    let r = http
                        .delete(format!("{base}/v2/{}/manifests/{}", old.repo, old.digest))
                        .bearer_auth(&tok)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 202 => {}
                        // A delete cut off by the kill may have committed on the dying pod: nginx
                        // retries it (DELETE is idempotent) and the next pod answers 404. Its
                        // image's fate is unknown, so it is not among those that must pull back.
                        other => failures.lock().expect("lock").push((at, format!("delete: {other:?}"))),
                    }
                }
                previous = Some(img);
            }
            if let Some(img) = previous {
                kept.lock().expect("lock").push(img);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before_kill = pushes.load(Ordering::Relaxed);
    let victim = servers[1].take().expect("pod 1");
    tokio::task::spawn_blocking(move || victim.kill()).await.expect("kill pod 1");
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client");
    }
    let failures = failures.lock().expect("lock").clone();
    let total = pushes.load(Ordering::Relaxed);
    eprintln!(
        "pods: {total} pushes through nginx ({before_kill} before pod 1 was killed), {} failed requests: {:?}",
        failures.len(),
        failures
            .iter()
            .map(|(at, e)| format!("{:?} after the kill: {e}", at.saturating_duration_since(killed)))
            .collect::<Vec<_>>()
    );
    assert!(total > before_kill + 10, "traffic went on after the kill");
    // Only what was in flight on pod 1 may fail: at most one request per client, and none that
    // started after the balancer saw the pod gone.
    assert!(failures.len() <= 6, "more failures than requests in flight: {failures:?}");
    let late: Vec<_> = failures.iter().filter(|(at, _)| *at > killed + Duration::from_secs(1)).collect();
    assert!(late.is_empty(), "failures after the kill: {late:?}");
    // What is still tagged pulls back; no manifest names a missing or corrupt blob.
    let kept = kept.lock().expect("lock").clone();
    let mut check = vec![first.clone()];
    check.extend(kept);
    assert_acknowledged_pull_back(&http, &base, &check, 0x9d).await;
    pods[0].assert_consistent(0x9d).await;
    let left = pods[0].rows("SELECT count(*) FROM manifest").await[0][0].parse::<usize>().unwrap_or(0);
    eprintln!("pods: {left} manifests left of {} pushed: the rest were collected by the workers", total + 1);
    assert!(left < total / 2, "the workers' GC ran during the pushes (it collected deleted images)");

    // A worker killed in the middle of a delivery: the other delivers after the lease.
    for w in &mut workers {
        w.kill();
    }
    let (hook, calls) = holding_sink().await;
    let r = http
        .post(format!("{base}/api/v1/repository/{}/notification/", first.repo))
        .bearer_auth(&api_token)
        .json(&serde_json::json!({"event": "repo_push", "method": "webhook", "config": {"url": hook}, "eventConfig": {}, "title": "hook"}))
        .send()
        .await
        .expect("notification");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let mut first_worker = worker(&pods[0]);
    let pushed = image(10_000, &mut rng, &shared);
    push(&http, &base, &tok, &pushed, false, &AtomicUsize::new(0)).await.expect("push");
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the first worker never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second_worker = worker(&pods[2]);
    first_worker.kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(90);
    while calls.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the second worker never delivered the item");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("pods: the second worker delivered {:?} after the first was killed", killed.elapsed());
    let done = Instant::now() + Duration::from_secs(10);
    loop {
        let left =
            pods[0].rows("SELECT count(*) FROM queueitem WHERE queue_name LIKE 'notification/%'").await;
        if left[0][0] == "0" {
            break;
        }
        assert!(Instant::now() < done, "the delivered item is still queued");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failures = pods[0].rows("SELECT number_of_failures FROM repositorynotification").await;
    assert_eq!(failures[0][0], "0", "a delivery cut off by a crash is not counted as a failure");

    // Two worker processes on one database: each of 40 pushes (round-robin over the pods)
    // is delivered exactly once.
    let (rec, seen) = recording_sink().await;
    let r = http
        .post(format!("{base}/api/v1/repository/{}/notification/", pushed.repo))
        .bearer_auth(&api_token)
        .json(&serde_json::json!({"event": "repo_push", "method": "webhook", "config": {"url": rec}, "eventConfig": {}, "title": "record"}))
        .send()
        .await
        .expect("notification");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let third_worker = worker(&pods[1]);
    const EVENTS: usize = 40;
    for i in 0..EVENTS {
        let url = format!("{base}/v2/{}/manifests/once{i}", pushed.repo);
        let resp = http
            .put(url)
            .bearer_auth(&tok)
            .header("content-type", OCI_MANIFEST)
            .body(pushed.manifest.clone())
            .send()
            .await
            .expect("push");
        assert_eq!(resp.status(), 201);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().expect("lock").len() < EVENTS {
        assert!(Instant::now() < deadline, "not every event was delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut tags = seen.lock().expect("lock").clone();
    tags.sort();
    let mut expected: Vec<String> = (0..EVENTS).map(|i| format!("once{i}")).collect();
    expected.sort();
    assert_eq!(tags, expected, "each event delivered exactly once by two workers");
    drop((second_worker, third_worker));
    for s in servers.into_iter().flatten() {
        tokio::task::spawn_blocking(move || s.kill()).await.expect("kill");
    }
}
