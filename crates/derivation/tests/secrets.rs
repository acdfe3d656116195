//! Secret hygiene: `Debug` of keys and chain codes shows no secret byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_derivation::{PATHS, ed25519};

/// Fails if `debug` contains the secret in hex (either case) or as a decimal byte list.
fn assert_redacted(debug: &str, secret: &[u8]) {
    let lower = hex::encode(secret);
    assert!(
        !debug.to_lowercase().contains(&lower[..16]),
        "hex leaked: {debug}"
    );
    let decimal = format!("{:?}", &secret[..4]);
    let decimal = decimal.trim_start_matches('[').trim_end_matches(']');
    assert!(!debug.contains(decimal), "bytes leaked: {debug}");
}

#[test]
fn ed25519_debug_is_redacted() {
    let key = ed25519::ExtendedPrivateKey::from_seed(&[0x11; 32])
        .unwrap()
        .derive_path(&PATHS::ENCRYPTION)
        .unwrap();
    let debug = format!("{key:?} {:?}", key.chain_code());
    assert_redacted(&debug, key.expose_secret());
    assert_redacted(&debug, key.chain_code().expose_secret());
    assert!(debug.contains("depth: 4"), "{debug}");
    assert!(debug.contains(".."), "{debug}");
}

#[test]
fn different_chain_codes_compare_unequal() {
    let master = ed25519::ExtendedPrivateKey::from_seed(&[0x11; 32]).unwrap();
    let a = master.derive_path(&PATHS::ENCRYPTION).unwrap();
    let b = master.derive_path(&PATHS::VAULT_MASTER).unwrap();
    let a2 = master.derive_path(&PATHS::ENCRYPTION).unwrap();
    assert_ne!(a.chain_code(), b.chain_code());
    assert_eq!(a.chain_code(), a2.chain_code());
}

#[cfg(feature = "secp256k1")]
#[test]
fn secp256k1_debug_is_redacted() {
    use hexvault_derivation::secp256k1::ExtendedPrivateKey;
    let key = ExtendedPrivateKey::from_seed(&[0x22; 32])
        .unwrap()
        .derive_path(&"m/0'/1".parse().unwrap())
        .unwrap();
    let public = key.extended_public_key();
    let debug = format!("{key:?} {public:?} {:?}", key.chain_code());
    assert_redacted(&debug, key.expose_secret());
    assert_redacted(&debug, key.chain_code().expose_secret());
    // The public key is not secret and is shown for the xpub.
    assert!(debug.contains(&hex::encode(public.public_key())), "{debug}");
}

/// `ed25519::PrivateKey` (a node's private key without its extended key): `Debug` shows no
/// byte of it, and it is `ZeroizeOnDrop` (its `Drop` wipes the bytes; reading freed memory
/// would need `unsafe`, which the workspace forbids, so the wipe itself is by construction).
#[test]
fn ed25519_private_key_debug_is_redacted() {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
    let key = ed25519::PrivateKey::derive_from_seed(&[0x11; 32], &PATHS::ENCRYPTION).unwrap();
    wiped_on_drop(&key);
    let debug = format!("{key:?}");
    assert_redacted(&debug, key.expose_secret());
    assert_eq!(debug, "ed25519::PrivateKey(..)");
}
