//! The real `quay serve` killed with SIGKILL at random moments while 50 clients push distinct
//! multi-layer images, restarted each time: mirror mode, PostgreSQL, PostgreSQL with S3.
//! Afterwards every push a client saw acknowledged pulls back byte-identical by tag and by
//! digest; no manifest names a blob whose bytes are missing or wrong; every stored object hashes
//! to its name; and the uploads the crashes abandoned are removed by the stale-upload job and the
//! storage sweep, which leave every referenced blob alone.
//!
//! `QUAY_CRASH_ROUNDS` and `QUAY_CRASH_CLIENTS` make the run longer (defaults: 8 kills, 50
//! clients, 25 with S3); `QUAY_CRASH_SEED` replays a run (the seed is printed).

use crate::client::{Image, Rng, assert_acknowledged_pull_back, env_or, free_port, image, push, token};
use crate::installation::Installation;
use crate::support::QUAY;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

async fn crash_mid_push(postgres: bool, s3: bool) {
    let seed = std::env::var("QUAY_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let seed = seed.max(1);
    let rounds = env_or("QUAY_CRASH_ROUNDS", 8);
    // moto is slow: the S3 run uses fewer clients unless asked.
    let clients = env_or("QUAY_CRASH_CLIENTS", if s3 { 25 } else { 50 }) as usize;
    eprintln!("crash_mid_push: seed {seed}, {rounds} kills, {clients} clients");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let inst = Arc::new(Installation::new(postgres, s3, dir.path(), port).await);
    inst.init_admin();
    let mut server = inst.serve(port).await;
    let base = server.base.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");

    let shared = rng.bytes(100_000);
    let images: Vec<Image> = (0..clients).map(|i| image(i, &mut rng, &shared)).collect();
    let failures = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let first_token = token(&http, &base).await.expect("token");
    let mut tasks = Vec::new();
    for (i, img) in images.iter().cloned().enumerate() {
        let (http, base, failures, progress, done) =
            (http.clone(), base.clone(), failures.clone(), progress.clone(), done.clone());
        let mut tok = first_token.clone();
        tasks.push(tokio::spawn(async move {
            // Bounded: a push that keeps failing after this many tries fails the test.
            for _ in 0..300 {
                match push(&http, &base, &tok, &img, i % 2 == 1, &progress).await {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        return Some(img);
                    }
                    Err(e) => {
                        if std::env::var("QUAY_CRASH_VERBOSE").is_ok() {
                            eprintln!("push {i}: {e}");
                        }
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if e.contains("401") {
                            tok = token(&http, &base).await.unwrap_or(tok);
                        }
                    }
                }
            }
            None
        }));
    }
    // Each kill lands after a random number of answered requests, so kills are spread over the
    // whole run (between requests of a chunked upload, between blobs and manifest, ...).
    let mut kills = 0;
    for _ in 0..rounds {
        let target = progress.load(Ordering::Relaxed) + 5 + rng.below(40) as usize;
        let deadline = Instant::now() + Duration::from_secs(20);
        while progress.load(Ordering::Relaxed) < target && done.load(Ordering::Relaxed) < clients {
            assert!(Instant::now() < deadline, "seed {seed}: pushes stalled");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if done.load(Ordering::Relaxed) == clients {
            break;
        }
        tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
        kills += 1;
        server = inst.serve(port).await;
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.expect("client").unwrap_or_else(|| panic!("seed {seed}: a push never succeeded")));
    }
    let interrupted = failures.load(Ordering::Relaxed);
    eprintln!(
        "crash_mid_push: {kills} kills, {} pushes acknowledged, {interrupted} attempts cut off",
        acked.len()
    );
    assert!(kills >= rounds.min(3), "seed {seed}: only {kills} kills landed during the pushes");
    // Killed once more right after the last acknowledgement: nothing acknowledged may depend on
    // a graceful stop.
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
    let server = inst.serve(port).await;
    assert_acknowledged_pull_back(&http, &base, &acked, seed).await;
    inst.assert_consistent(seed).await;

    // What the crashes abandoned, aged past BLOBUPLOAD_DELETION_DATE_THRESHOLD (2 days); the
    // referenced objects too, so the sweep has every chance to take something it must not.
    let abandoned: Vec<String> =
        inst.rows("SELECT uuid FROM blobupload").await.into_iter().map(|r| r[0].clone()).collect();
    inst.exec("UPDATE blobupload SET created = '2000-01-01 00:00:00'").await;
    let aged = inst.objects.age();
    let loose = inst.objects.upload_entries().await.len();
    eprintln!("crash_mid_push: {} abandoned upload rows, {loose} entries under uploads/", abandoned.len());
    // The worker's periodic jobs run when it starts: in-process in mirror mode, `quay worker`
    // beside the server with PostgreSQL.
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
    let server = inst.serve(port).await;
    let mut worker = postgres.then(|| {
        Command::new(QUAY)
            .arg("worker")
            .args(inst.args())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker")
    });
    let referenced: BTreeMap<String, ()> = inst
        .rows("SELECT DISTINCT content_checksum FROM imagestorage")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), ()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = inst.rows("SELECT count(*) FROM blobupload").await[0][0].clone();
        let entries = inst.objects.upload_entries().await;
        // Local storage was aged: everything under uploads/ and every object no row names must
        // go. S3 objects keep their real age: the pieces of the removed sessions must go.
        let left =
            entries.iter().filter(|e| aged || abandoned.iter().any(|u| e.contains(u.as_str()))).count();
        let unreferenced = match aged {
            true => inst.objects.content().await.into_iter().filter(|d| !referenced.contains_key(d)).count(),
            false => 0,
        };
        if rows == "0" && left == 0 && unreferenced == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: abandoned uploads not cleaned: {rows} rows, {left} upload entries, {unreferenced} unreferenced objects"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Some(w) = worker.as_mut() {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert_acknowledged_pull_back(&http, &base, &acked, seed).await;
    inst.assert_consistent(seed).await;
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_mid_push_sqlite() {
    crash_mid_push(false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_mid_push_postgres() {
    crash_mid_push(true, false).await;
}

/// PostgreSQL with S3 storage (moto on 127.0.0.1): the production layout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_mid_push_postgres_s3() {
    crash_mid_push(true, true).await;
}
