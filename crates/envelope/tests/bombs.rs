//! Decompression bombs: every size limit is checked on the header, before any allocation,
//! and the LZ4 expansion bound is exact (tested both ways with maximal-ratio blocks).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

#[cfg(all(feature = "compression", feature = "checksum"))]
use common::xxh3;
use common::{craft, maximal_block};
use hexvault_envelope::{
    ByteStorage, Compression, Error, LIMIT_CEILING, Limits, Options, max_lz4_output,
};

/// A storage that also reads the unchecked envelopes these tests craft (the limits are
/// checked before the checksum flag either way).
fn storage(max_original: u64, max_envelope: u64) -> ByteStorage {
    ByteStorage::new(
        Options::default()
            .accept_unchecked(true)
            .with_compression(Compression::Auto)
            .with_limits(Limits::new(max_original, max_envelope).unwrap()),
    )
}

/// Retrieve into an empty buffer and assert that nothing was reserved for the output.
fn refused_without_allocating(s: &ByteStorage, env: &[u8]) -> Error {
    let mut out = Vec::new();
    let err = s.retrieve_into(env, &mut out).unwrap_err();
    assert_eq!(out.capacity(), 0, "output reserved before refusing: {err}");
    // The header-only check gives the same answer.
    assert_eq!(s.check(env).unwrap_err(), err);
    err
}

#[test]
fn five_hundred_gb_in_a_hundred_bytes() {
    let s = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    let payload = vec![0u8; 100 - 32];
    for compressed in [true, false] {
        for checksum in [Some(0), None] {
            let env = craft(compressed, 500_000_000_000, checksum, b"", &payload);
            assert_eq!(env.len(), 100);
            let expected = if checksum.is_some() && !cfg!(feature = "checksum") {
                // A build without `checksum` cannot read checksummed headers at all.
                Error::ChecksumUnsupported
            } else {
                Error::OriginalTooLarge {
                    declared: 500_000_000_000,
                    limit: LIMIT_CEILING,
                }
            };
            assert_eq!(refused_without_allocating(&s, &env), expected);
        }
    }
    let env = craft(true, u64::MAX, None, b"", &payload);
    assert!(matches!(
        refused_without_allocating(&s, &env),
        Error::OriginalTooLarge { .. }
    ));
}

#[test]
fn original_length_limit_edge() {
    let s = storage(1000, 10_000);
    // Exactly at the limit: passes every limit (and decodes); one over: refused.
    let data = vec![b'k'; 1000];
    assert_eq!(
        s.retrieve(&craft(false, 1000, None, b"", &data)).unwrap(),
        data
    );
    let data = vec![b'k'; 1001];
    assert_eq!(
        refused_without_allocating(&s, &craft(false, 1001, None, b"", &data)),
        Error::OriginalTooLarge {
            declared: 1001,
            limit: 1000
        }
    );
    // The same for compressed envelopes (refused on the limit even without a decoder).
    let data = vec![b'k'; 1001];
    let block = lz4_flex::block::compress(&data);
    assert_eq!(
        refused_without_allocating(&s, &craft(true, 1001, None, b"", &block)),
        Error::OriginalTooLarge {
            declared: 1001,
            limit: 1000
        }
    );
    #[cfg(feature = "compression")]
    {
        let data = vec![b'k'; 1000];
        let block = lz4_flex::block::compress(&data);
        assert_eq!(
            s.retrieve(&craft(true, 1000, None, b"", &block)).unwrap(),
            data
        );
    }
}

#[test]
fn envelope_length_limit_edge() {
    let s = storage(10_000, 132);
    let data = vec![7u8; 100];
    let at = craft(false, 100, None, b"", &data);
    assert_eq!(at.len(), 132);
    assert_eq!(s.retrieve(&at).unwrap(), data);
    let data = vec![7u8; 101];
    let over = craft(false, 101, None, b"", &data);
    assert_eq!(
        refused_without_allocating(&s, &over),
        Error::EnvelopeTooLarge {
            len: 133,
            limit: 132
        }
    );
}

#[test]
fn lz4_bound_is_reached_by_real_blocks() {
    // The maximal block decodes (with lz4_flex) to exactly max_lz4_output(n) bytes.
    for n in [5, 6, 7, 100, 1000, 4099] {
        let block = maximal_block(n);
        let out = lz4_flex::block::decompress(&block, max_lz4_output(n as u64) as usize).unwrap();
        assert_eq!(out.len() as u64, max_lz4_output(n as u64), "n = {n}");
        assert!(out.iter().all(|&b| b == b'a'));
        // ...and not one byte more fits: a buffer one short is refused.
        assert!(lz4_flex::block::decompress_into(&block, &mut vec![0; out.len() - 1]).is_err());
    }
    // Below five bytes only literals fit.
    assert_eq!(
        lz4_flex::block::decompress(&[0x30, 1, 2, 3], 3).unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(max_lz4_output(4), 3);
}

#[cfg(all(feature = "compression", feature = "checksum"))]
#[test]
fn ratio_edge_both_ways() {
    let s = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    for n in [5usize, 6, 64, 1000, 4099, 65_536] {
        let block = maximal_block(n);
        let max = max_lz4_output(n as u64);
        let content = vec![b'a'; max as usize];
        // At the bound: accepted and decoded.
        let at = craft(true, max, Some(xxh3(&content)), b"", &block);
        assert_eq!(s.retrieve(&at).unwrap(), content, "n = {n}");
        // One past the bound: refused as impossible before any allocation.
        let past = craft(true, max + 1, Some(xxh3(&content)), b"", &block);
        assert_eq!(
            refused_without_allocating(&s, &past),
            Error::ImpossibleRatio {
                declared: max + 1,
                payload_len: n as u64,
                max
            }
        );
    }
    // Spec-conformant maximal blocks (reference-decodable) sit below the bound.
    for n in [11usize, 300, 4099] {
        let block = common::maximal_spec_block(n);
        let len = 255 * n as u64 - 2526;
        assert!(len < max_lz4_output(n as u64));
        let content = vec![b'a'; len as usize];
        assert_eq!(
            s.retrieve(&craft(true, len, Some(xxh3(&content)), b"", &block))
                .unwrap(),
            content
        );
    }
}

#[cfg(all(feature = "compression", feature = "checksum"))]
#[test]
fn lowered_ratio_limit() {
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_limits(Limits::default().with_max_ratio(10).unwrap()),
    );
    // Ordinary text at about 4:1 is unaffected by a 10:1 cap.
    let content = common::json_like(1000);
    let block_text = lz4_flex::block::compress(&content);
    assert!(1000 <= 10 * block_text.len());
    assert_eq!(
        s.retrieve(&craft(true, 1000, Some(xxh3(&content)), b"", &block_text))
            .unwrap(),
        content
    );
    // A 100-byte payload may now claim 1000 bytes at most, LZ4 could give 24244.
    let block = maximal_block(100);
    for declared in [1001, max_lz4_output(100)] {
        let big = vec![b'a'; declared as usize];
        assert_eq!(
            refused_without_allocating(&s, &craft(true, declared, Some(xxh3(&big)), b"", &block)),
            Error::ImpossibleRatio {
                declared,
                payload_len: 100,
                max: 1000
            }
        );
    }
}

#[cfg(feature = "compression")]
#[test]
fn declared_smaller_than_stream_is_corrupt_not_overflow() {
    // The block decodes to 18 bytes; the header declares 10: the decoder stops at the
    // buffer's end and reports the stream as corrupt.
    let s = ByteStorage::new(
        Options::default()
            .accept_unchecked(true)
            .with_compression(Compression::Auto),
    );
    let block = [0x1E, b'a', 0x01, 0x00, 0x00];
    let env = craft(true, 10, None, b"", &block);
    assert!(matches!(s.retrieve(&env), Err(Error::CorruptLz4 { .. })));
}

#[test]
fn the_ceiling_is_512_mib() {
    assert_eq!(LIMIT_CEILING, 512 * 1024 * 1024);
    assert_eq!(Limits::default().max_original_len(), LIMIT_CEILING);
    assert_eq!(Limits::default().max_envelope_len(), LIMIT_CEILING);
    // At the ceiling, with the LZ4 bound, a 2.1 MB payload is the least that can claim 512 MiB.
    let n = (LIMIT_CEILING + 1256).div_ceil(255);
    assert!(max_lz4_output(n) >= LIMIT_CEILING && max_lz4_output(n - 1) < LIMIT_CEILING);
}

/// docs/formats.md: an LZ4 payload is at least one byte (an LZ4 block always holds at
/// least its final token). An envelope with the LZ4 flag and an empty payload is refused,
/// with and without a checksum, whatever length it declares.
#[cfg(all(feature = "compression", feature = "checksum"))]
#[test]
fn empty_lz4_payload_is_refused() {
    let s = ByteStorage::new(Options::default().accept_unchecked(true));
    for declared in [0u64, 1] {
        for checksum in [None, Some(xxh3(&vec![0u8; declared as usize]))] {
            let env = craft(true, declared, checksum, b"", &[]);
            let err = s.retrieve(&env).unwrap_err();
            assert!(
                matches!(
                    (declared, &err),
                    (0, Error::CorruptLz4 { .. }) | (1, Error::ImpossibleRatio { .. })
                ),
                "{declared}: {err:?}"
            );
        }
    }
}
