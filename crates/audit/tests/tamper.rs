//! Tamper matrix on a 1,000-record file log: flipped bytes, deleted, swapped and duplicated
//! records, forged records, truncation at every offset of the last two frames.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{FrameInfo, TestRng, event, frames, options, public_key};
use hexvault_audit::{
    AuditKey, AuditLog, Damage, Durability, Error, FileLog, Report, Sequence, Verifier, VerifyLevel,
};
use sha2::{Digest, Sha256};
use std::path::Path;

const N: u64 = 1000;
const EVERY: u64 = 100;

/// Builds the reference log once; returns its bytes.
fn build(dir: &Path) -> Vec<u8> {
    let path = dir.join("ref.log");
    let log = FileLog::create(
        &path,
        options(
            EVERY,
            Durability::GroupCommit {
                max_records: 256,
                max_delay: std::time::Duration::ZERO,
            },
        ),
    )
    .unwrap();
    for i in 0..N {
        assert_eq!(log.append(event(i)).unwrap().sequence.get(), i);
    }
    log.close().unwrap();
    std::fs::read(&path).unwrap()
}

/// Writes `bytes` as log `name` (without the anchor of an earlier case) and opens it.
fn open_bytes(dir: &Path, name: &str, bytes: &[u8]) -> hexvault_audit::Result<(FileLog, Report)> {
    let path = dir.join(name);
    let _ = std::fs::remove_file(hexvault_audit::Anchor::path_for(&path));
    std::fs::write(&path, bytes).unwrap();
    FileLog::open(&path, options(EVERY, Durability::EveryRecord))
}

fn expect_damage(dir: &Path, bytes: &[u8], seq: u64, what: &str) -> Damage {
    match open_bytes(dir, "case.log", bytes) {
        Err(Error::Damaged { sequence, reason }) => {
            assert_eq!(
                sequence,
                Sequence::new(seq),
                "{what}: wrong sequence ({reason})"
            );
            // The offline verifier agrees with open.
            let report = Verifier::keyed(&AuditKey::from_bytes(common::KEY))
                .with_public_key(public_key())
                .verify_bytes(bytes)
                .unwrap();
            let failure = report.failure.expect("verifier missed damage");
            assert_eq!(
                (failure.sequence, failure.reason),
                (sequence, reason),
                "{what}"
            );
            reason
        }
        Err(e) => panic!("{what}: expected Damaged at {seq}, got error {e}"),
        Ok((_, report)) => panic!("{what}: expected Damaged at {seq}, opened fine: {report}"),
    }
}

fn splice(bytes: &[u8], f: &[FrameInfo], order: &[usize]) -> Vec<u8> {
    let mut out = bytes[..hexvault_audit::HEADER_LEN].to_vec();
    for &i in order {
        out.extend_from_slice(&bytes[f[i].start..f[i].end]);
    }
    out
}

fn record_index(f: &[FrameInfo], seq: u64) -> usize {
    f.iter()
        .position(|x| !x.is_checkpoint && x.seq == seq)
        .unwrap()
}

#[test]
fn tamper_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = build(dir.path());
    let f = frames(&bytes);
    assert_eq!(f.len() as u64, N + N / EVERY);
    assert!(f.last().unwrap().is_checkpoint);

    // The untouched log opens cleanly and is fully anchored.
    let (log, report) = open_bytes(dir.path(), "clean.log", &bytes).unwrap();
    assert!(report.is_ok() && report.torn_tail.is_none(), "{report}");
    assert_eq!(
        (
            report.records,
            report.checkpoints,
            report.unanchored_records()
        ),
        (N, N / EVERY, 0)
    );
    assert_eq!(log.len(), N);
    drop(log);

    // 1. Flip 200 random bytes, one at a time (fixed seed), anywhere in the file.
    let mut rng = TestRng(0x5EED_A0D1_7000_0001);
    let mut header_hits = 0;
    let mut reasons = std::collections::BTreeMap::new();
    let mut resealed = std::collections::BTreeMap::new();
    for _ in 0..200 {
        let off = rng.below(bytes.len() as u64) as usize;
        let bit = 1u8 << rng.below(8);
        let mut bad = bytes.clone();
        bad[off] ^= bit;
        if off < hexvault_audit::HEADER_LEN {
            header_hits += 1;
            assert!(
                matches!(
                    open_bytes(dir.path(), "case.log", &bad),
                    Err(Error::NotAuditLog)
                ),
                "header flip at {off}"
            );
            continue;
        }
        let frame = f.iter().find(|x| x.start <= off && off < x.end).unwrap();
        let reason = expect_damage(
            dir.path(),
            &bad,
            frame.seq,
            &format!("flip at {off} in {frame:?}"),
        );
        *reasons.entry(format!("{reason:?}")).or_insert(0) += 1;
        // The same flip by an attacker who also recomputes the frame checksum: the chain
        // (or the checkpoint check) must still catch it at the same sequence number.
        if (frame.start + 9..frame.end - 8).contains(&off) {
            reseal_frame(&mut bad, frame);
            let mut seq = frame.seq;
            let cp_seq_field = frame.start + 9 + 18..frame.start + 9 + 26;
            if frame.is_checkpoint && cp_seq_field.contains(&off) {
                let claimed = u64::from_be_bytes(bad[cp_seq_field].try_into().unwrap());
                if claimed > frame.seq {
                    seq = frame.seq + 1; // a checkpoint ahead of the records: the next one is missing
                }
            }
            let reason = expect_damage(
                dir.path(),
                &bad,
                seq,
                &format!("resealed flip at {off} in {frame:?}"),
            );
            let name = format!("{reason:?}");
            let name = name.split(' ').next().unwrap().to_owned();
            *resealed.entry(name).or_insert(0) += 1;
        }
    }
    eprintln!("flips: {header_hits} in header, by reason {reasons:?}; resealed: {resealed:?}");

    // Every header byte, flipped, makes the file "not an audit log" (no record is trusted).
    for off in 0..hexvault_audit::HEADER_LEN {
        let mut bad = bytes.clone();
        bad[off] ^= 0x01;
        assert!(
            matches!(
                open_bytes(dir.path(), "case.log", &bad),
                Err(Error::NotAuditLog)
            ),
            "header flip at {off}"
        );
    }

    // 2. Delete a record in the middle, and one right before a checkpoint.
    let all: Vec<usize> = (0..f.len()).collect();
    let del = |seq| {
        let i = record_index(&f, seq);
        all.iter().copied().filter(|&j| j != i).collect::<Vec<_>>()
    };
    let r = expect_damage(
        dir.path(),
        &splice(&bytes, &f, &del(500)),
        500,
        "delete 500",
    );
    assert_eq!(
        r,
        Damage::UnexpectedSequence {
            found: Sequence::new(501)
        }
    );
    let r = expect_damage(
        dir.path(),
        &splice(&bytes, &f, &del(599)),
        599,
        "delete 599",
    );
    assert_eq!(r, Damage::CheckpointMismatch);

    // 3. Swap two records.
    let mut order = all.clone();
    order.swap(record_index(&f, 300), record_index(&f, 301));
    let r = expect_damage(dir.path(), &splice(&bytes, &f, &order), 300, "swap 300/301");
    assert_eq!(
        r,
        Damage::UnexpectedSequence {
            found: Sequence::new(301)
        }
    );
    let mut order = all.clone();
    order.swap(record_index(&f, 10), record_index(&f, 900));
    expect_damage(dir.path(), &splice(&bytes, &f, &order), 10, "swap 10/900");

    // 4. Duplicate a record (a replayed copy right after it, and one at the end).
    let mut order = all.clone();
    order.insert(record_index(&f, 700) + 1, record_index(&f, 700));
    let r = expect_damage(
        dir.path(),
        &splice(&bytes, &f, &order),
        701,
        "duplicate 700",
    );
    assert_eq!(
        r,
        Damage::UnexpectedSequence {
            found: Sequence::new(700)
        }
    );
    let mut order = all.clone();
    order.push(record_index(&f, 3));
    expect_damage(
        dir.path(),
        &splice(&bytes, &f, &order),
        N,
        "duplicate 3 at end",
    );

    // 5. A duplicated checkpoint frame is refused too.
    let mut order = all.clone();
    order.insert(record_index(&f, 199) + 2, record_index(&f, 199) + 1);
    expect_damage(
        dir.path(),
        &splice(&bytes, &f, &order),
        199,
        "duplicate checkpoint 199",
    );
}

/// Recomputes a frame's checksum the way an attacker (or `docs/formats.md`) would.
fn reseal_frame(bytes: &mut [u8], fr: &FrameInfo) {
    let head = bytes[fr.start..fr.start + 5].to_vec();
    let payload = bytes[fr.start + 9..fr.end - 8].to_vec();
    let sum = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame")
        .chain_update(&head)
        .chain_update(&payload)
        .finalize();
    bytes[fr.end - 8..fr.end].copy_from_slice(&sum[..8]);
}

#[test]
fn forged_record_with_valid_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = build(dir.path());
    let f = frames(&bytes);
    let fr = f[record_index(&f, 42)];
    // Change the record's timestamp (bytes 9..17 of the record encoding) and reseal the frame.
    let mut bad = bytes.clone();
    bad[fr.start + 9 + 9] ^= 0x01;
    reseal_frame(&mut bad, &fr);
    assert_eq!(
        expect_damage(dir.path(), &bad, 42, "forged 42"),
        Damage::ChainMismatch
    );

    // Without the audit key, the checkpoint over 99 signs the public chain, which the edit
    // changed: the failure names the range 0..=99 that holds record 42, and no record of
    // it counts as verified.
    let report = Verifier::public_key(public_key())
        .verify_bytes(&bad)
        .unwrap();
    assert_eq!(report.level, VerifyLevel::PublicKeyOnly);
    let failure = report.failure.unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (
            0,
            Damage::PublicChainMismatch {
                through: Sequence::new(99)
            }
        )
    );
    assert_eq!(report.records, 0);
    // A forged checkpoint is refused too.
    let cp = *f.iter().find(|x| x.is_checkpoint && x.seq == 499).unwrap();
    let mut bad = bytes.clone();
    bad[cp.start + 9 + 1 + 1 + 16 + 8] ^= 0x80; // first chain byte of the checkpoint
    reseal_frame(&mut bad, &cp);
    let failure = Verifier::public_key(public_key())
        .verify_bytes(&bad)
        .unwrap()
        .failure
        .unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (499, Damage::CheckpointMismatch)
    );
    let mut bad = bytes.clone();
    bad[cp.end - 8 - 1] ^= 0x01; // last signature byte
    reseal_frame(&mut bad, &cp);
    let failure = Verifier::public_key(public_key())
        .verify_bytes(&bad)
        .unwrap()
        .failure
        .unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (499, Damage::CheckpointSignature)
    );
    // A different trusted key: the log's recorded key is not it, refused up front.
    let other = hexvault_audit::SigningKey::from_bytes(&[1; 32]).verifying_key();
    assert!(matches!(
        Verifier::public_key(other).verify_bytes(&bytes),
        Err(Error::UntrustedHeaderKey)
    ));
}

#[test]
fn truncation_of_last_two_frames() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = build(dir.path());
    let f = frames(&bytes);
    let (rec, cp) = (f[f.len() - 2], f[f.len() - 1]);
    assert!(!rec.is_checkpoint && cp.is_checkpoint && rec.seq == N - 1);
    for cut in rec.start..bytes.len() {
        let (log, report) = open_bytes(dir.path(), "cut.log", &bytes[..cut])
            .unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let boundary = cut == rec.start || cut == cp.start;
        assert_eq!(report.torn_tail.is_some(), !boundary, "cut {cut}: {report}");
        if let Some(t) = report.torn_tail {
            let valid = if cut < cp.start { rec.start } else { cp.start };
            assert_eq!((t.offset as usize, t.len as usize), (valid, cut - valid));
        }
        let records = if cut < cp.start { N - 1 } else { N };
        assert_eq!(report.records, records, "cut {cut}");
        assert!(report.is_ok());
        // The tail past the last checkpoint (899) is reported by the checkpoint check.
        assert_eq!(report.last_checkpoint, Some(Sequence::new(899)));
        assert_eq!(report.unanchored_records(), records - 900);
        assert_eq!(report.first_unanchored(), Some(Sequence::new(900)));
        // The torn tail was truncated back on disk; with all N records present, open
        // re-signed the interval checkpoint over N - 1 (a frame as long as the original).
        let on_disk = std::fs::metadata(dir.path().join("cut.log")).unwrap().len() as usize;
        assert_eq!(on_disk, if cut < cp.start { rec.start } else { cp.end });
        drop(log); // closing checkpoints the tail again
        let strict = Verifier::keyed(&AuditKey::from_bytes(common::KEY))
            .with_public_key(public_key())
            .require_anchored_tail(true);
        let again = strict.verify_file(dir.path().join("cut.log")).unwrap();
        assert!(
            again.is_ok() && again.unanchored_records() == 0,
            "cut {cut}: {again}"
        );
        let strict_cut = strict.verify_bytes(&bytes[..cut]).unwrap();
        let failure = strict_cut.failure.unwrap();
        assert_eq!(
            (failure.sequence.get(), failure.reason),
            (900, Damage::UnanchoredTail),
            "cut {cut}"
        );
    }
    // Truncating whole records further back is also only visible to the checkpoint check.
    let cut = f[record_index(&f, 950)].start;
    let strict = Verifier::public_key(public_key()).require_anchored_tail(true);
    let failure = strict.verify_bytes(&bytes[..cut]).unwrap().failure.unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (900, Damage::UnanchoredTail)
    );
}

#[test]
fn repaired_log_keeps_appending() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = build(dir.path());
    let f = frames(&bytes);
    let rec = f[f.len() - 2];
    let (log, report) = open_bytes(dir.path(), "r.log", &bytes[..rec.start + 20]).unwrap();
    assert!(report.torn_tail.is_some());
    assert_eq!(log.append(event(0)).unwrap().sequence.get(), N - 1);
    log.close().unwrap();
    let (_, report) = FileLog::open(
        dir.path().join("r.log"),
        options(EVERY, Durability::EveryRecord),
    )
    .unwrap();
    assert!(report.is_ok() && report.torn_tail.is_none() && report.records == N);
}

#[test]
fn zero_filled_tail_is_torn_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = build(dir.path());
    bytes.extend_from_slice(&[0; 4096]);
    let (_, report) = open_bytes(dir.path(), "z.log", &bytes).unwrap();
    assert_eq!(report.torn_tail.map(|t| t.len), Some(4096));
    assert_eq!(report.records, N);
}

#[test]
fn wrong_keys_mode_lock_and_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.log");
    let log = FileLog::create(&path, options(10, Durability::EveryRecord)).unwrap();
    log.append(event(1)).unwrap();
    // A second writer, in this process or another, is refused while the first holds the lock.
    assert!(matches!(
        FileLog::open(&path, options(10, Durability::EveryRecord)),
        Err(Error::Locked { .. })
    ));
    assert!(matches!(
        FileLog::create(&path, options(10, Durability::EveryRecord)),
        Err(Error::AlreadyExists { .. })
    ));
    drop(log);
    let wrong = hexvault_audit::LogOptions::keyed(&AuditKey::from_bytes([0; 32]))
        .signing_seed(common::SEED);
    assert!(matches!(FileLog::open(&path, wrong), Err(Error::WrongKey)));
    assert!(matches!(
        Verifier::keyed(&AuditKey::from_bytes([0; 32])).verify_file(&path),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        FileLog::open(&path, hexvault_audit::LogOptions::unkeyed()),
        Err(Error::ModeMismatch { .. })
    ));
    assert!(matches!(
        Verifier::unkeyed().verify_file(&path),
        Err(Error::ModeMismatch { .. })
    ));
    let other_signer =
        hexvault_audit::LogOptions::keyed(&AuditKey::from_bytes(common::KEY)).signing_seed([3; 32]);
    assert!(matches!(
        FileLog::open(&path, other_signer),
        Err(Error::SigningKeyMismatch)
    ));
    let no_signer = hexvault_audit::LogOptions::keyed(&AuditKey::from_bytes(common::KEY));
    assert!(matches!(
        FileLog::open(&path, no_signer),
        Err(Error::NoSigningKey)
    ));
    assert!(matches!(
        Verifier::unkeyed().verify_bytes(b"not a log"),
        Err(Error::NotAuditLog)
    ));
}

#[test]
fn unkeyed_log_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.log");
    let opts = || {
        hexvault_audit::LogOptions::unkeyed()
            .signing_seed(common::SEED)
            .checkpoint_every(5)
    };
    let log = FileLog::create(&path, opts()).unwrap();
    for i in 0..12 {
        log.append(event(i)).unwrap();
    }
    assert_eq!(log.checkpoint().unwrap().unwrap().sequence.get(), 11);
    assert!(log.verify().unwrap().is_ok());
    drop(log);
    let report = Verifier::unkeyed()
        .with_public_key(public_key())
        .verify_file(&path)
        .unwrap();
    assert!(
        report.is_ok() && report.level == VerifyLevel::Unkeyed && report.checkpoints == 3,
        "{report}"
    );
    // Public-key-only verification of an unkeyed log recomputes the chain as well.
    let mut bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let fr = f[record_index(&f, 2)];
    bytes[fr.start + 9 + 9] ^= 1;
    reseal_frame(&mut bytes, &fr);
    let failure = Verifier::public_key(public_key())
        .verify_bytes(&bytes)
        .unwrap()
        .failure
        .unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (2, Damage::ChainMismatch)
    );
}

#[test]
fn contents_lists_records_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = build(dir.path());
    let c = hexvault_audit::LogContents::parse(&bytes).unwrap();
    assert_eq!(c.entries.len() as u64, N + N / EVERY);
    assert_eq!(c.public_key, Some(public_key()));
    assert_eq!(c.checkpoint_every, EVERY as u32);
    match &c.entries[5] {
        hexvault_audit::LogEntry::Record { record, .. } => {
            assert_eq!(record.sequence.get(), 5);
            assert_eq!(record.event, event(5));
        }
        other => panic!("expected a record, got {other:?}"),
    }
    assert!(
        matches!(&c.entries[100], hexvault_audit::LogEntry::Checkpoint(cp) if cp.sequence.get() == 99)
    );
    let torn = hexvault_audit::LogContents::parse(&bytes[..bytes.len() - 3]).unwrap();
    assert!(torn.torn_tail.is_some() && torn.entries.len() == c.entries.len() - 1);
}

/// Review round 16: with the public key only, the records since the last checkpoint are not
/// checked one by one, so an edit among them is charged to the first record after the
/// previous checkpoint and none of them counts as passed; an anchor (what `hexvault audit
/// verify` uses on a vault's log) must not change that by reporting its own sequence with
/// every record before it counted as passed.
#[test]
fn public_key_verify_with_an_anchor_charges_an_edit_to_the_first_unchecked_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let log = FileLog::create(&path, options(0, Durability::EveryRecord)).unwrap();
    for i in 0..10 {
        log.append(event(i)).unwrap();
    }
    let anchor = log.checkpoint_and_anchor().unwrap().unwrap();
    log.close().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let fr = *f.iter().find(|x| !x.is_checkpoint && x.seq == 3).unwrap();
    bytes[fr.start + 9 + 9] ^= 0x01; // record 3's timestamp
    reseal_frame(&mut bytes, &fr);
    let plain = Verifier::public_key(public_key())
        .verify_bytes(&bytes)
        .unwrap();
    let f0 = plain.failure.unwrap();
    assert_eq!((f0.sequence.get(), plain.records), (0, 0), "{f0}");
    let anchored = Verifier::public_key(public_key())
        .with_anchor(anchor.clone())
        .verify_bytes(&bytes)
        .unwrap();
    let fa = anchored.failure.unwrap();
    assert_eq!(
        (fa.sequence.get(), anchored.records),
        (0, 0),
        "with an anchor: charged to sequence {} ({}), {} records counted as passed",
        fa.sequence,
        fa.reason,
        anchored.records
    );
    assert!(
        matches!(fa.reason, Damage::PublicChainMismatch { .. }),
        "{fa}"
    );
    // Keyed, the edited record itself is named, anchor or not.
    let keyed = Verifier::keyed(&AuditKey::from_bytes(common::KEY))
        .with_public_key(public_key())
        .with_anchor(anchor)
        .verify_bytes(&bytes)
        .unwrap();
    let fk = keyed.failure.unwrap();
    assert_eq!((fk.sequence.get(), keyed.records), (3, 3), "{fk}");
}
