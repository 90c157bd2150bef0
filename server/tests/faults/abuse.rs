//! Slow and abusive clients against a real `quay serve` on PostgreSQL (issue 14): 300 slowloris
//! connections (headers trickled a byte at a time) do not stop normal pulls from being served
//! promptly; a 2 MiB header and a body that lies about its length are bounded; and under a mixed
//! load (pushes, pulls, abandoned uploads, half-open connections) the server's resident memory
//! stays flat. The load lasts `QUAY_SOAK_SECONDS` (20 in CI; 600 for the documented run).

use crate::client::{Rng, free_port, image, pull_by_tag, push, token};
use crate::installation::Installation;
use quay_tests::TestDb;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The server's resident set, in KiB (`VmRSS` of /proc/<pid>/status).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Reads what the server sends until it closes the connection or `within` passes: the bytes,
/// and whether it closed.
async fn read_until_close(s: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_and_abusive_clients() {
    let soak = Duration::from_secs(crate::client::env_or("QUAY_SOAK_SECONDS", 20));
    let dir = tempfile::tempdir().expect("tmp");
    let db = TestDb::with_extension("abuse").await.expect("database");
    let port = free_port();
    let extra = "HTTP_BODY_READ_TIMEOUT_S: 3\n";
    let inst =
        Installation::on_database(&db.url, dir.path(), port, &Installation::local_storage(dir.path()), extra)
            .await;
    inst.init_admin();
    let server = inst.serve(port).await;
    let pid = server.child.id();
    let base = server.base.clone();
    let host = format!("127.0.0.1:{port}");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let tok = token(&http, &base).await.expect("token");
    let mut rng = Rng(0xab);
    let shared = rng.bytes(64 << 10);
    let img = image(0, &mut rng, &shared);
    push(&http, &base, &tok, &img, false, &AtomicUsize::new(0)).await.expect("push");

    // 1. Slowloris: 300 connections sending a header byte every 500 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let mut slow = Vec::new();
    for _ in 0..300 {
        let (host, stop) = (host.clone(), stop.clone());
        slow.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect(&host).await else { return };
            let _ = s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
            while !stop.load(Ordering::Relaxed) {
                if s.write_all(b"a").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut slowest = Duration::ZERO;
    let mut pulls = Vec::new();
    for _ in 0..20 {
        let (http, base, tok, img) = (http.clone(), base.clone(), tok.clone(), img.clone());
        pulls.push(tokio::spawn(async move {
            let at = Instant::now();
            let r = pull_by_tag(&http, &base, &tok, &img).await.expect("pull");
            assert_eq!(r.status(), 200);
            assert_eq!(r.bytes().await.expect("body").as_ref(), img.manifest.as_slice());
            at.elapsed()
        }));
    }
    for p in pulls {
        slowest = slowest.max(p.await.expect("pull"));
    }
    eprintln!("abuse: 20 pulls beside 300 slowloris connections, slowest {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "pulls starved by slow clients: {slowest:?}");
    stop.store(true, Ordering::Relaxed);
    for s in slow {
        let _ = s.await;
    }

    // 2. A 2 MiB header: refused (431) or the connection closed, promptly.
    let mut s = TcpStream::connect(&host).await.expect("connect");
    let huge = format!("GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(2 << 20));
    let _ = s.write_all(huge.as_bytes()).await;
    let (answer, closed) = read_until_close(&mut s, Duration::from_secs(5)).await;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).to_string();
    eprintln!("abuse: a 2 MiB header got {head:?}, closed: {closed}");
    assert!(closed, "a 2 MiB header leaves the connection open");
    assert!(answer.is_empty() || head.starts_with("HTTP/1.1 431"), "{head}");

    // 3. A PATCH that announces 1 GiB and sends 1 KiB: cut off by the body timeout, nothing kept.
    let r = http
        .post(format!("{base}/v2/{}/blobs/uploads/", img.repo))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("start");
    let loc = r.headers()["location"].to_str().expect("location").to_string();
    let path = loc.find("/v2/").map_or(loc.as_str(), |i| &loc[i..]).to_string();
    let uuid = r.headers()["docker-upload-uuid"].to_str().expect("uuid").to_string();
    let mut s = TcpStream::connect(&host).await.expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {tok}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        1u64 << 30
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(&[7u8; 1024]).await.expect("body");
    let at = Instant::now();
    let (answer, closed) = read_until_close(&mut s, Duration::from_secs(15)).await;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).to_string();
    eprintln!("abuse: a body lying about its length: {head:?} after {:?}, closed: {closed}", at.elapsed());
    assert!(closed, "the lying body holds the connection");
    let rows = inst.rows(&format!("SELECT byte_count FROM blobupload WHERE uuid = '{uuid}'")).await;
    assert_eq!(rows.first().map(|r| r[0].as_str()), Some("0"), "no part of a cut-off chunk is kept");

    // 4. Mixed load; the server's RSS sampled every second.
    let warm = rss_kib(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..4u64 {
        let (http, base, tok, stop, done, host, shared) = (
            http.clone(),
            base.clone(),
            tok.clone(),
            stop.clone(),
            done.clone(),
            host.clone(),
            shared.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x500 + c);
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let img = image(1_000 * (c as usize + 1) + n, &mut rng, &shared);
                push(&http, &base, &tok, &img, n.is_multiple_of(2), &AtomicUsize::new(0))
                    .await
                    .expect("push under load");
                for _ in 0..5 {
                    let r = pull_by_tag(&http, &base, &tok, &img).await.expect("pull");
                    assert_eq!(r.status(), 200);
                    let _ = r.bytes().await;
                }
                // An abandoned upload with a chunk in it, and a half-open connection.
                if let Ok(r) =
                    http.post(format!("{base}/v2/{}/blobs/uploads/", img.repo)).bearer_auth(&tok).send().await
                    && let Some(loc) = r.headers().get("location").and_then(|v| v.to_str().ok())
                {
                    let loc = if loc.starts_with("http") { loc.to_string() } else { format!("{base}{loc}") };
                    let _ = http.patch(loc).bearer_auth(&tok).body(rng.bytes(32 << 10)).send().await;
                }
                if let Ok(mut s) = TcpStream::connect(&host).await {
                    let _ = s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n").await;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < soak {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(rss_kib(pid));
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client");
    }
    let rounds = done.load(Ordering::Relaxed);
    // Compare the last tenth of the run with the second tenth (after warm-up).
    let tenth = (samples.len() / 10).max(1);
    let early = samples[tenth..(2 * tenth).min(samples.len())].iter().max().copied().unwrap_or(warm);
    let late = samples[samples.len().saturating_sub(tenth)..].iter().max().copied().unwrap_or(warm);
    let peak = samples.iter().max().copied().unwrap_or(warm);
    eprintln!(
        "abuse: {:?} of mixed load, {rounds} rounds (push, 5 pulls, abandoned upload, half-open connection): \
         RSS {} MiB before, {} MiB early, {} MiB late, peak {} MiB",
        soak,
        warm >> 10,
        early >> 10,
        late >> 10,
        peak >> 10
    );
    assert!(late <= early + early / 4 + (16 << 10), "RSS grew under steady load: {early} KiB -> {late} KiB");
    assert!(peak < warm + (256 << 10), "RSS peaked at {peak} KiB from {warm} KiB");
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
}
