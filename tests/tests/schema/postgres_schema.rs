//! `quay migrate` on PostgreSQL: the schema our migrations build equals Quay's reference schema,
//! an existing Quay database is left untouched, missing pieces are named, the extension is
//! installed, and `quay init`'s user authenticates.

use quay_server::config::{Database, DbUri};
use quay_server::store::{ExtensionStatus, SchemaOutcome, Store, StoreError};
use quay_tests::TestDb;
use std::collections::BTreeMap;
use tokio_postgres::Client;

async fn store(db: &TestDb) -> Store {
    Store::open(&Database::Postgres(DbUri::new(db.url.clone()))).await.expect("open store")
}

/// Everything about the public schema that Quay compatibility depends on, as sorted text lines.
async fn catalog(client: &Client) -> BTreeMap<&'static str, Vec<String>> {
    let queries: [(&str, &str); 5] = [
        (
            "tables",
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'refinery_schema_history'",
        ),
        (
            "columns",
            "SELECT concat_ws(' | ', table_name, ordinal_position, column_name, data_type,
                              character_maximum_length, is_nullable, column_default)
               FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name <> 'refinery_schema_history'",
        ),
        (
            "indexes",
            // `quay_*` indexes are the extension's documented additions (its queue-claim index);
            // everything else must be exactly Quay's.
            "SELECT indexname || ' | ' || indexdef FROM pg_indexes
              WHERE schemaname = 'public' AND tablename <> 'refinery_schema_history'
                AND substr(indexname, 1, 5) <> 'quay_'",
        ),
        (
            "constraints",
            "SELECT conrelid::regclass::text || ' | ' || conname || ' | ' || pg_get_constraintdef(oid)
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                AND conrelid::regclass::text <> 'refinery_schema_history'",
        ),
        (
            "sequences",
            "SELECT sequencename || ' | ' || data_type::text FROM pg_sequences
              WHERE schemaname = 'public' AND sequencename NOT LIKE 'refinery%'",
        ),
    ];
    let mut out = BTreeMap::new();
    for (name, sql) in queries {
        let mut rows: Vec<String> =
            client.query(sql, &[]).await.expect(name).iter().map(|r| r.get::<_, String>(0)).collect();
        rows.sort();
        out.insert(name, rows);
    }
    out
}

/// Row counts of every seeded lookup table, per the reference script's INSERTs.
fn seeded_counts() -> BTreeMap<String, i64> {
    let sql = std::fs::read_to_string(quay_tests::repo_path("tests/reference/quay-schema-postgres.sql"))
        .expect("ref");
    let mut counts = BTreeMap::new();
    for line in sql.lines() {
        if let Some(rest) = line.strip_prefix("INSERT INTO ") {
            let table = rest.split([' ', '(']).next().expect("table").to_string();
            *counts.entry(table).or_insert(0) += 1;
        }
    }
    counts
}

async fn actual_counts(client: &Client, tables: impl Iterator<Item = &String>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in tables {
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM \"{t}\""), &[]).await.expect(t).get(0);
        out.insert(t.clone(), n);
    }
    out
}

fn diff(a: &[String], b: &[String]) -> String {
    let only_a: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
    let only_b: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
    format!("only in ours: {only_a:#?}\nonly in reference: {only_b:#?}")
}

#[tokio::test]
async fn migrations_build_exactly_quays_reference_schema() {
    let ours = TestDb::empty("ours").await.expect("db");
    let reference = TestDb::quay_reference("ref").await.expect("reference db");

    let report = store(&ours).await.migrate().await.expect("migrate");
    assert!(matches!(report.schema, SchemaOutcome::Created { .. }), "{report:?}");

    let (a, b) = (
        catalog(&ours.client().await.expect("c")).await,
        catalog(&reference.client().await.expect("c")).await,
    );
    assert_eq!(a["tables"].len(), quay_core::QUAY_TABLE_COUNT);
    for key in a.keys() {
        assert!(a[key] == b[key], "{key} differ:\n{}", diff(&a[key], &b[key]));
    }

    let expected = seeded_counts();
    let client = ours.client().await.expect("c");
    assert_eq!(actual_counts(&client, expected.keys()).await, expected);
    let rev: String =
        client.query_one("SELECT version_num::text FROM alembic_version", &[]).await.expect("rev").get(0);
    assert_eq!(rev, quay_core::QUAY_ALEMBIC_HEAD);
    // Sequences continue after the seeded ids, so the next role is id 4, not a duplicate.
    let next: i32 =
        client.query_one("INSERT INTO role (name) VALUES ('x') RETURNING id", &[]).await.expect("ins").get(0);
    assert_eq!(next, 4);

    ours.drop_db().await.expect("drop");
    reference.drop_db().await.expect("drop");
}

#[tokio::test]
async fn second_migrate_changes_nothing() {
    let db = TestDb::empty("twice").await.expect("db");
    let s = store(&db).await;
    s.migrate().await.expect("first");
    let before = catalog(&db.client().await.expect("c")).await;
    let report = s.migrate().await.expect("second");
    assert_eq!(report.schema, SchemaOutcome::Migrated { applied: vec![] });
    assert_eq!(before, catalog(&db.client().await.expect("c")).await);
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn existing_quay_database_is_left_unchanged() {
    let db = TestDb::quay_reference("existing").await.expect("db");
    let client = db.client().await.expect("c");
    let before = catalog(&client).await;
    let report = store(&db).await.migrate().await.expect("migrate");
    assert_eq!(
        report.schema,
        SchemaOutcome::ExistingQuay { alembic_revision: Some(quay_core::QUAY_ALEMBIC_HEAD.into()) }
    );
    assert!(report.to_string().contains("left unchanged"), "{report}");
    assert_eq!(before, catalog(&client).await, "migrate must not change a Quay database's schema");
    let refinery: bool = client
        .query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[])
        .await
        .expect("q")
        .get(0);
    assert!(!refinery, "no bookkeeping table may be added to a Python Quay database");
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn missing_tables_and_columns_are_named() {
    let db = TestDb::quay_reference("missing").await.expect("db");
    db.client()
        .await
        .expect("c")
        .batch_execute("ALTER TABLE tag DROP COLUMN immutable; DROP TABLE queueitem;")
        .await
        .expect("alter");
    let err = store(&db).await.migrate().await.expect_err("must refuse");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::SchemaIncomplete(_)), "{msg}");
    assert!(msg.contains("missing column tag.immutable"), "{msg}");
    assert!(msg.contains("missing table queueitem"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn refuses_a_database_that_is_not_quays() {
    let db = TestDb::empty("foreign").await.expect("db");
    db.client().await.expect("c").batch_execute("CREATE TABLE invoices (id int)").await.expect("create");
    let err = store(&db).await.migrate().await.expect_err("must refuse");
    assert!(matches!(err, StoreError::NotQuay(_)), "{err}");
    let tables: i64 = db
        .client()
        .await
        .expect("c")
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[])
        .await
        .expect("q")
        .get(0);
    assert_eq!(tables, 1, "nothing may be created in a foreign database");
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn migrate_installs_the_extension_and_serve_requires_it() {
    let db = TestDb::quay_reference("ext").await.expect("db");
    let s = store(&db).await;
    // A Quay database without the extension is not ready to serve.
    assert!(matches!(s.check_ready().await, Err(StoreError::ExtensionMissing)));
    let report = s.migrate().await.expect("migrate");
    assert!(
        matches!(report.extension, ExtensionStatus::Installed { .. }),
        "the quay extension must be installed on the test cluster (tests/run.sh does it): {report:?}"
    );
    let client = db.client().await.expect("c");
    let v: String = client.query_one("SELECT quay.version()", &[]).await.expect("quay.version()").get(0);
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    s.check_ready().await.expect("ready after migrate");
    let again = s.migrate().await.expect("migrate again");
    assert_eq!(again.extension, ExtensionStatus::Current { version: v });
    db.drop_db().await.expect("drop");
}

#[tokio::test]
async fn unreachable_database_is_one_clear_error() {
    let uri = DbUri::new("postgresql://quay:topsecret@127.0.0.1:1/quay");
    let err = Store::open(&Database::Postgres(uri)).await.err().expect("must fail");
    let msg = err.to_string();
    assert!(msg.starts_with("cannot connect to database postgresql://quay:***@127.0.0.1:1/quay"), "{msg}");
    assert!(!msg.contains("topsecret"), "password leaked: {msg}");
    assert!(!msg.contains('\n'), "{msg}");
}

#[tokio::test]
async fn init_user_authenticates_through_the_user_table() {
    let db = TestDb::empty("init").await.expect("db");
    let s = store(&db).await;
    s.migrate().await.expect("migrate");
    use quay_server::users::{Ensured, ensure_user, verify_login};
    assert_eq!(
        ensure_user(&s, "admin", "correct-horse", None, 1_209_600).await.expect("create"),
        Ensured::Created
    );
    assert_eq!(
        ensure_user(&s, "admin", "correct-horse", None, 1_209_600).await.expect("again"),
        Ensured::AlreadyPresent
    );
    let err = ensure_user(&s, "admin", "another-password", None, 1_209_600).await.expect_err("different pw");
    assert!(err.to_string().contains("already exists with a different password"), "{err}");

    let user = verify_login(&s, "admin", "correct-horse").await.expect("login").expect("authenticates");
    assert_eq!(user.username, "admin");
    assert!(verify_login(&s, "admin", "wrong-password").await.expect("login").is_none());
    assert!(verify_login(&s, "nobody", "correct-horse").await.expect("login").is_none());

    // The row looks like one Python Quay's create_user writes, so Python Quay can log it in too.
    let client = db.client().await.expect("c");
    let row = client
        .query_one(
            r#"SELECT password_hash, verified, organization, robot, enabled, removed_tag_expiration_s,
                      length(uuid), creation_date IS NOT NULL, invalid_login_attempts
                 FROM "user" WHERE username = 'admin'"#,
            &[],
        )
        .await
        .expect("row");
    let hash: String = row.get(0);
    assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "{hash}");
    assert!(bcrypt::verify("correct-horse", &hash).expect("bcrypt"));
    assert_eq!(
        (row.get::<_, bool>(1), row.get::<_, bool>(2), row.get::<_, bool>(3), row.get::<_, bool>(4)),
        (true, false, false, true)
    );
    assert_eq!(row.get::<_, i64>(5), 1_209_600);
    assert_eq!(row.get::<_, i32>(6), 36);
    assert!(row.get::<_, bool>(7));
    assert_eq!(row.get::<_, i32>(8), 0);
    db.drop_db().await.expect("drop");
}
