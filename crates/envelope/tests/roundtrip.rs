//! Round trips: empty, one byte, compressible, incompressible, 64 MiB, labels, options, reports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{json_like, noise};
use hexvault_envelope::{
    ByteStorage, Compression, ContentType, Error, Limits, MIN_HEADER_LEN, Options,
};

fn round_trip(storage: &ByteStorage, data: &[u8]) -> hexvault_envelope::Report {
    let mut env = Vec::new();
    let stored = storage.store_into(data, &mut env).unwrap();
    assert_eq!(stored.envelope_len, env.len() as u64);
    assert_eq!(stored.original_len, data.len() as u64);
    let mut back = vec![0xAA; 3]; // stale contents must be replaced
    let read = storage.retrieve_into(&env, &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(read.compressed, stored.compressed);
    assert_eq!(read.checksum, stored.checksum);
    assert_eq!(read.payload_len, stored.payload_len);
    assert_eq!(storage.retrieve(&env).unwrap(), data);
    stored
}

#[test]
fn empty() {
    let r = round_trip(
        &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
        b"",
    );
    assert!(!r.compressed);
    assert_eq!(r.envelope_len, MIN_HEADER_LEN as u64);
    assert_eq!(r.ratio(), 0.0);
}

#[test]
fn one_byte() {
    let r = round_trip(
        &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
        b"x",
    );
    assert!(!r.compressed);
    assert_eq!(r.envelope_len, MIN_HEADER_LEN as u64 + 1);
}

/// Issue 9, item 7: compression is opt-in. The default options (and `Compression`'s
/// default) store raw even what LZ4 would shrink; only `Auto`, per storage or per call,
/// compresses.
#[test]
fn default_options_never_compress() {
    assert_eq!(Compression::default(), Compression::Never);
    assert_eq!(Options::default().compression(), Compression::Never);
    let data = json_like(64 * 1024);
    let r = round_trip(&ByteStorage::default(), &data);
    assert!(!r.compressed);
    assert_eq!(r.envelope_len, MIN_HEADER_LEN as u64 + data.len() as u64);
    let mut out = Vec::new();
    let per_call = ByteStorage::default()
        .store_into_with(&data, Compression::Auto, &mut out)
        .unwrap();
    assert_eq!(per_call.compressed, cfg!(feature = "compression"));
}

#[test]
fn compressible_is_compressed() {
    let data = json_like(64 * 1024);
    let r = round_trip(
        &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
        &data,
    );
    // Without the `compression` feature, `Auto` stores raw.
    assert_eq!(r.compressed, cfg!(feature = "compression"));
    #[cfg(feature = "compression")]
    assert!(r.ratio() > 3.0, "ratio {}", r.ratio());
    #[cfg(feature = "checksum")]
    assert_eq!(r.checksum.unwrap().value(), common::xxh3(&data));
}

#[test]
fn incompressible_costs_only_the_header() {
    for len in [63, 64, 1000, 16 * 1024 - 1, 16 * 1024, 100_000] {
        let data = noise(len, 7);
        let r = round_trip(
            &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
            &data,
        );
        assert!(!r.compressed, "len {len}");
        assert_eq!(r.envelope_len, len as u64 + MIN_HEADER_LEN as u64);
    }
}

#[test]
fn sixty_four_mib() {
    // Half text, half noise: both paths of the skip decision inside one large input.
    let mut data = json_like(32 << 20);
    data.extend_from_slice(&noise(32 << 20, 3));
    let r = round_trip(
        &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
        &data,
    );
    assert_eq!(r.compressed, cfg!(feature = "compression"));
    #[cfg(feature = "compression")]
    assert!(r.envelope_len < data.len() as u64);
}

#[test]
fn never_compress_stores_raw() {
    let data = json_like(10_000);
    let s = ByteStorage::new(Options::default().with_compression(Compression::Never));
    let r = round_trip(&s, &data);
    assert!(!r.compressed);
    // Per-call override on a storage that would compress.
    let s = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    let mut env = Vec::new();
    let r = s
        .store_into_with(&data, Compression::Never, &mut env)
        .unwrap();
    assert!(!r.compressed);
    assert_eq!(&env[MIN_HEADER_LEN..], &data[..]);
}

#[test]
fn min_compress_len_is_respected() {
    let data = json_like(1000);
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_min_compress_len(1001),
    );
    assert!(!round_trip(&s, &data).compressed);
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_min_compress_len(1000),
    );
    assert_eq!(
        round_trip(&s, &data).compressed,
        cfg!(feature = "compression")
    );
}

/// Under `Compression::Auto` with default options, inputs shorter than 128 bytes are
/// stored raw without trying LZ4 (it saves nothing there and costs more than the store);
/// from 128 bytes a compressible input is compressed.
#[test]
fn default_threshold_is_128_bytes() {
    assert_eq!(hexvault_envelope::DEFAULT_MIN_COMPRESS_LEN, 128);
    let s = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    // Highly compressible, so only the threshold can keep it raw.
    assert!(!round_trip(&s, &[b'a'; 127]).compressed);
    assert_eq!(
        round_trip(&s, &[b'a'; 128]).compressed,
        cfg!(feature = "compression")
    );
    // The threshold can still be lowered per storage.
    let low = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_min_compress_len(64),
    );
    assert_eq!(
        round_trip(&low, &[b'a'; 64]).compressed,
        cfg!(feature = "compression")
    );
}

#[test]
fn label_round_trips() {
    let ct = ContentType::new("application/json; charset=utf-8").unwrap();
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_content_type(Some(ct.clone())),
    );
    let data = json_like(5000);
    let mut env = Vec::new();
    let r = s.store_into(&data, &mut env).unwrap();
    assert_eq!(r.content_type.as_ref(), Some(&ct));
    let mut back = Vec::new();
    let read = ByteStorage::new(Options::default().with_compression(Compression::Auto))
        .retrieve_into(&env, &mut back)
        .unwrap();
    assert_eq!(read.content_type, Some(ct));
    assert_eq!(back, data);
}

#[test]
fn content_type_validation() {
    assert!(ContentType::new(&"a".repeat(64)).is_ok());
    for bad in ["", "tab\there", "é", &"a".repeat(65)] {
        assert!(
            matches!(ContentType::new(bad), Err(Error::InvalidContentType { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(
        "text/plain".parse::<ContentType>().unwrap().to_string(),
        "text/plain"
    );
}

#[test]
fn limits_are_only_lowered() {
    assert!(matches!(
        Limits::new(1 << 30, 1 << 20),
        Err(Error::LimitAboveCeiling { .. })
    ));
    assert!(matches!(
        Limits::new(1 << 20, (512 << 20) + 1),
        Err(Error::LimitAboveCeiling { .. })
    ));
    assert!(matches!(
        Limits::new(0, 31),
        Err(Error::InvalidLimit { .. })
    ));
    assert!(Limits::new(0, 32).is_ok());
    let l = Limits::default();
    assert!(matches!(
        l.with_max_ratio(0),
        Err(Error::InvalidLimit { .. })
    ));
    assert!(matches!(
        l.with_max_ratio(256),
        Err(Error::InvalidLimit { .. })
    ));
    assert_eq!(l.with_max_ratio(10).unwrap().max_ratio(), 10);
}

#[test]
fn store_refuses_what_it_would_not_read() {
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_limits(Limits::new(100, 1000).unwrap()),
    );
    let mut env = vec![1, 2, 3];
    assert_eq!(
        s.store_into(&[0; 101], &mut env),
        Err(Error::OriginalTooLarge {
            declared: 101,
            limit: 100
        })
    );
    assert!(env.is_empty());
    let s = ByteStorage::new(
        Options::default()
            .with_compression(Compression::Auto)
            .with_limits(Limits::new(1000, 100).unwrap()),
    );
    assert_eq!(
        s.store(&noise(69, 1)),
        Err(Error::EnvelopeTooLarge {
            len: 101,
            limit: 100
        })
    );
    assert!(s.store(&noise(68, 1)).is_ok());
    // Compressible data over the envelope limit raw, under it compressed: accepted.
    #[cfg(feature = "compression")]
    assert!(s.store(&[b'z'; 500]).is_ok());
    assert_eq!(s.stats().failures, 1);
}

#[test]
fn store_output_is_deterministic() {
    let data = json_like(20_000);
    let s = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    assert_eq!(s.store(&data).unwrap(), s.store(&data).unwrap());
}

#[test]
fn base64_like_random_is_judged_by_the_lz4_sample() {
    // 64 symbols: passes the byte-diversity probe, then the LZ4 sample finds no matches.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data: Vec<u8> = noise(50_000, 9)
        .iter()
        .map(|b| ALPHABET[usize::from(b % 64)])
        .collect();
    let r = round_trip(
        &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
        &data,
    );
    assert!(!r.compressed);
    // Low-diversity, repetitive binary is compressed.
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 7) as u8 * 3).collect();
    assert_eq!(
        round_trip(
            &ByteStorage::new(Options::default().with_compression(Compression::Auto)),
            &data
        )
        .compressed,
        cfg!(feature = "compression")
    );
}

/// `store` returns its envelope in an allocation of exactly the envelope's length when the
/// LZ4 worst-case room would leave 4 KiB or more unused, and at most 4 KiB longer otherwise:
/// on the LZ4 path, after a failed LZ4 attempt, and raw. An oversized envelope made every
/// large round trip grow and trim the heap.
#[test]
fn store_returns_an_envelope_of_exact_capacity() {
    let storage = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    for (data, compressed, exact) in [
        (json_like(64 * 1024), true, true),
        (json_like(1024 * 1024), true, true),
        (json_like(1024), true, false),
        (noise(1000, 7), false, false),
        (noise(64 * 1024, 8), false, true),
        (Vec::new(), false, true),
    ] {
        let env = storage.store(&data).unwrap();
        let compressed = compressed && cfg!(feature = "compression");
        assert_eq!(storage.check(&env).unwrap().compressed(), compressed);
        let spare = env.capacity() - env.len();
        if exact {
            assert_eq!(spare, 0, "len {}", data.len());
        } else {
            assert!(spare < 4096, "len {}: {spare} spare", data.len());
        }
        assert_eq!(storage.retrieve(&env).unwrap(), data);
    }
}
