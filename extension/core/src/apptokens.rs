//! App-specific tokens (Quay's `appspecificauthtoken`), written once for both backends: create
//! (the secret half arrives field-encrypted) and revoke, each with its action log in the same
//! transaction (account: the user).

use crate::exec::{CoreResult, Executor, Value, invalid, named, run};
use crate::logs::{self, LogEntry};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/apptokens.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// Creates token `uuid` for person `user_id`: its public first half `token_name` (60
/// characters) and its field-encrypted second half. `QUAY_USER_UNKNOWN` for no such person.
pub fn create(
    ex: &mut dyn Executor,
    user_id: i64,
    uuid: &str,
    title: &str,
    token_name: &str,
    encrypted_secret: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    if q(ex, "person", &[Value::Int(user_id)])?.is_empty() {
        return Err(invalid(Rule::UserUnknown, format!("no person with id {user_id}")));
    }
    let title: String = title.chars().take(255).collect();
    q(
        ex,
        "insert",
        &[
            Value::Int(user_id),
            Value::text(uuid),
            Value::text(title),
            Value::text(token_name),
            Value::text(encrypted_secret),
        ],
    )?;
    logs::record_opt(ex, log, Some(user_id))
}

/// Revokes (deletes) a user's token; `QUAY_TOKEN_UNKNOWN` when the user has none by that uuid.
pub fn revoke(ex: &mut dyn Executor, user_id: i64, uuid: &str, log: Option<&LogEntry>) -> CoreResult<()> {
    if q(ex, "delete", &[Value::Int(user_id), Value::text(uuid)])?.is_empty() {
        return Err(invalid(Rule::TokenUnknown, format!("no app-specific token {uuid}")));
    }
    logs::record_opt(ex, log, Some(user_id))
}
