//! Traces over OTLP (issue 15): a real `quay serve --otlp-endpoint` exports to a small OTLP/HTTP
//! receiver started here. A push's requests become spans named by route template (never a raw
//! path), with child spans for database and storage calls; a `traceparent` on the manifest PUT
//! puts that request into the caller's trace; the request id of the response header is an
//! attribute of its span.

mod support;

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{QUAY, Server, first_user_token, sha256};

type Spans = Arc<Mutex<Vec<Value>>>;

/// An OTLP/HTTP (JSON) receiver on 127.0.0.1: every span it is sent.
async fn receiver() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let store = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let mut got = store.lock().expect("lock");
                for rs in v["resourceSpans"].as_array().into_iter().flatten() {
                    for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                        got.extend(ss["spans"].as_array().into_iter().flatten().cloned());
                    }
                }
                axum::Json(serde_json::json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), spans)
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"].as_array()?.iter().find(|a| a["key"] == key).map(|a| &a["value"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_is_traced() {
    let (otlp, spans) = receiver().await;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().to_str().expect("utf8").to_string();
    let mut cmd = std::process::Command::new(QUAY);
    cmd.args(["serve", "--data-dir", &data, "--listen", "127.0.0.1:0", "--otlp-endpoint", &otlp])
        .env("RUST_LOG", "info")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let server = tokio::task::spawn_blocking(move || Server::spawn(cmd)).await.expect("serve");
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let token = first_user_token(&http, &base, "pull,push").await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let r = http
        .post(format!("{base}/v2/admin/app/blobs/uploads/?digest={}", sha256(&config)))
        .bearer_auth(&token)
        .body(config.clone())
        .send()
        .await
        .expect("blob");
    assert_eq!(r.status(), 201);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[]}}"#,
        sha256(&config),
        config.len()
    );
    let (trace_id, parent) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let r = http
        .put(format!("{base}/v2/admin/app/manifests/v1"))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .header("traceparent", format!("00-{trace_id}-{parent}-01"))
        .body(manifest)
        .send()
        .await
        .expect("manifest");
    assert_eq!(r.status(), 201);
    let request_id = r.headers()["x-request-id"].to_str().expect("id").to_string();

    let deadline = Instant::now() + Duration::from_secs(20);
    let put = loop {
        let found = spans
            .lock()
            .expect("lock")
            .iter()
            .find(|s| s["name"] == "PUT /v2/{name}/manifests/{reference}")
            .cloned();
        if let Some(s) = found {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no manifest PUT span exported; got {:?}",
            spans.lock().expect("lock").iter().map(|s| s["name"].clone()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(put["traceId"], trace_id, "the caller's trace: {put}");
    assert_eq!(put["parentSpanId"], parent, "the caller's span is the parent: {put}");
    assert_eq!(attr(&put, "request_id").and_then(|v| v["stringValue"].as_str()), Some(request_id.as_str()));
    assert_eq!(
        attr(&put, "http.route").and_then(|v| v["stringValue"].as_str()),
        Some("/v2/{name}/manifests/{reference}")
    );
    // Its children: the database calls of the push (and nothing named by a raw path anywhere).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = spans.lock().expect("lock").clone();
    let children: Vec<&Value> = all.iter().filter(|s| s["parentSpanId"] == put["spanId"]).collect();
    assert!(
        children.iter().any(|s| s["name"].as_str().is_some_and(|n| n.starts_with("db "))),
        "{children:?}"
    );
    assert!(
        all.iter().all(|s| !s["name"].as_str().unwrap_or("").contains("admin/app")),
        "a raw path as a span name"
    );
    // The blob upload's storage write is a child of its request span.
    let upload = all.iter().find(|s| s["name"] == "POST /v2/{name}/blobs/uploads/").expect("upload span");
    assert!(
        all.iter().any(|s| s["parentSpanId"] == upload["spanId"]
            && s["name"].as_str().is_some_and(|n| n.starts_with("storage "))),
        "storage spans under the upload: {:?}",
        all.iter().map(|s| s["name"].clone()).collect::<Vec<_>>()
    );
    eprintln!("traces: {} spans received; the manifest PUT has {} children", all.len(), children.len());
    tokio::task::spawn_blocking(move || server.stop()).await.expect("stop");
}
