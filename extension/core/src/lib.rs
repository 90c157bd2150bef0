//! Pure-Rust core shared by the `quay` PostgreSQL extension (`extension/pg`) and mirror mode
//! (`server`, on SQLite). It holds domain rules only: no I/O, no async runtime, no pgrx.
//! Anything that talks to a database does so through the caller.

pub mod apptokens;
pub mod autoprune;
pub mod blobs;
pub mod duration;
pub mod exec;
pub mod gc;
pub mod labels;
pub mod logs;
pub mod manifests;
pub mod names;
pub mod notifications;
pub mod oauth_apps;
pub mod organizations;
pub mod permissions;
pub mod prototypes;
pub mod push;
pub mod queue;
pub mod quota;
pub mod repositories;
pub mod robots;
pub mod rules;
pub mod schema;
pub mod schema_contract;
pub mod tags;
pub mod teams;
pub mod users;

/// Quay's Alembic revision whose schema our baseline migration reproduces.
pub const QUAY_ALEMBIC_HEAD: &str = "9fa37f66a9b6";

/// Number of tables in Quay's schema at [`QUAY_ALEMBIC_HEAD`] (95 model tables, 9 `appr*`
/// leftovers and `alembic_version`).
pub const QUAY_TABLE_COUNT: usize = 105;
