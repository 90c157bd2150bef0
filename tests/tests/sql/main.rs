//! The extension through SQL, as a DBA or a second writer calls it from psql: invariants under
//! concurrency, upgrades, and docs/sql-api.md against the catalog.

mod extension_upgrade;
mod invariants_pg;
mod sql_api_doc;
