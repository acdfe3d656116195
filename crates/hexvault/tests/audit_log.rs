//! The vault's audit log under load and crashes (review round 7): what a crash keeps under
//! group commit, a crash before the first interval checkpoint, checkpoints and
//! verifications racing appends, and which operations leave a record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::crash_copy;
use hexvault::audit::{Anchor, Durability, EventKind, LogContents, LogEntry};
use hexvault::cells::{
    AccessToken, Cell, CellId, Credentials, Layer, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, TokenResolver,
};
use hexvault::{Vault, VaultBuilder};

const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                      abandon abandon abandon about";

/// `reader` → policy `readers` with secret `11`×32.
struct Resolver;

impl TokenResolver for Resolver {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        (token.expose_secret() == b"reader").then(|| {
            PolicyContext::new(
                PolicyId::new("readers").unwrap(),
                PolicySecret::from_bytes(&mut [0x11; 32]),
            )
        })
    }
}

/// The vault over the audit file `path`, with what `builder` sets besides (durability,
/// checkpoint interval), from [`PHRASE`] with [`Resolver`].
fn file_vault(path: &Path, builder: VaultBuilder) -> Vault {
    builder
        .audit_file(path)
        .from_mnemonic(PHRASE, "", Resolver)
        .unwrap()
}

/// The cell `p/c` of `vault`, the token `reader`, the object id `o`, and `plaintext` sealed
/// as `o` at layer 1 with that token (a seal appends no record).
fn sealed_for_reader(vault: &Vault, plaintext: &[u8]) -> (Cell, AccessToken, ObjectId, Vec<u8>) {
    let cell = common::cell(vault);
    let token = AccessToken::new(b"reader".to_vec());
    let object = ObjectId::new("o").unwrap();
    let blob = cell
        .seal(
            &object,
            plaintext,
            Layer::Access,
            &Credentials::none().token(&token),
        )
        .unwrap();
    (cell, token, object, blob)
}

fn kinds_on_disk(path: &std::path::Path) -> Vec<EventKind> {
    LogContents::read(path)
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|e| match e {
            LogEntry::Record { record, .. } => Some(record.event.kind),
            _ => None,
        })
        .collect()
}

/// Review round 7 (R7-2). Under `Durability::GroupCommit` the facade syncs every record but
/// a denial before the append returns: the record of an open whose plaintext was returned
/// survives a crash (the process state abandoned without running destructors, as SIGKILL
/// would). A denial waits for the group's sync: the documented weaker guarantee, so a
/// crash may lose it (here it does: `max_records` is far away and there is no timer).
#[test]
fn with_group_commit_the_record_of_a_returned_plaintext_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = file_vault(
        &path,
        VaultBuilder::new().durability(Durability::GroupCommit {
            max_records: 1000,
            max_delay: Duration::ZERO,
        }),
    );
    let (cell, token, object, blob) = sealed_for_reader(&vault, b"secret");
    let creds = Credentials::none().token(&token);
    let plaintext = cell.open(&object, &blob, &creds).unwrap();
    assert_eq!(plaintext.expose_secret(), b"secret");
    let plaintext = cell.open(&object, &blob, &creds).unwrap();
    assert_eq!(plaintext.expose_secret(), b"secret");
    assert!(cell.open(&object, &blob, &Credentials::none()).is_err());
    // The process dies here (no destructor runs).
    std::mem::forget(cell);
    std::mem::forget(vault);
    assert_eq!(
        kinds_on_disk(&path),
        [EventKind::Open, EventKind::Open],
        "both opens durable before their plaintext was returned; the denial still buffered"
    );
}

/// Review round 7 (R7-3). A new vault's file log is checkpointed and anchored at its first
/// record, so a crash before the first interval checkpoint (64 records by default) leaves
/// a log with an anchor beside it: the vault reopens, verified against that anchor.
#[test]
fn a_crash_before_the_first_interval_checkpoint_leaves_a_vault_that_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = file_vault(&path, VaultBuilder::new());
    assert!(
        !Anchor::path_for(&path).exists(),
        "an empty log has no anchor"
    );
    let (cell, token, object, blob) = sealed_for_reader(&vault, b"secret");
    let creds = Credentials::none().token(&token);
    // Two fsync'd records (Durability::EveryRecord, the default): the opens.
    cell.open(&object, &blob, &creds).unwrap();
    cell.open(&object, &blob, &creds).unwrap();
    assert_eq!(
        Anchor::read(Anchor::path_for(&path))
            .unwrap()
            .sequence()
            .get(),
        0,
        "anchored at the first record"
    );
    // The process dies (power cut, SIGKILL): no destructor, no closing checkpoint.
    std::mem::forget(cell);
    std::mem::forget(vault);
    // The advisory lock is tied to the open file description, which forget keeps alive in
    // this test process: reopen a copy of the directory (log and anchor) instead.
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("audit.log");
    assert!(crash_copy(&path, &copied), "the anchor is copied too");
    let reopened = file_vault(&copied, VaultBuilder::new());
    assert_eq!(reopened.opened_report().unwrap().records, 2);
    let report = reopened.verify_audit().unwrap();
    assert_eq!(report.records, 2);
    reopened.close().unwrap();
}

/// Review round 7 (R7-4, docs). What the cells vault records, as docs/architecture.md,
/// the audit README, docs/key-rotation.md and docs/when-to-use.md now say: gated opens
/// (layers 1 and 2) and every refusal are recorded; seals (at any layer) and successful
/// layer-0 opens are not (a blob's header names its key version).
#[test]
fn gated_opens_and_refusals_are_recorded_seals_and_layer_0_opens_are_not() {
    let vault = Vault::from_mnemonic(PHRASE, "", Resolver).unwrap();
    let cell = common::cell(&vault);
    let token = AccessToken::new(b"reader".to_vec());
    let gated = Credentials::none().token(&token);
    let object = ObjectId::new("o").unwrap();
    let rest = cell
        .seal(&object, b"at rest", Layer::Rest, &Credentials::none())
        .unwrap();
    let access = cell.seal(&object, b"gated", Layer::Access, &gated).unwrap();
    cell.open(&object, &rest, &Credentials::none()).unwrap();
    assert!(vault.audit_records().unwrap().is_empty(), "no record yet");
    cell.open(&object, &access, &gated).unwrap();
    assert!(
        cell.seal(&object, b"refused", Layer::Access, &Credentials::none())
            .is_err()
    );
    let kinds: Vec<EventKind> = vault
        .audit_records()
        .unwrap()
        .into_iter()
        .map(|r| r.event.kind)
        .collect();
    assert_eq!(kinds, [EventKind::Open, EventKind::Denied]);
}

/// Review round 7 (R7-8). `Vault::checkpoint` asks the file log to checkpoint and write
/// its anchor under its own lock (`FileLog::checkpoint_and_anchor`): racing the log's own
/// interval anchors (a checkpoint after every record here) and a second checkpointing
/// thread, no call fails and the log is never poisoned.
#[test]
fn a_checkpoint_racing_with_appends_and_checkpoints_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = file_vault(&path, VaultBuilder::new().checkpoint_every(1));
    let (cell, token, object, blob) = sealed_for_reader(&vault, b"x");
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let (opens, checkpoints, second) = std::thread::scope(|s| {
        let opener = s.spawn(|| {
            let creds = Credentials::none().token(&token);
            let mut n = 0u32;
            while std::time::Instant::now() < deadline {
                if let Err(e) = cell.open(&object, &blob, &creds) {
                    return Err(format!("open {n} failed: {e}"));
                }
                n += 1;
            }
            Ok(n)
        });
        let checkpointer = || {
            let mut n = 0u32;
            while std::time::Instant::now() < deadline {
                if let Err(e) = vault.checkpoint() {
                    return Err(format!("checkpoint {n} failed: {e}"));
                }
                n += 1;
            }
            Ok(n)
        };
        let first = s.spawn(checkpointer);
        let second = s.spawn(checkpointer);
        (
            opener.join().unwrap(),
            first.join().unwrap(),
            second.join().unwrap(),
        )
    });
    assert!(
        opens.is_ok() && checkpoints.is_ok() && second.is_ok(),
        "opens: {opens:?}; checkpoints: {checkpoints:?}, {second:?}"
    );
    let last = vault.checkpoint().unwrap().unwrap();
    assert_eq!(Anchor::read(Anchor::path_for(&path)).unwrap(), last);
    assert_eq!(last.sequence().get() + 1, vault.audit_log().len());
    vault.verify_audit().unwrap();
}

/// Review round 7 (R7-9). `Vault::verify_audit` verifies against the checkpoint it signs:
/// records another thread appends after it are an honest tail (verified chained, counted
/// as unanchored in the report), not damage. (Interval at its default, 64.)
#[test]
fn verify_audit_accepts_an_honest_concurrent_append() {
    let dir = tempfile::tempdir().unwrap();
    let vault = file_vault(&dir.path().join("audit.log"), VaultBuilder::new());
    let (cell, token, object, blob) = sealed_for_reader(&vault, b"x");
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let stop = AtomicBool::new(false);
    // At most three opens per verification started: every verification has appends racing
    // it, and the log stays short (a log growing without bound made the 200 verifications
    // quadratic: minutes in debug builds).
    let verified = AtomicU32::new(0);
    let (verdicts, opens) = std::thread::scope(|s| {
        let opener = s.spawn(|| {
            let creds = Credentials::none().token(&token);
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                if n < (verified.load(Ordering::Relaxed) + 1) * 3 {
                    cell.open(&object, &blob, &creds).unwrap();
                    n += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            n
        });
        let mut failures = Vec::new();
        for _ in 0..200 {
            if let Err(e) = vault.verify_audit() {
                failures.push(e.to_string());
            }
            verified.fetch_add(1, Ordering::Relaxed);
        }
        stop.store(true, Ordering::Relaxed);
        (failures, opener.join().unwrap())
    });
    assert!(
        verdicts.is_empty(),
        "{} of 200 verifications of an untouched log failed: {:?}",
        verdicts.len(),
        verdicts.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert!(opens > 0);
    let report = vault.verify_audit().unwrap();
    assert_eq!(report.records, u64::from(opens));
    assert_eq!(report.unanchored_records(), 0);
}
