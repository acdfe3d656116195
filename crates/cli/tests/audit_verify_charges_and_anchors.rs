//! `hexvault audit verify` names the right place and uses every anchor it has (review round
//! 53): with the public key only, an edited stored chain value is charged no later than the
//! record edited (in PostgreSQL: `audit_postgres.rs`); a kept anchor given with `--anchor` is
//! checked in addition to the one beside the log, never instead of it, and the worse result
//! is reported (review round 54).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

use common::*;

fn trezor_audit_log(dir: &Path, name: &str) -> PathBuf {
    use hexvault::audit::{AuditLog, Event, EventKind, FileLog, LogOptions};
    let seed = hexvault::mnemonic::Mnemonic::parse(TREZOR_PHRASE)
        .unwrap()
        .to_seed("TREZOR");
    let path = dir.join(name);
    let log = FileLog::create(
        &path,
        LogOptions::keyed(&hexvault::keys::audit_chain_key(&seed).unwrap())
            .signing_key(hexvault::keys::audit_signer(&seed).unwrap())
            .checkpoint_every(4),
    )
    .unwrap();
    for _ in 0..10 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    log.close().unwrap();
    path
}

fn write_frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    use sha2::{Digest, Sha256};
    let head = [&[kind][..], &(payload.len() as u32).to_be_bytes()].concat();
    let hc = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame-header")
        .chain_update(&head)
        .finalize();
    let sum = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame")
        .chain_update(&head)
        .chain_update(payload)
        .finalize();
    out.extend_from_slice(&head);
    out.extend_from_slice(&hc[..4]);
    out.extend_from_slice(payload);
    out.extend_from_slice(&sum[..8]);
}

fn verify(log: &Path, extra: &[&str], keyed: bool) -> Output {
    let key = trezor_public_key();
    let mut args = vec!["audit", "verify", log.to_str().unwrap(), "--json"];
    if keyed {
        args.extend_from_slice(&["--passphrase-env", "PASS"]);
    } else {
        args.extend_from_slice(&["--public-key", &key]);
    }
    args.extend_from_slice(extra);
    hexvault(
        &args,
        "",
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE), ("PASS", "TREZOR")],
    )
}

/// An edit of record 5's stored chain value (the last 32 bytes of its frame, re-checksummed):
/// keyed verification names 5; `--public-key` verification, which checks a stored chain value
/// only through the next record's link, charges the first record after the previous
/// checkpoint (4), never the unchanged record 6 (docs/formats.md, "Damage is charged").
#[test]
fn public_key_verify_charges_an_edited_chain_value_no_later_than_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path(), "a.log");
    std::fs::remove_file(format!("{}.anchor", log.display())).unwrap();
    let bytes = std::fs::read(&log).unwrap();
    let rec: Vec<_> = frames(&bytes).into_iter().filter(|x| !x.2).collect();
    let (s, e, _) = rec[5];
    let mut payload = bytes[s + 9..e - 8].to_vec();
    let n = payload.len();
    payload[n - 1] ^= 1; // record 5's stored chain value
    let mut b = bytes[..s].to_vec();
    write_frame(&mut b, 1, &payload);
    b.extend_from_slice(&bytes[e..]);
    std::fs::write(&log, &b).unwrap();

    let keyed = verify(&log, &[], true);
    assert_eq!(keyed.status.code(), Some(1));
    let keyed: serde_json::Value = serde_json::from_slice(&keyed.stdout).unwrap();
    assert_eq!(
        keyed["failure_sequence"], 5,
        "the keyed verifier names the edited record"
    );

    let public = verify(&log, &[], false);
    assert_eq!(public.status.code(), Some(1));
    let public: serde_json::Value = serde_json::from_slice(&public.stdout).unwrap();
    let charged = public["failure_sequence"].as_u64().unwrap();
    // The edited record, or the first record after the previous checkpoint (4), never a
    // later, unchanged one.
    assert!(
        charged <= 5,
        "public-key verification charged an edit of record 5 to record {charged}: {public}"
    );
}

/// The operator passes the copy of the anchor they kept (taken at an earlier checkpoint, as
/// SECURITY.md advises); the log has since been cut back to that checkpoint while the anchor
/// beside it holds the later one. The cut is reported with `--anchor` as without it: both
/// anchors are checked.
#[test]
fn a_kept_older_anchor_does_not_hide_the_cut_the_anchor_beside_the_log_shows() {
    use hexvault::audit::{AuditLog, Event, EventKind, FileLog, LogOptions};
    let dir = tempfile::tempdir().unwrap();
    let seed = hexvault::mnemonic::Mnemonic::parse(TREZOR_PHRASE)
        .unwrap()
        .to_seed("TREZOR");
    let path = dir.path().join("audit.log");
    let log = FileLog::create(
        &path,
        LogOptions::keyed(&hexvault::keys::audit_chain_key(&seed).unwrap())
            .signing_key(hexvault::keys::audit_signer(&seed).unwrap())
            .checkpoint_every(4),
    )
    .unwrap();
    for _ in 0..8 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    // The operator's copy, kept elsewhere: the checkpoint over record 7.
    let beside = PathBuf::from(format!("{}.anchor", path.display()));
    let kept = dir.path().join("kept.anchor");
    std::fs::copy(&beside, &kept).unwrap();
    for _ in 0..2 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    log.close().unwrap(); // checkpoint over 9, written beside the log
    // The log cut back to the checkpoint over 7 (records 8 and 9 and their checkpoint gone).
    let bytes = std::fs::read(&path).unwrap();
    let cps: Vec<_> = frames(&bytes).into_iter().filter(|f| f.2).collect();
    std::fs::write(&path, &bytes[..cps[1].1]).unwrap();

    // Without --anchor: the anchor beside the log shows the cut.
    let default = verify(&path, &[], false);
    assert_eq!(default.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    assert_eq!(report["missing_records"], 2, "{report}");

    // With the kept (older) anchor, as SECURITY.md advises: the cut must still be reported.
    let with_kept = verify(&path, &["--anchor", kept.to_str().unwrap()], false);
    let report: serde_json::Value = serde_json::from_slice(&with_kept.stdout).unwrap();
    assert_eq!(
        (with_kept.status.code(), report["ok"].clone()),
        (Some(1), serde_json::Value::Bool(false)),
        "a log cut behind the anchor beside it verified as complete with --anchor: {report}"
    );
    assert_eq!(report["missing_records"], 2, "{report}");
    assert_eq!(
        report["anchor"],
        format!("{}.anchor", path.display()),
        "the anchor the log failed against is the one reported"
    );
    // The kept anchor alone (the one beside the log removed) still passes the cut log: it
    // is older than the cut.
    std::fs::remove_file(&beside).unwrap();
    let kept_only = verify(&path, &["--anchor", kept.to_str().unwrap()], false);
    assert_eq!(kept_only.status.code(), Some(0), "{kept_only:?}");
    // A kept anchor of another log fails the command even when the one beside passes.
    let other_dir = tempfile::tempdir().unwrap();
    let other = trezor_audit_log(other_dir.path(), "other.log");
    std::fs::copy(&kept, &beside).unwrap();
    let foreign = PathBuf::from(format!("{}.anchor", other.display()));
    let refused = verify(&path, &["--anchor", foreign.to_str().unwrap()], false);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
}

/// A log of 10 records (checkpoints over 3, 7 and 9), the operator's kept copy of the anchor
/// taken at the checkpoint over 7, the anchor beside the log at 9. Returns (log, kept anchor,
/// the log's bytes, the end offset of the checkpoint over 7).
fn log_with_kept_older_anchor(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>, usize) {
    use hexvault::audit::{AuditLog, Event, EventKind, FileLog, LogOptions};
    let seed = hexvault::mnemonic::Mnemonic::parse(TREZOR_PHRASE)
        .unwrap()
        .to_seed("TREZOR");
    let path = dir.join("audit.log");
    let log = FileLog::create(
        &path,
        LogOptions::keyed(&hexvault::keys::audit_chain_key(&seed).unwrap())
            .signing_key(hexvault::keys::audit_signer(&seed).unwrap())
            .checkpoint_every(4),
    )
    .unwrap();
    for _ in 0..8 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    let beside = PathBuf::from(format!("{}.anchor", path.display()));
    let kept = dir.join("kept.anchor");
    std::fs::copy(&beside, &kept).unwrap();
    for _ in 0..2 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    log.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let cps: Vec<_> = frames(&bytes).into_iter().filter(|f| f.2).collect();
    let cut_base = cps[1].1;
    (path, kept, bytes, cut_base)
}

/// Review round 54: the log is cut back behind the anchor beside it (records 8 and 9 gone)
/// and the cut ends inside record 8's frame, as a truncation at any byte does. Against the
/// kept anchor the log is merely torn; against the anchor beside it, cut. The cut (the worse)
/// is what is reported, with `--anchor` as without.
#[test]
fn a_torn_cut_behind_the_anchor_beside_the_log_is_reported_as_a_cut_with_a_kept_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let (path, kept, bytes, cut_base) = log_with_kept_older_anchor(dir.path());
    // Cut inside record 8's frame: a torn tail of 20 bytes.
    std::fs::write(&path, &bytes[..cut_base + 20]).unwrap();

    // Control: without --anchor the anchor beside the log shows the cut.
    let default = verify(&path, &[], false);
    let report: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    assert_eq!(report["missing_records"], 2, "control: {report}");

    let with_kept = verify(&path, &["--anchor", kept.to_str().unwrap()], false);
    assert_eq!(with_kept.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&with_kept.stdout).unwrap();
    assert_eq!(
        report["missing_records"], 2,
        "the cut behind the anchor beside the log is not reported with --anchor: {report}"
    );
}

/// Review round 54: the log cut back to just after record 8 (record 9 and the checkpoint over
/// it gone). `--forensic --anchor KEPT`: against the kept anchor record 8 is only unanchored;
/// the cut the anchor beside the log shows is reported (exit 0, forensic), as without
/// `--anchor`.
#[test]
fn forensic_verify_with_a_kept_anchor_reports_the_cut_the_anchor_beside_the_log_shows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, kept, bytes, cut_base) = log_with_kept_older_anchor(dir.path());
    let record8_end = frames(&bytes)
        .into_iter()
        .find(|f| f.0 == cut_base)
        .unwrap()
        .1;
    std::fs::write(&path, &bytes[..record8_end]).unwrap();

    let default = verify(&path, &["--forensic"], false);
    let report: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    assert_eq!(report["missing_records"], 1, "control: {report}");

    let with_kept = verify(
        &path,
        &["--forensic", "--anchor", kept.to_str().unwrap()],
        false,
    );
    let report: serde_json::Value = serde_json::from_slice(&with_kept.stdout).unwrap();
    assert_eq!(
        report["missing_records"],
        1,
        "forensic verify with a kept anchor hides the cut the anchor beside the log shows \
         (exit {:?}): {report}",
        with_kept.status.code()
    );
    assert_eq!(with_kept.status.code(), Some(0));
}
