//! Name rules shared by every entry point (Quay's `util/validation.py` and `util/names.py`).

/// Users, organizations and robot short names: `^[a-z0-9]+([._-][a-z0-9]+)*$`, 2 to 255 chars.
pub fn is_valid_username(name: &str) -> bool {
    if name.len() < 2 || name.len() > 255 {
        return false;
    }
    let mut prev_sep = true; // the first char must not be a separator
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => prev_sep = false,
            b'.' | b'_' | b'-' if !prev_sep => prev_sep = true,
            _ => return false,
        }
    }
    !prev_sep
}

/// Tag names clients may use: `^[\w][\w.-]{0,127}$` over ASCII (internal `$temp-` names never match).
pub fn is_valid_tag(name: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..].iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// A content digest we store: `sha256:` + 64 or `sha512:` + 128 lowercase hex digits.
pub fn is_valid_digest(digest: &str) -> bool {
    let hex_of =
        |s: &str, n: usize| s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match digest.split_once(':') {
        Some(("sha256", h)) => hex_of(h, 64),
        Some(("sha512", h)) => hex_of(h, 128),
        _ => false,
    }
}

/// Repository names (Quay's extended names): `/`-separated segments `[a-z0-9][.a-z0-9_-]*`, at
/// most 255 characters in all.
pub fn is_valid_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|seg| {
            let b = seg.as_bytes();
            !b.is_empty()
                && matches!(b[0], b'a'..=b'z' | b'0'..=b'9')
                && b[1..].iter().all(|&c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests() {
        for ok in ["latest", "v1.0", "_x", "A-b.c", &"a".repeat(128)] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["", ".x", "-x", "$temp-1", "a/b", "é", &"a".repeat(129)] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
        assert!(is_valid_digest(&format!("sha256:{}", "0a".repeat(32))));
        assert!(is_valid_digest(&format!("sha512:{}", "f".repeat(128))));
        for bad in ["sha256:abc", "md5:00", &format!("sha256:{}", "A".repeat(64)), "sha256"] {
            assert!(!is_valid_digest(bad), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        for ok in ["admin", "a1", "my.org", "my_org-2", "0x"] {
            assert!(is_valid_username(ok), "{ok}");
        }
        for bad in ["a", "Admin", "my..org", "-ab", "ab-", "a b", "a+b", "", &"a".repeat(256)] {
            assert!(!is_valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn repository_names() {
        for ok in ["app", "a", "team/app", "a.b_c-d/e0", &"a".repeat(255)] {
            assert!(is_valid_repository_name(ok), "{ok}");
        }
        for bad in ["", "App", "/a", "a/", "a//b", ".a", "a/-b", "a b", &"a".repeat(256)] {
            assert!(!is_valid_repository_name(bad), "{bad}");
        }
    }
}
