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
    assert!(ed.salt().is_empty());
    assert_eq!(ed.iv().len(), 12);
    assert_eq!(ed.data().len(), 11 + 16);
    let json = ed.to_json().unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["key_version"], 2);
    assert_eq!(v["salt"], "");
    assert_eq!(STANDARD.decode(v["iv"].as_str().unwrap()).unwrap(), ed.iv());
    assert_eq!(
        STANDARD.decode(v["data"].as_str().unwrap()).unwrap(),
        ed.data()
    );
    let back = EncryptedData::from_json(&json).unwrap();
    assert_eq!(back, ed);
    assert_eq!(
        &back.decrypt(&k, b"credential/db").unwrap()[..],
        b"db password"
    );
}

#[test]
fn postcard_round_trip_and_layout() {
    let k = key();
    let ed = EncryptedData::encrypt(&k, b"abc", b"").unwrap();
    let bytes = ed.to_bytes().unwrap();
    // key_version varint(2), salt len 0, iv len 12 + iv, data len 19 + data.
    assert_eq!(bytes[0], 2);
    assert_eq!(bytes[1], 0);
    assert_eq!(bytes[2], 12);
    assert_eq!(&bytes[3..15], ed.iv());
    assert_eq!(bytes[15], 19);
    assert_eq!(&bytes[16..], ed.data());
    let back = EncryptedData::from_bytes(&bytes).unwrap();
    assert_eq!(back, ed);
    assert_eq!(&back.decrypt(&k, b"").unwrap()[..], b"abc");
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
    assert_eq!(&ed.decrypt(&v3, b"ctx").unwrap()[..], b"rotated");
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
    // Flip every bit of iv and data (postcard offsets 3.. are iv, then data).
    for i in 3..bytes.len() {
        if i == 15 {
            continue; // data length byte: changes the shape, checked below
        }
        for bit in 0..8 {
            let mut t = bytes.clone();
            t[i] ^= 1 << bit;
            let res = EncryptedData::from_bytes(&t).and_then(|e| e.decrypt(&k, b"ctx"));
            assert!(res.is_err(), "byte {i} bit {bit}");
        }
    }
    // A salt added by an attacker is authenticated too.
    let mut v: serde_json::Value = serde_json::from_str(&ed.to_json().unwrap()).unwrap();
    v["salt"] = serde_json::Value::String(STANDARD.encode(b"salt"));
    let salted = EncryptedData::from_json(&v.to_string()).unwrap();
    assert!(matches!(
        salted.decrypt(&k, b"ctx"),
        Err(Error::Authentication)
    ));
}

#[cfg(feature = "rustcrypto")]
#[test]
fn rustcrypto_backend_reads_ring_credentials() {
    use hexvault_aead::Backend;
    let ring = key();
    let rc =
        EncryptionKey::from_node_private_key_with_backend(&[7u8; 32], Backend::RustCrypto).unwrap();
    let ed = EncryptedData::encrypt(&ring, b"both ways", b"a").unwrap();
    assert_eq!(&ed.decrypt(&rc, b"a").unwrap()[..], b"both ways");
    let ed2 = EncryptedData::encrypt(&rc, b"both ways", b"a").unwrap();
    assert_eq!(&ed2.decrypt(&ring, b"a").unwrap()[..], b"both ways");
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
        prop_assert_eq!(&from_pc.decrypt(&k, &aad).unwrap()[..], &pt[..]);
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
    for c in doc["cases"].as_array().unwrap() {
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
        assert_eq!(from_json.to_json().unwrap(), json);
        assert_eq!(from_pc.to_bytes().unwrap(), postcard);
        assert_eq!(&from_json.decrypt(&k, &aad).unwrap()[..], &pt[..]);
        assert!(matches!(
            from_json.decrypt(&k, b"other"),
            Err(Error::Authentication)
        ));
    }
}
