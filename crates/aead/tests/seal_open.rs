//! Integration tests of `SealingKey`: round trips, tampering, truncation, distinct errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hexvault_aead::{
    Error, FORMAT_VERSION, HEADER_LEN, Header, Key, KeyVersion, MAGIC, OVERHEAD, SealingKey,
    sealed_len,
};
use proptest::prelude::*;

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

fn key(byte: u8, version: u32) -> SealingKey {
    SealingKey::new(Key::from_bytes([byte; 32]), v(version)).unwrap()
}

#[test]
fn header_layout_is_as_documented() {
    let k = key(1, 0x0102_0304);
    let blob = k.seal(b"hello", b"aad").unwrap();
    assert_eq!(blob.len(), sealed_len(5));
    assert_eq!(blob.len(), 5 + OVERHEAD);
    assert_eq!(&blob[..4], &MAGIC);
    assert_eq!(&blob[..4], b"HXVA");
    assert_eq!(blob[4], FORMAT_VERSION);
    assert_eq!(&blob[5..9], &[1, 2, 3, 4]);
    let h = Header::decode(&blob).unwrap();
    assert_eq!(h.key_version(), v(0x0102_0304));
    assert_eq!(&h.encode()[..], &blob[..HEADER_LEN]);
}

#[test]
fn every_bit_flip_of_a_sealed_64_byte_message_is_rejected() {
    let k = key(7, 1);
    let pt = [0xA5u8; 64];
    let blob = k.seal(&pt, b"context").unwrap();
    let mut rejected = 0;
    for i in 0..blob.len() {
        for bit in 0..8 {
            let mut t = blob.clone();
            t[i] ^= 1 << bit;
            assert!(
                k.open(&t, b"context").is_err(),
                "flip byte {i} bit {bit} accepted"
            );
            let mut t2 = t.clone();
            assert!(k.open_in_place(b"context", &mut t2).is_err());
            rejected += 1;
        }
    }
    assert_eq!(rejected, (64 + OVERHEAD) * 8);
    assert_eq!(k.open(&blob, b"context").unwrap().expose_secret(), &pt[..]);
}

#[test]
fn every_truncation_of_a_sealed_64_byte_message_is_rejected() {
    let k = key(7, 1);
    let blob = k.seal(&[0x11u8; 64], b"").unwrap();
    for len in 0..blob.len() {
        let err = k.open(&blob[..len], b"").unwrap_err();
        if (5..OVERHEAD).contains(&len) {
            assert!(matches!(err, Error::Truncated { .. }), "len {len}: {err:?}");
        } else if len >= OVERHEAD {
            assert!(matches!(err, Error::Authentication), "len {len}: {err:?}");
        }
    }
    // Extension is rejected too.
    let mut longer = blob.clone();
    longer.push(0);
    assert!(k.open(&longer, b"").is_err());
}

#[test]
fn wrong_version_aad_and_key_give_distinct_errors() {
    let k1 = key(1, 1);
    let blob = k1.seal(b"data", b"cell-a").unwrap();

    let other_version = key(1, 2);
    match other_version.open(&blob, b"cell-a") {
        Err(Error::WrongKeyVersion { expected, found }) => {
            assert_eq!(expected, v(2));
            assert_eq!(found, v(1));
        }
        other => panic!("expected WrongKeyVersion, got {other:?}"),
    }
    assert!(matches!(
        k1.open(&blob, b"cell-b"),
        Err(Error::Authentication)
    ));
    let wrong_key = key(2, 1);
    assert!(matches!(
        wrong_key.open(&blob, b"cell-a"),
        Err(Error::Authentication)
    ));
    // Authentication errors carry no detail.
    let msg = Error::Authentication.to_string();
    assert!(!msg.contains("cell"));
}

#[test]
fn bad_magic_and_format_version_are_named() {
    let k = key(1, 1);
    let mut blob = k.seal(b"x", b"").unwrap();
    let mut bad = blob.clone();
    bad[0] = b'X';
    assert!(matches!(k.open(&bad, b""), Err(Error::UnknownMagic)));
    blob[4] = 9;
    assert!(matches!(
        k.open(&blob, b""),
        Err(Error::UnsupportedFormatVersion { version: 9 })
    ));
    assert!(matches!(k.open(b"garbage", b""), Err(Error::UnknownMagic)));
    assert!(matches!(k.open(b"", b""), Err(Error::Truncated { .. })));
}

#[test]
fn header_mutation_is_caught_even_with_a_matching_key() {
    // Re-label a v1 blob as v2 and open with a v2 key that has the same bytes: the
    // header is authenticated, so this is an authentication failure.
    let k1 = key(9, 1);
    let k2 = key(9, 2);
    let mut blob = k1.seal(b"data", b"").unwrap();
    blob[5..9].copy_from_slice(&2u32.to_be_bytes());
    assert!(matches!(k2.open(&blob, b""), Err(Error::Authentication)));
}

#[test]
fn seal_in_place_and_open_in_place_round_trip() {
    let k = key(3, 1);
    let pt = b"in place plaintext";
    let mut buf = vec![0u8; sealed_len(pt.len())];
    buf[HEADER_LEN..HEADER_LEN + pt.len()].copy_from_slice(pt);
    k.seal_in_place(b"a", &mut buf).unwrap();
    assert_eq!(k.open(&buf, b"a").unwrap().expose_secret(), pt);
    let opened = k.open_in_place(b"a", &mut buf).unwrap();
    assert_eq!(opened, pt);
    assert!(matches!(
        k.seal_in_place(b"", &mut [0u8; OVERHEAD - 1]),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn two_seals_of_the_same_message_differ() {
    let k = key(3, 1);
    assert_ne!(k.seal(b"same", b"").unwrap(), k.seal(b"same", b"").unwrap());
    assert_eq!(k.usage().sealed(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_random_sizes_and_aad(
        len in 0usize..65_536,
        seed in any::<u8>(),
        aad in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let k = key(seed, 1);
        let pt: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let blob = k.seal(&pt, &aad).unwrap();
        prop_assert_eq!(blob.len(), sealed_len(len));
        let opened = k.open(&blob, &aad).unwrap();
        prop_assert_eq!(opened.expose_secret(), &pt[..]);
        let mut other_aad = aad.clone();
        other_aad.push(1);
        prop_assert!(matches!(k.open(&blob, &other_aad), Err(Error::Authentication)));
    }

    #[test]
    fn header_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = Header::decode(&bytes);
        let _ = key(1, 1).open(&bytes, b"");
    }
}

/// `tests/data/sealed-blob-vectors.json`, computed independently with Python.
#[test]
fn committed_blobs_from_an_independent_implementation() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("data/sealed-blob-vectors.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let h = |f: &str| hex::decode(c[f].as_str().unwrap()).unwrap();
        let version = v(u32::try_from(c["key_version"].as_u64().unwrap()).unwrap());
        let k = SealingKey::new(Key::from_slice(&h("key")).unwrap(), version).unwrap();
        let blob = h("blob");
        assert_eq!(Header::decode(&blob).unwrap().key_version(), version);
        assert_eq!(
            k.open(&blob, &h("aad")).unwrap().expose_secret(),
            &h("plaintext")[..]
        );
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 0x80;
        assert!(matches!(
            k.open(&tampered, &h("aad")),
            Err(Error::Authentication)
        ));
    }
}
