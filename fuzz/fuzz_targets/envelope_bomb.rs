//! Fuzz bomb headers: a well-formed header (valid checks) declaring any length over any
//! payload. Retrieval must refuse or decode exactly the declared length, within the limits.
#![no_main]

use std::sync::LazyLock;

use hexvault_envelope::{ByteStorage, Checksum, Header, Limits, Options, Compression};
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 4 << 20;

static STORAGE: LazyLock<ByteStorage> = LazyLock::new(|| {
    ByteStorage::new(Options::default().with_compression(Compression::Auto).with_limits(Limits::new(LIMIT, LIMIT).expect("limits")))
});

fuzz_target!(|input: (u64, bool, bool, u64, &[u8])| {
    let (declared, compressed, checksummed, checksum, payload) = input;
    // Half the time, pull the declared length into the interesting range near the bound.
    let declared = if declared & 1 == 0 {
        declared % (hexvault_envelope::max_lz4_output(payload.len() as u64) + 2)
    } else {
        declared
    };
    let header = Header::new(
        compressed,
        checksummed.then_some(Checksum::new(checksum)),
        declared,
        None,
    );
    let mut envelope = header.encode(payload).expect("every header encodes");
    envelope.extend_from_slice(payload);
    let mut out = Vec::new();
    match STORAGE.retrieve_into(&envelope, &mut out) {
        Ok(report) => {
            assert_eq!(out.len() as u64, declared);
            assert_eq!(report.original_len, declared);
            assert!(declared <= LIMIT);
        }
        Err(_) => assert!(out.is_empty()),
    }
    assert!(out.capacity() as u64 <= LIMIT);
});
