//! Repository notifications delivered by the worker, on both backends: a push queues Quay's
//! `repo_push` item in the push's own transaction and the worker POSTs Quay's payload to the
//! webhook; a push that is refused sends nothing; a failing webhook counts its failures and is
//! not called after the third; a Slack target gets Quay's message shape;
//! `WEBHOOK_BLOCK_PRIVATE_ADDRESSES` keeps deliveries off private addresses.
//!
//! The sink listens on 127.0.0.2 (loopback): Quay refuses `localhost` and `127.0.0.1` as webhook
//! hosts at creation and at send time, as the golden scenario records.

use super::common::{Backend, OCI_MANIFEST, Registry, image_manifest, scalar};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook sink on 127.0.0.2: records (path, JSON body) and answers 200, or 500 on `/fail`.
async fn sink() -> (String, Received) {
    let got: Received = Arc::default();
    let store = got.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let store = store.clone();
        async move {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            store.lock().expect("lock").push((uri.path().to_string(), v));
            if uri.path() == "/fail" {
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                axum::http::StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), got)
}

/// Waits (bounded) until `got` holds `n` deliveries to `path`.
async fn deliveries(got: &Received, path: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let found: Vec<Value> =
            got.lock().expect("lock").iter().filter(|(p, _)| p == path).map(|(_, v)| v.clone()).collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    got.lock().expect("lock").iter().filter(|(p, _)| p == path).map(|(_, v)| v.clone()).collect()
}

async fn start_worker(r: &Registry) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut cfg = quay_server::worker::WorkerConfig::from_config(&r.config);
    cfg.gc_every = None;
    cfg.storage_sweep_every = None;
    cfg.upload_cleanup_every = None;
    tokio::spawn(quay_server::worker::run(r.store.clone(), r.storage.clone(), cfg, stopped));
    stop
}

async fn notify(r: &Registry, token: &str, method: &str, config: Value) {
    let resp = r
        .http
        .post(format!("{}/api/v1/repository/admin/app/notification/", r.url))
        .bearer_auth(token)
        .json(&json!({"event": "repo_push", "method": method, "config": config, "eventConfig": {}, "title": method}))
        .send()
        .await
        .expect("create notification");
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
}

async fn delivered_as_quay_does(backend: Backend) {
    let extra = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"notify\"\n";
    let r = Registry::start(backend, "notify", extra).await;
    let api = r.initialize_admin().await;
    let _stop = start_worker(&r).await;
    let (base, got) = sink().await;

    let t = r.token(Some("admin"), &["repository:admin/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("admin/app", &t, config).await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    notify(&r, &api, "webhook", json!({"url": format!("{base}/hook")})).await;
    notify(&r, &api, "webhook", json!({"url": format!("{base}/fail")})).await;
    notify(&r, &api, "slack", json!({"url": format!("{base}/slack")})).await;
    notify(&r, &api, "quay_notification", json!({"target": {"kind": "user", "name": "admin"}})).await;
    // Another organization's inbox, an unknown user: refused at creation, as in Quay.
    for target in [json!({"kind": "org", "name": "someone-else"}), json!({"kind": "user", "name": "nobody"})]
    {
        let resp = r
            .http
            .post(format!("{}/api/v1/repository/admin/app/notification/", r.url))
            .bearer_auth(&api)
            .json(&json!({"event": "repo_push", "method": "quay_notification", "config": {"target": target}, "eventConfig": {}}))
            .send()
            .await
            .expect("create");
        assert_eq!(resp.status(), 400, "{target}");
    }

    // A refused push (a layer the repository does not have) queues nothing.
    let bad = image_manifest((&dc, config.len()), &[(&super::common::digest(b"missing"), 7)], "");
    assert_eq!(r.put_manifest("admin/app", "broken", &t, OCI_MANIFEST, &bad).await.status(), 400);
    let queued = scalar(&r, "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE 'notification/%'").await;
    assert_eq!(queued, 0, "a refused push queued a notification");

    assert_eq!(r.put_manifest("admin/app", "v1", &t, OCI_MANIFEST, &manifest).await.status(), 201);
    let hooks = deliveries(&got, "/hook", 1).await;
    assert_eq!(hooks.len(), 1, "one delivery per push");
    assert_eq!(
        hooks[0],
        json!({
            "repository": "admin/app",
            "namespace": "admin",
            "name": "app",
            "docker_url": format!("{}/admin/app", r.host),
            "homepage": format!("http://{}/repository/admin/app", r.host),
            "updated_tags": ["v1"],
        })
    );
    let slack = deliveries(&got, "/slack", 1).await;
    assert_eq!(slack[0]["text"], "Repository admin/app updated");
    assert_eq!(slack[0]["username"], "quayiobot");
    assert_eq!(slack[0]["attachments"][0]["color"], "good");
    // The in-app one reaches admin's notifications, with the event data as its metadata.
    let mut inbox = Value::Null;
    for _ in 0..200 {
        inbox = r.get_json("/api/v1/user/notifications", Some(&api)).await;
        if inbox["notifications"].as_array().is_some_and(|n| !n.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(inbox["notifications"][0]["kind"], "repo_push", "{inbox}");
    assert_eq!(inbox["notifications"][0]["metadata"], hooks[0]);

    // The failing target: each push's delivery fails once; after the third failure it is not
    // called again (disabled until reset).
    for tag in ["v2", "v3", "v4"] {
        assert_eq!(r.put_manifest("admin/app", tag, &t, OCI_MANIFEST, &manifest).await.status(), 201);
    }
    assert_eq!(deliveries(&got, "/hook", 4).await.len(), 4);
    let failing = "SELECT CAST(number_of_failures AS BIGINT) FROM repositorynotification WHERE title = 'webhook' AND config_json LIKE '%/fail%'";
    for _ in 0..200 {
        if scalar(&r, failing).await >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(scalar(&r, failing).await, 3);
    let fails_before = deliveries(&got, "/fail", 3).await.len();
    assert_eq!(fails_before, 3);
    assert_eq!(r.put_manifest("admin/app", "v5", &t, OCI_MANIFEST, &manifest).await.status(), 201);
    assert_eq!(deliveries(&got, "/hook", 5).await.len(), 5);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&got, "/fail", 3).await.len(), 3, "a disabled notification is not called");
    // A DBA sees it in psql (PostgreSQL: the extension's view).
    if backend == Backend::Postgres {
        let view = scalar(
            &r,
            "SELECT CAST(failures AS BIGINT) * 10 + CASE WHEN disabled THEN 1 ELSE 0 END \
               FROM quay.notification_failing WHERE method = 'webhook'",
        )
        .await;
        assert_eq!(view, 31, "quay.notification_failing: 3 failures, disabled");
        let running =
            scalar(&r, "SELECT COUNT(*) FROM quay.queue_running WHERE queue = 'notification'").await;
        assert_eq!(running, 0);
    }
    // The working ones start their failure count over after each success.
    let ok_failures = scalar(
        &r,
        "SELECT CAST(COALESCE(SUM(number_of_failures), 0) AS BIGINT) FROM repositorynotification WHERE config_json NOT LIKE '%/fail%'",
    )
    .await;
    assert_eq!(ok_failures, 0);
}

#[tokio::test]
async fn delivered_as_quay_does_sqlite() {
    delivered_as_quay_does(Backend::Sqlite).await;
}

#[tokio::test]
async fn delivered_as_quay_does_postgres() {
    delivered_as_quay_does(Backend::Postgres).await;
}

/// `WEBHOOK_BLOCK_PRIVATE_ADDRESSES: true`: the same webhook on a loopback address is not called.
#[tokio::test]
async fn private_addresses_can_be_blocked() {
    let extra = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"notify\"\nWEBHOOK_BLOCK_PRIVATE_ADDRESSES: true\n";
    let r = Registry::start(Backend::Sqlite, "notifyblock", extra).await;
    let api = r.initialize_admin().await;
    let _stop = start_worker(&r).await;
    let (base, got) = sink().await;
    let t = r.token(Some("admin"), &["repository:admin/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("admin/app", &t, config).await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    notify(&r, &api, "webhook", json!({"url": format!("{base}/hook")})).await;
    assert_eq!(r.put_manifest("admin/app", "v1", &t, OCI_MANIFEST, &manifest).await.status(), 201);
    // The item is handled (dropped, not retried) and nothing reaches the sink.
    for _ in 0..200 {
        if scalar(&r, "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE 'notification/%'").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE 'notification/%'").await, 0);
    assert!(got.lock().expect("lock").is_empty(), "a blocked address was called");
}

/// `FEATURE_IMAGE_EXPIRY_TRIGGER`: a `repo_image_expiry` notification with `days: 2` announces,
/// once, the tags expiring within two days (not later ones, not tags without an expiry), with
/// Quay's payload; deleting the notification afterwards works (its announcement rows go first).
async fn expiring_tags_are_announced_once(backend: Backend) {
    let extra = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"notify\"\nFEATURE_IMAGE_EXPIRY_TRIGGER: true\n";
    let r = Registry::start(backend, "notifyexpiry", extra).await;
    let api = r.initialize_admin().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut cfg = quay_server::worker::WorkerConfig::from_config(&r.config);
    cfg.gc_every = Some(Duration::from_millis(200));
    cfg.storage_sweep_every = None;
    cfg.upload_cleanup_every = None;
    tokio::spawn(quay_server::worker::run(r.store.clone(), r.storage.clone(), cfg, stopped));
    let (base, got) = sink().await;
    let t = r.token(Some("admin"), &["repository:admin/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("admin/app", &t, config).await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    for tag in ["v1", "v2", "v3"] {
        assert_eq!(r.put_manifest("admin/app", tag, &t, OCI_MANIFEST, &manifest).await.status(), 201);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    for (tag, days) in [("v1", 1), ("v2", 5)] {
        let resp = r
            .http
            .put(format!("{}/api/v1/repository/admin/app/tag/{tag}", r.url))
            .bearer_auth(&api)
            .json(&json!({"expiration": now + days * 86_400}))
            .send()
            .await
            .expect("expiration");
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    }
    let resp = r
        .http
        .post(format!("{}/api/v1/repository/admin/app/notification/", r.url))
        .bearer_auth(&api)
        .json(&json!({"event": "repo_image_expiry", "method": "webhook", "config": {"url": format!("{base}/expiry")},
                      "eventConfig": {"days": 2}, "title": "expiry"}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.expect("json");
    let sent = deliveries(&got, "/expiry", 1).await;
    assert_eq!(sent.len(), 1, "one announcement");
    assert_eq!(sent[0]["tags"], json!(["v1"]));
    assert_eq!(sent[0]["expiring_in"], "2 days");
    assert_eq!(sent[0]["repository"], "admin/app");
    assert_eq!(sent[0]["homepage"], format!("http://{}/repository/admin/app", r.host));
    assert_eq!(sent[0]["notification_uuid"], created["uuid"]);
    // Later scans do not announce v1 again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(got.lock().expect("lock").iter().filter(|(p, _)| p == "/expiry").count(), 1);
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM tagnotificationsuccess").await, 1);
    let uuid = created["uuid"].as_str().expect("uuid");
    let resp = r
        .http
        .delete(format!("{}/api/v1/repository/admin/app/notification/{uuid}", r.url))
        .bearer_auth(&api)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM tagnotificationsuccess").await, 0);
    let _ = stop.send(true);
}

#[tokio::test]
async fn expiring_tags_are_announced_once_sqlite() {
    expiring_tags_are_announced_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn expiring_tags_are_announced_once_postgres() {
    expiring_tags_are_announced_once(Backend::Postgres).await;
}
