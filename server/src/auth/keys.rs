//! The keys registry tokens are signed and checked with: this instance's service key, and the
//! keys other instances published in `servicekey` (any approved, unexpired `quay` key is accepted,
//! as in Quay, so every pod validates every other pod's tokens).
//!
//! Instance keys expire as Quay's do: published with `INSTANCE_SERVICE_KEY_EXPIRATION`, renewed
//! every `INSTANCE_SERVICE_KEY_REFRESH` while the instance runs ([`KeySet::renew_every`]), so a
//! token (at most `REGISTRY_JWT_AUTH_MAX_FRESH_S` long) never outlives its key on a running pod,
//! and the key of a pod that is gone lapses by itself. Lapsed keys are deleted after
//! `EXPIRED_SERVICE_KEY_TTL_SEC`, so pods that come and go do not grow the table.

use super::jwt::{InstanceKey, decoding_key_from_jwk};
use crate::config::Config;
use crate::store::{Store, StoreError};
use jsonwebtoken::DecodingKey;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long another instance's key is trusted from memory before `servicekey` is read again, so
/// a key that lapsed or was deleted stops validating within this time.
const OTHERS_TTL: Duration = Duration::from_secs(60);

/// Wait before retrying a failed renewal (sooner than the refresh period: the key must not lapse).
const RETRY_AFTER: Duration = Duration::from_secs(60);

pub struct KeySet {
    pub instance: InstanceKey,
    service: String,
    /// The `servicekey.name` of this instance's key (the audience URL, as in Quay).
    name: String,
    expiration_s: i64,
    keep_expired_s: i64,
    others: RwLock<HashMap<String, (Arc<DecodingKey>, Instant)>>,
}

impl KeySet {
    /// Loads the key from `INSTANCE_SERVICE_KEY_LOCATION`, else `<data dir>/quay.pem` (created on
    /// first start), else generates one for this process; then publishes it in `servicekey`
    /// (or renews it, when a stable key is already there) and collects lapsed keys.
    pub async fn open(config: &Config, store: &Store, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        let path =
            config.instance_service_key_location.clone().or_else(|| data_dir.map(|d| d.join("quay.pem")));
        let instance = match path {
            Some(p) => tokio::task::spawn_blocking(move || InstanceKey::load_or_create(&p)).await??,
            None => tokio::task::spawn_blocking(|| InstanceKey::generate().map(|(k, _)| k)).await??,
        };
        let keys = KeySet {
            instance,
            service: config.instance_service_key_service.clone(),
            name: format!("{}://{}", config.preferred_url_scheme, config.server_hostname),
            expiration_s: config.instance_key_expiration_s(),
            keep_expired_s: i64::try_from(config.expired_service_key_ttl_sec).unwrap_or(i64::MAX),
            others: RwLock::new(HashMap::new()),
        };
        store
            .service_key_register(
                &keys.name,
                &keys.instance.kid,
                &keys.service,
                &keys.instance.jwk.to_string(),
                keys.expiration_s,
            )
            .await?;
        keys.collect(store).await?;
        Ok(keys)
    }

    /// Pushes this instance's key expiry forward and collects lapsed keys. A key deleted from the
    /// table (revoked) is not recreated: only a restart publishes a key again, as in Quay.
    pub async fn renew(&self, store: &Store) -> Result<(), StoreError> {
        if !store.service_key_renew(&self.instance.kid, &self.service, self.expiration_s).await? {
            tracing::warn!(kid = %self.instance.kid, "instance key is no longer in servicekey; other instances refuse its tokens until a restart publishes a new one");
        }
        self.collect(store).await
    }

    async fn collect(&self, store: &Store) -> Result<(), StoreError> {
        let gone = store.service_keys_collect(&self.service, self.expiration_s, self.keep_expired_s).await?;
        if gone > 0 {
            tracing::info!(deleted = gone, service = %self.service, "collected expired service keys");
        }
        Ok(())
    }

    /// Renews the key every `period` until the task is dropped; a failed renewal is retried
    /// after a minute (or `period`, if shorter).
    pub async fn renew_every(self: Arc<Self>, store: Store, period: Duration) {
        let mut wait = period;
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.renew(&store).await {
                Ok(()) => period,
                Err(e) => {
                    tracing::warn!(error = %e, "instance key renewal failed; retrying");
                    RETRY_AFTER.min(period)
                }
            };
        }
    }

    /// The public key for a token's `kid`, if it is this instance's or an approved, unexpired
    /// service key.
    pub async fn resolve(&self, store: &Store, kid: &str) -> Option<Arc<DecodingKey>> {
        if kid == self.instance.kid {
            return Some(Arc::new(self.instance.decoding().clone()));
        }
        let cached = self.others.read().ok().and_then(|m| m.get(kid).cloned());
        if let Some((k, until)) = &cached
            && Instant::now() < *until
        {
            return Some(k.clone());
        }
        let jwk = match store.service_key_jwk(kid, &self.service).await {
            Ok(Some(jwk)) => jwk,
            Ok(None) => {
                if let Ok(mut m) = self.others.write() {
                    m.remove(kid);
                }
                return None;
            }
            // The database is unreachable: a key seen before stays trusted until it answers.
            Err(_) => return cached.map(|(k, _)| k),
        };
        let key = Arc::new(decoding_key_from_jwk(&serde_json::from_str(&jwk).ok()?)?);
        if let Ok(mut m) = self.others.write() {
            let now = Instant::now();
            m.retain(|_, (_, until)| *until > now);
            m.insert(kid.to_string(), (key.clone(), now + OTHERS_TTL));
        }
        Some(key)
    }
}
