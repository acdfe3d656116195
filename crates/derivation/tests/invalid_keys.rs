//! BIP-32 test vector 5: every invalid extended key is rejected with its own specific error.
#![cfg(feature = "secp256k1")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use hexvault_derivation::secp256k1::{ExtendedPrivateKey, ExtendedPublicKey};
use hexvault_derivation::{Error, KeyKind};

/// The expected error of each BIP-32 vector 5 key, with BIP-32's own comment.
fn expected(key: &str) -> (&'static str, fn(&Error) -> bool) {
    match key {
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm" => {
            ("pubkey version / prvkey mismatch", |e| {
                *e == Error::VersionKeyMismatch {
                    version: KeyKind::Public,
                    data: KeyKind::Private,
                }
            })
        }
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5cxi9gafk7NF3pnBju6dwKvH" => {
            ("prvkey version / pubkey mismatch", |e| {
                *e == Error::VersionKeyMismatch {
                    version: KeyKind::Private,
                    data: KeyKind::Public,
                }
            })
        }
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn" => {
            ("invalid pubkey prefix 04", |e| {
                *e == Error::InvalidPublicKeyPrefix { prefix: 0x04 }
            })
        }
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXuWCmTQLxEK9vbz5gPstX92JQ" => {
            ("invalid prvkey prefix 04", |e| {
                *e == Error::InvalidPrivateKeyPrefix { prefix: 0x04 }
            })
        }
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4" => {
            ("invalid pubkey prefix 01", |e| {
                *e == Error::InvalidPublicKeyPrefix { prefix: 0x01 }
            })
        }
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gkZ6Eq3Rjuahrv17fEQ3Qen6J" => {
            ("invalid prvkey prefix 01", |e| {
                *e == Error::InvalidPrivateKeyPrefix { prefix: 0x01 }
            })
        }
        "xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZzCHshoQnNf4GvELZfqTUrcv" => {
            ("zero depth with non-zero parent fingerprint (xprv)", |e| {
                *e == Error::ZeroDepthParentFingerprint
            })
        }
        "xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ" => {
            ("zero depth with non-zero parent fingerprint (xpub)", |e| {
                *e == Error::ZeroDepthParentFingerprint
            })
        }
        "xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePmjzsB3eFKSUEh3Gu1N3cqVUN" => {
            ("zero depth with non-zero index (xprv)", |e| {
                *e == Error::ZeroDepthChildNumber
            })
        }
        "xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8" => {
            ("zero depth with non-zero index (xpub)", |e| {
                *e == Error::ZeroDepthChildNumber
            })
        }
        "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4" => {
            ("unknown extended key version (1)", |e| {
                matches!(e, Error::UnknownVersion { .. })
            })
        }
        "DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9" => {
            ("unknown extended key version (2)", |e| {
                matches!(e, Error::UnknownVersion { .. })
            })
        }
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52uPPxFnfoLZB21Teqt1VvEHx" => {
            ("private key 0 not in 1..n-1", |e| {
                *e == Error::InvalidPrivateKey
            })
        }
        "xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr24z3aiUvKr9bJpdrcLg1y3G" => {
            ("private key n not in 1..n-1", |e| {
                *e == Error::InvalidPrivateKey
            })
        }
        "xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY" => {
            ("invalid pubkey 020000…07 (not on the curve)", |e| {
                *e == Error::InvalidPublicKey
            })
        }
        "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHL" => {
            ("invalid checksum", |e| *e == Error::InvalidChecksum)
        }
        other => panic!("no expectation written for {other}"),
    }
}

#[test]
fn every_vector5_key_is_rejected_with_its_own_error() {
    let file = common::load("bip32-invalid-extended-keys.json");
    let keys: Vec<&str> = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut reasons = std::collections::BTreeSet::new();
    for key in &keys {
        let (reason, is_expected) = expected(key);
        reasons.insert(reason);
        // Both parsers refuse every key.
        let as_private = ExtendedPrivateKey::from_xprv(key).map(|_| ()).unwrap_err();
        let as_public = ExtendedPublicKey::from_xpub(key).map(|_| ()).unwrap_err();
        // The parser matching the key's prefix gives the specific error.
        let specific = if key.starts_with("xpub") {
            &as_public
        } else {
            &as_private
        };
        assert!(
            is_expected(specific),
            "{reason}: got {specific:?} ({specific})"
        );
        assert!(!specific.to_string().is_empty());
    }
    assert_eq!(
        reasons.len(),
        16,
        "all 16 cases of BIP-32 vector 5 are in the file"
    );
}

#[test]
fn tampered_valid_keys_are_rejected() {
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    assert!(ExtendedPrivateKey::from_xprv(xprv).is_ok());
    // Every single-character substitution at every position fails (checksum or Base58).
    let alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    for (i, original) in xprv.char_indices().step_by(3) {
        let replacement = alphabet.chars().find(|c| *c != original).unwrap();
        let mut tampered = xprv.to_string();
        tampered.replace_range(i..=i, &replacement.to_string());
        assert!(
            ExtendedPrivateKey::from_xprv(&tampered).is_err(),
            "position {i}"
        );
    }
    assert_eq!(
        ExtendedPrivateKey::from_xprv(&xprv[..110]).unwrap_err(),
        Error::InvalidChecksum
    );
    assert!(matches!(
        ExtendedPrivateKey::from_xprv("").unwrap_err(),
        Error::InvalidLength { .. }
    ));
    assert!(matches!(
        ExtendedPrivateKey::from_xprv("xprv 9s21").unwrap_err(),
        Error::InvalidBase58 { position: 4 }
    ));
    // A valid Base58Check string of the wrong length.
    let short = bs58_check(&[0x04, 0x88, 0xad, 0xe4, 0]);
    assert_eq!(
        ExtendedPrivateKey::from_xprv(&short).unwrap_err(),
        Error::InvalidLength { len: 5 }
    );
    // Testnet tprv is refused by version.
    let mut raw = vec![0x04, 0x35, 0x83, 0x94];
    raw.extend_from_slice(&[0u8; 74]);
    assert_eq!(
        ExtendedPrivateKey::from_xprv(&bs58_check(&raw)).unwrap_err(),
        Error::UnknownVersion {
            version: 0x0435_8394
        }
    );
}

/// Base58Check written out here with ring's SHA-256, independent of the crate.
fn bs58_check(data: &[u8]) -> String {
    let once = ring::digest::digest(&ring::digest::SHA256, data);
    let twice = ring::digest::digest(&ring::digest::SHA256, once.as_ref());
    let mut all = data.to_vec();
    all.extend_from_slice(&twice.as_ref()[..4]);
    // Plain Base58 (big-integer division), as in the Bitcoin reference code.
    let alphabet = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for byte in &all {
        let mut carry = u32::from(*byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = all.iter().take_while(|b| **b == 0).count();
    let mut out = "1".repeat(zeros);
    out.extend(
        digits
            .iter()
            .rev()
            .map(|d| alphabet[usize::from(*d)] as char),
    );
    out
}
