//! Blob storage behind one interface, with Quay's path layout so an existing Quay storage is read
//! as is: content-addressed blobs at `<storage_path>/sha256/<first two hex>/<hex>`.

pub mod local;

use crate::config::Config;
use crate::registry::hasher::Hasher;
use anyhow::{Context as _, bail};
use bytes::Bytes;
use std::pin::Pin;

/// A body being received or sent.
pub type ByteStream = Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Why an upload write stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the upload exceeds the maximum layer size")]
    TooLarge,
    #[error("the client stopped sending: {0}")]
    Client(std::io::Error),
    #[error(transparent)]
    Storage(anyhow::Error),
}

fn split_digest(digest: &str) -> anyhow::Result<(&str, &str)> {
    if !quay_core::names::is_valid_digest(digest) {
        bail!("not a content digest: {digest:?}");
    }
    digest.split_once(':').with_context(|| format!("not a content digest: {digest:?}"))
}

#[derive(Clone)]
pub enum BlobStorage {
    Local(local::LocalStorage),
}

impl BlobStorage {
    /// Opens the preferred location of `DISTRIBUTED_STORAGE_CONFIG`.
    pub async fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        let Some((name, entry)) = cfg.primary_storage() else {
            bail!("DISTRIBUTED_STORAGE_PREFERENCE names no configured storage location");
        };
        match entry.driver() {
            "LocalStorage" => {
                let path = entry.param_str("storage_path").with_context(|| {
                    format!("DISTRIBUTED_STORAGE_CONFIG.{name}: storage_path is required")
                })?;
                Ok(BlobStorage::Local(local::LocalStorage::open(path.into()).await?))
            }
            other => bail!("storage driver {other} (location {name}) is not supported by this server yet"),
        }
    }

    /// Deletes the object of a content digest (`sha256:<hex>`); an absent object is fine.
    pub async fn delete_blob(&self, digest: &str) -> anyhow::Result<()> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.delete(&content_path(algorithm, hex)).await,
        }
    }

    /// Starts an upload session's object.
    pub async fn upload_begin(&self, uuid: &str) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.upload_begin(uuid).await,
        }
    }

    /// Writes `body` at `offset` of the upload, feeding `hasher`; returns the new length.
    pub async fn upload_write(
        &self,
        uuid: &str,
        offset: u64,
        body: ByteStream,
        hasher: &mut Hasher,
        max_total: u64,
    ) -> Result<u64, WriteError> {
        match self {
            BlobStorage::Local(s) => s.upload_write(uuid, offset, body, hasher, max_total).await,
        }
    }

    /// Makes a verified upload the stored object of `digest`.
    pub async fn upload_commit(&self, uuid: &str, digest: &str) -> anyhow::Result<()> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.upload_commit(uuid, algorithm, hex).await,
        }
    }

    /// The first `len` bytes of an upload (to re-hash it with another algorithm).
    pub async fn upload_read(&self, uuid: &str, len: u64) -> anyhow::Result<ByteStream> {
        match self {
            BlobStorage::Local(s) => s.read(&format!("uploads/{uuid}"), 0, len).await,
        }
    }

    pub async fn upload_cancel(&self, uuid: &str) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.upload_cancel(uuid).await,
        }
    }

    /// Size of the stored object of `digest`, `None` when absent.
    pub async fn blob_size(&self, digest: &str) -> anyhow::Result<Option<u64>> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.size(&content_path(algorithm, hex)).await,
        }
    }

    /// `len` bytes of the object of `digest` from `start`.
    pub async fn blob_read(&self, digest: &str, start: u64, len: u64) -> anyhow::Result<ByteStream> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.read(&content_path(algorithm, hex), start, len).await,
        }
    }

    /// Writes, reads back and deletes a small object: the storage health check.
    pub async fn check(&self) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.check().await,
        }
    }
}

/// Quay's content-addressed path for a digest (`content_path`): `sha256/ab/abcdef...`.
pub fn content_path(algorithm: &str, hex: &str) -> String {
    let prefix = hex.get(..2).unwrap_or(hex);
    format!("{algorithm}/{prefix}/{hex}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quay_content_path_layout() {
        assert_eq!(
            super::content_path("sha256", "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"),
            "sha256/a3/a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
        );
    }
}
