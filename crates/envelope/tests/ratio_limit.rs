//! A storage with a lowered ratio limit reads back everything it writes (review round 22):
//! content that LZ4 would compress past the limit is stored raw, never as a block the same
//! storage refuses as `ImpossibleRatio`.
#![allow(clippy::unwrap_used)]

use hexvault_envelope::{ByteStorage, Compression, Limits, Options};

fn capped(ratio: u32) -> ByteStorage {
    ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_limits(Limits::default().with_max_ratio(ratio).unwrap()),
    )
}

/// README.md: "`store` refuses to write what the same storage would refuse to read". 64 KiB
/// of zeros compresses about 245 times: under a ratio cap of 4 it used to be written as a
/// 268-byte block that `retrieve` then refused, the data lost.
#[cfg(feature = "compression")]
#[test]
fn a_storage_with_a_ratio_cap_reads_back_what_it_stored() {
    let storage = capped(4);
    let data = vec![0u8; 64 * 1024];
    let (envelope, report) = {
        let mut out = Vec::new();
        let report = storage.store_into(&data, &mut out).unwrap();
        (out, report)
    };
    assert!(!report.compressed, "past the cap: stored raw");
    assert!(storage.retrieve(&envelope).unwrap() == data);
    // Within the cap, the content is still compressed: JSON-like lines compress a few
    // times, under a cap of 16.
    let storage = capped(16);
    let mut data = Vec::new();
    let mut i = 0u32;
    while data.len() < 64 * 1024 {
        data.extend_from_slice(format!("{{\"id\":{i},\"user\":\"user-{}\"}}\n", i % 97).as_bytes());
        i += 1;
    }
    let mut out = Vec::new();
    let report = storage.store_into(&data, &mut out).unwrap();
    assert!(report.compressed && report.payload_len * 16 >= data.len() as u64);
    assert!(storage.retrieve(&out).unwrap() == data);
}
