//! `/api/v1` beyond the golden scenario, on both backends: every route of the discovery table is
//! served (no "URL not found" or 405 for its method), the discovery document lists them, and an
//! app-specific token made through the API logs in to the registry as `$app`.

use super::common::{Backend, Registry, exec, scalar};
use quay_server::http::api::misc::ROUTES;
use serde_json::{Value, json};

const CONFIG: &str = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"routes-secret\"\n";

async fn every_route_is_served(backend: Backend) {
    let r = Registry::start(backend, "apiroutes", CONFIG).await;
    let token = r.initialize_admin().await;
    for (method, path, _, _) in ROUTES {
        let concrete: String = path
            .split('/')
            // A profile of an unknown user is Flask's "URL not found", like an unknown route: ask
            // for one that exists.
            .map(|seg| {
                if seg.starts_with('{') {
                    match *path {
                        "/api/v1/users/{name}" => "admin",
                        // An unknown error type is Flask's "URL not found", as in Quay.
                        "/api/v1/error/{kind}" => "not_found",
                        _ => "x1",
                    }
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
    let users_quota = &doc["paths"]["/api/v1/user/quota"]["get"]["security"];
    assert_eq!(users_quota, &json!([{"oauth2_implicit": ["user:admin"]}]));
    assert!(doc["securityDefinitions"]["oauth2_implicit"]["scopes"]["repo:read"].is_string());
}

/// Quay's path template with the repository in one parameter and every name blanked, for
/// matching our templates against Quay's.
fn template_key(method: &str, path: &str) -> (String, String) {
    let mut segments = Vec::new();
    for seg in path.trim_end_matches('/').split('/') {
        if seg == "{repository}" {
            segments.extend(["{}", "{}"]);
        } else if seg.starts_with('{') {
            segments.push("{}");
        } else {
            segments.push(seg);
        }
    }
    (method.to_ascii_uppercase(), segments.join("/"))
}

/// Every route both serve carries the OAuth scope Quay's recorded discovery document labels it
/// with (`tests/reference/quay-api-discovery.json`, the golden's Quay); none of ours is unlabelled
/// where Quay labels it.
#[test]
fn scope_labels_match_quays_discovery() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/reference/quay-api-discovery.json");
    let quay: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("discovery")).expect("json");
    let mut labels = std::collections::HashMap::new();
    for (p, ops) in quay["paths"].as_object().expect("paths") {
        for (m, op) in ops.as_object().expect("ops") {
            if op.is_object() {
                let scope = op["security"][0]["oauth2_implicit"][0].as_str().map(str::to_string);
                labels.insert(template_key(m, p), scope);
            }
        }
    }
    let mut compared = 0;
    for (method, path, scope, _) in ROUTES {
        if let Some(theirs) = labels.get(&template_key(method, path)) {
            compared += 1;
            assert_eq!(scope.map(str::to_string), *theirs, "{method} {path}");
        }
    }
    assert!(compared >= 90, "only {compared} routes matched Quay's document");
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
    let token = r.initialize_admin().await;
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
    let admin = r.initialize_admin().await;
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
    let admin = r.initialize_admin().await;
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
    let admin = r.initialize_admin().await;
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

/// What Quay's web UI asks for beyond the golden scenario: in-app notifications, granted
/// authorizations, an organization's applications, the superuser panel (registry size, service
/// keys, change log, every account's logs), error type descriptions, `includeStats`, the logo.
async fn web_ui_routes(backend: Backend) {
    let r = Registry::start(backend, "webui", CONFIG).await;
    let token = r.initialize_admin().await;
    let get = |path: &str| {
        let req = r.http.get(format!("{}{path}", r.url)).bearer_auth(&token);
        async move {
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let post = |path: &str, body: Value| {
        let req = r.http.post(format!("{}{path}", r.url)).bearer_auth(&token).json(&body);
        async move { req.send().await.expect("send").status().as_u16() }
    };
    assert_eq!(
        post("/api/v1/organization/", json!({"name": "acme", "email": "acme@example.com"})).await,
        201
    );
    let body = json!({"namespace": "acme", "repository": "app", "visibility": "private", "description": ""});
    assert_eq!(post("/api/v1/repository", body).await, 201);

    // Two notifications for admin (one dismissed), one for acme (admin administers it), one for
    // someone else.
    exec(
        &r,
        "INSERT INTO \"user\" (uuid, username, email, verified, organization, robot, invoice_email, invalid_login_attempts, last_invalid_login, enabled) \
         VALUES ('u-other', 'other', 'other@example.com', true, false, false, false, 0, '2026-01-01 00:00:00', true);\
         INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed) \
         SELECT 'n1', k.id, u.id, '{\"message\": \"hello\"}', '2026-12-01 10:00:00', false FROM notificationkind k, \"user\" u WHERE k.name = 'maintenance' AND u.username = 'admin';\
         INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed) \
         SELECT 'n2', k.id, u.id, '{}', '2026-12-02 10:00:00', true FROM notificationkind k, \"user\" u WHERE k.name = 'maintenance' AND u.username = 'admin';\
         INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed) \
         SELECT 'n3', k.id, u.id, '{}', '2026-12-03 10:00:00', false FROM notificationkind k, \"user\" u WHERE k.name = 'repo_push' AND u.username = 'acme';\
         INSERT INTO notification (uuid, kind_id, target_id, metadata_json, created, dismissed) \
         SELECT 'n4', k.id, u.id, '{}', '2026-12-04 10:00:00', false FROM notificationkind k, \"user\" u WHERE k.name = 'repo_push' AND u.username = 'other';",
    )
    .await;
    let (status, inbox) = get("/api/v1/user/notifications").await;
    assert_eq!(status, 200, "{inbox}");
    let ids: Vec<&str> =
        inbox["notifications"].as_array().expect("list").iter().filter_map(|n| n["id"].as_str()).collect();
    assert_eq!(ids, ["n3", "n1"], "newest first, dismissed and other people's left out");
    assert_eq!(inbox["additional"], false);
    assert_eq!(inbox["notifications"][0]["organization"], "acme");
    assert_eq!(inbox["notifications"][1]["organization"], Value::Null);
    assert_eq!(inbox["notifications"][1]["kind"], "maintenance");
    assert_eq!(inbox["notifications"][1]["metadata"]["message"], "hello");
    assert_eq!(inbox["notifications"][1]["created"], "Tue, 01 Dec 2026 10:00:00 -0000");
    let (_, page) = get("/api/v1/user/notifications?limit=1").await;
    assert_eq!(
        (page["notifications"].as_array().map(Vec::len), &page["additional"]),
        (Some(1), &json!(true))
    );
    assert_eq!(get("/api/v1/user/notifications/n2").await.1["dismissed"], true);
    // Dismissing n1 takes it off the list; someone else's (n4) cannot be touched.
    let put = |uuid: &str| {
        let req = r
            .http
            .put(format!("{}/api/v1/user/notifications/{uuid}", r.url))
            .bearer_auth(&token)
            .json(&json!({"dismissed": true}));
        async move {
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, n1) = put("n1").await;
    assert_eq!((status, &n1["dismissed"]), (200, &json!(true)), "{n1}");
    assert_eq!(put("n4").await.0, 404);
    assert_eq!(
        scalar(&r, "SELECT COUNT(*) FROM notification WHERE uuid = 'n4' AND dismissed = true").await,
        0
    );
    let (_, after) = get("/api/v1/user/notifications").await;
    let ids: Vec<&str> =
        after["notifications"].as_array().expect("list").iter().filter_map(|n| n["id"].as_str()).collect();
    assert_eq!(ids, ["n3"]);
    assert_eq!(get("/api/v1/user/notifications/n4").await.0, 404);

    let (status, auths) = get("/api/v1/user/authorizations").await;
    assert_eq!(status, 200, "{auths}");
    assert!(auths["authorizations"].is_array());
    let (status, apps) = get("/api/v1/organization/acme/applications").await;
    assert_eq!((status, &apps["applications"]), (200, &json!([])));

    let (status, size) = get("/api/v1/superuser/registrysize/").await;
    assert_eq!(status, 200, "{size}");
    assert_eq!(size, json!({"size_bytes": 0, "last_ran": null, "queued": false, "running": false}));
    let (status, keys) = get("/api/v1/superuser/keys").await;
    assert_eq!(status, 200, "{keys}");
    let keys = keys["keys"].as_array().expect("keys");
    assert!(!keys.is_empty(), "the instance's own signing key is listed");
    assert!(keys.iter().all(|k| k["kid"].is_string() && k["jwk"]["kty"].is_string()), "{keys:?}");
    let (status, log) = get("/api/v1/superuser/changelog/").await;
    assert_eq!(status, 200);
    assert!(log["log"].as_str().expect("log").contains(env!("CARGO_PKG_VERSION")));
    let (status, logs) = get("/api/v1/superuser/logs").await;
    assert_eq!(status, 200, "{logs}");
    let created = logs["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .find(|l| l["kind"] == "create_repo")
        .expect("create_repo");
    assert_eq!(created["namespace"]["name"], "acme");
    assert_eq!(created["namespace"]["kind"], "org");
    let (status, agg) = get("/api/v1/superuser/aggregatelogs").await;
    assert_eq!(status, 200);
    assert!(agg["aggregated"].as_array().expect("agg").iter().any(|a| a["kind"] == "org_create"));

    let (status, e) = get("/api/v1/error/invalid_request").await;
    assert_eq!((status, &e["title"]), (200, &json!("invalid_request")));
    assert!(e["type"].as_str().expect("type").ends_with("/api/v1/error/invalid_request"));

    exec(&r, "INSERT INTO repositoryactioncount (repository_id, count, date) SELECT id, 7, '2020-01-01' FROM repository WHERE name = 'app'").await;
    let (status, repo) = get("/api/v1/repository/acme/app?includeStats=true").await;
    assert_eq!(status, 200, "{repo}");
    let stats = repo["stats"].as_array().expect("stats");
    assert_eq!(stats.len(), 91, "91 zero-filled days (the 2020 row is older than 92 days)");
    assert!(stats.iter().all(|s| s["count"] == 0));

    // Someone else is refused the superuser panel and the organization's applications.
    r.user("bob").await;
    let bob = r.http.get(format!("{}/api/v1/superuser/keys", r.url)).send().await.expect("anon");
    assert_eq!(bob.status(), 401);

    let logo =
        r.http.get(format!("{}/static/img/quay-horizontal-color.svg", r.url)).send().await.expect("logo");
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    let config: Value = r.get_json("/config", None).await;
    assert_eq!(config["config"]["BRANDING"]["logo"], "/static/img/quay-horizontal-color.svg");
    assert_eq!(config["features"]["DIRECT_LOGIN"], true);
}

#[tokio::test]
async fn web_ui_routes_sqlite() {
    web_ui_routes(Backend::Sqlite).await;
}

#[tokio::test]
async fn web_ui_routes_postgres() {
    web_ui_routes(Backend::Postgres).await;
}

/// Quay's `popularity` (actions counted in the last week) in the repository list, and a
/// superuser renaming (`PUT`) and deleting (`DELETE`) an organization
/// (`/api/v1/superuser/organizations/{name}`).
async fn popularity_and_superuser_org_rename_delete(backend: Backend) {
    let r = Registry::start(backend, "popularity", CONFIG).await;
    let token = r.initialize_admin().await;
    let post = |path: &'static str, body: Value| {
        let (r, token) = (&r, token.clone());
        async move {
            r.http
                .post(format!("{}{path}", r.url))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("post")
        }
    };
    assert_eq!(
        post("/api/v1/organization/", json!({"name": "popular", "email": "p@example.com"})).await.status(),
        201
    );
    for name in ["hot", "cold"] {
        let resp = post(
            "/api/v1/repository",
            json!({"namespace": "popular", "repository": name, "visibility": "public", "description": ""}),
        )
        .await;
        assert_eq!(resp.status(), 201);
    }
    let (recent, earlier, old) = match backend {
        Backend::Postgres => ("CURRENT_DATE - 1", "CURRENT_DATE - 3", "CURRENT_DATE - 30"),
        Backend::Sqlite => ("date('now', '-1 day')", "date('now', '-3 days')", "date('now', '-30 days')"),
    };
    exec(&r, &format!(
        "DELETE FROM repositoryactioncount;
         INSERT INTO repositoryactioncount (repository_id, count, date) SELECT id, 7, {recent} FROM repository WHERE name = 'hot';
         INSERT INTO repositoryactioncount (repository_id, count, date) SELECT id, 5, {earlier} FROM repository WHERE name = 'hot';
         INSERT INTO repositoryactioncount (repository_id, count, date) SELECT id, 100, {old} FROM repository WHERE name = 'cold';"
    )).await;
    let list = r.get_json("/api/v1/repository?namespace=popular&popularity=true", Some(&token)).await;
    let pop = |name: &str| {
        list["repositories"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name))
            .map(|x| x["popularity"].clone())
    };
    assert_eq!(pop("hot"), Some(json!(12.0)), "{list}");
    assert_eq!(pop("cold"), Some(json!(0.0)), "older than a week does not count: {list}");
    let plain = r.get_json("/api/v1/repository?namespace=popular", Some(&token)).await;
    assert!(plain["repositories"][0].get("popularity").is_none(), "{plain}");

    // A superuser renames the organization; its robots follow, its repositories move with it.
    let put = |path: &'static str, body: Value| {
        let (r, token) = (&r, token.clone());
        async move {
            r.http.put(format!("{}{path}", r.url)).bearer_auth(&token).json(&body).send().await.expect("put")
        }
    };
    let resp = post("/api/v1/organization/", json!({"name": "taken", "email": "t@example.com"})).await;
    assert_eq!(resp.status(), 201);
    let robot = r
        .http
        .put(format!("{}/api/v1/organization/popular/robots/ci", r.url))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("robot");
    assert_eq!(robot.status(), 201);
    let resp = put("/api/v1/superuser/organizations/popular", json!({"name": "taken"})).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.expect("body").contains("Username is already in use"));
    let resp = put("/api/v1/superuser/organizations/popular", json!({"name": "Bad Name"})).await;
    assert_eq!(resp.status(), 400);
    let resp = put("/api/v1/superuser/organizations/popular", json!({"name": "famous"})).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!((v["name"].clone(), v["email"].clone()), (json!("famous"), json!("p@example.com")));
    let moved = r.get_json("/api/v1/repository?namespace=famous", Some(&token)).await;
    assert_eq!(moved["repositories"].as_array().map(Vec::len), Some(2), "{moved}");
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM \"user\" WHERE username = 'famous+ci' AND robot").await, 1);
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM \"user\" WHERE username LIKE 'popular%'").await, 0);
    let renamed = "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'org_change_name'";
    assert_eq!(scalar(&r, renamed).await, 1);

    let del = |path: &'static str| {
        let (r, token) = (&r, token.clone());
        async move {
            r.http
                .delete(format!("{}{path}", r.url))
                .bearer_auth(&token)
                .send()
                .await
                .expect("delete")
                .status()
        }
    };
    assert_eq!(del("/api/v1/superuser/organizations/nosuch").await, 404);
    assert_eq!(del("/api/v1/superuser/organizations/famous").await, 204);
    assert_eq!(
        r.get_json("/api/v1/repository?namespace=famous", Some(&token)).await["repositories"],
        json!([])
    );
    assert_eq!(
        scalar(&r, "SELECT COUNT(*) FROM \"user\" WHERE username = 'famous'").await,
        0,
        "renamed and disabled at once"
    );
}

#[tokio::test]
async fn popularity_and_superuser_org_rename_delete_sqlite() {
    popularity_and_superuser_org_rename_delete(Backend::Sqlite).await;
}

#[tokio::test]
async fn popularity_and_superuser_org_rename_delete_postgres() {
    popularity_and_superuser_org_rename_delete(Backend::Postgres).await;
}

/// An organization's OAuth applications: register (a 20-character client id, a 40-character
/// secret), read, change, reset the secret, delete with their tokens; each logged as Quay does.
async fn oauth_applications(backend: Backend) {
    let r = Registry::start(backend, "oauthapps", CONFIG).await;
    let token = r.initialize_admin().await;
    let call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let (r, token) = (&r, token.clone());
        async move {
            let mut req = r.http.request(method, format!("{}{path}", r.url)).bearer_auth(&token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let text = resp.text().await.expect("body");
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)))
        }
    };
    use reqwest::Method as M;
    let (s, _) = call(
        M::POST,
        "/api/v1/organization/".into(),
        Some(json!({"name": "acme", "email": "acme@example.com"})),
    )
    .await;
    assert_eq!(s, 201);
    let base = "/api/v1/organization/acme/applications";
    let (s, v) = call(M::POST, base.into(), Some(json!({"description": "no name"}))).await;
    assert_eq!(s, 400, "{v}");
    let (s, app) = call(
        M::POST,
        base.into(),
        Some(json!({"name": "ci", "redirect_uri": "https://ci.example.com/cb", "description": "CI"})),
    )
    .await;
    assert_eq!(s, 200, "{app}");
    let client_id = app["client_id"].as_str().expect("client id").to_string();
    let secret = app["client_secret"].as_str().expect("secret").to_string();
    let upper =
        |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    assert!(upper(&client_id, 20) && upper(&secret, 40), "{app}");
    assert_eq!(
        (app["name"].clone(), app["redirect_uri"].clone()),
        (json!("ci"), json!("https://ci.example.com/cb"))
    );
    let (_, list) = call(M::GET, base.into(), None).await;
    assert!(
        list["applications"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["client_id"] == client_id.as_str())),
        "{list}"
    );
    let one = format!("{base}/{client_id}");
    assert_eq!(call(M::GET, one.clone(), None).await.1["client_secret"], secret.as_str());
    let (s, v) =
        call(M::PUT, one.clone(), Some(json!({"name": "ci2", "redirect_uri": "https://x/cb"}))).await;
    assert!(s == 400 && v.to_string().contains("'application_uri' is a required property"), "{v}");
    let (s, v) = call(
        M::PUT,
        one.clone(),
        Some(json!({"name": "ci2", "redirect_uri": "https://x/cb", "application_uri": "https://x"})),
    )
    .await;
    assert_eq!((s, v["name"].clone(), v["application_uri"].clone()), (200, json!("ci2"), json!("https://x")));
    let (s, v) = call(M::POST, format!("{one}/resetclientsecret"), None).await;
    assert_eq!(s, 200);
    assert!(v["client_secret"].as_str().is_some_and(|t| upper(t, 40) && t != secret), "{v}");
    // A token the application issued goes with it.
    exec(&r, &format!(
        "INSERT INTO oauthaccesstoken (uuid, application_id, authorized_user_id, scope, token_type, expires_at, data, token_code, token_name) \
         SELECT 'app-token', a.id, t.authorized_user_id, t.scope, t.token_type, t.expires_at, t.data, t.token_code, 'app-token-name' \
           FROM oauthaccesstoken t, oauthapplication a WHERE a.client_id = '{client_id}' LIMIT 1"
    )).await;
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM oauthaccesstoken WHERE uuid = 'app-token'").await, 1);
    assert_eq!(call(M::DELETE, one.clone(), None).await.0, 204);
    assert_eq!(call(M::GET, one.clone(), None).await.0, 404);
    assert_eq!(call(M::DELETE, one, None).await.0, 404);
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM oauthaccesstoken WHERE uuid = 'app-token'").await, 0);
    for kind in
        ["create_application", "update_application", "reset_application_client_secret", "delete_application"]
    {
        let n = scalar(&r, &format!("SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = '{kind}'")).await;
        assert_eq!(n, 1, "{kind}");
    }
}

#[tokio::test]
async fn oauth_applications_sqlite() {
    oauth_applications(Backend::Sqlite).await;
}

#[tokio::test]
async fn oauth_applications_postgres() {
    oauth_applications(Backend::Postgres).await;
}

/// Quay's repository action counter fills what `popularity` sums: yesterday's log entries per
/// repository, counted once (a second run, or a count already there, changes nothing); today's
/// and older entries are not yesterday's.
async fn action_counter_fills_popularity(backend: Backend) {
    let r = Registry::start(backend, "actioncount", CONFIG).await;
    let token = r.initialize_admin().await;
    let resp = r
        .http
        .post(format!("{}/api/v1/organization/", r.url))
        .bearer_auth(&token)
        .json(&json!({"name": "counted", "email": "c@example.com"}))
        .send()
        .await
        .expect("org");
    assert_eq!(resp.status(), 201);
    for name in ["busy", "quiet"] {
        let resp = r
            .http
            .post(format!("{}/api/v1/repository", r.url))
            .bearer_auth(&token)
            .json(&json!({"namespace": "counted", "repository": name, "visibility": "public", "description": ""}))
            .send()
            .await
            .expect("repo");
        assert_eq!(resp.status(), 201);
    }
    let (yesterday, today, before) = match backend {
        Backend::Postgres => (
            "CAST((now() AT TIME ZONE 'UTC')::date - 1 AS timestamp) + interval '12 hours'",
            "now() AT TIME ZONE 'UTC'",
            "CAST((now() AT TIME ZONE 'UTC')::date - 2 AS timestamp) + interval '12 hours'",
        ),
        Backend::Sqlite => (
            "date('now', '-1 day') || ' 12:00:00.000'",
            "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            "date('now', '-2 days') || ' 12:00:00.000'",
        ),
    };
    // The repositories existed before yesterday: no creation-day rows.
    let mut sql = String::from("DELETE FROM repositoryactioncount;");
    for (n, when) in [(3, yesterday), (1, today), (2, before)] {
        for _ in 0..n {
            sql.push_str(&format!(
                "INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json)
                 SELECT k.id, r.namespace_user_id, NULL, r.id, {when}, '127.0.0.1', '{{}}'
                   FROM repository r, logentrykind k WHERE r.name = 'busy' AND k.name = 'pull_repo';"
            ));
        }
    }
    exec(&r, &sql).await;
    assert_eq!(r.store.repository_action_counts().await.expect("count"), 1);
    assert_eq!(r.store.repository_action_counts().await.expect("again"), 0);
    assert_eq!(scalar(&r, "SELECT CAST(SUM(count) AS BIGINT) FROM repositoryactioncount").await, 3);
    let list = r.get_json("/api/v1/repository?namespace=counted&popularity=true", Some(&token)).await;
    let pop = |name: &str| {
        list["repositories"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name))
            .map(|x| x["popularity"].clone())
    };
    assert_eq!(pop("busy"), Some(json!(3.0)), "{list}");
    assert_eq!(pop("quiet"), Some(json!(0.0)), "{list}");
}

#[tokio::test]
async fn action_counter_fills_popularity_sqlite() {
    action_counter_fills_popularity(Backend::Sqlite).await;
}

#[tokio::test]
async fn action_counter_fills_popularity_postgres() {
    action_counter_fills_popularity(Backend::Postgres).await;
}
