//! Mirror mode's SQLite schema: Quay's 105 tables with their seeds, the same names as PostgreSQL,
//! generated from the PostgreSQL baseline by the committed translator.

use quay_server::config::Database;
use quay_server::store::{SchemaOutcome, Store};
use rusqlite::Connection;
use std::collections::BTreeMap;

async fn migrated(dir: &tempfile::TempDir) -> (Store, std::path::PathBuf) {
    let path = dir.path().join("quay.db");
    let store = Store::open(&Database::Sqlite(path.clone())).await.expect("open");
    (store, path)
}

fn names(conn: &Connection, sql: &str) -> Vec<String> {
    let mut st = conn.prepare(sql).expect("prepare");
    st.query_map([], |r| r.get::<_, String>(0)).expect("query").collect::<Result<_, _>>().expect("rows")
}

#[tokio::test]
async fn migrate_creates_quays_tables_and_seeds() {
    let dir = tempfile::tempdir().expect("tmp");
    let (store, path) = migrated(&dir).await;
    let report = store.migrate().await.expect("migrate");
    assert!(matches!(report.schema, SchemaOutcome::Created { .. }), "{report:?}");

    let conn = Connection::open(&path).expect("open");
    let tables = names(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'refinery_schema_history' ORDER BY name",
    );
    assert_eq!(tables.len(), quay_core::QUAY_TABLE_COUNT, "{tables:?}");

    let reference =
        std::fs::read_to_string(quay_tests::repo_path("tests/reference/quay-schema-postgres.sql"))
            .expect("ref");
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for line in reference.lines().filter_map(|l| l.strip_prefix("INSERT INTO ")) {
        *expected.entry(line.split([' ', '(']).next().expect("t").to_string()).or_default() += 1;
    }
    for (table, want) in &expected {
        let got: i64 =
            conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| r.get(0)).expect("count");
        assert_eq!(got, *want, "seed rows in {table}");
    }
    let bad_fks = names(&conn, "SELECT \"table\" FROM pragma_foreign_key_check");
    assert!(bad_fks.is_empty(), "{bad_fks:?}");
    // ids are rowid aliases: inserting without an id works, as Quay's SQLite schema allows.
    conn.execute("INSERT INTO role (name) VALUES ('x')", []).expect("insert");
    assert_eq!(conn.last_insert_rowid(), 4);

    let again = store.migrate().await.expect("again");
    assert_eq!(again.schema, SchemaOutcome::Migrated { applied: vec![] });
}

#[tokio::test]
async fn existing_quay_sqlite_database_is_left_unchanged() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("quay.db");
    {
        // A database as Quay's own tooling leaves it: the schema, no bookkeeping of ours.
        let conn = Connection::open(&path).expect("open");
        let sql = std::fs::read_to_string(quay_tests::repo_path("migrations/sqlite/V1__quay_baseline.sql"))
            .expect("baseline");
        conn.execute_batch(&sql).expect("load");
    }
    let store = Store::open(&Database::Sqlite(path.clone())).await.expect("open");
    let report = store.migrate().await.expect("migrate");
    assert_eq!(report.schema, SchemaOutcome::ExistingQuay { alembic_revision: Some("9fa37f66a9b6".into()) });
    let conn = Connection::open(&path).expect("open");
    let ours = names(&conn, "SELECT name FROM sqlite_master WHERE name = 'refinery_schema_history'");
    assert!(ours.is_empty());
}

#[test]
fn sqlite_baseline_is_the_translation_of_the_postgres_baseline() {
    let out = std::process::Command::new("python3")
        .arg(quay_tests::repo_path("migrations/sqlite/translate.py"))
        .output()
        .expect("python3 runs migrations/sqlite/translate.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read_to_string(quay_tests::repo_path("migrations/sqlite/V1__quay_baseline.sql"))
        .expect("read");
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "migrations/sqlite/V1__quay_baseline.sql is stale: regenerate it with \
         `python3 migrations/sqlite/translate.py > migrations/sqlite/V1__quay_baseline.sql`"
    );
}

/// Same tables, same columns in the same order with the same nullability, same index names and
/// uniqueness on both backends: code written against one runs against the other.
#[tokio::test]
async fn sqlite_and_postgres_schemas_have_the_same_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let (store, path) = migrated(&dir).await;
    store.migrate().await.expect("migrate");
    let conn = Connection::open(&path).expect("open");
    let sqlite_columns = names(
        &conn,
        "SELECT m.name || ' | ' || p.cid || ' | ' || p.name || ' | ' || p.\"notnull\"
           FROM sqlite_master m JOIN pragma_table_info(m.name) p
          WHERE m.type = 'table' AND m.name <> 'refinery_schema_history'",
    );
    let sqlite_indexes = names(
        &conn,
        "SELECT m.name || ' | ' || i.name || ' | ' || i.\"unique\"
           FROM sqlite_master m JOIN pragma_index_list(m.name) i
          WHERE m.type = 'table' AND i.origin = 'c' AND m.name <> 'refinery_schema_history'",
    );

    let pg = quay_tests::TestDb::quay_reference("names").await.expect("pg");
    let client = pg.client().await.expect("c");
    let pg_rows = |sql: &'static str| {
        let client = &client;
        async move {
            client.query(sql, &[]).await.expect(sql).iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>()
        }
    };
    let pg_columns = pg_rows(
        "SELECT table_name || ' | ' || (ordinal_position - 1) || ' | ' || column_name || ' | ' ||
                (CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END)
           FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .await;
    let pg_indexes = pg_rows(
        "SELECT t.relname || ' | ' || i.relname || ' | ' || (CASE WHEN x.indisunique THEN 1 ELSE 0 END)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = 'public' AND NOT x.indisprimary",
    )
    .await;
    pg.drop_db().await.expect("drop");

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let (a, b) = (sorted(sqlite_columns), sorted(pg_columns));
    assert!(a == b, "columns differ: sqlite-only {:?}, pg-only {:?}", only(&a, &b), only(&b, &a));
    let (a, b) = (sorted(sqlite_indexes), sorted(pg_indexes));
    assert!(a == b, "indexes differ: sqlite-only {:?}, pg-only {:?}", only(&a, &b), only(&b, &a));
}

fn only<'a>(a: &'a [String], b: &[String]) -> Vec<&'a String> {
    a.iter().filter(|x| !b.contains(x)).collect()
}

#[tokio::test]
async fn init_user_authenticates_on_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let (store, path) = migrated(&dir).await;
    store.migrate().await.expect("migrate");
    use quay_server::users::{Ensured, ensure_user, verify_login};
    assert_eq!(
        ensure_user(&store, "admin", "s3cret-pass", None, 86_400).await.expect("create"),
        Ensured::Created
    );
    assert!(verify_login(&store, "admin", "s3cret-pass").await.expect("login").is_some());
    assert!(verify_login(&store, "admin", "s3cret-pasS").await.expect("login").is_none());
    assert_eq!(store.first_user().await.expect("first"), Some("admin".into()));

    let conn = Connection::open(&path).expect("open");
    let (hash, org, expiry, created): (String, bool, i64, String) = conn
        .query_row(
            r#"SELECT password_hash, organization, removed_tag_expiration_s, creation_date FROM "user" WHERE username = 'admin'"#,
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("row");
    assert!(bcrypt::verify("s3cret-pass", &hash).expect("bcrypt"));
    assert!(!org);
    assert_eq!(expiry, 86_400);
    // Naive UTC text, the way Python Quay writes DATETIME on SQLite.
    assert_eq!(created.len(), "2026-01-01 00:00:00.000000".len(), "{created}");
}
