//! Browser sessions for `/api/v1`, kept entirely in a signed cookie (as Quay's Flask session), so
//! every pod verifies them and a restart keeps them: `v1.<b64url(JSON)>.<b64url(HMAC-SHA256)>`
//! under a key derived from `SECRET_KEY`. A session names its user by uuid, carries its CSRF
//! token and the time of the last password sign-in (fresh-login checks).

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The cookie's name (Quay's session cookie is named the same).
pub const COOKIE: &str = "_csrf_token";

/// The key sessions are signed with.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// Derived from `SECRET_KEY` (so every pod with the same config shares it).
    pub fn derive(secret: &str) -> SessionKey {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(b"quay-session");
        SessionKey(mac.finalize().into_bytes().into())
    }

    /// A random key (sessions then last as long as this process).
    pub fn random() -> SessionKey {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).expect("the OS random source works");
        SessionKey(k)
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }
}

/// What a session holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The signed-in user's uuid (`None`: an anonymous session, e.g. only a CSRF token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// When the user last signed in with a password (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_s: Option<i64>,
    /// When the session began (epoch seconds); it lapses `PERMANENT_SESSION_LIFETIME` later.
    pub iat_s: i64,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cookie value of a session.
pub fn encode(key: &SessionKey, s: &Session) -> String {
    let payload = B64.encode(serde_json::to_vec(s).unwrap_or_default());
    let tag = B64.encode(key.mac(payload.as_bytes()).finalize().into_bytes());
    format!("v1.{payload}.{tag}")
}

/// The session in a cookie value, if its signature holds and it has not lapsed.
pub fn decode(key: &SessionKey, value: &str, now_s: i64, lifetime_s: i64) -> Option<Session> {
    let rest = value.strip_prefix("v1.")?;
    let (payload, tag) = rest.split_once('.')?;
    let tag = B64.decode(tag).ok()?;
    key.mac(payload.as_bytes()).verify_slice(&tag).ok()?;
    let s: Session = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    (s.iat_s <= now_s + 60 && now_s - s.iat_s < lifetime_s).then_some(s)
}

/// An opaque, signed token over `value` (page cursors): a random nonce makes each one new, and
/// [`open`] refuses any that this key did not sign.
pub fn seal(key: &SessionKey, value: &serde_json::Value) -> String {
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).expect("the OS random source works");
    let payload = B64.encode(
        serde_json::to_vec(&serde_json::json!({"v": value, "n": B64.encode(nonce)})).unwrap_or_default(),
    );
    let tag = B64.encode(key.mac(&sealed_input(&payload)).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// What a sealed token's MAC covers: a domain prefix, so a page token can never pass as a
/// session cookie (or the reverse).
fn sealed_input(payload: &str) -> Vec<u8> {
    [b"page-token:".as_slice(), payload.as_bytes()].concat()
}

/// The value of a token made by [`seal`] with this key.
pub fn open(key: &SessionKey, token: &str) -> Option<serde_json::Value> {
    let (payload, tag) = token.split_once('.')?;
    key.mac(&sealed_input(payload)).verify_slice(&B64.decode(tag).ok()?).ok()?;
    let mut v: serde_json::Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    Some(v["v"].take())
}

/// A new CSRF token: 48 random bytes, base64 (64 characters).
pub fn new_csrf_token() -> String {
    let mut b = [0u8; 48];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Equal, in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_sessions_round_trip_and_tampering_is_refused() {
        let k = SessionKey::derive("secret");
        let s =
            Session { uid: Some("u-1".into()), csrf: Some(new_csrf_token()), login_s: Some(10), iat_s: 100 };
        let v = encode(&k, &s);
        assert_eq!(decode(&k, &v, 200, 1000), Some(s.clone()));
        // Another key, an expired session, an edited payload: refused.
        assert_eq!(decode(&SessionKey::derive("other"), &v, 200, 1000), None);
        assert_eq!(decode(&k, &v, 1200, 1000), None);
        let forged = Session { uid: Some("admin".into()), ..s };
        let forged_payload = B64.encode(serde_json::to_vec(&forged).expect("json"));
        let tag = v.rsplit('.').next().expect("tag");
        assert_eq!(decode(&k, &format!("v1.{forged_payload}.{tag}"), 200, 1000), None);
        assert_eq!(decode(&k, "garbage", 200, 1000), None);
        assert_eq!(new_csrf_token().len(), 64);
        let t = seal(&k, &serde_json::json!({"after": 5}));
        assert_ne!(t, seal(&k, &serde_json::json!({"after": 5})));
        assert_eq!(open(&k, &t), Some(serde_json::json!({"after": 5})));
        assert_eq!(open(&SessionKey::derive("other"), &t), None);
        assert_eq!(open(&k, "garbage"), None);
    }
}
