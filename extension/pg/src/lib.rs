//! The `quay` PostgreSQL extension. Functions live in schema `quay` (see `quay.control`); their
//! rules come from `quay_core`, the same code mirror mode runs on SQLite.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

/// The extension's version, e.g. `SELECT quay.version();`.
#[pg_extern(immutable, parallel_safe)]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The Quay schema revision (Alembic head) the extension's functions are written against.
#[pg_extern(immutable, parallel_safe)]
fn quay_schema_revision() -> &'static str {
    quay_core::QUAY_ALEMBIC_HEAD
}

extension_sql!(
    r#"
COMMENT ON FUNCTION version() IS 'Version of the quay extension installed in this database.';
COMMENT ON FUNCTION quay_schema_revision() IS 'Quay Alembic revision whose schema the quay extension targets.';
"#,
    name = "comments",
    finalize
);
