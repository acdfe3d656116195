//! Review round 7 findings in the facade `hexvault` (and the docs it promises): each test
//! fails today and is ignored until the lead fixes the finding it names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hexvault::audit::{Durability, EventKind, LogContents, LogEntry};
use hexvault::cells::{
    AccessToken, CellId, Credentials, Layer, ObjectId, PartitionId, PolicyContext, PolicyId,
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

/// Finding R7-2. SECURITY.md (cells row) promises "no plaintext without its record" and
/// the cells docs say a layer-1 open is "recorded before the plaintext is handed out"; the
/// edges row lists only "a process crash between re-encryption and the append (nothing was
/// returned)" as undefended. `VaultBuilder::durability` (crates/hexvault/src/vault.rs:144)
/// accepts `Durability::GroupCommit` with no word on this: the open's record is then only in
/// the write buffer when the plaintext is returned, and a crash (here: the process state
/// abandoned without running destructors, as SIGKILL would) loses the record of an access
/// whose plaintext the caller already holds. Either refuse group commit for gated opens and
/// traversals, or say in SECURITY.md and on `durability` that the guarantee becomes "no
/// plaintext without a record that survives a crash only after the next sync".
#[test]
#[ignore = "review7 finding"]
fn with_group_commit_a_crash_loses_the_record_of_a_returned_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let vault = VaultBuilder::new()
        .audit_file(&path)
        .durability(Durability::GroupCommit {
            max_records: 1000,
            max_delay: Duration::ZERO,
        })
        .from_mnemonic(PHRASE, "", Resolver)
        .unwrap();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let token = AccessToken::new(b"reader".to_vec());
    let creds = Credentials::none().token(&token);
    let object = ObjectId::new("o").unwrap();
    let blob = cell
        .seal(&object, b"secret", Layer::Access, &creds)
        .unwrap();
    let plaintext = cell.open(&object, &blob, &creds).unwrap();
    assert_eq!(plaintext.expose_secret(), b"secret");
    // The process dies here (no destructor runs).
    std::mem::forget(cell);
    std::mem::forget(vault);
    let on_disk = kinds_on_disk(&path);
    assert!(
        on_disk.contains(&EventKind::Open),
        "the plaintext was returned but its open record is not in the log file: {on_disk:?}"
    );
}

/// Finding R7-3. A fresh vault with a file log that crashes before its first checkpoint
/// (64 records by default, `DEFAULT_CHECKPOINT_EVERY`) can never be reopened: the log has
/// records and no anchor was ever written, so `VaultBuilder::from_*` fails with
/// `Error::AnchorMissing` (crates/hexvault/src/vault.rs:232-238), whose message tells the
/// operator to "restore the anchor from its backup" (there never was one). The only way in
/// is `reanchor_missing_anchor`, documented for "a lost anchor, or a crash between the log's
/// first checkpoint and its first anchor", which gives up cut detection for that open.
/// SECURITY.md lists crashes as defended ("a torn final frame is saved ... before it is cut
/// off"). Write an anchor as soon as there is a record to sign (or checkpoint the first
/// record), or document that a crash before the first checkpoint needs the opt-in.
#[test]
#[ignore = "review7 finding"]
fn a_crash_before_the_first_checkpoint_leaves_a_vault_that_cannot_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || {
        VaultBuilder::new()
            .audit_file(&path)
            .from_mnemonic(PHRASE, "", Resolver)
    };
    let vault = build().unwrap();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let token = AccessToken::new(b"reader".to_vec());
    let creds = Credentials::none().token(&token);
    let object = ObjectId::new("o").unwrap();
    let blob = cell
        .seal(&object, b"secret", Layer::Access, &creds)
        .unwrap();
    // One fsync'd record (Durability::EveryRecord, the default): the open.
    cell.open(&object, &blob, &creds).unwrap();
    // The process dies (power cut, SIGKILL): no destructor, no closing checkpoint.
    std::mem::forget(cell);
    std::mem::forget(vault);
    // Release the advisory lock the dead process would have lost with it: the lock is tied
    // to the open file description, which forget keeps alive in this test process, so read
    // the verdict through a copy of the directory instead.
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("audit.log");
    std::fs::copy(&path, &copied).unwrap();
    let reopened = VaultBuilder::new()
        .audit_file(&copied)
        .from_mnemonic(PHRASE, "", Resolver);
    assert!(
        reopened.is_ok(),
        "an ordinary crash of a new vault leaves a log it refuses to reopen: {:?}",
        reopened.err()
    );
}

/// Finding R7-4 (docs). docs/key-rotation.md ("Operational checklist") says "the audit log
/// records the key version of every sealed blob", and docs/when-to-use.md promises "an
/// audit trail of every access and refusal"; crates/audit/README.md (first lines) says "a
/// seal or open at a gated layer ... becomes an AuditRecord". The cells vault records neither a seal (at any
/// layer) nor a successful layer-0 open (crates/cells/src/vault.rs:1214-1219, `open`): after
/// a layer-0 and a layer-1 seal and a layer-0 open the log holds no record at all.
#[test]
#[ignore = "review7 finding"]
fn seals_and_layer_0_opens_leave_no_record_although_the_docs_promise_one() {
    let vault = Vault::from_mnemonic(PHRASE, "", Resolver).unwrap();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let token = AccessToken::new(b"reader".to_vec());
    let object = ObjectId::new("o").unwrap();
    let blob = cell
        .seal(&object, b"at rest", Layer::Rest, &Credentials::none())
        .unwrap();
    cell.seal(
        &object,
        b"gated",
        Layer::Access,
        &Credentials::none().token(&token),
    )
    .unwrap();
    cell.open(&object, &blob, &Credentials::none()).unwrap();
    let records = vault.audit_records().unwrap();
    let seals = records
        .iter()
        .filter(|r| r.event.kind == EventKind::Seal)
        .count();
    let opens = records
        .iter()
        .filter(|r| r.event.kind == EventKind::Open)
        .count();
    assert_eq!(
        (seals, opens),
        (2, 1),
        "two seals and one access, recorded: {records:?}"
    );
}

/// Finding R7-8. `Vault::checkpoint` (crates/hexvault/src/vault.rs:428-433, `write_anchor`
/// at :308-330) writes `<log>.anchor.tmp` and renames it over the anchor WITHOUT the file
/// log's lock, while the `FileLog` itself writes the same temporary path under its lock
/// after every checkpoint (`Anchor::write_atomic`, on any thread that appends). When the two
/// interleave, one `rename` finds the temporary file gone: if it is the log's, the log is
/// poisoned (`Error::Failed` for every later append, so every gated open and traversal of
/// the vault fails until it is reopened); if it is the facade's, `checkpoint` fails.
/// SECURITY.md ("Rules the code follows") says "one failed operation does not brick the
/// vault"; the facade is `Send + Sync`, recommends calling `checkpoint` to ship anchors
/// off-host, and documents no restriction. Here the log is poisoned within a few calls.
/// Write the facade's anchor under the log's lock (or let the log write it: it already did).
#[test]
#[ignore = "review7 finding"]
fn a_checkpoint_racing_with_appends_breaks_the_anchor_write() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultBuilder::new()
        .audit_file(dir.path().join("audit.log"))
        .checkpoint_every(1)
        .from_mnemonic(PHRASE, "", Resolver)
        .unwrap();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let token = AccessToken::new(b"reader".to_vec());
    let object = ObjectId::new("o").unwrap();
    let blob = cell
        .seal(
            &object,
            b"x",
            Layer::Access,
            &Credentials::none().token(&token),
        )
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (opens, checkpoints) = std::thread::scope(|s| {
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
        let checkpointer = s.spawn(|| {
            let mut n = 0u32;
            while std::time::Instant::now() < deadline {
                if let Err(e) = vault.checkpoint() {
                    return Err(format!("checkpoint {n} failed: {e}"));
                }
                n += 1;
            }
            Ok(n)
        });
        (opener.join().unwrap(), checkpointer.join().unwrap())
    });
    assert!(
        opens.is_ok() && checkpoints.is_ok(),
        "opens: {opens:?}; checkpoints: {checkpoints:?}"
    );
}

/// Finding R7-9. `Vault::verify_audit` (crates/hexvault/src/vault.rs:474-498) checkpoints,
/// then verifies the file with `require_anchored_tail(true)`, and documents its error as
/// `Damaged` "for a changed, removed, reordered, forged or cut record or checkpoint". The
/// vault is `Send + Sync`: a record another thread appends between the checkpoint and the
/// read is an honest unanchored tail, and verify_audit reports the untouched log as damaged
/// (`UnanchoredTail`), a false tamper alarm. (Run with the interval at its default, 64, and
/// without the anchor race of R7-8: only opens and verifications.)
#[test]
#[ignore = "review7 finding"]
fn verify_audit_reports_an_honest_concurrent_append_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let vault = VaultBuilder::new()
        .audit_file(dir.path().join("audit.log"))
        .from_mnemonic(PHRASE, "", Resolver)
        .unwrap();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let token = AccessToken::new(b"reader".to_vec());
    let object = ObjectId::new("o").unwrap();
    let blob = cell
        .seal(
            &object,
            b"x",
            Layer::Access,
            &Credentials::none().token(&token),
        )
        .unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let verdicts = std::thread::scope(|s| {
        let opener = s.spawn(|| {
            let creds = Credentials::none().token(&token);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // The anchor race of R7-8 may poison the log here too; ignore it.
                let _ = cell.open(&object, &blob, &creds);
            }
        });
        let mut failures = Vec::new();
        for _ in 0..200 {
            if let Err(e) = vault.verify_audit() {
                failures.push(e.to_string());
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        opener.join().unwrap();
        failures
    });
    assert!(
        verdicts.is_empty(),
        "{} of 200 verifications of an untouched log failed: {:?}",
        verdicts.len(),
        verdicts.iter().collect::<std::collections::BTreeSet<_>>()
    );
}
