//! Local filesystem storage (Quay's `LocalStorage`).

use super::{ByteStream, WriteError, content_path};
use crate::registry::hasher::Hasher;
use anyhow::Context as _;
use futures_util::StreamExt as _;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncSeekExt as _, AsyncWriteExt};

#[derive(Clone, Debug)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Creates the root if needed and proves it is writable.
    pub async fn open(root: PathBuf) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&root)
            .await
            .with_context(|| format!("cannot create storage directory {}", root.display()))?;
        let s = LocalStorage { root };
        s.check().await?;
        Ok(s)
    }

    /// Removes the object at a path relative to the root; a missing object is not an error.
    pub async fn delete(&self, rel: &str) -> anyhow::Result<()> {
        let path = self.root.join(rel);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot delete {}", path.display())),
        }
    }

    /// Quay's local upload path: `uploads/<uuid>`.
    fn upload_path(&self, uuid: &str) -> PathBuf {
        self.root.join("uploads").join(uuid)
    }

    pub async fn upload_begin(&self, uuid: &str) -> anyhow::Result<()> {
        let path = self.upload_path(uuid);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        tokio::fs::File::create(&path).await.with_context(|| format!("cannot create {}", path.display()))?;
        Ok(())
    }

    /// Appends the stream at `offset` (bytes past it from an earlier failed request are
    /// dropped), hashing as it goes; fsyncs before returning the new length.
    pub async fn upload_write(
        &self,
        uuid: &str,
        offset: u64,
        mut body: ByteStream,
        hasher: &mut Hasher,
        max_total: u64,
    ) -> Result<u64, WriteError> {
        let path = self.upload_path(uuid);
        let mut f = tokio::fs::OpenOptions::new().write(true).open(&path).await.map_err(|e| {
            WriteError::Storage(anyhow::anyhow!("cannot open upload {}: {e}", path.display()))
        })?;
        f.set_len(offset).await.map_err(|e| WriteError::Storage(e.into()))?;
        f.seek(std::io::SeekFrom::Start(offset)).await.map_err(|e| WriteError::Storage(e.into()))?;
        let mut total = offset;
        // Request bodies arrive in pieces of a few KiB; each file write is a hop to the blocking
        // pool, so gather 1 MiB per write.
        let mut w = tokio::io::BufWriter::with_capacity(1 << 20, f);
        while let Some(chunk) = body.next().await {
            let chunk = super::accept(chunk, &mut total, max_total, hasher)?;
            w.write_all(&chunk).await.map_err(|e| WriteError::Storage(e.into()))?;
        }
        w.flush().await.map_err(|e| WriteError::Storage(e.into()))?;
        w.into_inner().sync_all().await.map_err(|e| WriteError::Storage(e.into()))?;
        Ok(total)
    }

    /// Moves a finished upload to the content path of `digest` (after the caller verified it)
    /// and fsyncs the directory, so the object is durable before the commit is acknowledged.
    pub async fn upload_commit(&self, uuid: &str, algorithm: &str, hex: &str) -> anyhow::Result<()> {
        let from = self.upload_path(uuid);
        let to = self.root.join(content_path(algorithm, hex));
        let dir = to.parent().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await.with_context(|| format!("cannot create {}", dir.display()))?;
        tokio::fs::rename(&from, &to)
            .await
            .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
        tokio::fs::File::open(&dir).await?.sync_all().await?;
        Ok(())
    }

    pub async fn upload_cancel(&self, uuid: &str) -> anyhow::Result<()> {
        self.delete(&format!("uploads/{uuid}")).await
    }

    /// Size of the stored object at `rel`, `None` when absent.
    pub async fn size(&self, rel: &str) -> anyhow::Result<Option<u64>> {
        if let Some(m) = super::mapped::cached(&self.root.join(rel)) {
            return Ok(Some(m.len()));
        }
        match tokio::fs::metadata(self.root.join(rel)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `len` bytes of the content object at `rel` from `start`: one piece of its memory mapping
    /// (see [`super::mapped`]), or streamed by [`LocalStorage::read`] when it is not mappable.
    pub async fn read_content(&self, rel: &str, start: u64, len: u64) -> anyhow::Result<ByteStream> {
        if let Some(m) = super::mapped::map(self.root.join(rel)).await?
            && start.checked_add(len).is_some_and(|end| end <= m.len())
        {
            let piece = m.slice(start, len);
            return Ok(Box::pin(futures_util::stream::once(async move { Ok(piece) })));
        }
        self.read(rel, start, len).await
    }

    /// `len` bytes of the object at `rel` from `start`, streamed: a blocking reader thread reads
    /// ahead in 4 MiB pieces (one thread hop per piece, not per poll).
    pub async fn read(&self, rel: &str, start: u64, len: u64) -> anyhow::Result<ByteStream> {
        use std::io::{Read as _, Seek as _};
        const PIECE: u64 = 4 << 20;
        let path = self.root.join(rel);
        let mut f = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let mut f = std::fs::File::open(path)?;
            f.seek(std::io::SeekFrom::Start(start))?;
            Ok(f)
        })
        .await??;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(2);
        tokio::task::spawn_blocking(move || {
            let mut left = len;
            while left > 0 {
                let n = usize::try_from(left.min(PIECE)).unwrap_or(1 << 20);
                let mut buf = vec![0u8; n];
                let piece = f.read_exact(&mut buf).map(|()| bytes::Bytes::from(buf));
                let failed = piece.is_err();
                if tx.blocking_send(piece).is_err() || failed {
                    break;
                }
                left -= n as u64;
            }
        });
        Ok(Box::pin(futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
        )))
    }

    pub fn root(&self) -> &PathBuf {
        &self.root
    }

    pub async fn check(&self) -> anyhow::Result<()> {
        let probe = self.root.join(format!(".health-{}", uuid::Uuid::new_v4()));
        let result = async {
            let mut f = tokio::fs::File::create(&probe).await?;
            f.write_all(b"ok").await?;
            f.sync_all().await?;
            drop(f);
            let back = tokio::fs::read(&probe).await?;
            if back != b"ok" {
                return Err(std::io::Error::other("read back different bytes"));
            }
            Ok(())
        }
        .await;
        let _ = tokio::fs::remove_file(&probe).await;
        result.with_context(|| format!("storage directory {} is not writable", self.root.display()))
    }
}
