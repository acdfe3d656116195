//! EncryptedData through the service: round trips, AAD binding, tampering, v1 refused with
//! the migration error, unknown versions, rotation, and keys bound to the seed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::PHRASE;
use hexvault_aead::{EncryptedData, EncryptionKey};
use hexvault_derivation::{PATHS, ed25519};
use hexvault_service::{
    CacheConfig, Error, KeyVersion, MAX_KEY_VERSION, VaultService, VaultServiceHandle,
    encryption_path,
};

fn unlocked(passphrase: &str) -> (VaultService, VaultServiceHandle) {
    let (s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    v.unlock(PHRASE, passphrase).unwrap();
    (s, v)
}

fn with_version(version: u32, like: &EncryptedData) -> EncryptedData {
    let json = like.to_json().unwrap().replacen(
        &format!("\"key_version\":{}", like.key_version()),
        &format!("\"key_version\":{version}"),
        1,
    );
    EncryptedData::from_json(&json).unwrap()
}

#[test]
fn round_trip_and_aad_binding() {
    let (_s, v) = unlocked("");
    for len in [0usize, 1, 15, 16, 17, 1024, 70_000] {
        let plaintext: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let d = v.encrypt(&plaintext, b"credential/db").unwrap();
        assert_eq!(d.key_version(), 2);
        assert_eq!(d.iv().len(), 12);
        assert_eq!(d.data().len(), len + 16);
        assert_eq!(
            v.decrypt(&d, b"credential/db").unwrap().expose_secret(),
            &plaintext[..]
        );
        assert_eq!(
            v.decrypt(&d, b"credential/other"),
            Err(Error::Authentication)
        );
    }
    // Nonces differ between encryptions of the same input.
    let a = v.encrypt(b"same", b"ctx").unwrap();
    let b = v.encrypt(b"same", b"ctx").unwrap();
    assert_ne!(a.iv(), b.iv());
}

#[test]
fn the_key_is_the_v2_key_at_paths_encryption() {
    let (_s, v) = unlocked("");
    let d = v.encrypt(b"interop", b"aad").unwrap();
    let seed = hexvault_mnemonic::Mnemonic::parse(PHRASE)
        .unwrap()
        .to_seed("");
    let node =
        ed25519::ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::ENCRYPTION)
            .unwrap();
    let key = EncryptionKey::from_node_private_key(node.expose_secret()).unwrap();
    assert_eq!(d.decrypt(&key, b"aad").unwrap().expose_secret(), b"interop");
    let back = EncryptedData::encrypt(&key, b"other way", b"aad").unwrap();
    assert_eq!(
        v.decrypt(&back, b"aad").unwrap().expose_secret(),
        b"other way"
    );
}

#[test]
fn another_seed_cannot_decrypt() {
    let (_s1, a) = unlocked("one");
    let (_s2, b) = unlocked("two");
    let d = a.encrypt(b"secret", b"ctx").unwrap();
    assert_eq!(b.decrypt(&d, b"ctx"), Err(Error::Authentication));
}

#[test]
fn tampering_is_an_authentication_error() {
    let (_s, v) = unlocked("");
    let d = v.encrypt(b"secret value", b"ctx").unwrap();
    let bytes = d.to_bytes().unwrap();
    let mut failures = 0;
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let Ok(td) = EncryptedData::from_bytes(&t) else {
            continue;
        };
        match v.decrypt(&td, b"ctx") {
            Ok(_) => panic!("tampered byte {i} decrypted"),
            Err(_) => failures += 1,
        }
    }
    assert!(failures > 20);
}

#[test]
fn legacy_v1_is_refused_with_the_migration_error() {
    let (_s, v) = unlocked("");
    let d = v.encrypt(b"x", b"a").unwrap();
    let v1 = with_version(1, &d);
    let e = v.decrypt(&v1, b"a").unwrap_err();
    assert_eq!(e, Error::LegacyKeyVersion);
    assert!(e.to_string().contains("migrate"), "{e}");
    assert_eq!(
        v.rotate(&v1, b"a", KeyVersion::new(2).unwrap()),
        Err(Error::LegacyKeyVersion)
    );
    assert_eq!(
        v.encrypt_with_version(b"x", b"a", KeyVersion::new(1).unwrap()),
        Err(Error::LegacyKeyVersion)
    );
}

#[test]
fn unknown_versions_are_refused() {
    let (_s, v) = unlocked("");
    let d = v.encrypt(b"x", b"a").unwrap();
    for version in [0, MAX_KEY_VERSION + 1, u32::MAX] {
        let e = v.decrypt(&with_version(version, &d), b"a").unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedKeyVersion { .. }),
            "{version}: {e:?}"
        );
    }
}

#[test]
fn rotation_rules() {
    let (_s, v) = unlocked("");
    let d = v.encrypt(b"rotate me", b"ctx").unwrap();
    assert_eq!(
        v.rotate(&d, b"ctx", KeyVersion::new(2).unwrap()),
        Err(Error::InvalidRotation { from: 2, to: 2 })
    );
    // Wrong AAD: nothing is rotated.
    assert_eq!(
        v.rotate(&d, b"wrong", KeyVersion::new(3).unwrap()),
        Err(Error::Authentication)
    );
}

#[test]
fn rotation_moves_data_to_the_key_of_its_own_path() {
    let (_s, v) = unlocked("");
    let d = v.encrypt(b"rotate me", b"ctx").unwrap();
    let r3 = v.rotate(&d, b"ctx", KeyVersion::new(3).unwrap()).unwrap();
    assert_eq!(r3.key_version(), 3);
    assert_eq!(
        v.decrypt(&r3, b"ctx").unwrap().expose_secret(),
        b"rotate me"
    );
    assert_eq!(v.decrypt(&r3, b"other"), Err(Error::Authentication));
    // v3 is sealed under the key of the node at m/74'/2'/0'/1', not the v2 key.
    let seed = hexvault_mnemonic::Mnemonic::parse(PHRASE)
        .unwrap()
        .to_seed("");
    let path = encryption_path(3).unwrap();
    assert_eq!(path.to_string(), "m/74'/2'/0'/1'");
    let node = ed25519::ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &path).unwrap();
    let k3 = EncryptionKey::for_key_version(node.expose_secret(), 3, hexvault_aead::Backend::Ring)
        .unwrap();
    assert_eq!(
        r3.decrypt(&k3, b"ctx").unwrap().expose_secret(),
        b"rotate me"
    );
    let v2_node =
        ed25519::ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::ENCRYPTION)
            .unwrap();
    let k3_on_v2_node =
        EncryptionKey::for_key_version(v2_node.expose_secret(), 3, hexvault_aead::Backend::Ring)
            .unwrap();
    assert!(
        r3.decrypt(&k3_on_v2_node, b"ctx").is_err(),
        "versions do not share a key"
    );
    // Onwards to v4; never backwards.
    let r4 = v.rotate(&r3, b"ctx", KeyVersion::new(4).unwrap()).unwrap();
    assert_eq!(r4.key_version(), 4);
    assert_eq!(
        v.decrypt(&r4, b"ctx").unwrap().expose_secret(),
        b"rotate me"
    );
    assert_eq!(
        v.rotate(&r4, b"ctx", KeyVersion::new(3).unwrap()),
        Err(Error::InvalidRotation { from: 4, to: 3 })
    );
    // Straight from v2 to a far version works too; the original still opens (dual-key period).
    let r9 = v.rotate(&d, b"ctx", KeyVersion::new(9).unwrap()).unwrap();
    assert_eq!(
        v.decrypt(&r9, b"ctx").unwrap().expose_secret(),
        b"rotate me"
    );
    assert_eq!(v.decrypt(&d, b"ctx").unwrap().expose_secret(), b"rotate me");
    // A v3 blob relabelled as v2 does not open (other key, and the version is in the AAD).
    assert_eq!(
        v.decrypt(&with_version(2, &r3), b"ctx"),
        Err(Error::Authentication)
    );
    // New data can be written at a later version directly.
    let w5 = v
        .encrypt_with_version(b"fresh", b"ctx", KeyVersion::new(5).unwrap())
        .unwrap();
    assert_eq!(w5.key_version(), 5);
    assert_eq!(v.decrypt(&w5, b"ctx").unwrap().expose_secret(), b"fresh");
    assert_eq!(v.status().unwrap().encryption_keys, 5, "v2, v3, v4, v9, v5");
    v.lock().unwrap();
    assert_eq!(v.status().unwrap().encryption_keys, 0);
}
