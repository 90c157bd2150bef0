//! Values that must never reach a log line: secrets and database URIs with passwords.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A secret string (keys, tokens, passwords). `Debug` and `Display` print `<redacted>`;
/// the value is reachable only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Quay accepts DATABASE_SECRET_KEY as an int, a UUID or a string; YAML may hand us a number.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            U(u64),
        }
        Ok(Secret(match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::I(i) => i.to_string(),
            Raw::U(u) => u.to_string(),
        }))
    }
}

/// Quay's `DB_URI`. `Display`/`Debug` hide the password: `postgresql://quay:***@db/quay`.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUri(String);

impl DbUri {
    pub fn new(uri: impl Into<String>) -> Self {
        DbUri(uri.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URI with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let uri = &self.0;
        let Some(scheme_end) = uri.find("://") else { return uri.clone() };
        let rest = &uri[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let mut out = uri[..scheme_end + 3].to_string();
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        let tail = &rest[authority_end..];
        // libpq-style `password=` query parameters are secrets too.
        out.push_str(&redact_query_password(tail));
        out
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some(q) = tail.find('?') else { return tail.to_string() };
    let (path, query) = tail.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{path}{}", parts.join("&"))
}

impl fmt::Debug for DbUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for DbUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for DbUri {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(DbUri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn db_uri_password_is_redacted() {
        let cases = [
            ("postgresql://quay:s3cret@db:5432/quay", "postgresql://quay:***@db:5432/quay"),
            ("postgresql://quay@db/quay", "postgresql://quay@db/quay"),
            ("postgresql://db/quay?user=a&password=p@x", "postgresql://db/quay?user=a&password=***"),
            ("postgresql://u:p%40ss@h/d?sslmode=require", "postgresql://u:***@h/d?sslmode=require"),
            ("sqlite:////var/lib/quay/quay.db", "sqlite:////var/lib/quay/quay.db"),
        ];
        for (input, want) in cases {
            let uri = DbUri::new(input);
            assert_eq!(uri.to_string(), want);
            assert!(!format!("{uri:?}").contains("s3cret"));
        }
    }
}
