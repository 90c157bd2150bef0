//! Queue and cascade calls the workers make. PostgreSQL: the `quay` extension's functions.
//! SQLite: the same core functions in-process, after which in-process workers are woken.

use super::postgres::pg_error_text;
use super::{Store, StoreError};
use quay_core::exec::Value;
use quay_core::gc::FreedBlob;
use quay_core::queue::QueueItem;

fn core_err(e: quay_core::exec::CoreError) -> StoreError {
    StoreError::Other(anyhow::anyhow!(e.to_string()))
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::Other(anyhow::anyhow!(pg_error_text(&e)))
}

fn freed_rows(rows: Vec<tokio_postgres::Row>) -> Vec<FreedBlob> {
    rows.iter().map(|r| FreedBlob { storage_id: r.get(0), content_checksum: r.get(1) }).collect()
}

impl Store {
    /// Claims one item whose queue name starts with `prefix`, leased for `processing_s`.
    pub async fn queue_claim(
        &self,
        prefix: &str,
        processing_s: i32,
    ) -> Result<Option<QueueItem>, StoreError> {
        match self {
            Store::Postgres(_) => {
                // The claimed row as the claim wrote it (the same columns as the core's claim).
                let rows = self
                    .statement(
                        super::query::Access::Write,
                        "SELECT id::bigint, queue_name, body, {ts:available_after}, available,
                                {ts:processing_expires}, retries_remaining::bigint, state_id
                           FROM quay.queue_claim($1, $2::integer)",
                        vec![Value::text(prefix), Value::Int(processing_s.into())],
                    )
                    .await?;
                rows.into_iter().next().map(quay_core::queue::item).transpose().map_err(core_err)
            }
            Store::Sqlite(s) => {
                let prefix = prefix.to_string();
                s.with_core_quiet(move |ex| quay_core::queue::claim(ex, &prefix, processing_s.into(), false))
                    .await?
                    .map_err(core_err)
            }
        }
    }

    pub async fn queue_complete(&self, id: i64) -> Result<bool, StoreError> {
        match self {
            Store::Postgres(s) => {
                let c = s.client().await?;
                Ok(c.query_one("SELECT quay.queue_complete($1)", &[&id]).await.map_err(pg)?.get(0))
            }
            Store::Sqlite(s) => {
                s.with_core_quiet(move |ex| quay_core::queue::complete(ex, id)).await?.map_err(core_err)
            }
        }
    }

    /// Gives a job back, available again after `retry_after_s`.
    pub async fn queue_incomplete(&self, id: i64, retry_after_s: i32) -> Result<bool, StoreError> {
        match self {
            Store::Postgres(s) => {
                let c = s.client().await?;
                Ok(c.query_one("SELECT quay.queue_incomplete($1, $2)", &[&id, &retry_after_s])
                    .await
                    .map_err(pg)?
                    .get(0))
            }
            Store::Sqlite(s) => s
                .with_core_quiet(move |ex| quay_core::queue::incomplete(ex, id, retry_after_s.into(), false))
                .await?
                .map_err(core_err),
        }
    }

    /// One of the cascade functions that return freed blobs: `repository_purge`,
    /// `namespace_purge` or `gc_repository`.
    pub async fn cascade(&self, kind: Cascade, id: i64) -> Result<Vec<FreedBlob>, StoreError> {
        match self {
            Store::Postgres(s) => {
                let c = s.client().await?;
                let sql = match kind {
                    Cascade::RepositoryPurge => "SELECT * FROM quay.repository_purge($1)",
                    Cascade::NamespacePurge => "SELECT * FROM quay.namespace_purge($1)",
                    Cascade::RepositoryGc => "SELECT * FROM quay.gc_repository($1)",
                };
                Ok(freed_rows(c.query(sql, &[&id]).await.map_err(pg)?))
            }
            Store::Sqlite(s) => s
                .with_core(move |ex| match kind {
                    Cascade::RepositoryPurge => quay_core::gc::repository_purge(ex, id),
                    Cascade::NamespacePurge => quay_core::gc::namespace_purge(ex, id),
                    Cascade::RepositoryGc => quay_core::gc::gc_repository(ex, id),
                })
                .await?
                .map_err(core_err),
        }
    }

    /// What [`Store::cascade`] would free, without keeping anything: the same call in a
    /// transaction that is rolled back (`quay gc --dry-run`).
    pub async fn cascade_preview(&self, kind: Cascade, id: i64) -> Result<Vec<FreedBlob>, StoreError> {
        match self {
            Store::Postgres(s) => {
                let mut c = s.client().await?;
                let tx = c.transaction().await.map_err(pg)?;
                let sql = match kind {
                    Cascade::RepositoryPurge => "SELECT * FROM quay.repository_purge($1)",
                    Cascade::NamespacePurge => "SELECT * FROM quay.namespace_purge($1)",
                    Cascade::RepositoryGc => "SELECT * FROM quay.gc_repository($1)",
                };
                let rows = tx.query(sql, &[&id]).await.map_err(pg)?;
                tx.rollback().await.map_err(pg)?;
                Ok(freed_rows(rows))
            }
            Store::Sqlite(s) => s
                .with_core_rolled_back(move |ex| match kind {
                    Cascade::RepositoryPurge => quay_core::gc::repository_purge(ex, id),
                    Cascade::NamespacePurge => quay_core::gc::namespace_purge(ex, id),
                    Cascade::RepositoryGc => quay_core::gc::gc_repository(ex, id),
                })
                .await?
                .map_err(core_err),
        }
    }

    /// Repositories routine GC has work in.
    pub async fn repositories_with_garbage(&self, limit: i32) -> Result<Vec<i64>, StoreError> {
        match self {
            Store::Postgres(s) => {
                let c = s.client().await?;
                let rows =
                    c.query("SELECT quay.repositories_with_garbage($1)", &[&limit]).await.map_err(pg)?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            }
            Store::Sqlite(s) => s
                .with_core_quiet(move |ex| quay_core::gc::repositories_with_garbage(ex, limit.into()))
                .await?
                .map_err(core_err),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cascade {
    RepositoryPurge,
    NamespacePurge,
    RepositoryGc,
}

impl Store {
    /// Records a periodic job's run where a DBA sees it (`quay.periodic_jobs`, PostgreSQL);
    /// mirror mode keeps nothing (its one process logs each run).
    pub async fn periodic_job_ran(
        &self,
        job: &str,
        status: &str,
        duration_ms: i64,
    ) -> Result<(), StoreError> {
        match self {
            Store::Postgres(_) => {
                self.statement(
                    super::query::Access::Write,
                    "SELECT quay.periodic_job_ran($1, $2, $3)::text",
                    vec![
                        quay_core::exec::Value::text(job),
                        quay_core::exec::Value::text(status),
                        quay_core::exec::Value::Int(duration_ms),
                    ],
                )
                .await?;
                Ok(())
            }
            Store::Sqlite(_) => Ok(()),
        }
    }
}
