//! A registry server for tests: the real router on 127.0.0.1 (random port) over SQLite (mirror
//! mode) or PostgreSQL with the `quay` extension (a fresh database), local storage in a temp dir.
#![allow(dead_code)]

use quay_server::config::Config;
use quay_server::http::{AppState, router};
use quay_server::storage::BlobStorage;
use quay_server::store::{NewUser, Store};
use quay_tests::TestDb;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Registry {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// `127.0.0.1:PORT` (SERVER_HOSTNAME)
    pub host: String,
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub db: Option<TestDb>,
    pub backend: Backend,
    pub storage: BlobStorage,
    pub config: Config,
}

pub const PASSWORD: &str = "password123";

impl Registry {
    /// Starts a registry; `extra_yaml` adds config keys (e.g. `FEATURE_ANONYMOUS_ACCESS: false`).
    pub async fn start(backend: Backend, tag: &str, extra_yaml: &str) -> Registry {
        Registry::start_with_storage(backend, tag, extra_yaml, None).await
    }

    /// As [`Registry::start`], with a `DISTRIBUTED_STORAGE_CONFIG` entry for `local_us` other
    /// than local files (e.g. `[S3Storage, {...}]`).
    pub async fn start_with_storage(
        backend: Backend,
        tag: &str,
        extra_yaml: &str,
        storage: Option<&str>,
    ) -> Registry {
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
        let dir = tempfile::tempdir().expect("tmp");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let host = listener.local_addr().expect("addr").to_string();
        let storage_path = dir.path().join("storage");
        let (db, db_uri) = match backend {
            Backend::Sqlite => (None, format!("sqlite:///{}", dir.path().join("quay.db").display())),
            Backend::Postgres => {
                let db = TestDb::with_extension(tag).await.expect("db");
                let url = db.url.clone();
                (Some(db), url)
            }
        };
        let yaml = format!(
            "SERVER_HOSTNAME: \"{host}\"\nPREFERRED_URL_SCHEME: http\nDB_URI: \"{db_uri}\"\n\
             DATABASE_SECRET_KEY: \"test-database-secret\"\n\
             DISTRIBUTED_STORAGE_CONFIG: {{local_us: {}}}\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [local_us]\n{extra_yaml}",
            storage.map_or_else(
                || format!("[LocalStorage, {{storage_path: \"{}\"}}]", storage_path.display()),
                str::to_string
            )
        );
        let config = Config::from_yaml(&yaml).expect("config");
        let store = Store::open(&config.database().expect("db").expect("uri")).await.expect("store");
        if backend == Backend::Sqlite {
            store.migrate().await.expect("migrate");
        }
        let storage = BlobStorage::from_config(&config).await.expect("storage");
        let state = AppState::new(config.clone(), store.clone(), storage.clone(), Some(dir.path()))
            .await
            .expect("state");
        serve(listener, router(state), &config);
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Registry { url: format!("http://{host}"), host, store, dir, http, db, backend, storage, config }
    }

    /// Another instance of this registry (same config, database and storage; its own database
    /// pool and its own generated instance key), as a second pod would be. Returns its base URL.
    pub async fn sibling(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let store = Store::open(&self.config.database().expect("db").expect("uri")).await.expect("store");
        let state =
            AppState::new(self.config.clone(), store, self.storage.clone(), None).await.expect("state");
        serve(listener, router(state), &self.config);
        format!("http://{addr}")
    }

    /// `POST /api/v1/user/initialize` as `admin` with [`PASSWORD`] (the config must turn on
    /// `FEATURE_USER_INITIALIZE`); returns its OAuth token (every scope).
    pub async fn initialize_admin(&self) -> String {
        let resp = self
            .http
            .post(format!("{}/api/v1/user/initialize", self.url))
            .json(&serde_json::json!({
                "username": "admin", "password": PASSWORD, "email": "admin@example.com", "access_token": true
            }))
            .send()
            .await
            .expect("initialize");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_string()
    }

    /// A database user with [`PASSWORD`] (bcrypt cost 4 to keep tests fast).
    pub async fn user(&self, name: &str) -> i64 {
        let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
        let new = NewUser {
            username: name.into(),
            email: format!("{name}@example.com"),
            password_hash: hash,
            removed_tag_expiration_s: 1_209_600,
        };
        assert!(self.store.insert_user(&new).await.expect("insert user"));
        self.store.user_credentials(name).await.expect("creds").expect("user").id
    }

    /// Starts an upload in `repo` and sends `first` as its first chunk; returns its uuid.
    pub async fn upload_started(&self, repo: &str, token: &str, first: &[u8]) -> String {
        let resp = self
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"), Some(token))
            .send()
            .await
            .expect("POST upload");
        assert_eq!(resp.status(), 202);
        let uuid = resp.headers()["docker-upload-uuid"].to_str().expect("uuid").to_string();
        let resp = self
            .req(reqwest::Method::PATCH, &format!("/v2/{repo}/blobs/uploads/{uuid}"), Some(token))
            .body(first.to_vec())
            .send()
            .await
            .expect("PATCH");
        assert_eq!(resp.status(), 202);
        uuid
    }

    /// A bearer token from `/v2/auth` (Basic credentials when `user` is given).
    pub async fn token(&self, user: Option<&str>, scopes: &[&str]) -> String {
        let resp = self.auth(user, PASSWORD, scopes).await;
        assert_eq!(resp.status(), 200, "token for {user:?} {scopes:?}");
        let body: Value = resp.json().await.expect("json");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn auth(&self, user: Option<&str>, password: &str, scopes: &[&str]) -> reqwest::Response {
        let mut q: Vec<(&str, &str)> = vec![("service", self.host.as_str())];
        q.extend(scopes.iter().map(|s| ("scope", *s)));
        let mut req = self.http.get(format!("{}/v2/auth", self.url)).query(&q);
        if let Some(u) = user {
            req = req.basic_auth(u, Some(password));
        }
        req.send().await.expect("auth request")
    }

    pub fn req(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.url) };
        let r = self.http.request(method, url);
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// GET `path` and parse its JSON body.
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> Value {
        let resp = self.req(reqwest::Method::GET, path, token).send().await.expect("GET");
        resp.json().await.expect("json body")
    }

    /// Uploads `bytes` in a session: PATCHes of `chunk` bytes (with `Content-Range`), the last
    /// piece with the final PUT. Returns the PUT's response.
    pub async fn push_chunked(
        &self,
        repo: &str,
        token: &str,
        bytes: &[u8],
        chunk: usize,
    ) -> reqwest::Response {
        let resp = self
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"), Some(token))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 202);
        let loc = resp.headers()["location"].to_str().expect("loc").to_string();
        let pieces: Vec<&[u8]> = bytes.chunks(chunk.max(1)).collect();
        let (last, rest) = pieces.split_last().map_or((&[][..], &[][..]), |(l, r)| (*l, r));
        let mut at = 0;
        for p in rest {
            let resp = self
                .req(reqwest::Method::PATCH, &loc, Some(token))
                .header("content-range", format!("{at}-{}", at + p.len() - 1))
                .body(p.to_vec())
                .send()
                .await
                .expect("patch");
            assert_eq!(resp.status(), 202);
            at += p.len();
        }
        self.req(reqwest::Method::PUT, &format!("{loc}?digest={}", digest(bytes)), Some(token))
            .body(last.to_vec())
            .send()
            .await
            .expect("put")
    }

    /// Pushes a blob monolithically; returns its digest.
    pub async fn push_blob(&self, repo: &str, token: &str, bytes: &[u8]) -> String {
        let d = digest(bytes);
        let resp = self
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={d}"), Some(token))
            .body(bytes.to_vec())
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
        d
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        token: &str,
        media_type: &str,
        body: &str,
    ) -> reqwest::Response {
        self.req(reqwest::Method::PUT, &format!("/v2/{repo}/manifests/{reference}"), Some(token))
            .header("content-type", media_type)
            .body(body.to_string())
            .send()
            .await
            .expect("put manifest")
    }
}

/// Serves `app` on `listener` the way `quay serve` does (connection limits and timeouts from
/// `config`), until the test's runtime ends.
fn serve(listener: tokio::net::TcpListener, app: axum::Router, config: &Config) {
    let listener = listener.into_std().expect("std listener");
    let limits = quay_server::http::conn::Limits::from_config(config);
    tokio::spawn(quay_server::http::conn::serve(listener, app, None, limits, std::future::pending()));
}

pub fn digest(bytes: &[u8]) -> String {
    quay_server::registry::hasher::digest_of(quay_server::registry::hasher::Algorithm::Sha256, bytes)
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// An OCI image manifest over a config and layers (digest, size).
pub fn image_manifest(config: (&str, usize), layers: &[(&str, usize)], extra: &str) -> String {
    let layers: Vec<String> = layers
        .iter()
        .map(|(d, s)| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{d}","size":{s}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]{extra}}}"#,
        config.0,
        config.1,
        layers.join(",")
    )
}

/// The `errors[0].code` of a registry error body.
pub async fn error_code(resp: reqwest::Response) -> String {
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    v["errors"][0]["code"].as_str().unwrap_or("").to_string()
}

/// A parity step run by the core in one SQLite write transaction, as its outcome text: the
/// step's `Ok` text, or `error <QUAY_* code>` (the form the PostgreSQL side prints from DETAIL).
pub async fn sqlite_outcome(
    store: &quay_server::store::sqlite::SqliteStore,
    step: impl FnOnce(&mut dyn quay_core::exec::Executor) -> Result<String, quay_core::exec::CoreError>
    + Send
    + 'static,
) -> String {
    match store.with_core(step).await.expect("sqlite store") {
        Ok(s) => s,
        Err(quay_core::exec::CoreError::Invalid { code, .. }) => format!("error {code}"),
        Err(e) => format!("error {e}"),
    }
}

/// A migrated mirror-mode store in `dir` (for parity suites that drive the core directly).
pub async fn migrated_sqlite(dir: &std::path::Path) -> quay_server::store::sqlite::SqliteStore {
    let db = quay_server::config::Database::Sqlite(dir.join("quay.db"));
    let Store::Sqlite(sqlite) = Store::open(&db).await.expect("sqlite") else { unreachable!() };
    Store::Sqlite(sqlite.clone()).migrate().await.expect("migrate sqlite");
    sqlite
}

/// The claims of a JWT (not verified).
pub fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).expect("payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("b64");
    serde_json::from_slice(&raw).expect("json")
}

/// Runs statements on the registry's database (either backend; SQL both understand).
pub async fn exec(r: &Registry, sql: &str) {
    match &r.db {
        Some(db) => db.client().await.expect("client").batch_execute(sql).await.expect(sql),
        None => {
            let c = rusqlite::Connection::open(r.dir.path().join("quay.db")).expect("open");
            c.execute_batch(sql).expect(sql);
        }
    }
}

/// One integer from SQL on the registry's database (either backend).
pub async fn scalar(r: &Registry, sql: &str) -> i64 {
    match &r.db {
        Some(db) => {
            let c = db.client().await.expect("client");
            c.query_one(sql, &[]).await.expect("query").get::<_, i64>(0)
        }
        None => {
            let c = rusqlite::Connection::open(r.dir.path().join("quay.db")).expect("open");
            c.query_row(sql, [], |row| row.get(0)).expect("query")
        }
    }
}

/// One `/api/v1` call with a bearer token: (status, JSON body or the text as a JSON string).
pub async fn api(
    r: &Registry,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = r.req(method, path, Some(token));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A registry with an administrator (its API token) and organization `acme`; `features` adds
/// config lines.
pub async fn with_acme(backend: Backend, tag: &str, features: &str) -> (std::sync::Arc<Registry>, String) {
    let extra =
        format!("SUPER_USERS: [admin]\nFEATURE_USER_INITIALIZE: true\nSECRET_KEY: \"{tag}\"\n{features}");
    let r = std::sync::Arc::new(Registry::start(backend, tag, &extra).await);
    let admin = r.initialize_admin().await;
    let org = serde_json::json!({"name": "acme", "email": "acme@example.com"});
    let (s, body) = api(&r, reqwest::Method::POST, "/api/v1/organization/", &admin, Some(org)).await;
    assert_eq!(s, 201, "{body}");
    (r, admin)
}
