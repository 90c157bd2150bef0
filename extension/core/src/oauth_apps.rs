//! An organization's OAuth applications (Quay's `endpoints/api/organization.py` application
//! routes): create, change, reset the client secret, delete (its access tokens and
//! authorization codes first, so a deleted application leaves no token that still works). The
//! client id and the secret are made by the caller; the secret arrives field-encrypted (the key
//! stays out of the database). Each write records its action log in the same transaction.

use crate::exec::{CoreError, CoreResult, Executor, Value, first_int, invalid, named, run};
use crate::logs::{self, LogEntry};
use crate::rules::Rule;

const SQL: &str = include_str!("../../../sql/oauth_apps.sql");

fn q(ex: &mut dyn Executor, name: &str, params: &[Value]) -> CoreResult<Vec<Vec<Value>>> {
    run(ex, named(SQL, name), params)
}

/// What an application says about itself.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct AppFields {
    pub name: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub application_uri: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub avatar_email: Option<String>,
}

impl AppFields {
    pub fn from_json(text: &str) -> CoreResult<AppFields> {
        let f: AppFields = serde_json::from_str(text)
            .map_err(|e| invalid(Rule::InvalidArgument, format!("application fields: {e}")))?;
        if f.name.trim().is_empty() {
            return Err(invalid(Rule::InvalidArgument, "'name' is a required property"));
        }
        Ok(f)
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    fn values(&self) -> [Value; 5] {
        [
            Value::text(&self.name),
            Value::text(&self.redirect_uri),
            Value::text(&self.application_uri),
            Value::text(&self.description),
            Value::opt_text(self.avatar_email.as_deref().filter(|e| !e.is_empty())),
        ]
    }
}

fn application_id(ex: &mut dyn Executor, org_id: i64, client_id: &str) -> CoreResult<i64> {
    first_int(&q(ex, "application_id", &[Value::Int(org_id), Value::text(client_id)])?)
        .ok_or_else(|| invalid(Rule::ApplicationUnknown, format!("no application {client_id:?}")))
}

pub fn create(
    ex: &mut dyn Executor,
    org_id: i64,
    client_id: &str,
    encrypted_secret: &str,
    fields: &AppFields,
    log: Option<&LogEntry>,
) -> CoreResult<i64> {
    let [name, redirect, uri, description, avatar] = fields.values();
    let id = first_int(&q(
        ex,
        "insert_application",
        &[
            Value::Int(org_id),
            Value::text(client_id),
            Value::text(encrypted_secret),
            name,
            redirect,
            uri,
            description,
            avatar,
        ],
    )?)
    .ok_or_else(|| CoreError::Database("oauthapplication insert returned no id".into()))?;
    logs::record_opt(ex, log, Some(org_id))?;
    Ok(id)
}

pub fn update(
    ex: &mut dyn Executor,
    org_id: i64,
    client_id: &str,
    fields: &AppFields,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    let id = application_id(ex, org_id, client_id)?;
    let [name, redirect, uri, description, avatar] = fields.values();
    q(
        ex,
        "update_application",
        &[Value::Int(id), Value::Int(org_id), name, redirect, uri, description, avatar],
    )?;
    logs::record_opt(ex, log, Some(org_id))
}

pub fn set_secret(
    ex: &mut dyn Executor,
    org_id: i64,
    client_id: &str,
    encrypted_secret: &str,
    log: Option<&LogEntry>,
) -> CoreResult<()> {
    let id = application_id(ex, org_id, client_id)?;
    q(ex, "set_secret", &[Value::Int(id), Value::Int(org_id), Value::text(encrypted_secret)])?;
    logs::record_opt(ex, log, Some(org_id))
}

pub fn delete(ex: &mut dyn Executor, org_id: i64, client_id: &str, log: Option<&LogEntry>) -> CoreResult<()> {
    let id = application_id(ex, org_id, client_id)?;
    crate::exec::run_script(ex, named(SQL, "delete_application"), &[Value::Int(id)])?;
    logs::record_opt(ex, log, Some(org_id))
}
