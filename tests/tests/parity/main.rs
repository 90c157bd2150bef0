//! The same scenarios against PostgreSQL (the `quay` extension, called from SQL) and SQLite (the
//! core in-process), with identical results required: invariants, the queue, manifest rules.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod invariants;
mod manifest_put;
mod queue;
