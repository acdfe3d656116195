//! hexvault-mnemonic beside the raw primitives: `to_seed` vs bare ring PBKDF2-HMAC-SHA512
//! (2048 rounds, same password and salt, same run) and vs the `bip39` crate's own
//! `to_seed`; `parse` of a 24-word phrase vs `bip39`'s parse.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::num::NonZeroU32;

use criterion::{Criterion, criterion_group, criterion_main};
use hexvault_benches::filler;
use hexvault_mnemonic::{Language, Mnemonic};

const PASSPHRASE: &str = "TREZOR";

fn mnemonic_24() -> Mnemonic {
    Mnemonic::from_entropy(&filler(32), Language::English).unwrap()
}

fn to_seed(c: &mut Criterion) {
    let ours = mnemonic_24();
    let phrase = ours.phrase().to_string();
    let salt = format!("mnemonic{PASSPHRASE}");
    let theirs = bip39::Mnemonic::parse_in(bip39::Language::English, phrase.as_str()).unwrap();
    // Same inputs everywhere: the outputs agree.
    let mut raw = [0_u8; 64];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA512,
        NonZeroU32::new(2048).unwrap(),
        salt.as_bytes(),
        phrase.as_bytes(),
        &mut raw,
    );
    assert_eq!(ours.to_seed(PASSPHRASE).expose_secret(), &raw);
    assert_eq!(theirs.to_seed(PASSPHRASE), raw);

    let mut g = c.benchmark_group("mnemonic_to_seed");
    g.bench_function("hexvault_to_seed", |b| {
        b.iter(|| black_box(&ours).to_seed(black_box(PASSPHRASE)));
    });
    g.bench_function("ring_pbkdf2_hmac_sha512_2048", |b| {
        b.iter(|| {
            let mut out = [0_u8; 64];
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA512,
                NonZeroU32::new(2048).unwrap(),
                black_box(salt.as_bytes()),
                black_box(phrase.as_bytes()),
                &mut out,
            );
            out
        });
    });
    g.bench_function("bip39_crate_to_seed", |b| {
        b.iter(|| black_box(&theirs).to_seed(black_box(PASSPHRASE)));
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let phrase = mnemonic_24().phrase().to_string();
    let mut g = c.benchmark_group("mnemonic_parse_24_words");
    g.bench_function("hexvault_parse_detect", |b| {
        b.iter(|| Mnemonic::parse(black_box(&phrase)).unwrap());
    });
    g.bench_function("hexvault_parse_in_english", |b| {
        b.iter(|| Mnemonic::parse_in(Language::English, black_box(&phrase)).unwrap());
    });
    g.bench_function("bip39_crate_parse_detect", |b| {
        b.iter(|| bip39::Mnemonic::parse(black_box(phrase.as_str())).unwrap());
    });
    g.bench_function("bip39_crate_parse_in_normalized", |b| {
        b.iter(|| {
            bip39::Mnemonic::parse_in_normalized(bip39::Language::English, black_box(&phrase))
                .unwrap()
        });
    });
    g.finish();
}

criterion_group!(benches, to_seed, parse);
criterion_main!(benches);
