//! Registry domain pieces that are neither HTTP nor storage: manifest validation and the
//! resumable digest used by chunked uploads.

pub mod hasher;
pub mod manifest;
