//! Storage quotas on both backends: the `/api/v1` quota routes as Quay answers them, the
//! namespace and repository totals kept exact by the push and GC transactions under 16
//! concurrent pushes, a push past the `Reject` limit refused with Quay's 403 (nothing of it
//! kept), `quota_warning` queued once when the `Warning` limit is reached and `quota_error` on
//! a refusal, and the space freed by GC usable again.

use super::common::{self, Backend, OCI_MANIFEST, api, image_manifest, scalar, with_acme};
use quay_server::store::jobs::Cascade;
use reqwest::Method;
use serde_json::{Value, json};

const LAYER: usize = 10_000;
const BASE: usize = 5_000;
const CLIENTS: usize = 16;
const FITS: usize = 10;

/// The base layer every image shares (counted once per namespace and per repository).
fn base() -> Vec<u8> {
    (0..BASE).map(|k| (k % 13) as u8).collect()
}

/// A config of fixed length (so every image adds the same bytes) and a layer of its own.
fn image(i: usize) -> (Vec<u8>, Vec<u8>) {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","n":"{i:04}"}}"#).into_bytes();
    let layer: Vec<u8> = (0..LAYER).map(|k| ((k * 31 + i * 7919) % 251) as u8).collect();
    (config, layer)
}

const RECOUNT: &str = "SELECT CAST(COALESCE(SUM(s.image_size), 0) AS BIGINT) FROM imagestorage s \
    WHERE s.id IN (SELECT mb.blob_id FROM manifestblob mb JOIN repository r ON r.id = mb.repository_id \
                   JOIN \"user\" u ON u.id = r.namespace_user_id WHERE u.username = 'acme')";
const TOTAL: &str = "SELECT size_bytes FROM quotanamespacesize q JOIN \"user\" u ON u.id = q.namespace_user_id \
    WHERE u.username = 'acme'";
const REPO_RECOUNT: &str = "SELECT CAST(COALESCE(SUM(s.image_size), 0) AS BIGINT) FROM \
    (SELECT DISTINCT mb.repository_id, mb.blob_id FROM manifestblob mb) d JOIN imagestorage s ON s.id = d.blob_id";
const REPO_TOTALS: &str = "SELECT CAST(COALESCE(SUM(q.size_bytes), 0) AS BIGINT) FROM quotarepositorysize q \
    JOIN repository r ON r.id = q.repository_id JOIN \"user\" u ON u.id = r.namespace_user_id WHERE u.username = 'acme'";

async fn quota_holds(backend: Backend) {
    let (r, admin) = with_acme(backend, "quota", "FEATURE_QUOTA_MANAGEMENT: true\n").await;
    let unit = (image(0).0.len() + LAYER) as i64;
    let limit = BASE as i64 + unit * FITS as i64 + unit / 2;

    // The routes, as Quay answers them.
    assert_eq!(api(&r, Method::GET, "/api/v1/organization/acme/quota", &admin, None).await, (200, json!([])));
    let (s, body) =
        api(&r, Method::POST, "/api/v1/organization/acme/quota", &admin, Some(json!({"limit_bytes": limit})))
            .await;
    assert_eq!((s, body), (201, json!("Created")));
    let (s, body) =
        api(&r, Method::POST, "/api/v1/organization/acme/quota", &admin, Some(json!({"limit": "1 GiB"})))
            .await;
    assert_eq!(s, 400);
    assert!(body.to_string().contains("Organization quota for 'acme' already exists"), "{body}");
    let (_, list) = api(&r, Method::GET, "/api/v1/organization/acme/quota", &admin, None).await;
    let id = list[0]["id"].as_i64().expect("quota id");
    for (kind, percent) in [("Reject", 100), ("warning", 50)] {
        let path = format!("/api/v1/organization/acme/quota/{id}/limit");
        let (s, _) =
            api(&r, Method::POST, &path, &admin, Some(json!({"type": kind, "threshold_percent": percent})))
                .await;
        assert_eq!(s, 201, "{kind}");
    }
    let (s, body) = api(
        &r,
        Method::POST,
        &format!("/api/v1/organization/acme/quota/{id}/limit"),
        &admin,
        Some(json!({"type": "Reject", "threshold_percent": 100})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(body.to_string().contains("Quota limit already exists"), "{body}");
    let (s, body) = api(
        &r,
        Method::POST,
        &format!("/api/v1/organization/acme/quota/{id}/limit"),
        &admin,
        Some(json!({"type": "Reject", "threshold_percent": 101})),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (_, q) = api(&r, Method::GET, &format!("/api/v1/organization/acme/quota/{id}"), &admin, None).await;
    assert_eq!(q["limit_bytes"], limit);
    assert_eq!(q["limits"].as_array().map(Vec::len), Some(2), "{q}");
    assert_eq!(q["limits"][1]["type"], "Warning");
    assert_eq!(q["limits"][1]["limit_percent"], 50);
    assert_eq!(api(&r, Method::GET, "/api/v1/organization/acme/quota/999999", &admin, None).await.0, 404);
    // Quay's action logs (account: the organization).
    let logged = |kind: &str| {
        format!(
            "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
             JOIN \"user\" u ON u.id = l.account_id WHERE k.name = '{kind}' AND u.username = 'acme'"
        )
    };
    assert_eq!(scalar(&r, &logged("org_create_quota")).await, 1);
    assert_eq!(scalar(&r, &logged("org_create_quota_limit")).await, 2);
    // A webhook for quota events on acme/r0 (the queue shows what would be sent).
    let t = r
        .token(
            Some("admin"),
            &(0..4)
                .map(|k| format!("repository:acme/r{k}:pull,push"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .await;
    let (s, body) = api(
        &r,
        Method::POST,
        "/api/v1/repository",
        &admin,
        Some(json!({"namespace": "acme", "repository": "r0", "visibility": "private", "description": ""})),
    )
    .await;
    assert!(s == 201 || body.to_string().contains("already exists"), "{body}");
    for event in ["quota_warning", "quota_error"] {
        let (s, body) = api(&r, Method::POST, "/api/v1/repository/acme/r0/notification/", &admin,
            Some(json!({"event": event, "method": "webhook", "config": {"url": "http://127.0.0.2:9/hook"}, "eventConfig": {}}))).await;
        assert_eq!(s, 201, "{body}");
    }

    // 16 clients push distinct images at once; exactly FITS fit under the Reject limit.
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (r, t) = (r.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let repo = format!("acme/r{}", i % 4);
            let (config, layer) = image(i);
            let dc = r.push_blob(&repo, &t, &config).await;
            let dl = r.push_blob(&repo, &t, &layer).await;
            let db = r.push_blob(&repo, &t, &base()).await;
            let m = image_manifest((&dc, config.len()), &[(&db, BASE), (&dl, layer.len())], "");
            let resp = r.put_manifest(&repo, &format!("v{i}"), &t, OCI_MANIFEST, &m).await;
            let status = resp.status().as_u16();
            (status, resp.text().await.unwrap_or_default())
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (status, body) = task.await.expect("client");
        match status {
            201 => accepted += 1,
            403 => {
                let v: Value = serde_json::from_str(&body).expect("json");
                assert_eq!(v["errors"][0]["code"], "DENIED", "{body}");
                assert_eq!(v["errors"][0]["message"], "Quota has been exceeded on namespace", "{body}");
            }
            other => panic!("push answered {other}: {body}"),
        }
    }
    assert_eq!(accepted, FITS, "exactly the pushes that fit are accepted");
    let total = scalar(&r, TOTAL).await;
    assert_eq!(total, BASE as i64 + unit * FITS as i64, "the namespace total is exact (the base once)");
    assert_eq!(scalar(&r, RECOUNT).await, total, "the total equals a recount");
    assert_eq!(
        scalar(&r, REPO_TOTALS).await,
        scalar(&r, REPO_RECOUNT).await,
        "each repository's total is exact"
    );
    assert_eq!(
        scalar(&r, "SELECT COUNT(*) FROM manifest").await,
        FITS as i64,
        "refused manifests left nothing"
    );
    // Reaching 50% queued one quota_warning (not one per push); a refusal queued one quota_error.
    let queued = |event: &str| {
        format!("SELECT COUNT(*) FROM queueitem WHERE queue_name = 'notification/acme/r0/{event}/'")
    };
    assert_eq!(scalar(&r, &queued("quota_warning")).await, 1, "quota_warning once");
    assert_eq!(scalar(&r, &queued("quota_error")).await, 1, "one quota_error within the cooldown");
    let reject = scalar(&r, "SELECT COUNT(*) FROM queueitem WHERE queue_name = 'notification/acme/r0/quota_error/' \
        AND body LIKE '%\"threshold_percent\":100%' AND body LIKE '%\"homepage\":\"http://%/organization/acme\"%'").await;
    assert_eq!(reject, 1, "quota_error carries the Reject limit's percent and Quay's namespace data");

    // The organization's admins got Quay's in-app notices, once each.
    let (_, inbox) = api(&r, Method::GET, "/api/v1/user/notifications", &admin, None).await;
    let kinds: Vec<(String, Value)> = inbox["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["kind"].as_str().unwrap_or("").to_string(), n["metadata"].clone()))
        .collect();
    for kind in ["quota_warning", "quota_error"] {
        let found: Vec<&(String, Value)> = kinds.iter().filter(|(k, _)| k == kind).collect();
        assert_eq!(found.len(), 1, "{kind} in {inbox}");
        assert_eq!(found[0].1, json!({"namespace": "acme"}));
    }

    // Which images were accepted.
    let mut kept = Vec::new();
    for i in 0..CLIENTS {
        if scalar(&r, &format!("SELECT COUNT(*) FROM tag WHERE name = 'v{i}' AND lifetime_end_ms IS NULL"))
            .await
            == 1
        {
            kept.push(i);
        }
    }
    assert_eq!(kept.len(), FITS);

    // A manifest over blobs already counted adds nothing.
    let (config, layer) = image(kept[0]);
    let (dc, dl) = (common::digest(&config), common::digest(&layer));
    let db = common::digest(&base());
    let shared = image_manifest(
        (&dc, config.len()),
        &[(&db, BASE), (&dl, layer.len())],
        r#","annotations":{"again":"1"}"#,
    );
    let repo = format!("acme/r{}", kept[0] % 4);
    assert_eq!(r.put_manifest(&repo, "again", &t, OCI_MANIFEST, &shared).await.status(), 201);
    assert_eq!(scalar(&r, TOTAL).await, total, "shared blobs count once");

    // At the limit (not past it) uploads still start.
    let start = r.req(Method::POST, "/v2/acme/r1/blobs/uploads/", Some(&t)).send().await.expect("start");
    assert_eq!(start.status(), 202);

    // GC frees a whole image: the totals drop by exactly its bytes, and a refused image fits now.
    common::exec(&r, "UPDATE \"user\" SET removed_tag_expiration_s = 0 WHERE username = 'acme'").await;
    common::exec(&r, "UPDATE uploadedblob SET expires_at = '2000-01-01 00:00:00'").await;
    let gone = kept[1];
    let resp = r
        .req(Method::DELETE, &format!("/v2/acme/r{}/manifests/v{gone}", gone % 4), Some(&t))
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 202);
    let repo_id =
        scalar(&r, &format!("SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'r{}'", gone % 4)).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let freed = r.store.cascade(Cascade::RepositoryGc, repo_id).await.expect("gc");
    quay_server::ops::blobs::delete_freed(&r.store, &r.storage, freed).await;
    let after = scalar(&r, TOTAL).await;
    assert_eq!(after, total - unit, "GC took exactly the image's bytes off");
    assert_eq!(scalar(&r, RECOUNT).await, after);
    assert_eq!(scalar(&r, REPO_TOTALS).await, scalar(&r, REPO_RECOUNT).await);
    let (config, layer) = image(500);
    let dc = r.push_blob("acme/r2", &t, &config).await;
    let dl = r.push_blob("acme/r2", &t, &layer).await;
    let db = r.push_blob("acme/r2", &t, &base()).await;
    let m = image_manifest((&dc, config.len()), &[(&db, BASE), (&dl, layer.len())], "");
    let resp = r.put_manifest("acme/r2", "later", &t, OCI_MANIFEST, &m).await;
    assert_eq!(resp.status(), 201, "the freed space is usable");
    assert_eq!(scalar(&r, TOTAL).await, after + unit);

    // A smaller quota: the namespace is past it, so uploads are refused at the start (Quay).
    let (s, q) = api(
        &r,
        Method::PUT,
        &format!("/api/v1/organization/acme/quota/{id}"),
        &admin,
        Some(json!({"limit_bytes": unit * 5})),
    )
    .await;
    assert_eq!((s, q["limit_bytes"].as_i64()), (200, Some(unit * 5)), "{q}");
    let start = r.req(Method::POST, "/v2/acme/r1/blobs/uploads/", Some(&t)).send().await.expect("start");
    assert_eq!(start.status(), 403);
    assert_eq!(common::error_code(start).await, "DENIED");

    // The quota goes with its limits; uploads start again.
    assert_eq!(
        api(&r, Method::DELETE, &format!("/api/v1/organization/acme/quota/{id}"), &admin, None).await.0,
        204
    );
    assert_eq!(api(&r, Method::GET, "/api/v1/organization/acme/quota", &admin, None).await, (200, json!([])));
    assert_eq!(scalar(&r, "SELECT COUNT(*) FROM quotalimits").await, 0);
    assert_eq!(scalar(&r, &logged("org_change_quota")).await, 1);
    assert_eq!(scalar(&r, &logged("org_delete_quota")).await, 1);
    let start = r.req(Method::POST, "/v2/acme/r1/blobs/uploads/", Some(&t)).send().await.expect("start");
    assert_eq!(start.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_holds_sqlite() {
    quota_holds(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_holds_postgres() {
    quota_holds(Backend::Postgres).await;
}

/// Pushes that retag a manifest the repository has (repository tag lock, then the quota lock for
/// the limit check) racing pushes of new manifests (quota lock, then tag lock) in a namespace
/// with limits: every push succeeds, none waits on another in a circle (a PostgreSQL deadlock
/// answered one of them with a 500 before the push took the quota lock first).
async fn retags_race_new_manifests(backend: Backend) {
    let (r, admin) = with_acme(backend, "qrace", "FEATURE_QUOTA_MANAGEMENT: true\n").await;
    let (s, _) = api(
        &r,
        Method::POST,
        "/api/v1/organization/acme/quota",
        &admin,
        Some(json!({"limit_bytes": 1_i64 << 40})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, list) = api(&r, Method::GET, "/api/v1/organization/acme/quota", &admin, None).await;
    let id = list[0]["id"].as_i64().expect("quota id");
    for (kind, percent) in [("Warning", 1), ("Reject", 100)] {
        let path = format!("/api/v1/organization/acme/quota/{id}/limit");
        let (s, _) =
            api(&r, Method::POST, &path, &admin, Some(json!({"type": kind, "threshold_percent": percent})))
                .await;
        assert_eq!(s, 201);
    }
    let t = r.token(Some("admin"), &["repository:acme/app:pull,push"]).await;
    let (config, layer) = image(900);
    let dc = r.push_blob("acme/app", &t, &config).await;
    let dl = r.push_blob("acme/app", &t, &layer).await;
    let base = image_manifest((&dc, config.len()), &[(&dl, layer.len())], "");
    assert_eq!(r.put_manifest("acme/app", "base", &t, OCI_MANIFEST, &base).await.status(), 201);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (r, t, base) = (r.clone(), t.clone(), base.clone());
        let (dc, dl, cl, ll) = (dc.clone(), dl.clone(), config.len(), layer.len());
        tasks.push(tokio::spawn(async move {
            let m = if i % 2 == 0 {
                base
            } else {
                image_manifest((&dc, cl), &[(&dl, ll)], &format!(r#","annotations":{{"n":"{i}"}}"#))
            };
            let resp = r.put_manifest("acme/app", &format!("t{i}"), &t, OCI_MANIFEST, &m).await;
            (resp.status().as_u16(), resp.text().await.unwrap_or_default())
        }));
    }
    for task in tasks {
        let (status, body) = task.await.expect("push");
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(scalar(&r, RECOUNT).await, scalar(&r, TOTAL).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retags_race_new_manifests_sqlite() {
    retags_race_new_manifests(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retags_race_new_manifests_postgres() {
    retags_race_new_manifests(Backend::Postgres).await;
}
