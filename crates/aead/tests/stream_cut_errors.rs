//! The error of each way a stream is cut, as docs/formats.md ("Sealed stream") names it
//! (review round 62: it named `MalformedStream` for a cut at a segment boundary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_aead::{
    Error, Key, MIN_SEGMENT_LEN, STREAM_HEADER_LEN, StreamOpener, StreamOptions, StreamSealer,
    TAG_LEN,
};

const SEG: u32 = MIN_SEGMENT_LEN;
const SEG_LEN: usize = SEG as usize;
const AAD: &[u8] = b"partition/cell/object";

fn sealed(len: usize) -> Vec<u8> {
    let key = Key::from_bytes([7; 32]);
    let mut sealer = StreamSealer::with_options(
        &key,
        AAD,
        Vec::new(),
        StreamOptions::default().segment_len(SEG),
    )
    .unwrap();
    let pt: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    sealer.write_all(&pt).unwrap();
    sealer.finish().unwrap()
}

fn open(bytes: &[u8]) -> Result<u64, Error> {
    let key = Key::from_bytes([7; 32]);
    let mut opener = StreamOpener::new(&key, AAD, bytes)?;
    opener.copy_to(&mut std::io::sink())
}

/// A cut at a segment boundary (nothing after the full segments) fails authentication: the
/// last segment left was not sealed as the final one. A remainder of exactly one tag (an
/// empty final segment) is `MalformedStream`; a shorter one `Truncated`. docs/formats.md
/// says so.
#[test]
fn each_cut_of_a_stream_gets_the_documented_error() {
    let stream = sealed(2 * SEG_LEN + 10);
    let cut = STREAM_HEADER_LEN + 2 * (SEG_LEN + TAG_LEN);
    assert!(
        matches!(open(&stream[..cut]), Err(Error::Authentication)),
        "{:?}",
        open(&stream[..cut])
    );
    let tag_only = open(&stream[..cut + TAG_LEN]);
    assert!(
        matches!(tag_only, Err(Error::MalformedStream { .. })),
        "{tag_only:?}"
    );
    let short = open(&stream[..cut + TAG_LEN - 1]);
    assert!(matches!(short, Err(Error::Truncated { .. })), "{short:?}");
    let formats = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/formats.md"
    ))
    .unwrap()
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ");
    assert!(
        formats
            .contains("a cut at a segment boundary: the last segment left was not sealed as final")
    );
    assert!(formats.contains(
        "a remainder of exactly one tag after full segments, an empty final segment: `MalformedStream`"
    ));
}
