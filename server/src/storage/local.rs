//! Local filesystem storage (Quay's `LocalStorage`).

use anyhow::Context as _;
use std::path::PathBuf;
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
