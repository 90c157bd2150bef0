//! S3 storage that goes away mid-traffic (issue 14): moto behind a TCP proxy the test controls.
//! While the proxy refuses connections (and has cut the open ones), a push fails with 503 and
//! "blob storage is unavailable", nothing of it becomes visible, manifests (in the database)
//! still pull, blob reads answer 503 instead of hanging, `/health/endtoend` reports storage;
//! once S3 is back the same push succeeds and everything pulls back byte-identical.

use crate::client::{Rng, free_port, image, pull_by_tag, push, token};
use crate::installation::Installation;
use quay_tests::TestDb;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to `target` that can be broken (every open connection cut, new ones closed at
/// once) and mended.
struct Proxy {
    port: u16,
    up: watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (up, watching) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = watching.clone();
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    fn set(&self, up: bool) {
        let _ = self.up.send(up);
    }
}

async fn status_and_body(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_goes_away_and_comes_back() {
    let moto = quay_tests::moto::moto("outage").await;
    let proxy = Proxy::start(moto.url.trim_start_matches("http://").to_string()).await;
    let storage = quay_tests::moto::storage(&moto, "outage", false)
        .replace(&moto.url, &format!("http://127.0.0.1:{}", proxy.port));
    let dir = tempfile::tempdir().expect("tmp");
    let db = TestDb::with_extension("s3outage").await.expect("database");
    let port = free_port();
    let inst = Installation::on_database(&db.url, dir.path(), port, &storage, "").await;
    inst.init_admin();
    let server = inst.serve(port).await;
    let base = server.base.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let tok = token(&http, &base).await.expect("token");
    let mut rng = Rng(0x53);
    let shared = rng.bytes(100_000);
    let kept = image(0, &mut rng, &shared);
    push(&http, &base, &tok, &kept, true, &AtomicUsize::new(0)).await.expect("push while S3 is up");

    proxy.set(false);
    let next = image(1, &mut rng, &shared);
    let (digest, bytes) = next.blobs[2].clone();
    let at = Instant::now();
    let r = http
        .post(format!("{base}/v2/{}/blobs/uploads/?digest={digest}", next.repo))
        .bearer_auth(&tok)
        .body(bytes.clone())
        .send()
        .await
        .expect("monolithic");
    let (status, body) = status_and_body(r).await;
    eprintln!("s3_outage: monolithic upload while S3 is down: {status} {body} after {:?}", at.elapsed());
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("blob storage is unavailable"), "{body}");
    let r = http
        .post(format!("{base}/v2/{}/blobs/uploads/", next.repo))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("start");
    assert_eq!(r.status(), 202, "a session needs no storage to start");
    let loc = r.headers()["location"].to_str().expect("location").to_string();
    let loc = if loc.starts_with("http") { loc } else { format!("{base}{loc}") };
    let r = http.patch(&loc).bearer_auth(&tok).body(bytes[..1000].to_vec()).send().await.expect("patch");
    let (status, body) = status_and_body(r).await;
    eprintln!("s3_outage: a chunk while S3 is down: {status} {body}");
    assert_eq!(status, 503, "{body}");

    // Reads: manifests come from the database; blobs answer 503, promptly.
    let r = pull_by_tag(&http, &base, &tok, &kept).await.expect("manifest");
    assert_eq!(r.status(), 200, "manifests still pull");
    assert_eq!(r.bytes().await.expect("body").as_ref(), kept.manifest.as_slice());
    let at = Instant::now();
    let r = http
        .get(format!("{base}/v2/{}/blobs/{}", kept.repo, kept.blobs[2].0))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("blob");
    let (status, body) = status_and_body(r).await;
    eprintln!("s3_outage: a blob read while S3 is down: {status} {body} after {:?}", at.elapsed());
    assert_eq!(status, 503, "{body}");
    assert!(at.elapsed() < Duration::from_secs(30), "a blob read waited {:?}", at.elapsed());
    let r = http.get(format!("{base}/health/endtoend")).send().await.expect("health");
    let (status, body) = status_and_body(r).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"storage\":false"), "{body}");

    // Nothing of the failed push is visible.
    let r = http
        .head(format!("{base}/v2/{}/blobs/{digest}", next.repo))
        .bearer_auth(&tok)
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 404);
    let rows =
        inst.rows(&format!("SELECT count(*) FROM imagestorage WHERE content_checksum = '{digest}'")).await;
    assert_eq!(rows[0][0], "0");

    // S3 is back: the same push works; everything pulls back.
    proxy.set(true);
    let pushed = Arc::new(AtomicUsize::new(0));
    push(&http, &base, &tok, &next, false, &pushed).await.expect("push once S3 is back");
    assert!(pushed.load(Ordering::Relaxed) > 0);
    crate::client::assert_acknowledged_pull_back(&http, &base, &[kept, next], 0x53).await;
    inst.assert_consistent(0x53).await;
    let r = http.get(format!("{base}/health/endtoend")).send().await.expect("health");
    assert_eq!(r.status(), 200);
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
}
