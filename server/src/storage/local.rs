//! Local filesystem storage (Quay's `LocalStorage`).

use super::{ByteStream, PieceSpan, Placed, WriteError, content_path};
use crate::registry::hasher::Hasher;
use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::io::AsyncWriteExt;

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

    /// An upload's directory of pieces: `uploads/<uuid>/` (Quay itself wrote one file,
    /// `uploads/<uuid>`; the sweep and cancel remove either).
    fn upload_dir(&self, uuid: &str) -> PathBuf {
        self.root.join("uploads").join(uuid)
    }

    /// Writes the stream to a new piece file (never an existing one), hashing as it goes;
    /// fsyncs before returning the upload's new length.
    pub async fn upload_write(
        &self,
        uuid: &str,
        piece: &str,
        offset: u64,
        mut body: ByteStream,
        hasher: &mut Hasher,
        max_total: u64,
    ) -> Result<u64, WriteError> {
        let storage = |e: std::io::Error| WriteError::Storage(e.into());
        let dir = self.upload_dir(uuid);
        tokio::fs::create_dir_all(&dir).await.map_err(storage)?;
        let path = dir.join(piece);
        let f =
            tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await.map_err(|e| {
                WriteError::Storage(anyhow::anyhow!("cannot create upload piece {}: {e}", path.display()))
            })?;
        let mut total = offset;
        // Request bodies arrive in pieces of a few KiB; each file write is a hop to the blocking
        // pool, so gather 1 MiB per write.
        let mut w = tokio::io::BufWriter::with_capacity(1 << 20, f);
        let result: Result<(), WriteError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = super::accept(chunk, &mut total, max_total, hasher)?;
                w.write_all(&chunk).await.map_err(storage)?;
            }
            w.flush().await.map_err(storage)?;
            w.get_mut().sync_all().await.map_err(storage)
        }
        .await;
        if result.is_err() {
            drop(w);
            let _ = tokio::fs::remove_file(&path).await;
        }
        result.map(|()| total)
    }

    /// Links the upload's bytes to the content path of `algorithm:hex` unless an object is
    /// already there (a hard link never replaces, unlike a rename), fsyncs the directory, then
    /// removes the upload. One piece is linked as is; several are first joined into one file.
    pub(crate) async fn upload_place(
        &self,
        uuid: &str,
        pieces: &[PieceSpan],
        algorithm: &str,
        hex: &str,
        size: u64,
    ) -> anyhow::Result<Placed> {
        let dir = self.upload_dir(uuid);
        let to = self.root.join(content_path(algorithm, hex));
        let pieces: Vec<(PathBuf, u64)> = pieces.iter().map(|p| (dir.join(&p.name), p.len)).collect();
        let placed = tokio::task::spawn_blocking(move || -> anyhow::Result<Placed> {
            if std::fs::symlink_metadata(&to).is_ok() {
                return Ok(Placed::AlreadyStored);
            }
            for (path, len) in &pieces {
                let have =
                    std::fs::metadata(path).with_context(|| format!("upload piece {}", path.display()))?;
                if have.len() != *len {
                    bail!("upload piece {} holds {} bytes, {len} were recorded", path.display(), have.len());
                }
            }
            let source = match pieces.as_slice() {
                [(one, _)] => one.clone(),
                many => {
                    std::fs::create_dir_all(&dir)?;
                    let joined = dir.join(format!("joined-{}", uuid::Uuid::new_v4().simple()));
                    let mut out = std::fs::File::create_new(&joined)?;
                    for (path, _) in many {
                        std::io::copy(&mut std::fs::File::open(path)?, &mut out)?;
                    }
                    out.sync_all()?;
                    if out.metadata()?.len() != size {
                        bail!("joined upload holds {} bytes, not {size}", out.metadata()?.len());
                    }
                    joined
                }
            };
            let parent = to.parent().map(Path::to_path_buf).context("content path has no parent")?;
            std::fs::create_dir_all(&parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
            let placed = match std::fs::hard_link(&source, &to) {
                Ok(()) => Placed::Stored,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Placed::AlreadyStored,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot link {} to {}", source.display(), to.display()));
                }
            };
            std::fs::File::open(&parent)?.sync_all()?;
            Ok(placed)
        })
        .await??;
        Ok(placed)
    }

    pub async fn upload_cancel(&self, uuid: &str) -> anyhow::Result<()> {
        let path = self.upload_dir(uuid);
        let result = match tokio::fs::symlink_metadata(&path).await {
            Ok(m) if m.is_dir() => tokio::fs::remove_dir_all(&path).await,
            Ok(_) => tokio::fs::remove_file(&path).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }

    pub async fn list_uploads(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let dir = self.root.join("uploads");
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
                Err(e) => return Err(e.into()),
            };
            for e in entries {
                let e = e?;
                let Ok(name) = e.file_name().into_string() else { continue };
                let Ok(meta) = e.metadata() else { continue };
                found.push((name, meta.modified()?));
            }
            Ok(found)
        })
        .await?
    }

    pub async fn list_content(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for algorithm in ["sha256", "sha512"] {
                let Ok(prefixes) = std::fs::read_dir(root.join(algorithm)) else { continue };
                for prefix in prefixes.flatten() {
                    let Ok(objects) = std::fs::read_dir(prefix.path()) else { continue };
                    let p = prefix.file_name().to_string_lossy().into_owned();
                    for o in objects.flatten() {
                        let name = o.file_name().to_string_lossy().into_owned();
                        let (Some(d), Ok(m)) =
                            (super::digest_of_content_path(&format!("{algorithm}/{p}/{name}")), o.metadata())
                        else {
                            continue;
                        };
                        found.push((d, m.modified()?));
                    }
                }
            }
            Ok(found)
        })
        .await?
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
