//! The server in-process (the real router on 127.0.0.1) over both backends: the `/api/v1` golden replay, the registry protocol, credentials, concurrency and blob integrity, S3 storage, connection bounds, hostile tokens, the worker.

#[path = "../common/mod.rs"]
mod common;

mod action_logs;
mod api_golden;
mod api_permissions;
mod api_routes;
mod autoprune;
mod blob_integrity;
mod connections;
mod metrics;
mod notification_delivery;
mod notification_email;
mod quota;
mod registry;
mod registry_concurrency;
mod registry_credentials;
mod registry_permissions;
mod registry_protocol;
mod registry_s3;
mod repository_state;
mod tag_expiry;
mod token_tampering;
mod worker;
