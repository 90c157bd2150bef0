//! Running `sql/` statements and core functions on either backend, so a store method is written
//! once: `rows` renders a statement for the dialect and runs it (PostgreSQL through a typed,
//! cached prepare; SQLite in autocommit); `call` runs a core function on SQLite or the matching
//! `quay.*` SQL function on PostgreSQL, mapping rule violations to [`StoreError::Rule`].

use super::postgres::pg_error_text;
use super::{Store, StoreError};
use quay_core::exec::{CoreError, Dialect, Executor, Row, Value};
use tokio_postgres::types::{ToSql, Type};

/// The SQLSTATE the extension raises for rule violations (stable code in DETAIL).
const RULE_SQLSTATE: &str = "22023";

pub(crate) fn core_err(e: CoreError) -> StoreError {
    match e {
        CoreError::Invalid { code, message } => StoreError::Rule { code, message },
        CoreError::Database(m) => StoreError::Other(anyhow::anyhow!(m)),
    }
}

pub(crate) fn pg_err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error()
        && db.code().code() == RULE_SQLSTATE
        && let Some(code) = db.detail().and_then(quay_core::rules::Rule::parse)
    {
        return StoreError::Rule { code, message: db.message().to_string() };
    }
    if connection_lost(&e) {
        return StoreError::Unreachable { uri: "postgresql".into(), reason: pg_error_text(&e) };
    }
    StoreError::Other(anyhow::anyhow!(pg_error_text(&e)))
}

/// A failure of the connection rather than of the statement: the socket closed or failed, or the
/// server is shutting down or refusing connections (SQLSTATE class 08, 57P01–57P03).
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03");
    }
    std::error::Error::source(e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
}

fn pg_type(v: &Value) -> Type {
    match v {
        Value::Null | Value::Text(_) => Type::TEXT,
        Value::NullInt | Value::Int(_) => Type::INT8,
        Value::Bool(_) => Type::BOOL,
    }
}

fn pg_param(v: &Value) -> Box<dyn ToSql + Sync + Send> {
    match v {
        Value::Null => Box::new(Option::<String>::None),
        Value::NullInt => Box::new(Option::<i64>::None),
        Value::Bool(b) => Box::new(*b),
        Value::Int(i) => Box::new(*i),
        Value::Text(s) => Box::new(s.clone()),
    }
}

fn pg_value(row: &tokio_postgres::Row, i: usize) -> Result<Value, tokio_postgres::Error> {
    let ty = row.columns()[i].type_();
    Ok(if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |v| Value::Int(v.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?.map_or(Value::Null, |v| Value::Int(v.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?.map_or(Value::Null, Value::Bool)
    } else {
        row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text)
    })
}

/// Runs one rendered statement on a PostgreSQL connection (typed, cached prepare).
pub(crate) async fn pg_statement(
    c: &deadpool_postgres::ClientWrapper,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StoreError> {
    let types: Vec<Type> = params.iter().map(pg_type).collect();
    let st = c.prepare_typed_cached(sql, &types).await.map_err(pg_err)?;
    let boxed: Vec<Box<dyn ToSql + Sync + Send>> = params.iter().map(pg_param).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
    let rows = c.query(&st, &refs).await.map_err(pg_err)?;
    rows.iter()
        .map(|r| (0..r.len()).map(|i| pg_value(r, i)).collect::<Result<Row, _>>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(pg_err)
}

impl Store {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Store::Postgres(_) => Dialect::Postgres,
            Store::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs one read-only point lookup from `sql/` (tokens rendered) and returns its rows; on
    /// SQLite right on the calling task (see [`super::sqlite::SqliteStore::read_now`]).
    pub(crate) async fn rows(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        self.statement(Access::Read, sql, params).await
    }

    /// Runs one statement that writes (in autocommit) and returns its rows; on SQLite in the
    /// blocking pool, since it may wait for the single writer.
    pub(crate) async fn write_rows(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        self.statement(Access::Write, sql, params).await
    }

    pub(crate) async fn statement(
        &self,
        access: Access,
        sql: &str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        use tracing::Instrument as _;
        let sql = self.dialect().render_cached(sql);
        let span = db_span(self, &sql);
        async move { self.run_statement(access, sql, params).await }.instrument(span).await
    }

    async fn run_statement(
        &self,
        access: Access,
        sql: std::sync::Arc<str>,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        match self {
            Store::Postgres(s) => pg_statement(&*s.client().await?, &sql, &params).await,
            Store::Sqlite(s) => match access {
                Access::Read => s.read_now(|ex| ex.query(&sql, &params)).await?,
                Access::Scan | Access::Write => s.read(move |ex| ex.query(&sql, &params)).await?,
            }
            .map_err(core_err),
        }
    }

    /// A core function: on PostgreSQL the extension's SQL function `pg_sql` (with `params`), on
    /// SQLite `core` run as `access` says: a write in one write transaction (which wakes
    /// in-process workers); a read outside any transaction, so pulls never queue behind writers.
    pub(crate) async fn call<R: Send + 'static>(
        &self,
        access: Access,
        pg_sql: &str,
        params: Vec<Value>,
        core: impl FnOnce(&mut dyn Executor) -> quay_core::exec::CoreResult<R> + Send + 'static,
        from_rows: impl FnOnce(Vec<Row>) -> Option<R>,
    ) -> Result<R, StoreError> {
        match (self, access) {
            (Store::Postgres(_), _) => {
                let rows = self.statement(access, pg_sql, params).await?;
                from_rows(rows)
                    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("{pg_sql}: unexpected result")))
            }
            (Store::Sqlite(s), Access::Write) => {
                use tracing::Instrument as _;
                s.with_core(core).instrument(db_span(self, pg_sql)).await?.map_err(core_err)
            }
            (Store::Sqlite(s), Access::Read) => s.read_now(core).await?.map_err(core_err),
            (Store::Sqlite(s), Access::Scan) => s.read(core).await?.map_err(core_err),
        }
    }
}

/// `statement` with `filters` in place of its `/* filters */` marker. Listings write only the
/// filters a request uses, so each combination is its own prepared statement: with optional
/// filters as `($n = '' OR ...)` PostgreSQL's generic plan misjudges the rows (docs/decisions.md).
pub(crate) fn with_filters(statement: &str, filters: &str) -> String {
    statement.replace("/* filters */", filters)
}

/// A child span for one database call: the system and what it does (the extension function
/// `quay.*` it calls, else the statement's first word; never parameters). The name is worked out
/// only when a subscriber wants the span.
fn db_span(store: &Store, sql: &str) -> tracing::Span {
    let system = match store {
        Store::Postgres(_) => "postgresql",
        Store::Sqlite(_) => "sqlite",
    };
    let span = tracing::info_span!(
        "db",
        otel.name = tracing::field::Empty,
        otel.kind = "client",
        db.system = system,
        db.operation = tracing::field::Empty
    );
    if !span.is_disabled() {
        let operation = operation(sql);
        span.record("otel.name", format!("db {operation}"));
        span.record("db.operation", operation);
    }
    span
}

/// The `quay.*` function a statement calls, else its first word (comment lines skipped), without
/// allocating: this runs for every statement.
fn operation(sql: &str) -> &str {
    let mut first = None;
    for line in sql.lines().filter(|l| !l.trim_start().starts_with("--")) {
        let words = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'));
        for word in words.filter(|w| !w.is_empty()) {
            if word.starts_with("quay.") {
                return word;
            }
            first.get_or_insert(word);
        }
    }
    first.unwrap_or("query")
}

#[derive(Clone, Copy)]
pub(crate) enum Access {
    /// A point lookup: on SQLite run on the calling task.
    Read,
    /// A read that grows with the data: on SQLite run on the blocking pool.
    Scan,
    Write,
}

/// Column `i` of a row as an integer / text / bool.
pub(crate) fn int(r: &Row, i: usize) -> Option<i64> {
    r.get(i).and_then(Value::as_i64)
}
pub(crate) fn text(r: &Row, i: usize) -> Option<String> {
    r.get(i).and_then(Value::as_text).map(str::to_string)
}
pub(crate) fn boolean(r: &Row, i: usize) -> bool {
    r.get(i).and_then(Value::as_bool).unwrap_or(false)
}

/// `f` of the first row, if any.
pub(crate) fn first<T>(rows: Vec<Row>, f: impl Fn(&Row) -> Option<T>) -> Option<T> {
    rows.first().and_then(f)
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_names_the_extension_function_else_the_first_word() {
        assert_eq!(super::operation("-- a comment\nSELECT quay.tag_list($1, $2)::text"), "quay.tag_list");
        assert_eq!(super::operation("-- only words\n  UPDATE tag SET x = 1"), "UPDATE");
        assert_eq!(super::operation("-- nothing\n"), "query");
    }
}
