//! The one seam between the core and a database: a small synchronous executor. The extension
//! implements it over SPI, mirror mode over rusqlite. SQL text comes from `sql/` with a few
//! dialect tokens, rendered by [`Dialect::render`]:
//! - `{now}`: current naive-UTC timestamp;
//! - `{now_plus:$N}`: now plus `$N` seconds;
//! - `{skip_locked}`: `FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite (one writer);
//! - `{ts:column}`: a timestamp column as text;
//! - `{now_ms}`: the wall clock in epoch milliseconds (Quay's tag lifetimes), read at call time;
//! - `{for_update}`: `FOR UPDATE` on PostgreSQL, nothing on SQLite;
//! - `{yesterday}`: the UTC date before today;
//! - `{age_ms:column}`: milliseconds since a timestamp column;
//! - `{collate_c}`: byte-order comparison of text (`COLLATE "C"` on PostgreSQL; SQLite's default);
//! - `{json_values:$N}`: a FROM item `j` with one row per element of the JSON array text `$N`,
//!   its text in column `j.value` (set-based statements over a list passed as one parameter);
//! - `$N` parameters (rendered `?N` on SQLite).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// A parameter or a result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A text-typed NULL.
    Null,
    /// A bigint-typed NULL (PostgreSQL needs the type of a NULL parameter).
    NullInt,
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Value {
    pub fn opt_int(v: Option<i64>) -> Value {
        v.map_or(Value::NullInt, Value::Int)
    }
    pub fn opt_text(v: Option<&str>) -> Value {
        v.map_or(Value::Null, |s| Value::Text(s.to_string()))
    }
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

pub type Row = Vec<Value>;

/// A database error, or a rule violation with a stable machine code (mapped to SQLSTATE + DETAIL
/// by the extension and to HTTP errors by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    Database(String),
    Invalid { code: crate::rules::Rule, message: String },
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Database(m) => f.write_str(m),
            CoreError::Invalid { code, message } => write!(f, "{message} ({code})"),
        }
    }
}

impl std::error::Error for CoreError {}

pub type CoreResult<T> = Result<T, CoreError>;

/// Runs rendered SQL. Implementations run inside the caller's transaction.
pub trait Executor {
    fn dialect(&self) -> Dialect;
    /// Runs a statement and returns its rows (statements without RETURNING return none).
    fn query(&mut self, sql: &str, params: &[Value]) -> CoreResult<Vec<Row>>;
    /// A fresh random uuid4 string (Quay's `state_id`).
    fn uuid4(&mut self) -> String;
}

impl Dialect {
    /// [`Dialect::render`], remembered: statements are a fixed set, and a pull runs several, so
    /// rendering each once saves a scan and a few allocations per statement.
    pub fn render_cached(self, sql: &str) -> std::sync::Arc<str> {
        use std::collections::HashMap;
        use std::sync::{Arc, OnceLock, RwLock};
        type Memo = [RwLock<HashMap<Box<str>, Arc<str>>>; 2];
        static MEMO: OnceLock<Memo> = OnceLock::new();
        let memo = &MEMO.get_or_init(Default::default)[usize::from(self == Dialect::Postgres)];
        if let Some(hit) = memo.read().ok().and_then(|m| m.get(sql).cloned()) {
            return hit;
        }
        let rendered: Arc<str> = self.render(sql).into();
        if let Ok(mut m) = memo.write() {
            // Statements built at run time (with formatted parts) must not grow it forever.
            if m.len() >= 4096 {
                m.clear();
            }
            m.insert(sql.into(), rendered.clone());
        }
        rendered
    }

    /// Renders the tokens of a `sql/` file for this dialect.
    pub fn render(self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len() + 64);
        let mut rest = sql;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let Some(len) = rest[start..].find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let token = &rest[start + 1..start + len];
            out.push_str(&self.token(token));
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
        match self {
            Dialect::Postgres => out,
            Dialect::Sqlite => dollar_to_question(&out),
        }
    }

    fn token(self, token: &str) -> String {
        let (name, arg) = token.split_once(':').unwrap_or((token, ""));
        match (self, name) {
            (Dialect::Postgres, "now") => "(now() AT TIME ZONE 'UTC')".into(),
            (Dialect::Sqlite, "now") => "strftime('%Y-%m-%d %H:%M:%f', 'now')".into(),
            (Dialect::Postgres, "now_plus") => {
                format!("((now() AT TIME ZONE 'UTC') + make_interval(secs => {arg}::double precision))")
            }
            (Dialect::Sqlite, "now_plus") => {
                format!("strftime('%Y-%m-%d %H:%M:%f', 'now', {arg} || ' seconds')")
            }
            (Dialect::Postgres, "skip_locked") => "FOR UPDATE SKIP LOCKED".into(),
            // A queue item name's queue (the part before the first `/`).
            (Dialect::Postgres, "queue_of") => format!("split_part({arg}, '/', 1)"),
            (Dialect::Sqlite, "queue_of") => format!("substr({arg}, 1, instr({arg}, '/') - 1)"),
            // Only the rows of one table of a join (the others stay unlocked).
            (Dialect::Postgres, "skip_locked_of") => format!("FOR UPDATE OF {arg} SKIP LOCKED"),
            (Dialect::Sqlite, "skip_locked_of") => String::new(),
            (Dialect::Sqlite, "skip_locked") => String::new(),
            (Dialect::Postgres, "for_update") => "FOR UPDATE".into(),
            (Dialect::Sqlite, "for_update") => String::new(),
            (Dialect::Postgres, "now_ms") => "(extract(epoch from clock_timestamp()) * 1000)::bigint".into(),
            (Dialect::Sqlite, "now_ms") => "CAST(unixepoch('subsec') * 1000 AS INTEGER)".into(),
            (Dialect::Postgres, "yesterday") => "((now() AT TIME ZONE 'UTC')::date - 1)".into(),
            (Dialect::Sqlite, "yesterday") => "date('now', '-1 day')".into(),
            (Dialect::Postgres, "today") => "((now() AT TIME ZONE 'UTC')::date)".into(),
            (Dialect::Sqlite, "today") => "date('now')".into(),
            (Dialect::Postgres, "ts") => format!("to_char({arg}, 'YYYY-MM-DD HH24:MI:SS.US')"),
            // A timestamp given as text in Quay's format (`YYYY-MM-DD HH:MM:SS.ffffff`).
            (Dialect::Postgres, "timestamp") => format!("CAST({arg} AS timestamp)"),
            (Dialect::Sqlite, "timestamp") => arg.to_string(),
            (Dialect::Postgres, "collate_c") => " COLLATE \"C\"".into(),
            (Dialect::Sqlite, "collate_c") => String::new(),
            (Dialect::Postgres, "json_values") => {
                format!("json_array_elements_text(CAST({arg} AS json)) AS j(value)")
            }
            (Dialect::Sqlite, "json_values") => format!("json_each({arg}) AS j"),
            // A field of the current `json_values` element (an object), as text (numbers and
            // nested JSON as their text; CAST to INTEGER for ids).
            (Dialect::Postgres, "jtext") => format!("(CAST(j.value AS json) ->> '{arg}')"),
            (Dialect::Sqlite, "jtext") => format!("json_extract(j.value, '$.{arg}')"),
            (Dialect::Sqlite, "ts") => arg.to_string(),
            // Milliseconds since a timestamp column (NULL stays NULL).
            (Dialect::Postgres, "age_ms") => {
                format!("CAST(EXTRACT(EPOCH FROM ((now() AT TIME ZONE 'UTC') - {arg})) * 1000 AS BIGINT)")
            }
            (Dialect::Sqlite, "age_ms") => {
                format!("CAST((julianday('now') - julianday({arg})) * 86400000 AS INTEGER)")
            }
            // The UTC day of a timestamp column, `YYYY-MM-DD`.
            (Dialect::Postgres, "day") => format!("to_char({arg}, 'YYYY-MM-DD')"),
            (Dialect::Sqlite, "day") => format!("substr({arg}, 1, 10)"),
            // Not a token (e.g. JSON in a literal): keep it.
            _ => format!("{{{token}}}"),
        }
    }
}

/// A rule violation with a stable machine code.
pub fn invalid(code: crate::rules::Rule, message: impl Into<String>) -> CoreError {
    CoreError::Invalid { code, message: message.into() }
}

/// Renders `sql` for the executor's dialect and runs it.
pub fn run(ex: &mut dyn Executor, sql: &str, params: &[Value]) -> CoreResult<Vec<Row>> {
    let sql = ex.dialect().render_cached(sql);
    ex.query(&sql, params)
}

/// A JSON array of strings (for `{json_values:$N}` parameters).
pub fn json_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(json_str).collect();
    format!("[{}]", items.join(","))
}

/// The first column of the first row as an integer.
pub fn first_int(rows: &[Row]) -> Option<i64> {
    rows.first().and_then(|r| r.first()).and_then(Value::as_i64)
}

/// The first column of every row as integers (NULLs skipped).
pub fn ints(rows: &[Row]) -> Vec<i64> {
    rows.iter().filter_map(|r| r.first().and_then(Value::as_i64)).collect()
}

/// Runs a statement that must return one integer.
pub fn one_int(ex: &mut dyn Executor, sql: &str, params: &[Value]) -> CoreResult<Option<i64>> {
    Ok(first_int(&run(ex, sql, params)?))
}

/// Runs each statement of a script (statements end with `;` at a line's end; `--` lines are
/// comments) in order, in the caller's transaction. Each statement gets the parameters up to the
/// highest `$n` it uses.
pub fn run_script(ex: &mut dyn Executor, script: &str, params: &[Value]) -> CoreResult<()> {
    for statement in script.split(";\n") {
        let code =
            statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
        if code.trim().is_empty() {
            continue;
        }
        let used = (1..=params.len()).rev().find(|i| code.contains(&format!("${i}"))).unwrap_or(0);
        run(ex, &code, &params[..used])?;
    }
    Ok(())
}

/// One statement of a `sql/*.sql` file that holds several, each introduced by a line
/// `-- name: <name>` and running to the next such line.
pub fn named(file: &'static str, name: &str) -> &'static str {
    let marker = "-- name: ";
    let mut rest = file;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let (line, body) = after.split_once('\n').unwrap_or((after, ""));
        let end = body.find(marker).unwrap_or(body.len());
        if line.trim() == name {
            return &body[..end];
        }
        rest = body;
    }
    panic!("SQL statement {name:?} missing from its sql/ file (a build-time bug)")
}

/// A statement composed once from named pieces (`{token}`s replaced by other statements' text)
/// and kept for the life of the process under `key`, so hot paths do not rebuild it.
pub fn composed(key: &'static str, build: impl FnOnce() -> String) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    static MEMO: OnceLock<RwLock<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(s) = memo.read().ok().and_then(|m| m.get(key).copied()) {
        return s;
    }
    let mut m = memo.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    m.entry(key).or_insert_with(|| Box::leak(build().into_boxed_str()))
}

/// A transaction-scoped lock on `key`. PostgreSQL: an advisory lock; SQLite: nothing to do, the
/// write transaction (`BEGIN IMMEDIATE`) already excludes every other writer.
pub fn lock(ex: &mut dyn Executor, key: &str) -> CoreResult<()> {
    if ex.dialect() == Dialect::Postgres {
        ex.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text", &[Value::text(key)])?;
    }
    Ok(())
}

/// The database clock in epoch milliseconds.
pub fn now_ms(ex: &mut dyn Executor) -> CoreResult<i64> {
    one_int(ex, "SELECT {now_ms}", &[])?.ok_or_else(|| CoreError::Database("no clock".into()))
}

/// A JSON string literal (for queue bodies built here).
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dollar_to_question(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tokens_per_dialect() {
        let sql = "UPDATE t SET a = {now_plus:$2} WHERE b <= {now} AND c = $1 {skip_locked}";
        assert_eq!(
            Dialect::Postgres.render(sql),
            "UPDATE t SET a = ((now() AT TIME ZONE 'UTC') + make_interval(secs => $2::double precision)) \
             WHERE b <= (now() AT TIME ZONE 'UTC') AND c = $1 FOR UPDATE SKIP LOCKED"
        );
        assert_eq!(
            Dialect::Sqlite.render(sql),
            "UPDATE t SET a = strftime('%Y-%m-%d %H:%M:%f', 'now', ?2 || ' seconds') \
             WHERE b <= strftime('%Y-%m-%d %H:%M:%f', 'now') AND c = ?1 "
        );
        assert_eq!(Dialect::Sqlite.render("SELECT '{\"a\": 1}'"), "SELECT '{\"a\": 1}'");
    }

    #[test]
    fn named_statements_are_found_by_name() {
        let file = "-- header\n-- name: a\nSELECT 1\n-- name: b\nSELECT 2\n";
        assert_eq!(named(file, "a").trim(), "SELECT 1");
        assert_eq!(named(file, "b").trim(), "SELECT 2");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
