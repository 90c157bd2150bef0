//! `/api/v1` beyond the golden scenario, on both backends: every route of the discovery table is
//! served (no "URL not found" or 405 for its method), the discovery document lists them, and an
//! app-specific token made through the API logs in to the registry as `$app`.

use super::common::{Backend, Registry};
use quay_server::http::api::misc::ROUTES;
use serde_json::{Value, json};

const CONFIG: &str = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"routes-secret\"\n";

/// Initializes the first user with a token; returns the bearer token.
async fn initialize(r: &Registry) -> String {
    let resp = r
        .http
        .post(format!("{}/api/v1/user/initialize", r.url))
        .json(&json!({"username": "admin", "password": "password123", "email": "admin@example.com", "access_token": true}))
        .send()
        .await
        .expect("initialize");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_string()
}

async fn every_route_is_served(backend: Backend) {
    let r = Registry::start(backend, "apiroutes", CONFIG).await;
    let token = initialize(&r).await;
    for (method, path, _) in ROUTES {
        let concrete: String = path
            .split('/')
            // A profile of an unknown user is Flask's "URL not found", like an unknown route: ask
            // for one that exists.
            .map(|seg| {
                if seg.starts_with('{') {
                    if *path == "/api/v1/users/{name}" { "admin" } else { "x1" }
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = r
            .http
            .request(m, format!("{}{concrete}", r.url))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        assert_ne!(status, 405, "{method} {path}: not routed for this method");
        assert!(
            !text.contains("The requested URL was not found on the server"),
            "{method} {path}: answered as an unknown URL"
        );
        assert!(status < 500, "{method} {path}: {status} {text}");
    }
    let doc: Value = r.get_json("/api/v1/discovery", None).await;
    assert_eq!(doc["swagger"], "2.0");
    let operations: usize =
        doc["paths"].as_object().expect("paths").values().map(|p| p.as_object().map_or(0, |o| o.len())).sum();
    assert_eq!(operations, ROUTES.len());
}

#[tokio::test]
async fn every_route_is_served_sqlite() {
    every_route_is_served(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_route_is_served_postgres() {
    every_route_is_served(Backend::Postgres).await;
}

async fn app_token_logs_in(backend: Backend) {
    let r = Registry::start(backend, "apptoken", CONFIG).await;
    let token = initialize(&r).await;
    let created: Value = r
        .http
        .post(format!("{}/api/v1/user/apptoken", r.url))
        .bearer_auth(&token)
        .json(&json!({"title": "ci"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let code = created["token"]["token_code"].as_str().expect("code").to_string();
    assert_eq!(code.len(), 120);
    let uuid = created["token"]["uuid"].as_str().expect("uuid").to_string();
    // The code logs in to the registry as `$app`.
    let ok = r.auth(Some("$app"), &code, &["repository:admin/x:pull"]).await;
    assert_eq!(ok.status(), 200);
    let listed =
        r.http.get(format!("{}/api/v1/user/apptoken", r.url)).bearer_auth(&token).send().await.expect("list");
    let listed: Value = listed.json().await.expect("json");
    assert_eq!(listed["tokens"][0]["title"], "ci");
    assert!(listed["tokens"][0].get("token_code").is_none(), "codes are not listed");
    // Revoked: the code stops working.
    let del = r
        .http
        .delete(format!("{}/api/v1/user/apptoken/{uuid}", r.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("revoke");
    assert_eq!(del.status(), 204);
    let refused = r.auth(Some("$app"), &code, &["repository:admin/x:pull"]).await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn app_token_logs_in_sqlite() {
    app_token_logs_in(Backend::Sqlite).await;
}

#[tokio::test]
async fn app_token_logs_in_postgres() {
    app_token_logs_in(Backend::Postgres).await;
}
