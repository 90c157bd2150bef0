//! Manifest labels, written once for both backends: adding one (from the API, or from an
//! image's config at push time) and deleting one, each with its action log in the same
//! transaction (account: the namespace; repository: this one).

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, named, run};
use crate::logs::{self, LogEntry};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/labels.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// Label value types (`mediatype` rows Quay allows for labels).
pub const MEDIA_TYPES: [&str; 2] = ["text/plain", "application/json"];
/// Key prefixes reserved for Docker (Quay's `RESERVED_PREFIXES`).
pub const RESERVED_PREFIXES: [&str; 3] = ["com.docker.", "io.docker.", "org.dockerproject."];

/// Quay's label key rule: `^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$`, at most 255 chars.
pub fn is_valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 255 {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    b.windows(2).all(|w| match (w[0], w[1]) {
        (a, _) if !alnum(a) && a != b'-' && a != b'.' => false,
        (b'-' | b'.', b'-' | b'.') => false,
        _ => true,
    }) && b.iter().all(|c| alnum(*c) || *c == b'-' || *c == b'.')
}

fn manifest(ex: &mut dyn Executor, repository_id: i64, digest: &str) -> CoreResult<i64> {
    first_int(&q(ex, "manifest_of", &[Value::Int(repository_id), Value::text(digest)])?).ok_or_else(|| {
        invalid(Rule::ManifestUnknown, format!("manifest {digest} is not in repository {repository_id}"))
    })
}

/// A label to add.
#[derive(Debug, Clone)]
pub struct NewLabel<'a> {
    pub uuid: &'a str,
    pub key: &'a str,
    pub value: &'a str,
    pub media_type: &'a str,
    /// `api`, `manifest` (from the image config at push) or `internal`.
    pub source: &'a str,
}

/// Adds a label to the repository's manifest `digest`. A `manifest` label that the manifest
/// already has (same key and value) is not added twice (`false`). Refuses an invalid or
/// reserved key and an unknown media type (`QUAY_INVALID_ARGUMENT`), an unknown manifest
/// (`QUAY_MANIFEST_UNKNOWN`).
pub fn add(
    ex: &mut dyn Executor,
    repository_id: i64,
    digest: &str,
    l: &NewLabel<'_>,
    log: Option<&LogEntry>,
) -> CoreResult<bool> {
    if !is_valid_key(l.key) {
        return Err(invalid(Rule::InvalidArgument, format!("label key {:?} is not valid", l.key)));
    }
    if RESERVED_PREFIXES.iter().any(|p| l.key.starts_with(p)) {
        return Err(invalid(Rule::InvalidArgument, "Label has a reserved prefix"));
    }
    if !MEDIA_TYPES.contains(&l.media_type) {
        return Err(invalid(Rule::InvalidArgument, format!("{:?} is not a label media type", l.media_type)));
    }
    let m = manifest(ex, repository_id, digest)?;
    if l.source == "manifest"
        && !q(
            ex,
            "same_label",
            &[Value::Int(m), Value::text(l.key), Value::text(l.value), Value::text(l.source)],
        )?
        .is_empty()
    {
        return Ok(false);
    }
    let id = first_int(&q(
        ex,
        "insert_label",
        &[
            Value::text(l.uuid),
            Value::text(l.key),
            Value::text(l.value),
            Value::text(l.media_type),
            Value::text(l.source),
        ],
    )?)
    .ok_or_else(|| invalid(Rule::InvalidArgument, format!("{:?} is not a label source", l.source)))?;
    q(ex, "link", &[Value::Int(repository_id), Value::Int(m), Value::Int(id)])?;
    logs::record_for_repository(ex, repository_id, log)?;
    Ok(true)
}

/// Deletes label `uuid` of the repository's manifest `digest`: `QUAY_LABEL_UNKNOWN`, and
/// `QUAY_INVALID_ARGUMENT` for labels whose source does not allow it (from the manifest).
pub fn delete(
    ex: &mut dyn Executor,
    repository_id: i64,
    digest: &str,
    uuid: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    let m = manifest(ex, repository_id, digest)?;
    let rows = q(ex, "label_of", &[Value::Int(m), Value::text(uuid)])?;
    let row =
        rows.first().ok_or_else(|| invalid(Rule::LabelUnknown, format!("no label {uuid} on {digest}")))?;
    let id = row.first().and_then(Value::as_i64).ok_or_else(|| CoreError::Database("label id".into()))?;
    if row.get(1).and_then(Value::as_bool) == Some(false) {
        return Err(invalid(Rule::InvalidArgument, "Cannot delete immutable label"));
    }
    q(ex, "unlink", &[Value::Int(id)])?;
    q(ex, "delete_label", &[Value::Int(id)])?;
    logs::record_for_repository(ex, repository_id, log)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_follow_quays_rule() {
        for ok in ["a", "owner", "golden.image", "a-b.c", "x1"] {
            assert!(super::is_valid_key(ok), "{ok}");
        }
        for bad in ["", "bad key!", "-a", "a-", "a..b", "a.-b", "A", "a_b"] {
            assert!(!super::is_valid_key(bad), "{bad}");
        }
    }
}
