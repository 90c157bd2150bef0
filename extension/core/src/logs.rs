//! Action logs (Quay's `logentry3`), written by the same transaction as the action they record,
//! so a reader never sees an action without its log nor a log of an action that rolled back.
//! Functions that change something take an optional [`LogEntry`]; on PostgreSQL it travels as
//! JSON text (`log` argument of the `quay.*` functions, see [`LogEntry::from_json`]).

use crate::exec::{CoreResult, Executor, Value, first_int, invalid, named, run};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/logs.sql");

/// One action log row. `account_id` is the namespace the action belongs to; a function that
/// knows it better (the account it just created) fills it in when it is `None`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogEntry {
    /// A `logentrykind` name (`user_create`, `create_repo`, ...).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performer_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Stored as `metadata_json` (an object).
    #[serde(default)]
    pub metadata: serde_json::Value,
}

impl LogEntry {
    pub fn new(kind: &str, metadata: serde_json::Value) -> LogEntry {
        LogEntry {
            kind: kind.to_string(),
            account_id: None,
            performer_id: None,
            repository_id: None,
            ip: None,
            metadata,
        }
    }

    /// The wire form of the `log` argument: `{"kind", "account_id"?, "performer_id"?,
    /// "repository_id"?, "ip"?, "metadata"}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the `log` argument (`QUAY_INVALID_ARGUMENT` when it is not such an object).
    pub fn from_json(text: &str) -> CoreResult<LogEntry> {
        serde_json::from_str(text)
            .map_err(|e| invalid(Rule::InvalidArgument, format!("log entry is not valid: {e}")))
    }

    /// Parses a JSON array of entries (the `logs` argument of `quay.log_actions`).
    pub fn list_from_json(text: &str) -> CoreResult<Vec<LogEntry>> {
        serde_json::from_str(text)
            .map_err(|e| invalid(Rule::InvalidArgument, format!("log entries are not valid: {e}")))
    }

    /// This entry (performer, ip, the caller's metadata such as OAuth fields) for a `kind` the
    /// callee decides, with `metadata`'s keys added.
    pub fn derive(&self, kind: &str, metadata: serde_json::Value) -> LogEntry {
        let mut e = self.clone();
        e.kind = kind.to_string();
        let mut m = match &self.metadata {
            serde_json::Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        if let serde_json::Value::Object(extra) = metadata {
            m.extend(extra);
        }
        e.metadata = serde_json::Value::Object(m);
        e
    }

    /// An optional `log` argument.
    pub fn parse_opt(text: Option<&str>) -> CoreResult<Option<LogEntry>> {
        text.map(LogEntry::from_json).transpose()
    }
}

/// Writes every entry of a batch (the server's log writer: pulls and pushes), in the caller's
/// transaction: all or none. Entries that name their account go in one statement; the others
/// (their account is their repository's namespace) one by one. An unknown kind refuses the
/// whole batch (`QUAY_INVALID_ARGUMENT`).
pub fn record_all(ex: &mut dyn Executor, entries: &[LogEntry]) -> CoreResult<()> {
    let (direct, derived): (Vec<&LogEntry>, Vec<&LogEntry>) =
        entries.iter().partition(|e| e.account_id.is_some());
    for e in derived {
        record(ex, e, None)?;
    }
    if direct.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = direct
        .iter()
        .map(|e| {
            let metadata = if e.metadata.is_null() { serde_json::json!({}) } else { e.metadata.clone() };
            serde_json::json!({
                "kind": e.kind,
                "account_id": e.account_id,
                "performer_id": e.performer_id,
                "repository_id": e.repository_id,
                "ip": e.ip,
                "metadata": metadata.to_string(),
            })
        })
        .collect();
    let inserted =
        run(ex, named(SQL, "insert_batch"), &[Value::text(serde_json::Value::Array(rows).to_string())])?;
    if inserted.len() != direct.len() {
        return Err(invalid(Rule::InvalidArgument, "a log entry of the batch has an unknown kind"));
    }
    Ok(())
}

/// Writes `entry`. Its account is the entry's own, else `account_id`, else (for an entry that
/// names a repository) that repository's namespace. An unknown kind or no account is refused
/// (`QUAY_INVALID_ARGUMENT`), so the caller's transaction rolls back.
pub fn record(ex: &mut dyn Executor, entry: &LogEntry, account_id: Option<i64>) -> CoreResult<()> {
    let account = match (entry.account_id.or(account_id), entry.repository_id) {
        (Some(a), _) => Some(a),
        (None, Some(r)) => first_int(&run(ex, named(SQL, "repository_namespace"), &[Value::Int(r)])?),
        (None, None) => None,
    };
    let Some(account) = account else {
        return Err(invalid(Rule::InvalidArgument, format!("log entry {} names no account", entry.kind)));
    };
    let metadata = if entry.metadata.is_null() { serde_json::json!({}) } else { entry.metadata.clone() };
    let rows = run(
        ex,
        named(SQL, "insert"),
        &[
            Value::text(&entry.kind),
            Value::Int(account),
            Value::opt_int(entry.performer_id),
            Value::opt_int(entry.repository_id),
            Value::opt_text(entry.ip.as_deref()),
            Value::text(metadata.to_string()),
        ],
    )?;
    if rows.is_empty() {
        return Err(invalid(Rule::InvalidArgument, format!("unknown log entry kind {:?}", entry.kind)));
    }
    Ok(())
}

/// The log of an action on repository `repository_id`: its account is the repository's
/// namespace and its repository this one (unless the entry names others).
pub fn record_for_repository(
    ex: &mut dyn Executor,
    repository_id: i64,
    entry: Option<&LogEntry>,
) -> CoreResult<()> {
    let Some(e) = entry else { return Ok(()) };
    let mut e = e.clone();
    e.repository_id = e.repository_id.or(Some(repository_id));
    record(ex, &e, None)
}

/// [`record`] for an optional entry.
pub fn record_opt(
    ex: &mut dyn Executor,
    entry: Option<&LogEntry>,
    account_id: Option<i64>,
) -> CoreResult<()> {
    match entry {
        Some(e) => record(ex, e, account_id),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::LogEntry;

    #[test]
    fn wire_form_round_trips_and_refuses_garbage() {
        let mut e = LogEntry::new("user_create", serde_json::json!({"username": "a"}));
        e.performer_id = Some(1);
        e.ip = Some("127.0.0.1".into());
        assert_eq!(LogEntry::from_json(&e.to_json()).expect("parses"), e);
        assert!(LogEntry::from_json("{\"metadata\": {}}").is_err());
        assert!(LogEntry::from_json("not json").is_err());
    }
}
