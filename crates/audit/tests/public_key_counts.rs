//! What a public-key-only verification counts as passed once it finds damage (review rounds
//! 18 and 19): only the records under a verified checkpoint or the matched anchor, also when
//! the damage is a cut found against the anchor; and a matched anchor is never blamed for a
//! checkpoint deleted after it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use common::{event, frames, options, public_key, reseal};
use hexvault_audit::{Anchor, AuditKey, AuditLog, Damage, Durability, FileLog, Verifier};

/// src/verify.rs (the `Verifier` table, `Verifier::public_key`): "on any damage, no record
/// after the last verified checkpoint counts as passed"; docs/formats.md and the round-18
/// CHANGELOG say the same. The rule is applied in `ChainCheck::report` only to damage found
/// while walking; `Damage::Truncated`, added afterwards by `Verifier::finish`, keeps
/// `records` at every record read. Here a log (checkpoint every 8, anchored at 19) has record
/// 10 edited (its stored chain value kept, frame checksums recomputed) and is cut after
/// record 12: the keyed verifier names record 10; the public-key verifier with the anchor
/// reports the cut with 13 records passed, the edited one among them (only 0..=7 are under
/// a verified checkpoint).
#[test]
fn a_cut_log_counts_no_unverified_record_as_passed_with_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let log = FileLog::create(&path, options(8, Durability::EveryRecord)).unwrap();
    for i in 0..20 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let anchor = Anchor::read(Anchor::path_for(&path)).unwrap();
    assert_eq!(anchor.sequence().get(), 19);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let r10 = *f.iter().find(|x| !x.is_checkpoint && x.seq == 10).unwrap();
    let r12 = *f.iter().find(|x| !x.is_checkpoint && x.seq == 12).unwrap();
    let mut bad = bytes[..r12.end].to_vec();
    bad[r10.start + 9 + 16] ^= 0x01;
    reseal(&mut bad, r10.start, r10.end);
    let keyed = Verifier::keyed(&AuditKey::from_bytes(common::KEY))
        .with_public_key(public_key())
        .with_anchor(anchor.clone())
        .verify_bytes(&bad)
        .unwrap();
    let keyed_failure = keyed.failure.unwrap();
    assert_eq!(
        (
            keyed_failure.sequence.get(),
            keyed_failure.reason,
            keyed.records
        ),
        (10, Damage::ChainMismatch, 10)
    );
    let report = Verifier::public_key(public_key())
        .with_anchor(anchor)
        .verify_bytes(&bad)
        .unwrap();
    assert!(report.failure.is_some(), "{report}");
    assert!(
        report.records <= 8,
        "public-key verification found damage ({:?}) yet counts {} records as passed, \
         record 10 (edited) among them; only 0..=7 are under a verified checkpoint",
        report.failure,
        report.records
    );
}

/// src/error.rs (`Damage::MissingCheckpoint`): with the public key only it is charged "to the
/// first record after the previous checkpoint, since the missing one alone covered them";
/// `Verifier::with_anchor`: "A matched anchor counts as a checkpoint". Here the interval
/// checkpoint after record 15 is deleted and nothing else: the kept anchor (the checkpoint
/// at 15) still matches, so records 0..=15 are proven intact, and the keyed verifier charges
/// record 15. The public-key verifier with that anchor ignores the matched anchor, charges
/// the removal to record 8 and counts only 8 records as passed (while reporting its last
/// checkpoint at 15): an attacker who deletes one checkpoint frame makes it blame the honest,
/// anchored records 8..=15.
#[test]
fn a_deleted_checkpoint_is_not_blamed_on_records_a_matched_anchor_proved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let log = FileLog::create(&path, options(8, Durability::EveryRecord)).unwrap();
    for i in 0..16 {
        log.append(event(i)).unwrap();
    }
    let anchor = Anchor::read(Anchor::path_for(&path)).unwrap();
    assert_eq!(anchor.sequence().get(), 15);
    for i in 16..20 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let cp15 = *f.iter().find(|x| x.is_checkpoint && x.seq == 15).unwrap();
    let mut bad = bytes[..cp15.start].to_vec();
    bad.extend_from_slice(&bytes[cp15.end..]);
    let keyed = Verifier::keyed(&AuditKey::from_bytes(common::KEY))
        .with_public_key(public_key())
        .with_anchor(anchor.clone())
        .verify_bytes(&bad)
        .unwrap();
    let keyed_failure = keyed.failure.unwrap();
    assert_eq!(
        (keyed_failure.sequence.get(), keyed_failure.reason),
        (15, Damage::MissingCheckpoint)
    );
    let report = Verifier::public_key(public_key())
        .with_anchor(anchor)
        .verify_bytes(&bad)
        .unwrap();
    let failure = report.failure.unwrap();
    assert!(
        failure.sequence.get() >= 15 && report.records >= 15,
        "the public-key verifier charges {:?} to record {} and counts {} records as passed \
         (last checkpoint reported: {:?}), though the matched anchor proved records 0..=15",
        failure.reason,
        failure.sequence.get(),
        report.records,
        report.last_checkpoint
    );
}
