//! Registry bearer tokens as a client sends them: reading the header and validating against
//! this instance's key never panic, and nothing validates that this key did not sign.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quay_server::auth::jwt::{InstanceKey, token_kid, validate};
use std::sync::OnceLock;

fn key() -> &'static InstanceKey {
    static KEY: OnceLock<InstanceKey> = OnceLock::new();
    KEY.get_or_init(|| InstanceKey::generate().expect("key").0)
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let _ = token_kid(token);
    let ok = validate(token, key().decoding(), "registry.example", "quay", 3600, 1_800_000_000);
    assert!(ok.is_err(), "a token the fuzzer made validated");
});
