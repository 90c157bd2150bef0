//! Docker token-auth scopes (`/v2/auth?scope=`): never a panic; what parses names only the
//! actions the grammar allows and a name taken from the scope itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quay_server::ops::credentials::parse_scope;

fuzz_target!(|data: &[u8]| {
    let Ok(scope) = std::str::from_utf8(data) else { return };
    if let Some((name, actions)) = parse_scope(scope) {
        assert!(!actions.is_empty());
        assert!(actions.iter().all(|a| matches!(*a, "push" | "pull" | "*")));
        assert!(scope.contains(name));
    }
});
