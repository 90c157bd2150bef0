//! Content objects are write-once and verified, and live exactly as long as their rows, on both
//! backends (issue: racing PATCHes corrupted blobs and let a stranger replace another
//! namespace's object; GC deleted an object a concurrent push had just been told was stored):
//!
//! - two PATCHes racing on one upload, from two pods, never leave an object whose bytes do not
//!   hash to its digest, and a stranger racing garbage against a known layer's bytes never
//!   changes the victim's stored object;
//! - GC of a layer's last user racing a push or a mount of that layer into another repository
//!   never leaves a manifest whose blob cannot be pulled;
//! - the storage sweep removes leftovers of crashes (upload pieces without a row, objects no
//!   row names) once old, and nothing else.

use super::common;

use common::{Backend, OCI_MANIFEST, Registry, digest, image_manifest};
use quay_server::storage::BlobStorage;
use quay_server::store::jobs::Cascade;
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

/// Every content object in storage hashes to its digest.
async fn assert_objects_verified(storage: &BlobStorage) -> usize {
    let objects = storage.list_content().await.expect("list content");
    for (d, _) in &objects {
        let size = storage.blob_size(d).await.expect("size").expect("object");
        let mut s = storage.blob_read(d, 0, size).await.expect("read");
        let mut bytes = Vec::new();
        use futures_util::StreamExt as _;
        while let Some(chunk) = s.next().await {
            bytes.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(&digest(&bytes), d, "stored object {d} does not hash to its digest");
    }
    objects.len()
}

fn bytes_of(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

async fn start_upload(r: &Registry, base: &str, repo: &str, token: &str) -> String {
    let resp = r
        .req(Method::POST, &format!("{base}/v2/{repo}/blobs/uploads/"), Some(token))
        .send()
        .await
        .expect("POST upload");
    assert_eq!(resp.status(), 202);
    format!("{base}{}", resp.headers()["location"].to_str().expect("loc").trim_start_matches(&r.url))
}

async fn patch(r: &Registry, loc: &str, token: &str, at: usize, body: Vec<u8>) -> u16 {
    r.req(Method::PATCH, loc, Some(token))
        .header("content-range", format!("{at}-{}", at + body.len() - 1))
        .body(body)
        .send()
        .await
        .expect("PATCH")
        .status()
        .as_u16()
}

/// Two PATCHes of different bytes at the same offset of one upload, through two pods; then the
/// finish with the digest of each candidate. Whatever wins, every stored object verifies.
async fn racing_patches(backend: Backend, rounds: usize, chunk: usize, storage: Option<String>) {
    let r = Registry::start_with_storage(backend, "patchrace", "", storage.as_deref()).await;
    let pod = r.sibling().await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/race:pull,push"]).await;
    let head = bytes_of(1, chunk);
    let mut accepted = 0;
    for round in 0..rounds {
        let a = bytes_of(2 * round as u8 + 3, chunk);
        let b = bytes_of(2 * round as u8 + 4, chunk);
        let loc = start_upload(&r, &r.url, "alice/race", &t).await;
        assert_eq!(patch(&r, &loc, &t, 0, head.clone()).await, 202);
        let other = loc.replace(&r.url, &pod);
        let (sa, sb) =
            tokio::join!(patch(&r, &loc, &t, chunk, a.clone()), patch(&r, &other, &t, chunk, b.clone()));
        assert!([sa, sb].contains(&202), "round {round}: one PATCH is accepted ({sa}, {sb})");
        assert!([202, 416].contains(&sa) && [202, 416].contains(&sb), "round {round}: {sa} {sb}");
        // Finish claiming the bytes of the accepted PATCH (or, every third round, of the one
        // refused: that must fail), from either pod.
        let (won, lost) = if sa == 202 { (&a, &b) } else { (&b, &a) };
        let claim_winner = round % 3 != 2;
        let claimed = if claim_winner { won } else { lost };
        let whole: Vec<u8> = head.iter().chain(claimed.iter()).copied().collect();
        let finish = if round % 3 == 0 { &other } else { &loc };
        let resp = r
            .req(Method::PUT, &format!("{finish}?digest={}", digest(&whole)), Some(&t))
            .send()
            .await
            .expect("PUT");
        let status = resp.status().as_u16();
        assert_eq!(status, if claim_winner { 201 } else { 400 }, "round {round}: finish");
        if status == 201 {
            accepted += 1;
            let got = r
                .req(Method::GET, &format!("/v2/alice/race/blobs/{}", digest(&whole)), Some(&t))
                .send()
                .await
                .expect("GET");
            assert_eq!(got.status(), 200);
            assert!(got.bytes().await.expect("body").as_ref() == whole.as_slice(), "round {round}: bytes");
        }
    }
    assert!(accepted > 0, "some finish matched the accepted PATCH");
    assert_objects_verified(&r.storage).await;
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM blobupload").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_patches_sqlite() {
    racing_patches(Backend::Sqlite, 24, 64 << 10, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_patches_postgres() {
    racing_patches(Backend::Postgres, 24, 64 << 10, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_large_patches_postgres() {
    racing_patches(Backend::Postgres, 6, 4 << 20, None).await;
}

/// A stranger knows the bytes of a layer in a private repository. Racing a PATCH of those bytes
/// against a PATCH of garbage in its own upload, then finishing with the layer's digest, must
/// never change the victim's object: pulls keep serving the original bytes.
async fn stranger_cannot_replace(backend: Backend, rounds: usize, storage: Option<String>) {
    let r = Registry::start_with_storage(backend, "replace", "", storage.as_deref()).await;
    let pod = r.sibling().await;
    r.user("victim").await;
    r.user("mallory").await;
    let tv = r.token(Some("victim"), &["repository:victim/private:pull,push"]).await;
    let tm = r.token(Some("mallory"), &["repository:mallory/mine:pull,push"]).await;
    let layer = bytes_of(7, 256 << 10);
    let d = r.push_blob("victim/private", &tv, &layer).await;
    let cfg = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("victim/private", &tv, cfg).await;
    let m = image_manifest((&dc, cfg.len()), &[(&d, layer.len())], "");
    assert_eq!(r.put_manifest("victim/private", "v1", &tv, OCI_MANIFEST, &m).await.status(), 201);
    for round in 0..rounds {
        let garbage = bytes_of(100 + round as u8, layer.len());
        let loc = start_upload(&r, &r.url, "mallory/mine", &tm).await;
        let other = loc.replace(&r.url, &pod);
        let good = layer.clone();
        let (s1, s2) = tokio::join!(
            async {
                r.req(Method::PATCH, &loc, Some(&tm))
                    .body(good)
                    .send()
                    .await
                    .expect("patch")
                    .status()
                    .as_u16()
            },
            async {
                r.req(Method::PATCH, &other, Some(&tm))
                    .body(garbage)
                    .send()
                    .await
                    .expect("patch")
                    .status()
                    .as_u16()
            }
        );
        assert!([s1, s2].contains(&202), "round {round}: {s1} {s2}");
        let status = r
            .req(Method::PUT, &format!("{loc}?digest={d}"), Some(&tm))
            .send()
            .await
            .expect("PUT")
            .status()
            .as_u16();
        assert!([201, 400].contains(&status), "round {round}: finish answered {status}");
    }
    // The victim's pull still serves the layer's own bytes, and every object verifies.
    let got =
        r.req(Method::GET, &format!("/v2/victim/private/blobs/{d}"), Some(&tv)).send().await.expect("GET");
    assert_eq!(got.status(), 200);
    assert!(got.bytes().await.expect("body").as_ref() == layer.as_slice(), "victim's layer intact");
    assert_objects_verified(&r.storage).await;
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM imagestorage").await, 2, "one row per digest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stranger_cannot_replace_sqlite() {
    stranger_cannot_replace(Backend::Sqlite, 16, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stranger_cannot_replace_postgres() {
    stranger_cannot_replace(Backend::Postgres, 16, None).await;
}

/// The same races with S3 storage (moto on 127.0.0.1): pieces are objects of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_patches_s3() {
    let m = quay_tests::moto::moto("race").await;
    racing_patches(Backend::Postgres, 10, 64 << 10, Some(quay_tests::moto::storage(&m, "race", false))).await;
    racing_patches(Backend::Sqlite, 4, 6 << 20, Some(quay_tests::moto::storage(&m, "race", false))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stranger_cannot_replace_s3() {
    let m = quay_tests::moto::moto("replace").await;
    stranger_cannot_replace(Backend::Postgres, 8, Some(quay_tests::moto::storage(&m, "replace", false)))
        .await;
}

/// What the worker does for one repository: GC, then the freed objects' deletes.
async fn gc(store: &quay_server::store::Store, storage: &BlobStorage, repository_id: i64) {
    let freed = store.cascade(Cascade::RepositoryGc, repository_id).await.expect("gc");
    quay_server::ops::blobs::delete_freed(store, storage, freed).await;
}

#[derive(Clone, Copy, Debug)]
enum Reuse {
    Upload,
    Mount,
}

/// Many cycles: repository `old` is the only user of a fresh layer; its tag is deleted (the
/// namespace's time machine is 0 s) and GC runs while `new` gets the same layer by upload or
/// mount and a manifest over it. A 201 for that manifest means its layer pulls back intact.
async fn gc_races_reuse(backend: Backend, how: Reuse, cycles: usize) {
    let r = Arc::new(Registry::start(backend, "gcrace", "").await);
    r.user("alice").await;
    common::exec(&r, "UPDATE \"user\" SET removed_tag_expiration_s = 0 WHERE username = 'alice'").await;
    let t =
        r.token(Some("alice"), &["repository:alice/old:pull,push", "repository:alice/new:pull,push"]).await;
    let cfg = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let mut served = 0;
    for cycle in 0..cycles {
        let layer = bytes_of(cycle as u8, 48 << 10 | cycle);
        let dl = r.push_blob("alice/old", &t, &layer).await;
        let dc = r.push_blob("alice/old", &t, &cfg).await;
        let m = image_manifest(
            (&dc, cfg.len()),
            &[(&dl, layer.len())],
            &format!(r#","annotations":{{"c":"{cycle}"}}"#),
        );
        assert_eq!(r.put_manifest("alice/old", "v1", &t, OCI_MANIFEST, &m).await.status(), 201);
        let old = common::scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'old'").await;
        // Upload links would keep the blob for an hour: expire them, then delete the tag.
        common::exec(&r, "UPDATE uploadedblob SET expires_at = '2000-01-01 00:00:00'").await;
        let del = r.req(Method::DELETE, "/v2/alice/old/manifests/v1", Some(&t)).send().await.expect("delete");
        assert_eq!(del.status(), 202);
        let (r2, t2, layer2, cfg2) = (r.clone(), t.clone(), layer.clone(), cfg.clone());
        let push = tokio::spawn(async move {
            let dl = digest(&layer2);
            match how {
                Reuse::Upload => {
                    r2.push_blob("alice/new", &t2, &layer2).await;
                }
                Reuse::Mount => {
                    let resp = r2
                        .req(
                            Method::POST,
                            &format!("/v2/alice/new/blobs/uploads/?mount={dl}&from=alice/old"),
                            Some(&t2),
                        )
                        .send()
                        .await
                        .expect("mount");
                    match resp.status().as_u16() {
                        201 => {}
                        202 => {
                            // Not mountable any more: a normal upload, as a client does.
                            let loc = resp.headers()["location"].to_str().expect("loc").to_string();
                            let put = r2
                                .req(Method::PUT, &format!("{loc}?digest={dl}"), Some(&t2))
                                .body(layer2.clone())
                                .send()
                                .await
                                .expect("put");
                            assert_eq!(put.status(), 201);
                        }
                        s => panic!("mount answered {s}"),
                    }
                }
            }
            let dc = r2.push_blob("alice/new", &t2, &cfg2).await;
            let m = image_manifest((&dc, cfg2.len()), &[(&dl, layer2.len())], "");
            r2.put_manifest("alice/new", &format!("c{}", layer2.len()), &t2, OCI_MANIFEST, &m).await.status()
        });
        // GC at a few offsets around the push.
        tokio::time::sleep(Duration::from_millis((cycle % 4) as u64)).await;
        gc(&r.store, &r.storage, old).await;
        let status = push.await.expect("push task");
        if status == 201 {
            let got =
                r.req(Method::GET, &format!("/v2/alice/new/blobs/{dl}"), Some(&t)).send().await.expect("GET");
            assert_eq!(
                got.status(),
                200,
                "cycle {cycle} ({how:?}): layer of an acknowledged manifest is gone"
            );
            assert!(got.bytes().await.expect("body").as_ref() == layer.as_slice(), "cycle {cycle}: bytes");
            served += 1;
        }
        // The next cycle's GC of `new` must not take this layer either.
        let new = common::scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'new'").await;
        gc(&r.store, &r.storage, new).await;
        assert!(r.storage.blob_size(&dl).await.expect("size").is_some() || status != 201, "cycle {cycle}");
    }
    assert!(served > 0);
    assert_objects_verified(&r.storage).await;
}

/// Cycles per GC race test: 20 in CI; `QUAY_GC_RACE_CYCLES` for the long run
/// (docs/reliability.md).
fn race_cycles() -> usize {
    std::env::var("QUAY_GC_RACE_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_races_upload_sqlite() {
    gc_races_reuse(Backend::Sqlite, Reuse::Upload, race_cycles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_races_upload_postgres() {
    gc_races_reuse(Backend::Postgres, Reuse::Upload, race_cycles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_races_mount_sqlite() {
    gc_races_reuse(Backend::Sqlite, Reuse::Mount, race_cycles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_races_mount_postgres() {
    gc_races_reuse(Backend::Postgres, Reuse::Mount, race_cycles()).await;
}

/// Ages a file by setting its modification time `age` into the past.
fn age(path: &std::path::Path, age: Duration) {
    let f = std::fs::File::open(path).expect("open");
    f.set_modified(std::time::SystemTime::now() - age).expect("set mtime");
}

async fn sweep(backend: Backend) {
    let r = Registry::start(backend, "sweep", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let kept = r.push_blob("alice/app", &t, b"a blob a row names").await;
    let root = r.dir.path().join("storage");
    // Leftovers of crashes: a monolithic upload cut off (pieces, no row), Quay's single-file
    // upload, and a content object placed but never committed.
    let orphan_bytes = b"placed, then the process died";
    let orphan = digest(orphan_bytes);
    let hex = orphan.trim_start_matches("sha256:");
    let object = root.join(format!("sha256/{}/{hex}", &hex[..2]));
    std::fs::create_dir_all(object.parent().expect("test step")).expect("test step");
    std::fs::write(&object, orphan_bytes).expect("test step");
    std::fs::create_dir_all(root.join("uploads/dead-upload")).expect("test step");
    std::fs::write(root.join("uploads/dead-upload/00000000000000000000-x"), b"half").expect("test step");
    std::fs::write(root.join("uploads/quay-single-file"), b"half").expect("test step");
    // A session still open, and young leftovers, are left alone.
    let live = r.upload_started("alice/app", &t, b"in progress").await;
    let young = digest(b"young");
    let yhex = young.trim_start_matches("sha256:");
    let young_path = root.join(format!("sha256/{}/{yhex}", &yhex[..2]));
    std::fs::create_dir_all(young_path.parent().expect("test step")).expect("test step");
    std::fs::write(&young_path, b"young").expect("test step");
    let day = Duration::from_secs(86_400);
    for p in [&object, &root.join("uploads/dead-upload"), &root.join("uploads/quay-single-file")] {
        age(p, 3 * day);
    }
    let khex = kept.trim_start_matches("sha256:");
    age(&root.join(format!("sha256/{}/{khex}", &khex[..2])), 3 * day);
    age(&root.join(format!("uploads/{live}")), 3 * day);

    let swept = quay_server::ops::blobs::sweep(&r.store, &r.storage, 2 * day).await.expect("sweep");
    assert_eq!(swept, quay_server::ops::blobs::Swept { uploads: 2, objects: 1 });
    assert!(!object.exists() && !root.join("uploads/dead-upload").exists());
    assert!(!root.join("uploads/quay-single-file").exists());
    assert!(young_path.exists(), "young objects stay");
    assert!(r.storage.blob_size(&kept).await.expect("test step").is_some(), "a named object stays");
    assert!(root.join(format!("uploads/{live}")).exists(), "an upload with a row stays");
    // Running it again finds nothing.
    let again = quay_server::ops::blobs::sweep(&r.store, &r.storage, 2 * day).await.expect("sweep");
    assert_eq!(again, quay_server::ops::blobs::Swept::default());
}

#[tokio::test]
async fn sweep_sqlite() {
    sweep(Backend::Sqlite).await;
}

#[tokio::test]
async fn sweep_postgres() {
    sweep(Backend::Postgres).await;
}
