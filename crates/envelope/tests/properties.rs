//! Property tests: round trip for arbitrary bytes and options; `retrieve` on arbitrary
//! (and on mutated valid) envelopes never panics and never reserves more than the limits.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use hexvault_envelope::{ByteStorage, Compression, ContentType, Limits, Options};
use proptest::prelude::*;

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // arbitrary bytes
        proptest::collection::vec(any::<u8>(), 0..6000),
        // compressible: few symbols, long runs
        proptest::collection::vec((0u8..4, 1usize..200), 0..80).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(b, n)| std::iter::repeat_n(b'a' + b, n))
                .collect()
        }),
        // text, including inputs past the sampling threshold
        (0usize..40_000).prop_map(common::json_like),
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (
        0usize..300,
        any::<bool>(),
        proptest::option::of("[ -~]{1,64}"),
        proptest::option::of(1u32..=255),
    )
        .prop_map(|(min, never, label, ratio)| {
            let mut limits = Limits::default();
            if let Some(r) = ratio {
                limits = limits.with_max_ratio(r).unwrap();
            }
            Options::default()
                .with_compression(Compression::Auto)
                .with_min_compress_len(min)
                .with_compression(if never {
                    Compression::Never
                } else {
                    Compression::Auto
                })
                .with_content_type(label.map(|l| ContentType::new(&l).unwrap()))
                .with_limits(limits)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip(data in data(), options in options()) {
        let s = ByteStorage::new(options.clone());
        let mut env = Vec::new();
        let stored = s.store_into(&data, &mut env).unwrap();
        prop_assert!(env.len() <= data.len() + 32 + 64);
        let mut back = Vec::new();
        // Every storage reads back what it wrote, a ratio cap included (review round 22).
        let read = s.retrieve_into(&env, &mut back).unwrap();
        prop_assert_eq!(&back, &data);
        prop_assert_eq!(read.checksum, stored.checksum);
        prop_assert_eq!(read.content_type.as_ref(), options.content_type());
        // The default storage reads everything any storage writes.
        prop_assert_eq!(ByteStorage::new(Options::default().with_compression(Compression::Auto)).retrieve(&env).unwrap(), data);
    }

    #[test]
    fn retrieve_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let s = ByteStorage::new(Options::default().with_compression(Compression::Auto).with_limits(Limits::new(4096, 4096).unwrap()));
        let mut out = Vec::new();
        if s.retrieve_into(&bytes, &mut out).is_err() {
            prop_assert!(out.is_empty());
        }
        prop_assert!(out.capacity() <= 4096);
    }

    #[test]
    fn retrieve_mutated_envelopes_never_panics(
        data in data(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        declared in prop_oneof![any::<u64>(), 0u64..70_000],
        set_declared in any::<bool>(),
    ) {
        let limit = 65_536u64;
        let s = ByteStorage::new(Options::default().with_compression(Compression::Auto).with_limits(Limits::new(limit, limit).unwrap()));
        let mut env = ByteStorage::new(Options::default().with_compression(Compression::Auto)).store(&data).unwrap();
        if set_declared {
            env[8..16].copy_from_slice(&declared.to_le_bytes());
            common::fix_header_check(&mut env);
        }
        for (at, value) in edits {
            let i = at.index(env.len());
            env[i] = value;
        }
        if truncate {
            env.truncate(cut.index(env.len() + 1));
        }
        let mut out = Vec::new();
        match s.retrieve_into(&env, &mut out) {
            Ok(report) => prop_assert_eq!(report.original_len, out.len() as u64),
            Err(_) => prop_assert!(out.is_empty()),
        }
        prop_assert!(out.capacity() as u64 <= limit);
    }
}
