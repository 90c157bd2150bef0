//! S3 storage against a real S3-compatible server (moto, started here on 127.0.0.1): uploads in
//! one piece (multipart past 8 MiB), in large chunks (assembled server-side with UploadPartCopy)
//! and in small chunks (streamed through); blob GET redirected to a presigned URL (Quay's
//! behaviour) or streamed with Range; skopeo round trip; no upload objects left behind.

use super::common;

use common::{Backend, OCI_MANIFEST, Registry, digest, image_manifest};
use quay_tests::moto::{keys, moto, storage};
use reqwest::Method;
use std::process::Command;

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed)) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_uploads_downloads_and_skopeo() {
    let m = moto("quay").await;
    let r = Registry::start_with_storage(Backend::Sqlite, "s3", "", Some(&storage(&m, "quay", true))).await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/s3:pull,push"]).await;

    let big = pattern(9 << 20, 3); // one piece, multipart write past 8 MiB
    let dbig = r.push_blob("alice/s3", &t, &big).await;
    let large = pattern(13 << 20, 5); // 6 MiB chunks: UploadPartCopy
    let resp = r.push_chunked("alice/s3", &t, &large, 6 << 20).await;
    assert_eq!(resp.status(), 201);
    let small = pattern(300_000, 7); // 100 kB chunks: streamed through
    let resp = r.push_chunked("alice/s3", &t, &small, 100_000).await;
    assert_eq!(resp.status(), 201);
    let wrong = r
        .req(Method::POST, &format!("/v2/alice/s3/blobs/uploads/?digest={}", digest(b"else")), Some(&t))
        .body("content")
        .send()
        .await
        .expect("mismatch");
    assert_eq!(wrong.status(), 400);

    // Downloads redirect to presigned URLs that serve the exact bytes (Range too).
    for bytes in [&big, &large, &small] {
        let d = digest(bytes);
        let resp =
            r.req(Method::GET, &format!("/v2/alice/s3/blobs/{d}"), Some(&t)).send().await.expect("get");
        assert_eq!(resp.status(), 302);
        let url = resp.headers()["location"].to_str().expect("loc").to_string();
        assert!(url.starts_with(&m.url) && url.contains("X-Amz-Signature"), "{url}");
        let body = reqwest::get(&url).await.expect("presigned").bytes().await.expect("body");
        assert!(body.as_ref() == bytes.as_slice(), "{d} via presigned URL");
        let head =
            r.req(Method::HEAD, &format!("/v2/alice/s3/blobs/{d}"), Some(&t)).send().await.expect("head");
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()["content-length"], bytes.len().to_string().as_str());
    }
    let ranged = reqwest::Client::new()
        .get(
            r.req(Method::GET, &format!("/v2/alice/s3/blobs/{dbig}"), Some(&t))
                .send()
                .await
                .expect("get")
                .headers()["location"]
                .to_str()
                .expect("l"),
        )
        .header("range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(ranged.bytes().await.expect("b").as_ref(), &big[10..20]);

    // An abandoned upload's chunk objects go with the stale-upload cleanup.
    let abandoned = r.upload_started("alice/s3", &t, b"left behind").await;
    common::exec(
        &r,
        &format!("UPDATE blobupload SET created = '2020-01-01 00:00:00' WHERE uuid = '{abandoned}'"),
    )
    .await;
    assert!(keys(&m, "quay").await.iter().any(|k| k.contains(&format!("/uploads/{abandoned}/"))));
    let two_days = std::time::Duration::from_secs(2 * 86_400);
    assert_eq!(quay_server::worker::clean_stale_uploads(&r.store, &r.storage, two_days).await, 1);

    // Objects: Quay's layout under storage_path, no upload chunks left, nothing for the mismatch.
    let all = keys(&m, "quay").await;
    for bytes in [&big, &large, &small] {
        let hex = digest(bytes).trim_start_matches("sha256:").to_string();
        assert!(all.contains(&format!("registry/sha256/{}/{hex}", &hex[..2])), "{hex} in {all:?}");
    }
    assert!(all.iter().all(|k| !k.contains("/uploads/")), "upload objects left: {all:?}");
    assert!(!all.iter().any(|k| k.ends_with(digest(b"content").trim_start_matches("sha256:"))));

    // A manifest over them, and skopeo in and out.
    let cfg = r.push_blob("alice/s3", &t, br#"{"os":"linux","architecture":"amd64"}"#).await;
    let m1 = image_manifest((&cfg, 37), &[(&dbig, big.len()), (&digest(&large), large.len())], "");
    assert_eq!(r.put_manifest("alice/s3", "v1", &t, OCI_MANIFEST, &m1).await.status(), 201);
    let out = tempfile::tempdir().expect("tmp");
    let creds = format!("alice:{}", common::PASSWORD);
    let st = Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--src-tls-verify=false", "--src-creds", &creds])
        .arg(format!("docker://{}/alice/s3:v1", r.host))
        .arg(format!("dir:{}", out.path().display()))
        .output()
        .expect("skopeo");
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    // The dir: transport keeps blobs as they are, named by their hex digest.
    let listing: Vec<String> = std::fs::read_dir(out.path())
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let got = std::fs::read(out.path().join(digest(&large).trim_start_matches("sha256:")))
        .unwrap_or_else(|e| panic!("{e}: {} not in {listing:?}", digest(&large)));
    assert!(got == large, "skopeo pulled the layer through the redirect intact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_streams_when_redirects_are_off() {
    let m = moto("quay2").await;
    let r =
        Registry::start_with_storage(Backend::Postgres, "s3pg", "", Some(&storage(&m, "quay2", false))).await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/s3:pull,push"]).await;
    let bytes = pattern(1_000_000, 9);
    let d = r.push_blob("alice/s3", &t, &bytes).await;
    let resp = r.req(Method::GET, &format!("/v2/alice/s3/blobs/{d}"), Some(&t)).send().await.expect("get");
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.expect("b").as_ref() == bytes.as_slice());
    let resp = r
        .req(Method::GET, &format!("/v2/alice/s3/blobs/{d}"), Some(&t))
        .header("range", "bytes=100-199")
        .send()
        .await
        .expect("range");
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.expect("b").as_ref(), &bytes[100..200]);
}
