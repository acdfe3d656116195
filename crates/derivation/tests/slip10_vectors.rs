//! SLIP-0010 ed25519: the published vectors, and an independent recomputation with ring.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use hexvault_derivation::{ChildNumber, DerivationPath, PATHS, ed25519::ExtendedPrivateKey};
use proptest::prelude::*;
use ring::hmac;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// SLIP-0010 for ed25519 written again from the spec, on ring's HMAC-SHA512 and ring's
/// ed25519: returns (private key, chain code, 0x00-prefixed public key).
fn independent(seed: &[u8], path: &DerivationPath) -> ([u8; 32], [u8; 32], Vec<u8>) {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA512, b"ed25519 seed"), seed);
    let (mut key, mut chain) = split(tag.as_ref());
    for step in path {
        assert!(step.is_hardened());
        let mut data = vec![0u8];
        data.extend_from_slice(&key);
        data.extend_from_slice(&step.to_bits().to_be_bytes());
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA512, &chain), &data);
        (key, chain) = split(tag.as_ref());
    }
    let pair = Ed25519KeyPair::from_seed_unchecked(&key).unwrap();
    let mut public = vec![0u8];
    public.extend_from_slice(pair.public_key().as_ref());
    (key, chain, public)
}

fn split(i: &[u8]) -> ([u8; 32], [u8; 32]) {
    (i[..32].try_into().unwrap(), i[32..].try_into().unwrap())
}

#[test]
fn slip10_ed25519_published_vectors() {
    let file = common::load("slip10-ed25519.json");
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12, "vectors 1 and 2");
    for case in cases {
        let seed = common::hex_field(case, "seed");
        let path: DerivationPath = common::field(case, "path").parse().unwrap();
        let key = ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
        let label = common::field(case, "path");
        assert_eq!(
            hex::encode(key.chain_code().expose_secret()),
            common::field(case, "chain_code"),
            "{label}"
        );
        assert_eq!(
            hex::encode(key.expose_secret()),
            common::field(case, "private_key"),
            "{label}"
        );
        assert_eq!(
            hex::encode(key.slip10_public_key()),
            common::field(case, "public_key"),
            "{label}"
        );
        assert_eq!(key.slip10_public_key()[1..], key.public_key());
        assert_eq!(usize::from(key.depth()), path.len());

        // The same case recomputed without this crate.
        let (private, chain, public) = independent(&seed, &path);
        assert_eq!(key.expose_secret(), &private, "{label}");
        assert_eq!(key.chain_code().expose_secret(), &chain, "{label}");
        assert_eq!(key.slip10_public_key().to_vec(), public, "{label}");
    }
}

#[test]
fn parent_fingerprints_chain() {
    // SLIP-0010 vector 1: fingerprint of m is 0xddebc675 (published with the vectors).
    let seed = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
    let master = ExtendedPrivateKey::from_seed(&seed).unwrap();
    assert_eq!(master.parent_fingerprint(), [0; 4]);
    assert_eq!(master.fingerprint(), [0xdd, 0xeb, 0xc6, 0x75]);
    let child = master
        .derive_child(ChildNumber::hardened(0).unwrap())
        .unwrap();
    assert_eq!(child.parent_fingerprint(), master.fingerprint());
    let by_path = master.derive_path(&"m/0'/1'".parse().unwrap()).unwrap();
    let step = child
        .derive_child(ChildNumber::hardened(1).unwrap())
        .unwrap();
    assert_eq!(by_path.parent_fingerprint(), child.fingerprint());
    assert_eq!(by_path.parent_fingerprint(), step.parent_fingerprint());
}

#[test]
fn named_paths_derive_distinct_keys_and_sign() {
    let seed = [0x5au8; 64];
    let master = ExtendedPrivateKey::from_seed(&seed).unwrap();
    let keys: Vec<_> = PATHS::NAMED
        .iter()
        .map(|(_, p)| master.derive_path(p).unwrap())
        .collect();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a.expose_secret(), b.expose_secret());
        }
    }
    let audit = master.derive_path(&PATHS::AUDIT_SIGNING).unwrap();
    let (private, _, _) = independent(&seed, &PATHS::AUDIT_SIGNING);
    assert_eq!(audit.expose_secret(), &private);
    let sig = audit.sign(b"checkpoint");
    audit
        .verifying_key()
        .verify_strict(b"checkpoint", &sig)
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matches_independent_computation(
        seed in proptest::collection::vec(any::<u8>(), 16..=64),
        indices in proptest::collection::vec(0u32..(1 << 31), 0..5),
    ) {
        let steps = indices.iter().map(|i| ChildNumber::hardened(*i).unwrap()).collect();
        let path = DerivationPath::from_children(steps).unwrap();
        let key = ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
        let (private, chain, public) = independent(&seed, &path);
        prop_assert_eq!(key.expose_secret(), &private);
        prop_assert_eq!(key.chain_code().expose_secret(), &chain);
        prop_assert_eq!(key.slip10_public_key().to_vec(), public);
    }
}
