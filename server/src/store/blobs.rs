//! Blobs: the one-statement pull, lookups, commits under the digest lock (`quay.blob_commit`),
//! storage locations. Core: `quay_core::blobs`. Statements of `sql/store/blobs.sql` run on either
//! backend; every rule-bearing write is a core function (SQLite) or the matching `quay.*` function
//! (PostgreSQL).

use super::locks::DigestLock;
use super::query::{Access, first, int};
use super::{Store, StoreError};
use quay_core::blobs::RepoBlob;
use quay_core::exec::{Value, named};
use quay_core::permissions::{self, RepositoryAccess};

const SQL: &str = include_str!("../../../sql/store/blobs.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

impl Store {
    /// [`Store::repository_access`] and the blob `digest` if the repository may use it, in one
    /// statement (`quay_core::blobs::blob_read`, as `quay.blob_read`).
    pub async fn blob_read(
        &self,
        namespace: &str,
        name: &str,
        user_id: Option<i64>,
        digest: Option<&str>,
    ) -> Result<Option<(RepositoryAccess, Option<RepoBlob>)>, StoreError> {
        let Some(digest) = digest.filter(|d| quay_core::names::is_valid_digest(d)) else {
            return Ok(self.repository_access(namespace, name, user_id).await?.map(|a| (a, None)));
        };
        let mut params = permissions::access_params(namespace, name, user_id);
        params.push(Value::text(digest));
        let sql = quay_core::blobs::blob_read_statement(digest == quay_core::blobs::EMPTY_LAYER_DIGEST);
        let rows = self.rows(sql, params).await?;
        Ok(rows.first().and_then(|r| Some((permissions::access_of(r)?, quay_core::blobs::blob_of(r)))))
    }

    pub async fn blob_lookup(
        &self,
        repository_id: i64,
        digest: &str,
    ) -> Result<Option<RepoBlob>, StoreError> {
        let owned = digest.to_string();
        self.call(
            Access::Read,
            "SELECT storage_id, size_bytes FROM quay.blob_lookup($1, $2)",
            vec![Value::Int(repository_id), Value::text(digest)],
            move |ex| quay_core::blobs::blob_lookup(ex, repository_id, &owned),
            |rows| Some(first(rows, |r| Some(RepoBlob { storage_id: int(r, 0)?, size: int(r, 1) }))),
        )
        .await
    }

    /// Records a stored blob and links it to the repository (`quay.blob_commit`), holding the
    /// digest lock under which the caller placed or found its object.
    pub async fn blob_commit(
        &self,
        lock: &DigestLock,
        repository_id: i64,
        digest: &str,
        size: i64,
        location: &str,
        link_expiration_s: i64,
    ) -> Result<i64, StoreError> {
        let (d, l) = (digest.to_string(), location.to_string());
        self.locked_call(
            lock,
            "SELECT quay.blob_commit($1, $2, $3, $4, $5::integer)",
            vec![
                Value::Int(repository_id),
                Value::text(digest),
                Value::Int(size),
                Value::text(location),
                Value::Int(link_expiration_s),
            ],
            move |ex| quay_core::blobs::blob_commit(ex, repository_id, &d, size, &l, link_expiration_s),
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    /// Whether any storage row names the content object of `digest` (a quick look, no lock).
    pub async fn blob_named(&self, digest: &str) -> Result<bool, StoreError> {
        Ok(!self.rows(sql("checksum_stored"), vec![Value::text(digest)]).await?.is_empty())
    }

    /// Whether any storage row names the content object of `digest` (checked under its lock).
    pub async fn checksum_stored(&self, lock: &DigestLock, digest: &str) -> Result<bool, StoreError> {
        let rows =
            self.locked_rows(lock, Access::Write, sql("checksum_stored"), vec![Value::text(digest)]).await?;
        Ok(!rows.is_empty())
    }

    /// Adds missing `imagestoragelocation` rows for the configured locations (Quay does this at boot).
    pub async fn ensure_storage_locations(&self, names: &[String]) -> Result<(), StoreError> {
        for n in names {
            self.write_rows(sql("location_ensure"), vec![Value::text(n)]).await?;
        }
        Ok(())
    }
}
