//! Process-level faults (issue 14, docs/reliability.md): the real `quay serve` killed with SIGKILL
//! at random moments while 50 clients push distinct multi-layer images, restarted each time, on
//! both backends. Afterwards every push a client saw acknowledged pulls back byte-identical by tag
//! and by digest; no manifest names a blob whose bytes are missing or wrong; every stored object
//! hashes to its name; and the uploads the crashes abandoned are removed by the stale-upload job
//! and the storage sweep, which leave every referenced blob alone.
//!
//! `QUAY_CRASH_ROUNDS` and `QUAY_CRASH_CLIENTS` make the run longer (defaults: 8 kills, 50
//! clients); `QUAY_CRASH_SEED` replays a run (the seed is printed).

mod support;

use quay_server::storage::BlobStorage;
use quay_tests::TestDb;
use quay_tests::moto::Moto;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{QUAY, Server, sha256};

const PASSWORD: &str = "password123";
/// Images go to this many repositories (several images per repository).
const REPOS: usize = 10;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64*: reproducible from the printed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// One image a client pushes: its blobs (config first) and manifest.
#[derive(Clone)]
struct Image {
    repo: String,
    tag: String,
    blobs: Vec<(String, Vec<u8>)>,
    manifest: Vec<u8>,
    digest: String,
}

fn image(i: usize, rng: &mut Rng, shared: &[u8]) -> Image {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"n":"{i}"}}}}}}"#);
    let mut blobs = vec![(sha256(config.as_bytes()), config.into_bytes())];
    // A layer every image shares (deduplicated storage under crashes), and two of its own.
    blobs.push((sha256(shared), shared.to_vec()));
    for _ in 0..2 {
        let len = 16_384 + rng.below(200_000) as usize;
        let b = rng.bytes(len);
        blobs.push((sha256(&b), b));
    }
    let layers: Vec<String> = blobs[1..]
        .iter()
        .map(|(d, b)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{d}","size":{}}}"#,
                b.len()
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        blobs[0].0,
        blobs[0].1.len(),
        layers.join(",")
    );
    Image {
        repo: format!("admin/img{}", i % REPOS),
        tag: format!("t{i}"),
        digest: sha256(manifest.as_bytes()),
        manifest: manifest.into_bytes(),
        blobs,
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") { location.to_string() } else { format!("{base}{location}") }
}

/// A token for pull and push on every repository the test uses (one bcrypt check for all
/// clients: tokens outlive restarts, as the instance key is on disk).
async fn token(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let host = base.trim_start_matches("http://");
    let scopes: String = (0..REPOS).map(|i| format!("&scope=repository:admin/img{i}:pull,push")).collect();
    let auth: serde_json::Value = http
        .get(format!("{base}/v2/auth?service={host}{scopes}"))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .map_err(|e| format!("auth: {e}"))?
        .json()
        .await
        .map_err(|e| format!("auth body: {e}"))?;
    Ok(auth["token"].as_str().ok_or("no token")?.to_string())
}

/// Pushes `img` as a client would, counting each answered request in `progress`; `Err` on
/// anything short of the manifest's 201.
async fn push(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    img: &Image,
    chunked: bool,
    progress: &AtomicUsize,
) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: reqwest::Error| format!("{what}: {err}")
    };
    let step = || progress.fetch_add(1, Ordering::Relaxed);
    for (i, (digest, bytes)) in img.blobs.iter().enumerate() {
        let uploads = format!("{base}/v2/{}/blobs/uploads/", img.repo);
        if !chunked || i == 0 {
            let r = http
                .post(format!("{uploads}?digest={digest}"))
                .bearer_auth(token)
                .body(bytes.clone())
                .send()
                .await
                .map_err(e("monolithic"))?;
            if r.status() != 201 {
                return Err(format!("monolithic upload: {}", r.status()));
            }
            step();
            continue;
        }
        let r = http.post(&uploads).bearer_auth(token).send().await.map_err(e("start"))?;
        if r.status() != 202 {
            return Err(format!("start upload: {}", r.status()));
        }
        step();
        let loc = absolute(base, r.headers()["location"].to_str().map_err(|x| x.to_string())?);
        let half = bytes.len() / 2;
        let r = http
            .patch(&loc)
            .bearer_auth(token)
            .header("content-range", format!("0-{}", half - 1))
            .header("content-type", "application/octet-stream")
            .body(bytes[..half].to_vec())
            .send()
            .await
            .map_err(e("patch"))?;
        if r.status() != 202 {
            return Err(format!("patch: {}", r.status()));
        }
        step();
        let loc = absolute(base, r.headers()["location"].to_str().map_err(|x| x.to_string())?);
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = http
            .put(format!("{loc}{sep}digest={digest}"))
            .bearer_auth(token)
            .body(bytes[half..].to_vec())
            .send()
            .await
            .map_err(e("commit"))?;
        if r.status() != 201 {
            return Err(format!("commit: {}", r.status()));
        }
        step();
    }
    let r = http
        .put(format!("{base}/v2/{}/manifests/{}", img.repo, img.tag))
        .bearer_auth(token)
        .header("content-type", OCI_MANIFEST)
        .body(img.manifest.clone())
        .send()
        .await
        .map_err(e("manifest"))?;
    if r.status() != 201 {
        return Err(format!("manifest: {}", r.status()));
    }
    let echoed = r.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).unwrap_or("");
    if echoed != img.digest {
        return Err(format!("manifest digest {echoed} != {}", img.digest));
    }
    Ok(())
}

/// Everything acknowledged pulls back byte-identical, by tag and by digest, blobs included.
async fn assert_acknowledged_pull_back(http: &reqwest::Client, base: &str, acked: &[Image], seed: u64) {
    let token = token(http, base).await.expect("token");
    let token = token.as_str();
    for img in acked {
        for reference in [&img.tag, &img.digest] {
            let r = http
                .get(format!("{base}/v2/{}/manifests/{reference}", img.repo))
                .bearer_auth(token)
                .header("accept", OCI_MANIFEST)
                .send()
                .await
                .expect("pull");
            assert_eq!(r.status(), 200, "seed {seed}: acknowledged {}:{reference} is gone", img.repo);
            assert_eq!(r.headers()["docker-content-digest"], img.digest.as_str());
            assert_eq!(r.bytes().await.expect("body").as_ref(), img.manifest.as_slice());
        }
        for (digest, bytes) in &img.blobs {
            let r = http
                .get(format!("{base}/v2/{}/blobs/{digest}", img.repo))
                .bearer_auth(token)
                .send()
                .await
                .expect("blob");
            assert_eq!(r.status(), 200, "seed {seed}: blob {digest} of {}:{}", img.repo, img.tag);
            assert!(
                r.bytes().await.expect("body").as_ref() == bytes.as_slice(),
                "seed {seed}: {digest} differs"
            );
        }
    }
}

/// The stored objects, read through the server's own storage layer (local files, or S3 on
/// moto, which refuses unsigned reads).
struct Objects {
    storage: BlobStorage,
    /// The directory of local storage (its files can be aged).
    local: Option<PathBuf>,
    _moto: Option<Moto>,
}

impl Objects {
    /// The bytes stored for `digest`.
    async fn get(&self, digest: &str) -> Option<Vec<u8>> {
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
    async fn content(&self) -> Vec<String> {
        self.storage.list_content().await.expect("list content").into_iter().map(|(d, _)| d).collect()
    }

    /// The uploads with pieces in storage.
    async fn upload_entries(&self) -> Vec<String> {
        self.storage.list_uploads().await.expect("list uploads").into_iter().map(|(u, _)| u).collect()
    }

    /// Ages every local file by three days (past BLOBUPLOAD_DELETION_DATE_THRESHOLD, so the
    /// storage sweep may take what no row names). S3 objects cannot be aged: `false`.
    fn age(&self) -> bool {
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

fn files_under(dir: &Path) -> Vec<PathBuf> {
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
struct Installation {
    target: Vec<String>,
    objects: Objects,
    db: Option<TestDb>,
    sqlite: Option<PathBuf>,
}

impl Installation {
    async fn new(postgres: bool, s3: bool, dir: &Path, port: u16) -> Installation {
        let data = dir.join("data");
        if !postgres {
            assert!(!s3, "mirror mode keeps its blobs in the data directory");
            let config = quay_server::config::Config::mirror(&data);
            let storage = BlobStorage::from_config(&config).await.expect("storage");
            return Installation {
                target: vec!["--data-dir".into(), data.display().to_string()],
                sqlite: Some(data.join("quay.db")),
                objects: Objects { storage, local: Some(data.join("storage")), _moto: None },
                db: None,
            };
        }
        let moto = match s3 {
            true => Some(quay_tests::moto::moto("crash").await),
            false => None,
        };
        let storage_config = match &moto {
            Some(m) => quay_tests::moto::storage(m, "crash", false),
            None => format!("[LocalStorage, {{storage_path: \"{}\"}}]", data.join("storage").display()),
        };
        let db = TestDb::with_extension("crash").await.expect("database");
        let cfg = dir.join("config.yaml");
        std::fs::write(
            &cfg,
            format!(
                "SERVER_HOSTNAME: \"127.0.0.1:{port}\"\nPREFERRED_URL_SCHEME: http\nDB_URI: \"{}\"\n\
                 DATABASE_SECRET_KEY: \"crash-secret\"\nSECRET_KEY: \"crash-session\"\n\
                 INSTANCE_SERVICE_KEY_LOCATION: \"{}\"\n\
                 DISTRIBUTED_STORAGE_CONFIG: {{local_us: {storage_config}}}\n\
                 DISTRIBUTED_STORAGE_PREFERENCE: [local_us]\n",
                db.url,
                dir.join("quay.pem").display(),
            ),
        )
        .expect("config");
        let config = quay_server::config::Config::load_file(&cfg).expect("config");
        let storage = BlobStorage::from_config(&config).await.expect("storage");
        let local = moto.is_none().then(|| data.join("storage"));
        Installation {
            target: vec!["--config".into(), cfg.display().to_string()],
            objects: Objects { storage, local, _moto: moto },
            db: Some(db),
            sqlite: None,
        }
    }

    fn args(&self) -> Vec<&str> {
        self.target.iter().map(String::as_str).collect()
    }

    fn init_admin(&self) {
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
    async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        if let Some(db) = &self.db {
            let c = db.client().await.expect("client");
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

    async fn exec(&self, sql: &str) {
        match &self.db {
            Some(db) => db.client().await.expect("client").batch_execute(sql).await.expect(sql),
            None => {
                let c = rusqlite::Connection::open(self.sqlite.as_ref().expect("sqlite")).expect("open");
                c.execute_batch(sql).expect(sql);
            }
        }
    }

    /// No manifest names a blob whose row is still uploading or whose bytes are missing or wrong;
    /// every manifest's stored bytes hash to its digest.
    async fn assert_consistent(&self, seed: u64) {
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

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn crash_mid_push(postgres: bool, s3: bool) {
    let seed = std::env::var("QUAY_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let seed = seed.max(1);
    let rounds = env_or("QUAY_CRASH_ROUNDS", 8);
    let clients = env_or("QUAY_CRASH_CLIENTS", 50) as usize;
    eprintln!("crash_mid_push: seed {seed}, {rounds} kills, {clients} clients");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let inst = Arc::new(Installation::new(postgres, s3, dir.path(), port).await);
    inst.init_admin();
    let start = {
        let inst = inst.clone();
        let listen = listen.clone();
        move || Server::start_on(&inst.args(), &listen)
    };
    let mut server = tokio::task::spawn_blocking(start.clone()).await.expect("start");
    let base = server.base.clone();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");

    let shared = rng.bytes(100_000);
    let images: Vec<Image> = (0..clients).map(|i| image(i, &mut rng, &shared)).collect();
    let failures = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let first_token = token(&http, &base).await.expect("token");
    let mut tasks = Vec::new();
    for (i, img) in images.iter().cloned().enumerate() {
        let (http, base, failures, progress, done) =
            (http.clone(), base.clone(), failures.clone(), progress.clone(), done.clone());
        let mut tok = first_token.clone();
        tasks.push(tokio::spawn(async move {
            // Bounded: a push that keeps failing after this many tries fails the test.
            for _ in 0..300 {
                match push(&http, &base, &tok, &img, i % 2 == 1, &progress).await {
                    Ok(()) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        return Some(img);
                    }
                    Err(e) => {
                        if std::env::var("QUAY_CRASH_VERBOSE").is_ok() {
                            eprintln!("push {i}: {e}");
                        }
                        failures.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if e.contains("401") {
                            tok = token(&http, &base).await.unwrap_or(tok);
                        }
                    }
                }
            }
            None
        }));
    }
    // Each kill lands after a random number of answered requests, so kills are spread over the
    // whole run (between requests of a chunked upload, between blobs and manifest, ...).
    let mut kills = 0;
    for _ in 0..rounds {
        let target = progress.load(Ordering::Relaxed) + 5 + rng.below(40) as usize;
        let deadline = Instant::now() + Duration::from_secs(20);
        while progress.load(Ordering::Relaxed) < target && done.load(Ordering::Relaxed) < clients {
            assert!(Instant::now() < deadline, "seed {seed}: pushes stalled");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if done.load(Ordering::Relaxed) == clients {
            break;
        }
        tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
        kills += 1;
        server = tokio::task::spawn_blocking(start.clone()).await.expect("restart");
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.expect("client").unwrap_or_else(|| panic!("seed {seed}: a push never succeeded")));
    }
    let interrupted = failures.load(Ordering::Relaxed);
    eprintln!(
        "crash_mid_push: {kills} kills, {} pushes acknowledged, {interrupted} attempts cut off",
        acked.len()
    );
    assert!(kills >= rounds.min(3), "seed {seed}: only {kills} kills landed during the pushes");
    // Killed once more right after the last acknowledgement: nothing acknowledged may depend on
    // a graceful stop.
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
    let server = tokio::task::spawn_blocking(start.clone()).await.expect("restart");
    assert_acknowledged_pull_back(&http, &base, &acked, seed).await;
    inst.assert_consistent(seed).await;

    // What the crashes abandoned, aged past BLOBUPLOAD_DELETION_DATE_THRESHOLD (2 days); the
    // referenced objects too, so the sweep has every chance to take something it must not.
    let abandoned: Vec<String> =
        inst.rows("SELECT uuid FROM blobupload").await.into_iter().map(|r| r[0].clone()).collect();
    inst.exec("UPDATE blobupload SET created = '2000-01-01 00:00:00'").await;
    let aged = inst.objects.age();
    let loose = inst.objects.upload_entries().await.len();
    eprintln!("crash_mid_push: {} abandoned upload rows, {loose} entries under uploads/", abandoned.len());
    // The worker's periodic jobs run when it starts: in-process in mirror mode, `quay worker`
    // beside the server with PostgreSQL.
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
    let server = tokio::task::spawn_blocking(start.clone()).await.expect("restart");
    let mut worker = postgres.then(|| {
        Command::new(QUAY)
            .arg("worker")
            .args(inst.args())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker")
    });
    let referenced: BTreeMap<String, ()> = inst
        .rows("SELECT DISTINCT content_checksum FROM imagestorage")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), ()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = inst.rows("SELECT count(*) FROM blobupload").await[0][0].clone();
        let entries = inst.objects.upload_entries().await;
        // Local storage was aged: everything under uploads/ and every object no row names must
        // go. S3 objects keep their real age: the pieces of the removed sessions must go.
        let left =
            entries.iter().filter(|e| aged || abandoned.iter().any(|u| e.contains(u.as_str()))).count();
        let unreferenced = match aged {
            true => inst.objects.content().await.into_iter().filter(|d| !referenced.contains_key(d)).count(),
            false => 0,
        };
        if rows == "0" && left == 0 && unreferenced == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: abandoned uploads not cleaned: {rows} rows, {left} upload entries, {unreferenced} unreferenced objects"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if let Some(w) = worker.as_mut() {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert_acknowledged_pull_back(&http, &base, &acked, seed).await;
    inst.assert_consistent(seed).await;
    tokio::task::spawn_blocking(move || server.kill()).await.expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_mid_push_sqlite() {
    crash_mid_push(false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_mid_push_postgres() {
    crash_mid_push(true, false).await;
}

/// PostgreSQL with S3 storage (moto on 127.0.0.1): the production layout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_mid_push_postgres_s3() {
    crash_mid_push(true, true).await;
}
