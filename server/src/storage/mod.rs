//! Blob storage behind one interface, with Quay's path layout so an existing Quay storage is read
//! as is: content-addressed blobs at `<storage_path>/sha256/<first two hex>/<hex>`.

pub mod local;

use crate::config::Config;
use anyhow::{Context as _, bail};

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
        let (algorithm, hex) =
            digest.split_once(':').with_context(|| format!("not a content digest: {digest:?}"))?;
        if !quay_core::names::is_valid_digest(digest) {
            bail!("not a content digest: {digest:?}");
        }
        match self {
            BlobStorage::Local(s) => s.delete(&content_path(algorithm, hex)).await,
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
