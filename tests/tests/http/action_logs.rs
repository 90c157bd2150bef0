//! Action logs of `/v2` traffic, on both backends: a push writes one `push_repo` row before it is
//! acknowledged; pulls by tag and by digest write one `pull_repo` row each (queued off the
//! request path and written in batches), with Quay's metadata; refused pulls write none.

use super::common::{Backend, OCI_MANIFEST, Registry, digest, image_manifest, scalar};
use reqwest::Method;

async fn count(r: &Registry, kind: &str) -> i64 {
    scalar(
        r,
        &format!(
            "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = '{kind}'"
        ),
    )
    .await
}

/// Waits (bounded) until `kind` has `want` rows; returns what it has then.
async fn settle(r: &Registry, kind: &str, want: i64) -> i64 {
    for _ in 0..100 {
        let n = count(r, kind).await;
        if n >= want {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    count(r, kind).await
}

async fn registry_traffic_is_logged(backend: Backend) {
    let r = Registry::start(backend, "actionlogs", "").await;
    let alice = r.user("alice").await;
    r.user("bob").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let layer = b"log-layer".to_vec();
    let dc = r.push_blob("alice/app", &t, config).await;
    let dl = r.push_blob("alice/app", &t, &layer).await;
    let manifest = image_manifest((&dc, config.len()), &[(&dl, layer.len())], "");
    let resp = r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status(), 201);
    // Written before the push is acknowledged.
    assert_eq!(count(&r, "push_repo").await, 1);

    let by_tag = 20;
    let by_digest = 5;
    let md = digest(manifest.as_bytes());
    let mut pulls = Vec::new();
    for i in 0..by_tag + by_digest {
        let reference = if i < by_tag { "v1".to_string() } else { md.clone() };
        let req = r.req(Method::GET, &format!("/v2/alice/app/manifests/{reference}"), Some(&t));
        pulls.push(tokio::spawn(async move { req.send().await.expect("pull").status().as_u16() }));
    }
    for p in pulls {
        assert_eq!(p.await.expect("join"), 200);
    }
    // Refused (bob may not read) and unknown pulls log nothing.
    let bob = r.token(Some("bob"), &["repository:alice/app:pull"]).await;
    let resp = r.req(Method::GET, "/v2/alice/app/manifests/v1", Some(&bob)).send().await.expect("bob");
    assert_eq!(resp.status(), 401);
    let resp = r.req(Method::GET, "/v2/alice/app/manifests/missing", Some(&t)).send().await.expect("missing");
    assert_eq!(resp.status(), 404);

    assert_eq!(settle(&r, "pull_repo", by_tag + by_digest).await, by_tag + by_digest);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(count(&r, "pull_repo").await, by_tag + by_digest, "no extra rows");
    let tagged = scalar(
        &r,
        &format!(
            "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
             WHERE k.name = 'pull_repo' AND l.performer_id = {alice} AND l.metadata_json LIKE '%\"tag\":\"v1\"%' \
             AND l.metadata_json LIKE '%\"username\":\"alice\"%' AND l.metadata_json LIKE '%\"repo\":\"app\"%'"
        ),
    )
    .await;
    assert_eq!(tagged, by_tag);
    let digested = scalar(
        &r,
        &format!(
            "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
             WHERE k.name = 'pull_repo' AND l.metadata_json LIKE '%\"manifest_digest\":\"{md}\"%'"
        ),
    )
    .await;
    assert_eq!(digested, by_digest);
    // The repository's logs route reads them back.
    let account = scalar(&r, "SELECT CAST(id AS BIGINT) FROM \"user\" WHERE username = 'alice'").await;
    let repo_logged = scalar(
        &r,
        &format!("SELECT COUNT(*) FROM logentry3 WHERE account_id = {account} AND repository_id IS NOT NULL"),
    )
    .await;
    assert_eq!(repo_logged, 1 + by_tag + by_digest);
}

#[tokio::test]
async fn registry_traffic_is_logged_sqlite() {
    registry_traffic_is_logged(Backend::Sqlite).await;
}

#[tokio::test]
async fn registry_traffic_is_logged_postgres() {
    registry_traffic_is_logged(Backend::Postgres).await;
}

/// `quay.log_actions` / `quay_core::logs::record_all`: a batch is all or none; an entry of an
/// unknown kind refuses the whole batch (the writer then writes the others one by one).
async fn batches_are_all_or_none(backend: Backend) {
    let r = Registry::start(backend, "logbatch", "").await;
    let alice = r.user("alice").await;
    let entry = |kind: &str, n: i64| {
        let mut e =
            quay_core::logs::LogEntry::new(kind, serde_json::json!({"n": n, "text": "a \"quoted\" value"}));
        e.account_id = Some(alice);
        e.performer_id = Some(alice);
        e.ip = Some("10.0.0.1".into());
        e
    };
    let refused = r.store.log_actions(vec![entry("pull_repo", 1), entry("no_such_kind", 2)]).await;
    assert!(refused.is_err(), "an unknown kind refuses the batch");
    assert_eq!(count(&r, "pull_repo").await, 0, "nothing of a refused batch is written");
    r.store.log_actions((0..50).map(|n| entry("pull_repo", n)).collect()).await.expect("batch");
    assert_eq!(count(&r, "pull_repo").await, 50);
    let exact = scalar(
        &r,
        &format!(
            "SELECT COUNT(*) FROM logentry3 WHERE account_id = {alice} AND performer_id = {alice} AND ip = '10.0.0.1' \
             AND metadata_json = '{{\"n\":7,\"text\":\"a \\\"quoted\\\" value\"}}'"
        ),
    )
    .await;
    assert_eq!(exact, 1, "columns and metadata stored exactly");
}

#[tokio::test]
async fn batches_are_all_or_none_sqlite() {
    batches_are_all_or_none(Backend::Sqlite).await;
}

#[tokio::test]
async fn batches_are_all_or_none_postgres() {
    batches_are_all_or_none(Backend::Postgres).await;
}

/// The address an action log records: `X-Forwarded-For` only from `TRUSTED_PROXIES` (loopback by
/// default); from anyone else the peer's own address, so a client cannot choose it.
#[tokio::test]
async fn forwarded_addresses_only_from_trusted_proxies() {
    for (trusted, want) in [("", "203.0.113.9"), ("TRUSTED_PROXIES: []\n", "127.0.0.1")] {
        let extra =
            format!("SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"xff\"\n{trusted}");
        let r = Registry::start(Backend::Sqlite, "xff", &extra).await;
        let admin = r.initialize_admin().await;
        let resp = r
            .req(Method::POST, "/api/v1/repository", Some(&admin))
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
            .json(&serde_json::json!({"namespace": "admin", "repository": "app", "visibility": "private", "description": ""}))
            .send()
            .await
            .expect("create");
        assert_eq!(resp.status(), 201);
        let logged = scalar(
            &r,
            &format!(
                "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
                 WHERE k.name = 'create_repo' AND l.ip = '{want}'"
            ),
        )
        .await;
        assert_eq!(logged, 1, "{trusted:?}: create_repo logged from {want}");
    }
}
