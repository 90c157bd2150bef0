//! `GET /metrics` after real traffic, on both backends: requests counted by route template,
//! method and status (never a repository name, tag or digest in a label), the database pool, the
//! queues, open uploads.

use super::common::{Backend, OCI_MANIFEST, Registry, exec, image_manifest};

async fn scrape_after_a_push(backend: Backend) {
    let r =
        Registry::start(backend, "metrics", "FEATURE_USER_INITIALIZE: true\nSUPER_USERS: [admin]\n").await;
    let api = r.initialize_admin().await;
    let t = r.token(Some("admin"), &["repository:admin/secretproject:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("admin/secretproject", &t, config).await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    assert_eq!(r.put_manifest("admin/secretproject", "v1", &t, OCI_MANIFEST, &manifest).await.status(), 201);
    let pulled = r
        .req(reqwest::Method::GET, "/v2/admin/secretproject/manifests/v1", Some(&t))
        .send()
        .await
        .expect("pull");
    assert_eq!(pulled.status(), 200);
    let api_get = r
        .req(reqwest::Method::GET, "/api/v1/repository/admin/secretproject", Some(&api))
        .send()
        .await
        .expect("api");
    assert_eq!(api_get.status(), 200);
    exec(&r, "INSERT INTO queueitem (queue_name, body, available_after, available, processing_expires, retries_remaining) VALUES ('notification/admin/x/repo_push/', '{}', '2020-01-01 00:00:00', true, NULL, 5)").await;

    let resp = r.http.get(format!("{}/metrics", r.url)).send().await.expect("metrics");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().expect("ct").starts_with("application/openmetrics-text"));
    let text = resp.text().await.expect("body");
    let has = |needle: &str| text.lines().any(|l| l.starts_with(needle));
    assert!(
        has(
            r#"quay_request_duration_seconds_count{method="PUT",route="/v2/{name}/manifests/{reference}",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(has(
        r#"quay_request_duration_seconds_count{method="GET",route="/v2/{name}/manifests/{reference}",status="200"} 1"#
    ));
    assert!(has(
        r#"quay_request_duration_seconds_count{method="POST",route="/v2/{name}/blobs/uploads/",status="201"} 1"#
    ));
    assert!(has(
        r#"quay_request_duration_seconds_count{method="GET",route="/api/v1/repository/{ns}/{name}",status="200"} 1"#
    ));
    // The pulled manifest's bytes were counted as served.
    let served: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"quay_http_response_bytes_total{route="/v2/{name}/manifests/{reference}"} "#)
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("served bytes");
    assert!(served >= manifest.len() as u64, "{served}");
    assert!(has("quay_db_pooled_connections_available "));
    // Every pooled connection the push took was counted as a wait; none failed.
    let waits: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("quay_db_pool_wait_seconds_count "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(waits > 0, "{text}");
    assert!(has("quay_db_pool_errors_total 0"), "{text}");
    assert!(has("quay_upload_sessions_open 0"));
    assert!(has(r#"quay_queue_items_available{queue_name="notification"} 1"#), "{text}");
    assert!(has(r#"quay_queue_oldest_available_age_seconds{queue_name="notification"} "#));
    assert!(text.contains("quay_gc_iterations_total"));
    assert!(text.trim_end().ends_with("# EOF"));
    // Nothing a client sent becomes a label.
    assert!(
        !text.contains("secretproject") && !text.contains("sha256:") && !text.contains("\"v1\""),
        "{text}"
    );
}

#[tokio::test]
async fn scrape_after_a_push_sqlite() {
    scrape_after_a_push(Backend::Sqlite).await;
}

#[tokio::test]
async fn scrape_after_a_push_postgres() {
    scrape_after_a_push(Backend::Postgres).await;
}
