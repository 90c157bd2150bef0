//! People's accounts, written once for both backends: creating a person (Quay's `create_user`,
//! as superusers and `/api/v1/user/initialize` do), changing a password, and initializing an
//! empty database with its first user and an OAuth token. Password hashing is the caller's
//! (bcrypt stays out of the database); every write records its action log in the same
//! transaction ([`crate::logs`]).

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, lock, named, run};
use crate::logs::{self, LogEntry};
use crate::names;
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/users.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// A person to create.
#[derive(Debug, Clone)]
pub struct NewPerson<'a> {
    pub username: &'a str,
    pub email: &'a str,
    /// bcrypt (`$2b$12$…`); `None`: the account has no password (it cannot log in with one).
    pub password_hash: Option<&'a str>,
    pub removed_tag_expiration_s: i64,
    pub verified: bool,
}

/// An OAuth access token to create with the first user (the server generated the token and
/// hashed its secret half).
#[derive(Debug, Clone)]
pub struct NewOAuthToken<'a> {
    /// The token's first 20 characters (looked up as is).
    pub token_name: &'a str,
    /// bcrypt of the last 20 characters.
    pub token_code_hash: &'a str,
    pub scope: &'a str,
    pub lifetime_s: i64,
    pub application_description: &'a str,
}

/// Creates a person. Refuses an invalid name (`QUAY_NAME_INVALID`), a name any namespace has
/// (`QUAY_NAMESPACE_EXISTS`) and an e-mail another person uses (`QUAY_EMAIL_TAKEN`). The log
/// entry's account defaults to the new user. Returns the new id.
pub fn create(ex: &mut dyn Executor, p: &NewPerson<'_>, log: Option<&LogEntry>) -> CoreResult<i64> {
    if !names::is_valid_username(p.username) {
        return Err(invalid(
            Rule::NameInvalid,
            format!(
                "Invalid namespace {}: Namespace must match expression ^([a-z0-9]+(?:[._-][a-z0-9]+)*)$",
                p.username
            ),
        ));
    }
    lock(ex, &format!("quay:namespace:create:{}", p.username))?;
    lock(ex, &format!("quay:email:{}", p.email))?;
    if !q(ex, "name_taken", &[Value::text(p.username)])?.is_empty() {
        return Err(invalid(
            Rule::NamespaceExists,
            format!("Username has already been taken by user cannot be reused: {}", p.username),
        ));
    }
    if !q(ex, "email_taken", &[Value::text(p.email)])?.is_empty() {
        return Err(invalid(Rule::EmailTaken, "Email has already been used"));
    }
    let uuid = ex.uuid4();
    let id = first_int(&q(
        ex,
        "insert_person",
        &[
            Value::text(uuid),
            Value::text(p.username),
            Value::opt_text(p.password_hash),
            Value::text(p.email),
            Value::Int(p.removed_tag_expiration_s),
            Value::Bool(p.verified),
        ],
    )?)
    .ok_or_else(|| {
        invalid(
            Rule::NamespaceExists,
            format!("Username has already been taken by user cannot be reused: {}", p.username),
        )
    })?;
    logs::record_opt(ex, log, Some(id))?;
    Ok(id)
}

/// Sets a person's password hash and gives it a new uuid, so its sessions and tokens end
/// (`QUAY_USER_UNKNOWN` for no such person); the log entry's account defaults to the user.
pub fn set_password(
    ex: &mut dyn Executor,
    user_id: i64,
    password_hash: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    let uuid = ex.uuid4();
    let rows = q(ex, "set_password", &[Value::Int(user_id), Value::text(password_hash), Value::text(uuid)])?;
    if rows.is_empty() {
        return Err(invalid(Rule::UserUnknown, format!("no person with id {user_id}")));
    }
    logs::record_opt(ex, log, Some(user_id))
}

/// The first user of an empty database (`QUAY_DATABASE_NOT_EMPTY` otherwise), verified, and
/// optionally its `automation` OAuth application and a token. Concurrent callers: one wins.
/// Returns the user id and the token's row id.
pub fn initialize(
    ex: &mut dyn Executor,
    p: &NewPerson<'_>,
    token: Option<&NewOAuthToken<'_>>,
) -> CoreResult<(i64, Option<i64>)> {
    lock(ex, "quay:user:initialize")?;
    if !q(ex, "any_user", &[])?.is_empty() {
        return Err(invalid(Rule::DatabaseNotEmpty, "Cannot initialize user in a non-empty database"));
    }
    let user_id = create(ex, p, None)?;
    let Some(t) = token else { return Ok((user_id, None)) };
    let app = first_int(&q(
        ex,
        "insert_application",
        &[Value::text(p.username), Value::Int(user_id), Value::text(t.application_description)],
    )?)
    .ok_or_else(|| CoreError::Database("oauthapplication insert returned no id".into()))?;
    let uuid = ex.uuid4();
    let token_id = first_int(&q(
        ex,
        "insert_oauth_token",
        &[
            Value::text(uuid),
            Value::Int(app),
            Value::Int(user_id),
            Value::text(t.scope),
            Value::Int(t.lifetime_s),
            Value::text(t.token_code_hash),
            Value::text(t.token_name),
        ],
    )?)
    .ok_or_else(|| CoreError::Database("oauthaccesstoken insert returned no id".into()))?;
    Ok((user_id, Some(token_id)))
}
/// What `PUT /api/v1/user/` may change on one's own account; `None` leaves a field as it is.
/// `metadata` holds the given name, family name, company and location keys that were sent
/// (a JSON `null` clears one).
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub struct PersonChanges {
    pub email: Option<String>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<String>,
    pub tag_expiration_s: Option<i64>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The metadata fields, in `set_metadata`'s order.
pub const METADATA_FIELDS: [&str; 4] = ["given_name", "family_name", "company", "location"];

impl PersonChanges {
    pub fn from_json(text: &str) -> CoreResult<PersonChanges> {
        serde_json::from_str(text)
            .map_err(|e| invalid(Rule::InvalidArgument, format!("account changes: {e}")))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Changes a person's own account in one transaction, logging each change as Quay does
/// (`user_change_invoicing`, `user_change_tag_expiration`, `user_change_email` with the old
/// address, `user_change_metadata`; account: the person). An address another person uses is
/// refused (`QUAY_EMAIL_TAKEN`, nothing written); a new address counts as verified (no mailing).
pub fn update(
    ex: &mut dyn Executor,
    user_id: i64,
    changes: &PersonChanges,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    lock(ex, &format!("quay:namespace:update:{user_id}"))?;
    let rows = q(ex, "person_row", &[Value::Int(user_id)])?;
    let Some(row) = rows.first() else {
        return Err(invalid(Rule::UserUnknown, format!("no person with id {user_id}")));
    };
    let text = |i: usize| row.get(i).and_then(Value::as_text).map(str::to_string);
    let (email, invoice_address) = (text(1), text(2));
    let logged = |ex: &mut dyn Executor, kind: &str, metadata: serde_json::Value| -> CoreResult<()> {
        match log {
            Some(l) => logs::record(ex, &l.derive(kind, metadata), Some(user_id)),
            None => Ok(()),
        }
    };
    let org_sql = |name: &str| named(crate::organizations::SQL, name);
    if let Some(on) = changes.invoice_email {
        run(ex, org_sql("set_invoice_email"), &[Value::Int(user_id), Value::Bool(on)])?;
        logged(ex, "user_change_invoicing", serde_json::json!({"invoice_email": on}))?;
    }
    if let Some(seconds) = changes.tag_expiration_s {
        if seconds < 0 {
            return Err(invalid(Rule::InvalidArgument, "tag_expiration_s must not be negative"));
        }
        run(ex, org_sql("set_tag_expiration"), &[Value::Int(user_id), Value::Int(seconds)])?;
        logged(ex, "user_change_tag_expiration", serde_json::json!({"tag_expiration": seconds}))?;
    }
    if let Some(address) = &changes.invoice_email_address
        && invoice_address.as_deref().unwrap_or("") != address
    {
        let stored = if address.is_empty() { Value::Null } else { Value::text(address.clone()) };
        run(ex, org_sql("set_invoice_email_address"), &[Value::Int(user_id), stored])?;
        logged(ex, "user_change_invoicing", serde_json::json!({"invoice_email_address": address}))?;
    }
    if let Some(new) = &changes.email
        && email.as_deref() != Some(new.as_str())
    {
        if !q(ex, "other_person_email", &[Value::text(new.clone()), Value::Int(user_id)])?.is_empty() {
            return Err(invalid(Rule::EmailTaken, "E-mail address already used"));
        }
        q(ex, "set_email_verified", &[Value::Int(user_id), Value::text(new.clone())])?;
        logged(ex, "user_change_email", serde_json::json!({"email": new, "old_email": email}))?;
    }
    if !changes.metadata.is_empty() {
        let mut values: Vec<Value> = vec![Value::Int(user_id)];
        for (i, field) in METADATA_FIELDS.iter().enumerate() {
            let v = match changes.metadata.get(*field) {
                Some(serde_json::Value::String(s)) => Value::text(s.clone()),
                Some(_) => Value::Null,
                None => text(3 + i).map_or(Value::Null, Value::text),
            };
            values.push(v);
        }
        q(ex, "set_metadata", &values)?;
        logged(ex, "user_change_metadata", serde_json::Value::Object(changes.metadata.clone()))?;
    }
    Ok(())
}

/// The longest a login waits, however many wrong passwords came before (ours: Quay's has no cap,
/// so a burst of wrong passwords could lock a known name out for years).
pub const LOGIN_BACKOFF_CAP_MS: i64 = 15 * 60 * 1000;

/// Quay's login back-off (`util/backoff.py` with a 1 s scale): after `failed` wrong passwords in
/// a row, a password login is refused until 0.5 s × (2^failed − 1) have passed since the last
/// one (at most [`LOGIN_BACKOFF_CAP_MS`]), whatever the password. `Some(milliseconds left)`
/// while it must be refused.
pub fn login_retry_after_ms(failed: i64, since_last_failure_ms: Option<i64>) -> Option<i64> {
    if failed <= 0 {
        return None;
    }
    let since = since_last_failure_ms?;
    let n = u32::try_from(failed.min(40)).unwrap_or(40);
    let backoff = 500_i64.saturating_mul((1_i64 << n) - 1).min(LOGIN_BACKOFF_CAP_MS);
    let left = backoff.saturating_sub(since);
    (left > 0).then_some(left)
}

#[cfg(test)]
mod login_tests {
    use super::{LOGIN_BACKOFF_CAP_MS, login_retry_after_ms};

    #[test]
    fn back_off_doubles_from_the_last_failure() {
        assert_eq!(login_retry_after_ms(0, Some(0)), None);
        assert_eq!(login_retry_after_ms(1, Some(0)), Some(500));
        assert_eq!(login_retry_after_ms(1, Some(500)), None);
        assert_eq!(login_retry_after_ms(3, Some(1000)), Some(2500));
        assert_eq!(login_retry_after_ms(10, Some(0)), Some(511_500));
        assert_eq!(login_retry_after_ms(1000, Some(0)), Some(LOGIN_BACKOFF_CAP_MS), "capped, no overflow");
        assert_eq!(login_retry_after_ms(1000, Some(LOGIN_BACKOFF_CAP_MS)), None);
        assert_eq!(login_retry_after_ms(2, None), None);
    }
}
