//! Quay's encrypted database fields (robot tokens, app-token secrets, mirror credentials, ...):
//! `v0$$` + base64(nonce[13] ‖ ciphertext ‖ tag[16]), AES-256-CCM without associated data, keyed
//! by `DATABASE_SECRET_KEY` through Quay's `convert_secret_key` (quay-data-model.md §7). Values
//! written here decrypt in Python Quay and the other way round (the golden vectors below).

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ccm::Ccm;
use ccm::aead::{Aead, KeyInit, generic_array::GenericArray};
use ccm::consts::{U13, U16};

type AesCcm = Ccm<Aes256, U16, U13>;

const VERSION: &str = "v0";
const SEPARATOR: &str = "$$";
const NONCE_LEN: usize = 13;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncryptionError {
    #[error("DATABASE_SECRET_KEY is empty")]
    EmptyKey,
    #[error("DATABASE_SECRET_KEY has a character above U+00FF, which Quay cannot use either")]
    KeyCharacter,
    #[error("encrypted value is malformed or was made with another DATABASE_SECRET_KEY")]
    Decryption,
    #[error("value of {0} bytes does not fit its column once encrypted")]
    TooLong(usize),
}

/// Python's `int(s)` for decimal strings: surrounding whitespace, one sign, `_` between digits.
/// Returns the magnitude's decimal digits and whether it is negative. (Non-ASCII Unicode digits,
/// which Python also accepts, are not: such keys fall through to the raw form.)
fn python_int(s: &str) -> Option<(Vec<u8>, bool)> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let mut digits = Vec::with_capacity(body.len());
    let mut prev_underscore = true; // no leading underscore
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                prev_underscore = false;
            }
            b'_' if !prev_underscore => prev_underscore = true,
            _ => return None,
        }
    }
    if digits.is_empty() || prev_underscore {
        return None;
    }
    Some((digits, neg))
}

/// Lower-case hex of a decimal number given as digits, like Python's `"{:02x}".format(n)`.
fn decimal_to_hex(digits: &[u8]) -> String {
    // Repeated division by 16 of the decimal digit string.
    let mut num: Vec<u8> = digits.iter().copied().skip_while(|d| *d == 0).collect();
    let mut hex = Vec::new();
    while !num.is_empty() {
        let mut rem = 0u32;
        let mut next = Vec::with_capacity(num.len());
        for d in &num {
            let cur = rem * 10 + u32::from(*d);
            let q = (cur / 16) as u8;
            rem = cur % 16;
            if !(next.is_empty() && q == 0) {
                next.push(q);
            }
        }
        hex.push(char::from_digit(rem, 16).unwrap_or('0'));
        num = next;
    }
    while hex.len() < 2 {
        hex.push('0');
    }
    hex.iter().rev().collect()
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// Python's `uuid.UUID(s)` acceptance: optional `urn:`/`uuid:`, braces, any `-`, 32 hex digits.
fn python_uuid(s: &str) -> Option<Vec<u8>> {
    let h = s.replace("urn:", "").replace("uuid:", "");
    let h = h.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    hex_bytes(&h)
}

/// Quay's `convert_secret_key`: integer form, else UUID form, else the characters' code points;
/// then cycled or truncated to 32 bytes.
pub fn convert_secret_key(secret: &str) -> Result<[u8; 32], EncryptionError> {
    let source: Vec<u8> = match python_int(secret) {
        Some((digits, false)) => hex_bytes(&decimal_to_hex(&digits)),
        _ => None,
    }
    .or_else(|| python_uuid(secret))
    .map_or_else(
        || {
            secret
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| EncryptionError::KeyCharacter))
                .collect()
        },
        Ok,
    )?;
    if source.is_empty() {
        return Err(EncryptionError::EmptyKey);
    }
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = source[i % source.len()];
    }
    Ok(key)
}

/// Encrypts and decrypts field values with one key.
#[derive(Clone)]
pub struct FieldEncrypter {
    cipher: AesCcm,
}

impl std::fmt::Debug for FieldEncrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldEncrypter(***)")
    }
}

impl FieldEncrypter {
    pub fn new(database_secret_key: &str) -> Result<Self, EncryptionError> {
        let key = convert_secret_key(database_secret_key)?;
        Ok(FieldEncrypter { cipher: AesCcm::new(GenericArray::from_slice(&key)) })
    }

    /// Encrypts `plaintext` for a column of `max_len` characters (`None`: a text column).
    pub fn encrypt(&self, plaintext: &str, max_len: Option<usize>) -> Result<String, EncryptionError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|_| EncryptionError::Decryption)?;
        self.encrypt_with_nonce(plaintext, &nonce, max_len)
    }

    fn encrypt_with_nonce(
        &self,
        plaintext: &str,
        nonce: &[u8; NONCE_LEN],
        max_len: Option<usize>,
    ) -> Result<String, EncryptionError> {
        if plaintext.len() > 65_535 {
            return Err(EncryptionError::TooLong(plaintext.len()));
        }
        let sealed = self
            .cipher
            .encrypt(GenericArray::from_slice(nonce), plaintext.as_bytes())
            .map_err(|_| EncryptionError::TooLong(plaintext.len()))?;
        let mut framed = Vec::with_capacity(NONCE_LEN + sealed.len());
        framed.extend_from_slice(nonce);
        framed.extend_from_slice(&sealed);
        let value = format!("{VERSION}{SEPARATOR}{}", STANDARD.encode(framed));
        match max_len {
            Some(limit) if value.len() > limit => Err(EncryptionError::TooLong(plaintext.len())),
            _ => Ok(value),
        }
    }

    pub fn decrypt(&self, value: &str) -> Result<String, EncryptionError> {
        let (version, data) = value.split_once(SEPARATOR).ok_or(EncryptionError::Decryption)?;
        if version != VERSION {
            return Err(EncryptionError::Decryption);
        }
        let raw = STANDARD.decode(data).map_err(|_| EncryptionError::Decryption)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(EncryptionError::Decryption);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(GenericArray::from_slice(nonce), sealed)
            .map_err(|_| EncryptionError::Decryption)?;
        String::from_utf8(plain).map_err(|_| EncryptionError::Decryption)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn nonce(h: &str) -> [u8; 13] {
        hex_bytes(h).and_then(|v| v.try_into().ok()).expect("13-byte nonce")
    }

    #[test]
    fn key_derivation_matches_quays_golden_vectors() {
        for (secret, key) in [
            ("test1234", "7465737431323334746573743132333474657374313233347465737431323334"),
            ("1234567890123456789", "112210f47de98115112210f47de98115112210f47de98115112210f47de98115"),
            (
                "2ae9a2ed-6b93-4b25-9a66-5ff2ab0a9d3c",
                "2ae9a2ed6b934b259a665ff2ab0a9d3c2ae9a2ed6b934b259a665ff2ab0a9d3c",
            ),
            ("256", "3235363235363235363235363235363235363235363235363235363235363235"),
            (
                "this-is-a-very-long-database-secret-key-over-32-bytes",
                "746869732d69732d612d766572792d6c6f6e672d64617461626173652d736563",
            ),
        ] {
            assert_eq!(hex(&convert_secret_key(secret).expect(secret)), key, "{secret}");
        }
        // Python int() forms: whitespace, sign, underscores; "5" -> 05; negative -> raw chars.
        assert_eq!(convert_secret_key(" 255 ").expect("k"), [0xff; 32]);
        assert_eq!(convert_secret_key("2_5_5").expect("k"), [0xff; 32]);
        assert_eq!(convert_secret_key("5").expect("k"), [0x05; 32]);
        assert_eq!(convert_secret_key("-255").expect("k")[..4], *b"-255");
        assert_eq!(convert_secret_key(""), Err(EncryptionError::EmptyKey));
        assert_eq!(convert_secret_key("ключ"), Err(EncryptionError::KeyCharacter));
    }

    #[test]
    fn encryption_matches_quays_golden_vectors() {
        let cases = [
            (
                "test1234",
                "hello world",
                "000102030405060708090a0b0c",
                "v0$$AAECAwQFBgcICQoLDDnyXx9eGpClHCbrafwht0ir8NWMxGpbaE+XEg==",
            ),
            (
                "1234567890123456789",
                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ01",
                "a5a5a5a5a5a5a5a5a5a5a5a5a5",
                "v0$$paWlpaWlpaWlpaWlpRohFFfdc8u2012TPka69IYo9b279Wmak4P13mun474AqDgJxSVs4/wZYM7JkN2S7LtqzcHxjml0uX59rWfFVWkbEhGwYTIvCzEUXGcQ/mXO",
            ),
            (
                "2ae9a2ed-6b93-4b25-9a66-5ff2ab0a9d3c",
                "s3cr3t-p@ss",
                "0102030405060708090a0b0c0d",
                "v0$$AQIDBAUGBwgJCgsMDS2YGeLC6monVES3aVQtJcco6yDVvQeM/8f7yw==",
            ),
            ("256", "", "00000000000000000000000000", "v0$$AAAAAAAAAAAAAAAAAKNm/Sta+EEyf0rtrEFg718="),
            (
                "this-is-a-very-long-database-secret-key-over-32-bytes",
                "pässwörd ✓",
                "ffeeddccbbaa99887766554433",
                "v0$$/+7dzLuqmYh3ZlVEMx4ZVOUDhlATwknCO+zo+vxAA6/eTb37W3d+VRPyog==",
            ),
        ];
        for (key, plain, n, stored) in cases {
            let e = FieldEncrypter::new(key).expect("key");
            assert_eq!(e.encrypt_with_nonce(plain, &nonce(n), Some(255)).expect("encrypt"), stored, "{key}");
            assert_eq!(e.decrypt(stored).expect("decrypt"), plain);
            let fresh = e.encrypt(plain, None).expect("encrypt");
            assert_ne!(fresh, stored, "random nonce");
            assert_eq!(e.decrypt(&fresh).expect("round trip"), plain);
        }
    }

    #[test]
    fn decrypts_values_python_quay_wrote() {
        let t = FieldEncrypter::new("test1234").expect("key");
        assert_eq!(t.decrypt("v0$$iE+87Qefu/2i+5zC87nlUtOskypk8MUUDS/QZPs=").expect("d"), "");
        assert_eq!(
            t.decrypt("v0$$XTxqlz/Kw8s9WKw+GaSvXFEKgpO/a2cGNhvnozzkaUh4C+FgHqZqnA==").expect("d"),
            "hello world"
        );
        let c = FieldEncrypter::new("\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}").expect("key");
        assert_eq!(
            c.decrypt("v0$$2wwWX8IhUYzuh4cyMgSXF3MEVDlEhrf0CNimTghlHgCuK6E4+bLJb1xJOKxsXMs=").expect("d"),
            "hello world, again"
        );
    }

    #[test]
    fn rejects_what_quay_rejects() {
        let t = FieldEncrypter::new("test1234").expect("key");
        for bad in ["", "somerandomvalue", "v1$$abcd", "v0$$abcd", "v0$$!!!!"] {
            assert_eq!(t.decrypt(bad), Err(EncryptionError::Decryption), "{bad}");
        }
        let other = FieldEncrypter::new("another key").expect("key");
        assert_eq!(
            other.decrypt("v0$$AAECAwQFBgcICQoLDDnyXx9eGpClHCbrafwht0ir8NWMxGpbaE+XEg=="),
            Err(EncryptionError::Decryption)
        );
        // 158 bytes no longer fit a varchar(255) (Quay: at most 157).
        assert!(t.encrypt(&"A".repeat(157), Some(255)).is_ok());
        assert_eq!(t.encrypt(&"A".repeat(158), Some(255)), Err(EncryptionError::TooLong(158)));
    }
}
