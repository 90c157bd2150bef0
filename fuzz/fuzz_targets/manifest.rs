//! Manifest bytes as a client PUTs them, under each media type a client may declare: checking
//! never panics, and an accepted manifest's digest is the sha256 of its bytes and checks again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quay_core::manifests::{CheckedManifest, manifest_text};

const DECLARED: [Option<&str>; 6] = [
    None,
    Some("application/vnd.oci.image.manifest.v1+json"),
    Some("application/vnd.oci.image.index.v1+json"),
    Some("application/vnd.docker.distribution.manifest.v2+json"),
    Some("application/vnd.docker.distribution.manifest.list.v2+json"),
    Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = manifest_text(data) else { return };
    for declared in DECLARED {
        if let Ok(m) = CheckedManifest::check(text, declared, None) {
            let again = CheckedManifest::check(text, declared, Some(m.digest()));
            assert!(again.is_ok(), "an accepted manifest fails against its own digest");
            assert_eq!(m.bytes(), text);
        }
    }
});
