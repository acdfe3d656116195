//! hexvault-derivation beside the raw primitives: one SLIP-0010 ed25519 level vs one ring
//! HMAC-SHA512 + one ed25519-dalek public key; one BIP-32 secp256k1 level vs one ring
//! HMAC-SHA512 + one k256 `mul_by_generator` public key (same inputs, same run).
//!
//! A level needs exactly one public key: the parent's, for the child's parent fingerprint
//! (and, for a normal BIP-32 step, as the HMAC input). The child's own public key is not
//! computed until asked for, so "one HMAC + one public key" is the floor for one level.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hexvault_benches::filler;
use hexvault_derivation::{ChildNumber, DerivationPath, ed25519, secp256k1};
use k256::elliptic_curve::PrimeField as _;
use k256::elliptic_curve::sec1::ToSec1Point as _;
use k256::{FieldBytes, ProjectivePoint, Scalar};
use ring::hmac;

/// One HMAC-SHA512 of `0x00 ‖ key ‖ ser32(i)` under the chain code (a hardened step).
fn raw_hmac(chain_code: &[u8; 32], key: &[u8; 32], child: ChildNumber) -> hmac::Tag {
    let mut data = [0u8; 37];
    data[1..33].copy_from_slice(key);
    data[33..].copy_from_slice(&child.to_be_bytes());
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA512, chain_code), &data)
}

fn slip10_level(c: &mut Criterion) {
    let seed = filler(64);
    let path: DerivationPath = "m/74'/2'/0'".parse().unwrap();
    let parent = ed25519::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
    let child = ChildNumber::hardened(0).unwrap();
    let chain_code = *parent.chain_code().expose_secret();
    let key = *parent.expose_secret();
    // Same inputs: the raw HMAC gives the child key that derive_child gives.
    let ours = parent.derive_child(child).unwrap();
    assert_eq!(
        &raw_hmac(&chain_code, &key, child).as_ref()[..32],
        ours.expose_secret()
    );

    let mut g = c.benchmark_group("slip10_ed25519_level");
    g.bench_function("hexvault_derive_child", |b| {
        b.iter(|| black_box(&parent).derive_child(black_box(child)).unwrap());
    });
    g.bench_function("ring_hmac_sha512+dalek_public_key", |b| {
        b.iter(|| {
            let tag = raw_hmac(black_box(&chain_code), black_box(&key), child);
            let public = ed25519_dalek::SigningKey::from_bytes(black_box(&key)).verifying_key();
            (tag, public)
        });
    });
    g.bench_function("ring_hmac_sha512_only", |b| {
        b.iter(|| raw_hmac(black_box(&chain_code), black_box(&key), child));
    });
    g.bench_function("hexvault_public_key", |b| {
        b.iter(|| black_box(&ours).public_key());
    });
    g.finish();
}

fn bip32_level(c: &mut Criterion) {
    let seed = filler(64);
    let path: DerivationPath = "m/44'/0'/0'".parse().unwrap();
    let parent = secp256k1::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
    let hardened = ChildNumber::hardened(0).unwrap();
    let normal = ChildNumber::normal(0).unwrap();
    let chain_code = *parent.chain_code().expose_secret();
    let key = *parent.expose_secret();
    let scalar = Scalar::from_repr(FieldBytes::from(key)).unwrap();
    // Same inputs: the raw public key is the one the crate computes.
    let raw_public = ProjectivePoint::mul_by_generator(&scalar)
        .to_affine()
        .to_sec1_point(true);
    assert_eq!(raw_public.as_bytes(), parent.public_key().as_slice());

    let mut g = c.benchmark_group("bip32_secp256k1_level");
    g.bench_function("hexvault_derive_child_hardened", |b| {
        b.iter(|| {
            black_box(&parent)
                .derive_child(black_box(hardened))
                .unwrap()
        });
    });
    g.bench_function("hexvault_derive_child_normal", |b| {
        b.iter(|| black_box(&parent).derive_child(black_box(normal)).unwrap());
    });
    g.bench_function("ring_hmac_sha512+k256_mul_by_generator", |b| {
        b.iter(|| {
            let tag = raw_hmac(black_box(&chain_code), black_box(&key), hardened);
            let public = ProjectivePoint::mul_by_generator(black_box(&scalar))
                .to_affine()
                .to_sec1_point(true);
            (tag, public)
        });
    });
    let xpub = parent.extended_public_key();
    g.bench_function("hexvault_public_derive_child", |b| {
        b.iter(|| black_box(&xpub).derive_child(black_box(normal)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, slip10_level, bip32_level);
criterion_main!(benches);
