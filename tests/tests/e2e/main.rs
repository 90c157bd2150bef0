//! End to end with real clients: skopeo, podman and oras against the server.

#[path = "../common/mod.rs"]
mod common;

mod registry_clients;
