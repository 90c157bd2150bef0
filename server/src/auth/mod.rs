//! Credentials: how users, robots and tokens prove who they are.

pub mod password;
