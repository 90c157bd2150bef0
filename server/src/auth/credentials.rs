//! Who a registry client is, from HTTP Basic credentials (quay-http-surface.md §2.1): a database
//! user (bcrypt), a robot `owner+name` with its field-encrypted token, `$app` with an
//! app-specific token, `$token` with a repository delegate token, or `$oauthtoken` with an OAuth
//! access token (roles capped by its scopes). OIDC/SSO JWTs as `$oauthtoken` are not accepted.

use super::field_encryption::FieldEncrypter;
use super::password;
use crate::store::credentials::StoredSecret;
use crate::store::{Store, StoreError};
use base64::Engine as _;
use quay_core::permissions::Role;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub kind: EntityKind,
    /// The acting user: the user, robot, or owner of an app or OAuth token; none for a delegate
    /// token.
    pub user_id: Option<i64>,
    /// The JWT `sub`: username, robot name, or the token's owner (null for a delegate token).
    pub username: Option<String>,
    /// `context.entity_reference`: user uuid, robot name, app/OAuth token uuid, delegate code.
    pub reference: String,
    pub limit: Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    User,
    Robot,
    AppSpecificToken,
    AccessToken,
    OAuthToken,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Robot => "robot",
            EntityKind::AppSpecificToken => "appspecifictoken",
            EntityKind::AccessToken => "token",
            EntityKind::OAuthToken => "oauthtoken",
        }
    }
}

/// What a credential may do beyond (or instead of) its user's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Limit {
    /// The user's own roles (passwords, robots, app tokens: Quay's `direct_user_login`).
    #[default]
    Unlimited,
    /// A delegate token: exactly `role` on repository `id`, nothing elsewhere.
    Repository { id: i64, role: Option<Role> },
    /// An OAuth token: the user's roles capped at `max`; creating repositories only with `create`.
    Scopes { max: Option<Role>, create: bool },
}

impl Limit {
    /// From an OAuth token's space-separated scopes (Quay's `SCOPE_MAX_REPO_ROLES`; `repo:create`
    /// or `org:admin` allow creating repositories).
    pub fn from_oauth_scopes(scopes: &str) -> Limit {
        let mut max = None;
        let mut create = false;
        for s in scopes.split([' ', ',']).filter(|s| !s.is_empty()) {
            let role = match s {
                "repo:read" => Some(Role::Read),
                "repo:write" => Some(Role::Write),
                "repo:admin" => Some(Role::Admin),
                _ => None,
            };
            max = max.max(role);
            create |= matches!(s, "repo:create" | "org:admin");
        }
        Limit::Scopes { max, create }
    }

    /// The role on `repository_id`, given the user's own role there.
    pub fn apply(self, repository_id: i64, user_role: Option<Role>) -> Option<Role> {
        match self {
            Limit::Unlimited => user_role,
            Limit::Repository { id, role } => role.filter(|_| id == repository_id),
            Limit::Scopes { max, .. } => user_role.min(max),
        }
    }

    /// May this credential create repositories (where its user may)?
    pub fn may_create(self) -> bool {
        match self {
            Limit::Unlimited => true,
            Limit::Repository { .. } => false,
            Limit::Scopes { create, .. } => create,
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
    /// Quay's login back-off: wrong passwords in a row; a password login waits this many seconds.
    #[error("Too many login attempts. \nPlease reset your Quay password and try again.")]
    Throttled(u64),
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
        "$token" => {
            let stored = delegate_token(store, secret, encrypter).await?.ok_or(LoginError::Invalid)?;
            Ok(Entity {
                kind: EntityKind::AccessToken,
                user_id: None,
                username: None,
                reference: secret.to_string(),
                limit: Limit::Repository { id: stored.repository_id, role: stored.role },
            })
        }
        "$oauthtoken" => {
            let t = oauth_token(store, secret).await?;
            Ok(Entity {
                kind: EntityKind::OAuthToken,
                user_id: Some(t.user_id),
                username: Some(t.username),
                reference: t.uuid,
                limit: Limit::from_oauth_scopes(&t.scope),
            })
        }
        "$app" if app_tokens_enabled => {
            if secret.len() != 120 || !secret.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return Err(LoginError::Invalid);
            }
            let (name, rest) = secret.split_at(60);
            let stored = check_stored(store.app_token_secret(name, false).await?, rest, encrypter)?;
            Ok(Entity {
                kind: EntityKind::AppSpecificToken,
                user_id: Some(stored.user_id),
                username: Some(stored.username),
                reference: stored.uuid,
                limit: Limit::Unlimited,
            })
        }
        robot if robot.contains('+') => {
            let stored = check_stored(store.robot_secret(robot).await?, secret, encrypter)?;
            Ok(Entity {
                kind: EntityKind::Robot,
                user_id: Some(stored.user_id),
                username: Some(robot.to_string()),
                reference: robot.to_string(),
                limit: Limit::Unlimited,
            })
        }
        user => {
            let creds = store.user_credentials(user).await?.ok_or(LoginError::Invalid)?;
            if creds.organization || creds.robot {
                return Err(LoginError::Invalid);
            }
            // Quay checks the back-off before the password: a right one waits too.
            if let Some(ms) = creds.login_retry_after_ms() {
                return Err(LoginError::Throttled(u64::try_from(ms).unwrap_or(0).div_ceil(1000)));
            }
            let hash = creds.password_hash.clone().ok_or(LoginError::Invalid)?;
            let key = verified_key(&creds.username, secret, &hash);
            if recently_verified(&key) {
                // This very password was checked moments ago: no guess is being made.
                if creds.failed_logins > 0 {
                    store.login_reset(creds.id).await;
                }
            } else {
                // Once a name has failed, each attempt is counted before bcrypt, so concurrent
                // guesses cannot share a back-off step (the ones that lose the count are
                // throttled). A name without failures is not claimed: parallel logins with the
                // right password all pass; a wrong one is counted after its check.
                let claimed = creds.failed_logins > 0;
                if claimed && !store.login_claim(creds.id, creds.failed_logins).await {
                    return Err(LoginError::Throttled(1));
                }
                let pw = secret.to_string();
                let ok =
                    tokio::task::spawn_blocking(move || password::verify(&pw, &hash)).await.unwrap_or(false);
                if !ok {
                    if !claimed {
                        store.login_failed(creds.id).await;
                    }
                    return Err(LoginError::Invalid);
                }
                remember_verified(key);
                if claimed {
                    store.login_reset(creds.id).await;
                }
            }
            if !creds.enabled {
                return Err(LoginError::Disabled);
            }
            let uuid = store.user_uuid(creds.id).await?.unwrap_or_default();
            Ok(Entity {
                kind: EntityKind::User,
                user_id: Some(creds.id),
                username: Some(creds.username),
                reference: uuid,
                limit: Limit::Unlimited,
            })
        }
    }
}

/// A bcrypt check on the blocking pool, successes remembered (see [`VERIFIED_TTL`]).
async fn bcrypt_matches(who: &str, secret: &str, hash: String) -> bool {
    let key = verified_key(who, secret, &hash);
    if recently_verified(&key) {
        return true;
    }
    let pw = secret.to_string();
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash)).await.unwrap_or(false);
    if ok {
        remember_verified(key);
    }
    ok
}

/// A delegate token code (`$token`): 32-character public name, then at least 32 characters that
/// must equal the decrypted `token_code`. `None` when it does not check out.
pub async fn delegate_token(
    store: &Store,
    code: &str,
    encrypter: Option<&FieldEncrypter>,
) -> Result<Option<crate::store::credentials::StoredAccessToken>, StoreError> {
    if code.len() < 64 || !code.is_ascii() {
        return Ok(None);
    }
    let (name, rest) = code.split_at(32);
    let Some(stored) = store.access_token(name).await? else { return Ok(None) };
    let plain = encrypter.and_then(|e| e.decrypt(&stored.encrypted).ok());
    Ok(plain.is_some_and(|p| same(&p, rest)).then_some(stored))
}

/// An OAuth access token (`$oauthtoken`): 20-character public name, bcrypt of the rest; refused
/// when expired or its user is disabled.
pub async fn oauth_token(
    store: &Store,
    token: &str,
) -> Result<crate::store::credentials::StoredOAuthToken, LoginError> {
    if token.splitn(4, '.').count() == 3 {
        return Err(LoginError::Unsupported("SSO/OIDC JWTs as $oauthtoken"));
    }
    if token.len() <= 20 || !token.is_ascii() {
        return Err(LoginError::Invalid);
    }
    let (name, rest) = token.split_at(20);
    let t = store.oauth_token(name, false).await?.ok_or(LoginError::Invalid)?;
    if !bcrypt_matches(&t.uuid, rest, t.code_hash.clone()).await || !t.unexpired {
        return Err(LoginError::Invalid);
    }
    if !t.user_enabled {
        return Err(LoginError::Disabled);
    }
    Ok(t)
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
