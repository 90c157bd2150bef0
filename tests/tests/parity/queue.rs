//! The queue functions: concurrency proof on PostgreSQL (through the extension's SQL functions)
//! and one scenario list run on PostgreSQL and on SQLite (through the core), with identical results.

use super::common;

use quay_core::exec::CoreError;
use quay_tests::TestDb;
use std::collections::HashSet;
use tokio_postgres::Client;

/// A Quay database with the extension installed.
async fn quay_db(tag: &str) -> TestDb {
    let db = TestDb::quay_reference(tag).await.expect("db");
    db.client().await.expect("c").batch_execute("CREATE EXTENSION quay").await.expect(
        "CREATE EXTENSION quay (the extension must be installed on the test cluster: tests/run.sh does it)",
    );
    db
}

async fn claim_id(c: &Client, prefix: &str, processing_s: i32) -> Option<i64> {
    c.query_opt("SELECT id::bigint FROM quay.queue_claim($1, $2)", &[&prefix, &processing_s])
        .await
        .expect("claim")
        .map(|r| r.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_claimers_claim_each_item_exactly_once() {
    const ITEMS: i64 = 10_000;
    let db = quay_db("claimers").await;
    let setup = db.client().await.expect("c");
    setup
        .execute(
            "SELECT quay.queue_put('q/ns' || (g % 7) || '/' || g || '/', 'body') FROM generate_series(1, $1::bigint) g",
            &[&ITEMS],
        )
        .await
        .expect("put");

    let mut tasks = Vec::new();
    for _ in 0..16 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let c = quay_tests::connect(&url).await.expect("connect");
            let mut mine = Vec::new();
            loop {
                match claim_id(&c, "q/", 300).await {
                    Some(id) => mine.push(id),
                    None => {
                        // SKIP LOCKED may miss a row another claimer just released: stop only
                        // when nothing claimable is left.
                        let left: i64 = c
                            .query_one("SELECT count(*) FROM queueitem WHERE available", &[])
                            .await
                            .expect("count")
                            .get(0);
                        if left == 0 {
                            break;
                        }
                    }
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    let mut per_claimer = Vec::new();
    for t in tasks {
        let mine = t.await.expect("task");
        per_claimer.push(mine.len());
        all.extend(mine);
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len() as i64, ITEMS, "claims: {}", all.len());
    assert_eq!(unique.len() as i64, ITEMS, "an item was claimed twice");
    assert!(per_claimer.iter().filter(|n| **n > 0).count() > 1, "claims were spread: {per_claimer:?}");
    let (running, retries): (i64, i64) = {
        let r = setup
            .query_one(
                "SELECT count(*) FILTER (WHERE NOT available), count(*) FILTER (WHERE retries_remaining = 4) FROM queueitem",
                &[],
            )
            .await
            .expect("q");
        (r.get(0), r.get(1))
    };
    assert_eq!((running, retries), (ITEMS, ITEMS), "every item leased once, one retry used");
    db.drop_db().await.expect("drop");
}

/// `quay.queue_complete_and_claim`: 16 workers taking batches of 8 and completing each batch with
/// the next claim: every item claimed exactly once and completed, the queue empty at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_workers_complete_and_claim_each_item_exactly_once() {
    const ITEMS: i64 = 10_000;
    let db = quay_db("batchers").await;
    let setup = db.client().await.expect("c");
    setup
        .execute(
            "SELECT quay.queue_put('b/ns' || (g % 7) || '/' || g || '/', 'body') FROM generate_series(1, $1::bigint) g",
            &[&ITEMS],
        )
        .await
        .expect("put");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let c = quay_tests::connect(&url).await.expect("connect");
            let mut mine = Vec::new();
            let mut held: Vec<i64> = Vec::new();
            // Bounded: ITEMS claims at most, plus the empty polls while others hold the rest.
            for _ in 0..ITEMS * 2 {
                let rows = c
                    .query(
                        "SELECT id::bigint FROM quay.queue_complete_and_claim($1::bigint[], 'b/', 300, 8)",
                        &[&held],
                    )
                    .await
                    .expect("complete_and_claim");
                held = rows.iter().map(|r| r.get(0)).collect();
                mine.extend(held.iter().copied());
                if held.is_empty() {
                    let left: i64 = c
                        .query_one("SELECT count(*) FROM queueitem WHERE available", &[])
                        .await
                        .expect("n")
                        .get(0);
                    if left == 0 {
                        break;
                    }
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    let mut per_worker = Vec::new();
    for t in tasks {
        let mine = t.await.expect("task");
        per_worker.push(mine.len());
        all.extend(mine);
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len() as i64, ITEMS, "claims: {}", all.len());
    assert_eq!(unique.len() as i64, ITEMS, "an item was claimed twice");
    assert!(per_worker.iter().filter(|n| **n > 0).count() > 1, "claims were spread: {per_worker:?}");
    let left: i64 = setup.query_one("SELECT count(*) FROM queueitem", &[]).await.expect("left").get(0);
    assert_eq!(left, 0, "every batch was completed by the next call");
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn expired_leases_are_reclaimed_and_exhausted_items_never_return() {
    let db = quay_db("lease").await;
    let c = db.client().await.expect("c");
    let id: i64 = c.query_one("SELECT quay.queue_put('q/a/', 'x', 0, 2)", &[]).await.expect("put").get(0);
    assert_eq!(claim_id(&c, "q/", 0).await, Some(id), "first claim, lease of 0 s");
    // The lease has expired: another worker may take it (each statement is a new transaction).
    assert_eq!(claim_id(&c, "q/", 0).await, Some(id), "expired lease reclaimed");
    // retries_remaining is now 0: exhausted, never handed out again.
    assert_eq!(claim_id(&c, "q/", 0).await, None);
    let status = c
        .query_one(
            "SELECT available, running, expired_leases, exhausted FROM quay.queue_status WHERE queue = 'q'",
            &[],
        )
        .await
        .expect("status");
    assert_eq!(
        (status.get::<_, i64>(0), status.get::<_, i64>(1), status.get::<_, i64>(2), status.get::<_, i64>(3)),
        (0, 0, 0, 1)
    );
    // quay.queue_failed lists it; quay.queue_running shows a live lease with its time left.
    let failed: Vec<i64> = c
        .query("SELECT id::bigint FROM quay.queue_failed", &[])
        .await
        .expect("failed")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(failed, vec![id]);
    let live: i64 = c.query_one("SELECT quay.queue_put('q/b/', 'y')", &[]).await.expect("put").get(0);
    assert_eq!(claim_id(&c, "q/b/", 600).await, Some(live));
    let running = c
        .query_one("SELECT id::bigint, lease_left > interval '500 seconds' FROM quay.queue_running", &[])
        .await
        .expect("running");
    assert_eq!((running.get::<_, i64>(0), running.get::<_, bool>(1)), (live, true));
    let err = c.query_one("SELECT quay.queue_put('noslash', 'x')", &[]).await.expect_err("invalid name");
    let db_err = err.as_db_error().expect("db error");
    assert_eq!(db_err.code().code(), "22023");
    assert_eq!(db_err.detail(), Some("QUAY_QUEUE_NAME_INVALID"));
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn put_notifies_listeners_at_commit() {
    let db = quay_db("notify").await;
    let (_listener, mut rx) = quay_tests::listen(&db.url, "quay_queue").await.expect("listen");
    let c = db.client().await.expect("c");
    c.batch_execute("BEGIN; SELECT quay.queue_put('repositorygc/acme/7/', '{}'); ROLLBACK;")
        .await
        .expect("rb");
    c.batch_execute("SELECT quay.queue_put('repositorygc/acme/8/', '{}')").await.expect("put");
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.expect("notified");
    assert_eq!(got.as_deref(), Some("repositorygc/acme/8/"), "the rolled-back put must not notify");
    db.drop_db().await.expect("drop");
}

/// One step of the parity scenario and its printable outcome.
#[derive(Debug, Clone)]
enum Step {
    Put(&'static str, i32, i32),
    Claim(&'static str, i32, bool),
    Complete(i64),
    Incomplete(i64, i32, bool),
    Extend(i64, i32),
    Purge(&'static str),
    /// Done ids, prefix, max items.
    CompleteAndClaim(Vec<i64>, &'static str, i32),
}

fn scenario() -> Vec<Step> {
    use Step::*;
    vec![
        Put("repositorygc/acme/1/", 0, 5),
        Put("repositorygc/acme/2/", 0, 1),
        Put("notification/acme/x/", 3600, 5),
        Put("dockerfilebuild/other/r/", 0, 5),
        Claim("repositorygc/", 300, false),
        Claim("repositorygc/", 300, false),
        Claim("repositorygc/", 300, false),
        Incomplete(2, 0, false),
        Claim("repositorygc/", 300, false),
        Incomplete(1, 0, true),
        Claim("repositorygc/", 300, false),
        Extend(1, 600),
        Extend(1, 10),
        Complete(1),
        Complete(1),
        Claim("notification/", 300, false),
        Put("ordered/a/", 0, 5),
        Put("ordered/a/", 0, 5),
        Put("ordered/b/", 0, 5),
        Claim("ordered/", 300, true),
        Claim("ordered/", 300, true),
        Claim("ordered/", 300, true),
        Put("proxycacheblob/acme/1/sha256:x/", 0, 5),
        Put("exportactionlogs/acme/", 0, 5),
        Put("namespacegc/3/", 0, 5),
        Purge("acme"),
        Put("bad", 0, 5),
        Put("q/a%/", 0, 5),
        Claim("q/a_", 300, false),
        Claim("q/a%", 300, false),
        Put("batch/1/", 0, 5),
        Put("batch/2/", 0, 5),
        Put("batch/3/", 0, 5),
        CompleteAndClaim(vec![], "batch/", 2),
        CompleteAndClaim(vec![], "batch/", 0),
        CompleteAndClaim(vec![], "batch/", 300),
        CompleteAndClaim(vec![], "batch/", 5),
    ]
}

fn outcome<T: std::fmt::Debug>(r: Result<T, String>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(code) => format!("error {code}"),
    }
}

async fn run_postgres(c: &Client, step: &Step) -> String {
    let err = |e: tokio_postgres::Error| {
        e.as_db_error().and_then(|d| d.detail().map(str::to_string)).unwrap_or(e.to_string())
    };
    match step {
        Step::Put(n, after, retries) => outcome(
            c.query_one("SELECT quay.queue_put($1, '{}', $2, $3)", &[n, after, retries])
                .await
                .map(|r| r.get::<_, i64>(0))
                .map_err(err),
        ),
        Step::Claim(p, s, ordered) => outcome(
            c.query_opt(
                "SELECT id::bigint, retries_remaining::bigint FROM quay.queue_claim($1, $2, $3)",
                &[p, s, ordered],
            )
            .await
            .map(|r| r.map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))))
            .map_err(err),
        ),
        Step::Complete(id) => outcome(
            c.query_one("SELECT quay.queue_complete($1)", &[id])
                .await
                .map(|r| r.get::<_, bool>(0))
                .map_err(err),
        ),
        Step::Incomplete(id, after, restore) => outcome(
            c.query_one("SELECT quay.queue_incomplete($1, $2, $3)", &[id, after, restore])
                .await
                .map(|r| r.get::<_, bool>(0))
                .map_err(err),
        ),
        Step::Extend(id, s) => outcome(
            c.query_one("SELECT quay.queue_extend($1, $2)", &[id, s])
                .await
                .map(|r| r.get::<_, bool>(0))
                .map_err(err),
        ),
        Step::Purge(ns) => outcome(
            c.query_one("SELECT quay.queue_purge_namespace($1)", &[ns])
                .await
                .map(|r| r.get::<_, i64>(0))
                .map_err(err),
        ),
        Step::CompleteAndClaim(done, p, max) => outcome(
            c.query(
                "SELECT id::bigint, retries_remaining::bigint FROM quay.queue_complete_and_claim($1::bigint[], $2, 300, $3)",
                &[done, p, max],
            )
            .await
            .map(|rows| rows.iter().map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))).collect::<Vec<_>>())
            .map_err(err),
        ),
    }
}

async fn run_sqlite(store: &quay_server::store::sqlite::SqliteStore, step: &Step) -> String {
    use quay_core::queue;
    let step = step.clone();
    let r = store
        .with_core(move |ex| -> Result<String, CoreError> {
            Ok(match step {
                Step::Put(n, after, retries) => {
                    format!("{:?}", queue::put(ex, n, "{}", after.into(), retries.into())?)
                }
                Step::Claim(p, s, ordered) => {
                    format!(
                        "{:?}",
                        queue::claim(ex, p, s.into(), ordered)?.map(|i| (i.id, i.retries_remaining))
                    )
                }
                Step::Complete(id) => format!("{:?}", queue::complete(ex, id)?),
                Step::Incomplete(id, after, restore) => {
                    format!("{:?}", queue::incomplete(ex, id, after.into(), restore)?)
                }
                Step::Extend(id, s) => format!("{:?}", queue::extend(ex, id, s.into())?),
                Step::Purge(ns) => format!("{:?}", queue::purge_namespace(ex, ns)?),
                Step::CompleteAndClaim(done, p, max) => {
                    let items = queue::complete_and_claim(ex, &done, p, 300, max.into())?;
                    let mut pairs: Vec<(i64, i64)> =
                        items.iter().map(|i| (i.id, i.retries_remaining)).collect();
                    pairs.sort();
                    format!("{pairs:?}")
                }
            })
        })
        .await
        .expect("sqlite store");
    match r {
        Ok(s) => s,
        Err(CoreError::Invalid { code, .. }) => format!("error {code}"),
        Err(e) => format!("error {e}"),
    }
}

#[tokio::test]
async fn queue_scenario_gives_identical_results_on_postgres_and_sqlite() {
    let db = quay_db("parity").await;
    let c = db.client().await.expect("c");
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = common::migrated_sqlite(dir.path()).await;

    let mut pg_out = Vec::new();
    let mut lite_out = Vec::new();
    for step in scenario() {
        let a = run_postgres(&c, &step).await;
        let b = run_sqlite(&sqlite, &step).await;
        pg_out.push(format!("{step:?} -> {a}"));
        lite_out.push(format!("{step:?} -> {b}"));
    }
    assert_eq!(pg_out, lite_out, "PostgreSQL and SQLite disagree");
    // And the scenario means what it should (not just "both equally wrong").
    let expected_tail = [
        "Claim(\"repositorygc/\", 300, false) -> Some((1, 4))",
        "Claim(\"repositorygc/\", 300, false) -> Some((2, 0))",
        "Claim(\"repositorygc/\", 300, false) -> None",
        "Incomplete(2, 0, false) -> false",
        "Claim(\"repositorygc/\", 300, false) -> None",
        "Incomplete(1, 0, true) -> true",
        "Claim(\"repositorygc/\", 300, false) -> Some((1, 4))",
        "Extend(1, 600) -> true",
        "Extend(1, 10) -> false",
        "Complete(1) -> true",
        "Complete(1) -> false",
        "Claim(\"notification/\", 300, false) -> None",
    ];
    assert_eq!(&pg_out[4..16], &expected_tail, "{pg_out:#?}");
    let tail: Vec<&str> = pg_out[19..].iter().map(|s| s.split(" -> ").nth(1).unwrap_or("")).collect();
    assert_eq!(
        tail,
        vec![
            "Some((5, 4))", // ordered: first ordered/a/
            "Some((7, 4))", // ordered/a/ is running, so ordered/b/
            "None",         // the second ordered/a/ waits for the first
            "8",
            "9",
            "10",
            "4", // acme: repositorygc/2, notification/x, proxycacheblob, exportactionlogs
            "error QUAY_QUEUE_NAME_INVALID",
            "11",
            "None",          // '_' is not a wildcard
            "Some((11, 4))", // '%' matched literally
            "12",
            "13",
            "14",
            "[(12, 4), (13, 4)]",          // a batch of two, in id order
            "[]",                          // max 0: completion only
            "error QUAY_INVALID_ARGUMENT", // more than 256 at once
            "[(14, 4)]",                   // what is left
        ],
        "{pg_out:#?}"
    );
    db.drop_db().await.expect("drop");
}
