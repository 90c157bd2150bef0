//! The digest lock: held while a content object is placed, checked or removed together with its
//! storage rows, so a blob's object lives exactly as long as some `imagestorage` row names it
//! (see `ops::blobs`). The key is the one `quay.blob_commit` and GC take inside their
//! transactions (`quay_core::blobs::digest_lock_key`).
//!
//! - PostgreSQL: a session advisory lock on a pooled connection, which also runs the statements
//!   made under the lock (one connection per holder: holders never wait for a second one).
//!   Advisory locks are re-entrant per session, so `quay.blob_commit` on that connection passes.
//!   A lock dropped without [`DigestLock::release`] closes its connection, which releases it.
//! - SQLite: the single writer already orders the rows; objects are ordered by a lock file per
//!   digest stripe next to the database (so a separate `quay worker` process shares it), behind
//!   an in-process mutex per stripe (one blocked thread per stripe at most).

use super::query::{Access, pg_statement};
use super::{Store, StoreError};
use quay_core::exec::{CoreResult, Executor, Row, Value};
use std::sync::Arc;

const STRIPES: usize = 64;

pub struct DigestLock {
    inner: Inner,
}

// One lock per request in flight: the size of a pooled connection handle is no concern.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Pg { client: Option<deadpool_postgres::Object>, key: String },
    Sqlite { _stripe: tokio::sync::OwnedMutexGuard<()>, _file: std::fs::File },
}

/// In-process stripes of the SQLite store's object locks, and the directory of their files.
#[derive(Clone)]
pub(crate) struct Stripes {
    mutexes: Arc<Vec<Arc<tokio::sync::Mutex<()>>>>,
    dir: std::path::PathBuf,
}

impl Stripes {
    pub(crate) fn new(db_path: &std::path::Path) -> Self {
        Stripes {
            mutexes: Arc::new((0..STRIPES).map(|_| Arc::default()).collect()),
            dir: std::path::PathBuf::from(format!("{}-locks", db_path.display())),
        }
    }

    async fn lock(&self, digest: &str) -> anyhow::Result<DigestLock> {
        let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
        let stripe =
            usize::from(hex.get(..2).and_then(|p| u8::from_str_radix(p, 16).ok()).unwrap_or(0)) % STRIPES;
        let guard = self.mutexes[stripe].clone().lock_owned().await;
        let path = self.dir.join(format!("{stripe:02}"));
        let dir = self.dir.clone();
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            std::fs::create_dir_all(&dir)?;
            let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
            f.lock()?;
            Ok(f)
        })
        .await??;
        Ok(DigestLock { inner: Inner::Sqlite { _stripe: guard, _file: file } })
    }
}

impl Store {
    /// Waits for the digest lock of `digest`.
    pub async fn digest_lock(&self, digest: &str) -> Result<DigestLock, StoreError> {
        let key = quay_core::blobs::digest_lock_key(digest);
        match self {
            Store::Postgres(s) => {
                let client = s.client().await?;
                pg_statement(
                    &client,
                    "SELECT pg_advisory_lock(hashtextextended($1, 0))::text",
                    &[Value::text(&key)],
                )
                .await?;
                Ok(DigestLock { inner: Inner::Pg { client: Some(client), key } })
            }
            Store::Sqlite(s) => Ok(s.object_stripes().lock(digest).await?),
        }
    }

    /// Runs a statement while holding `lock` (PostgreSQL: on the lock's connection).
    pub(crate) async fn locked_rows(
        &self,
        lock: &DigestLock,
        access: Access,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        match &lock.inner {
            Inner::Pg { client: Some(c), .. } => {
                let sql = self.dialect().render_cached(sql);
                pg_statement(c, &sql, &params).await
            }
            _ => self.statement(access, sql, params).await,
        }
    }

    /// A core function that writes, while holding `lock`: on PostgreSQL the `quay.*` call
    /// `pg_sql` on the lock's connection, on SQLite `core` in one write transaction (as
    /// [`Store::call`]).
    pub(crate) async fn locked_call<R: Send + 'static>(
        &self,
        lock: &DigestLock,
        pg_sql: &str,
        params: Vec<Value>,
        core: impl FnOnce(&mut dyn Executor) -> CoreResult<R> + Send + 'static,
        from_rows: impl FnOnce(Vec<Row>) -> Option<R>,
    ) -> Result<R, StoreError> {
        match self {
            Store::Postgres(_) => {
                let rows = self.locked_rows(lock, Access::Write, pg_sql, params).await?;
                from_rows(rows)
                    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("{pg_sql}: unexpected result")))
            }
            Store::Sqlite(_) => self.call(Access::Write, pg_sql, params, core, from_rows).await,
        }
    }
}

impl DigestLock {
    /// Releases the lock (PostgreSQL: and returns its connection to the pool).
    pub async fn release(mut self) {
        if let Inner::Pg { client, key } = &mut self.inner
            && let Some(c) = client.take()
        {
            let unlocked =
                pg_statement(&c, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", &[Value::text(&*key)])
                    .await;
            if unlocked.is_err() {
                // Unknown state: never hand a connection that may hold the lock back to the pool.
                drop(deadpool_postgres::Object::take(c));
            }
        }
    }
}

impl Drop for DigestLock {
    fn drop(&mut self) {
        if let Inner::Pg { client, .. } = &mut self.inner
            && let Some(c) = client.take()
        {
            // Closing the session releases its advisory locks.
            drop(deadpool_postgres::Object::take(c));
        }
    }
}
