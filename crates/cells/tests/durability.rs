//! Durability under group commit: on a group-committed `FileLog` that would otherwise hold
//! records back (no timer, 1,000 records per sync), every record but a denial is on disk
//! before the operation it records returns; denials wait for the group. The file is read
//! back from disk, as a crash would leave it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use hexvault_audit::{AuditKey, Durability, EventKind, FileLog, LogContents, LogOptions};
use hexvault_cells::*;

/// The kinds of the records on disk now.
fn on_disk(path: &Path) -> Vec<EventKind> {
    LogContents::read(path)
        .unwrap()
        .into_records()
        .into_iter()
        .map(|record| record.event.kind)
        .collect()
}

fn group_committed(path: &Path) -> (Vault, Arc<FileLog>) {
    let options =
        LogOptions::keyed(&AuditKey::from_bytes([1; 32])).durability(Durability::GroupCommit {
            max_records: 1_000,
            max_delay: Duration::ZERO,
        });
    let log = Arc::new(FileLog::create(path, options).unwrap());
    let vault = Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone());
    (vault, log)
}

#[test]
fn a_gated_open_is_on_disk_before_its_plaintext_and_a_denial_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let (vault, _log) = group_committed(&path);
    let c = cell(&vault, "p", "c");
    let (reader_token, forged_token) = (token("reader"), token("forged"));
    let reader = Credentials::none().token(&reader_token);
    let blob = c
        .seal(&oid("o"), b"secret", Layer::Access, &reader)
        .unwrap();
    assert!(on_disk(&path).is_empty(), "a seal is not recorded");

    let forged = Credentials::none().token(&forged_token);
    assert!(c.open(&oid("o"), &blob, &forged).is_err());
    assert!(
        on_disk(&path).is_empty(),
        "the denial waits for the group's sync"
    );

    let plaintext = c.open(&oid("o"), &blob, &reader).unwrap();
    assert_eq!(plaintext.expose_secret(), b"secret");
    assert_eq!(
        on_disk(&path),
        [EventKind::Denied, EventKind::Open],
        "the open's record (and the denial before it) is durable before the plaintext"
    );
}

#[test]
fn sessions_rotations_and_traversals_are_on_disk_before_they_return() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let (vault, _log) = group_committed(&path);
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    assert_eq!(on_disk(&path), [EventKind::SessionStart]);

    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let route = RouteId::new("a-to-b").unwrap();
    vault.declare_route(route.clone(), &a, &b).unwrap();
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"data", Layer::Rest, &none).unwrap();
    let before = on_disk(&path).len();
    vault
        .traverse(&route, &oid("o"), &blob, &none, None, &none)
        .unwrap();
    let after = on_disk(&path);
    assert_eq!(after.len(), before + 1);
    assert_eq!(after.last(), Some(&EventKind::Traverse));

    let moved = vault
        .traverse_batch(&route, &[(&oid("o"), blob.as_slice())], &none, None, &none)
        .unwrap();
    assert!(moved[0].is_ok());
    assert_eq!(on_disk(&path).last(), Some(&EventKind::Traverse));

    b.rotate().unwrap();
    assert_eq!(on_disk(&path).last(), Some(&EventKind::Rotate));

    // A batch of denials only (an undeclared route) waits for the group.
    let held = on_disk(&path).len();
    let nowhere = RouteId::new("nowhere").unwrap();
    assert!(
        vault
            .traverse_batch(
                &nowhere,
                &[(&oid("o"), blob.as_slice())],
                &none,
                None,
                &none
            )
            .is_err()
    );
    assert_eq!(on_disk(&path).len(), held);
    vault.end_session(&session).unwrap();
    let last = on_disk(&path);
    assert_eq!(last.len(), held + 2, "the denial and the session end");
    assert_eq!(last.last(), Some(&EventKind::SessionEnd));
}
