//! The same scenarios against PostgreSQL (the `quay` extension) and SQLite (the core in-process), with identical results required.

#[path = "../common/mod.rs"]
mod common;

mod invariants;
mod queue;
