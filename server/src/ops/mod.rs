//! Operations, written once for every caller (`/v2` handlers, workers, and later `/api/v1`):
//! who the caller is and what it may do ([`access`]), blob objects and their rows ([`blobs`]),
//! registry token grants ([`credentials`]), blob uploads ([`uploads`]), manifests
//! ([`manifests`]), listings ([`catalog`]).
//! They know neither HTTP nor SQL: they take a [`Context`], call `store` and `storage`, and
//! return typed errors.

pub mod access;
pub mod apptokens;
pub mod autoprune;
pub mod blobs;
pub mod catalog;
pub mod credentials;
pub mod instance;
pub mod labels;
pub mod log_entry;
pub mod log_writer;
pub mod logs;
pub mod manifests;
pub mod notifications;
pub mod organizations;
pub mod permissions;
pub mod prototypes;
pub mod quota;
pub mod repo_name;
pub mod repositories;
pub mod robots;
pub mod tags;
pub mod teams;
pub mod uploads;
pub mod users;
pub mod webhook_template;

use crate::auth::field_encryption::FieldEncrypter;
use crate::auth::keys::KeySet;
use crate::auth::session::SessionKey;
use crate::config::Config;
use crate::storage::BlobStorage;
use crate::store::{Store, StoreError};
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;

/// Everything an operation may use. Cheap to clone; no per-pod state that another pod would need.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub store: Store,
    pub storage: BlobStorage,
    pub keys: Arc<KeySet>,
    /// `DATABASE_SECRET_KEY`'s field encryption (robot and app tokens), when configured.
    pub encrypter: Option<Arc<FieldEncrypter>>,
    /// The `imagestoragelocation` name blobs are written to (first of `DISTRIBUTED_STORAGE_PREFERENCE`).
    pub location: Arc<str>,
    /// What browser sessions are signed with (from `SECRET_KEY`).
    pub session_key: Arc<SessionKey>,
    /// Mirror mode without `SUPER_USERS`: the first user is the superuser, also when
    /// `/api/v1/user/initialize` creates it while this process runs.
    pub implicit_superuser: Arc<std::sync::RwLock<Option<String>>>,
    /// Registry traffic's action logs, written in batches off the request path.
    pub logs: log_writer::LogWriter,
    /// The process is shutting down: `/readyz` fails so balancers stop sending requests, while
    /// the requests that still arrive are served.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// `TRUSTED_PROXIES`, parsed: whose `X-Forwarded-For` the action logs believe.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl Context {
    /// Loads the signing key (see [`KeySet::open`]), the field-encryption key, and makes sure the
    /// configured storage locations exist in `imagestoragelocation`.
    pub async fn new(
        config: Config,
        store: Store,
        storage: BlobStorage,
        data_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let location: Arc<str> = config
            .primary_storage()
            .map(|(name, _)| name)
            .context("DISTRIBUTED_STORAGE_PREFERENCE names no configured storage location")?
            .into();
        let names: Vec<String> = config.distributed_storage_config.keys().cloned().collect();
        store.ensure_storage_locations(&names).await?;
        // Mirror mode without DATABASE_SECRET_KEY keeps a generated one in its data directory, so
        // robots and app-specific tokens work there too.
        let generated = match (&config.database_secret_key, data_dir) {
            (None, Some(dir)) if config.mode() == crate::config::Mode::Mirror => {
                Some(kept_secret(dir, "database_secret_key")?)
            }
            _ => None,
        };
        let database_key = config.database_secret_key.as_ref().map(|k| k.expose().to_string()).or(generated);
        let encrypter = match database_key {
            Some(k) => Some(Arc::new(
                FieldEncrypter::new(&k).map_err(|e| anyhow::anyhow!("DATABASE_SECRET_KEY: {e}"))?,
            )),
            None => None,
        };
        let keys = Arc::new(KeySet::open(&config, &store, data_dir).await?);
        let session_key = Arc::new(session_key(&config, data_dir)?);
        let implicit = if config.mode() == crate::config::Mode::Mirror && config.super_users.is_empty() {
            store.first_user().await?
        } else {
            None
        };
        let trusted_proxies =
            Arc::new(config.trusted_proxies.iter().filter_map(|p| crate::config::parse_proxy(p)).collect());
        Ok(Context {
            config: Arc::new(config),
            storage,
            keys,
            encrypter,
            location,
            session_key,
            implicit_superuser: Arc::new(std::sync::RwLock::new(implicit)),
            logs: log_writer::LogWriter::start(store.clone()),
            draining: Arc::default(),
            trusted_proxies,
            store,
        })
    }

    /// Whether `name` is a superuser of this instance: in `SUPER_USERS` (with
    /// `FEATURE_SUPER_USERS`), or mirror mode's first user.
    pub fn is_superuser_name(&self, name: &str) -> bool {
        if !self.config.feature_super_users.0 {
            return false;
        }
        self.config.super_users.iter().any(|s| s == name)
            || self.implicit_superuser.read().is_ok_and(|s| s.as_deref() == Some(name))
    }

    /// Mirror mode without `SUPER_USERS`: `name`, the database's first user, becomes the superuser.
    pub fn first_user_created(&self, name: &str) {
        if self.config.mode() == crate::config::Mode::Mirror
            && self.config.super_users.is_empty()
            && let Ok(mut s) = self.implicit_superuser.write()
            && s.is_none()
        {
            *s = Some(name.to_string());
        }
    }

    /// The library namespace when `FEATURE_LIBRARY_SUPPORT` is on (one-segment names live there).
    pub fn library(&self) -> Option<&str> {
        self.config.feature_library_support.0.then_some(self.config.library_namespace.as_str())
    }
}

/// The key browser sessions are signed with: derived from `SECRET_KEY`; without it, from a
/// secret generated once and kept in the data directory (mirror mode), else random for this
/// process (sessions then work on this pod only, until it restarts; logged).
fn session_key(config: &Config, data_dir: Option<&Path>) -> anyhow::Result<SessionKey> {
    if let Some(secret) = &config.secret_key {
        return Ok(SessionKey::derive(secret.expose()));
    }
    let Some(dir) = data_dir else {
        tracing::warn!("SECRET_KEY is not set: browser sessions last until this process restarts");
        return Ok(SessionKey::random());
    };
    Ok(SessionKey::derive(&kept_secret(dir, "secret_key")?))
}

/// A secret generated once and kept in the data directory (mode 0600) as file `name`.
fn kept_secret(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.trim().is_empty()
    {
        return Ok(existing.trim().to_string());
    }
    let fresh = crate::ops::users::random_token(64);
    std::fs::write(&path, &fresh).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(fresh)
}

/// Why an `/api/v1` operation did not happen: the one typed refusal of the API's operations,
/// rendered once by `http::api::error` (routes that answer one case differently match it first).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("not allowed")]
    Denied(access::ApiDenied),
    #[error("not found")]
    NotFound,
    /// Bad input, with the message Quay gives.
    #[error("{0}")]
    Invalid(String),
    /// Quay's login back-off: a password login waits this many seconds.
    #[error("Too many login attempts.")]
    TooManyAttempts(u64),
    /// A rule the core refused with (the route decides how it is rendered).
    #[error("{message}")]
    Rule { code: quay_core::rules::Rule, message: String },
    #[error(transparent)]
    Store(StoreError),
    #[error("{0:#}")]
    Other(anyhow::Error),
}

impl From<access::ApiDenied> for Refused {
    fn from(d: access::ApiDenied) -> Self {
        Refused::Denied(d)
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rule { code, message } => Refused::Rule { code, message },
            e => Refused::Store(e),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("blob storage failed: {0:#}")]
    Storage(anyhow::Error),
}
