//! Golden audit logs that must verify forever: `data/golden-v3.log` and
//! `data/golden-v2.log` with their anchors (formats 3 and 2, fixed keys, log id and
//! timestamps, so this test regenerates them byte for byte), and `data/golden-v1.log`,
//! written by the format-1 code. The format-3 chain head is also pinned as a hex vector
//! (docs/formats.md).
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

use sha2::Digest;

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

/// Writes a golden log (7 records, checkpoints after 2, 5 and, on close, 6) in format 3, or
/// in format 2 with `legacy`.
fn generate(path: &Path, legacy: bool) {
    let mut opts = options(3, Durability::EveryRecord)
        .fixed_log_id(LogId::from_bytes(GOLDEN_LOG_ID))
        .fixed_clock(GOLDEN_START_NANOS, 1_000_000_000);
    if legacy {
        opts = opts.legacy_format_2();
    }
    let log = FileLog::create(path, opts).unwrap();
    for i in 0..7 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
}

fn keyed() -> Verifier {
    Verifier::keyed(&AuditKey::from_bytes(common::KEY)).with_public_key(public_key())
}

/// Format-3 test vector: the golden log's chain head (`chain[6]`, keyed, audit key
/// `common::KEY`) and public chain value `public[6]`.
const V3_HEAD: &str = "8780a6092936aa4a146f05845c6170dd42665c7ff2c1663536efc94bb3b56812";
const V3_PUBLIC: &str = "2cee4c30da3b9536fb674bd203c609ea03aeb8d01074c7d936da0e329d8aad5d";

#[test]
fn golden_v3_log_and_anchor_are_reproduced_and_verify() {
    let golden = golden_log_is_reproduced_and_verifies(3);
    let anchor = Anchor::decode(&std::fs::read(data("golden-v3.log.anchor")).unwrap()).unwrap();
    assert_eq!(anchor.checkpoint().chain.to_string(), V3_HEAD);
    assert_eq!(
        anchor.checkpoint().public_chain.unwrap().to_string(),
        V3_PUBLIC
    );
    // 7 records and 3 checkpoints.
    let c = LogContents::parse(&golden).unwrap();
    assert_eq!(c.entries.len(), 10);
}

/// Format-3 vector with version-3 records (sealed references and a context): three
/// traversal records in a memory log (audit key `42`×32, log id `3a`×16, fixed clock); the
/// chain head is pinned (docs/formats.md).
#[test]
fn format_3_vector_with_sealed_references() {
    use hexvault_audit::{
        BlobRef, CellId, Context, ContextId, Endpoint, Event, EventKind, KeyVersion, Layer,
        MemoryLog, PartitionId, RECORD_VERSION_V3,
    };
    let log = MemoryLog::new(
        options(0, Durability::EveryRecord)
            .fixed_log_id(LogId::from_bytes([0x3A; 16]))
            .fixed_clock(GOLDEN_START_NANOS, 1_000),
    )
    .unwrap();
    let ep = |p: &str| {
        Endpoint::new(
            PartitionId::new(p).unwrap(),
            CellId::new("c").unwrap(),
            Layer(0),
            KeyVersion(1),
        )
    };
    for i in 0..3u8 {
        let event = Event::new(EventKind::Traverse)
            .source(ep("a"))
            .destination(ep("b"))
            .input(BlobRef::sealed([i; 12], [i; 16]))
            .output(BlobRef::sealed([i + 1; 12], [i + 1; 16]))
            .context(Context::new().route(ContextId::new("a->b").unwrap()));
        log.append(event).unwrap();
    }
    assert_eq!(log.head().to_string(), V3_SEALED_HEAD);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.format_version, 3);
    for r in log.records().unwrap() {
        assert_eq!(r.encode().unwrap()[0], RECORD_VERSION_V3);
    }
}

const V3_SEALED_HEAD: &str = "322a57b23b60da399ebeba1c4dce3d12b9424090cb4543f0f76edc40c168bb85";

#[test]
fn golden_v2_log_and_anchor_are_reproduced_and_verify() {
    golden_log_is_reproduced_and_verifies(2);
}

/// A format-2 log is continued in format 2: appends after open verify with the same
/// verifier, and the file stays format 2 throughout.
#[test]
fn a_format_2_log_is_appended_to_in_format_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.log");
    std::fs::copy(data("golden-v2.log"), &path).unwrap();
    std::fs::copy(data("golden-v2.log.anchor"), Anchor::path_for(&path)).unwrap();
    let (log, _) = FileLog::open(&path, options(3, Durability::EveryRecord)).unwrap();
    for i in 7..11 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let report = keyed()
        .require_anchored_tail(true)
        .verify_bytes(&bytes)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.format_version, report.records), (2, 11));
    let public = Verifier::public_key(public_key())
        .require_anchored_tail(true)
        .verify_bytes(&bytes)
        .unwrap();
    assert!(public.is_ok(), "{public}");
    // The golden prefix is untouched.
    let golden = std::fs::read(data("golden-v2.log")).unwrap();
    assert_eq!(&bytes[..golden.len()], &golden[..]);
    // A format-3 log of the same records has other chain values: the formats differ.
    let v3 = LogContents::parse(&std::fs::read(data("golden-v3.log")).unwrap()).unwrap();
    let v2 = LogContents::parse(&golden).unwrap();
    assert_eq!(v3.format_version, 3);
    assert_ne!(v3.entries, v2.entries);
}

/// A format-2 file relabelled as format 3 (header version and check rewritten) no longer
/// verifies, keyed or with the public key: the constructions are domain-separated.
#[test]
fn a_format_2_log_relabelled_as_format_3_is_refused() {
    let mut bytes = std::fs::read(data("golden-v2.log")).unwrap();
    bytes[8..10].copy_from_slice(&3u16.to_be_bytes());
    let check = sha2::Sha256::new()
        .chain_update(b"hexvault-audit/v1/header")
        .chain_update(&bytes[..80])
        .finalize();
    bytes[80..88].copy_from_slice(&check[..8]);
    let keyed = keyed().verify_bytes(&bytes).unwrap();
    assert!(!keyed.is_ok(), "{keyed}");
    assert_eq!(keyed.failure.unwrap().sequence, Sequence::new(0));
    let public = Verifier::public_key(public_key())
        .verify_bytes(&bytes)
        .unwrap();
    assert!(!public.is_ok(), "{public}");
}

fn golden_log_is_reproduced_and_verifies(format: u16) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("golden-v{format}.log");
    let fresh = dir.path().join(&name);
    generate(&fresh, format == 2);
    let fresh_bytes = std::fs::read(&fresh).unwrap();
    let fresh_anchor = std::fs::read(Anchor::path_for(&fresh)).unwrap();
    let (log_path, anchor_path) = (data(&name), data(&format!("{name}.anchor")));
    if std::env::var_os("HEXVAULT_WRITE_GOLDEN").is_some() && !log_path.exists() {
        std::fs::write(&log_path, &fresh_bytes).unwrap();
        std::fs::write(&anchor_path, &fresh_anchor).unwrap();
    }
    let golden = std::fs::read(&log_path).expect("golden log missing");
    let golden_anchor = std::fs::read(&anchor_path).expect("golden anchor missing");
    // The writer still produces exactly these bytes: the format has not drifted.
    assert_eq!(fresh_bytes, golden, "format {format} writer output changed");
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
        (format, VerifyLevel::Keyed, 7, 3, Some(Sequence::new(6)))
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
    assert_eq!(c.format_version, format);
    assert_eq!(c.log_id.to_string(), "1d".repeat(16));
    golden
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
