//! Blob storage behind one interface, with Quay's path layout so an existing Quay storage is read
//! as is: content-addressed blobs at `<storage_path>/sha256/<first two hex>/<hex>`.

pub mod local;
mod mapped;
pub mod s3;

use crate::config::Config;
use crate::registry::hasher::Hasher;
use anyhow::{Context as _, bail};
use bytes::Bytes;
use futures_util::StreamExt as _;
use std::pin::Pin;

/// A body being received or sent.
pub type ByteStream = Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Blob storage cannot be reached or fails on its side (S3 down, 5xx): the request may be
/// retried later (503), and nothing of it was kept.
#[derive(Debug, thiserror::Error)]
#[error("blob storage unavailable: {0}")]
pub struct StorageUnavailable(pub String);

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

    /// Deletes the object of a content digest (`sha256:<hex>`); an absent object is fine. Only
    /// `ops::blobs` calls this, holding the digest lock after checking that no row names it.
    #[tracing::instrument(name = "storage", skip_all, fields(otel.name = "storage delete", otel.kind = "client", storage.operation = "delete"))]
    pub async fn delete_blob(&self, digest: &str) -> anyhow::Result<()> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.delete(&content_path(algorithm, hex)).await,
            BlobStorage::S3(s) => s.delete(&content_path(algorithm, hex)).await,
        }
    }

    /// Writes one request's bytes of upload `uuid` to a piece object of its own (`piece`, named
    /// by [`piece_name`]), feeding `hasher`; `offset` is the upload's length before it. Returns
    /// the new length. Pieces are written once and never shared, so what a request hashed is
    /// exactly what its piece holds, whatever other requests do meanwhile.
    #[tracing::instrument(name = "storage", skip_all, fields(otel.name = "storage write", otel.kind = "client", storage.operation = "write"))]
    pub async fn upload_write(
        &self,
        uuid: &str,
        piece: &str,
        offset: u64,
        body: ByteStream,
        hasher: &mut Hasher,
        max_total: u64,
    ) -> Result<u64, WriteError> {
        match self {
            BlobStorage::Local(s) => s.upload_write(uuid, piece, offset, body, hasher, max_total).await,
            BlobStorage::S3(s) => s.upload_write(uuid, piece, offset, body, hasher, max_total).await,
        }
    }

    /// Removes one piece (a request that lost the race to record it).
    pub async fn upload_discard_piece(&self, uuid: &str, piece: &str) -> anyhow::Result<()> {
        let rel = format!("uploads/{uuid}/{piece}");
        match self {
            BlobStorage::Local(s) => s.delete(&rel).await,
            BlobStorage::S3(s) => s.delete(&rel).await,
        }
    }

    /// Makes the recorded `pieces` of a verified upload (`size` bytes) the content object of
    /// `digest`, unless that object already exists: content objects are written once and never
    /// replaced. The upload's objects stay (the caller removes them with
    /// [`BlobStorage::upload_cancel`] once the session's end is committed). The caller holds the digest lock
    /// (`Store::digest_lock`), so no GC can delete the object between this and its row's commit.
    #[tracing::instrument(name = "storage", skip_all, fields(otel.name = "storage place", otel.kind = "client", storage.operation = "place"))]
    pub async fn upload_place(
        &self,
        uuid: &str,
        pieces: &[String],
        digest: &str,
        size: u64,
    ) -> anyhow::Result<Placed> {
        let (algorithm, hex) = split_digest(digest)?;
        let layout = pieces_layout(pieces, size)?;
        match self {
            BlobStorage::Local(s) => s.upload_place(uuid, &layout, algorithm, hex, size).await,
            BlobStorage::S3(s) => s.upload_place(uuid, &layout, algorithm, hex, size).await,
        }
    }

    /// The first `len` bytes of an upload made of `pieces` (to re-hash it with another algorithm).
    #[tracing::instrument(name = "storage", skip_all, fields(otel.name = "storage read upload", otel.kind = "client", storage.operation = "read upload"))]
    pub async fn upload_read(&self, uuid: &str, pieces: &[String], len: u64) -> anyhow::Result<ByteStream> {
        let layout = pieces_layout(pieces, len)?;
        let me = self.clone();
        let uuid = uuid.to_string();
        let stream = futures_util::stream::iter(layout)
            .then(move |p| {
                let (me, rel) = (me.clone(), format!("uploads/{uuid}/{}", p.name));
                async move {
                    match &me {
                        BlobStorage::Local(s) => s.read(&rel, 0, p.len).await,
                        BlobStorage::S3(s) => s.read(&rel, 0, p.len).await,
                    }
                    .map_err(std::io::Error::other)
                }
            })
            .map(|r| match r {
                Ok(s) => s,
                Err(e) => Box::pin(futures_util::stream::once(async move { Err(e) })) as ByteStream,
            })
            .flatten();
        Ok(Box::pin(stream))
    }

    /// Removes every object of an upload (its pieces, recorded or not).
    pub async fn upload_cancel(&self, uuid: &str) -> anyhow::Result<()> {
        match self {
            BlobStorage::Local(s) => s.upload_cancel(uuid).await,
            BlobStorage::S3(s) => s.upload_cancel(uuid).await,
        }
    }

    /// Upload uuids present in storage (pieces under `uploads/<uuid>/`, or Quay's single
    /// `uploads/<uuid>` file) with their last modification: for the sweep of abandoned uploads.
    pub async fn list_uploads(&self) -> anyhow::Result<Vec<(String, std::time::SystemTime)>> {
        match self {
            BlobStorage::Local(s) => s.list_uploads().await,
            BlobStorage::S3(s) => s.list_uploads().await,
        }
    }

    /// Every content object (`sha256/xx/<hex>`) as `(digest, last modified)`: for the sweep of
    /// objects no storage row names.
    pub async fn list_content(&self) -> anyhow::Result<Vec<(String, std::time::SystemTime)>> {
        match self {
            BlobStorage::Local(s) => s.list_content().await,
            BlobStorage::S3(s) => s.list_content().await,
        }
    }

    /// The directory of local storage (`None` for S3), whose free space `/health/warning` reports.
    pub fn local_root(&self) -> Option<&std::path::Path> {
        match self {
            BlobStorage::Local(s) => Some(s.root()),
            BlobStorage::S3(_) => None,
        }
    }

    /// Size of the stored object of `digest`, `None` when absent.
    #[tracing::instrument(name = "storage", skip_all, fields(otel.name = "storage size", otel.kind = "client", storage.operation = "size"))]
    pub async fn blob_size(&self, digest: &str) -> anyhow::Result<Option<u64>> {
        let (algorithm, hex) = split_digest(digest)?;
        match self {
            BlobStorage::Local(s) => s.size(&content_path(algorithm, hex)).await,
            BlobStorage::S3(s) => s.size(&content_path(algorithm, hex)).await,
        }
    }

    /// `len` bytes of the object of `digest` from `start`.
    #[tracing::instrument(name = "storage", skip_all, fields(otel.name = "storage read", otel.kind = "client", storage.operation = "read"))]
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

/// Whether [`BlobStorage::upload_place`] stored the upload or found the object already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    Stored,
    AlreadyStored,
}

/// A new piece name for bytes starting at `offset`: the zero-padded offset (pieces sort in
/// order) and a random part (two requests at one offset never share a piece).
pub fn piece_name(offset: u64) -> String {
    format!("{offset:020}-{}", uuid::Uuid::new_v4().simple())
}

/// One recorded piece and the bytes it contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PieceSpan {
    pub name: String,
    pub offset: u64,
    pub len: u64,
}

/// The spans of `pieces` (in upload order) forming bytes `0..size`: offsets from their names,
/// each running to the next one's offset. Refuses pieces that do not tile `0..size`.
pub(crate) fn pieces_layout(pieces: &[String], size: u64) -> anyhow::Result<Vec<PieceSpan>> {
    let mut spans = Vec::with_capacity(pieces.len());
    for (i, name) in pieces.iter().enumerate() {
        let offset: u64 = name
            .split_once('-')
            .and_then(|(o, _)| o.parse().ok())
            .with_context(|| format!("upload piece name {name:?} is malformed"))?;
        let end = match pieces.get(i + 1) {
            Some(next) => next.split_once('-').and_then(|(o, _)| o.parse().ok()).unwrap_or(0),
            None => size,
        };
        if end <= offset || (i == 0 && offset != 0) || name.contains('/') {
            bail!("upload pieces {pieces:?} do not form {size} bytes");
        }
        spans.push(PieceSpan { name: name.clone(), offset, len: end - offset });
    }
    if pieces.is_empty() && size != 0 {
        bail!("an upload without pieces cannot hold {size} bytes");
    }
    Ok(spans)
}

/// The digest of a content path relative to the storage root (`sha256/ab/abcd…`), if it is one.
pub(crate) fn digest_of_content_path(rel: &str) -> Option<String> {
    let mut parts = rel.split('/');
    let (algorithm, prefix, hex) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !hex.starts_with(prefix) {
        return None;
    }
    let digest = format!("{algorithm}:{hex}");
    quay_core::names::is_valid_digest(&digest).then_some(digest)
}

/// Quay's content-addressed path for a digest (`content_path`): `sha256/ab/abcdef...`.
pub fn content_path(algorithm: &str, hex: &str) -> String {
    let prefix = hex.get(..2).unwrap_or(hex);
    format!("{algorithm}/{prefix}/{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_tile_the_upload() {
        let p = |o: u64| format!("{o:020}-x{o}");
        let spans = pieces_layout(&[p(0), p(10), p(25)], 30).expect("test step");
        assert_eq!(
            spans.iter().map(|s| (s.offset, s.len)).collect::<Vec<_>>(),
            vec![(0, 10), (10, 15), (25, 5)]
        );
        assert!(pieces_layout(&[p(0), p(10)], 10).is_err(), "a piece of no bytes");
        assert!(pieces_layout(&[p(5)], 10).is_err(), "a first piece not at 0");
        assert!(pieces_layout(&[p(10), p(0)], 20).is_err(), "out of order");
        assert!(pieces_layout(&[], 3).is_err());
        assert!(pieces_layout(&[], 0).expect("test step").is_empty());
        assert!(pieces_layout(&["../x-1".into()], 3).is_err());
    }

    #[test]
    fn content_paths_back_to_digests() {
        let hex = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
        assert_eq!(digest_of_content_path(&format!("sha256/a3/{hex}")), Some(format!("sha256:{hex}")));
        assert_eq!(digest_of_content_path(&format!("sha256/ff/{hex}")), None);
        assert_eq!(digest_of_content_path("sha256/a3/zz"), None);
        assert_eq!(digest_of_content_path("uploads/x/y"), None);
    }

    #[test]
    fn quay_content_path_layout() {
        assert_eq!(
            super::content_path("sha256", "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"),
            "sha256/a3/a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
        );
    }
}
