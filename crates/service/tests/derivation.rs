//! Keys handed out by the service equal the derivation crate's output for the same seed:
//! Trezor BIP-39 vectors (phrase + "TREZOR" → published seed) unlock the service, and the
//! reference derivation is itself checked against the published SLIP-0010 vectors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{hex, load, trezor_vector};
use hexvault_derivation::{DerivationPath, PATHS, ed25519};
use hexvault_service::{AES_KEY_LABEL, CacheConfig, Error, KeyType, VaultService};

/// Every path of the SLIP-0010 ed25519 vectors but `m` (an ancestor of the application
/// branch, refused), plus device paths.
fn paths() -> Vec<DerivationPath> {
    let v = load("slip10-ed25519.json");
    let mut out: Vec<DerivationPath> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap().parse().unwrap())
        .filter(|p| *p != DerivationPath::MASTER)
        .collect();
    out.push(PATHS::device(7).unwrap());
    out.push("m/74'/2'/3'/0'/5'".parse().unwrap());
    out.sort();
    out.dedup();
    out
}

#[test]
fn reference_derivation_matches_published_slip10_vectors() {
    let v = load("slip10-ed25519.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for c in cases {
        let seed = hex(c["seed"].as_str().unwrap());
        let path: DerivationPath = c["path"].as_str().unwrap().parse().unwrap();
        let k = ed25519::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
        assert_eq!(
            k.expose_secret().to_vec(),
            hex(c["private_key"].as_str().unwrap())
        );
        assert_eq!(
            k.slip10_public_key().to_vec(),
            hex(c["public_key"].as_str().unwrap())
        );
    }
}

#[test]
fn service_ed25519_keys_equal_slip10_of_the_trezor_seed() {
    for i in [0, 5, 11, 23] {
        let (phrase, passphrase, seed) = trezor_vector(i);
        // The mnemonic crate maps the phrase to the published seed ...
        let m = hexvault_mnemonic::Mnemonic::parse(&phrase).unwrap();
        assert_eq!(m.to_seed(&passphrase).expose_secret().to_vec(), seed);
        // ... and the service, unlocked with the phrase, hands out SLIP-0010 of that seed.
        let (_s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
        v.unlock(&phrase, &passphrase).unwrap();
        for path in paths() {
            let reference = ed25519::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
            for _ in 0..2 {
                // once derived, once from the cache
                let k = v.derive(KeyType::Ed25519, &path).unwrap();
                assert_eq!(k.key_type(), KeyType::Ed25519);
                assert_eq!(k.path(), &path);
                assert_eq!(k.expose_secret(), reference.expose_secret(), "{path}");
                assert_eq!(k.public_key(), Some(&reference.public_key()[..]), "{path}");
            }
        }
    }
}

/// ADR 0041 (amended): the AES key at `P` is HKDF of the ed25519 PRIVATE key at `P` under
/// its own label, never of the chain code (the old derivation fails the second assertion).
#[test]
fn aes_keys_are_hkdf_of_the_private_key_never_of_the_chain_code() {
    const OLD_CHAIN_CODE_LABEL: &str = "hexvault/v1/service/derived-key/aes-256-gcm";
    assert_eq!(AES_KEY_LABEL, "hexvault/v2/service/aes-256-gcm");
    let (phrase, passphrase, seed) = trezor_vector(0);
    let (_s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    v.unlock(&phrase, &passphrase).unwrap();
    for path in paths() {
        let node = ed25519::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
        let private = hexvault_aead::Key::from_bytes(*node.expose_secret());
        let expected = hexvault_aead::derive_key(&private, AES_KEY_LABEL, &[]).unwrap();
        let k = v.derive(KeyType::Aes256Gcm, &path).unwrap();
        assert_eq!(k.expose_secret(), expected.expose_secret(), "{path}");
        let chain = hexvault_aead::Key::from_bytes(*node.chain_code().expose_secret());
        for label in [OLD_CHAIN_CODE_LABEL, AES_KEY_LABEL] {
            let from_chain_code = hexvault_aead::derive_key(&chain, label, &[]).unwrap();
            assert_ne!(
                k.expose_secret(),
                from_chain_code.expose_secret(),
                "{path}: never from the chain code"
            );
        }
        assert_ne!(
            k.expose_secret(),
            node.expose_secret(),
            "never the raw node key"
        );
        assert_eq!(k.public_key(), None);
    }
}

#[cfg(feature = "secp256k1")]
#[test]
fn service_secp256k1_keys_equal_bip32_of_the_trezor_seed() {
    use hexvault_derivation::secp256k1;
    let (phrase, passphrase, seed) = trezor_vector(3);
    let v0 = load("bip39-trezor-english.json");
    // The vector's xprv is the BIP-32 master of the seed: the reference is checked too.
    let master = secp256k1::ExtendedPrivateKey::from_seed(&seed).unwrap();
    assert_eq!(
        master.to_xprv().as_str(),
        v0["cases"][3]["xprv"].as_str().unwrap()
    );
    let (_s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    v.unlock(&phrase, &passphrase).unwrap();
    for p in ["m/0'/1", "m/44'/0'/0'/0/5", "m/74'/2'/3'/0'/1"] {
        let path: DerivationPath = p.parse().unwrap();
        let reference = secp256k1::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
        let k = v.derive(KeyType::Secp256k1, &path).unwrap();
        assert_eq!(k.expose_secret(), reference.expose_secret(), "{p}");
        assert_eq!(k.public_key(), Some(&reference.public_key()[..]), "{p}");
    }
}

#[test]
fn non_hardened_ed25519_and_reserved_paths_are_refused() {
    let (phrase, passphrase, _) = trezor_vector(0);
    let (_s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    v.unlock(&phrase, &passphrase).unwrap();
    let soft: DerivationPath = "m/0'/1".parse().unwrap();
    assert!(matches!(
        v.derive(KeyType::Ed25519, &soft),
        Err(Error::Derivation { .. })
    ));
    assert!(matches!(
        v.derive(KeyType::Aes256Gcm, &soft),
        Err(Error::Derivation { .. })
    ));
    for p in [
        "m/74'/2'/0'/0'",
        "m/74'/2'/0'",
        "m/74'/2'/0'/1'",
        "m/74'/2'/0'/0'/3'",
    ] {
        let path: DerivationPath = p.parse().unwrap();
        for t in all_key_types() {
            let e = v.derive(t, &path).unwrap_err();
            assert_eq!(e, Error::ReservedPath { path: p.into() });
        }
    }
    assert_eq!(v.status().unwrap().cache.len, 0);
}

fn all_key_types() -> Vec<KeyType> {
    #[allow(unused_mut)]
    let mut types = vec![KeyType::Ed25519, KeyType::Aes256Gcm];
    #[cfg(feature = "secp256k1")]
    types.push(KeyType::Secp256k1);
    types
}

/// Issue 9, item 1: the service handed out the vault-master node (`m/74'/2'/1'/0'`), the
/// audit signing key (`m/74'/2'/2'/0'`) and the ancestors of the application branch. All are
/// refused now, for every key type, locked or unlocked; the device subtree is still served.
#[test]
fn root_of_trust_paths_and_their_ancestors_are_refused_for_every_key_type() {
    let (phrase, passphrase, _) = trezor_vector(0);
    let (_s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    for unlocked in [false, true] {
        if unlocked {
            v.unlock(&phrase, &passphrase).unwrap();
        }
        for p in [
            "m/74'/2'/1'/0'",
            "m/74'/2'/2'/0'",
            "m/74'/2'",
            "m",
            "m/74'",
            "m/74'/2'/1'",
            "m/74'/2'/2'/0'/1'",
            "m/74'/2'/9'",
            "m/74'/1'",
        ] {
            let path: DerivationPath = p.parse().unwrap();
            for t in all_key_types() {
                assert_eq!(
                    v.derive(t, &path).map(drop),
                    Err(Error::ReservedPath { path: p.into() }),
                    "{t} at {p}"
                );
            }
        }
    }
    assert_eq!(v.status().unwrap().cache.len, 0);
    assert!(
        Error::ReservedPath { path: "m".into() }
            .to_string()
            .contains("m/74'/2'/3'")
    );
    for p in ["m/74'/2'/3'/0'", "m/74'/2'/3'", "m/44'/0'/0'", "m/75'/1'"] {
        let path: DerivationPath = p.parse().unwrap();
        v.derive(KeyType::Ed25519, &path).unwrap();
        v.derive(KeyType::Aes256Gcm, &path).unwrap();
    }
}
