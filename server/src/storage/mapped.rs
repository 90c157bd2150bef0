//! Memory-mapped content objects for blob GETs on local storage.
//!
//! A content object (`sha256/xx/<hex>`) is immutable: it is written under `uploads/`, verified,
//! renamed into place and later only unlinked. So a mapping of it stays valid for as long as it
//! is held (an unlinked file keeps its inode while mapped), and the same path always holds the
//! same bytes. Serving from a mapping makes a blob GET one kernel copy (page cache → socket)
//! instead of a read into a fresh buffer plus the socket copy; recently served objects keep
//! their mapping, so a hot blob costs no open/stat/map at all.
//!
//! Bounds: objects up to [`MAX_OBJECT`] are mapped (bigger ones are streamed by a reader thread),
//! at most [`MAX_TOTAL`] bytes stay mapped, and a mapping unused for [`IDLE`] is dropped.
//! Mapping and first touch (`MAP_POPULATE`) happen on the blocking pool.

use bytes::Bytes;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const MAX_OBJECT: u64 = 256 << 20;
const MAX_TOTAL: u64 = 2 << 30;
const IDLE: Duration = Duration::from_secs(120);

/// A mapped object, shareable as the owner of [`Bytes`].
#[derive(Clone)]
pub struct Mapped(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Mapped {
    pub fn len(&self) -> u64 {
        self.0.len() as u64
    }

    /// `len` bytes from `start` (the caller checked the range against [`Mapped::len`]).
    pub fn slice(&self, start: u64, len: u64) -> Bytes {
        let (start, end) = (start as usize, (start + len) as usize);
        Bytes::from_owner(self.clone()).slice(start..end)
    }
}

struct Entry {
    map: Mapped,
    used: Instant,
}

fn cache() -> &'static Mutex<HashMap<PathBuf, Entry>> {
    static C: OnceLock<Mutex<HashMap<PathBuf, Entry>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

/// The mapping of the content object at `path` if it is cached.
pub fn cached(path: &Path) -> Option<Mapped> {
    let mut c = cache().lock().ok()?;
    let e = c.get_mut(path)?;
    e.used = Instant::now();
    Some(e.map.clone())
}

/// Maps the content object at `path` (on the blocking pool) and remembers the mapping.
/// `Ok(None)`: the object is absent, empty or too big to map.
pub async fn map(path: PathBuf) -> std::io::Result<Option<Mapped>> {
    if let Some(m) = cached(&path) {
        return Ok(Some(m));
    }
    let key = path.clone();
    let mapped =
        tokio::task::spawn_blocking(move || map_file(&path)).await.map_err(std::io::Error::other)??;
    if let Some(m) = &mapped {
        remember(key, m.clone());
    }
    Ok(mapped)
}

#[allow(unsafe_code)]
fn map_file(path: &Path) -> std::io::Result<Option<Mapped>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let size = f.metadata()?.len();
    if size == 0 || size > MAX_OBJECT {
        return Ok(None);
    }
    // SAFETY: content objects are never written or truncated in place (see the module docs);
    // the mapping is read-only and outlives no file handle it needs.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(&f)? };
    Ok(Some(Mapped(Arc::new(map))))
}

fn remember(path: PathBuf, map: Mapped) {
    let Ok(mut c) = cache().lock() else { return };
    let now = Instant::now();
    let mut total: u64 = c.values().map(|e| e.map.len()).sum::<u64>() + map.len();
    if total > MAX_TOTAL || c.values().any(|e| now.duration_since(e.used) > IDLE) {
        c.retain(|_, e| now.duration_since(e.used) <= IDLE);
        total = c.values().map(|e| e.map.len()).sum::<u64>() + map.len();
        while total > MAX_TOTAL {
            let Some(oldest) = c.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| k.clone()) else { break };
            if let Some(e) = c.remove(&oldest) {
                total -= e.map.len();
            }
        }
    }
    c.insert(path, Entry { map, used: now });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn maps_and_slices_and_skips_empty_or_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("obj");
        std::fs::write(&p, b"0123456789").expect("write");
        let m = map(p.clone()).await.expect("map").expect("mapped");
        assert_eq!(m.len(), 10);
        assert_eq!(&m.slice(2, 3)[..], b"234");
        assert!(cached(&p).is_some());
        // Unlinked while mapped: the mapping still reads the same bytes.
        std::fs::remove_file(&p).expect("rm");
        assert_eq!(&cached(&p).expect("still cached").slice(0, 10)[..], b"0123456789");
        std::fs::write(dir.path().join("empty"), b"").expect("write");
        assert!(map(dir.path().join("empty")).await.expect("map").is_none());
        assert!(map(dir.path().join("missing")).await.expect("map").is_none());
    }
}
