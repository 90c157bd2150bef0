//! `PUT /api/v1/repository/{repo}/changestate` on both backends: Quay's answers (404 without
//! `FEATURE_REPO_MIRROR`, 400 for an unknown state, `{"success": true}`, the `change_repo_state`
//! log, `state` in the repository view), and the write it guards: while 16 clients push tags,
//! a change to `READ_ONLY` is the last word. No tag write commits after the change has been
//! answered, every push answered 201 kept its tag and every refused one left none.

use super::common::{Backend, OCI_MANIFEST, api, image_manifest, scalar, with_acme};
use reqwest::Method;
use serde_json::json;

const CLIENTS: usize = 16;
/// Pushes each client tries at most (it stops at its first refusal).
const ROUNDS: usize = 200;

const ALIVE: &str = "SELECT count(*) FROM tag t JOIN repository r ON r.id = t.repository_id \
    WHERE r.name = 'app' AND NOT t.hidden AND t.lifetime_end_ms IS NULL";

fn alive_named(tag: &str) -> String {
    format!("{ALIVE} AND t.name = '{tag}'")
}

async fn state_is_the_last_word(backend: Backend) {
    let (r, admin) = with_acme(backend, "repostate", "FEATURE_REPO_MIRROR: true\n").await;
    let t = r.token(Some("admin"), &["repository:acme/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer: Vec<u8> = (0..4096).map(|k| (k % 251) as u8).collect();
    let dc = r.push_blob("acme/app", &t, &config).await;
    let dl = r.push_blob("acme/app", &t, &layer).await;
    let manifest = image_manifest((&dc, config.len()), &[(&dl, layer.len())], "");
    assert_eq!(r.put_manifest("acme/app", "base", &t, OCI_MANIFEST, &manifest).await.status(), 201);

    let path = "/api/v1/repository/acme/app/changestate";
    let (s, body) = api(&r, Method::PUT, path, &admin, Some(json!({"state": "FROZEN"}))).await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = api(&r, Method::PUT, path, &admin, Some(json!({}))).await;
    assert_eq!(s, 400);
    let anonymous =
        r.req(Method::PUT, path, None).json(&json!({"state": "READ_ONLY"})).send().await.expect("put");
    // No token, no session: Quay's CSRF refusal comes first.
    assert_eq!(anonymous.status(), 403);

    // 16 clients push new tags until refused; the change lands in the middle of them.
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let (r, t, manifest) = (r.clone(), t.clone(), manifest.clone());
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for k in 0..ROUNDS {
                let tag = format!("w{i}-{k}");
                let status = r.put_manifest("acme/app", &tag, &t, OCI_MANIFEST, &manifest).await.status();
                outcomes.push((tag, status.as_u16()));
                if status != 201 {
                    break;
                }
            }
            outcomes
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let (s, body) = api(&r, Method::PUT, path, &admin, Some(json!({"state": "READ_ONLY"}))).await;
    assert_eq!((s, body), (200, json!({"success": true})));
    let at_change = scalar(&r, ALIVE).await;

    let mut accepted = 0;
    for task in tasks {
        let outcomes = task.await.expect("client");
        let (last_tag, last_status) = outcomes.last().cloned().expect("one push at least");
        assert_ne!(last_status, 201, "a client pushed {ROUNDS} tags without meeting the change");
        assert_eq!(scalar(&r, &alive_named(&last_tag)).await, 0, "refused push {last_tag} left its tag");
        for (tag, status) in &outcomes {
            if *status == 201 {
                accepted += 1;
                assert_eq!(scalar(&r, &alive_named(tag)).await, 1, "acknowledged push {tag} lost its tag");
            }
        }
    }
    assert_eq!(scalar(&r, ALIVE).await, at_change, "a tag write committed after the change was answered");
    assert_eq!(at_change, accepted + 1, "the tags are the acknowledged pushes and base");

    // Read-only: tag deletes refused too; the view and the log say so.
    let (s, _) = api(&r, Method::DELETE, "/api/v1/repository/acme/app/tag/base", &admin, None).await;
    assert_ne!(s, 204);
    assert_eq!(scalar(&r, &alive_named("base")).await, 1);
    let (_, view) = api(&r, Method::GET, "/api/v1/repository/acme/app", &admin, None).await;
    assert_eq!(view["state"], "READ_ONLY");
    let (_, logs) = api(&r, Method::GET, "/api/v1/repository/acme/app/logs", &admin, None).await;
    let change = logs["logs"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["kind"] == "change_repo_state"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(change["metadata"]["state_changed"], "READ_ONLY", "{logs}");
    assert_eq!(change["metadata"]["repo"], "app");

    // Back to NORMAL: pushes work again.
    let (s, _) = api(&r, Method::PUT, path, &admin, Some(json!({"state": "NORMAL"}))).await;
    assert_eq!(s, 200);
    assert_eq!(r.put_manifest("acme/app", "after", &t, OCI_MANIFEST, &manifest).await.status(), 201);

    // A repository its organization mirrors keeps its state: Quay's ad-hoc `{"detail"}`.
    super::common::exec(&r, "UPDATE repository SET state = 4 WHERE name = 'app'").await;
    let (s, body) = api(&r, Method::PUT, path, &admin, Some(json!({"state": "NORMAL"}))).await;
    assert_eq!(s, 400, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("mirror")), "{body}");
    let (_, view) = api(&r, Method::GET, "/api/v1/repository/acme/app", &admin, None).await;
    assert_eq!(view["state"], "ORG_MIRROR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_is_the_last_word_sqlite() {
    state_is_the_last_word(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_is_the_last_word_postgres() {
    state_is_the_last_word(Backend::Postgres).await;
}

/// Without `FEATURE_REPO_MIRROR` the route is not there (Quay's `show_if`).
#[tokio::test]
async fn changestate_needs_repo_mirror() {
    let (r, admin) = with_acme(Backend::Sqlite, "repostateoff", "").await;
    let (s, _) = api(
        &r,
        Method::POST,
        "/api/v1/repository",
        &admin,
        Some(json!({"namespace": "acme", "repository": "app", "visibility": "private", "description": ""})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = api(
        &r,
        Method::PUT,
        "/api/v1/repository/acme/app/changestate",
        &admin,
        Some(json!({"state": "READ_ONLY"})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = api(
        &r,
        Method::PUT,
        "/api/v1/repository/acme/app/changestate",
        &admin,
        Some(json!({"state": "FROZEN"})),
    )
    .await;
    assert_eq!(s, 404, "no route, whatever the body");
    let (_, view) = api(&r, Method::GET, "/api/v1/repository/acme/app", &admin, None).await;
    assert_eq!(view["state"], "NORMAL");
}

/// A PostgreSQL registry with `FEATURE_REPO_MIRROR` and image `acme/app:base` (a config only):
/// the registry, the admin's API token, a push token, the config and its digest.
async fn locked_setup(
    tag: &str,
) -> (std::sync::Arc<super::common::Registry>, String, String, Vec<u8>, String) {
    let (r, admin) = with_acme(Backend::Postgres, tag, "FEATURE_REPO_MIRROR: true\n").await;
    let t = r.token(Some("admin"), &["repository:acme/app:pull,push"]).await;
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let dc = r.push_blob("acme/app", &t, &config).await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    assert_eq!(r.put_manifest("acme/app", "base", &t, OCI_MANIFEST, &manifest).await.status(), 201);
    (r, admin, t, config, dc)
}

/// A connection holding `acme/app`'s tag lock in an open transaction (`COMMIT` releases it).
async fn hold_tag_lock(r: &super::common::Registry) -> tokio_postgres::Client {
    let repository_id = scalar(r, "SELECT CAST(id AS BIGINT) FROM repository WHERE name = 'app'").await;
    let holder = r.db.as_ref().expect("postgres").client().await.expect("client");
    holder.batch_execute("BEGIN").await.expect("begin");
    let key = format!("quay:retarget_tag:{repository_id}");
    holder.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await.expect("tag lock");
    holder
}

/// The interleaving the racing clients rarely hit, forced on PostgreSQL: a push waits on the
/// repository's tag lock (held here by another transaction) after its first state check; a
/// change to `READ_ONLY` then either waits for it (and the push commits first) or, as before
/// the tag lock guarded the state, commits at once and the waiting push writes its tag into a
/// read-only repository afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_waiting_push_never_lands_after_the_change() {
    let (r, admin, t, config, dc) = locked_setup("repostatelock").await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    let holder = hold_tag_lock(&r).await;

    let push = {
        let (r, t, manifest) = (r.clone(), t.clone(), manifest.clone());
        tokio::spawn(
            async move { r.put_manifest("acme/app", "late", &t, OCI_MANIFEST, &manifest).await.status() },
        )
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!push.is_finished(), "the push waits on the tag lock");
    let change = {
        let (r, admin) = (r.clone(), admin.clone());
        tokio::spawn(async move {
            let path = "/api/v1/repository/acme/app/changestate";
            api(&r, Method::PUT, path, &admin, Some(json!({"state": "READ_ONLY"}))).await.0
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let answered_early = change.is_finished();
    holder.batch_execute("COMMIT").await.expect("release");
    let (pushed, changed) = (push.await.expect("push"), change.await.expect("change"));
    assert_eq!(changed, 200);
    assert!(
        !(answered_early && pushed == 201),
        "the change was answered while the push waited, and the push then landed in a read-only repository"
    );
    assert!(!answered_early, "the change waits for the tag write in flight");
    assert_eq!(pushed, 201, "the push was first in line");
    assert_eq!(scalar(&r, &alive_named("late")).await, 1);
}

/// The other order, forced on PostgreSQL: the change to `READ_ONLY` is first in line for the
/// repository's tag lock (held here), then a push by tag and a push by digest queue behind it.
/// Both were checked against a `NORMAL` repository before they queued; under the lock they must
/// see the change and be refused, leaving nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_queued_behind_the_change_is_refused() {
    let (r, admin, t, config, dc) = locked_setup("repostatelock2").await;
    let manifest = image_manifest((&dc, config.len()), &[], "");
    let by_digest = image_manifest((&dc, config.len()), &[], r#","annotations":{"by":"digest"}"#);
    let digest = super::common::digest(by_digest.as_bytes());
    let holder = hold_tag_lock(&r).await;

    let change = {
        let (r, admin) = (r.clone(), admin.clone());
        tokio::spawn(async move {
            let path = "/api/v1/repository/acme/app/changestate";
            api(&r, Method::PUT, path, &admin, Some(json!({"state": "READ_ONLY"}))).await.0
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!change.is_finished(), "the change waits on the tag lock");
    let pushes =
        [("late", manifest.clone()), (digest.as_str(), by_digest.clone())].map(|(reference, body)| {
            let (r, t, reference) = (r.clone(), t.clone(), reference.to_string());
            tokio::spawn(async move {
                r.put_manifest("acme/app", &reference, &t, OCI_MANIFEST, &body).await.status()
            })
        });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    holder.batch_execute("COMMIT").await.expect("release");
    assert_eq!(change.await.expect("change"), 200);
    for push in pushes {
        assert_ne!(push.await.expect("push"), 201, "a push queued behind the change landed");
    }
    assert_eq!(scalar(&r, &alive_named("late")).await, 0);
    let kept = format!("SELECT count(*) FROM manifest WHERE digest = '{digest}'");
    assert_eq!(scalar(&r, &kept).await, 0, "the push by digest left its manifest");
}
