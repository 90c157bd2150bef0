//! Tag expiry on both backends: a tag given an expiration through `/api/v1` is served until that
//! second and not after it (`/v2` by tag, the tag list, the API's active tags), while other tags
//! stay; once the namespace's time-machine window has passed too, routine GC collects it and the
//! manifest only it kept.

use super::common::{Backend, OCI_MANIFEST, Registry, api, exec, image_manifest, scalar};
use quay_server::store::jobs::Cascade;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

async fn expires_then_collected(backend: Backend) {
    let extra = "SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"expiry\"\n";
    let r = Registry::start(backend, "expiry", extra).await;
    let admin = r.initialize_admin().await;
    let t = r.token(Some("admin"), &["repository:admin/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("admin/app", &t, config).await;
    let short = image_manifest((&dc, config.len()), &[], r#","annotations":{"which":"short"}"#);
    let long = image_manifest((&dc, config.len()), &[], r#","annotations":{"which":"long"}"#);
    assert_eq!(r.put_manifest("admin/app", "short", &t, OCI_MANIFEST, &short).await.status(), 201);
    assert_eq!(r.put_manifest("admin/app", "long", &t, OCI_MANIFEST, &long).await.status(), 201);
    exec(&r, "UPDATE \"user\" SET removed_tag_expiration_s = 1 WHERE username = 'admin'").await;

    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let at = now + 2;
    let (s, body) = api(
        &r,
        Method::PUT,
        "/api/v1/repository/admin/app/tag/short",
        &admin,
        Some(json!({"expiration": at})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let get = |tag: &'static str| {
        let r = &r;
        let t = t.clone();
        async move {
            r.req(Method::GET, &format!("/v2/admin/app/manifests/{tag}"), Some(&t))
                .send()
                .await
                .expect("get")
                .status()
        }
    };
    assert_eq!(get("short").await, 200, "served until it expires");
    let (_, tags) =
        api(&r, Method::GET, "/api/v1/repository/admin/app/tag/?onlyActiveTags=true", &admin, None).await;
    let short_tag = tags["tags"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == "short").cloned())
        .expect("listed");
    assert_eq!(short_tag["end_ts"], at, "{short_tag}");

    // After the second it expires at: gone from /v2 and from the active tags; the other stays.
    let wait = (at * 1000)
        .saturating_sub(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64);
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(get("short").await, 404, "not served after its expiration");
    assert_eq!(get("long").await, 200);
    let list = r.get_json("/v2/admin/app/tags/list", Some(&t)).await;
    assert_eq!(list["tags"], json!(["long"]), "{list}");
    let (_, tags) =
        api(&r, Method::GET, "/api/v1/repository/admin/app/tag/?onlyActiveTags=true", &admin, None).await;
    let names: Vec<&str> =
        tags["tags"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, vec!["long"]);

    // Within the window it is still recoverable, so GC keeps it; after the window GC collects it.
    let repo = scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'app'").await;
    let manifests = "SELECT COUNT(*) FROM manifest";
    assert_eq!(scalar(&r, manifests).await, 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let freed = r.store.cascade(Cascade::RepositoryGc, repo).await.expect("gc");
    quay_server::ops::blobs::delete_freed(&r.store, &r.storage, freed).await;
    assert_eq!(
        scalar(&r, "SELECT COUNT(*) FROM tag WHERE name = 'short'").await,
        0,
        "the expired tag is collected"
    );
    assert_eq!(scalar(&r, manifests).await, 1, "the manifest only it kept is collected");
    assert_eq!(get("long").await, 200);
}

#[tokio::test]
async fn expires_then_collected_sqlite() {
    expires_then_collected(Backend::Sqlite).await;
}

#[tokio::test]
async fn expires_then_collected_postgres() {
    expires_then_collected(Backend::Postgres).await;
}
