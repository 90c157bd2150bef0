//! Who a registry client is, from HTTP Basic credentials (quay-http-surface.md §2.1): a database
//! user (bcrypt), a robot `owner+name` with its field-encrypted token, or `$app` with an
//! app-specific token. `$token` (legacy access tokens) and `$oauthtoken` are not accepted yet.

use super::field_encryption::FieldEncrypter;
use super::password;
use crate::store::registry::StoredSecret;
use crate::store::{Store, StoreError};
use base64::Engine as _;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub kind: EntityKind,
    pub user_id: i64,
    /// The JWT `sub`: username, robot name, or the app token's owner.
    pub username: String,
    /// `context.entity_reference`: user uuid, robot name or app-token uuid.
    pub reference: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Robot,
    AppSpecificToken,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Robot => "robot",
            EntityKind::AppSpecificToken => "appspecifictoken",
        }
    }
}

/// Why credentials were refused (the message goes into the 401 body, as Quay's InvalidLogin).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Invalid username or password")]
    Invalid,
    #[error("This user has been disabled. Please contact your administrator.")]
    Disabled,
    #[error("{0} credentials are not supported by this registry")]
    Unsupported(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `(username, password)` from an `Authorization: Basic …` value.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn same(a: &str, b: &str) -> bool {
    // Constant time in the length of the secret.
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A robot token or app-token secret: it must exist, decrypt to what was presented, and belong to
/// a usable account.
fn check_stored(
    stored: Option<StoredSecret>,
    presented: &str,
    encrypter: Option<&FieldEncrypter>,
) -> Result<StoredSecret, LoginError> {
    let stored = stored.ok_or(LoginError::Invalid)?;
    let plain = encrypter.and_then(|e| e.decrypt(&stored.encrypted).ok()).ok_or(LoginError::Invalid)?;
    if !same(&plain, presented) {
        return Err(LoginError::Invalid);
    }
    if !stored.usable {
        return Err(LoginError::Disabled);
    }
    Ok(stored)
}

/// Checks Basic credentials.
pub async fn authenticate(
    store: &Store,
    encrypter: Option<&FieldEncrypter>,
    app_tokens_enabled: bool,
    username: &str,
    secret: &str,
) -> Result<Entity, LoginError> {
    match username {
        "$token" => Err(LoginError::Unsupported("$token (access token)")),
        "$oauthtoken" => Err(LoginError::Unsupported("$oauthtoken (OAuth token)")),
        "$app" if app_tokens_enabled => {
            if secret.len() != 120 || !secret.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return Err(LoginError::Invalid);
            }
            let (name, rest) = secret.split_at(60);
            let stored = check_stored(store.app_token_secret(name).await?, rest, encrypter)?;
            Ok(Entity {
                kind: EntityKind::AppSpecificToken,
                user_id: stored.user_id,
                username: stored.username,
                reference: stored.uuid,
            })
        }
        robot if robot.contains('+') => {
            let stored = check_stored(store.robot_secret(robot).await?, secret, encrypter)?;
            Ok(Entity {
                kind: EntityKind::Robot,
                user_id: stored.user_id,
                username: robot.to_string(),
                reference: robot.to_string(),
            })
        }
        user => {
            let creds = store.user_credentials(user).await?.ok_or(LoginError::Invalid)?;
            if creds.organization || creds.robot {
                return Err(LoginError::Invalid);
            }
            let hash = creds.password_hash.clone().ok_or(LoginError::Invalid)?;
            let key = verified_key(&creds.username, secret, &hash);
            if !recently_verified(&key) {
                let pw = secret.to_string();
                let ok =
                    tokio::task::spawn_blocking(move || password::verify(&pw, &hash)).await.unwrap_or(false);
                if !ok {
                    return Err(LoginError::Invalid);
                }
                remember_verified(key);
            }
            if !creds.enabled {
                return Err(LoginError::Disabled);
            }
            let uuid = store.user_uuid(creds.id).await?.unwrap_or_default();
            Ok(Entity {
                kind: EntityKind::User,
                user_id: creds.id,
                username: creds.username,
                reference: uuid,
            })
        }
    }
}

/// How long a successful bcrypt check is remembered. Clients ask `/v2/auth` several times per
/// push or pull; bcrypt at Quay's cost takes ~250 ms each. Only successes are kept, keyed by a
/// hash of (user, password, stored hash): a password change or a wrong password misses.
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const VERIFIED_MAX: usize = 10_000;

type VerifiedMap = std::collections::HashMap<[u8; 32], std::time::Instant>;

fn verified() -> &'static std::sync::Mutex<VerifiedMap> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<VerifiedMap>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn verified_key(user: &str, password: &str, stored_hash: &str) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for part in [user, password, stored_hash] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

fn recently_verified(key: &[u8; 32]) -> bool {
    let Ok(map) = verified().lock() else { return false };
    map.get(key).is_some_and(|t| t.elapsed() < VERIFIED_TTL)
}

fn remember_verified(key: [u8; 32]) {
    if let Ok(mut map) = verified().lock() {
        if map.len() >= VERIFIED_MAX {
            map.retain(|_, t| t.elapsed() < VERIFIED_TTL);
            if map.len() >= VERIFIED_MAX {
                map.clear();
            }
        }
        map.insert(key, std::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verified_cache_keys_on_every_part() {
        let k = super::verified_key("alice", "pw", "$2b$hash");
        assert!(!super::recently_verified(&k));
        super::remember_verified(k);
        assert!(super::recently_verified(&k));
        assert!(!super::recently_verified(&super::verified_key("alice", "pw2", "$2b$hash")));
        assert!(!super::recently_verified(&super::verified_key("alice", "pw", "$2b$other")));
        assert!(!super::recently_verified(&super::verified_key("alicep", "w", "$2b$hash")));
    }

    #[test]
    fn basic_header() {
        assert_eq!(super::parse_basic("Basic YWxpY2U6cDpx"), Some(("alice".into(), "p:q".into())));
        assert_eq!(super::parse_basic("Bearer abc"), None);
        assert_eq!(super::parse_basic("Basic !!"), None);
    }
}
