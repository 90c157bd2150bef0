//! The keys registry tokens are signed and checked with: this instance's service key, and the
//! keys other instances published in `servicekey` (any approved, unexpired `quay` key is accepted,
//! as in Quay, so every pod validates every other pod's tokens).

use super::jwt::{InstanceKey, decoding_key_from_jwk};
use crate::config::Config;
use crate::store::Store;
use jsonwebtoken::DecodingKey;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub struct KeySet {
    pub instance: InstanceKey,
    service: String,
    others: RwLock<HashMap<String, Arc<DecodingKey>>>,
}

impl KeySet {
    /// Loads the key from `INSTANCE_SERVICE_KEY_LOCATION`, else `<data dir>/quay.pem` (created on
    /// first start), else generates one for this process; then publishes it in `servicekey`.
    pub async fn open(config: &Config, store: &Store, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        let path =
            config.instance_service_key_location.clone().or_else(|| data_dir.map(|d| d.join("quay.pem")));
        let instance = match path {
            Some(p) => tokio::task::spawn_blocking(move || InstanceKey::load_or_create(&p)).await??,
            None => tokio::task::spawn_blocking(|| InstanceKey::generate().map(|(k, _)| k)).await??,
        };
        let service = config.instance_service_key_service.clone();
        let name = format!("{}://{}", config.preferred_url_scheme, config.server_hostname);
        store.service_key_register(&name, &instance.kid, &service, &instance.jwk.to_string()).await?;
        Ok(KeySet { instance, service, others: RwLock::new(HashMap::new()) })
    }

    /// The public key for a token's `kid`, if it is this instance's or an approved service key.
    pub async fn resolve(&self, store: &Store, kid: &str) -> Option<Arc<DecodingKey>> {
        if kid == self.instance.kid {
            return Some(Arc::new(self.instance.decoding().clone()));
        }
        if let Some(k) = self.others.read().ok().and_then(|m| m.get(kid).cloned()) {
            return Some(k);
        }
        let jwk = store.service_key_jwk(kid, &self.service).await.ok().flatten()?;
        let key = Arc::new(decoding_key_from_jwk(&serde_json::from_str(&jwk).ok()?)?);
        if let Ok(mut m) = self.others.write() {
            m.insert(kid.to_string(), key.clone());
        }
        Some(key)
    }
}
