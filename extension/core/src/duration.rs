//! Quay's duration strings (`DEFAULT_TAG_EXPIRATION`, `TAG_EXPIRATION_OPTIONS`, ...): a count and
//! one unit letter, `^\d+[wmdhs]$`, where `m` is minutes.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDuration(pub String);

impl fmt::Display for InvalidDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a duration: expected a number followed by one of w, d, h, m, s (e.g. \"2w\")",
            self.0
        )
    }
}

impl std::error::Error for InvalidDuration {}

/// Parses `"2w"` into seconds (1209600).
pub fn parse_seconds(text: &str) -> Result<u64, InvalidDuration> {
    let err = || InvalidDuration(text.to_string());
    let unit = text.chars().last().ok_or_else(err)?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let count: u64 = digits.parse().map_err(|_| err())?;
    let per = match unit {
        'w' => 7 * 24 * 3600,
        'd' => 24 * 3600,
        'h' => 3600,
        'm' => 60,
        's' => 1,
        _ => return Err(err()),
    };
    count.checked_mul(per).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_seconds("2w"), Ok(1_209_600));
        assert_eq!(parse_seconds("1d"), Ok(86_400));
        assert_eq!(parse_seconds("3h"), Ok(10_800));
        assert_eq!(parse_seconds("10m"), Ok(600));
        assert_eq!(parse_seconds("0s"), Ok(0));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "w", "2", "2y", "-1d", "1.5d", " 2w", "2W", "99999999999999999999w"] {
            assert!(parse_seconds(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
