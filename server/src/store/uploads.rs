//! Upload sessions (`blobupload`): create, advance with compare-and-swap, finish in one transaction
//! (`quay.upload_finish`), cancel, stale ones. docs/blob-lifecycle.md. Statements of
//! `sql/store/uploads.sql` run on either backend; every rule-bearing write is a core function
//! (SQLite) or the matching `quay.*` function (PostgreSQL).

use super::locks::DigestLock;
use super::query::{first, int, text};
use super::{Store, StoreError};
use quay_core::exec::{Value, named};

const SQL: &str = include_str!("../../../sql/store/uploads.sql");

fn sql(name: &str) -> &'static str {
    named(SQL, name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: i64,
    pub byte_count: i64,
    pub sha_state: Option<String>,
    pub chunk_count: i64,
    /// The storage pieces recorded so far, in order (`storage_metadata` `{"pieces": [...]}`).
    pub pieces: Vec<String>,
}

/// `storage_metadata` of an upload with these pieces.
fn pieces_metadata(pieces: &[String]) -> String {
    serde_json::json!({ "pieces": pieces }).to_string()
}

fn pieces_of(metadata: Option<&str>) -> Vec<String> {
    metadata
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok())
        .and_then(|v| v.get("pieces")?.as_array()?.iter().map(|p| p.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

impl Store {
    /// Ends the upload session `up` (as last seen) and records the verified blob, in one
    /// transaction (`quay.upload_finish`), holding the digest lock under which the caller placed
    /// or found its object. `StoreError::Rule(UploadChanged)` when the session moved on.
    #[allow(clippy::too_many_arguments)] // quay.upload_finish's arguments
    pub async fn upload_finish(
        &self,
        lock: &DigestLock,
        up: &Upload,
        repository_id: i64,
        digest: &str,
        size: i64,
        location: &str,
        link_expiration_s: i64,
    ) -> Result<i64, StoreError> {
        let (id, bytes, chunks) = (up.id, up.byte_count, up.chunk_count);
        let (d, l) = (digest.to_string(), location.to_string());
        self.locked_call(
            lock,
            "SELECT quay.upload_finish($1, $2, $3, $4, $5, $6, $7, $8::integer)",
            vec![
                Value::Int(id),
                Value::Int(repository_id),
                Value::Int(bytes),
                Value::Int(chunks),
                Value::text(digest),
                Value::Int(size),
                Value::text(location),
                Value::Int(link_expiration_s),
            ],
            move |ex| {
                quay_core::blobs::upload_finish(
                    ex,
                    id,
                    repository_id,
                    bytes,
                    chunks,
                    &d,
                    size,
                    &l,
                    link_expiration_s,
                )
            },
            |rows| first(rows, |r| int(r, 0)),
        )
        .await
    }

    pub async fn upload_create(
        &self,
        repository_id: i64,
        uuid: &str,
        sha_state: &str,
        location: &str,
    ) -> Result<i64, StoreError> {
        let rows = self
            .write_rows(
                sql("upload_insert"),
                vec![
                    Value::Int(repository_id),
                    Value::text(uuid),
                    Value::text(sha_state),
                    Value::text(location),
                ],
            )
            .await?;
        first(rows, |r| int(r, 0)).ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!("storage location {location} is not in imagestoragelocation"))
        })
    }

    pub async fn upload(&self, repository_id: i64, uuid: &str) -> Result<Option<Upload>, StoreError> {
        let rows = self.rows(sql("upload_get"), vec![Value::Int(repository_id), Value::text(uuid)]).await?;
        Ok(first(rows, |r| {
            Some(Upload {
                id: int(r, 0)?,
                byte_count: int(r, 1)?,
                sha_state: text(r, 2),
                chunk_count: int(r, 3)?,
                pieces: pieces_of(text(r, 4).as_deref()),
            })
        }))
    }

    /// Records `piece` after the upload as read (`up`): now `to` bytes with the new hash state;
    /// `false` if another request recorded something first (the caller's piece is then unused).
    pub async fn upload_advance(
        &self,
        up: &Upload,
        piece: &str,
        to: i64,
        sha_state: &str,
    ) -> Result<bool, StoreError> {
        let mut pieces = up.pieces.clone();
        pieces.push(piece.to_string());
        let rows = self
            .write_rows(
                sql("upload_advance"),
                vec![
                    Value::Int(up.id),
                    Value::Int(up.byte_count),
                    Value::Int(to),
                    Value::text(sha_state),
                    Value::Int(up.chunk_count),
                    Value::text(pieces_metadata(&pieces)),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Ends the upload if it is still exactly as `up` says; `false` when another request changed
    /// or ended it first. The winner alone owns the upload's pieces from then on.
    pub async fn upload_claim(&self, up: &Upload) -> Result<bool, StoreError> {
        let rows = self
            .write_rows(
                sql("upload_claim"),
                vec![Value::Int(up.id), Value::Int(up.byte_count), Value::Int(up.chunk_count)],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Whether an upload row with this uuid exists (in any repository).
    pub async fn upload_exists(&self, uuid: &str) -> Result<bool, StoreError> {
        Ok(!self.rows(sql("upload_exists"), vec![Value::text(uuid)]).await?.is_empty())
    }

    pub async fn upload_delete(&self, repository_id: i64, uuid: &str) -> Result<bool, StoreError> {
        let rows =
            self.write_rows(sql("upload_delete"), vec![Value::Int(repository_id), Value::text(uuid)]).await?;
        Ok(!rows.is_empty())
    }

    /// At most `limit` uploads older than `max_age_s` seconds: `(id, uuid)`, oldest first.
    pub async fn stale_uploads(&self, max_age_s: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self.rows(sql("uploads_stale"), vec![Value::Int(limit), Value::Int(-max_age_s)]).await?;
        Ok(rows.iter().filter_map(|r| Some((int(r, 0)?, text(r, 1)?))).collect())
    }

    /// Removes an upload row by id; `false` when it was already gone.
    pub async fn upload_delete_by_id(&self, id: i64) -> Result<bool, StoreError> {
        Ok(!self.write_rows(sql("upload_delete_by_id"), vec![Value::Int(id)]).await?.is_empty())
    }
}
