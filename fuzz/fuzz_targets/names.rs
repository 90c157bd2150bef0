//! Names as they arrive in URLs and API bodies: repository paths (with and without the library
//! namespace), tags, digests, usernames. Never a panic; a parsed repository prints back to a
//! name that parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quay_core::names;
use quay_server::ops::repo_name::RepoName;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for line in text.split('\n') {
        let _ = names::is_valid_username(line);
        let _ = names::is_valid_tag(line);
        let _ = names::is_valid_digest(line);
        let _ = names::is_valid_repository_name(line);
        for library in [None, Some("library")] {
            if let Some(r) = RepoName::parse(line, library) {
                assert_eq!(RepoName::parse(&r.full(), None).as_ref(), Some(&r), "{line:?}");
            }
        }
    }
});
