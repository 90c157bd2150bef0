//! Passwords the way Quay stores them: bcrypt `$2b$12$`, input truncated to 72 bytes (Quay pins
//! bcrypt 3.1.7, which truncates silently), `$2a$`/`$2y$` hashes accepted.

/// bcrypt's cost factor as Quay's `gensalt()` default.
pub const COST: u32 = 12;

fn truncated(password: &str) -> &[u8] {
    let b = password.as_bytes();
    &b[..b.len().min(72)]
}

/// Quay's policy for database users (`validate_password`): at least 8 characters, no whitespace.
pub fn check_policy(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 8 {
        return Err("password must be at least 8 characters");
    }
    if password.chars().any(char::is_whitespace) {
        return Err("password must not contain whitespace");
    }
    if password.contains('\0') {
        return Err("password must not contain a NUL character");
    }
    Ok(())
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    Ok(bcrypt::hash_with_result(truncated(password), COST)?.format_for_version(bcrypt::Version::TwoB))
}

/// Constant-time bcrypt comparison; `false` for malformed hashes and NUL-containing input.
pub fn verify(password: &str, stored_hash: &str) -> bool {
    if password.contains('\0') {
        return false;
    }
    bcrypt::verify(truncated(password), stored_hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_golden_vector_verifies() {
        let h = "$2b$12$abcdefghijklmnopqrstuutwZ1IOTtu3SsEBT5lI/LFncP31tIybm";
        assert!(verify("password", h));
        assert!(!verify("Password", h));
        assert!(verify("password", &h.replacen("$2b$", "$2y$", 1)));
        assert!(verify("password", &h.replacen("$2b$", "$2a$", 1)));
        assert!(!verify("password", "not-a-hash"));
    }

    #[test]
    fn hashes_are_2b_cost_12_and_truncate_at_72_bytes() {
        let long = "x".repeat(80);
        let h = hash(&long).expect("hash");
        assert!(h.starts_with("$2b$12$") && h.len() == 60, "{h}");
        assert!(verify(&"x".repeat(72), &h), "bytes past 72 are ignored, as in Quay");
    }

    #[test]
    fn policy() {
        assert!(check_policy("longenough").is_ok());
        assert!(check_policy("short").is_err());
        assert!(check_policy("has space in it").is_err());
    }
}
