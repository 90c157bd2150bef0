//! Many clients pushing the same blobs and the same tag at once, on both backends: every push
//! succeeds, one storage row per digest, one alive tag, and the blobs read back intact.

use super::common;

use common::{Backend, OCI_MANIFEST, Registry, digest, image_manifest};
use reqwest::Method;
use std::sync::Arc;

const CLIENTS: usize = 16;

async fn same_blobs_same_tag(backend: Backend) {
    let r = Arc::new(Registry::start(backend, "conc", "").await);
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/race:pull,push"]).await;
    let layer: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let config = br#"{"os":"linux","architecture":"amd64"}"#.to_vec();
    let (dl, dc) = (digest(&layer), digest(&config));

    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (r, t, layer, config) = (r.clone(), t.clone(), layer.clone(), config.clone());
        tasks.push(tokio::spawn(async move {
            // Half upload monolithically, half as a session: one streamed PATCH (no
            // Content-Range) and the rest with the final PUT.
            if i % 2 == 0 {
                r.push_blob("alice/race", &t, &layer).await;
            } else {
                let resp = r
                    .req(Method::POST, "/v2/alice/race/blobs/uploads/", Some(&t))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(resp.status(), 202);
                let loc = resp.headers()["location"].to_str().expect("loc").to_string();
                let half = layer.len() / 2;
                let resp = r
                    .req(Method::PATCH, &loc, Some(&t))
                    .body(layer[..half].to_vec())
                    .send()
                    .await
                    .expect("patch");
                assert_eq!(resp.status(), 202);
                let resp = r
                    .req(Method::PUT, &format!("{loc}?digest={}", digest(&layer)), Some(&t))
                    .body(layer[half..].to_vec())
                    .send()
                    .await
                    .expect("put");
                assert_eq!(resp.status(), 201);
            }
            r.push_blob("alice/race", &t, &config).await;
            // Each client pushes its own manifest (an annotation differs) to the same tag.
            let m = image_manifest(
                (&digest(&config), config.len()),
                &[(&digest(&layer), layer.len())],
                &format!(r#","annotations":{{"client":"{i}"}}"#),
            );
            let resp = r.put_manifest("alice/race", "latest", &t, OCI_MANIFEST, &m).await;
            assert_eq!(resp.status(), 201, "client {i}: {:?}", resp.text().await);
            digest(m.as_bytes())
        }));
    }
    let mut pushed = Vec::new();
    for task in tasks {
        pushed.push(task.await.expect("client"));
    }

    // The tag points at one of the pushed manifests; that one is served by digest, the others
    // (only ended generations point at them) are not, as in Quay.
    let got = r.req(Method::GET, "/v2/alice/race/manifests/latest", Some(&t)).send().await.expect("get");
    assert_eq!(got.status(), 200);
    let current = got.headers()["docker-content-digest"].to_str().expect("d").to_string();
    assert!(pushed.contains(&current));
    for d in &pushed {
        assert_eq!(
            r.req(Method::HEAD, &format!("/v2/alice/race/manifests/{d}"), Some(&t))
                .send()
                .await
                .expect("head")
                .status(),
            if *d == current { 200 } else { 404 }
        );
    }
    let tags: serde_json::Value = r.get_json("/v2/alice/race/tags/list", Some(&t)).await;
    assert_eq!(tags["tags"], serde_json::json!(["latest"]));

    // Blobs intact.
    for (d, bytes) in [(&dl, &layer), (&dc, &config)] {
        let body = r
            .req(Method::GET, &format!("/v2/alice/race/blobs/{d}"), Some(&t))
            .send()
            .await
            .expect("blob")
            .bytes()
            .await
            .expect("b");
        assert!(body.as_ref() == bytes.as_slice(), "blob {d} intact");
    }
    // Rows: one storage row per digest, one alive tag generation, no upload rows left.
    let count = |sql: &'static str| {
        let r = r.clone();
        async move { common::scalar(&r, sql).await }
    };
    assert_eq!(count("SELECT count(*) FROM imagestorage").await, 2);
    assert_eq!(count("SELECT count(*) FROM blobupload").await, 0);
    assert_eq!(count("SELECT count(*) FROM tag WHERE name = 'latest' AND lifetime_end_ms IS NULL").await, 1);
    assert_eq!(count("SELECT count(*) FROM tag WHERE name = 'latest'").await, CLIENTS as i64);
    assert_eq!(count("SELECT count(*) FROM manifest").await, CLIENTS as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_sqlite() {
    same_blobs_same_tag(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_postgres() {
    same_blobs_same_tag(Backend::Postgres).await;
}
