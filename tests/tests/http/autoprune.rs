//! Auto-prune on both backends: the `/api/v1` policy routes as Quay answers them; a repository
//! policy (keep 3) applied by the worker while 12 pushes race, leaving exactly the 3 newest tags
//! (never one of the newest); a namespace policy limited by a tag pattern; creation-date
//! policies; the slow timer's pass over namespaces; `autoprune_tag_delete` logs.

use super::common::{Backend, OCI_MANIFEST, Registry, api, image_manifest, scalar, with_acme};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

async fn alive(r: &Registry, repo: &str) -> Vec<String> {
    let sql = |i: usize| {
        format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM tag t JOIN repository r ON r.id = t.repository_id \
             WHERE r.name = '{repo}' AND t.hidden = false AND t.lifetime_end_ms IS NULL AND t.name = 't{i}'"
        )
    };
    let mut names = Vec::new();
    for i in 0..20 {
        if scalar(r, &sql(i)).await > 0 {
            names.push(format!("t{i}"));
        }
    }
    names
}

async fn count_alive(r: &Registry, repo: &str, like: &str) -> i64 {
    scalar(
        r,
        &format!(
            "SELECT COUNT(*) FROM tag t JOIN repository r ON r.id = t.repository_id WHERE r.name = '{repo}' \
             AND t.hidden = false AND t.lifetime_end_ms IS NULL AND t.name LIKE '{like}'"
        ),
    )
    .await
}

async fn settle(r: &Registry) {
    for _ in 0..400 {
        if scalar(r, "SELECT COUNT(*) FROM queueitem WHERE queue_name LIKE 'autoprune/%'").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("auto-prune items still queued");
}

async fn autoprune(backend: Backend) {
    let (r, admin) = with_acme(backend, "prune", "FEATURE_AUTO_PRUNE: true\n").await;
    for repo in ["app", "other", "dated"] {
        let (s, body) = api(
            &r,
            Method::POST,
            "/api/v1/repository",
            &admin,
            Some(
                json!({"namespace": "acme", "repository": repo, "visibility": "private", "description": ""}),
            ),
        )
        .await;
        assert_eq!(s, 201, "{body}");
    }

    // The routes, with Quay's answers.
    let org = "/api/v1/organization/acme/autoprunepolicy/";
    let (s, body) = api(&r, Method::POST, org, &admin, Some(json!({"method": "number_of_tags"}))).await;
    assert_eq!(s, 400);
    assert!(body.to_string().contains("Missing the following parameters: method, value"), "{body}");
    let (s, body) =
        api(&r, Method::POST, org, &admin, Some(json!({"method": "number_of_tags", "value": "10"}))).await;
    assert_eq!(s, 400);
    assert!(body.to_string().contains("Invalid value given for method type"), "{body}");
    let (s, body) = api(&r, Method::POST, org, &admin, Some(json!({"method": "by_size", "value": 1}))).await;
    assert!(s == 400 && body.to_string().contains("Invalid method provided"), "{body}");
    let dev =
        json!({"method": "number_of_tags", "value": 5, "tagPattern": "^dev-", "tagPatternMatches": true});
    let (s, created) = api(&r, Method::POST, org, &admin, Some(dev.clone())).await;
    assert_eq!(s, 201, "{created}");
    let uuid = created["uuid"].as_str().expect("uuid").to_string();
    let (s, body) = api(&r, Method::POST, org, &admin, Some(dev)).await;
    assert_eq!(s, 400);
    assert!(body.to_string().contains("duplicate policies are not permitted"), "{body}");
    let (s, one) = api(&r, Method::GET, &format!("{org}{uuid}"), &admin, None).await;
    assert_eq!(
        (s, one.clone()),
        (
            200,
            json!({"uuid": uuid, "method": "number_of_tags", "value": 5, "tagPattern": "^dev-", "tagPatternMatches": true})
        )
    );
    let (s, _) = api(
        &r,
        Method::PUT,
        &format!("{org}{uuid}"),
        &admin,
        Some(
            json!({"method": "number_of_tags", "value": 1, "tagPattern": "^dev-", "tagPatternMatches": true}),
        ),
    )
    .await;
    assert_eq!(s, 204);
    let (_, list) = api(&r, Method::GET, org, &admin, None).await;
    assert_eq!(list["policies"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["policies"][0]["value"], 1);
    assert_eq!(api(&r, Method::GET, &format!("{org}nope"), &admin, None).await.0, 404);
    // Stored as Quay stores it (double-encoded JSON), so Python Quay reads ours.
    // (`_` stands for the backslash of the inner quotes, on both backends.)
    let stored =
        scalar(&r, "SELECT COUNT(*) FROM namespaceautoprunepolicy WHERE policy LIKE '\"{_\"method_\":%}\"'")
            .await;
    assert_eq!(stored, 1, "double-encoded policy");
    let repo_path = "/api/v1/repository/acme/app/autoprunepolicy/";
    let (s, body) =
        api(&r, Method::POST, repo_path, &admin, Some(json!({"method": "number_of_tags", "value": 3}))).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = api(
        &r,
        Method::POST,
        "/api/v1/repository/acme/dated/autoprunepolicy/",
        &admin,
        Some(json!({"method": "creation_date", "value": "1s"})),
    )
    .await;
    assert_eq!(s, 201, "{body}");

    // The worker prunes while 12 pushes race.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut cfg = quay_server::worker::WorkerConfig::from_config(&r.config);
    cfg.gc_every = None;
    cfg.storage_sweep_every = None;
    cfg.upload_cleanup_every = None;
    cfg.autoprune_every = None;
    tokio::spawn(quay_server::worker::run(r.store.clone(), r.storage.clone(), cfg, stopped));
    let t = r
        .token(
            Some("admin"),
            &[
                "repository:acme/app:pull,push",
                "repository:acme/other:pull,push",
                "repository:acme/dated:pull,push",
            ],
        )
        .await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let dc = r.push_blob("acme/app", &t, config).await;
    // Six names pushed twice each (the second time to another manifest): a prune that ended a
    // name read as old after it moved would end its newest generation.
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        let (r, t) = (r.clone(), t.clone());
        let m = image_manifest((&dc, config.len()), &[], &format!(r#","annotations":{{"push":"{i}"}}"#));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * i)).await;
            r.put_manifest("acme/app", &format!("t{}", i % 6), &t, OCI_MANIFEST, &m).await.status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("push"), 201);
    }
    settle(&r).await;
    let repo_id = scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'app'").await;
    r.store.autoprune_repository(repo_id).await.expect("prune");
    let kept = alive(&r, "app").await;
    assert_eq!(kept.len(), 3, "exactly the policy's tags: {kept:?}");
    // They are the three newest ever pushed: a prune never ended one of the newest.
    let newest = scalar(
        &r,
        "SELECT COUNT(*) FROM (SELECT t.name FROM tag t JOIN repository r ON r.id = t.repository_id \
        WHERE r.name = 'app' AND t.hidden = false ORDER BY t.lifetime_start_ms DESC, t.id DESC LIMIT 3) n \
        WHERE n.name IN (SELECT t.name FROM tag t JOIN repository r ON r.id = t.repository_id \
        WHERE r.name = 'app' AND t.lifetime_end_ms IS NULL AND t.hidden = false)",
    )
    .await;
    assert_eq!(newest, 3, "the three newest are the ones kept: {kept:?}");
    let logs = "SELECT COUNT(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'autoprune_tag_delete'";
    // One log per generation pruned: at least the 3 names gone, more when a name was pruned
    // while it raced and pushed again.
    let logged = scalar(&r, logs).await;
    assert!((3..=12).contains(&logged), "autoprune_tag_delete logs: {logged}");
    // A pruned tag is no longer served.
    let gone = (0..6).map(|i| format!("t{i}")).find(|n| !kept.contains(n)).expect("a pruned name");
    let path = format!("/v2/acme/app/manifests/{gone}");
    assert_eq!(r.req(Method::GET, &path, Some(&t)).send().await.expect("get").status(), 404);

    // The namespace policy (keep 1 of ^dev-) leaves other tags alone.
    let dc = r.push_blob("acme/other", &t, config).await;
    let m = image_manifest((&dc, config.len()), &[], "");
    for tag in ["dev-1", "dev-2", "dev-3", "v1", "v2"] {
        assert_eq!(r.put_manifest("acme/other", tag, &t, OCI_MANIFEST, &m).await.status(), 201);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    settle(&r).await;
    let other = scalar(&r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'other'").await;
    r.store.autoprune_repository(other).await.expect("prune");
    assert_eq!(count_alive(&r, "other", "dev-%").await, 1);
    assert_eq!(count_alive(&r, "other", "dev-3").await, 1, "the newest dev- tag is kept");
    assert_eq!(count_alive(&r, "other", "v%").await, 2, "tags the pattern does not match are not pruned");

    // Creation date: tags older than 1 s go, on the slow timer's pass over the namespace.
    let dc = r.push_blob("acme/dated", &t, config).await;
    let m = image_manifest((&dc, config.len()), &[], "");
    assert_eq!(r.put_manifest("acme/dated", "old", &t, OCI_MANIFEST, &m).await.status(), 201);
    settle(&r).await;
    assert_eq!(count_alive(&r, "dated", "old").await, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    common_reset_task(&r).await;
    let n = r.store.autoprune_run_due(10, 3_600_000).await.expect("pass");
    assert!(n >= 1, "the pass pruned {n}");
    assert_eq!(count_alive(&r, "dated", "old").await, 0);
    assert_eq!(
        scalar(
            &r,
            "SELECT COUNT(*) FROM autoprunetaskstatus WHERE status = 'success' AND last_ran_ms IS NOT NULL"
        )
        .await,
        1
    );
    // Due again only after the interval.
    assert_eq!(r.store.autoprune_run_due(10, 3_600_000).await.expect("pass"), 0);

    // Delete answers 200 {uuid}; nothing is pruned by it any more.
    let (s, body) = api(&r, Method::DELETE, &format!("{org}{uuid}"), &admin, None).await;
    assert_eq!((s, body), (200, json!({"uuid": uuid})));
    // A token without `user:admin` may not touch its owner's policies (Quay's require_user_admin).
    let user_policy = json!({"method": "number_of_tags", "value": 1});
    let (s, _) =
        api(&r, Method::POST, "/api/v1/user/autoprunepolicy/", &admin, Some(user_policy.clone())).await;
    assert_eq!(s, 201);
    super::common::exec(&r, "UPDATE oauthaccesstoken SET scope = 'repo:read'").await;
    let (s, _) = api(
        &r,
        Method::POST,
        "/api/v1/user/autoprunepolicy/",
        &admin,
        Some(json!({"method": "number_of_tags", "value": 2})),
    )
    .await;
    assert_eq!(s, 403, "repo:read cannot add a policy that prunes every repository of its owner");
    assert_eq!(api(&r, Method::GET, "/api/v1/user/autoprunepolicy/", &admin, None).await.0, 403);
    let _ = stop.send(true);
}

/// Makes the namespace's task due now (its interval is an hour).
async fn common_reset_task(r: &Registry) {
    super::common::exec(r, "UPDATE autoprunetaskstatus SET last_ran_ms = NULL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autoprune_sqlite() {
    autoprune(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn autoprune_postgres() {
    autoprune(Backend::Postgres).await;
}
