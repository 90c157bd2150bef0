//! Registry bearer tokens: RS256 JWTs signed with the instance service key, with Quay's header
//! (`kid` = RFC 7638 thumbprint) and claims (`iss`, `aud`, `nbf`/`iat`/`exp`, `sub`, `access`,
//! `context`), and their validation on `/v2` routes (quay-http-surface.md §2.2, §2.4).

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::path::Path;

/// Token lifetime (Quay: 3600 s).
pub const TOKEN_LIFETIME_S: u64 = 3600;
/// Clock skew tolerated when validating.
pub const LEEWAY_S: u64 = 30;

/// One `access` entry: a repository and the actions granted on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub nbf: u64,
    pub iat: u64,
    pub exp: u64,
    /// The username; `(anonymous)`; null for a delegate token (as Quay), absent accepted.
    #[serde(default)]
    pub sub: Option<String>,
    pub access: Vec<Access>,
    pub context: serde_json::Value,
}

/// The instance service key: private key for signing, public parts for the JWK and `kid`.
pub struct InstanceKey {
    pub kid: String,
    /// The public JWK (`kty`, `n`, `e`, `kid`, `alg`, `use`) as published in `servicekey.jwk`.
    pub jwk: serde_json::Value,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl InstanceKey {
    /// Reads a PEM private key (PKCS#1 or PKCS#8).
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
            .context("not an RSA private key in PEM form")?;
        Self::from_key(&key)
    }

    pub fn generate() -> anyhow::Result<(Self, String)> {
        let key =
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).context("RSA key generation failed")?;
        let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).context("cannot encode the key")?;
        Ok((Self::from_key(&key)?, pem.to_string()))
    }

    fn from_key(key: &rsa::RsaPrivateKey) -> anyhow::Result<Self> {
        let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        let kid = thumbprint(&n, &e);
        let der = key.to_pkcs1_der().context("cannot encode the key")?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let decoding = DecodingKey::from_rsa_components(&n, &e).context("bad public key")?;
        let jwk = serde_json::json!({"kty": "RSA", "n": n, "e": e, "kid": kid, "alg": "RS256", "use": "sig"});
        Ok(InstanceKey { kid, jwk, encoding, decoding })
    }

    /// Loads the key at `pem_path`, or generates one there (0600) when the file does not exist.
    pub fn load_or_create(pem_path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(pem_path) {
            Ok(pem) => Self::from_pem(&pem).with_context(|| format!("instance key {}", pem_path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (key, pem) = Self::generate()?;
                write_private(pem_path, &pem)?;
                Ok(key)
            }
            Err(e) => Err(e).with_context(|| format!("cannot read instance key {}", pem_path.display())),
        }
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("cannot sign token")
    }
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(pem.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// RFC 7638 thumbprint of an RSA public key: base64url(sha256 of the canonical JWK).
pub fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// A public key for validation, from a stored JWK.
pub fn decoding_key_from_jwk(jwk: &serde_json::Value) -> Option<DecodingKey> {
    let n = jwk.get("n")?.as_str()?;
    let e = jwk.get("e")?.as_str()?;
    DecodingKey::from_rsa_components(n, e).ok()
}

/// Why a presented token was refused (the message goes into the 401 body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidToken(pub String);

/// The `kid` of a token, before its signature is checked.
pub fn token_kid(token: &str) -> Result<String, InvalidToken> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| InvalidToken(format!("Invalid token: {e}")))?;
    if header.alg != Algorithm::RS256 {
        return Err(InvalidToken("Invalid token: only RS256 is accepted".into()));
    }
    header.kid.ok_or_else(|| InvalidToken("Invalid token: no kid in header".into()))
}

/// Validates signature, `aud`, `iss`, time claims (30 s leeway, `exp - iat` at most
/// `max_fresh_s`, `iat` not in the future) and the `access` shape.
pub fn validate(
    token: &str,
    key: &DecodingKey,
    audience: &str,
    issuer: &str,
    max_fresh_s: u64,
    now: u64,
) -> Result<Claims, InvalidToken> {
    let mut v = Validation::new(Algorithm::RS256);
    v.leeway = LEEWAY_S;
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "nbf", "iat", "aud", "iss"]);
    v.validate_nbf = true;
    let data = jsonwebtoken::decode::<Claims>(token, key, &v)
        .map_err(|e| InvalidToken(format!("Invalid token: {e}")))?;
    let c = data.claims;
    if c.iat > now + LEEWAY_S {
        return Err(InvalidToken("Invalid token: issued in the future".into()));
    }
    if c.exp.saturating_sub(c.iat) > max_fresh_s {
        return Err(InvalidToken("Invalid token: lifetime exceeds the maximum".into()));
    }
    for a in &c.access {
        if a.kind != "repository" || a.actions.iter().any(|x| !matches!(x.as_str(), "push" | "pull" | "*")) {
            return Err(InvalidToken("Invalid token: malformed access claim".into()));
        }
    }
    Ok(c)
}

impl InstanceKey {
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// Seconds since the epoch.
pub fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: u64) -> Claims {
        Claims {
            iss: "quay".into(),
            aud: "reg.example:5000".into(),
            nbf: now,
            iat: now,
            exp: now + TOKEN_LIFETIME_S,
            sub: Some("alice".into()),
            access: vec![Access {
                kind: "repository".into(),
                name: "alice/app".into(),
                actions: vec!["pull".into()],
            }],
            context: serde_json::json!({"version": 2, "entity_kind": "user"}),
        }
    }

    #[test]
    fn sign_validate_and_refuse() {
        let (key, pem) = InstanceKey::generate().expect("key");
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let reread = InstanceKey::from_pem(&pem).expect("pem");
        assert_eq!(reread.kid, key.kid);
        let now = now_s();
        let token = key.sign(&claims(now)).expect("sign");
        assert_eq!(token_kid(&token).expect("kid"), key.kid);
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let c = validate(&token, key.decoding(), "reg.example:5000", "quay", 3660, now).expect("valid");
        assert_eq!(c, claims(now));
        assert!(validate(&token, key.decoding(), "other", "quay", 3660, now).is_err());
        assert!(validate(&token, key.decoding(), "reg.example:5000", "nope", 3660, now).is_err());
        let mut long = claims(now);
        long.exp = now + 7200;
        let t = key.sign(&long).expect("sign");
        assert!(validate(&t, key.decoding(), "reg.example:5000", "quay", 3660, now).is_err());
        let mut old = claims(now - 4000);
        old.exp = now - 400;
        let t = key.sign(&old).expect("sign");
        assert!(validate(&t, key.decoding(), "reg.example:5000", "quay", 3660, now).is_err());
        let (other, _) = InstanceKey::generate().expect("key");
        assert!(validate(&token, other.decoding(), "reg.example:5000", "quay", 3660, now).is_err());
        let tampered = format!("{}x", &token[..token.len() - 1]);
        assert!(validate(&tampered, key.decoding(), "reg.example:5000", "quay", 3660, now).is_err());
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // The example key of RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
