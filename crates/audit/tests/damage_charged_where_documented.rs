//! Damage charged to the sequence number the docs name (review round 42): an unreadable
//! frame where an interval checkpoint is due is charged to the record it follows whatever
//! its type byte says, and without the audit key a matched anchor counts as a checkpoint
//! for a public-chain mismatch after it (charged to the first record after the anchor, the
//! records under the anchor still pass).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use common::{KEY, build, event, frames, keyed, options, public_key, reseal_checksum, reseal_head};
use hexvault_audit::{
    AuditKey, AuditLog, Damage, Durability, FileLog, LogOptions, Sequence, Verifier,
};

/// docs/formats.md: a frame whose head is unreadable is charged to the record it follows
/// when its type byte says checkpoint or one is due there by the interval. An interval
/// checkpoint frame whose type byte was edited from `02` to `01` (head check left as it
/// was) is charged to the record it follows (1), with either verifier (review round 42: it
/// was charged to the next record, 2); with the head check recomputed too, the frame
/// checksum fails there; with both recomputed, the checkpoint due is missing.
#[test]
fn an_interval_checkpoint_whose_type_byte_says_record_is_charged_to_the_record_it_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 3, 2);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    // r0, r1, cp(1), r2, cp(2)
    assert!(f[2].is_checkpoint && f[2].seq == 1);
    let mut bad = bytes.clone();
    bad[f[2].start] = 0x01;
    for verifier in [keyed(), Verifier::public_key(public_key())] {
        let failure = verifier.verify_bytes(&bad).unwrap().failure.unwrap();
        assert_eq!(
            failure.sequence,
            Sequence::new(1),
            "an unreadable frame where a checkpoint is due is charged to the record it \
             follows, got {failure}"
        );
    }
    // The same edit with the head check recomputed (anyone can): a readable head saying
    // "record" where a checkpoint is due, whose frame checksum fails, is charged there too;
    // and with the frame checksum recomputed as well, the checkpoint due is missing:
    // charged there with the key, and without it to the first record the missing
    // checkpoint would have covered (record 0: nothing else covered records 0 and 1).
    let mut resealed = bad.clone();
    reseal_head(&mut resealed, f[2].start);
    let mut whole = resealed.clone();
    reseal_checksum(&mut whole, f[2].start, f[2].end);
    for (bytes, reason, without_key) in [
        (&resealed, Damage::FrameChecksum, 1),
        (&whole, Damage::MissingCheckpoint, 0),
    ] {
        for (verifier, at) in [
            (keyed(), 1),
            (Verifier::public_key(public_key()), without_key),
        ] {
            let failure = verifier.verify_bytes(bytes).unwrap().failure.unwrap();
            assert_eq!(
                (failure.sequence, &failure.reason),
                (Sequence::new(at), &reason)
            );
        }
    }
}

/// The `Verifier` table (public key): a change is charged to the first record after the
/// previous checkpoint, a matched anchor counting as one, and the records under the matched
/// anchor pass. A kept anchor at record 4, the on-demand checkpoint frame at 4 removed from
/// the file (optional, so not damage), record 6 edited with its stored chain value kept: the
/// public chain fails to reach the checkpoint at 9, charged to 5, with records 0..=4 passed
/// (review round 42: charged to 0, nothing passed).
#[test]
fn a_public_chain_mismatch_after_a_matched_anchor_is_charged_after_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let log = FileLog::create(&path, options(0, Durability::EveryRecord)).unwrap();
    for i in 0..5 {
        log.append(event(i)).unwrap();
    }
    let kept = log.checkpoint_and_anchor().unwrap().unwrap();
    assert_eq!(kept.sequence(), Sequence::new(4));
    for i in 5..10 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    // r0..r4, cp(4), r5..r9, cp(9)
    assert!(f[5].is_checkpoint && f[5].seq == 4);
    let mut cut = bytes[..f[5].start].to_vec();
    cut.extend_from_slice(&bytes[f[5].end..]);
    // Removing the on-demand checkpoint is not damage.
    let pk = || Verifier::public_key(public_key()).with_anchor(kept.clone());
    let clean = pk().verify_bytes(&cut).unwrap();
    assert!(clean.is_ok() && clean.records == 10, "{clean}");
    // Edit record 6's timestamp, keep its stored chain value, reseal the frame checksum.
    let g = frames(&cut);
    let r6 = g.iter().find(|x| !x.is_checkpoint && x.seq == 6).unwrap();
    let mut bad = cut.clone();
    bad[r6.start + 9 + 1 + 8 + 7] ^= 0x01;
    reseal_checksum(&mut bad, r6.start, r6.end);
    assert_eq!(
        keyed()
            .verify_bytes(&bad)
            .unwrap()
            .failure
            .unwrap()
            .sequence,
        Sequence::new(6)
    );
    let report = pk().verify_bytes(&bad).unwrap();
    let failure = report.failure.unwrap();
    assert_eq!(
        failure.reason,
        Damage::PublicChainMismatch {
            through: Sequence::new(9)
        }
    );
    assert_eq!(
        (failure.sequence, report.records),
        (Sequence::new(5), 5),
        "the matched anchor at 4 counts as a checkpoint: {report}"
    );
}

/// A damaged record is charged to itself (docs/formats.md) in a keyed log with a checkpoint
/// interval but no signing key: such a log writes no checkpoint, so no checkpoint is due
/// at the interval's positions (review round 45: the rule above, applied without asking
/// whether the log is signed, charged record 2's damage to the intact record 1).
#[test]
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

/// docs/formats.md ("Damage is charged"): with the public key only, a link that does not
/// follow is charged to the first record after the previous checkpoint, since the previous
/// record's stored chain value (which only the audit key checks) may be what changed. Record
/// 5's stored chain value edited (frame checksum recomputed): the keyed verifier names 5,
/// the public-key verifier 4 (the checkpoint over 3 is the previous one), never the unchanged
/// record 6 (review round 53), with records 0..=3 passed.
#[test]
fn an_edited_stored_chain_value_is_charged_no_later_than_its_record_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let bytes = std::fs::read(&path).unwrap();
    let record = *frames(&bytes)
        .iter()
        .find(|f| !f.is_checkpoint && f.seq == 5)
        .unwrap();
    let mut bad = bytes.clone();
    // The stored chain value is the last 32 bytes of the payload, before the 8-byte sum.
    bad[record.end - 9] ^= 1;
    reseal_checksum(&mut bad, record.start, record.end);
    let keyed_failure = keyed().verify_bytes(&bad).unwrap().failure.unwrap();
    assert_eq!(
        (keyed_failure.sequence.get(), keyed_failure.reason),
        (5, Damage::ChainMismatch)
    );
    let report = Verifier::public_key(public_key())
        .verify_bytes(&bad)
        .unwrap();
    let failure = report.failure.unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (4, Damage::BrokenLink)
    );
    assert_eq!(report.records, 4);
}
