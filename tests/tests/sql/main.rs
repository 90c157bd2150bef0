//! The extension through SQL, as a DBA or a second writer calls it from psql: invariants under concurrency, the manifest rules, upgrades, and docs/sql-api.md against the catalog.

#[path = "../common/mod.rs"]
mod common;

mod extension_upgrade;
mod invariants_pg;
mod manifest_put;
mod sql_api_doc;
