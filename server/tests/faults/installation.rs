//! The installation under test (mirror mode, or PostgreSQL with local or S3 storage), its
//! database rows and stored objects, and the consistency check over them.

use crate::client::PASSWORD;
use crate::support::{QUAY, sha256};
use quay_server::storage::BlobStorage;
use quay_tests::TestDb;
use quay_tests::moto::Moto;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The stored objects, read through the server's own storage layer (local files, or S3 on
/// moto, which refuses unsigned reads).
pub struct Objects {
    storage: BlobStorage,
    /// The directory of local storage (its files can be aged).
    local: Option<PathBuf>,
    _moto: Option<Moto>,
}

impl Objects {
    /// The bytes stored for `digest`.
    pub async fn get(&self, digest: &str) -> Option<Vec<u8>> {
        use futures_util::StreamExt as _;
        let len = self.storage.blob_size(digest).await.ok()??;
        let mut stream = self.storage.blob_read(digest, 0, len).await.ok()?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.ok()?);
        }
        Some(out)
    }

    /// The digest every object in the content tree is named by.
    pub async fn content(&self) -> Vec<String> {
        self.storage.list_content().await.expect("list content").into_iter().map(|(d, _)| d).collect()
    }

    /// The uploads with pieces in storage.
    pub async fn upload_entries(&self) -> Vec<String> {
        self.storage.list_uploads().await.expect("list uploads").into_iter().map(|(u, _)| u).collect()
    }

    /// Ages every local file by three days (past BLOBUPLOAD_DELETION_DATE_THRESHOLD, so the
    /// storage sweep may take what no row names). S3 objects cannot be aged: `false`.
    pub fn age(&self) -> bool {
        let Some(root) = &self.local else { return false };
        let old = std::time::SystemTime::now() - Duration::from_secs(3 * 86_400);
        for p in files_under(root) {
            if let Ok(f) = std::fs::File::open(&p) {
                let _ = f.set_modified(old);
            }
        }
        true
    }
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        }
        out.push(p);
    }
    out
}

/// The installation under test: mirror mode (SQLite) or PostgreSQL with the extension.
pub struct Installation {
    pub target: Vec<String>,
    pub objects: Objects,
    /// PostgreSQL's URL (`None`: mirror mode's SQLite file).
    pub db_url: Option<String>,
    _db: Option<TestDb>,
    sqlite: Option<PathBuf>,
}

impl Installation {
    pub async fn new(postgres: bool, s3: bool, dir: &Path, port: u16) -> Installation {
        let data = dir.join("data");
        if !postgres {
            assert!(!s3, "mirror mode keeps its blobs in the data directory");
            let config = quay_server::config::Config::mirror(&data);
            let storage = BlobStorage::from_config(&config).await.expect("storage");
            return Installation {
                target: vec!["--data-dir".into(), data.display().to_string()],
                sqlite: Some(data.join("quay.db")),
                objects: Objects { storage, local: Some(data.join("storage")), _moto: None },
                db_url: None,
                _db: None,
            };
        }
        let moto = match s3 {
            true => Some(quay_tests::moto::moto("crash").await),
            false => None,
        };
        let storage_config = match &moto {
            Some(m) => quay_tests::moto::storage(m, "crash", false),
            None => Installation::local_storage(dir),
        };
        let db = TestDb::with_extension("crash").await.expect("database");
        let mut inst = Installation::on_database(&db.url, dir, port, &storage_config, "").await;
        inst.objects._moto = moto;
        inst._db = Some(db);
        inst
    }

    /// PostgreSQL at `db_url` (a Quay database with the extension), storage as configured, and
    /// `extra` config lines.
    pub async fn on_database(
        db_url: &str,
        dir: &Path,
        port: u16,
        storage_config: &str,
        extra: &str,
    ) -> Installation {
        let cfg = dir.join("config.yaml");
        std::fs::write(
            &cfg,
            format!(
                "SERVER_HOSTNAME: \"127.0.0.1:{port}\"\nPREFERRED_URL_SCHEME: http\nDB_URI: \"{db_url}\"\n\
                 DATABASE_SECRET_KEY: \"crash-secret\"\nSECRET_KEY: \"crash-session\"\n\
                 INSTANCE_SERVICE_KEY_LOCATION: \"{}\"\n\
                 DISTRIBUTED_STORAGE_CONFIG: {{local_us: {storage_config}}}\n\
                 DISTRIBUTED_STORAGE_PREFERENCE: [local_us]\n{extra}",
                dir.join("quay.pem").display(),
            ),
        )
        .expect("config");
        let config = quay_server::config::Config::load_file(&cfg).expect("config");
        let storage = BlobStorage::from_config(&config).await.expect("storage");
        let local = storage_config.contains("LocalStorage").then(|| dir.join("data/storage"));
        Installation {
            target: vec!["--config".into(), cfg.display().to_string()],
            objects: Objects { storage, local, _moto: None },
            db_url: Some(db_url.to_string()),
            _db: None,
            sqlite: None,
        }
    }

    /// Local storage under `dir`, as [`Installation::on_database`] expects it.
    pub fn local_storage(dir: &Path) -> String {
        format!("[LocalStorage, {{storage_path: \"{}\"}}]", dir.join("data/storage").display())
    }

    /// `quay serve` for this installation on 127.0.0.1:`port`, started off the async runtime.
    pub async fn serve(&self, port: u16) -> crate::support::Server {
        let args = self.target.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::support::Server::start_on(&args, &format!("127.0.0.1:{port}"))
        })
        .await
        .expect("start")
    }

    pub fn args(&self) -> Vec<&str> {
        self.target.iter().map(String::as_str).collect()
    }

    pub fn init_admin(&self) {
        let mut child = Command::new(QUAY)
            .arg("init")
            .args(self.args())
            .args(["--init-user", "admin", "--init-password-stdin"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("init");
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("stdin");
        assert!(child.wait().expect("init").success());
    }

    /// Rows of a query over either backend, every column as text.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        if let Some(url) = &self.db_url {
            let c = quay_tests::connect(url).await.expect("client");
            let rows = c.simple_query(sql).await.expect(sql);
            return rows
                .into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).unwrap_or("").to_string()).collect())
                    }
                    _ => None,
                })
                .collect();
        }
        let c = rusqlite::Connection::open(self.sqlite.as_ref().expect("sqlite")).expect("open");
        let mut st = c.prepare(sql).expect(sql);
        let n = st.column_count();
        st.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i) {
                    Ok(rusqlite::types::ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                    Ok(rusqlite::types::ValueRef::Integer(v)) => v.to_string(),
                    Ok(rusqlite::types::ValueRef::Blob(b)) => String::from_utf8_lossy(b).into_owned(),
                    _ => String::new(),
                })
                .collect())
        })
        .expect(sql)
        .map(|r| r.expect("row"))
        .collect()
    }

    pub async fn exec(&self, sql: &str) {
        match &self.db_url {
            Some(url) => quay_tests::connect(url).await.expect("client").batch_execute(sql).await.expect(sql),
            None => {
                let c = rusqlite::Connection::open(self.sqlite.as_ref().expect("sqlite")).expect("open");
                c.execute_batch(sql).expect(sql);
            }
        }
    }

    /// No manifest names a blob whose row is still uploading or whose bytes are missing or wrong;
    /// every manifest's stored bytes hash to its digest.
    pub async fn assert_consistent(&self, seed: u64) {
        let manifests = self.rows("SELECT digest, manifest_bytes FROM manifest").await;
        for m in &manifests {
            assert_eq!(sha256(m[1].as_bytes()), m[0], "seed {seed}: manifest bytes differ from their digest");
        }
        let referenced = self
            .rows(
                "SELECT m.digest, s.content_checksum, CASE WHEN s.uploading THEN 1 ELSE 0 END, s.image_size
                   FROM manifestblob mb JOIN manifest m ON m.id = mb.manifest_id
                   JOIN imagestorage s ON s.id = mb.blob_id",
            )
            .await;
        for r in &referenced {
            assert_eq!(r[2], "0", "seed {seed}: manifest {} names blob {} still uploading", r[0], r[1]);
            let bytes = self.objects.get(&r[1]).await.unwrap_or_else(|| {
                panic!("seed {seed}: manifest {} names blob {} whose bytes are missing", r[0], r[1])
            });
            assert_eq!(sha256(&bytes), r[1], "seed {seed}: blob {} is corrupt", r[1]);
            assert_eq!(bytes.len().to_string(), r[3], "seed {seed}: blob {} size", r[1]);
        }
        for digest in self.objects.content().await {
            let bytes = self.objects.get(&digest).await.expect("listed object");
            assert_eq!(sha256(&bytes), digest, "seed {seed}: stored object {digest} is corrupt");
        }
    }
}
