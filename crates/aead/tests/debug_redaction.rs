//! `Debug` of every secret type prints no key bytes; distinct keys compare unequal.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use hexvault_aead::{EncryptionKey, Key, KeyRing, KeyVersion, SealingKey, derive_key};

const BYTES: [u8; 32] = [
    0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98,
    0x76, 0x54, 0x32, 0x10, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4,
];

fn assert_redacted(s: &str, secret: &[u8]) {
    let hex_lower = hex::encode(secret);
    assert!(!s.contains(&hex_lower), "{s}");
    assert!(!s.contains(&hex_lower[..8]), "{s}");
    assert!(!s.contains(&hex::encode_upper(secret)[..8]), "{s}");
    let decimal = format!("{:?}", &secret[..4]);
    assert!(!s.contains(&decimal[1..decimal.len() - 1]), "{s}");
    assert!(!s.contains("222, 173"), "{s}");
}

#[test]
fn debug_of_secret_types_shows_no_key_bytes() {
    let key = Key::from_bytes(BYTES);
    let s = format!("{key:?} {key:#?}");
    assert_redacted(&s, &BYTES);
    assert!(s.contains("Key"));

    let child = derive_key(&key, "label", &[]).unwrap();
    let child_bytes = *child.expose_secret();
    assert_redacted(&format!("{child:?}"), &child_bytes);

    let sealing = SealingKey::new(Key::from_bytes(BYTES), KeyVersion::new(1).unwrap()).unwrap();
    assert_redacted(&format!("{sealing:?} {sealing:#?}"), &BYTES);

    let ring = KeyRing::new(KeyVersion::new(1).unwrap(), Key::from_bytes(BYTES)).unwrap();
    assert_redacted(&format!("{ring:?} {ring:#?}"), &BYTES);

    let enc = EncryptionKey::from_node_private_key(&BYTES).unwrap();
    assert_redacted(&format!("{enc:?} {enc:#?}"), &BYTES);
}

#[test]
fn keys_compare_in_constant_time_and_differ() {
    let a = Key::from_bytes(BYTES);
    let b = Key::from_bytes(BYTES);
    let mut other = BYTES;
    other[31] ^= 1;
    let c = Key::from_bytes(other);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(Key::generate().unwrap(), Key::generate().unwrap());
    assert!(Key::from_slice(&[0u8; 31]).is_err());
}
