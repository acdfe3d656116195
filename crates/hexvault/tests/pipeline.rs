//! The pipeline across crates: phrase → seed → HD keys → credentials, pinned by published
//! vectors and by golden data that must keep working forever.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hexvault::aead::EncryptedData;
use hexvault::derivation::{PATHS, ed25519::ExtendedPrivateKey};
use hexvault::keys;
use hexvault::mnemonic::{Mnemonic, Seed};

/// Trezor BIP-39 vector (english, entropy 00..00), passphrase "TREZOR".
const TREZOR_PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn trezor_seed() -> Seed {
    Mnemonic::parse(TREZOR_PHRASE).unwrap().to_seed("TREZOR")
}

/// Every Trezor vector, through the public API of two crates: phrase → seed → BIP-32 master.
#[cfg(feature = "secp256k1")]
#[test]
fn trezor_phrases_give_the_published_master_xprv() {
    use hexvault::derivation::secp256k1::ExtendedPrivateKey as Bip32Key;
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../mnemonic/tests/data/bip39-trezor.json")).unwrap();
    let mut checked = 0;
    for cases in vectors["cases"].as_object().unwrap().values() {
        for case in cases.as_array().unwrap() {
            let mnemonic = Mnemonic::parse(case["mnemonic"].as_str().unwrap()).unwrap();
            let seed = mnemonic.to_seed(case["passphrase"].as_str().unwrap());
            let master = Bip32Key::from_seed(seed.expose_secret()).unwrap();
            assert_eq!(master.to_xprv().as_str(), case["xprv"].as_str().unwrap());
            checked += 1;
        }
    }
    assert!(checked >= 200, "only {checked} vectors checked");
}

/// A credential sealed once under the Trezor phrase must decrypt forever: it pins the path,
/// the HKDF label, the AAD construction and the wire format together.
#[test]
fn golden_credential_still_decrypts() {
    let key = keys::encryption_key(&trezor_seed()).unwrap();
    let credential =
        EncryptedData::from_json(include_str!("data/credential-v2-trezor0.json").trim()).unwrap();
    assert_eq!(credential.key_version(), 2);
    let plaintext = credential.decrypt(&key, b"hexvault/tests/golden").unwrap();
    assert_eq!(
        plaintext.expose_secret(),
        b"hexvault golden credential: keep decrypting forever"
    );
    assert!(credential.decrypt(&key, b"hexvault/tests/other").is_err());
    let other_seed = Mnemonic::parse(TREZOR_PHRASE).unwrap().to_seed("");
    let other_key = keys::encryption_key(&other_seed).unwrap();
    assert!(
        credential
            .decrypt(&other_key, b"hexvault/tests/golden")
            .is_err()
    );
}

/// The vault master key is pinned: a change would orphan every partition ever sealed.
///
/// The pinned value was reproduced independently (Python `hashlib`/`hmac`): PBKDF2 seed,
/// SLIP-0010 steps 74'/2'/1'/0', then HKDF-SHA256 with no salt and
/// `info = u32be(24) || "hexvault/v2/vault-master"` (docs/formats.md).
#[test]
fn vault_master_key_is_stable() {
    use hexvault::aead::{Key, derive_key};

    let master = keys::vault_master_key(&trezor_seed()).unwrap();
    let golden: [u8; 32] = hex::decode(include_str!("data/vault-master-trezor0.hex").trim())
        .unwrap()
        .try_into()
        .unwrap();
    // `VaultMasterKey` has no byte accessor: it equals a key built from the golden bytes,
    // and its child keys are HKDF of exactly those bytes.
    assert_eq!(
        master,
        keys::VaultMasterKey::from_kms_bytes(&mut golden.clone())
    );
    let label = "hexvault/v2/tests/pipeline";
    assert_eq!(
        master.derive_key(label, &[b"id"]).unwrap(),
        derive_key(&Key::from_bytes(golden), label, &[b"id"]).unwrap()
    );
    // It is not the raw node key: the HKDF step separates the two.
    let node =
        ExtendedPrivateKey::derive_from_seed(trezor_seed().expose_secret(), &PATHS::VAULT_MASTER)
            .unwrap();
    assert_ne!(
        master,
        keys::VaultMasterKey::from_kms_bytes(&mut node.expose_secret().clone())
    );
}

#[test]
fn audit_signer_is_the_ed25519_key_at_its_path() {
    let signing = keys::audit_signer(&trezor_seed()).unwrap();
    let node =
        ExtendedPrivateKey::derive_from_seed(trezor_seed().expose_secret(), &PATHS::AUDIT_SIGNING)
            .unwrap();
    assert_eq!(signing.verifying_key().to_bytes(), node.public_key());
    let encryption_node =
        ExtendedPrivateKey::derive_from_seed(trezor_seed().expose_secret(), &PATHS::ENCRYPTION)
            .unwrap();
    assert_ne!(encryption_node.public_key(), node.public_key());
}

/// The audit chain key and the checkpoint key come from the seed: the same phrase verifies the
/// log, another phrase does not, and the public key alone checks the checkpoints.
#[test]
fn audit_keys_from_the_seed_verify_their_log() {
    use hexvault::audit::{AuditLog, Event, EventKind, LogOptions, MemoryLog, Verifier};

    let seed = trezor_seed();
    let options = LogOptions::keyed(&keys::audit_chain_key(&seed).unwrap())
        .signing_key(keys::audit_signer(&seed).unwrap())
        .checkpoint_every(4);
    let log = MemoryLog::new(options).unwrap();
    for _ in 0..10 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    log.checkpoint().unwrap();
    assert!(log.verify().unwrap().is_ok());
    assert!(
        log.verify_with(
            &Verifier::keyed(&keys::audit_chain_key(&seed).unwrap())
                .with_public_key(keys::audit_signer(&seed).unwrap().verifying_key())
        )
        .unwrap()
        .is_ok()
    );
    let public = keys::audit_signer(&seed).unwrap().verifying_key();
    assert!(
        log.verify_with(&Verifier::public_key(public))
            .unwrap()
            .is_ok()
    );

    let other = Mnemonic::parse(TREZOR_PHRASE).unwrap().to_seed("");
    let wrong = Verifier::keyed(&keys::audit_chain_key(&other).unwrap());
    let outcome = log.verify_with(&wrong);
    assert!(outcome.is_err() || !outcome.unwrap().is_ok());
}
