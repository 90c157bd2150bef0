//! Accounts and their action logs (quay_core::users / quay.user_*), the same on PostgreSQL and
//! SQLite: the refusals by stable code, and a log that cannot be written taking its action down
//! with it (one transaction).

use quay_core::logs::LogEntry;
use quay_core::rules::Rule;
use quay_server::config::{Database, DbUri};
use quay_server::store::{Store, StoreError};
use quay_tests::TestDb;
use serde_json::json;

async fn stores() -> (TestDb, tempfile::TempDir, Vec<Store>) {
    let db = TestDb::with_extension("accounts").await.expect("db");
    let pg = Store::open(&Database::Postgres(DbUri::new(db.url.clone()))).await.expect("pg store");
    let dir = tempfile::tempdir().expect("tmp");
    let sqlite = Store::open(&Database::Sqlite(dir.path().join("quay.db"))).await.expect("sqlite store");
    sqlite.migrate().await.expect("migrate");
    (db, dir, vec![pg, sqlite])
}

fn rule(r: Result<impl std::fmt::Debug, StoreError>) -> String {
    match r {
        Err(StoreError::Rule { code, .. }) => code.as_str().to_string(),
        other => format!("{other:?}"),
    }
}

const LOG_COUNT: &str =
    "SELECT count(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'user_create'";

/// Action logs of kind `user_create`, read with each backend's own client.
async fn log_count(db: &TestDb, sqlite: &std::path::Path, s: &Store) -> i64 {
    if s.backend() == "postgresql" {
        db.client().await.expect("c").query_one(LOG_COUNT, &[]).await.expect("count").get(0)
    } else {
        let c = rusqlite::Connection::open(sqlite).expect("open");
        c.query_row(LOG_COUNT, [], |r| r.get(0)).expect("count")
    }
}

#[tokio::test]
async fn account_rules_and_logs_are_the_same_on_postgres_and_sqlite() {
    let (db, dir, stores) = stores().await;
    let sqlite_path = dir.path().join("quay.db");
    for s in &stores {
        let backend = s.backend();
        // The first user, with a token; a second initialize is refused.
        let (first, token) = s
            .initialize_first_user(
                "root",
                "root@example.com",
                "$2b$04$hash",
                1_209_600,
                Some(("A".repeat(20), "$2b$04$code".into(), "super:user".into())),
            )
            .await
            .expect("initialize");
        assert!(token.is_some(), "{backend}");
        let again =
            s.initialize_first_user("root2", "root2@example.com", "$2b$04$hash", 1_209_600, None).await;
        assert_eq!(rule(again), Rule::DatabaseNotEmpty.as_str(), "{backend}");

        let mut log = LogEntry::new("user_create", json!({"username": "alice"}));
        log.performer_id = Some(first);
        let alice = s
            .person_create("alice", "alice@example.com", None, 1_209_600, Some(log.clone()))
            .await
            .expect("create");
        assert_eq!(log_count(&db, &sqlite_path, s).await, 1, "{backend}");
        // Taken name, taken e-mail, invalid name: refused by code, nothing written.
        let r = s.person_create("alice", "other@example.com", None, 1_209_600, Some(log.clone())).await;
        assert_eq!(rule(r), Rule::NamespaceExists.as_str(), "{backend}");
        let r = s.person_create("alice2", "alice@example.com", None, 1_209_600, Some(log.clone())).await;
        assert_eq!(rule(r), Rule::EmailTaken.as_str(), "{backend}");
        let r = s.person_create("Bad Name", "bad@example.com", None, 1_209_600, None).await;
        assert_eq!(rule(r), Rule::NameInvalid.as_str(), "{backend}");
        // A log of an unknown kind refuses the whole call: no user either.
        let bad_log = LogEntry::new("no_such_kind", json!({}));
        let r = s.person_create("bob", "bob@example.com", None, 1_209_600, Some(bad_log.clone())).await;
        assert_eq!(rule(r), Rule::InvalidArgument.as_str(), "{backend}");
        assert!(s.account_by_name("bob").await.expect("read").is_none(), "{backend}: rolled back");
        assert_eq!(log_count(&db, &sqlite_path, s).await, 1, "{backend}");
        let r = s.person_set_password(alice, "$2b$04$new", Some(bad_log)).await;
        assert_eq!(rule(r), Rule::InvalidArgument.as_str(), "{backend}");
        assert!(!s.account_by_name("alice").await.expect("read").expect("alice").has_password, "{backend}");
        // Passwords of people only.
        s.person_set_password(alice, "$2b$04$new", None).await.expect("set");
        assert!(s.account_by_name("alice").await.expect("read").expect("alice").has_password, "{backend}");
        let r = s.person_set_password(999_999, "$2b$04$new", None).await;
        assert_eq!(rule(r), Rule::UserUnknown.as_str(), "{backend}");
    }
    db.drop_db().await.expect("drop");
}
