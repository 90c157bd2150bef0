//! The worker loop on both backends: a repository deletion is picked up through the wake-up
//! (LISTEN on PostgreSQL, the in-process signal on SQLite), purged, and its freed blob object
//! removed from storage; shutdown stops the loop.

use quay_server::config::{Database, DbUri};
use quay_server::storage::{BlobStorage, content_path, local::LocalStorage};
use quay_server::store::Store;
use quay_server::worker::{self, WorkerConfig};
use quay_tests::TestDb;
use quay_tests::fixtures::{self, digest};
use std::time::{Duration, Instant};

fn fixture_sql() -> Vec<String> {
    let mut f = vec![fixtures::user(100, "acme", false, false, 0), fixtures::repo(200, 100, "app", false)];
    f.extend(fixtures::blob(300, &digest(7), 200, false));
    f
}

/// Writes the blob object the fixture's storage row stands for.
async fn blob_file(root: &std::path::Path) -> std::path::PathBuf {
    let d = digest(7);
    let hex = d.trim_start_matches("sha256:");
    let path = root.join(content_path("sha256", hex));
    tokio::fs::create_dir_all(path.parent().expect("parent")).await.expect("mkdir");
    tokio::fs::write(&path, b"layer").await.expect("write");
    path
}

fn config() -> WorkerConfig {
    // A long poll: the job must be picked up by the wake-up, not by polling.
    WorkerConfig { poll: Duration::from_secs(600), gc_every: None, ..WorkerConfig::default() }
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_purges_a_deleted_repository_when_notified() {
    let db = TestDb::with_extension("worker").await.expect("db");
    let c = db.client().await.expect("c");
    for st in fixture_sql() {
        c.execute(st.as_str(), &[]).await.expect("fixture");
    }
    c.execute(
        &format!(
            "SELECT quay.manifest_put(200, '{}', 'application/vnd.oci.image.manifest.v1+json', '{{}}', NULL, ARRAY['{}'], '{{}}')",
            digest(0xe1),
            digest(7)
        ),
        &[],
    )
    .await
    .expect("manifest");
    let dir = tempfile::tempdir().expect("tmp");
    let file = blob_file(dir.path()).await;
    let storage = BlobStorage::Local(LocalStorage::open(dir.path().to_path_buf()).await.expect("storage"));
    let store = Store::open(&Database::Postgres(DbUri::new(db.url.clone()))).await.expect("store");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(worker::run(store, storage, config(), stopped));
    tokio::time::sleep(Duration::from_millis(300)).await; // the worker is listening
    c.query_one("SELECT quay.repository_delete(200)", &[]).await.expect("delete");

    wait_until("the repository purge", async || {
        c.query_one("SELECT count(*) FROM repository WHERE id = 200", &[]).await.expect("q").get::<_, i64>(0)
            == 0
    })
    .await;
    wait_until("the blob object to go", async || !file.exists()).await;
    // The job is completed after the objects are deleted.
    wait_until("the job to complete", async || {
        c.query_one("SELECT count(*) FROM queueitem", &[]).await.expect("q").get::<_, i64>(0) == 0
    })
    .await;

    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), handle).await.expect("worker stops").expect("join");
    db.drop_db().await.expect("drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_worker_purges_a_deleted_repository_when_woken_in_process() {
    let dir = tempfile::tempdir().expect("tmp");
    let Store::Sqlite(sqlite) =
        Store::open(&Database::Sqlite(dir.path().join("quay.db"))).await.expect("store")
    else {
        unreachable!()
    };
    let store = Store::Sqlite(sqlite.clone());
    store.migrate().await.expect("migrate");
    let m = quay_core::tags::NewManifest {
        repository_id: 200,
        digest: digest(0xe1),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        manifest_bytes: "{}".into(),
        blob_digests: vec![digest(7)],
        ..Default::default()
    };
    sqlite
        .with_core(move |ex| {
            for st in fixture_sql() {
                ex.query(&st, &[])?;
            }
            quay_core::tags::manifest_put(ex, &m)
        })
        .await
        .expect("store")
        .expect("fixtures");
    let root = dir.path().join("storage");
    let file = blob_file(&root).await;
    let storage = BlobStorage::Local(LocalStorage::open(root).await.expect("storage"));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(worker::run(store.clone(), storage, config(), stopped));
    tokio::time::sleep(Duration::from_millis(300)).await; // the first drain is over
    sqlite.with_core(|ex| quay_core::gc::repository_delete(ex, 200)).await.expect("store").expect("delete");

    let count = |sql: &'static str| {
        let s = sqlite.clone();
        async move {
            s.with_core(move |ex| Ok(ex.query(sql, &[])?[0][0].as_i64().unwrap_or(-1)))
                .await
                .expect("store")
                .expect("query")
        }
    };
    wait_until("the repository purge", async || {
        count("SELECT count(*) FROM repository WHERE id = 200").await == 0
    })
    .await;
    wait_until("the blob object to go", async || !file.exists()).await;
    // The job is completed after the objects are deleted.
    wait_until("the job to complete", async || count("SELECT count(*) FROM queueitem").await == 0).await;

    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), handle).await.expect("worker stops").expect("join");
}

/// The worker's claim on PostgreSQL returns the row as the claim left it (lease, times), not a
/// partial one.
#[tokio::test]
async fn postgres_claim_returns_the_claimed_row() {
    let db = TestDb::with_extension("claimrow").await.expect("db");
    let c = db.client().await.expect("c");
    let id: i64 =
        c.query_one("SELECT quay.queue_put('testq/a', '{\"x\":1}')", &[]).await.expect("put").get(0);
    let store = Store::open(&Database::Postgres(DbUri::new(db.url.clone()))).await.expect("store");
    let item = store.queue_claim("testq/", 120).await.expect("claim").expect("an item");
    let row = c
        .query_one(
            "SELECT to_char(available_after, 'YYYY-MM-DD HH24:MI:SS.US'), available,
                    to_char(processing_expires, 'YYYY-MM-DD HH24:MI:SS.US'), retries_remaining::bigint, state_id
               FROM queueitem WHERE id = $1",
            &[&(id as i32)],
        )
        .await
        .expect("row");
    assert_eq!(item.id, id);
    assert_eq!(item.body, "{\"x\":1}");
    assert_eq!(item.available_after, row.get::<_, String>(0));
    assert_eq!(item.available, row.get::<_, bool>(1));
    assert!(!item.available);
    assert_eq!(item.processing_expires, Some(row.get::<_, String>(2)));
    assert_eq!(item.retries_remaining, row.get::<_, i64>(3));
    assert_eq!(item.state_id, row.get::<_, String>(4));
    db.drop_db().await.expect("drop");
}
