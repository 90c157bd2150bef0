//! Credentials: how users, robots and tokens prove who they are.

pub mod field_encryption;
pub mod jwt;
pub mod password;
