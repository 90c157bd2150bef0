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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["admin", "a1", "my.org", "my_org-2", "0x"] {
            assert!(is_valid_username(ok), "{ok}");
        }
        for bad in ["a", "Admin", "my..org", "-ab", "ab-", "a b", "a+b", "", &"a".repeat(256)] {
            assert!(!is_valid_username(bad), "{bad}");
        }
    }
}
