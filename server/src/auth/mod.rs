//! Credentials: how users, robots and tokens prove who they are.

pub mod credentials;
pub mod field_encryption;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod session;
