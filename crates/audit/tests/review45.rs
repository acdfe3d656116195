//! Review round 45 findings (each test fails on the code it was written against).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use common::{KEY, event, frames};
use hexvault_audit::{AuditKey, AuditLog, Durability, FileLog, LogOptions, Sequence, Verifier};

/// docs/formats.md:476 ("Damage is charged to a sequence number: a record's own; ...") and
/// crates/audit/src/verify.rs:274-278 ("An unreadable frame is taken for a checkpoint when
/// one is due there by the log's checkpoint interval").
///
/// A keyed log with a checkpoint interval but no signing key writes no checkpoint: its
/// records legitimately follow one another at the interval's positions. Since review round
/// 42, `ChainCheck::charge` takes any damaged frame at such a position for the checkpoint
/// "due" there, whatever its (readable) type byte says, without asking whether the log is
/// signed (`record` does ask: `self.signed && self.checkpoint_missing()`). A record whose
/// payload is damaged (head intact, frame checksum fails) is then charged to the intact
/// record before it.
#[test]
#[ignore = "review45 finding"]
fn a_damaged_record_of_an_unsigned_log_with_an_interval_is_charged_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let options = LogOptions::keyed(&AuditKey::from_bytes(KEY))
        .checkpoint_every(2)
        .durability(Durability::EveryRecord);
    let log = FileLog::create(&path, options).unwrap();
    for i in 0..4 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    assert_eq!(f.len(), 4, "no checkpoint is written without a signing key");
    assert!(!f[2].is_checkpoint && f[2].seq == 2);
    // One payload byte of record 2 flipped: the frame checksum fails, the head is intact.
    let mut bad = bytes.clone();
    bad[f[2].start + 12] ^= 0x01;
    let failure = Verifier::keyed(&AuditKey::from_bytes(KEY))
        .verify_bytes(&bad)
        .unwrap()
        .failure
        .unwrap();
    assert_eq!(
        failure.sequence,
        Sequence::new(2),
        "the damaged record is record 2, got {failure}"
    );
}
