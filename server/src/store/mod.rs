//! The metadata store: PostgreSQL (with the `quay` extension) or SQLite (mirror mode).
//!
//! Handlers and commands call [`Store`]; they never build SQL. Each backend owns its connection
//! pool and SQL. Dependency direction: `http`/`cli` → `store` → `quay_core`.

pub mod apptokens;
pub mod autoprune;
pub mod blobs;
pub mod credentials;
pub mod inbox;
pub mod instance;
pub mod jobs;
pub mod labels;
pub mod locks;
pub mod logs;
pub mod messages;
pub mod notifications;
pub mod oauth;
pub mod organizations;
pub mod permissions;
pub mod postgres;
pub mod prototypes;
mod query;
pub mod quota;
pub mod repositories;
pub mod robots;
mod schema;
pub mod sqlite;
pub mod tags;
pub mod teams;
pub mod uploads;
pub mod users;
pub mod wakeups;

use crate::config::Database;
use quay_core::schema::Missing;
use std::fmt;

/// What `migrate` did to the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaOutcome {
    /// The database was empty; Quay's schema was created by these migrations.
    Created { applied: Vec<String> },
    /// A database created by us; these pending migrations were applied (possibly none).
    Migrated { applied: Vec<String> },
    /// A database created by Python Quay (Alembic): nothing was created or changed.
    ExistingQuay { alembic_revision: Option<String> },
}

/// State of the `quay` extension after `migrate` (PostgreSQL only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionStatus {
    /// SQLite: the same functions run in-process.
    InProcess,
    /// The server has no `quay.control`: the extension's files are not installed.
    Unavailable,
    Installed {
        version: String,
    },
    Updated {
        from: String,
        to: String,
    },
    Current {
        version: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub schema: SchemaOutcome,
    pub extension: ExtensionStatus,
}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            SchemaOutcome::Created { applied } => {
                writeln!(f, "schema: created Quay's schema ({})", applied.join(", "))?
            }
            SchemaOutcome::Migrated { applied } if applied.is_empty() => writeln!(f, "schema: up to date")?,
            SchemaOutcome::Migrated { applied } => writeln!(f, "schema: applied {}", applied.join(", "))?,
            SchemaOutcome::ExistingQuay { alembic_revision } => writeln!(
                f,
                "schema: existing Quay database (alembic revision {}), left unchanged; every table and column we use is present",
                alembic_revision.as_deref().unwrap_or("unknown")
            )?,
        }
        match &self.extension {
            ExtensionStatus::InProcess => {
                write!(f, "extension: not used on SQLite (functions run in-process)")
            }
            ExtensionStatus::Unavailable => write!(
                f,
                "extension: NOT INSTALLED: the PostgreSQL server has no `quay` extension files; install them \
                 (cargo pgrx install -p quay-pg) and run `quay migrate` again"
            ),
            ExtensionStatus::Installed { version } => write!(f, "extension: created quay {version}"),
            ExtensionStatus::Updated { from, to } => write!(f, "extension: updated quay {from} -> {to}"),
            ExtensionStatus::Current { version } => write!(f, "extension: quay {version} is current"),
        }
    }
}

/// Errors a caller can act on; everything else is `Other`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to database {uri}: {reason}")]
    Unreachable { uri: String, reason: String },
    #[error("the database lacks parts of Quay's schema that this server uses: {}", join_missing(.0))]
    SchemaIncomplete(Vec<Missing>),
    #[error(
        "database {0} is not empty and is not a Quay database (no alembic_version table); refusing to create Quay's schema in it"
    )]
    NotQuay(String),
    #[error("the database has no Quay schema yet: run `quay migrate` first")]
    NotMigrated,
    #[error(
        "the `quay` extension is not installed in this database: install its files (cargo pgrx install -p quay-pg) and run `quay migrate`"
    )]
    ExtensionMissing,
    /// A registry rule refused the operation (`code`: its stable `QUAY_*` rule).
    #[error("{message} ({code})")]
    Rule { code: quay_core::rules::Rule, message: String },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn join_missing(items: &[Missing]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A user row to insert, the way Quay's `create_user` fills it.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub removed_tag_expiration_s: i64,
}

/// A user as authentication needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    pub id: i64,
    pub username: String,
    pub password_hash: Option<String>,
    pub enabled: bool,
    pub organization: bool,
    pub robot: bool,
    /// Wrong passwords in a row (`invalid_login_attempts`).
    pub failed_logins: i64,
    /// Milliseconds since the last wrong password.
    pub since_failed_login_ms: Option<i64>,
}

impl UserCredentials {
    /// `Some(ms)` while Quay's login back-off refuses a password login.
    pub fn login_retry_after_ms(&self) -> Option<i64> {
        quay_core::users::login_retry_after_ms(self.failed_logins, self.since_failed_login_ms)
    }
}

#[derive(Clone)]
pub enum Store {
    Postgres(postgres::PgStore),
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Opens a pool and checks that the database answers.
    pub async fn open(db: &Database) -> Result<Store, StoreError> {
        Ok(match db {
            Database::Postgres(uri) => Store::Postgres(postgres::PgStore::open(uri).await?),
            Database::Sqlite(path) => Store::Sqlite(sqlite::SqliteStore::open(path).await?),
        })
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Postgres(_) => "postgresql",
            Store::Sqlite(_) => "sqlite",
        }
    }

    /// Creates Quay's schema on an empty database, applies our pending migrations to one we
    /// created, leaves a Python Quay database unchanged; then checks the schema contract and
    /// installs or updates the `quay` extension where its files exist.
    pub async fn migrate(&self) -> Result<MigrateReport, StoreError> {
        match self {
            Store::Postgres(s) => s.migrate().await,
            Store::Sqlite(s) => s.migrate().await,
        }
    }

    /// Verifies that the schema has what we use, and (PostgreSQL) that the extension is installed.
    pub async fn check_ready(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(s) => s.check_ready().await,
            Store::Sqlite(s) => s.check_ready().await,
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(s) => s.ping().await,
            Store::Sqlite(s) => s.ping().await,
        }
    }
}

/// Naive UTC "now" as Quay writes it (`YYYY-MM-DD HH:MM:SS.ffffff`).
pub(crate) fn utc_now_naive() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
    );
    now.format(&fmt).unwrap_or_else(|_| "1970-01-01 00:00:00.000000".into())
}
