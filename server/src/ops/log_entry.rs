//! Action logs as operations write them: who did it (performer), from where (ip), and, for
//! OAuth callers, which token and application (Quay adds `oauth_token_id`,
//! `oauth_token_application_id` and `oauth_token_application` to the metadata).

use super::access::{ApiCaller, Via};
use quay_core::logs::LogEntry;
use serde_json::{Map, Value};

/// Where a request came from, as logs record it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A log entry of `kind` performed by `caller` (account and repository left for the writer to
/// fill in unless set on the result).
pub fn entry(caller: &ApiCaller, origin: &Origin, kind: &str, metadata: Value) -> LogEntry {
    let mut metadata = match metadata {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Via::OAuth { token_id, client_id, application, .. } = &caller.via {
        metadata.insert("oauth_token_id".into(), Value::from(*token_id));
        metadata
            .insert("oauth_token_application_id".into(), client_id.clone().map_or(Value::Null, Value::from));
        metadata
            .insert("oauth_token_application".into(), application.clone().map_or(Value::Null, Value::from));
    }
    let mut e = LogEntry::new(kind, Value::Object(metadata));
    e.performer_id = caller.user_id();
    e.ip = origin.ip.clone();
    e
}
