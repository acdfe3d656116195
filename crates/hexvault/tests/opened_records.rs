//! `VaultBuilder::keep_opened_records` and `Vault::take_opened_records`: a reopened file
//! log's records, as the vault verified them when it opened the log, handed over once; the
//! key-version replay reads the same records.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hexvault::audit::EventKind;
use hexvault::cells::{CellId, Credentials, Layer, ObjectId, PartitionId};
use hexvault::{NoAccessTokens, VaultBuilder};

/// A published BIP-39 vector (never a real root).
const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

/// Writes a log with a seal, a rotation and a retirement of cell p/c, and closes it.
fn write_log(path: &std::path::Path) -> usize {
    let vault = VaultBuilder::new()
        .audit_file(path)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let object = ObjectId::new("o").unwrap();
    cell.seal(&object, b"x", Layer::Rest, &Credentials::none())
        .unwrap();
    cell.rotate().unwrap();
    cell.retire_below(2).unwrap();
    let written = vault.audit_records().unwrap().len();
    vault.close().unwrap();
    written
}

#[test]
fn a_reopened_log_hands_its_records_over_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let written = write_log(&path);
    assert!(written >= 2, "the rotation and the retirement are recorded");

    let mut vault = VaultBuilder::new()
        .audit_file(&path)
        .keep_opened_records()
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    let records = vault.take_opened_records().unwrap();
    assert_eq!(records.len(), written);
    assert_eq!(records, vault.audit_records().unwrap());
    assert_eq!(
        records
            .iter()
            .filter(|r| r.event.kind == EventKind::Rotate)
            .count(),
        2,
        "the rotation and the retirement"
    );
    assert!(vault.take_opened_records().is_none(), "handed over once");
    // The replay read the same records: the retired version stays retired.
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    assert_eq!(cell.key_versions(), (2, 2));
}

#[test]
fn records_are_kept_only_when_asked_and_only_for_a_file_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    write_log(&path);
    let mut not_asked = VaultBuilder::new()
        .audit_file(&path)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    assert!(not_asked.take_opened_records().is_none());
    not_asked.close().unwrap();

    let mut in_memory = VaultBuilder::new()
        .keep_opened_records()
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    assert!(in_memory.take_opened_records().is_none());

    let mut created = VaultBuilder::new()
        .audit_file(dir.path().join("new.log"))
        .keep_opened_records()
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    assert_eq!(created.take_opened_records(), Some(Vec::new()));
}
