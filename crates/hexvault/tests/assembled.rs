//! The assembled API: one root gives one vault whichever way it is reached (phrase, seed,
//! service), its audit log is keyed, signed and anchored, and each facade feature adds
//! what it says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use hexvault::audit::{Anchor, Durability, Verifier};
use hexvault::cells::{CellId, Credentials, Layer, ObjectId, PartitionId};
use hexvault::edges::Connect;
use hexvault::mnemonic::Mnemonic;
use hexvault::{NoAccessTokens, Vault, VaultBuilder};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn inbox(vault: &Vault) -> hexvault::cells::Cell {
    vault
        .partition(PartitionId::new("tenant-7").unwrap())
        .cell(CellId::new("inbox").unwrap())
}

fn id() -> ObjectId {
    ObjectId::new("o").unwrap()
}

#[test]
fn a_phrase_and_its_seed_give_the_same_vault() {
    let by_phrase = Vault::from_mnemonic(PHRASE, "TREZOR", NoAccessTokens).unwrap();
    let seed = Mnemonic::parse(PHRASE).unwrap().to_seed("TREZOR");
    let by_seed = VaultBuilder::new()
        .from_seed(&seed, NoAccessTokens)
        .unwrap();
    let blob = inbox(&by_phrase)
        .seal(&id(), b"x", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(
        inbox(&by_seed)
            .open(&id(), &blob, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"x"
    );
    assert_eq!(by_phrase.audit_public_key(), by_seed.audit_public_key());
    // The signer is the application key at m/74'/2'/2'/0'.
    assert_eq!(
        by_phrase.audit_public_key(),
        hexvault::keys::audit_signer(&seed).unwrap().verifying_key()
    );
    let other = Vault::from_mnemonic(PHRASE, "", NoAccessTokens).unwrap();
    assert!(
        inbox(&other)
            .open(&id(), &blob, &Credentials::none())
            .is_err()
    );
    assert_ne!(other.audit_public_key(), by_phrase.audit_public_key());
}

#[test]
fn an_invalid_phrase_is_refused() {
    let err = Vault::from_mnemonic("abandon abandon abandon", "", NoAccessTokens).unwrap_err();
    assert!(matches!(err, hexvault::Error::Mnemonic(_)), "{err:?}");
    let swapped = PHRASE.replace("about", "above");
    assert!(matches!(
        Vault::from_mnemonic(&swapped, "", NoAccessTokens),
        Err(hexvault::Error::Mnemonic(_))
    ));
}

#[test]
fn the_log_is_keyed_with_the_chain_key_of_the_master() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = VaultBuilder::new()
        .audit_file(&path)
        .from_mnemonic(PHRASE, "TREZOR", NoAccessTokens)
        .unwrap();
    assert!(
        inbox(&vault)
            .open(&id(), b"junk", &Credentials::none())
            .is_err()
    );
    let anchor = vault.checkpoint().unwrap().unwrap();
    assert_eq!(anchor.sequence().get(), 0);
    assert_eq!(vault.audit_log().len(), 1);
    // A verifier with the chain key derived here, independently, from the master.
    let seed = Mnemonic::parse(PHRASE).unwrap().to_seed("TREZOR");
    let chain = hexvault::keys::vault_master_key(&seed)
        .unwrap()
        .audit_chain_key()
        .unwrap();
    let keyed = Verifier::keyed(&chain)
        .with_public_key(vault.audit_public_key())
        .with_anchor(anchor);
    assert!(keyed.verify_file(&path).unwrap().is_ok());
    let other =
        hexvault::keys::audit_chain_key(&Mnemonic::parse(PHRASE).unwrap().to_seed("")).unwrap();
    assert!(
        Verifier::keyed(&other)
            .with_public_key(vault.audit_public_key())
            .verify_file(&path)
            .is_err()
    );
}

#[test]
fn an_empty_log_verifies() {
    let vault = Vault::from_mnemonic(PHRASE, "", NoAccessTokens).unwrap();
    assert!(vault.checkpoint().unwrap().is_none());
    assert_eq!(vault.verify_audit().unwrap().records, 0);
    assert!(
        vault.audit_file().is_none()
            && vault.anchor_file().is_none()
            && vault.opened_report().is_none()
    );
}

#[test]
fn a_file_log_keeps_its_anchor_beside_it_and_verifies_outside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = VaultBuilder::new()
        .audit_file(&path)
        .checkpoint_every(2)
        .durability(Durability::GroupCommit {
            max_records: 8,
            max_delay: std::time::Duration::ZERO,
        })
        .from_mnemonic(PHRASE, "TREZOR", NoAccessTokens)
        .unwrap();
    assert_eq!(
        vault.anchor_file().unwrap(),
        dir.path().join("audit.log.anchor")
    );
    let a = inbox(&vault);
    let b = vault
        .partition(PartitionId::new("tenant-8").unwrap())
        .cell(CellId::new("inbox").unwrap());
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    for _ in 0..5 {
        let blob = a.seal(&id(), b"x", Layer::Rest, &none).unwrap();
        edge.traverse(&id(), &blob, &none, &none).unwrap();
    }
    assert_eq!(vault.audit_records().unwrap().len(), 5);
    assert_eq!(vault.verify_audit().unwrap().records, 5);
    let public = vault.audit_public_key();
    vault.close().unwrap();
    let report = Verifier::public_key(public)
        .with_anchor(Anchor::read(dir.path().join("audit.log.anchor")).unwrap())
        .require_anchored_tail(true)
        .verify_file(&path)
        .unwrap();
    assert!(report.is_ok() && report.records == 5, "{report}");
}

#[test]
fn verify_audit_fails_on_a_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = VaultBuilder::new()
        .audit_file(&path)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    for _ in 0..3 {
        assert!(
            inbox(&vault)
                .open(&id(), b"junk", &Credentials::none())
                .is_err()
        );
    }
    vault.verify_audit().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = vault.verify_audit().unwrap_err();
    assert!(matches!(err, hexvault::Error::Audit(_)), "{err:?}");
}

#[test]
fn debug_prints_no_secret() {
    let vault = Vault::from_mnemonic(PHRASE, "TREZOR", NoAccessTokens).unwrap();
    let text = format!("{vault:?}");
    assert!(
        text.starts_with("Vault {") && text.contains("audit_public_key"),
        "{text}"
    );
    assert!(!text.contains("abandon"));
}

#[cfg(feature = "service")]
#[test]
fn the_service_capabilities_give_the_same_vault_as_the_phrase() {
    use hexvault::service::{CacheConfig, VaultService};
    let (service, handle) = VaultService::spawn(CacheConfig::default()).unwrap();
    assert!(matches!(
        Vault::from_service(&handle, NoAccessTokens),
        Err(hexvault::Error::Service(_))
    ));
    handle.unlock(PHRASE, "TREZOR").unwrap();
    let by_service = Vault::from_service(&handle, NoAccessTokens).unwrap();
    let by_phrase = Vault::from_mnemonic(PHRASE, "TREZOR", NoAccessTokens).unwrap();
    let blob = inbox(&by_service)
        .seal(&id(), b"x", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(
        inbox(&by_phrase)
            .open(&id(), &blob, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"x"
    );
    assert_eq!(by_service.audit_public_key(), by_phrase.audit_public_key());
    handle.shutdown().unwrap();
    drop(handle);
    service.join().unwrap();
    // The vault keeps its keys after the service stopped: it holds the capability.
    assert!(
        inbox(&by_service)
            .open(&id(), &blob, &Credentials::none())
            .is_ok()
    );
}

#[cfg(feature = "rustcrypto")]
#[test]
fn the_rustcrypto_backend_reads_and_writes_the_same_blobs() {
    use hexvault::cells::Backend;
    let pure = VaultBuilder::new()
        .backend(Backend::RustCrypto)
        .cache_capacity(8)
        .from_mnemonic(PHRASE, "TREZOR", NoAccessTokens)
        .unwrap();
    let ring = Vault::from_mnemonic(PHRASE, "TREZOR", NoAccessTokens).unwrap();
    let blob = inbox(&pure)
        .seal(&id(), b"x", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(
        inbox(&ring)
            .open(&id(), &blob, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"x"
    );
    let blob = inbox(&ring)
        .seal(&id(), b"y", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(
        inbox(&pure)
            .open(&id(), &blob, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"y"
    );
}

#[cfg(feature = "compression")]
#[test]
fn compressed_blobs_stay_compressed_across_an_edge() {
    let vault = Vault::from_mnemonic(PHRASE, "", NoAccessTokens).unwrap();
    let a = inbox(&vault);
    let b = vault
        .partition(PartitionId::new("tenant-8").unwrap())
        .cell(CellId::new("inbox").unwrap());
    let edge = vault.connect(&a, &b).unwrap();
    let document = b"{\"region\":\"eu\",\"tier\":\"gold\"}".repeat(100);
    let none = Credentials::none();
    let packed = a
        .seal_compressed(&id(), &document, Layer::Rest, &none)
        .unwrap();
    assert!(packed.len() < document.len() / 4);
    let moved = edge.traverse(&id(), &packed, &none, &none).unwrap();
    assert!(moved.len() < document.len() / 4);
    assert_eq!(
        b.open(&id(), &moved, &none).unwrap().expose_secret(),
        document.as_slice()
    );
}

/// An application's cells and edges calls carry their errors in `hexvault::Error` with `?`.
#[test]
fn cells_and_edges_errors_convert_into_the_facade_error() {
    use hexvault::edges::Connect;
    fn refused(vault: &Vault) -> hexvault::Result<Vec<u8>> {
        let a = inbox(vault);
        let blob = a.seal(&id(), b"x", Layer::Rest, &Credentials::none())?;
        let edge = vault.connect(&a, &a)?;
        // The edge's route name is taken: declaring it twice is refused.
        vault.connect(&a, &a)?;
        Ok(edge.traverse(&id(), &blob, &Credentials::none(), &Credentials::none())?)
    }
    let vault = Vault::from_mnemonic(PHRASE, "", NoAccessTokens).unwrap();
    assert!(matches!(refused(&vault), Err(hexvault::Error::Edges(_))));
    let cells: hexvault::Error = hexvault::cells::Error::Denied.into();
    assert!(matches!(cells, hexvault::Error::Cells(_)));
}

/// `Error::Mnemonic`: the wrapped error says which word failed, never a word. The mnemonic
/// crate's hint is the closest list word, i.e. the word the user meant: the facade drops it
/// (as the service does), so no word of the secret phrase lands in a logged facade error.
#[test]
fn a_mistyped_phrase_does_not_put_the_secret_word_in_the_facade_error() {
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let typo = phrase.replacen("winner", "winnr", 1);
    let err = Vault::from_mnemonic(&typo, "", NoAccessTokens).unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains("winner"),
        "the facade error names a word of the secret phrase: {text}"
    );
    assert!(text.contains("word 2"), "{text}");
    // The mixed-language case drops its suggestion too ("abaisser" is French).
    let mixed = phrase.replacen("winner", "abaisser", 1);
    let err = Vault::from_mnemonic(&mixed, "", NoAccessTokens).unwrap_err();
    assert!(
        matches!(
            &err,
            hexvault::Error::Mnemonic(hexvault::mnemonic::Error::MixedLanguages {
                suggestion: None,
                ..
            })
        ),
        "{err:?}"
    );
}
