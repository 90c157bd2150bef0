//! Registry protocol answers that real clients depend on, on both backends: `*` grants, 401
//! `insufficient_scope`, reads of repositories that do not exist yet, deletes by digest, invalid
//! tags in paths, tags on a push by digest (`?tag=`), and 503 while the database is down.

use super::common;

use common::{Backend, OCI_MANIFEST, Registry, digest, error_code, image_manifest};
use reqwest::Method;
use serde_json::Value;

/// An image (config + one layer) in `repo`; returns its manifest and digest.
async fn image(r: &Registry, repo: &str, t: &str, seed: &str) -> (String, String) {
    let layer = format!("layer of {seed}").into_bytes();
    let cfg = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#).into_bytes();
    let dl = r.push_blob(repo, t, &layer).await;
    let dc = r.push_blob(repo, t, &cfg).await;
    let m = image_manifest((&dc, cfg.len()), &[(&dl, layer.len())], "");
    let d = digest(m.as_bytes());
    (m, d)
}

async fn status(r: &Registry, m: Method, path: &str, t: Option<&str>) -> u16 {
    r.req(m, path, t).send().await.expect("request").status().as_u16()
}

async fn star_grants_every_action(backend: Backend) {
    let r = Registry::start(backend, "star", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let (m, d) = image(&r, "alice/app", &t, "star").await;
    assert_eq!(r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &m).await.status(), 201);
    // What `skopeo delete` asks for.
    let star = r.token(Some("alice"), &["repository:alice/app:*"]).await;
    assert_eq!(common::claims(&star)["access"][0]["actions"], serde_json::json!(["*"]));
    assert_eq!(status(&r, Method::GET, &format!("/v2/alice/app/manifests/{d}"), Some(&star)).await, 200);
    assert_eq!(status(&r, Method::HEAD, "/v2/alice/app/manifests/v1", Some(&star)).await, 200);
    assert_eq!(status(&r, Method::DELETE, &format!("/v2/alice/app/manifests/{d}"), Some(&star)).await, 202);
    assert_eq!(status(&r, Method::HEAD, &format!("/v2/alice/app/manifests/{d}"), Some(&star)).await, 404);
}

#[tokio::test]
async fn star_grants_every_action_sqlite() {
    star_grants_every_action(Backend::Sqlite).await;
}

#[tokio::test]
async fn star_grants_every_action_postgres() {
    star_grants_every_action(Backend::Postgres).await;
}

async fn insufficient_scope(backend: Backend) {
    let r = Registry::start(backend, "scope", "").await;
    r.user("alice").await;
    let push = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let (m, _) = image(&r, "alice/app", &push, "scope").await;
    let pull = r.token(Some("alice"), &["repository:alice/app:pull"]).await;
    for resp in [
        r.put_manifest("alice/app", "v1", &pull, OCI_MANIFEST, &m).await,
        r.req(Method::POST, "/v2/alice/app/blobs/uploads/", Some(&pull)).send().await.expect("post"),
    ] {
        assert_eq!(resp.status(), 401);
        let challenge = resp.headers()["www-authenticate"].to_str().expect("challenge").to_string();
        assert!(challenge.starts_with(&format!("Bearer realm=\"http://{}/v2/auth\"", r.host)), "{challenge}");
        assert!(challenge.contains("scope=\"repository:alice/app:pull,push\""), "{challenge}");
        assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
        assert_eq!(error_code(resp).await, "UNAUTHORIZED");
    }
    // Without a token: the same challenge, without the error parameter.
    let resp = r.req(Method::POST, "/v2/alice/app/blobs/uploads/", None).send().await.expect("post");
    assert_eq!(resp.status(), 401);
    assert!(!resp.headers()["www-authenticate"].to_str().expect("test step").contains("error="));
}

#[tokio::test]
async fn insufficient_scope_sqlite() {
    insufficient_scope(Backend::Sqlite).await;
}

#[tokio::test]
async fn insufficient_scope_postgres() {
    insufficient_scope(Backend::Postgres).await;
}

async fn reads_of_absent_repositories(backend: Backend) {
    let r = Registry::start(backend, "absent", "").await;
    r.user("alice").await;
    r.user("bob").await;
    // Issued before the repository exists: it grants nothing.
    let owner = r.token(Some("alice"), &["repository:alice/later:pull"]).await;
    assert_eq!(common::claims(&owner)["access"][0]["actions"], serde_json::json!([]));
    let stranger = r.token(Some("bob"), &["repository:alice/later:pull"]).await;
    let blob = format!("/v2/alice/later/blobs/{}", digest(b"x"));
    for path in ["/v2/alice/later/tags/list", "/v2/alice/later/manifests/latest", blob.as_str()] {
        let resp = r.req(Method::GET, path, Some(&owner)).send().await.expect("get");
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(error_code(resp).await, "NAME_UNKNOWN", "{path}");
        assert_eq!(
            status(&r, Method::GET, path, Some(&stranger)).await,
            401,
            "{path}: stranger learns nothing"
        );
        assert_eq!(status(&r, Method::GET, path, None).await, 401, "{path}: anonymous learns nothing");
    }
    let refs = format!("/v2/alice/later/referrers/{}", digest(b"x"));
    let resp = r.req(Method::GET, &refs, Some(&owner)).send().await.expect("referrers");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["manifests"], serde_json::json!([]));
    assert_eq!(status(&r, Method::GET, &refs, Some(&stranger)).await, 401);
}

#[tokio::test]
async fn reads_of_absent_repositories_sqlite() {
    reads_of_absent_repositories(Backend::Sqlite).await;
}

#[tokio::test]
async fn reads_of_absent_repositories_postgres() {
    reads_of_absent_repositories(Backend::Postgres).await;
}

async fn delete_by_digest(backend: Backend) {
    let r = Registry::start(backend, "deldigest", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    // Pushed by digest only (a hidden temporary tag keeps it): deleted, then gone.
    let (m, d) = image(&r, "alice/app", &t, "by-digest").await;
    assert_eq!(r.put_manifest("alice/app", &d, &t, OCI_MANIFEST, &m).await.status(), 201);
    assert_eq!(status(&r, Method::HEAD, &format!("/v2/alice/app/manifests/{d}"), Some(&t)).await, 200);
    assert_eq!(status(&r, Method::DELETE, &format!("/v2/alice/app/manifests/{d}"), Some(&t)).await, 202);
    for m in [Method::HEAD, Method::GET] {
        assert_eq!(status(&r, m, &format!("/v2/alice/app/manifests/{d}"), Some(&t)).await, 404);
    }
    assert_eq!(status(&r, Method::DELETE, &format!("/v2/alice/app/manifests/{d}"), Some(&t)).await, 404);
    // Pushed under two tags: one delete by digest ends both.
    let (m, d) = image(&r, "alice/app", &t, "tagged").await;
    assert_eq!(r.put_manifest("alice/app", "a", &t, OCI_MANIFEST, &m).await.status(), 201);
    assert_eq!(r.put_manifest("alice/app", "b", &t, OCI_MANIFEST, &m).await.status(), 201);
    assert_eq!(status(&r, Method::DELETE, &format!("/v2/alice/app/manifests/{d}"), Some(&t)).await, 202);
    for path in [
        format!("/v2/alice/app/manifests/{d}"),
        "/v2/alice/app/manifests/a".into(),
        "/v2/alice/app/manifests/b".into(),
    ] {
        assert_eq!(status(&r, Method::GET, &path, Some(&t)).await, 404, "{path}");
    }
    let tags: Value = r.get_json("/v2/alice/app/tags/list", Some(&t)).await;
    assert_eq!(tags["tags"], serde_json::json!([]));
    assert_eq!(
        common::scalar(&r, "SELECT count(*) FROM tag WHERE lifetime_end_ms IS NULL").await,
        0,
        "no alive tag of any kind is left"
    );
}

#[tokio::test]
async fn delete_by_digest_sqlite() {
    delete_by_digest(Backend::Sqlite).await;
}

#[tokio::test]
async fn delete_by_digest_postgres() {
    delete_by_digest(Backend::Postgres).await;
}

async fn invalid_tag_in_path(backend: Backend) {
    let r = Registry::start(backend, "badtag", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let (m, _) = image(&r, "alice/app", &t, "badtag").await;
    assert_eq!(r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &m).await.status(), 201);
    let path = "/v2/alice/app/manifests/.INVALID_MANIFEST_NAME";
    let resp = r.req(Method::GET, path, Some(&t)).send().await.expect("get");
    assert_eq!(resp.status(), 404);
    assert_eq!(error_code(resp).await, "MANIFEST_UNKNOWN");
    assert_eq!(status(&r, Method::HEAD, path, Some(&t)).await, 404);
    let resp = r.put_manifest("alice/app", ".INVALID_MANIFEST_NAME", &t, OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "TAG_INVALID");
}

#[tokio::test]
async fn invalid_tag_in_path_sqlite() {
    invalid_tag_in_path(Backend::Sqlite).await;
}

#[tokio::test]
async fn invalid_tag_in_path_postgres() {
    invalid_tag_in_path(Backend::Postgres).await;
}

async fn push_by_digest_with_tags(backend: Backend) {
    let r = Registry::start(backend, "qtags", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let (m, d) = image(&r, "alice/app", &t, "qtags").await;
    let resp = r.put_manifest("alice/app", &format!("{d}?tag=one&tag=two"), &t, OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), 201);
    let oci_tags: Vec<&str> =
        resp.headers().get_all("oci-tag").iter().map(|v| v.to_str().expect("test step")).collect();
    assert_eq!(oci_tags, ["one", "two"]);
    let tags: Value = r.get_json("/v2/alice/app/tags/list", Some(&t)).await;
    assert_eq!(tags["tags"], serde_json::json!(["one", "two"]));
    let got = r.req(Method::GET, "/v2/alice/app/manifests/two", Some(&t)).send().await.expect("get");
    assert_eq!(got.headers()["docker-content-digest"].to_str().expect("test step"), d);
    assert_eq!(
        common::scalar(&r, "SELECT count(*) FROM tag WHERE hidden").await,
        0,
        "no temporary tag needed"
    );
    // An invalid tag refuses the whole push: nothing stored.
    let (m2, d2) = image(&r, "alice/app", &t, "qtags-bad").await;
    let resp = r.put_manifest("alice/app", &format!("{d2}?tag=fine&tag=.bad"), &t, OCI_MANIFEST, &m2).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "TAG_INVALID");
    assert_eq!(status(&r, Method::HEAD, &format!("/v2/alice/app/manifests/{d2}"), Some(&t)).await, 404);
    assert_eq!(status(&r, Method::HEAD, "/v2/alice/app/manifests/fine", Some(&t)).await, 404);
}

#[tokio::test]
async fn push_by_digest_with_tags_sqlite() {
    push_by_digest_with_tags(Backend::Sqlite).await;
}

#[tokio::test]
async fn push_by_digest_with_tags_postgres() {
    push_by_digest_with_tags(Backend::Postgres).await;
}

/// While PostgreSQL refuses connections, requests answer 503 UNAVAILABLE with `Retry-After`
/// (not 500), and the registry serves again as soon as it is back.
#[tokio::test]
async fn database_outage_answers_503() {
    let r = Registry::start(Backend::Postgres, "outage", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let (m, _) = image(&r, "alice/app", &t, "outage").await;
    assert_eq!(r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &m).await.status(), 201);
    let name = r.db.as_ref().expect("db").name.clone();
    let admin = quay_tests::connect(&quay_tests::admin_url()).await.expect("admin");
    admin.batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")).await.expect("deny");
    admin
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", &[&name])
        .await
        .expect("terminate");
    let resp = r.req(Method::GET, "/v2/alice/app/manifests/v1", Some(&t)).send().await.expect("get");
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"].to_str().expect("test step"), "5");
    assert_eq!(error_code(resp).await, "UNAVAILABLE");
    admin.batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")).await.expect("allow");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = status(&r, Method::GET, "/v2/alice/app/manifests/v1", Some(&t)).await;
        if s == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {s} after the database came back");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A manifest with 10,000 distinct layers is one set-based check and insert (it took 11 s on
/// PostgreSQL one statement per layer); the blobs are seeded as rows, linked to the repository.
async fn ten_thousand_layers(backend: Backend) {
    let r = Registry::start(backend, "manylayers", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let cfg = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("alice/app", &t, cfg).await;
    let repo = common::scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'app'").await;
    let location =
        common::scalar(&r, "SELECT CAST(id AS BIGINT) FROM imagestoragelocation WHERE name = 'local_us'")
            .await;
    let layers: Vec<String> = (0..10_000).map(|i| digest(format!("layer {i}").as_bytes())).collect();
    let mut sql = String::new();
    for (i, d) in layers.iter().enumerate() {
        let id = 1_000_000 + i;
        sql.push_str(&format!(
            "INSERT INTO imagestorage (id, uuid, image_size, uploading, cas_path, content_checksum) \
             VALUES ({id}, 'u{id}', 10, false, true, '{d}');\n\
             INSERT INTO imagestorageplacement (storage_id, location_id) VALUES ({id}, {location});\n\
             INSERT INTO uploadedblob (repository_id, blob_id, uploaded_at, expires_at) \
             VALUES ({repo}, {id}, '2026-01-01 00:00:00', '2999-01-01 00:00:00');\n"
        ));
    }
    common::exec(&r, &format!("BEGIN;\n{sql}COMMIT;")).await;
    let refs: Vec<(&str, usize)> = layers.iter().map(|d| (d.as_str(), 10)).collect();
    let m = image_manifest((&dc, cfg.len()), &refs, "");
    let started = std::time::Instant::now();
    let resp = r.put_manifest("alice/app", "big", &t, OCI_MANIFEST, &m).await;
    eprintln!("{backend:?}: 10,000-layer manifest PUT in {:?}", started.elapsed());
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let n = common::scalar(&r, "SELECT count(*) FROM manifestblob").await;
    assert_eq!(n, 10_001, "config and every layer recorded");
    // One layer the repository cannot use refuses the whole manifest, writing nothing.
    let mut bad = refs.clone();
    let unknown = digest(b"never uploaded");
    bad[5_000] = (unknown.as_str(), 10);
    let m = image_manifest((&dc, cfg.len()), &bad, "");
    let resp = r.put_manifest("alice/app", "bad", &t, OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM manifest").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_layers_sqlite() {
    ten_thousand_layers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_layers_postgres() {
    ten_thousand_layers(Backend::Postgres).await;
}

/// A manifest body shorter than its Content-Length is a bad request (400 MANIFEST_INVALID), not
/// "too large"; the server keeps answering.
#[tokio::test]
async fn short_manifest_body_is_400() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let r = Registry::start(Backend::Sqlite, "shortbody", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let mut s = tokio::net::TcpStream::connect(&r.host).await.expect("connect");
    let head = format!(
        "PUT /v2/alice/app/manifests/v1 HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: {OCI_MANIFEST}\r\nContent-Length: 1000\r\n\r\n{{\"schemaVersion\":2",
        r.host
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.shutdown().await.expect("half close");
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("MANIFEST_INVALID"), "{answer}");
    assert_eq!(status(&r, Method::GET, "/v2/", Some(&t)).await, 200);
}

/// `DISABLE_PUSHES` refuses every write route alike (before authentication), the upload finish
/// included, which used to slip through; pulls still work.
#[tokio::test]
async fn disabled_pushes_refuse_every_write() {
    let r = Registry::start(Backend::Sqlite, "nopush", "DISABLE_PUSHES: true\n").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let d = digest(b"x");
    for (m, path) in [
        (Method::POST, "/v2/alice/app/blobs/uploads/".to_string()),
        (Method::PATCH, "/v2/alice/app/blobs/uploads/some-upload".into()),
        (Method::PUT, format!("/v2/alice/app/blobs/uploads/some-upload?digest={d}")),
        (Method::DELETE, "/v2/alice/app/blobs/uploads/some-upload".into()),
        (Method::PUT, "/v2/alice/app/manifests/v1".into()),
        (Method::DELETE, "/v2/alice/app/manifests/v1".into()),
    ] {
        for token in [Some(t.as_str()), None] {
            let resp = r.req(m.clone(), &path, token).send().await.expect("request");
            assert_eq!(resp.status(), 405, "{m} {path}");
            assert_eq!(resp.headers()["docker-distribution-api-version"], "registry/2.0");
            let body: Value = resp.json().await.expect("json");
            assert_eq!(body["errors"][0]["code"], "DENIED", "{m} {path}");
        }
    }
    assert_eq!(status(&r, Method::GET, "/v2/", Some(&t)).await, 200);
}

/// Only `NORMAL` repositories take writes, whoever writes: the core refuses tag changes,
/// deletes and blob links on a read-only (1) or mirrored (2) repository with
/// QUAY_REPOSITORY_NOT_WRITABLE (through `quay.*` on PostgreSQL, in-process on SQLite), and
/// reads keep working.
async fn only_normal_repositories_take_writes(backend: Backend) {
    use quay_core::rules::Rule;
    use quay_server::store::StoreError;
    let r = Registry::start(backend, "rostate", "").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:pull,push"]).await;
    let (m, d) = image(&r, "alice/app", &t, "rostate").await;
    assert_eq!(r.put_manifest("alice/app", "v1", &t, OCI_MANIFEST, &m).await.status(), 201);
    let repo = common::scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'app'").await;
    let manifest = common::scalar(&r, "SELECT CAST(id AS BIGINT) FROM manifest").await;
    for state in [1, 2] {
        common::exec(&r, &format!("UPDATE repository SET state = {state} WHERE id = {repo}")).await;
        let refused = |e: Result<_, StoreError>| {
            matches!(e, Err(StoreError::Rule { code: Rule::RepositoryNotWritable, .. }))
        };
        assert!(refused(r.store.tag_set(repo, "v2", manifest).await.map(|_| ())), "tag_set, state {state}");
        assert!(refused(r.store.tag_delete(repo, "v1").await.map(|_| ())), "tag_delete, state {state}");
        assert!(
            refused(r.store.manifest_delete(repo, &d).await.map(|_| ())),
            "manifest_delete, state {state}"
        );
        let lock = r.store.digest_lock(&d).await.expect("lock");
        let linked = r.store.blob_commit(&lock, repo, &digest(b"layer of rostate"), 16, "local_us", 60).await;
        lock.release().await;
        assert!(refused(linked.map(|_| ())), "blob_commit, state {state}");
        assert_eq!(status(&r, Method::GET, "/v2/alice/app/manifests/v1", Some(&t)).await, 200, "reads work");
    }
    assert_eq!(
        common::scalar(&r, "SELECT count(*) FROM tag WHERE lifetime_end_ms IS NULL AND NOT hidden").await,
        1
    );
}

#[tokio::test]
async fn only_normal_repositories_take_writes_sqlite() {
    only_normal_repositories_take_writes(Backend::Sqlite).await;
}

#[tokio::test]
async fn only_normal_repositories_take_writes_postgres() {
    only_normal_repositories_take_writes(Backend::Postgres).await;
}

/// The catalog is paged in the database in byte order (names whose order a locale would change:
/// `-`, `.`, `_`), page after page by `last`, identical on both backends.
async fn catalog_pages_in_byte_order(backend: Backend) {
    let r = Registry::start(backend, "catpages", "").await;
    r.user("alice").await;
    let names = ["app", "app-x", "app.x", "app_x", "appz", "b"];
    let scopes: Vec<String> = names.iter().map(|n| format!("repository:alice/{n}:pull,push")).collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let t = r.token(Some("alice"), &scopes).await;
    let mut expected: Vec<String> = names.iter().map(|n| format!("alice/{n}")).collect();
    expected.sort();
    let mut seen = Vec::new();
    let mut path = "/v2/_catalog?n=2".to_string();
    for _ in 0..10 {
        let resp = r.req(Method::GET, &path, Some(&t)).send().await.expect("catalog");
        let next = resp.headers().get("link").map(|l| l.to_str().expect("link").to_string());
        let body: Value = resp.json().await.expect("json");
        let page: Vec<String> = body["repositories"]
            .as_array()
            .expect("array")
            .iter()
            .map(|v| v.as_str().expect("s").to_string())
            .collect();
        assert!(page.len() <= 2);
        seen.extend(page);
        match next {
            Some(l) => {
                let url = l.trim_start_matches('<').split('>').next().expect("url").to_string();
                path = url.trim_start_matches(&r.url).to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, expected, "every repository once, in byte order");
}

#[tokio::test]
async fn catalog_pages_in_byte_order_sqlite() {
    catalog_pages_in_byte_order(Backend::Sqlite).await;
}

#[tokio::test]
async fn catalog_pages_in_byte_order_postgres() {
    catalog_pages_in_byte_order(Backend::Postgres).await;
}

/// What a push creates is one core call: a refused repository leaves no namespace behind, and a
/// stranger's namespace gets nothing (through `quay.repository_create_on_push` on PostgreSQL, the
/// core on SQLite).
async fn create_on_push_is_one_transaction(backend: Backend) {
    use quay_core::rules::Rule;
    use quay_server::store::StoreError;
    let r = Registry::start(backend, "onpush", "").await;
    r.user("alice").await;
    let bob = r.user("bob").await;
    let s = &r.store;
    let refused = |e: Result<(i64, bool, bool), StoreError>, rule: Rule| matches!(e, Err(StoreError::Rule { code, .. }) if code == rule);
    assert!(refused(
        s.repository_create_on_push("neworg", "Bad", false, bob, Some(60)).await,
        Rule::NameInvalid
    ));
    assert!(s.namespace_by_name("neworg").await.expect("q").is_none(), "no namespace left behind");
    assert!(refused(
        s.repository_create_on_push("alice", "app", false, bob, Some(60)).await,
        Rule::PermissionDenied
    ));
    assert!(refused(
        s.repository_create_on_push("nobody", "app", false, bob, None).await,
        Rule::NamespaceUnknown
    ));
    let (id, ns_created, created) =
        s.repository_create_on_push("neworg", "app", false, bob, Some(60)).await.expect("ok");
    assert!(ns_created && created);
    let again = s.repository_create_on_push("neworg", "app", false, bob, Some(60)).await.expect("again");
    assert_eq!(again, (id, false, false), "idempotent");
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM repository").await, 1);
}

#[tokio::test]
async fn create_on_push_is_one_transaction_sqlite() {
    create_on_push_is_one_transaction(Backend::Sqlite).await;
}

#[tokio::test]
async fn create_on_push_is_one_transaction_postgres() {
    create_on_push_is_one_transaction(Backend::Postgres).await;
}
