//! Review round 22: envelope findings.
#![allow(clippy::unwrap_used)]

use hexvault_envelope::{ByteStorage, Compression, Limits, Options};

/// README.md:54 "`store` refuses to write what the same storage would refuse to read."
/// docs/formats.md:663 "The writer refuses inputs over the original-length limit and
/// envelopes over the envelope limit, so it never writes what the same `ByteStorage` would
/// refuse to read." `store_inner` (src/storage.rs) never checks the ratio cap of
/// `Limits::with_max_ratio`: a storage with a lowered ratio writes a compressed envelope
/// that its own `retrieve` refuses as `ImpossibleRatio` (data written, never readable).
#[cfg(feature = "compression")]
#[test]
#[ignore = "review22 finding"]
fn a_storage_with_a_ratio_cap_reads_back_what_it_stored() {
    let storage = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_limits(Limits::default().with_max_ratio(4).unwrap()),
    );
    let data = vec![0u8; 64 * 1024];
    match storage.store(&data) {
        // Refusing to write is acceptable; writing what it cannot read is not.
        Err(_) => {}
        Ok(envelope) => {
            let back = storage.retrieve(&envelope);
            assert!(
                back.is_ok(),
                "the same storage refuses the envelope it just wrote: {:?}",
                back.err()
            );
        }
    }
}
