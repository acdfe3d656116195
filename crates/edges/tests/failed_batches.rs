//! A batch traversal whose audit append fails returns no blob; what a file log keeps of the
//! batch is a prefix of its records, as ADR 0053 says since review round 21.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::sync::Arc;

use common::*;
use hexvault_audit::{AuditKey, FileLog, LogContents, LogOptions, SigningKey};
use hexvault_edges::{Connect, Credentials, Layer};

/// docs/adr/0053-cell-transfer-without-bypass.md: "A batch the log refuses ... keeps none of
/// its records; one whose write or sync fails part-way may keep a prefix of them in a file
/// log ... the batch call fails and returns no blob". The anchor path is a non-empty
/// directory, so the file log fails at the checkpoint its interval of 4 asks for mid-batch.
#[test]
fn a_failed_batch_returns_no_blob_and_keeps_at_most_a_prefix_of_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let key = AuditKey::from_bytes([3; 32]);
    let options = || {
        LogOptions::keyed(&key)
            .signing_key(SigningKey::from_bytes(&[9; 32]))
            .checkpoint_every(4)
    };
    let log = Arc::new(FileLog::create(&path, options()).unwrap());
    let vault = hexvault_cells::Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone());
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let o = oid("o");
    let blob = a.seal(&o, b"x", Layer::Rest, &none).unwrap();
    let anchor = hexvault_audit::Anchor::path_for(&path);
    std::fs::create_dir(&anchor).unwrap();
    std::fs::write(anchor.join("keep"), b"x").unwrap();
    let items = [(&o, &blob[..]); 5];
    assert!(
        edge.traverse_batch(&items, &none, &none).is_err(),
        "the batch failed"
    );
    drop((edge, a, b, vault, log));
    let records = LogContents::read(&path).unwrap().into_records();
    assert!(
        records.len() <= items.len(),
        "{} records kept",
        records.len()
    );
    for (n, record) in records.iter().enumerate() {
        assert_eq!(record.sequence.get(), n as u64);
        assert_eq!(record.event.kind, hexvault_audit::EventKind::Traverse);
    }
}
