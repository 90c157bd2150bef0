//! Proofs on a real PostgreSQL with the extension: one alive tag under 64 concurrent writers,
//! and no row anywhere referencing a purged namespace, its repositories, teams or robots.

use quay_tests::TestDb;
use quay_tests::fixtures::{self, digest};
use tokio_postgres::Client;

async fn exec_all(c: &Client, statements: &[String]) {
    for st in statements {
        c.execute(st.as_str(), &[]).await.unwrap_or_else(|e| panic!("{st}: {e:?}"));
    }
}

async fn put_manifest(c: &Client, repo: i64, d: &str, blobs: &[String]) -> i64 {
    c.query_one(
        "SELECT quay.manifest_put($1, $2, 'application/vnd.oci.image.manifest.v1+json', '{}', NULL, $3, '{}')",
        &[&repo, &d, &blobs],
    )
    .await
    .expect("manifest_put")
    .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_tag_sets_leave_one_alive_generation_and_clean_history() {
    const WRITERS: usize = 64;
    const ROUNDS: usize = 5;
    let db = TestDb::with_extension("tagrace").await.expect("db");
    let c = db.client().await.expect("c");
    let mut f =
        vec![fixtures::user(100, "acme", false, false, 1_209_600), fixtures::repo(200, 100, "app", false)];
    f.extend(fixtures::blob(300, &digest(1), 200, false));
    exec_all(&c, &f).await;
    let mut manifests = Vec::new();
    for i in 0..8u8 {
        manifests.push(put_manifest(&c, 200, &digest(0xc0 + i), &[digest(1)]).await);
    }

    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let url = db.url.clone();
        let manifests = manifests.clone();
        tasks.push(tokio::spawn(async move {
            let c = quay_tests::connect(&url).await.expect("connect");
            let mut ok = 0;
            for r in 0..ROUNDS {
                let m = manifests[(w + r) % manifests.len()];
                c.query_one("SELECT quay.tag_set(200, 'latest', $1)", &[&m])
                    .await
                    .expect("tag_set never fails");
                ok += 1;
            }
            ok
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("writer");
    }
    assert_eq!(total, WRITERS * ROUNDS);

    let row = c
        .query_one(
            "SELECT count(*) FILTER (WHERE lifetime_end_ms IS NULL),
                    count(*),
                    count(DISTINCT lifetime_end_ms),
                    count(*) FILTER (WHERE lifetime_end_ms IS NOT NULL AND lifetime_end_ms <= lifetime_start_ms)
               FROM tag WHERE repository_id = 200 AND name = 'latest'",
            &[],
        )
        .await
        .expect("count");
    let (alive, all, distinct_ends, empty): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(alive, 1, "exactly one alive generation");
    assert_eq!(all as usize, WRITERS * ROUNDS, "one generation per tag_set");
    assert_eq!(distinct_ends, all - 1, "ended generations end at distinct times");
    assert_eq!(empty, 0, "no generation ends before it starts");
    // Ordered by start, each generation ends exactly where the next begins.
    let gaps: i64 = c
        .query_one(
            "SELECT count(*) FROM (
               SELECT lifetime_end_ms, lead(lifetime_start_ms) OVER (ORDER BY lifetime_start_ms) AS next_start
                 FROM tag WHERE repository_id = 200 AND name = 'latest') h
              WHERE next_start IS NOT NULL AND lifetime_end_ms IS DISTINCT FROM next_start",
            &[],
        )
        .await
        .expect("history")
        .get(0);
    assert_eq!(gaps, 0, "history is a chain without overlaps or holes");
    db.drop_db().await.expect("drop");
}

/// Every foreign-key column of the schema that points at `table`.
async fn references_to(c: &Client, table: &str) -> Vec<(String, String)> {
    c.query(
        "SELECT cl.relname::text, a.attname::text
           FROM pg_constraint k
           JOIN pg_class cl ON cl.oid = k.conrelid
           JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
          WHERE k.contype = 'f' AND k.confrelid = $1::text::regclass",
        &[&format!("public.\"{table}\"")],
    )
    .await
    .expect("fk columns")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test]
async fn namespace_purge_leaves_no_row_referencing_the_namespace() {
    let db = TestDb::with_extension("nspurge").await.expect("db");
    let c = db.client().await.expect("c");
    let (org, robot, alice, team, repo_a, repo_b, other_repo) =
        (120i64, 124i64, 121i64, 400i64, 220i64, 221i64, 230i64);
    let mut f = vec![
        fixtures::user(org, "corp", true, false, 1_209_600),
        fixtures::user(robot, "corp+bot", false, true, 1_209_600),
        fixtures::user(alice, "alice", false, false, 1_209_600),
        fixtures::repo(repo_a, org, "a", false),
        fixtures::repo(repo_b, org, "b", true),
        fixtures::repo(other_repo, alice, "mine", false),
        fixtures::team(team, org, "owners", "admin"),
        fixtures::member(team, alice),
        fixtures::member(team, robot),
        fixtures::grant(repo_a, Some(robot), None, "read"),
        fixtures::grant(repo_a, None, Some(team), "write"),
        fixtures::grant(other_repo, Some(robot), None, "read"),
        format!(
            "INSERT INTO star (user_id, repository_id, created) VALUES ({alice}, {repo_a}, '2020-01-01')"
        ),
        format!(
            "INSERT INTO star (user_id, repository_id, created) VALUES ({robot}, {other_repo}, '2020-01-01')"
        ),
        format!(
            "INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) VALUES ({robot}, '', '{{}}')"
        ),
        format!(
            "INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) VALUES ({robot}, 'x', true)"
        ),
        format!(
            "INSERT INTO permissionprototype (org_id, uuid, role_id, delegate_team_id) VALUES ({org}, 'p1', 1, {team})"
        ),
        format!(
            "INSERT INTO tagpullstatistics (repository_id, tag_name, tag_pull_count, last_tag_pull_date) VALUES ({repo_a}, 'v1', 3, '2020-01-01')"
        ),
        format!("INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES ({org}, 1000)"),
        format!(
            "INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) SELECT id, 1, 80 FROM userorganizationquota WHERE namespace_id = {org}"
        ),
        format!(
            "INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, config_json, event_config_json, number_of_failures) VALUES ('n1', {repo_a}, 5, 1, '{{}}', '{{}}', 0)"
        ),
        format!(
            "INSERT INTO oauthapplication (client_id, redirect_uri, application_uri, organization_id, name, description, fully_migrated) VALUES ('cid', 'http://x', 'http://x', {org}, 'app', '', true)"
        ),
    ];
    // Content: a shared blob (also used by alice's repository) and one only the org uses.
    f.extend(fixtures::blob(300, &digest(1), repo_a, false));
    f.extend(fixtures::blob(301, &digest(2), repo_a, false));
    f.push(fixtures::link(300, other_repo, "2999-01-01"));
    exec_all(&c, &f).await;
    let m = put_manifest(&c, repo_a, &digest(0xd1), &[digest(1), digest(2)]).await;
    c.execute("SELECT quay.tag_set($1, 'v1', $2)", &[&repo_a, &m]).await.expect("tag");
    put_manifest(&c, other_repo, &digest(0xd2), &[digest(1)]).await;

    let queued: Option<i64> =
        c.query_one("SELECT quay.namespace_delete($1)", &[&org]).await.expect("delete").get(0);
    assert!(queued.is_some());
    let freed: Vec<String> = c
        .query("SELECT content_checksum FROM quay.namespace_purge($1)", &[&org])
        .await
        .expect("purge")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(freed, vec![digest(2)], "only the blob nobody else uses is freed");

    let mut leftovers = Vec::new();
    for (table, ids) in
        [("user", vec![org, robot]), ("repository", vec![repo_a, repo_b]), ("team", vec![team])]
    {
        let ids: Vec<i32> = ids.iter().map(|i| *i as i32).collect();
        // Every referencing column, and the table's own rows.
        let mut columns = references_to(&c, table).await;
        columns.push((table.to_string(), "id".to_string()));
        for (t, col) in columns {
            let n: i64 = c
                .query_one(&format!("SELECT count(*) FROM \"{t}\" WHERE \"{col}\" = ANY($1)"), &[&ids])
                .await
                .expect("count")
                .get(0);
            if n > 0 {
                leftovers.push(format!("{t}.{col}: {n}"));
            }
        }
    }
    assert!(leftovers.is_empty(), "rows still reference the purged namespace: {leftovers:?}");
    // Everything of other namespaces is intact.
    let kept: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM \"user\" WHERE id = 121) + (SELECT count(*) FROM repository WHERE id = 230)
                  + (SELECT count(*) FROM manifest WHERE repository_id = 230) + (SELECT count(*) FROM imagestorage WHERE id = 300)",
            &[],
        )
        .await
        .expect("kept")
        .get(0);
    assert_eq!(kept, 4);
    db.drop_db().await.expect("drop");
}
