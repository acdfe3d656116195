//! A file log reopens what it wrote (review round 28): an unsigned log created with a
//! checkpoint interval, and a log torn by a crash inside a record whose ids hold
//! frame-shaped bytes (quarantined as a torn tail, not refused as forged); a refused
//! creation leaves no file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use hexvault_audit::{AuditKey, AuditLog, Durability, FileLog, LogOptions};

fn unsigned(every: u64) -> LogOptions {
    LogOptions::keyed(&AuditKey::from_bytes(common::KEY))
        .checkpoint_every(every)
        .durability(Durability::EveryRecord)
}

/// `crates/audit/src/file.rs:497-498` (`FileLog::open` docs): "[`Error::NoSigningKey`] (the log has
/// checkpoints but no signing key was given)". A log created without a signing key but with a
/// checkpoint interval (accepted by `create`, which then writes no checkpoint at all) cannot
/// be reopened once its record count is a multiple of the interval: open tries to sign the
/// "missing" interval checkpoint and fails with `NoSigningKey`, although the log has no
/// checkpoint and the options are exactly those it was created with.
#[test]
fn unsigned_log_with_interval_reopens_at_a_multiple_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.log");
    let log = FileLog::create(&path, unsigned(3)).unwrap();
    for i in 0..3 {
        log.append(common::event(i)).unwrap();
    }
    log.close().unwrap();
    let reopened = FileLog::open(&path, unsigned(3));
    assert!(
        reopened.is_ok(),
        "a valid unsigned log was refused on reopen: {:?}",
        reopened.err()
    );
}

/// `crates/audit/src/lib.rs:21-24`: "the only truncation is of a torn final frame on open,
/// after its bytes are saved to a quarantine file, and it is reported" and
/// `crates/audit/README.md:34-37` ("a torn final frame is moved to `<log>.torn-<offset>`
/// before it is cut off"); ADR 0036: a crash mid-write leaves a partial final frame that open
/// repairs. `torn_is_damage` (`crates/audit/src/format.rs:192-197`) calls a torn region
/// damage when a complete, checksummed frame starts at any offset inside it, but a record's
/// ids are opaque caller bytes (up to 256 each) and a complete frame is 18 bytes that anyone
/// can compute: a record whose partition, cell or context id carries one, torn by a crash
/// after that id, makes `FileLog::open` refuse the honest log (`ForgedTornTail`) instead of
/// quarantining the partial frame. Whoever names a cell or an actor can arm this.
#[test]
fn a_torn_record_whose_id_embeds_a_frame_is_repaired_not_damage() {
    use hexvault_audit::{CellId, Endpoint, Event, EventKind, KeyVersion, Layer, PartitionId};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let options = || LogOptions::keyed(&AuditKey::from_bytes(common::KEY));
    let log = FileLog::create(&path, options()).unwrap();
    log.append(common::event(0)).unwrap();
    log.append(common::event(1)).unwrap();
    let start = std::fs::metadata(&path).unwrap().len();
    // A partition id that happens to hold a complete frame (public checksums only).
    let mut embedded = Vec::new();
    hexvault_audit::write_frame(&mut embedded, hexvault_audit::FRAME_RECORD, b"x").unwrap();
    let ep = Endpoint::new(
        PartitionId::new(embedded.clone()).unwrap(),
        CellId::new("c").unwrap(),
        Layer(1),
        KeyVersion(1),
    );
    log.append(Event::new(EventKind::Open).source(ep)).unwrap();
    drop(log);
    // A crash while writing the third frame: only its first bytes reached the disk.
    // Payload offset of the source partition id: version 1, sequence 8, time 8, kind 2,
    // presence 1, length 2.
    let cut = start + 9 + 22 + embedded.len() as u64 + 4;
    assert!(cut < std::fs::metadata(&path).unwrap().len());
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(cut).unwrap();
    drop(f);
    match FileLog::open(&path, options()) {
        Ok((_log, report)) => {
            assert_eq!(report.records, 2);
            assert!(report.torn_tail.is_some());
        }
        Err(e) => panic!("an honest torn final frame was refused: {e}"),
    }
}

/// A creation refused for its options (an interval a file log cannot store) leaves no file:
/// the path stays free for a corrected `create` (review round 28, LOW: it left an empty file
/// that `open` then called no audit log and `create` found existing).
#[test]
fn a_refused_creation_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let refused = FileLog::create(&path, unsigned(u64::from(u32::MAX) + 1));
    assert!(
        matches!(refused, Err(hexvault_audit::Error::InvalidOption(_))),
        "{:?}",
        refused.err()
    );
    assert!(!path.exists(), "a refused creation left a file");
    FileLog::create(&path, unsigned(3)).unwrap();
}
