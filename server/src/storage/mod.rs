//! Blob storage behind one interface, with Quay's path layout so an existing Quay storage is read
//! as is: content-addressed blobs at `<storage_path>/sha256/<first two hex>/<hex>`.

pub mod local;
mod mapped;
pub mod s3;

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

/// One received piece of an upload: counted against `max_total` and hashed.
pub(crate) fn accept(
    chunk: Result<Bytes, std::io::Error>,
    total: &mut u64,
    max_total: u64,
    hasher: &mut Hasher,
) -> Result<Bytes, WriteError> {
    let chunk = chunk.map_err(WriteError::Client)?;
    *total += chunk.len() as u64;
    if *total > max_total {
        return Err(WriteError::TooLarge);
    }
    hasher.update(&chunk);
    Ok(chunk)
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
    S3(s3::S3Storage),
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
            "S3Storage" => {
                let bucket = entry
                    .param_str("s3_bucket")
                    .with_context(|| format!("DISTRIBUTED_STORAGE_CONFIG.{name}: s3_bucket is required"))?;
                let endpoint = entry.param_text("endpoint_url").or_else(|| {
                    let host = entry.param_text("host")?;
                    let port = entry.param_text("port");
                    let scheme = if host.starts_with("http://") || host.starts_with("https://") {
                        ""
                    } else {
                        "https://"
                    };
                    Some(match port {
                        Some(p) => format!("{scheme}{host}:{p}"),
                        None => format!("{scheme}{host}"),
                    })
                });
                let s = s3::S3Storage::new(s3::S3Params {
                    bucket: bucket.to_string(),
                    storage_path: entry.param_text("storage_path").unwrap_or_default(),
                    access_key: entry.param_text("s3_access_key"),
                    secret_key: entry.param_text("s3_secret_key"),
                    region: entry.param_text("s3_region"),
                    endpoint,
                    // Our parameter; Quay always redirects cloud downloads.
                    redirect: entry.param_text("direct_download").is_none_or(|v| v != "false"),
                });
                Ok(BlobStorage::S3(s))
            }
            other => bail!("storage driver {other} (location {name}) is not supported by this server yet"),
        }
    }

    /// Deletes the object of a content digest (`sha256:<hex>`); an absent object is fine.
    pub async fn delete_blob(&self, digest: &str) -> anyhow::Result<()> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.delete(&content_path(algorithm, hex)).await,
            BlobStorage::S3(s) => s.delete(&content_path(algorithm, hex)).await,
        }
    }

    /// Starts an upload session's object.
    pub async fn upload_begin(&self, uuid: &str) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.upload_begin(uuid).await,
            // Chunks are objects of their own; nothing to create up front.
            BlobStorage::S3(_) => Ok(()),
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
            BlobStorage::S3(s) => s.upload_write(uuid, offset, body, hasher, max_total).await,
        }
    }

    /// Makes a verified upload of `size` bytes the stored object of `digest`.
    pub async fn upload_commit(&self, uuid: &str, digest: &str, size: u64) -> anyhow::Result<()> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.upload_commit(uuid, algorithm, hex).await,
            BlobStorage::S3(s) => s.upload_commit(uuid, algorithm, hex, size).await,
        }
    }

    /// The first `len` bytes of an upload (to re-hash it with another algorithm).
    pub async fn upload_read(&self, uuid: &str, len: u64) -> anyhow::Result<ByteStream> {
        match self {
            BlobStorage::Local(s) => s.read(&format!("uploads/{uuid}"), 0, len).await,
            BlobStorage::S3(s) => s.upload_read(uuid, len).await,
        }
    }

    pub async fn upload_cancel(&self, uuid: &str) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.upload_cancel(uuid).await,
            BlobStorage::S3(s) => s.upload_cancel(uuid).await,
        }
    }

    /// Size of the stored object of `digest`, `None` when absent.
    pub async fn blob_size(&self, digest: &str) -> anyhow::Result<Option<u64>> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.size(&content_path(algorithm, hex)).await,
            BlobStorage::S3(s) => s.size(&content_path(algorithm, hex)).await,
        }
    }

    /// `len` bytes of the object of `digest` from `start`.
    pub async fn blob_read(&self, digest: &str, start: u64, len: u64) -> anyhow::Result<ByteStream> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.read_content(&content_path(algorithm, hex), start, len).await,
            BlobStorage::S3(s) => s.read(&content_path(algorithm, hex), start, len).await,
        }
    }

    /// A URL the client may fetch the blob from directly (a presigned S3 GET), if the storage
    /// offers one: blob GETs answer 302 to it, as Quay does for cloud storage.
    pub async fn direct_url(&self, digest: &str) -> anyhow::Result<Option<String>> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(_) => Ok(None),
            BlobStorage::S3(s) => s.direct_url(&content_path(algorithm, hex)).await,
        }
    }

    /// Writes, reads back and deletes a small object: the storage health check.
    pub async fn check(&self) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.check().await,
            BlobStorage::S3(s) => s.check().await,
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
