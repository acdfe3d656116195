//! The vault master and the audit keys leave the service only as typed capabilities, over the
//! in-process channel (ADR 0046), equal to what `hexvault-keys` derives from the same seed;
//! and the service keeps a bounded number of `EncryptedData` keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::trezor_vector;
use hexvault_aead::{EncryptedData, KeyVersion};
use hexvault_mnemonic::Mnemonic;
use hexvault_service::{CacheConfig, Error, MAX_ENCRYPTION_KEYS, VaultService};

fn unlocked() -> (
    VaultService,
    hexvault_service::VaultServiceHandle,
    hexvault_mnemonic::Seed,
) {
    let (phrase, passphrase, _) = trezor_vector(0);
    let (s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    v.unlock(&phrase, &passphrase).unwrap();
    let seed = Mnemonic::parse(&phrase).unwrap().to_seed(&passphrase);
    (s, v, seed)
}

#[test]
fn capabilities_equal_the_keys_crate_derivation_of_the_seed() {
    let (_s, v, seed) = unlocked();
    let master = v.vault_master_key().unwrap();
    assert_eq!(master, hexvault_keys::vault_master_key(&seed).unwrap());
    // Same child keys, as the cells crate will derive them.
    let reference = hexvault_keys::vault_master_key(&seed).unwrap();
    assert_eq!(
        master
            .derive_key("hexvault/v2/tests/cell", &[b"p", b"c"])
            .unwrap(),
        reference
            .derive_key("hexvault/v2/tests/cell", &[b"p", b"c"])
            .unwrap()
    );
    assert_eq!(
        v.audit_chain_key().unwrap(),
        hexvault_keys::audit_chain_key(&seed).unwrap()
    );
    let signer = v.audit_signer().unwrap();
    let reference = hexvault_keys::audit_signer(&seed).unwrap();
    assert_eq!(signer, reference);
    assert_eq!(signer.verifying_key(), reference.verifying_key());
    // Both in one request: the same keys as the separate capabilities.
    let (both_master, both_signer) = v.vault_keys().unwrap();
    assert_eq!(both_master, master);
    assert_eq!(both_signer, reference);
    // Another passphrase, another master.
    let other = Mnemonic::parse(common::PHRASE).unwrap().to_seed("other");
    assert_ne!(master, hexvault_keys::vault_master_key(&other).unwrap());
    // Capability calls are requests: counted, and they leave the cache alone.
    let status = v.status().unwrap();
    assert_eq!(status.cache.len, 0);
    assert!(status.requests >= 4);
}

#[test]
fn capabilities_are_refused_while_locked_and_after_stop() {
    let (phrase, passphrase, _) = trezor_vector(0);
    let (service, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    assert_eq!(v.vault_master_key().map(drop), Err(Error::Locked));
    assert_eq!(v.audit_chain_key().map(drop), Err(Error::Locked));
    assert_eq!(v.audit_signer().map(drop), Err(Error::Locked));
    assert_eq!(v.vault_keys().map(drop), Err(Error::Locked));
    v.unlock(&phrase, &passphrase).unwrap();
    v.vault_master_key().unwrap();
    v.lock().unwrap();
    assert_eq!(v.vault_master_key().map(drop), Err(Error::Locked));
    assert_eq!(v.audit_signer().map(drop), Err(Error::Locked));
    v.shutdown().unwrap();
    service.join().unwrap();
    assert_eq!(v.vault_master_key().map(drop), Err(Error::Stopped));
}

#[test]
fn capabilities_print_no_secret() {
    let (_s, v, seed) = unlocked();
    assert_eq!(
        format!("{:?}", v.vault_master_key().unwrap()),
        "VaultMasterKey { .. }"
    );
    assert_eq!(
        format!("{:?}", v.audit_chain_key().unwrap()),
        "AuditKey { .. }"
    );
    let signer = v.audit_signer().unwrap();
    let text = format!("{signer:?}");
    let node = hexvault_derivation::ed25519::ExtendedPrivateKey::derive_from_seed(
        seed.expose_secret(),
        &hexvault_derivation::PATHS::AUDIT_SIGNING,
    )
    .unwrap();
    let secret: String = node
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!text.to_lowercase().contains(&secret[..16]), "{text}");
}

/// Issue 9, item 6: decrypts with made-up key versions grew one kept key per version forever.
/// A failed decrypt keeps no key, and successful ones keep at most `MAX_ENCRYPTION_KEYS`.
#[test]
fn failed_decrypts_keep_no_key_and_kept_keys_are_bounded() {
    let (_s, v, _) = unlocked();
    let sealed = v.encrypt(b"secret", b"ctx").unwrap();
    assert_eq!(v.status().unwrap().encryption_keys, 1);
    // Attacker-chosen versions: the same fields relabelled, each fails authentication.
    let mut json: serde_json::Value = serde_json::from_str(&sealed.to_json().unwrap()).unwrap();
    for version in 3..200u32 {
        json["key_version"] = version.into();
        let forged = EncryptedData::from_json(&json.to_string()).unwrap();
        assert_eq!(v.decrypt(&forged, b"ctx"), Err(Error::Authentication));
    }
    assert_eq!(
        v.status().unwrap().encryption_keys,
        1,
        "no key kept for a failed decrypt"
    );
    // Real data at many versions: the kept keys stay bounded, and every version still opens.
    let data: Vec<_> = (2..2 + 3 * MAX_ENCRYPTION_KEYS as u32)
        .map(|version| {
            v.encrypt_with_version(b"secret", b"ctx", KeyVersion::new(version).unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(
        v.status().unwrap().encryption_keys,
        MAX_ENCRYPTION_KEYS as u64
    );
    for d in &data {
        assert_eq!(v.decrypt(d, b"ctx").unwrap().expose_secret(), b"secret");
        assert!(v.status().unwrap().encryption_keys <= MAX_ENCRYPTION_KEYS as u64);
    }
    assert_eq!(
        v.decrypt(&sealed, b"ctx").unwrap().expose_secret(),
        b"secret"
    );
}

/// A handle's audit signer is a capability to sign, not a key to read: converted into the
/// log's signing key it has no byte accessor and cannot be cloned (compile-fail doctests on
/// `hexvault_keys::AuditSigner` and `hexvault_audit::SigningKey`).
#[test]
fn the_audit_signer_capability_signs_but_never_exports() {
    let (_s, v, _) = unlocked();
    let signer = v.audit_signer().unwrap();
    let public = signer.verifying_key();
    let key: hexvault_keys::SigningKey = signer.into();
    assert_eq!(key.verifying_key(), public);
}
