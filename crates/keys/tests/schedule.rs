//! The application key schedule is frozen: golden values computed with the facade's old
//! `hexvault::keys` module (before it moved here) for the Trezor phrase `abandon … about`,
//! the golden credential, and the separation properties of the typed keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_aead::{ENCRYPTION_KEY_LABEL, EncryptedData, Key};
use hexvault_derivation::{PATHS, ed25519::ExtendedPrivateKey};
use hexvault_keys::{
    AUDIT_CHAIN_LABEL, AuditSigner, Error, SigningKey, VAULT_MASTER_LABEL, VaultMasterKey,
    audit_chain_key, audit_signer, encryption_key, encryption_key_for_version, vault_master_key,
};
use hexvault_mnemonic::{Mnemonic, Seed};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// (passphrase, EncryptedData v2 AES key, vault master, audit chain key, audit public key),
/// printed by the old facade functions.
const GOLDEN: [(&str, &str, &str, &str, &str); 2] = [
    (
        "TREZOR",
        "3494fb86cb2d9d40290532517b52865e8a34a8e9828fcef44baaffb6e4bffe35",
        "2c919f06fbe83f0c6a1b467c31a4684dab8c91c81daeb4b9603bbf51678110b8",
        "1a998811b3936dcdbbe2705291217c954762213b3e14014e271ff32ca3b5d5a9",
        "bdf1fc8eb10d2cac5c1b9af8a45414b8afa0826a247517a095d5a7afd5bd4f84",
    ),
    (
        "",
        "23145b0fa430d7ac4a78e59c96b575eee109a1ed019bec5c3d7a65edb0162a6e",
        "4bbffc2af47d832958ee8d15204e9535eb90951f91f24fa015a4536a026e42ab",
        "5416878f0f5ab16e4dbfd279b2648445ec18d38f7ddb1dfb708111446f4d704e",
        "1f318b9db96420f56a8b5dde063aced6d6e5314cfc8b1a64f794d37f9d82c718",
    ),
];

fn seed(passphrase: &str) -> Seed {
    Mnemonic::parse(PHRASE).unwrap().to_seed(passphrase)
}

fn key32(hex_str: &str) -> [u8; 32] {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

#[test]
fn derivations_equal_the_old_facade_outputs() {
    for (passphrase, enc, master_hex, chain, public) in GOLDEN {
        let seed = seed(passphrase);
        // The credential key: ADR 0022's HKDF of the node at m/74'/2'/0'/0' equals the golden
        // AES key, and what `encryption_key` seals opens under a key built from those bytes.
        let node =
            ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::ENCRYPTION).unwrap();
        let aes = hexvault_aead::derive_key(
            &Key::from_bytes(*node.expose_secret()),
            ENCRYPTION_KEY_LABEL,
            &[],
        )
        .unwrap();
        assert_eq!(hex::encode(aes.expose_secret()), enc);
        let sealed = EncryptedData::encrypt(&encryption_key(&seed).unwrap(), b"x", b"ctx").unwrap();
        let reference =
            hexvault_aead::EncryptionKey::from_node_private_key(node.expose_secret()).unwrap();
        assert_eq!(
            sealed.decrypt(&reference, b"ctx").unwrap().expose_secret(),
            b"x"
        );

        // The vault master has no byte accessor: pin it through HKDF outputs, which equal
        // HKDF of the golden master bytes only if the master equals them.
        let master = vault_master_key(&seed).unwrap();
        let golden_master = Key::from_bytes(key32(master_hex));
        for (label, parts) in [
            ("hexvault/v2/test/a", &[][..]),
            ("hexvault/v2/test/b", &[&b"tenant"[..], b"cell"][..]),
        ] {
            assert_eq!(
                master.derive_key(label, parts).unwrap(),
                hexvault_aead::derive_key(&golden_master, label, parts).unwrap()
            );
        }
        assert_eq!(
            master,
            VaultMasterKey::from_kms_bytes(&mut key32(master_hex))
        );

        assert_eq!(
            hex::encode(audit_chain_key(&seed).unwrap().expose_secret()),
            chain
        );
        assert_eq!(
            hex::encode(master.audit_chain_key().unwrap().expose_secret()),
            chain
        );
        assert_eq!(
            hex::encode(audit_signer(&seed).unwrap().verifying_key().as_bytes()),
            public
        );
    }
}

#[test]
fn the_golden_credential_still_opens_with_the_credential_key() {
    let credential =
        EncryptedData::from_json(include_str!("data/credential-v2-trezor0.json").trim()).unwrap();
    let key = encryption_key(&seed("TREZOR")).unwrap();
    assert_eq!(
        credential
            .decrypt(&key, b"hexvault/tests/golden")
            .unwrap()
            .expose_secret(),
        b"hexvault golden credential: keep decrypting forever"
    );
    assert!(credential.decrypt(&key, b"hexvault/tests/other").is_err());
    let other = encryption_key(&seed("")).unwrap();
    assert!(
        credential
            .decrypt(&other, b"hexvault/tests/golden")
            .is_err()
    );
    // A later key version is another key: it refuses v2 data.
    let v3 = encryption_key_for_version(&seed("TREZOR"), 3).unwrap();
    assert_eq!(v3.key_version(), 3);
    assert!(credential.decrypt(&v3, b"hexvault/tests/golden").is_err());
}

#[test]
fn another_passphrase_gives_other_keys_and_keys_compare_unequal() {
    let (a, b) = (seed("TREZOR"), seed("other"));
    assert_ne!(vault_master_key(&a).unwrap(), vault_master_key(&b).unwrap());
    assert_eq!(vault_master_key(&a).unwrap(), vault_master_key(&a).unwrap());
    assert_ne!(audit_chain_key(&a).unwrap(), audit_chain_key(&b).unwrap());
    assert_ne!(audit_signer(&a).unwrap(), audit_signer(&b).unwrap());
    assert_eq!(
        audit_signer(&a).unwrap(),
        AuditSigner::from_seed(&a).unwrap()
    );
    assert_ne!(
        VaultMasterKey::generate().unwrap(),
        VaultMasterKey::generate().unwrap()
    );
    // Data sealed under one passphrase's credential key does not open under the other's.
    let sealed = EncryptedData::encrypt(&encryption_key(&a).unwrap(), b"x", b"").unwrap();
    assert!(sealed.decrypt(&encryption_key(&b).unwrap(), b"").is_err());
}

#[test]
fn debug_prints_no_secret() {
    let seed = seed("TREZOR");
    let master = vault_master_key(&seed).unwrap();
    let text = format!("{master:?}");
    assert_eq!(text, "VaultMasterKey { .. }");
    let signer = audit_signer(&seed).unwrap();
    let text = format!("{signer:?}");
    let node = hexvault_derivation::ed25519::ExtendedPrivateKey::derive_from_seed(
        seed.expose_secret(),
        &hexvault_derivation::PATHS::AUDIT_SIGNING,
    )
    .unwrap();
    let secret = hex::encode(node.expose_secret());
    assert!(!text.to_lowercase().contains(&secret[..16]), "{text}");
    assert!(text.ends_with("..}") || text.ends_with(".. }"), "{text}");
    let chain = audit_chain_key(&seed).unwrap();
    assert!(!format!("{chain:?}").contains("1a99"));
}

#[test]
fn derive_key_refuses_the_labels_of_typed_keys() {
    let master = vault_master_key(&seed("TREZOR")).unwrap();
    for label in [AUDIT_CHAIN_LABEL, VAULT_MASTER_LABEL] {
        assert!(matches!(
            master.derive_key(label, &[]),
            Err(Error::ReservedLabel { label: l }) if l == label
        ));
    }
    // The audit chain key comes out only typed.
    assert!(master.derive_key("hexvault/v2/audit-chain ", &[]).is_ok());
}

/// The signer leaves as an opaque `SigningKey`: whoever holds an `AuditSigner` (a service
/// handle, say) can hand it to a log but never read the key back as bytes or copy it
/// (compile-fail doctests on `AuditSigner`).
#[test]
fn the_signer_moves_into_a_log_and_still_signs() {
    let seed = seed("TREZOR");
    let signer = audit_signer(&seed).unwrap();
    let public = signer.verifying_key();
    let key = SigningKey::from(signer);
    assert_eq!(key.verifying_key(), public);
    assert!(!format!("{key:?}").contains("secret"));
}
