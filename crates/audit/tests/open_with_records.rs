//! `FileLog::open_with_records`: the records handed back are exactly the log's, decoded from
//! the bytes the open verified; a log that does not verify hands back nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::{Path, PathBuf};

use common::{event, frames, options};
use hexvault_audit::{Anchor, AuditLog, AuditRecord, Durability, Error, FileLog, LogContents};

/// A signed log of `n` records with a checkpoint every 4, closed.
fn build(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("records.log");
    let log = FileLog::create(&path, options(4, Durability::EveryRecord)).unwrap();
    for i in 0..n {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    path
}

/// The records of a log image, read by the unverified reader.
fn unverified_records(bytes: &[u8]) -> Vec<AuditRecord> {
    LogContents::parse(bytes).unwrap().into_records()
}

#[test]
fn the_records_are_the_logs_in_sequence_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10);
    let bytes = std::fs::read(&path).unwrap();
    let opened = FileLog::open_with_records(&path, options(4, Durability::EveryRecord)).unwrap();
    assert_eq!(opened.records.len(), 10);
    let sequences: Vec<u64> = opened.records.iter().map(|r| r.sequence.get()).collect();
    assert_eq!(sequences, (0..10).collect::<Vec<_>>());
    assert_eq!(opened.records, unverified_records(&bytes));
    assert!(opened.report.is_ok());
    // The log goes on from where the records end.
    assert_eq!(opened.log.append(event(10)).unwrap().sequence.get(), 10);
}

#[test]
fn open_or_create_with_records_creates_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.log");
    let opened =
        FileLog::open_or_create_with_records(&path, options(4, Durability::EveryRecord)).unwrap();
    assert!(opened.records.is_empty());
    opened.log.append(event(0)).unwrap();
    opened.log.close().unwrap();
    let reopened =
        FileLog::open_or_create_with_records(&path, options(4, Durability::EveryRecord)).unwrap();
    assert_eq!(reopened.records.len(), 1);
}

/// A torn final frame is cut off and quarantined: it is not among the records.
#[test]
fn a_torn_final_record_is_not_handed_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10);
    let bytes = std::fs::read(&path).unwrap();
    let last = *frames(&bytes)
        .iter()
        .find(|f| !f.is_checkpoint && f.seq == 9)
        .unwrap();
    std::fs::write(&path, &bytes[..last.start + 30]).unwrap();
    std::fs::remove_file(Anchor::path_for(&path)).unwrap();
    let opened = FileLog::open_with_records(&path, options(4, Durability::EveryRecord)).unwrap();
    assert!(opened.report.torn_tail.is_some());
    assert_eq!(opened.records.len(), 9);
    assert_eq!(opened.records, unverified_records(&bytes[..last.start]));
}

/// An attacker edits one byte of a record's payload (and nothing else): the open fails, so
/// no edited record is ever handed back.
#[test]
fn an_edited_record_fails_the_open_and_hands_back_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10);
    let bytes = std::fs::read(&path).unwrap();
    let record = *frames(&bytes)
        .iter()
        .find(|f| !f.is_checkpoint && f.seq == 5)
        .unwrap();
    for offset in [
        record.start + 8,
        (record.start + record.end) / 2,
        record.end - 1,
    ] {
        let mut edited = bytes.clone();
        edited[offset] ^= 0x01;
        std::fs::write(&path, &edited).unwrap();
        match FileLog::open_with_records(&path, options(4, Durability::EveryRecord)) {
            Err(Error::Damaged { .. }) => {}
            Err(other) => panic!("byte {offset}: unexpected error {other}"),
            Ok(opened) => panic!(
                "byte {offset}: an edited log opened with {} records",
                opened.records.len()
            ),
        }
    }
}

/// A log cut back behind its anchor (a whole record and checkpoint removed) fails too.
#[test]
fn a_log_cut_behind_its_anchor_hands_back_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10);
    let bytes = std::fs::read(&path).unwrap();
    let record = *frames(&bytes)
        .iter()
        .find(|f| !f.is_checkpoint && f.seq == 8)
        .unwrap();
    std::fs::write(&path, &bytes[..record.start]).unwrap();
    assert!(
        FileLog::open_with_records(&path, options(4, Durability::EveryRecord)).is_err(),
        "a cut log opened"
    );
}
