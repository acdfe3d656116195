//! Regression tests for issue 9 item 5: each is an attacker's edit that the format-1 code
//! accepted (public-key verification of an edited record, a header-key swap, a cut after a
//! checkpoint, a forged frame length, a removed interval checkpoint).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::path::PathBuf;

use common::{build, event, frames, keyed, options, public_key, reseal};
use hexvault_audit::{
    Anchor, AuditKey, AuditLog, Checkpoint, Damage, Durability, Error, FileLog, LogContents,
    LogEntry, Sequence, SigningKey, Verifier, VerifyLevel,
};
use sha2::{Digest, Sha256};

fn frame_bytes(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    hexvault_audit::write_frame(&mut out, kind, payload).unwrap();
    out
}

/// Item 5.1: a record edited with its stored chain value kept fails public-key verification,
/// charged to the first record after the previous checkpoint.
#[test]
fn public_key_verification_detects_an_edited_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 12, 4);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    assert!(
        Verifier::public_key(public_key())
            .verify_bytes(&bytes)
            .unwrap()
            .is_ok()
    );
    for (seq, first_of_segment, through) in [(4u64, 4u64, 7u64), (6, 4, 7), (0, 0, 3)] {
        let fr = *f.iter().find(|x| !x.is_checkpoint && x.seq == seq).unwrap();
        let mut bad = bytes.clone();
        // The record's timestamp (bytes 9..17 of the encoding): its last byte.
        bad[fr.start + 9 + 16] ^= 0x01;
        reseal(&mut bad, fr.start, fr.end);
        let report = Verifier::public_key(public_key())
            .verify_bytes(&bad)
            .unwrap();
        assert_eq!(report.level, VerifyLevel::PublicKeyOnly);
        let failure = report.failure.expect("edited record accepted");
        assert_eq!(
            (failure.sequence.get(), failure.reason),
            (
                first_of_segment,
                Damage::PublicChainMismatch {
                    through: Sequence::new(through)
                }
            ),
            "edit of {seq}"
        );
        assert_eq!(report.records, first_of_segment);
        // The keyed verifier names the record itself.
        let keyed_failure = keyed().verify_bytes(&bad).unwrap().failure.unwrap();
        assert_eq!(
            (keyed_failure.sequence.get(), keyed_failure.reason),
            (seq, Damage::ChainMismatch)
        );
    }
}

/// Rewrites the header's checkpoint key and header check, as anyone can.
fn swap_header_key(bytes: &mut [u8], key: &hexvault_audit::VerifyingKey) {
    bytes[43] = 1;
    bytes[44..76].copy_from_slice(key.as_bytes());
    let check = Sha256::new()
        .chain_update(b"hexvault-audit/v1/header")
        .chain_update(&bytes[..80])
        .finalize();
    bytes[80..88].copy_from_slice(&check[..8]);
}

/// Item 5.2: a log cut after checkpoint 3 and re-signed with an attacker's key, whose
/// header names that key, is refused: verification needs the caller's trusted key.
#[test]
fn truncated_log_re_signed_with_a_header_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let attacker = SigningKey::from_bytes(&[0xEE; 32]);
    // Keep records 0..=5; re-sign a checkpoint over 5 with the attacker's key (the stored
    // chain value and the public chain are computable without any secret).
    let last = *f.iter().find(|x| !x.is_checkpoint && x.seq == 5).unwrap();
    let mut forged = bytes[..last.end].to_vec();
    let c = LogContents::parse(&bytes).unwrap();
    let original = c
        .entries
        .iter()
        .find_map(|e| match e {
            LogEntry::Checkpoint(cp) if cp.sequence.get() == 3 => Some(cp.clone()),
            _ => None,
        })
        .unwrap();
    let chain5 = c
        .entries
        .iter()
        .find_map(|e| match e {
            LogEntry::Record { record, chain } if record.sequence.get() == 5 => Some(*chain),
            _ => None,
        })
        .unwrap();
    let mut public = original.public_chain.unwrap();
    for e in &c.entries {
        if let LogEntry::Record { record, .. } = e
            && (4..=5).contains(&record.sequence.get())
        {
            let enc = record.encode().unwrap();
            let next: [u8; 32] = Sha256::new()
                .chain_update(b"hexvault-audit/v3/public")
                .chain_update(public.as_bytes())
                .chain_update((enc.len() as u32).to_be_bytes())
                .chain_update(&enc)
                .finalize()
                .into();
            public = hexvault_audit::ChainValue::from_bytes(next);
        }
    }
    // Replace the genuine checkpoint over 3 by the attacker's, then add one over 5.
    let cp3 = *f.iter().find(|x| x.is_checkpoint && x.seq == 3).unwrap();
    let resigned3 = Checkpoint::sign(
        &attacker,
        original.log_id,
        original.mode,
        original.sequence,
        original.chain,
        original.public_chain.unwrap(),
    );
    let mut rebuilt = forged[..cp3.start].to_vec();
    rebuilt.extend(frame_bytes(
        hexvault_audit::FRAME_CHECKPOINT,
        &resigned3.encode(),
    ));
    rebuilt.extend_from_slice(&forged[cp3.end..]);
    forged = rebuilt;
    let cp5 = Checkpoint::sign(
        &attacker,
        original.log_id,
        original.mode,
        Sequence::new(5),
        chain5,
        public,
    );
    forged.extend(frame_bytes(hexvault_audit::FRAME_CHECKPOINT, &cp5.encode()));
    swap_header_key(&mut forged, &attacker.verifying_key());
    // Under the attacker's own key the forgery is consistent ...
    assert!(
        Verifier::public_key(attacker.verifying_key())
            .require_anchored_tail(true)
            .verify_bytes(&forged)
            .unwrap()
            .is_ok()
    );
    // ... but no verifier takes the header's key: without a trusted key it is an error ...
    let no_trusted = Verifier::keyed(&AuditKey::from_bytes(common::KEY)).verify_bytes(&forged);
    assert!(
        matches!(no_trusted, Err(Error::TrustedKeyRequired)),
        "{no_trusted:?}"
    );
    let msg = Error::TrustedKeyRequired.to_string();
    assert!(msg.contains("trusted"), "{msg}");
    // ... and with the operator's trusted key, the header's other key is refused.
    assert!(matches!(
        keyed().verify_bytes(&forged),
        Err(Error::UntrustedHeaderKey)
    ));
    assert!(matches!(
        Verifier::public_key(public_key()).verify_bytes(&forged),
        Err(Error::UntrustedHeaderKey)
    ));
}

/// Item 5.3: cutting the file right after a checkpoint passes every file-only check, but
/// the anchor (and a known minimum sequence) report the cut with the records missing.
#[test]
fn cut_after_a_checkpoint_is_reported_against_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let anchor_path = Anchor::path_for(&path);
    let anchor = Anchor::read(&anchor_path).unwrap();
    assert_eq!(anchor.sequence().get(), 9);
    assert_eq!(
        std::fs::read(&anchor_path).unwrap().len(),
        hexvault_audit::ANCHOR_LEN
    );
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let cp7 = *f.iter().find(|x| x.is_checkpoint && x.seq == 7).unwrap();
    let cut = &bytes[..cp7.end];
    // The file alone looks complete and anchored.
    let alone = keyed()
        .require_anchored_tail(true)
        .verify_bytes(cut)
        .unwrap();
    assert!(alone.is_ok() && alone.records == 8, "{alone}");
    // Against the anchor: two records missing, charged to the first one.
    let report = keyed()
        .require_anchored_tail(true)
        .with_anchor(anchor.clone())
        .verify_bytes(cut)
        .unwrap();
    let failure = report.failure.unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (8, Damage::Truncated { missing: 2 })
    );
    assert_eq!(report.missing_records(), 2);
    let public = Verifier::public_key(public_key())
        .with_anchor(anchor.clone())
        .verify_bytes(cut)
        .unwrap();
    assert_eq!(public.missing_records(), 2);
    let by_min = keyed()
        .min_sequence(Sequence::new(9))
        .verify_bytes(cut)
        .unwrap();
    assert_eq!(by_min.missing_records(), 2);
    // The whole log verifies against its anchor, which anchors its tail too.
    let whole = keyed()
        .with_anchor(anchor.clone())
        .verify_bytes(&bytes)
        .unwrap();
    assert!(
        whole.is_ok() && whole.last_checkpoint == Some(Sequence::new(9)),
        "{whole}"
    );
    // A writer reopening the cut log refuses it and leaves it alone.
    std::fs::write(&path, cut).unwrap();
    match FileLog::open(&path, options(4, Durability::EveryRecord)) {
        Err(Error::Damaged { sequence, reason }) => {
            assert_eq!(
                (sequence.get(), reason),
                (8, Damage::Truncated { missing: 2 })
            );
        }
        other => panic!("cut log opened: {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), cut);
    // An anchor of another log, or one signed by another key, is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Anchor::read(Anchor::path_for(&build(other_dir.path(), 4, 4))).unwrap();
    assert!(matches!(
        keyed().with_anchor(other).verify_bytes(&bytes),
        Err(Error::BadAnchor(_))
    ));
    let cp = anchor.checkpoint();
    let foreign = Anchor::new(Checkpoint::sign(
        &SigningKey::from_bytes(&[0xEE; 32]),
        cp.log_id,
        cp.mode,
        Sequence::new(50),
        cp.chain,
        cp.public_chain.unwrap(),
    ))
    .unwrap();
    assert!(matches!(
        keyed().with_anchor(foreign).verify_bytes(&bytes),
        Err(Error::BadAnchor(_))
    ));
}

/// A crash between a record and its interval checkpoint: open signs the missing checkpoint
/// before appending, so the repaired log keeps the interval rule (and reopening with
/// another interval is refused).
#[test]
fn open_restores_a_missing_interval_checkpoint_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 7, 4);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let rec7 = *f.iter().find(|x| !x.is_checkpoint && x.seq == 6).unwrap();
    // Records 0..=7 with checkpoint 3, then record 7 without its interval checkpoint.
    let log = FileLog::open(&path, options(4, Durability::EveryRecord))
        .unwrap()
        .0;
    log.append(event(7)).unwrap();
    drop(log);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let cp7 = *f.iter().find(|x| x.is_checkpoint && x.seq == 7).unwrap();
    assert!(cp7.start > rec7.end);
    std::fs::write(&path, &bytes[..cp7.start]).unwrap();
    std::fs::remove_file(Anchor::path_for(&path)).unwrap();
    // Reopening with another interval is refused: the writer never takes the interval
    // from the file, nor lets the options silently change it.
    assert!(matches!(
        FileLog::open(&path, options(1000, Durability::EveryRecord)),
        Err(Error::CheckpointIntervalMismatch {
            header: 4,
            options: 1000
        })
    ));
    let (log, _) = FileLog::open(&path, options(4, Durability::EveryRecord)).unwrap();
    for i in 8..13 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let report = keyed()
        .require_anchored_tail(true)
        .verify_file(&path)
        .unwrap();
    assert!(report.is_ok() && report.records == 13, "{report}");
    // Interval 4: checkpoints at 3, 6 (the first close), 7 (restored by open), 11 and 12
    // (the last close).
    assert_eq!(report.checkpoints, 5, "{report}");
}

/// A new log is never created beside the anchor of an earlier one.
#[test]
fn create_refuses_a_leftover_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 4, 4);
    std::fs::remove_file(&path).unwrap();
    let err = FileLog::create(&path, options(4, Durability::EveryRecord)).unwrap_err();
    assert!(err.to_string().contains(".anchor"), "{err}");
    assert!(!path.exists());
}

/// The anchor is written only once its checkpoint is durable in the log.
#[test]
fn anchor_never_runs_ahead_of_the_durable_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.log");
    let group = Durability::GroupCommit {
        max_records: 1000,
        max_delay: std::time::Duration::ZERO,
    };
    let log = FileLog::create(&path, options(4, group)).unwrap();
    for i in 0..3 {
        log.append(event(i)).unwrap();
    }
    assert!(!Anchor::path_for(&path).exists(), "anchor before the sync");
    // The append that signs the interval checkpoint at 3 syncs the group before it returns
    // (its checkpoint is durable when returned), then writes the anchor.
    for i in 3..9 {
        log.append(event(i)).unwrap();
    }
    let on_disk = LogContents::read(&path).unwrap();
    assert_eq!(
        on_disk
            .entries
            .iter()
            .filter(|e| matches!(e, LogEntry::Record { .. }))
            .count(),
        8,
        "records 0..=7 synced by the checkpoint at 7, record 8 still buffered"
    );
    assert_eq!(
        Anchor::read(Anchor::path_for(&path))
            .unwrap()
            .sequence()
            .get(),
        7
    );
    log.flush().unwrap();
    log.checkpoint().unwrap();
    assert_eq!(
        Anchor::read(Anchor::path_for(&path))
            .unwrap()
            .sequence()
            .get(),
        8
    );
    drop(log);
    let report = keyed()
        .with_anchor(Anchor::read(Anchor::path_for(&path)).unwrap())
        .require_anchored_tail(true)
        .verify_file(&path)
        .unwrap();
    assert!(report.is_ok(), "{report}");
}

/// Item 5.4: a forged head claiming a long length over complete records is damage named by
/// its sequence; open refuses it and leaves the file untouched.
#[test]
fn forged_frame_length_is_damage_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let fr = *f.iter().find(|x| !x.is_checkpoint && x.seq == 5).unwrap();
    let mut bad = bytes.clone();
    let claimed = (bytes.len() - fr.start) as u32; // runs past the end of the file
    bad[fr.start + 1..fr.start + 5].copy_from_slice(&claimed.to_be_bytes());
    reseal(&mut bad, fr.start, usize::MAX);
    let failure = keyed()
        .verify_bytes(&bad)
        .unwrap()
        .failure
        .expect("forged tail accepted");
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (5, Damage::ForgedTornTail)
    );
    let c = LogContents::parse(&bad).unwrap();
    assert_eq!(
        c.unreadable,
        Some((fr.start as u64, Damage::ForgedTornTail))
    );
    std::fs::write(&path, &bad).unwrap();
    std::fs::remove_file(Anchor::path_for(&path)).unwrap();
    match FileLog::open(&path, options(4, Durability::EveryRecord)) {
        Err(Error::Damaged { sequence, reason }) => {
            assert_eq!((sequence.get(), reason), (5, Damage::ForgedTornTail));
        }
        other => panic!("forged log opened: {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), bad, "file changed");
    // Written bytes that are no frame are damage, even with zeros after them; the zeros of
    // unwritten blocks alone, however many, are a torn tail (a crash's; more in
    // zero_filled_crash_tails.rs).
    let mut long = bytes.clone();
    long.extend(vec![7u8; hexvault_audit::MAX_FRAME_LEN]);
    long.extend(vec![0u8; 100]);
    let failure = keyed().verify_bytes(&long).unwrap().failure.unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (10, Damage::FrameHeader)
    );
    let mut zeros = bytes.clone();
    zeros.extend(vec![0u8; 2 * hexvault_audit::MAX_FRAME_LEN]);
    let report = keyed().verify_bytes(&zeros).unwrap();
    assert!(report.failure.is_none(), "{:?}", report.failure);
    assert_eq!(report.torn_tail.map(|t| t.offset), Some(bytes.len() as u64));
}

/// Item 5.4: a genuine torn tail is moved to a quarantine file, byte for byte, before the
/// log is cut back; nothing complete is dropped.
#[test]
fn genuine_torn_tail_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let last_rec = *f.iter().find(|x| !x.is_checkpoint && x.seq == 9).unwrap();
    let cut_at = last_rec.start + 30;
    std::fs::write(&path, &bytes[..cut_at]).unwrap();
    std::fs::remove_file(Anchor::path_for(&path)).unwrap();
    let (log, report) = FileLog::open(&path, options(4, Durability::EveryRecord)).unwrap();
    let torn = report.torn_tail.unwrap();
    assert_eq!(torn.offset as usize, last_rec.start);
    let saved = report.torn_tail_saved_to.clone().unwrap();
    assert_eq!(
        saved,
        PathBuf::from(format!("{}.torn-{}", path.display(), last_rec.start))
    );
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        &bytes[last_rec.start..cut_at]
    );
    assert_eq!(log.len(), 9);
    assert!(report.to_string().contains("saved to"), "{report}");
    drop(log);
    assert_eq!(
        &std::fs::read(&path).unwrap()[..last_rec.start],
        &bytes[..last_rec.start]
    );
}

/// Item 7: in a signed log, a checkpoint the interval puts after a record must be there.
#[test]
fn missing_interval_checkpoint_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path(), 10, 4);
    let bytes = std::fs::read(&path).unwrap();
    let f = frames(&bytes);
    let cp3 = *f.iter().find(|x| x.is_checkpoint && x.seq == 3).unwrap();
    let mut bad = bytes[..cp3.start].to_vec();
    bad.extend_from_slice(&bytes[cp3.end..]);
    let failure = keyed()
        .verify_bytes(&bad)
        .unwrap()
        .failure
        .expect("removal accepted");
    assert_eq!(
        (failure.sequence.get(), failure.reason),
        (3, Damage::MissingCheckpoint)
    );
    // Without the audit key the records before the missing checkpoint were covered by it
    // alone: charged to the first of them, none counted as passed (review round 18).
    let report = Verifier::public_key(public_key())
        .verify_bytes(&bad)
        .unwrap();
    let failure = report.failure.unwrap();
    assert_eq!(
        (failure.sequence.get(), failure.reason, report.records),
        (0, Damage::MissingCheckpoint, 0)
    );
}

/// The checkpoint interval in the header is protected only by a public checksum. An attacker
/// who sets it to 0 and recomputes the checksum must not stop the writer's interval
/// checkpoints (which would freeze the anchor and hide every later cut): the writer refuses
/// a header whose interval differs from its options, and the anchor keeps catching cuts.
#[test]
fn an_edited_checkpoint_interval_in_the_header_is_refused_by_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.log");
    let log = FileLog::create(&path, options(4, Durability::EveryRecord)).unwrap();
    for i in 0..4 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let genuine = std::fs::read(&path).unwrap();
    let mut b = genuine.clone();
    b[76..80].copy_from_slice(&0_u32.to_be_bytes());
    let check = Sha256::new()
        .chain_update(b"hexvault-audit/v1/header")
        .chain_update(&b[..80])
        .finalize();
    b[80..88].copy_from_slice(&check[..8]);
    std::fs::write(&path, &b).unwrap();
    assert!(matches!(
        FileLog::open(&path, options(4, Durability::EveryRecord)),
        Err(Error::CheckpointIntervalMismatch {
            header: 0,
            options: 4
        })
    ));
    // With the genuine header the writer goes on, checkpoints every 4, and the anchor
    // follows: a cut of what it wrote after a crash is reported.
    std::fs::write(&path, &genuine).unwrap();
    let cut_len = genuine.len() as u64;
    let (log, _) = FileLog::open(&path, options(4, Durability::EveryRecord)).unwrap();
    for i in 4..24 {
        log.append(event(i)).unwrap();
    }
    std::mem::forget(log);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut_len)
        .unwrap();
    let report = keyed()
        .require_anchored_tail(true)
        .with_anchor(Anchor::read(Anchor::path_for(&path)).unwrap())
        .verify_file(&path)
        .unwrap();
    assert!(
        !report.is_ok(),
        "a cut of 20 records went unnoticed: {report}"
    );
}

/// Review round 7 (R7-7): an attacker who can write the log's directory plants a symbolic
/// link at `<log>.anchor.tmp` pointing at another file the vault process may write. The
/// anchor write removes the link and creates its temporary file with `create_new`: the
/// other file is untouched and the anchor is a regular file holding the checkpoint.
#[cfg(unix)]
#[test]
fn a_planted_symlink_at_the_anchor_tmp_path_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("phrase.txt");
    std::fs::write(&victim, b"abandon abandon ... about").unwrap();
    let path = dir.path().join("audit.log");
    std::os::unix::fs::symlink(&victim, dir.path().join("audit.log.anchor.tmp")).unwrap();
    let log = FileLog::create(&path, options(1, Durability::EveryRecord)).unwrap();
    // The first append signs an interval checkpoint and rewrites the anchor.
    let appended = log.append(event(0)).unwrap();
    let anchored = log.checkpoint_and_anchor().unwrap().unwrap();
    drop(log);
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"abandon abandon ... about",
        "the anchor write followed the planted link"
    );
    let anchor_path = Anchor::path_for(&path);
    assert!(
        !std::fs::symlink_metadata(&anchor_path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        Anchor::read(&anchor_path).unwrap().checkpoint(),
        &appended.checkpoint.unwrap()
    );
    assert_eq!(anchored.sequence(), Sequence::new(0));
    assert!(!dir.path().join("audit.log.anchor.tmp").exists());
}

/// Review round 9: `FileLog::checkpoint_and_anchor` promises that failing to write the
/// anchor file leaves the log usable; when it signed a new checkpoint, that failure went
/// through `flush` and poisoned the log. The checkpoint frame is durable either way; the
/// anchor file is written after it, and a failure is returned alone.
#[cfg(unix)]
#[test]
fn a_failed_anchor_write_leaves_the_log_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = FileLog::create(&path, options(64, Durability::EveryRecord)).unwrap();
    log.append(event(0)).unwrap();
    // A non-empty directory where the anchor file goes: the rename over it fails.
    let anchor_path = Anchor::path_for(&path);
    let _ = std::fs::remove_file(&anchor_path);
    std::fs::create_dir_all(anchor_path.join("in-the-way")).unwrap();
    assert!(log.checkpoint_and_anchor().is_err());
    // Not poisoned: appends go on, and the next anchor is written once the way is clear.
    log.append(event(1)).unwrap();
    std::fs::remove_dir_all(&anchor_path).unwrap();
    let anchored = log.checkpoint_and_anchor().unwrap().unwrap();
    assert_eq!(anchored.sequence(), Sequence::new(1));
    drop(log);
    let report = keyed()
        .require_anchored_tail(true)
        .with_anchor(Anchor::read(&anchor_path).unwrap())
        .verify_file(&path)
        .unwrap();
    assert!(report.is_ok(), "{report}");
}

/// Review round 53 LOW: an anchor path that is a FIFO, a link to `/dev/zero` or a directory
/// is refused at once (no read that hangs or runs without end); a file longer than an
/// anchor is refused after one byte past the anchor's length.
#[test]
fn an_anchor_path_that_is_no_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.anchor");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let zero = dir.path().join("zero.anchor");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for path in [fifo.as_path(), zero.as_path(), dir.path()] {
        assert!(
            matches!(Anchor::read(path), Err(Error::BadAnchor(_))),
            "{}",
            path.display()
        );
    }
    let long = dir.path().join("long.anchor");
    std::fs::write(&long, vec![0u8; 1 << 20]).unwrap();
    assert!(matches!(Anchor::read(&long), Err(Error::BadAnchor(_))));
}
