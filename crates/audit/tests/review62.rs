//! Review round 62: docs/when-to-use.md's list of what hexvault cannot protect against.
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

/// docs/when-to-use.md:68-69 lists among what hexvault cannot protect against "a cut of the
/// audit log after its last checkpoint when neither the anchor nor a minimum sequence is
/// checked": so checking the anchor would catch such a cut. It does not: the anchor holds
/// the last checkpoint, so records cut off after it leave a log that verifies clean against
/// the anchor, also in strict mode (SECURITY.md:24 says so: "only a minimum sequence the
/// verifier gives, `--min-sequence`, catches it").
#[test]
#[ignore = "review62 finding"]
fn checking_the_anchor_catches_a_cut_after_the_last_checkpoint_as_when_to_use_says() {
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
    assert!(
        report.failure.is_some(),
        "a cut of 3 records after the last checkpoint passed the anchor check: {report}"
    );
}
