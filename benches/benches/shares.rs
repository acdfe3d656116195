//! hexvault-shares beside the raw primitive: SLIP-0039 split (2-of-3) and combine (2 shares)
//! of 128- and 256-bit master secrets at the default iteration exponent (1: 20000 PBKDF2
//! iterations), beside the bare PBKDF2-HMAC-SHA256 work they contain (four ring PBKDF2 calls
//! of 5000 iterations, n/2-byte output, same salt shape), in the same run.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::num::NonZeroU32;

use criterion::{Criterion, criterion_group, criterion_main};
use hexvault_benches::filler;
use hexvault_shares::{
    DEFAULT_ITERATION_EXPONENT, MasterSecret, Share, SplitConfig, combine, split,
};

/// Iterations of one Feistel round at the default exponent: 10000 x 2^e / 4.
const ROUND_ITERATIONS: u32 = (10_000 << DEFAULT_ITERATION_EXPONENT) / 4;

/// The four PBKDF2 rounds of the passphrase encryption, bare.
fn raw_pbkdf2(half: &[u8]) -> Vec<u8> {
    let mut salt = b"shamir\x12\x34".to_vec();
    salt.extend_from_slice(half);
    let mut out = vec![0_u8; half.len()];
    for round in 0..4_u8 {
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(ROUND_ITERATIONS).unwrap(),
            &salt,
            &[round],
            &mut out,
        );
    }
    out
}

fn shares(c: &mut Criterion) {
    for bits in [128_usize, 256] {
        let secret = MasterSecret::from_bytes(&filler(bits / 8)).unwrap();
        let config = SplitConfig::single(2, 3);
        let groups = split(&secret, "", &config).unwrap();
        let two: Vec<Share> = groups[0][..2]
            .iter()
            .map(|s| Share::parse(&s.to_words()).unwrap())
            .collect();
        assert_eq!(combine(&two, "").unwrap(), secret);
        let half = filler(bits / 16);

        let mut g = c.benchmark_group(format!("shares_{bits}"));
        g.sample_size(10);
        g.bench_function("hexvault_split_2_of_3", |b| {
            b.iter(|| split(black_box(&secret), "", black_box(&config)).unwrap());
        });
        g.bench_function("hexvault_combine_2", |b| {
            b.iter(|| combine(black_box(&two), "").unwrap());
        });
        g.bench_function("ring_pbkdf2_sha256_4_rounds", |b| {
            b.iter(|| raw_pbkdf2(black_box(&half)));
        });
        g.finish();
    }
}

criterion_group!(benches, shares);
criterion_main!(benches);
