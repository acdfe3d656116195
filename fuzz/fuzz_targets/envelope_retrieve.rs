//! Fuzz `ByteStorage::retrieve` on arbitrary bytes: never panics, never reserves past the
//! limits, and whatever it accepts stores and retrieves back to the same bytes.
#![no_main]

use std::sync::LazyLock;

use hexvault_envelope::{ByteStorage, Limits, Options, Compression};
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 20;

static STORAGE: LazyLock<ByteStorage> = LazyLock::new(|| {
    ByteStorage::new(Options::default().with_compression(Compression::Auto).with_limits(Limits::new(LIMIT, LIMIT).expect("limits")))
});

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    match STORAGE.retrieve_into(data, &mut out) {
        Ok(report) => {
            assert_eq!(report.original_len, out.len() as u64);
            let again = STORAGE.store(&out).expect("store what was retrieved");
            assert_eq!(STORAGE.retrieve(&again).expect("retrieve again"), out);
        }
        Err(_) => assert!(out.is_empty()),
    }
    assert!(out.capacity() as u64 <= LIMIT);
});
