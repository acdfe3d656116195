//! A cut of the records after the last checkpoint: the anchor cannot show it, a minimum
//! sequence does (docs/when-to-use.md and SECURITY.md say so; review round 62).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{event, options, public_key};
use hexvault_audit::{Anchor, AuditLog, Durability, FileLog, Verifier};

/// The process is killed after three records past the anchored checkpoint; the attacker cuts
/// those records. The log verifies clean against the anchor (it holds that checkpoint), also
/// strictly; a minimum sequence catches the cut. docs/when-to-use.md names the limit.
#[test]
fn a_cut_after_the_last_checkpoint_passes_the_anchor_and_fails_a_minimum_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = FileLog::create(&path, options(1_000_000, Durability::EveryRecord)).unwrap();
    for i in 0..3 {
        log.append(event(i)).unwrap();
    }
    log.checkpoint_and_anchor().unwrap().expect("a checkpoint");
    let at_checkpoint = std::fs::metadata(&path).unwrap().len();
    for i in 3..6 {
        log.append(event(i)).unwrap();
    }
    log.flush().unwrap();
    // The process is killed (no final checkpoint on close): the records after the last
    // checkpoint are on disk, the anchor holds that checkpoint.
    std::mem::forget(log);
    // The attacker cuts the three records after the last checkpoint.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(at_checkpoint).unwrap();
    drop(file);
    let anchor = Anchor::read(Anchor::path_for(&path)).unwrap();
    let report = Verifier::public_key(public_key())
        .with_anchor(anchor)
        .require_anchored_tail(true)
        .verify_file(&path)
        .unwrap();
    assert!(report.failure.is_none(), "{report}");
    let report = Verifier::public_key(public_key())
        .min_sequence(hexvault_audit::Sequence::new(5))
        .verify_file(&path)
        .unwrap();
    assert!(
        matches!(
            report.failure.map(|f| f.reason),
            Some(hexvault_audit::Damage::Truncated { missing: 3 })
        ),
        "{report}"
    );
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/when-to-use.md"
    ))
    .unwrap()
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ");
    assert!(doc.contains("the anchor holds that checkpoint and cannot show a cut after it"));
}
