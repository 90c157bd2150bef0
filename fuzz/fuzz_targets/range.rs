//! `Range` on blob GETs and `Content-Range` on upload PATCHes. The first 8 bytes are the object
//! size; the rest is the header value. A satisfiable range always lies inside the object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quay_server::http::v2::blobs::parse_range;
use quay_server::http::v2::uploads::parse_content_range;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let size = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
    let Ok(value) = std::str::from_utf8(&data[8..]) else { return };
    if let Ok(Some((start, end))) = parse_range(value, size) {
        assert!(start <= end && end < size, "{value:?} of {size}: {start}-{end}");
    }
    let _ = parse_content_range(value);
});
