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

/// A browser session: its cookie and current CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(r: &Registry, user: &str, password: &str) -> Session {
    let resp = r.http.get(format!("{}/csrf_token", r.url)).send().await.expect("csrf");
    let cookie =
        resp.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_string();
    let csrf = resp.json::<Value>().await.expect("json")["csrf_token"].as_str().expect("token").to_string();
    let resp = r
        .http
        .post(format!("{}/api/v1/signin", r.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("signin");
    assert_eq!(resp.status(), 200, "sign in as {user}");
    let next = resp.headers()["x-next-csrf-token"].to_str().expect("next").to_string();
    let cookie =
        resp.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_string();
    Session { cookie, csrf: next }
}

impl Session {
    fn req(&self, r: &Registry, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        r.http
            .request(method, format!("{}{path}", r.url))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
    }
}

/// Creates a person with a password through the superuser API.
async fn person(r: &Registry, admin: &str, name: &str) {
    let resp = r
        .http
        .post(format!("{}/api/v1/superuser/users/", r.url))
        .bearer_auth(admin)
        .json(&json!({"username": name, "email": format!("{name}@example.com")}))
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), 200);
    let resp = r
        .http
        .put(format!("{}/api/v1/superuser/users/{name}", r.url))
        .bearer_auth(admin)
        .json(&json!({"password": "password123"}))
        .send()
        .await
        .expect("password");
    assert_eq!(resp.status(), 200);
}

/// The review's findings, each refused: another namespace's robot given a permission, a
/// superuser removed by another, an organization left without admins, sessions surviving a
/// password change, a non-JSON body, a log window past the calendar.
async fn guards_hold(backend: Backend) {
    use reqwest::Method;
    let r = Registry::start(
        backend,
        "apiguards",
        "SUPER_USERS: [admin, other]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"guards\"\n",
    )
    .await;
    let admin = initialize(&r).await;
    person(&r, &admin, "alice").await;
    person(&r, &admin, "bob").await;
    let alice = sign_in(&r, "alice", "password123").await;
    let ok = |s: reqwest::StatusCode, what: &str| assert!(s.is_success(), "{what}: {s}");
    ok(
        alice
            .req(&r, Method::POST, "/api/v1/organization/")
            .json(&json!({"name": "acme", "email": "acme@example.com"}))
            .send()
            .await
            .expect("org")
            .status(),
        "org",
    );
    ok(alice.req(&r, Method::POST, "/api/v1/repository").json(&json!({"namespace": "acme", "repository": "app", "visibility": "private", "description": ""})).send().await.expect("repo").status(), "repo");
    // bob's own robot cannot be given a role on acme/app.
    let bob = sign_in(&r, "bob", "password123").await;
    ok(bob.req(&r, Method::PUT, "/api/v1/user/robots/bot").send().await.expect("robot").status(), "robot");
    let grant = alice
        .req(&r, Method::PUT, "/api/v1/repository/acme/app/permissions/user/bob+bot")
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .expect("grant");
    assert_eq!(grant.status(), 400, "another namespace's robot");
    // acme keeps an admin: its only admin team cannot be demoted or deleted, its last admin not removed.
    let demote = alice
        .req(&r, Method::PUT, "/api/v1/organization/acme/team/owners")
        .json(&json!({"role": "member"}))
        .send()
        .await
        .expect("demote");
    assert_eq!(demote.status(), 400);
    let delete = alice
        .req(&r, Method::DELETE, "/api/v1/organization/acme/team/owners")
        .send()
        .await
        .expect("delete team");
    assert_eq!(delete.status(), 400);
    let leave = alice
        .req(&r, Method::DELETE, "/api/v1/organization/acme/team/owners/members/alice")
        .send()
        .await
        .expect("leave");
    assert_eq!(leave.status(), 400);
    let team: Value = alice
        .req(&r, Method::GET, "/api/v1/organization/acme/team/owners/members")
        .send()
        .await
        .expect("members")
        .json()
        .await
        .expect("json");
    assert_eq!(team["members"][0]["name"], "alice");
    // Superusers cannot change or delete each other.
    let created = r
        .http
        .post(format!("{}/api/v1/superuser/users/", r.url))
        .bearer_auth(&admin)
        .json(&json!({"username": "other", "email": "other@example.com"}))
        .send()
        .await
        .expect("create other");
    assert_eq!(created.status(), 200);
    let update = r
        .http
        .put(format!("{}/api/v1/superuser/users/other", r.url))
        .bearer_auth(&admin)
        .json(&json!({"password": "password123"}))
        .send()
        .await
        .expect("update other");
    assert_eq!(update.status(), 400);
    let del = r
        .http
        .delete(format!("{}/api/v1/superuser/users/other", r.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(del.status(), 400);
    // A non-JSON body is refused before any handler.
    let text = alice
        .req(&r, Method::POST, "/api/v1/organization/")
        .header("content-type", "text/plain")
        .body(r#"{"name":"evil","email":"e@example.com"}"#)
        .send()
        .await
        .expect("text");
    assert_eq!(text.status(), 400);
    assert!(
        alice.req(&r, Method::GET, "/api/v1/organization/evil").send().await.expect("get").status() == 404
    );
    // A window ending past the calendar is a 400, not a panic.
    let far = alice
        .req(&r, Method::GET, "/api/v1/user/logs?starttime=01/01/2020&endtime=12/31/9999")
        .send()
        .await
        .expect("logs");
    assert_eq!(far.status(), 400);
    // A new password ends the user's sessions.
    let reset = r
        .http
        .put(format!("{}/api/v1/superuser/users/alice", r.url))
        .bearer_auth(&admin)
        .json(&json!({"password": "password456"}))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 200);
    let me = alice.req(&r, Method::GET, "/api/v1/user/").send().await.expect("me");
    assert_eq!(me.status(), 401);
}

#[tokio::test]
async fn guards_hold_sqlite() {
    guards_hold(Backend::Sqlite).await;
}

#[tokio::test]
async fn guards_hold_postgres() {
    guards_hold(Backend::Postgres).await;
}

/// `FEATURE_ANONYMOUS_ACCESS: false` keeps anonymous callers out of the API; a read-only
/// registry refuses API writes with 503.
async fn anonymous_off_and_read_only(backend: Backend) {
    let r = Registry::start(backend, "apigates", "FEATURE_ANONYMOUS_ACCESS: false\nREGISTRY_STATE: readonly\nFEATURE_USER_INITIALIZE: true\nSUPER_USERS: [admin]\nSECRET_KEY: \"gates\"\n").await;
    let admin = initialize(&r).await;
    let anon = r.http.get(format!("{}/api/v1/repository?public=true", r.url)).send().await.expect("list");
    assert_eq!(anon.status(), 401);
    let write = r
        .http
        .post(format!("{}/api/v1/organization/", r.url))
        .bearer_auth(&admin)
        .json(&json!({"name": "acme", "email": "acme@example.com"}))
        .send()
        .await
        .expect("write");
    assert_eq!(write.status(), 503);
    let read = r.http.get(format!("{}/api/v1/user/", r.url)).bearer_auth(&admin).send().await.expect("read");
    assert_eq!(read.status(), 200);
}

#[tokio::test]
async fn anonymous_off_and_read_only_sqlite() {
    anonymous_off_and_read_only(Backend::Sqlite).await;
}

#[tokio::test]
async fn anonymous_off_and_read_only_postgres() {
    anonymous_off_and_read_only(Backend::Postgres).await;
}

/// A person changes its own password: its browser gets a new session, the old one ends, and the
/// new password signs in.
async fn own_password_change(backend: Backend) {
    use reqwest::Method;
    let r = Registry::start(
        backend,
        "apiownpw",
        "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"ownpw\"\n",
    )
    .await;
    let admin = initialize(&r).await;
    person(&r, &admin, "alice").await;
    let alice = sign_in(&r, "alice", "password123").await;
    let resp = alice
        .req(&r, Method::PUT, "/api/v1/user/")
        .json(&json!({"password": "password789"}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
    let renewed =
        resp.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_string();
    let refused = resp.headers().contains_key("x-next-csrf-token");
    assert!(refused, "a new CSRF token comes with the new session");
    let old = alice.req(&r, Method::GET, "/api/v1/user/").send().await.expect("old");
    assert_eq!(old.status(), 401);
    let new =
        r.http.get(format!("{}/api/v1/user/", r.url)).header("cookie", renewed).send().await.expect("new");
    assert_eq!(new.status(), 200);
    sign_in(&r, "alice", "password789").await;
    let other = alice
        .req(&r, Method::PUT, "/api/v1/user/")
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .expect("email");
    assert_eq!(other.status(), 401, "the old session is gone");
}

#[tokio::test]
async fn own_password_change_sqlite() {
    own_password_change(Backend::Sqlite).await;
}

#[tokio::test]
async fn own_password_change_postgres() {
    own_password_change(Backend::Postgres).await;
}
