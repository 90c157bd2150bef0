//! Request bodies and query values as Quay's API reads them: a body that is not JSON is Flask's
//! bare 400; a body that misses a required property or has a wrong type is a 400 problem whose
//! detail is the first line of Python `jsonschema`'s message (`'username' is a required
//! property`).

use super::error::ApiError;
use serde_json::Value;

/// The JSON body (`Value::Null` when empty).
pub fn body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::bad_request())
}

/// JSON types as `jsonschema` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Integer,
    Object,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Integer => "integer",
            Kind::Object => "object",
        }
    }
    fn admits(self, v: &Value) -> bool {
        match self {
            Kind::String => v.is_string(),
            Kind::Boolean => v.is_boolean(),
            Kind::Integer => v.is_i64() || v.is_u64(),
            Kind::Object => v.is_object(),
        }
    }
}

/// Python's `repr` of a JSON value, as `jsonschema` messages show it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter().map(|(k, v)| format!("'{k}': {}", py_repr(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Number(n) => n.to_string(),
    }
}

/// Checks an object body: `required` properties present, `typed` properties (when present) of
/// their kind. A body that is not an object fails as `jsonschema` says it.
pub fn check(body: &Value, required: &[&str], typed: &[(&str, Kind)]) -> Result<(), ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::invalid(format!("{} is not of type 'object'", py_repr(body))));
    };
    for r in required {
        if !obj.contains_key(*r) {
            return Err(ApiError::invalid(format!("'{r}' is a required property")));
        }
    }
    for (k, kind) in typed {
        if let Some(v) = obj.get(*k)
            && !kind.admits(v)
        {
            return Err(ApiError::invalid(format!("{} is not of type '{}'", py_repr(v), kind.name())));
        }
    }
    Ok(())
}

/// A string property (absent or null: `None`).
pub fn str_of<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// One query parameter.
pub fn query(uri: &axum::http::Uri, key: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// A property that must be one of `allowed` when present (`jsonschema`'s `enum`).
pub fn one_of(body: &Value, key: &str, allowed: &[&str]) -> Result<(), ApiError> {
    let Some(v) = body.get(key) else { return Ok(()) };
    if v.as_str().is_some_and(|s| allowed.contains(&s)) {
        return Ok(());
    }
    let list = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
    Err(ApiError::invalid(format!("{} is not one of [{list}]", py_repr(v))))
}

/// A boolean query flag as Flask-RESTful's `inputs.boolean` reads it (`true`/`1`/`yes`...).
pub fn flag(uri: &axum::http::Uri, key: &str) -> Result<bool, ApiError> {
    match query(uri, key).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "y" | "on") => Ok(true),
        Some("false" | "0" | "no" | "n" | "off" | "") => Ok(false),
        Some(_) => Err(ApiError::bad_request()),
    }
}
