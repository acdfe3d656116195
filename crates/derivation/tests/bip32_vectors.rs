//! BIP-32 secp256k1: vectors 1-4 (keys, xprv, xpub) and the Trezor BIP-39 seed -> master xprv.
#![cfg(feature = "secp256k1")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use hexvault_derivation::DerivationPath;
use hexvault_derivation::secp256k1::{ExtendedPrivateKey, ExtendedPublicKey};

#[test]
fn bip32_published_vectors() {
    let file = common::load("bip32-secp256k1.json");
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 17, "vectors 1-4");
    let mut raw_checked = 0;
    for case in cases {
        let label = common::field(case, "path");
        let seed = common::hex_field(case, "seed");
        let path: DerivationPath = label.parse().unwrap();
        let key = ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
        // Vector 4 publishes only xprv/xpub; the others also give the raw fields.
        if let Some(chain_code) = case["chain_code"].as_str() {
            assert_eq!(
                hex::encode(key.chain_code().expose_secret()),
                chain_code,
                "{label}"
            );
            assert_eq!(
                hex::encode(key.expose_secret()),
                common::field(case, "private_key"),
                "{label}"
            );
            assert_eq!(
                hex::encode(key.public_key()),
                common::field(case, "public_key"),
                "{label}"
            );
            raw_checked += 1;
        }
        assert_eq!(
            key.to_xprv().as_str(),
            common::field(case, "xprv"),
            "{label}"
        );
        let public = key.extended_public_key();
        assert_eq!(public.to_xpub(), common::field(case, "xpub"), "{label}");
        assert_eq!(public.to_string(), common::field(case, "xpub"), "{label}");

        // Step by step gives the same key as the whole path.
        let mut step = ExtendedPrivateKey::from_seed(&seed).unwrap();
        for child in &path {
            step = step.derive_child(child).unwrap();
        }
        assert_eq!(step.to_xprv(), key.to_xprv(), "{label}");

        // Import and export again.
        let parsed: ExtendedPrivateKey = common::field(case, "xprv").parse().unwrap();
        assert_eq!(parsed.expose_secret(), key.expose_secret());
        assert_eq!(parsed.to_xprv(), key.to_xprv());
        let parsed: ExtendedPublicKey = common::field(case, "xpub").parse().unwrap();
        assert_eq!(parsed.public_key(), key.public_key());
        assert_eq!(parsed.to_xpub(), common::field(case, "xpub"));
        assert_eq!(parsed.depth(), key.depth());
        assert_eq!(parsed.parent_fingerprint(), key.parent_fingerprint());
        assert_eq!(parsed.child_number(), key.child_number());
    }
    assert_eq!(raw_checked, 14);
}

#[test]
fn public_derivation_matches_vectors() {
    // Every case whose last step is normal: the parent's xpub derives the child's xpub.
    let file = common::load("bip32-secp256k1.json");
    let cases = file["cases"].as_array().unwrap();
    let mut checked = 0;
    for case in cases {
        let path: DerivationPath = common::field(case, "path").parse().unwrap();
        let Some((last, init)) = path.as_slice().split_last() else {
            continue;
        };
        if last.is_hardened() {
            continue;
        }
        let seed = common::hex_field(case, "seed");
        let parent_path = DerivationPath::from_children(init.to_vec()).unwrap();
        let parent = ExtendedPrivateKey::derive_from_seed(&seed, &parent_path).unwrap();
        let xpub: ExtendedPublicKey = parent.extended_public_key().to_xpub().parse().unwrap();
        let child = xpub.derive_child(*last).unwrap();
        assert_eq!(child.to_xpub(), common::field(case, "xpub"));
        checked += 1;
    }
    assert!(checked >= 3, "vector 1 has normal steps");
}

#[test]
fn trezor_bip39_seed_to_master_xprv_all_languages() {
    let file = common::load("bip39-trezor.json");
    let languages = file["cases"].as_object().unwrap();
    let mut count = 0;
    for (language, cases) in languages {
        for case in cases.as_array().unwrap() {
            let seed = common::hex_field(case, "seed");
            let master = ExtendedPrivateKey::from_seed(&seed).unwrap();
            assert_eq!(
                master.to_xprv().as_str(),
                common::field(case, "xprv"),
                "{language}"
            );
            count += 1;
        }
    }
    assert!(
        languages.len() == 10 && count == 240,
        "{} languages, {count} cases",
        languages.len()
    );
    println!("{count} Trezor cases in {} languages", languages.len());
}

#[test]
fn seed_length_limits() {
    assert!(ExtendedPrivateKey::from_seed(&[1; 15]).is_err());
    assert!(ExtendedPrivateKey::from_seed(&[1; 16]).is_ok());
    assert!(ExtendedPrivateKey::from_seed(&[1; 64]).is_ok());
    assert!(ExtendedPrivateKey::from_seed(&[1; 65]).is_err());
}
