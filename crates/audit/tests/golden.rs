//! Golden audit logs that must verify forever: `data/golden-v2.log` with its anchor
//! `data/golden-v2.log.anchor` (format 2, fixed keys, log id and timestamps, so this test
//! regenerates it byte for byte), and `data/golden-v1.log`, written by the format-1 code.
//! Set `HEXVAULT_WRITE_GOLDEN=1` to write missing golden files (never overwrites).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::path::{Path, PathBuf};

use common::{event, options, public_key};
use hexvault_audit::{
    Anchor, AuditKey, AuditLog, Durability, Error, FileLog, LogContents, LogId, Sequence, Verifier,
    VerifyLevel,
};

/// 2026-11-30T04:37:26.123456789Z, one second per record.
pub const GOLDEN_START_NANOS: u64 = 1_796_013_446_123_456_789;
const GOLDEN_LOG_ID: [u8; 16] = [0x1D; 16];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Writes the format-2 golden log (7 records, checkpoints after 2, 5 and, on close, 6).
fn generate(path: &Path) {
    let opts = options(3, Durability::EveryRecord)
        .fixed_log_id(LogId::from_bytes(GOLDEN_LOG_ID))
        .fixed_clock(GOLDEN_START_NANOS, 1_000_000_000);
    let log = FileLog::create(path, opts).unwrap();
    for i in 0..7 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
}

fn keyed() -> Verifier {
    Verifier::keyed(&AuditKey::from_bytes(common::KEY)).with_public_key(public_key())
}

#[test]
fn golden_v2_log_and_anchor_are_reproduced_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("golden-v2.log");
    generate(&fresh);
    let fresh_bytes = std::fs::read(&fresh).unwrap();
    let fresh_anchor = std::fs::read(Anchor::path_for(&fresh)).unwrap();
    let (log_path, anchor_path) = (data("golden-v2.log"), data("golden-v2.log.anchor"));
    if std::env::var_os("HEXVAULT_WRITE_GOLDEN").is_some() && !log_path.exists() {
        std::fs::write(&log_path, &fresh_bytes).unwrap();
        std::fs::write(&anchor_path, &fresh_anchor).unwrap();
    }
    let golden = std::fs::read(&log_path).expect("golden-v2.log missing");
    let golden_anchor = std::fs::read(&anchor_path).expect("golden-v2.log.anchor missing");
    // The writer still produces exactly these bytes: the format has not drifted.
    assert_eq!(fresh_bytes, golden, "format 2 writer output changed");
    assert_eq!(fresh_anchor, golden_anchor, "anchor format changed");

    let anchor = Anchor::decode(&golden_anchor).unwrap();
    assert_eq!(anchor.sequence(), Sequence::new(6));
    let report = keyed()
        .with_anchor(anchor.clone())
        .require_anchored_tail(true)
        .verify_bytes(&golden)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (
            report.format_version,
            report.level,
            report.records,
            report.checkpoints,
            report.last_checkpoint
        ),
        (2, VerifyLevel::Keyed, 7, 3, Some(Sequence::new(6)))
    );
    assert_eq!(
        report.head.unwrap().to_string(),
        anchor.checkpoint().chain.to_string()
    );
    let public = Verifier::public_key(public_key())
        .with_anchor(anchor)
        .require_anchored_tail(true)
        .verify_bytes(&golden)
        .unwrap();
    assert!(
        public.is_ok() && public.level == VerifyLevel::PublicKeyOnly,
        "{public}"
    );
    let c = LogContents::parse(&golden).unwrap();
    assert_eq!(c.format_version, 2);
    assert_eq!(c.log_id.to_string(), "1d".repeat(16));
}

#[test]
fn golden_v1_log_still_verifies() {
    let bytes = std::fs::read(data("golden-v1.log")).unwrap();
    let report = keyed()
        .require_anchored_tail(true)
        .verify_bytes(&bytes)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (
            report.format_version,
            report.level,
            report.records,
            report.checkpoints
        ),
        (1, VerifyLevel::Keyed, 7, 3)
    );
    // Without the audit key a v1 log says what it cannot check.
    let public = Verifier::public_key(public_key())
        .verify_bytes(&bytes)
        .unwrap();
    assert!(public.is_ok(), "{public}");
    assert_eq!(public.level, VerifyLevel::PublicKeyOnlyV1);
    assert!(public.to_string().contains("v1 log"), "{public}");
    // A v1 log is never appended to (its checkpoints would mix formats).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.log");
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        FileLog::open(&path, options(3, Durability::EveryRecord)),
        Err(Error::ReadOnlyFormat(1))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}
