//! Insider and audit: every traversal and every refusal is in the log; an insider with
//! write access to the log file who changes, reorders, removes, duplicates, forges or cuts
//! records is detected, by the keyed verifier with the exact sequence number and by an
//! outside verifier that holds only the trusted public key and the anchor.

use hexvault::audit::{
    Anchor, Damage, Error as AuditError, ErrorClass, EventKind, FRAME_HEAD_LEN, FRAME_RECORD,
    FRAME_TAIL_LEN, HEADER_LEN, Outcome, Report, Verifier, VerifyingKey, write_frame,
};
use hexvault::cells::{AccessToken, Credentials, Layer, ObjectId};
use hexvault::edges::Connect;
use hexvault::keys;
use hexvault::mnemonic::Mnemonic;
use hexvault::{Vault, VaultBuilder};

use crate::common::{CellScoped, PASSPHRASE, PHRASE, cell, file_vault, object, route, token_for};

/// Records of the scenario below.
const RECORDS: u64 = 12;

/// Ten traversals tenant-a/inbox → tenant-b/archive (six alone, four in one batch) and two
/// refusals; checkpoints every 4.
fn scenario(vault: &Vault) {
    let a = cell(vault, "tenant-a", "inbox");
    let b = cell(vault, "tenant-b", "archive");
    let edge = vault
        .connect_with(
            &a,
            &b,
            hexvault::edges::EdgeRule::new().named(route("a-to-b")),
        )
        .unwrap();
    let none = Credentials::none();
    let ids: Vec<ObjectId> = (0..10).map(|i| object(&format!("doc-{i}"))).collect();
    let blobs: Vec<Vec<u8>> = ids
        .iter()
        .map(|o| a.seal(o, b"quarterly figures", Layer::Rest, &none).unwrap())
        .collect();
    for (o, blob) in ids.iter().zip(&blobs).take(6) {
        edge.traverse(o, blob, &none, &none).unwrap();
    }
    let batch: Vec<(&ObjectId, &[u8])> = ids
        .iter()
        .zip(&blobs)
        .skip(6)
        .map(|(o, b)| (o, b.as_slice()))
        .collect();
    for moved in edge.traverse_batch(&batch, &none, &none).unwrap() {
        moved.unwrap();
    }
    assert!(
        vault
            .traverse(&route("a-to-c"), &ids[0], &blobs[0], &none, None, &none)
            .is_err()
    );
    let wrong = AccessToken::new(b"token:tenant-b/archive".to_vec());
    let gated = a
        .seal(
            &object("doc-1"),
            b"y",
            Layer::Access,
            &Credentials::none().token(&token_for(&a)),
        )
        .unwrap();
    assert!(
        a.open(&object("doc-1"), &gated, &Credentials::none().token(&wrong))
            .is_err()
    );
}

/// (kind, payload) of every frame after the file header.
fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        out.push((
            bytes[at],
            bytes[at + FRAME_HEAD_LEN..at + FRAME_HEAD_LEN + len].to_vec(),
        ));
        at += FRAME_HEAD_LEN + len + FRAME_TAIL_LEN;
    }
    assert_eq!(at, bytes.len());
    out
}

/// A log file from its header and frames, each frame with valid framing checksums (as an
/// insider who knows the file format writes them).
fn rebuild(bytes: &[u8], frames: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = bytes[..HEADER_LEN].to_vec();
    for (kind, payload) in frames {
        write_frame(&mut out, *kind, payload).unwrap();
    }
    out
}

/// Index in `frames` of the record with sequence `n`.
fn record_frame(frames: &[(u8, Vec<u8>)], n: usize) -> usize {
    frames
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| *k == FRAME_RECORD)
        .nth(n)
        .unwrap()
        .0
}

struct Fixture {
    _dir: tempfile::TempDir,
    bytes: Vec<u8>,
    anchor: Anchor,
    public: VerifyingKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let vault = file_vault(dir.path(), 4);
    scenario(&vault);
    let public = vault.audit_public_key();
    let (log, anchor_path) = (
        vault.audit_file().unwrap().to_path_buf(),
        vault.anchor_file().unwrap(),
    );
    vault.close().unwrap();
    Fixture {
        bytes: std::fs::read(&log).unwrap(),
        anchor: Anchor::read(anchor_path).unwrap(),
        public,
        _dir: dir,
    }
}

impl Fixture {
    /// With only the trusted public key and the anchor, as an outside auditor.
    fn outside(&self, bytes: &[u8]) -> Result<Report, AuditError> {
        Verifier::public_key(self.public)
            .with_anchor(self.anchor.clone())
            .require_anchored_tail(true)
            .verify_bytes(bytes)
    }

    /// With the audit chain key of the root too.
    fn keyed(&self, bytes: &[u8]) -> Result<Report, AuditError> {
        let seed = Mnemonic::parse(PHRASE).unwrap().to_seed(PASSPHRASE);
        Verifier::keyed(&keys::audit_chain_key(&seed).unwrap())
            .with_public_key(self.public)
            .with_anchor(self.anchor.clone())
            .verify_bytes(bytes)
    }

    /// Asserts both verifiers reject `bytes`, the keyed one at sequence `at`.
    fn assert_caught(&self, bytes: &[u8], at: u64, what: &str) {
        let keyed = self
            .keyed(bytes)
            .unwrap()
            .failure
            .unwrap_or_else(|| panic!("{what}: keyed passed"));
        assert_eq!(keyed.sequence.get(), at, "{what}: {keyed}");
        let outside = self.outside(bytes).unwrap();
        assert!(
            outside.failure.is_some(),
            "{what}: the outside verifier passed"
        );
    }
}

#[test]
fn every_traversal_and_every_refusal_is_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let vault = file_vault(dir.path(), 4);
    scenario(&vault);
    let records = vault.audit_records().unwrap();
    assert_eq!(records.len() as u64, RECORDS);
    for (i, r) in records.iter().enumerate().take(10) {
        assert_eq!(r.sequence.get(), i as u64);
        assert_eq!(r.event.kind, EventKind::Traverse);
        assert_eq!(r.event.outcome, Outcome::Success);
        let (from, to) = (
            r.event.source.as_ref().unwrap(),
            r.event.destination.as_ref().unwrap(),
        );
        assert_eq!(from.partition.as_bytes(), b"tenant-a");
        assert_eq!(to.cell.as_bytes(), b"archive");
        assert!(r.event.input.is_some() && r.event.output.is_some());
        assert_eq!(
            r.event
                .context
                .as_ref()
                .unwrap()
                .route
                .as_ref()
                .unwrap()
                .as_bytes(),
            b"a-to-b"
        );
    }
    assert_eq!(records[10].event.kind, EventKind::Denied);
    assert_eq!(
        records[10].event.outcome,
        Outcome::Failure(ErrorClass::PolicyDenied)
    );
    assert_eq!(records[11].event.kind, EventKind::Denied);
    assert!(matches!(records[11].event.outcome, Outcome::Failure(_)));
    let report = vault.verify_audit().unwrap();
    assert_eq!(report.records, RECORDS);
    assert_eq!(report.missing_records(), 0);

    // A restarted process reopens the log under the same root and goes on appending.
    let path = vault.audit_file().unwrap().to_path_buf();
    drop(vault);
    let again = file_vault(dir.path(), 4);
    assert_eq!(again.opened_report().unwrap().records, RECORDS);
    assert_eq!(again.audit_file(), Some(path.as_path()));
    let c = cell(&again, "tenant-a", "inbox");
    assert!(
        c.open(&object("x"), b"not a blob", &Credentials::none())
            .is_err()
    );
    assert_eq!(again.verify_audit().unwrap().records, RECORDS + 1);
    drop(again);
    // Another root cannot reopen it: its chain key and signer differ.
    let err = VaultBuilder::new()
        .audit_file(&path)
        .from_mnemonic(PHRASE, "not the passphrase", CellScoped)
        .unwrap_err();
    assert!(matches!(err, hexvault::Error::Audit(_)), "{err:?}");
}

#[test]
fn the_untouched_log_verifies_inside_and_outside() {
    let f = fixture();
    assert!(f.keyed(&f.bytes).unwrap().is_ok());
    let report = f.outside(&f.bytes).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, RECORDS);
}

#[test]
fn a_changed_record_is_caught_at_its_sequence() {
    let f = fixture();
    let frames = frames(&f.bytes);
    for n in [0usize, 5, 11] {
        let mut bad = frames.clone();
        let i = record_frame(&bad, n);
        let payload = &mut bad[i].1;
        let at = payload
            .windows(8)
            .position(|w| w == b"tenant-b" || w == b"tenant-a")
            .unwrap();
        payload[at + 7] = b'x';
        f.assert_caught(&rebuild(&f.bytes, &bad), n as u64, "changed record");
    }
}

#[test]
fn reordered_removed_and_duplicated_records_are_caught() {
    let f = fixture();
    let frames = frames(&f.bytes);
    let (i, j) = (record_frame(&frames, 1), record_frame(&frames, 2));
    let mut swapped = frames.clone();
    swapped.swap(i, j);
    f.assert_caught(&rebuild(&f.bytes, &swapped), 1, "reordered");
    let mut removed = frames.clone();
    removed.remove(i);
    f.assert_caught(&rebuild(&f.bytes, &removed), 1, "removed");
    let mut duplicated = frames.clone();
    duplicated.insert(j, frames[i].clone());
    f.assert_caught(&rebuild(&f.bytes, &duplicated), 2, "duplicated");
}

#[test]
fn a_cut_log_is_caught_against_the_anchor() {
    let f = fixture();
    let frames = frames(&f.bytes);
    // Cut right after the checkpoint of record 7: the file alone looks complete.
    let keep = record_frame(&frames, 8);
    assert_ne!(
        frames[keep - 1].0,
        FRAME_RECORD,
        "a checkpoint follows record 7"
    );
    let cut = rebuild(&f.bytes, &frames[..keep]);
    let report = f.outside(&cut).unwrap();
    assert_eq!(report.missing_records(), RECORDS - 8, "{report}");
    let without_anchor = Verifier::public_key(f.public).verify_bytes(&cut).unwrap();
    assert!(
        without_anchor.is_ok(),
        "a cut after a checkpoint needs the anchor to be seen"
    );
    // Cut mid-interval: also an unanchored tail.
    let cut = rebuild(&f.bytes, &frames[..record_frame(&frames, 10)]);
    assert!(matches!(
        f.outside(&cut).unwrap().failure.map(|x| x.reason),
        Some(Damage::Truncated { missing: 2 })
    ));
}

#[test]
fn forged_records_and_forged_logs_are_caught() {
    let f = fixture();
    let frames = frames(&f.bytes);
    // A record from a log of another root (same scenario, same format), spliced in.
    let other_dir = tempfile::tempdir().unwrap();
    let other = VaultBuilder::new()
        .audit_file(other_dir.path().join("audit.log"))
        .checkpoint_every(4)
        .from_mnemonic(PHRASE, "an insider's own root", CellScoped)
        .unwrap();
    scenario(&other);
    let other_public = other.audit_public_key();
    let other_log = other.audit_file().unwrap().to_path_buf();
    other.close().unwrap();
    let other_bytes = std::fs::read(&other_log).unwrap();
    let other_frames = self::frames(&other_bytes);
    let mut spliced = frames.clone();
    let i = record_frame(&frames, 3);
    spliced[i] = other_frames[record_frame(&other_frames, 3)].clone();
    f.assert_caught(&rebuild(&f.bytes, &spliced), 3, "spliced record");

    // The whole log of the insider's root, presented as ours: the trusted key refuses it.
    let err = f.outside(&other_bytes).unwrap_err();
    assert!(
        matches!(
            err,
            AuditError::UntrustedHeaderKey | AuditError::BadAnchor(_)
        ),
        "{err:?}"
    );
    let err = Verifier::public_key(f.public)
        .verify_bytes(&other_bytes)
        .unwrap_err();
    assert!(matches!(err, AuditError::UntrustedHeaderKey), "{err:?}");
    let err = f.keyed(&other_bytes).unwrap_err();
    assert!(matches!(err, AuditError::WrongKey), "{err:?}");
    // It verifies only under its own key: the trust is in the key, not in the file.
    assert!(
        Verifier::public_key(other_public)
            .verify_bytes(&other_bytes)
            .unwrap()
            .is_ok()
    );
}
