//! The schema: our migrations against Quay's reference schema, on both backends.

mod postgres_schema;
mod sqlite_schema;
