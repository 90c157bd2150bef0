//! SQLite store (mirror mode): a deadpool pool of rusqlite connections in WAL mode; the
//! registry's invariants run in-process through `quay_core`.

use super::schema::{Found, Plan, check_contract, plan};
use super::{ExtensionStatus, MigrateReport, SchemaOutcome, StoreError};
use deadpool_sqlite::{Config as PoolConfig, Hook, HookError, Pool, Runtime};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};

mod embedded {
    refinery::embed_migrations!("../migrations/sqlite");
}

/// Pragmas for every connection: Quay's own SQLite settings, plus foreign keys enforced and
/// `synchronous = FULL`, so a commit a client saw acknowledged survives a power loss (in WAL mode
/// that costs one fsync of the log per commit; NORMAL may lose the last commits).
const CONNECTION_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA busy_timeout = 10000;
PRAGMA synchronous = FULL;
PRAGMA wal_autocheckpoint = 1000;
PRAGMA foreign_keys = ON;";

#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool,
    path: PathBuf,
    /// Signalled after every core transaction commits: mirror mode's in-process NOTIFY.
    wake: std::sync::Arc<tokio::sync::Notify>,
    /// Connections for point reads run on the calling task (opened on first use).
    readers: std::sync::Arc<std::sync::OnceLock<Readers>>,
    /// Digest locks for content objects (see `store::locks`).
    stripes: super::locks::Stripes,
}

/// A few read-only connections outside the pool: taking one is a `try_lock`, where the pool's
/// checkout runs a recycling query on the blocking pool.
struct Readers(Vec<std::sync::Mutex<Connection>>);

impl Readers {
    const COUNT: usize = 4;

    fn open(path: &Path) -> rusqlite::Result<Self> {
        let mut v = Vec::with_capacity(Self::COUNT);
        for _ in 0..Self::COUNT {
            let c = Connection::open(path)?;
            c.execute_batch(CONNECTION_PRAGMAS)?;
            c.execute_batch("PRAGMA query_only = ON;")?;
            v.push(std::sync::Mutex::new(c));
        }
        Ok(Readers(v))
    }

    /// A free connection, else (all busy for microseconds) wait for one.
    fn take(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        self.0.iter().find_map(|m| m.try_lock().ok()).or_else(|| self.0[0].lock().ok())
    }
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let unreachable =
            |reason: String| StoreError::Unreachable { uri: format!("sqlite:///{}", path.display()), reason };
        let pool = PoolConfig::new(path)
            .builder(Runtime::Tokio1)
            .map_err(|e| unreachable(e.to_string()))?
            .max_size(8)
            .post_create(Hook::async_fn(|conn, _| {
                Box::pin(async move {
                    conn.interact(|c| c.execute_batch(CONNECTION_PRAGMAS))
                        .await
                        .map_err(|e| HookError::message(e.to_string()))?
                        .map_err(|e| HookError::message(e.to_string()))
                })
            }))
            .build()
            .map_err(|e| unreachable(e.to_string()))?;
        let store = SqliteStore {
            pool,
            path: path.to_path_buf(),
            wake: Default::default(),
            readers: Default::default(),
            stripes: super::locks::Stripes::new(path),
        };
        store.ping().await.map_err(|e| unreachable(e.to_string()))?;
        Ok(store)
    }

    fn unreachable(&self, reason: String) -> StoreError {
        StoreError::Unreachable { uri: format!("sqlite:///{}", self.path.display()), reason }
    }

    /// Runs `f` on a pooled connection in the blocking pool.
    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<R> + Send + 'static,
    ) -> Result<R, StoreError> {
        let started = std::time::Instant::now();
        let got = self.pool.get().await;
        crate::metrics::pool_get(started, &got);
        let conn = got.map_err(|e| self.unreachable(e.to_string()))?;
        conn.interact(f)
            .await
            .map_err(|e| anyhow::anyhow!("sqlite task failed: {e}"))?
            .map_err(StoreError::Other)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map(|_| ())?)).await
    }

    pub async fn migrate(&self) -> Result<MigrateReport, StoreError> {
        let path = self.path.clone();
        let schema = self
            .with(move |c| {
                let has = |c: &Connection, t: &str| -> rusqlite::Result<bool> {
                    c.query_row(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                        [t],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|n| n > 0)
                };
                let tables: i64 =
                    c.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))?;
                let found = Found {
                    tables,
                    alembic: has(c, "alembic_version")?,
                    refinery: has(c, "refinery_schema_history")?,
                };
                match plan(&found) {
                    Plan::Migrate { fresh } => {
                        let report = embedded::migrations::runner()
                            .run(c)
                            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
                        let applied = report.applied_migrations().iter().map(|m| m.to_string()).collect();
                        Ok(Some(if fresh {
                            SchemaOutcome::Created { applied }
                        } else {
                            SchemaOutcome::Migrated { applied }
                        }))
                    }
                    Plan::LeaveQuayAlone => {
                        let rev = c
                            .query_row("SELECT version_num FROM alembic_version LIMIT 1", [], |r| r.get(0))
                            .optional()?;
                        Ok(Some(SchemaOutcome::ExistingQuay { alembic_revision: rev }))
                    }
                    Plan::NotQuay => Ok(None),
                }
            })
            .await?
            .ok_or_else(|| StoreError::NotQuay(format!("sqlite:///{}", path.display())))?;
        self.check_contract().await?;
        Ok(MigrateReport { schema, extension: ExtensionStatus::InProcess })
    }

    async fn check_contract(&self) -> Result<(), StoreError> {
        let pairs: Vec<(String, String)> = self
            .with(|c| {
                let mut st = c.prepare(
                    "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
                      WHERE m.type = 'table'",
                )?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        check_contract(&pairs)
    }

    pub async fn check_ready(&self) -> Result<(), StoreError> {
        self.check_contract().await
    }
}

/// `quay_core::exec::Executor` over one rusqlite connection (mirror mode runs the core's
/// functions in-process with this).
pub struct SqliteExecutor<'a> {
    pub conn: &'a Connection,
}

impl quay_core::exec::Executor for SqliteExecutor<'_> {
    fn dialect(&self) -> quay_core::exec::Dialect {
        quay_core::exec::Dialect::Sqlite
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[quay_core::exec::Value],
    ) -> quay_core::exec::CoreResult<Vec<quay_core::exec::Row>> {
        use quay_core::exec::{CoreError, Value};
        use rusqlite::types::{ToSqlOutput, ValueRef};
        let db = |e: rusqlite::Error| CoreError::Database(format!("{e} (in: {})", sql.trim()));
        let mut st = self.conn.prepare_cached(sql).map_err(db)?;
        for (i, p) in params.iter().enumerate() {
            let v: ToSqlOutput = match p {
                Value::Null | Value::NullInt => ToSqlOutput::Owned(rusqlite::types::Value::Null),
                Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
                Value::Int(n) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*n)),
                Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            };
            st.raw_bind_parameter(i + 1, v).map_err(db)?;
        }
        let ncols = st.column_count();
        let mut rows = st.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let mut row = Vec::with_capacity(ncols);
            for i in 0..ncols {
                row.push(match r.get_ref(i).map_err(db)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    ValueRef::Real(f) => Value::Text(f.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Value::Text(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            out.push(row);
        }
        Ok(out)
    }

    fn uuid4(&mut self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

impl SqliteStore {
    pub(crate) fn object_stripes(&self) -> &super::locks::Stripes {
        &self.stripes
    }

    /// Woken after each committed core transaction (workers wait on it instead of LISTEN).
    pub fn wakeups(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Runs read-only statements in autocommit (WAL readers do not block the writer) on the
    /// blocking pool: for reads whose size grows with the data (listing every visible repository).
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn quay_core::exec::Executor) -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        self.with(move |c| Ok(f(&mut SqliteExecutor { conn: c }))).await
    }

    /// As [`SqliteStore::read`], run right here on the calling task: for point lookups (an
    /// index probe on a cached page takes microseconds, less than the two thread hand-offs of
    /// the blocking pool, which dominated every pull). WAL readers never wait for the writer.
    pub async fn read_now<R>(
        &self,
        f: impl FnOnce(&mut dyn quay_core::exec::Executor) -> R,
    ) -> Result<R, StoreError> {
        let readers = match self.readers.get() {
            Some(r) => r,
            None => {
                let opened = Readers::open(&self.path).map_err(|e| self.unreachable(e.to_string()))?;
                self.readers.get_or_init(|| opened)
            }
        };
        let mut conn =
            readers.take().ok_or_else(|| self.unreachable("a reader connection is poisoned".into()))?;
        Ok(f(&mut SqliteExecutor { conn: &mut conn }))
    }

    /// Runs a core function in one write transaction (`BEGIN IMMEDIATE`: SQLite's single writer
    /// is the lock that `FOR UPDATE` / advisory locks are on PostgreSQL).
    pub async fn with_core<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn quay_core::exec::Executor) -> quay_core::exec::CoreResult<R> + Send + 'static,
    ) -> Result<Result<R, quay_core::exec::CoreError>, StoreError> {
        self.core_transaction(f, true).await
    }

    /// As [`SqliteStore::with_core`], without waking the in-process workers: for the workers'
    /// own queue calls (claim, complete, give back), which never add work. Waking there made an
    /// idle worker claim in a loop.
    pub async fn with_core_quiet<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn quay_core::exec::Executor) -> quay_core::exec::CoreResult<R> + Send + 'static,
    ) -> Result<Result<R, quay_core::exec::CoreError>, StoreError> {
        self.core_transaction(f, false).await
    }

    async fn core_transaction<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn quay_core::exec::Executor) -> quay_core::exec::CoreResult<R> + Send + 'static,
        wake_workers: bool,
    ) -> Result<Result<R, quay_core::exec::CoreError>, StoreError> {
        let wake = self.wake.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let result = f(&mut SqliteExecutor { conn: &tx });
            match result {
                Ok(v) => {
                    tx.commit()?;
                    if wake_workers {
                        wake.notify_one();
                    }
                    Ok(Ok(v))
                }
                Err(e) => Ok(Err(e)),
            }
        })
        .await
    }
}

impl SqliteStore {
    /// As [`SqliteStore::with_core`], in a transaction that is always rolled back: what the
    /// step would do, without doing it.
    pub async fn with_core_rolled_back<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn quay_core::exec::Executor) -> quay_core::exec::CoreResult<R> + Send + 'static,
    ) -> Result<Result<R, quay_core::exec::CoreError>, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let result = f(&mut SqliteExecutor { conn: &tx });
            tx.rollback()?;
            Ok(result)
        })
        .await
    }

    /// Connections in use and idle in the pool.
    pub fn pool_status(&self) -> (usize, usize) {
        let st = self.pool.status();
        (st.size.saturating_sub(st.available), st.available)
    }
}
