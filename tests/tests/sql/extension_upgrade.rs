//! `ALTER EXTENSION quay UPDATE` from every earlier version: a database created with the 0.1.0, 0.4.0,
//! 0.2.0 or 0.3.0 install script (kept in extension/pg/sql/quay--<version>.sql; tests/run.sh installs them
//! next to the current version's files) updates to the current version, ends up with exactly the
//! objects a fresh install has, and its new functions work while the old ones keep working.

use quay_tests::TestDb;
use quay_tests::fixtures::{self, digest};
use tokio_postgres::Client;

/// Every object of the extension, as text: functions (signature, result, defaults, symbol,
/// volatility, strictness, settings, comment), views (definition, comment), and how many objects
/// belong to the extension.
async fn catalog(c: &Client) -> Vec<String> {
    let mut out: Vec<String> = c
        .query(
            "SELECT format('%s -> %s | %s | %s %s %s %s | %s', p.oid::regprocedure, pg_get_function_result(p.oid),
                           pg_get_function_arguments(p.oid), p.prosrc, p.provolatile, p.proisstrict,
                           p.proconfig, obj_description(p.oid, 'pg_proc'))
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'quay'
             UNION ALL
             SELECT format('view %s | %s | %s', c.oid::regclass, pg_get_viewdef(c.oid), obj_description(c.oid, 'pg_class'))
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'quay'
             UNION ALL
             SELECT format('extension members: %s', count(*))
               FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
              WHERE e.extname = 'quay' AND d.deptype = 'e'
             ORDER BY 1",
            &[],
        )
        .await
        .expect("catalog")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let index: i64 = c
        .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = 'quay_queueitem_waiting'", &[])
        .await
        .expect("index")
        .get(0);
    out.push(format!("claim index: {index}"));
    out
}

/// Runs `ALTER EXTENSION quay UPDATE` on `c` and compares its catalog with a fresh install's
/// (returned, to be dropped by the caller).
async fn update_matches_a_fresh_install(c: &Client) -> TestDb {
    c.batch_execute("ALTER EXTENSION quay UPDATE").await.expect("ALTER EXTENSION quay UPDATE");
    assert_eq!(version(c).await, env!("CARGO_PKG_VERSION"));
    let fresh = TestDb::with_extension("upgradefresh").await.expect("fresh db");
    let fc = fresh.client().await.expect("fc");
    assert_eq!(version(&fc).await, env!("CARGO_PKG_VERSION"));
    let (updated, installed) = (catalog(c).await, catalog(&fc).await);
    let only_updated: Vec<&String> = updated.iter().filter(|o| !installed.contains(o)).collect();
    let only_fresh: Vec<&String> = installed.iter().filter(|o| !updated.contains(o)).collect();
    assert!(
        only_updated.is_empty() && only_fresh.is_empty(),
        "the updated extension differs from a fresh install\n  only after the update: {only_updated:#?}\n  only in a fresh install: {only_fresh:#?}"
    );
    fresh
}

async fn version(c: &Client) -> String {
    c.query_one("SELECT extversion FROM pg_extension WHERE extname = 'quay'", &[])
        .await
        .expect("version")
        .get(0)
}

#[tokio::test]
async fn update_from_0_1_0_gives_a_fresh_install_and_the_new_manifest_put() {
    let old = TestDb::quay_reference("upgrade").await.expect("db");
    let c = old.client().await.expect("c");
    c.batch_execute("CREATE EXTENSION quay VERSION '0.1.0'").await.expect(
        "CREATE EXTENSION quay VERSION '0.1.0' (tests/run.sh installs extension/pg/sql/quay--0.1.0.sql)",
    );
    assert_eq!(version(&c).await, "0.1.0");
    let before = catalog(&c).await;
    assert!(!before.iter().any(|f| f.contains("manifest_put(bigint,text,text,integer,text,text[])")));

    // 0.1.0 in use before the update: a manifest recorded with the legacy form.
    let mut f =
        vec![fixtures::user(100, "acme", false, false, 1_209_600), fixtures::repo(200, 100, "app", false)];
    f.extend(fixtures::blob(300, &digest(1), 200, false));
    for st in &f {
        c.execute(st.as_str(), &[]).await.expect("fixture");
    }
    let legacy: i64 = c
        .query_one(
            "SELECT quay.manifest_put(200, $1, 'application/vnd.oci.image.manifest.v1+json', '{}', NULL, ARRAY[$2], '{}')",
            &[&digest(0xa1), &digest(1)],
        )
        .await
        .expect("legacy manifest_put on 0.1.0")
        .get(0);

    let fresh = update_matches_a_fresh_install(&c).await;

    // The new form works on the updated database, and the old one still does.
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[]}}"#,
        digest(1)
    );
    let row = c
        .query_one(
            "SELECT manifest_id, digest FROM quay.manifest_put(200, 'application/vnd.oci.image.manifest.v1+json', $1, tag_names => ARRAY['v1'])",
            &[&body],
        )
        .await
        .expect("new manifest_put after the update");
    let expected =
        quay_core::manifests::digest_of(quay_core::manifests::DigestAlgorithm::Sha256, body.as_bytes());
    assert_eq!(row.get::<_, String>(1), expected);
    let err =
        c.query_one("SELECT * FROM quay.manifest_put(200, NULL, 'nope')", &[]).await.expect_err("not JSON");
    let db = err.as_db_error().expect("db error");
    assert_eq!((db.code().code(), db.detail()), ("22023", Some("QUAY_MANIFEST_INVALID")));
    let again: i64 = c
        .query_one(
            "SELECT quay.manifest_put(200, $1, 'application/vnd.oci.image.manifest.v1+json', '{}', NULL, ARRAY[$2], '{}')",
            &[&digest(0xa1), &digest(1)],
        )
        .await
        .expect("legacy manifest_put after the update")
        .get(0);
    assert_eq!(again, legacy);
    let tagged: i64 = c
        .query_one(
            "SELECT count(*) FROM tag WHERE name = 'v1' AND manifest_id = $1",
            &[&(row.get::<_, i64>(0) as i32)],
        )
        .await
        .expect("tag")
        .get(0);
    assert_eq!(tagged, 1);
    old.drop_db().await.expect("drop");
    fresh.drop_db().await.expect("drop");
}

#[tokio::test]
async fn update_from_0_2_0_gives_a_fresh_install_and_the_one_call_reads() {
    let old = TestDb::quay_reference("upgrade2").await.expect("db");
    let c = old.client().await.expect("c");
    c.batch_execute("CREATE EXTENSION quay VERSION '0.2.0'").await.expect(
        "CREATE EXTENSION quay VERSION '0.2.0' (tests/run.sh installs extension/pg/sql/quay--0.2.0.sql)",
    );
    assert_eq!(version(&c).await, "0.2.0");
    let mut f =
        vec![fixtures::user(100, "acme", false, false, 1_209_600), fixtures::repo(200, 100, "app", false)];
    f.extend(fixtures::blob(300, &digest(1), 200, false));
    for st in &f {
        c.execute(st.as_str(), &[]).await.expect("fixture");
    }
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[]}}"#,
        digest(1)
    );
    let pushed: String = c
        .query_one(
            "SELECT digest FROM quay.manifest_put(200, 'application/vnd.oci.image.manifest.v1+json', $1, tag_names => ARRAY['v1'])",
            &[&body],
        )
        .await
        .expect("manifest_put on 0.2.0")
        .get(0);
    assert!(c.query("SELECT quay.manifest_read('acme', 'app', 100, 'v1')", &[]).await.is_err());

    let fresh = update_matches_a_fresh_install(&c).await;
    // The owner reads its manifest by tag with its role, in one call.
    let row = c
        .query_one(
            "SELECT repository_id, role, digest, manifest_bytes FROM quay.manifest_read('acme', 'app', 100, 'v1')",
            &[],
        )
        .await
        .expect("manifest_read after the update");
    assert_eq!(row.get::<_, i64>(0), 200);
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("admin"));
    assert_eq!(row.get::<_, Option<String>>(2), Some(pushed));
    assert_eq!(row.get::<_, Option<String>>(3), Some(body));
    let blob = c
        .query_one("SELECT role, storage_id FROM quay.blob_read('acme', 'app', NULL, $1)", &[&digest(1)])
        .await
        .expect("blob_read");
    assert_eq!((blob.get::<_, Option<String>>(0), blob.get::<_, Option<i64>>(1)), (None, Some(300)));
    old.drop_db().await.expect("drop");
    fresh.drop_db().await.expect("drop");
}

#[tokio::test]
async fn update_from_0_3_0_gives_a_fresh_install_and_the_account_functions() {
    let old = TestDb::quay_reference("upgrade3").await.expect("db");
    let c = old.client().await.expect("c");
    c.batch_execute("CREATE EXTENSION quay VERSION '0.3.0'").await.expect(
        "CREATE EXTENSION quay VERSION '0.3.0' (tests/run.sh installs extension/pg/sql/quay--0.3.0.sql)",
    );
    assert_eq!(version(&c).await, "0.3.0");
    assert!(c.query("SELECT quay.user_create('alice', 'alice@example.com', NULL)", &[]).await.is_err());

    let fresh = update_matches_a_fresh_install(&c).await;
    let id: i64 = c
        .query_one(
            "SELECT quay.user_create('alice', 'alice@example.com', NULL, log => '{\"kind\": \"user_create\", \"metadata\": {\"username\": \"alice\"}}')",
            &[],
        )
        .await
        .expect("user_create after the update")
        .get(0);
    let logged: i64 = c
        .query_one(
            "SELECT count(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'user_create' AND l.account_id = $1",
            &[&(id as i32)],
        )
        .await
        .expect("log")
        .get(0);
    assert_eq!(logged, 1);
    old.drop_db().await.expect("drop");
    fresh.drop_db().await.expect("drop");
}

#[tokio::test]
async fn update_from_0_4_0_gives_a_fresh_install_and_the_organization_functions() {
    let old = TestDb::quay_reference("upgrade4").await.expect("db");
    let c = old.client().await.expect("c");
    c.batch_execute("CREATE EXTENSION quay VERSION '0.4.0'").await.expect(
        "CREATE EXTENSION quay VERSION '0.4.0' (tests/run.sh installs extension/pg/sql/quay--0.4.0.sql)",
    );
    assert_eq!(version(&c).await, "0.4.0");
    let alice: i64 = c
        .query_one("SELECT quay.user_create('alice', 'alice@example.com', NULL)", &[])
        .await
        .expect("user")
        .get(0);
    assert!(c.query("SELECT quay.organization_update(1, '{}')", &[]).await.is_err());

    let fresh = update_matches_a_fresh_install(&c).await;
    let org: i64 = c
        .query_one("SELECT organization_id FROM quay.organization_create('acme', $1)", &[&alice])
        .await
        .expect("organization_create")
        .get(0);
    // The six-argument repository_create of 0.4.0 still answers (the new argument has a default).
    let created: bool = c
        .query_one(
            "SELECT created FROM quay.repository_create($1, 'app', false, $2, 'd', NULL)",
            &[&org, &alice],
        )
        .await
        .expect("repository_create, six arguments")
        .get(0);
    assert!(created);
    c.execute(
        "SELECT quay.organization_update($1, '{\"tag_expiration_s\": 60}', '{\"kind\": \"org_change_email\", \"metadata\": {}}')",
        &[&org],
    )
    .await
    .expect("organization_update");
    let window: i64 = c
        .query_one("SELECT removed_tag_expiration_s FROM \"user\" WHERE id = $1", &[&(org as i32)])
        .await
        .expect("window")
        .get(0);
    assert_eq!(window, 60);
    let refused = c.execute("SELECT quay.organization_member_remove($1, $2)", &[&org, &alice]).await;
    let e = refused.expect_err("the only admin stays");
    assert!(
        format!("{:?}", e.as_db_error().map(|d| d.detail())).contains("QUAY_NAMESPACE_LAST_ADMIN"),
        "{e:?}"
    );
    old.drop_db().await.expect("drop");
    fresh.drop_db().await.expect("drop");
}

#[tokio::test]
async fn update_from_0_5_0_gives_a_fresh_install_and_the_quota_functions() {
    let old = TestDb::quay_reference("upgrade5").await.expect("db");
    let c = old.client().await.expect("c");
    c.batch_execute("CREATE EXTENSION quay VERSION '0.5.0'").await.expect(
        "CREATE EXTENSION quay VERSION '0.5.0' (tests/run.sh installs extension/pg/sql/quay--0.5.0.sql)",
    );
    assert_eq!(version(&c).await, "0.5.0");
    let alice: i64 = c
        .query_one("SELECT quay.user_create('alice', 'alice@example.com', NULL)", &[])
        .await
        .expect("user")
        .get(0);
    assert!(c.query("SELECT quay.quota_create($1, 100)", &[&alice]).await.is_err());

    let fresh = update_matches_a_fresh_install(&c).await;
    let quota: i64 =
        c.query_one("SELECT quay.quota_create($1, 1000)", &[&alice]).await.expect("quota").get(0);
    c.query_one("SELECT quay.quota_limit_create($1, $2, 'Reject', 100)", &[&alice, &quota])
        .await
        .expect("limit");
    let again = c.query("SELECT quay.quota_create($1, 5)", &[&alice]).await.expect_err("one per namespace");
    assert!(
        format!("{:?}", again.as_db_error().map(|d| d.detail())).contains("QUAY_QUOTA_EXISTS"),
        "{again:?}"
    );
    let limits: String = c
        .query_one("SELECT COALESCE(limits, '') FROM quay.quota_usage WHERE namespace = 'alice'", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or_default();
    // No manifest yet: no total row, so the view has no line for alice.
    assert_eq!(limits, "");
    old.drop_db().await.expect("drop");
    fresh.drop_db().await.expect("drop");
}

#[tokio::test]
async fn update_from_0_6_0_gives_a_fresh_install_and_the_state_function() {
    let old = TestDb::quay_reference("upgrade6").await.expect("db");
    let c = old.client().await.expect("c");
    c.batch_execute("CREATE EXTENSION quay VERSION '0.6.0'").await.expect(
        "CREATE EXTENSION quay VERSION '0.6.0' (tests/run.sh installs extension/pg/sql/quay--0.6.0.sql)",
    );
    assert_eq!(version(&c).await, "0.6.0");
    assert!(c.query("SELECT quay.repository_set_state(1, 1)", &[]).await.is_err());

    let fresh = update_matches_a_fresh_install(&c).await;
    let detail = |e: tokio_postgres::Error| format!("{:?}", e.as_db_error().map(|d| d.detail()));
    let unknown = c.query("SELECT quay.repository_set_state(-1, 1)", &[]).await.expect_err("no repository");
    assert!(detail(unknown).contains("QUAY_REPOSITORY_UNKNOWN"));
    let bad = c.query("SELECT quay.repository_set_state(-1, 3)", &[]).await.expect_err("not settable");
    assert!(detail(bad).contains("QUAY_INVALID_ARGUMENT"));
    old.drop_db().await.expect("drop");
    fresh.drop_db().await.expect("drop");
}
