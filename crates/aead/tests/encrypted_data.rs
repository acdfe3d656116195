//! `EncryptedData`: round trips in JSON and postcard, legacy refusal, tampering, AAD binding.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hexvault_aead::{EncryptedData, EncryptionKey, Error};
use proptest::prelude::*;

fn key() -> EncryptionKey {
    EncryptionKey::from_node_private_key(&[7u8; 32]).unwrap()
}

#[test]
fn json_round_trip_and_shape() {
    let k = key();
    let ed = EncryptedData::encrypt(&k, b"db password", b"credential/db").unwrap();
    assert_eq!(ed.key_version(), 2);
    assert_eq!(ed.salt().len(), 32);
    assert_eq!(ed.iv().len(), 12);
    assert_eq!(ed.data().len(), 11 + 16);
    let json = ed.to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["key_version"], 2);
    assert_eq!(
        STANDARD.decode(v["salt"].as_str().unwrap()).unwrap(),
        ed.salt()
    );
    assert_eq!(STANDARD.decode(v["iv"].as_str().unwrap()).unwrap(), ed.iv());
    assert_eq!(
        STANDARD.decode(v["data"].as_str().unwrap()).unwrap(),
        ed.data()
    );
    let back = EncryptedData::from_json(&json).unwrap();
    assert_eq!(back, ed);
    assert_eq!(
        back.decrypt(&k, b"credential/db").unwrap().expose_secret(),
        b"db password"
    );
}

#[test]
fn postcard_round_trip_and_layout() {
    let k = key();
    let ed = EncryptedData::encrypt(&k, b"abc", b"").unwrap();
    let bytes = ed.to_bytes().unwrap();
    // key_version varint(2), salt len 32 + salt, iv len 12 + iv, data len 19 + data.
    assert_eq!(bytes[0], 2);
    assert_eq!(bytes[1], 32);
    assert_eq!(&bytes[2..34], ed.salt());
    assert_eq!(bytes[34], 12);
    assert_eq!(&bytes[35..47], ed.iv());
    assert_eq!(bytes[47], 19);
    assert_eq!(&bytes[48..], ed.data());
    let back = EncryptedData::from_bytes(&bytes).unwrap();
    assert_eq!(back, ed);
    assert_eq!(back.decrypt(&k, b"").unwrap().expose_secret(), b"abc");
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        EncryptedData::from_bytes(&trailing),
        Err(Error::MalformedEncryptedData { .. })
    ));
    for len in 0..bytes.len() {
        assert!(
            EncryptedData::from_bytes(&bytes[..len]).is_err(),
            "prefix {len}"
        );
    }
}

#[test]
fn key_version_1_is_refused_as_legacy() {
    let k = key();
    let json = r#"{"key_version":1,"salt":"c2FsdHNhbHRzYWx0c2FsdA==","iv":"AAAAAAAAAAAAAAAA","data":"AAAAAAAAAAAAAAAAAAAAAA=="}"#;
    let ed = EncryptedData::from_json(json).unwrap();
    let err = ed.decrypt(&k, b"").unwrap_err();
    assert!(matches!(err, Error::LegacyKeyVersion));
    let msg = err.to_string();
    assert!(msg.contains("PBKDF2") && msg.contains("migrate"), "{msg}");
    let json0 = json.replace("\"key_version\":1", "\"key_version\":0");
    assert!(matches!(
        EncryptedData::from_json(&json0).unwrap().decrypt(&k, b""),
        Err(Error::UnsupportedEncryptedDataVersion { version: 0 })
    ));
    assert!(matches!(
        EncryptionKey::for_key_version(&[7; 32], 1, hexvault_aead::Backend::Ring),
        Err(Error::LegacyKeyVersion)
    ));
    assert!(EncryptionKey::for_key_version(&[7; 32], 0, hexvault_aead::Backend::Ring).is_err());
}

#[test]
fn later_key_versions_round_trip_and_are_named_on_mismatch() {
    use hexvault_aead::{Backend, KeyVersion};
    let v2 = key();
    let v3 = EncryptionKey::for_key_version(&[9; 32], 3, Backend::Ring).unwrap();
    assert_eq!(v2.key_version(), 2);
    assert_eq!(v3.key_version(), 3);
    let ed = EncryptedData::encrypt(&v3, b"rotated", b"ctx").unwrap();
    assert_eq!(ed.key_version(), 3);
    assert_eq!(ed.decrypt(&v3, b"ctx").unwrap().expose_secret(), b"rotated");
    match ed.decrypt(&v2, b"ctx") {
        Err(Error::WrongKeyVersion { expected, found }) => {
            assert_eq!(expected, KeyVersion::new(2).unwrap());
            assert_eq!(found, KeyVersion::new(3).unwrap());
        }
        other => panic!("expected WrongKeyVersion, got {other:?}"),
    }
    // Relabelling v3 data as v2 and opening with a v2 key built from the same node bytes
    // fails authentication: the key version is bound as AAD.
    let same_node_v2 = EncryptionKey::from_node_private_key(&[9; 32]).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&ed.to_json().unwrap()).unwrap();
    v["key_version"] = 2.into();
    let relabelled = EncryptedData::from_json(&v.to_string()).unwrap();
    assert!(matches!(
        relabelled.decrypt(&same_node_v2, b"ctx"),
        Err(Error::Authentication)
    ));
}

#[test]
fn malformed_fields_are_errors_not_panics() {
    let k = key();
    let ed = EncryptedData::encrypt(&k, b"x", b"").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&ed.to_json().unwrap()).unwrap();
    v["iv"] = serde_json::Value::String(STANDARD.encode([0u8; 16]));
    let bad_iv = EncryptedData::from_json(&v.to_string()).unwrap();
    assert!(matches!(
        bad_iv.decrypt(&k, b""),
        Err(Error::InvalidIvLength { len: 16 })
    ));
    v["iv"] = serde_json::Value::String(STANDARD.encode(ed.iv()));
    v["data"] = serde_json::Value::String(STANDARD.encode([0u8; 5]));
    let short = EncryptedData::from_json(&v.to_string()).unwrap();
    assert!(matches!(
        short.decrypt(&k, b""),
        Err(Error::Truncated { .. })
    ));
    for bad in [
        "",
        "{}",
        r#"{"key_version":2,"salt":"","iv":"!!","data":""}"#,
        r#"{"key_version":2,"salt":"","iv":"","data":"","extra":1}"#,
        r#"{"key_version":-1,"salt":"","iv":"","data":""}"#,
    ] {
        assert!(
            matches!(
                EncryptedData::from_json(bad),
                Err(Error::MalformedEncryptedData { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn tampering_and_wrong_context_fail_authentication() {
    let k = key();
    let ed = EncryptedData::encrypt(&k, &[0x42; 64], b"ctx").unwrap();
    assert!(matches!(
        ed.decrypt(&k, b"other"),
        Err(Error::Authentication)
    ));
    let other = EncryptionKey::from_node_private_key(&[8u8; 32]).unwrap();
    assert!(matches!(
        ed.decrypt(&other, b"ctx"),
        Err(Error::Authentication)
    ));
    let bytes = ed.to_bytes().unwrap();
    // Flip every bit of salt, iv and data (postcard: salt 2..34, iv 35..47, data 48..).
    for i in 2..bytes.len() {
        if i == 34 || i == 47 {
            continue; // length bytes: they change the shape, checked below
        }
        for bit in 0..8 {
            let mut t = bytes.clone();
            t[i] ^= 1 << bit;
            let res = EncryptedData::from_bytes(&t).and_then(|e| e.decrypt(&k, b"ctx"));
            assert!(
                matches!(res, Err(Error::Authentication)),
                "byte {i} bit {bit}: {res:?}"
            );
        }
    }
}

/// Sets the salt of `ed` (through JSON, as an attacker editing a stored credential would).
fn with_salt(ed: &EncryptedData, salt: &[u8]) -> EncryptedData {
    let mut v: serde_json::Value = serde_json::from_str(&ed.to_json().unwrap()).unwrap();
    v["salt"] = serde_json::Value::String(STANDARD.encode(salt));
    EncryptedData::from_json(&v.to_string()).unwrap()
}

/// Regression (issue 9, item 4): the salt selects the credential's key and is
/// authenticated; an edited, swapped or stripped salt fails authentication.
#[test]
fn edited_swapped_or_stripped_salt_fails_authentication() {
    let k = key();
    let a = EncryptedData::encrypt(&k, b"secret a", b"ctx").unwrap();
    let b = EncryptedData::encrypt(&k, b"secret b", b"ctx").unwrap();
    let mut edited = a.salt().to_vec();
    edited[0] ^= 1;
    for forged in [
        with_salt(&a, &edited),
        with_salt(&a, b.salt()),
        with_salt(&a, &[]),
    ] {
        assert!(matches!(
            forged.decrypt(&k, b"ctx"),
            Err(Error::Authentication)
        ));
    }
    assert_eq!(a.decrypt(&k, b"ctx").unwrap().expose_secret(), b"secret a");
}

/// Regression (issue 9, item 4): salts other than 0 or 32 bytes are refused before any
/// decryption, with an error that names the length.
#[test]
fn truncated_or_oversized_salt_is_refused() {
    let k = key();
    let ed = EncryptedData::encrypt(&k, b"x", b"").unwrap();
    for len in [1usize, 4, 16, 31, 33, 64] {
        let mut salt = ed.salt().to_vec();
        salt.resize(len, 0xAA);
        let err = with_salt(&ed, &salt).decrypt(&k, b"").unwrap_err();
        assert!(
            matches!(err, Error::InvalidSaltLength { len: got } if got == len),
            "{len}: {err:?}"
        );
        assert!(err.to_string().contains("32 bytes"), "{err}");
    }
}

/// Regression (issue 9, item 4): every fresh key instance used to seal its first
/// credential under the version key with `iv = random 8 bytes || 00000000`. Now each
/// credential has its own random 32-byte salt (its subkey) and a random iv, so two fresh
/// instances built from the same node key never share a (key, nonce) pair.
#[test]
fn fresh_instances_of_one_node_key_seal_under_different_subkeys() {
    let first = key();
    let second = key();
    let a = EncryptedData::encrypt(&first, b"same plaintext", b"ctx").unwrap();
    let b = EncryptedData::encrypt(&second, b"same plaintext", b"ctx").unwrap();
    assert_eq!(a.salt().len(), 32);
    assert_eq!(b.salt().len(), 32);
    assert_ne!(a.salt(), b.salt());
    assert_ne!(a.data(), b.data());
    // Each opens with either instance (the subkey comes from the salt, not the instance).
    for k in [&first, &second] {
        assert_eq!(
            a.decrypt(k, b"ctx").unwrap().expose_secret(),
            b"same plaintext"
        );
        assert_eq!(
            b.decrypt(k, b"ctx").unwrap().expose_secret(),
            b"same plaintext"
        );
    }
}

/// Regression (issue 9, item 4): the randomness that separates the (key, nonce) pairs of
/// credentials sealed by short-lived instances (one credential per fresh instance, as a
/// CLI run does) is at least 96 bits. Over 64 fresh instances, count the bit positions of
/// `salt || iv` that vary: the old scheme had an empty salt and a constant 32-bit counter
/// (at most 64 varying positions); now all 352 vary except with probability < 2^-54.
#[test]
fn credentials_of_fresh_instances_carry_at_least_96_random_bits() {
    let records: Vec<Vec<u8>> = (0..64)
        .map(|_| {
            let ed = EncryptedData::encrypt(&key(), b"pw", b"").unwrap();
            assert!(
                ed.salt().len() == 32 && ed.salt().iter().any(|b| *b != 0),
                "salt must be 32 random bytes"
            );
            [ed.salt(), ed.iv()].concat()
        })
        .collect();
    let width = records.iter().map(Vec::len).max().unwrap() * 8;
    let varying = (0..width)
        .filter(|&bit| {
            let get = |r: &Vec<u8>| r.get(bit / 8).map(|b| (b >> (bit % 8)) & 1);
            records.iter().any(|r| get(r) != get(&records[0]))
        })
        .count();
    assert!(
        varying >= 96,
        "only {varying} random bits separate credentials"
    );
    assert_eq!(varying, 352);
}

/// Credentials with an empty salt (sealed under the version key before per-credential
/// subkeys) keep opening: the first committed vector is one.
#[test]
fn empty_salt_credentials_still_open() {
    let ed = EncryptedData::from_json(
        r#"{"key_version":2,"salt":"","iv":"ABEiM0RVZneImaq7","data":"niiNfypefw63TIwVIjluaApkmJyGm14Wj7ee"}"#,
    )
    .unwrap();
    assert!(ed.salt().is_empty());
    assert_eq!(
        ed.decrypt(&key(), b"credential/db")
            .unwrap()
            .expose_secret(),
        b"db password"
    );
}

#[cfg(feature = "rustcrypto")]
#[test]
fn rustcrypto_backend_reads_ring_credentials() {
    use hexvault_aead::Backend;
    let ring = key();
    let rc =
        EncryptionKey::from_node_private_key_with_backend(&[7u8; 32], Backend::RustCrypto).unwrap();
    let ed = EncryptedData::encrypt(&ring, b"both ways", b"a").unwrap();
    assert_eq!(ed.decrypt(&rc, b"a").unwrap().expose_secret(), b"both ways");
    let ed2 = EncryptedData::encrypt(&rc, b"both ways", b"a").unwrap();
    assert_eq!(
        ed2.decrypt(&ring, b"a").unwrap().expose_secret(),
        b"both ways"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn round_trips_through_both_encodings(
        pt in proptest::collection::vec(any::<u8>(), 0..2048),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let k = key();
        let ed = EncryptedData::encrypt(&k, &pt, &aad).unwrap();
        let from_pc = EncryptedData::from_bytes(&ed.to_bytes().unwrap()).unwrap();
        let from_js = EncryptedData::from_json(&ed.to_json().unwrap()).unwrap();
        prop_assert_eq!(&from_pc, &ed);
        prop_assert_eq!(&from_js, &ed);
        let opened = from_pc.decrypt(&k, &aad).unwrap();
        prop_assert_eq!(opened.expose_secret(), &pt[..]);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(ed) = EncryptedData::from_bytes(&bytes) {
            let again = EncryptedData::from_bytes(&ed.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(again, ed);
        }
        let _ = EncryptedData::from_json(&String::from_utf8_lossy(&bytes));
    }
}

/// `tests/data/encrypted-data-v2-vectors.json`, computed independently with Python.
#[test]
fn committed_vectors_from_an_independent_implementation() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("data/encrypted-data-v2-vectors.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "one empty-salt and one salted case");
    for c in cases {
        let node: [u8; 32] = hex::decode(c["node_private_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let k = EncryptionKey::from_node_private_key(&node).unwrap();
        let aad = hex::decode(c["aad"].as_str().unwrap()).unwrap();
        let pt = hex::decode(c["plaintext"].as_str().unwrap()).unwrap();
        let json = c["json"].as_str().unwrap();
        let postcard = hex::decode(c["postcard"].as_str().unwrap()).unwrap();
        let from_json = EncryptedData::from_json(json).unwrap();
        let from_pc = EncryptedData::from_bytes(&postcard).unwrap();
        assert_eq!(from_json, from_pc);
        let salt = hex::decode(c["salt"].as_str().unwrap_or("")).unwrap();
        assert_eq!(from_json.salt(), &salt[..]);
        assert_eq!(from_json.to_json().unwrap(), json);
        assert_eq!(from_pc.to_bytes().unwrap(), postcard);
        assert_eq!(
            from_json.decrypt(&k, &aad).unwrap().expose_secret(),
            &pt[..]
        );
        assert!(matches!(
            from_json.decrypt(&k, b"other"),
            Err(Error::Authentication)
        ));
    }
}

/// A secret given where an `EncryptedData` JSON was expected (a password piped to the wrong
/// command) is not repeated, and neither is its length: the reason is the same for secrets
/// of every length and every way of being wrong that a length shows through (a quoted
/// string, a string cut short, a bare word, a number).
#[test]
fn json_errors_reveal_neither_the_input_nor_its_length() {
    for shape in [
        |s: &str| format!("\"{s}\""),
        |s: &str| format!("\"{s}"),
        |s: &str| s.to_owned(),
        |s: &str| format!("{{\"key_version\":\"{s}\"}}"),
    ] {
        let reasons: Vec<String> = ["hunter2", "correct horse battery staple and more"]
            .iter()
            .map(|secret| {
                let Err(Error::MalformedEncryptedData { reason }) =
                    EncryptedData::from_json(&shape(secret))
                else {
                    panic!("accepted")
                };
                assert!(!reason.contains("hunter") && !reason.contains("horse"));
                reason
            })
            .collect();
        assert_eq!(
            reasons[0], reasons[1],
            "the reason depends on the input's length"
        );
    }
}
