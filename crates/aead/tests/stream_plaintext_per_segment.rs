//! A stream hands its plaintext out one authenticated segment at a time: when a later
//! segment fails, the earlier ones are already with the caller. The crate docs and
//! docs/architecture.md say so (review round 50: both claimed a failed open leaves no
//! plaintext anywhere, without naming streams).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use hexvault_aead::{Key, MIN_SEGMENT_LEN, StreamOpener, StreamOptions, StreamSealer};

/// Two full segments reach the caller's writer before the tampered final one fails, and
/// both documents that promise "no plaintext left behind" name the stream exception.
#[test]
fn a_failed_stream_leaves_the_earlier_segments_with_the_caller_as_documented() {
    let arch = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/architecture.md"
    ))
    .unwrap();
    let start = arch.find("### `crates/aead`").unwrap();
    let end = start + arch[start..].find("### `crates/envelope`").unwrap();
    let section = &arch[start..end];
    let invariant = section
        .split("- Architecture invariant:")
        .find(|s| s.contains("plaintext leaves the crate only"))
        .unwrap_or("");
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let lib_claim = lib
        .split("//! * ")
        .find(|s| s.contains("a failed open leaves no plaintext"))
        .unwrap_or("");
    let names_streams = (invariant.contains("StreamOpener") || invariant.contains("stream"))
        && (lib_claim.is_empty()
            || lib_claim.contains("StreamOpener")
            || lib_claim.contains("stream"));

    let key = Key::from_bytes([5; 32]);
    let secret = vec![0x5Au8; 3 * MIN_SEGMENT_LEN as usize];
    let mut sealer = StreamSealer::with_options(
        &key,
        b"",
        Vec::new(),
        StreamOptions::default().segment_len(MIN_SEGMENT_LEN),
    )
    .unwrap();
    sealer.write_all(&secret).unwrap();
    let mut sealed = sealer.finish().unwrap();
    let last = sealed.len() - 1;
    sealed[last] ^= 1; // the final segment's tag
    let mut out = Vec::new();
    let opened = StreamOpener::new(&key, b"", &sealed[..])
        .unwrap()
        .copy_to(&mut out);
    assert!(opened.is_err(), "a tampered stream must not open");
    let left_behind = out.iter().filter(|&&b| b == 0x5A).count();
    assert_eq!(left_behind, 2 * MIN_SEGMENT_LEN as usize);
    assert!(
        names_streams,
        "docs/architecture.md's invariant or lib.rs's claim no longer names streams"
    );
}
