//! Registry domain pieces that are neither HTTP nor storage: the resumable digest used by chunked
//! uploads. Manifest rules live in the core (`quay_core::manifests`), shared with the extension.

pub mod hasher;
