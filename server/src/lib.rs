//! The `quay` server: HTTP tier, store backends, blob storage and commands.
//!
//! Layout (who may depend on whom: `cli` → `http`/`worker` → `ops` → `store`/`storage`/`auth` →
//! `quay_core`):
//! - [`config`]: Quay's config.yaml, validation, mode presets, secret redaction.
//! - [`cli`]: the `quay` subcommands.
//! - [`http`]: routers (`/v2`, `/health`); handlers never build SQL.
//! - [`ops`]: operations spanning store and storage (blob objects and their rows).
//! - [`store`]: metadata on PostgreSQL (+ the `quay` extension) or SQLite (mirror mode).
//! - [`storage`]: blob storage with Quay's path layout.
//! - [`auth`], [`users`]: credentials and accounts.

pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod install;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod progress;
pub mod registry;
pub mod shutdown;
pub mod storage;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod users;
pub mod worker;
