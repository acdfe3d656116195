//! Key-version changes that meet a traversal batch or a failed checkpoint (review round 21): a
//! version retired mid-batch opens no later item and receives no blob; a rotation whose
//! checkpoint failed is never replayed as a retirement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{memory_log, oid, token};
use hexvault_cells::*;

/// Something another thread does while a batch runs, run by the resolver on its first call
/// for the token `dest` (standing for that thread: the resolver is the one deterministic
/// point inside a batch, as in `crates/edges/tests/batch.rs`).
type Hook = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

struct HookResolver(Hook);

impl TokenResolver for HookResolver {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        if token.expose_secret() != b"dest" {
            return None;
        }
        let hook = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(hook) = hook {
            hook();
        }
        Some(PolicyContext::new(
            PolicyId::new("dest-policy").unwrap(),
            PolicySecret::from_bytes(&mut [7; 32]),
        ))
    }
}

fn hooked_vault() -> (Vault, Hook) {
    let hook: Hook = Arc::default();
    let vault = Vault::from_kms_bytes(
        &mut [0x42; 32],
        HookResolver(hook.clone()),
        Arc::new(memory_log()),
    );
    (vault, hook)
}

fn cell(vault: &Vault, c: &str) -> Cell {
    vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new(c).unwrap())
}

/// `Cell::retire_below` (crates/cells/src/vault.rs:663-664): "Retires this cell's key
/// versions below `minimum`: their blobs no longer open and their cached keys are dropped."
/// SECURITY.md (edges row) lists "data left under retired key versions" as defended.
///
/// A batch traversal keeps the source side (resolved credentials and layer keys) of its
/// first item in its private `Memo` (crates/cells/src/vault/traverse.rs:387-436) and reuses it for every later item
/// of the same layer and key versions, without checking the versions again. A retirement
/// that completes while the batch runs (another thread) therefore does not stop the batch:
/// later items sealed under the retired version are still opened and moved, with the key
/// the retirement said it dropped. (The batch already re-resolves layer-2 sides per item for
/// exactly this reason, a session ending mid-batch; a retirement is not covered.)
#[test]

fn a_cell_version_retired_mid_batch_opens_no_later_item() {
    let (vault, hook) = hooked_vault();
    let (a, b) = (cell(&vault, "a"), cell(&vault, "b"));
    let none = Credentials::none();
    let ids: Vec<ObjectId> = (0..3).map(|i| oid(&format!("o{i}"))).collect();
    let blobs: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| a.seal(id, b"old version", Layer::Rest, &none).unwrap())
        .collect();
    a.rotate().unwrap();
    let route = RouteId::new("a-to-b").unwrap();
    vault.declare_route(route.clone(), &a, &b).unwrap();
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let dest_token = token("dest");
    let dest = Credentials::none().token(&dest_token).session(&session);
    // While the first item is resolved, another thread retires version 1 of the source.
    let retiring = a.clone();
    *hook.lock().unwrap() = Some(Box::new(move || retiring.retire_below(2).unwrap()));
    let items: Vec<(&ObjectId, &[u8])> = ids.iter().zip(&blobs).map(|(i, b)| (i, &b[..])).collect();
    let results = vault
        .traverse_batch(&route, &items, &none, Some(Layer::Session), &dest)
        .unwrap();
    assert_eq!(a.key_versions(), (2, 2), "the retirement took effect");
    // Alone, the same blob is refused now.
    assert!(matches!(
        vault.traverse(
            &route,
            &ids[1],
            &blobs[1],
            &none,
            Some(Layer::Session),
            &dest
        ),
        Err(Error::KeyVersionRetired { .. })
    ));
    for (i, r) in results.iter().enumerate().skip(1) {
        assert!(
            matches!(r, Err(Error::KeyVersionRetired { .. })),
            "item {i}, sealed under a version retired before it was reached, was moved: {:?}",
            r.as_ref().map(Vec::len)
        );
    }
}

/// `Vault::retire_masters_below` (crates/cells/src/vault.rs:343-345): "Retires every master
/// key version below `minimum`: their keys are dropped and wiped, and blobs sealed under
/// them no longer open." The batch memo of a traversal keeps the retired master version's
/// layer key alive and keeps using it for later items (same cause as above).
#[test]

fn a_master_version_retired_mid_batch_opens_no_later_item() {
    let (vault, hook) = hooked_vault();
    let (a, b) = (cell(&vault, "a"), cell(&vault, "b"));
    let none = Credentials::none();
    let ids: Vec<ObjectId> = (0..3).map(|i| oid(&format!("o{i}"))).collect();
    let blobs: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| a.seal(id, b"old master", Layer::Rest, &none).unwrap())
        .collect();
    vault
        .rotate_master(VaultMasterKey::from_kms_bytes(&mut [0x43; 32]))
        .unwrap();
    let route = RouteId::new("a-to-b").unwrap();
    vault.declare_route(route.clone(), &a, &b).unwrap();
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let dest_token = token("dest");
    let dest = Credentials::none().token(&dest_token).session(&session);
    let retiring = vault.clone();
    *hook.lock().unwrap() = Some(Box::new(move || retiring.retire_masters_below(2).unwrap()));
    let items: Vec<(&ObjectId, &[u8])> = ids.iter().zip(&blobs).map(|(i, b)| (i, &b[..])).collect();
    let results = vault
        .traverse_batch(&route, &items, &none, Some(Layer::Session), &dest)
        .unwrap();
    assert_eq!(
        vault.master_versions(),
        (2, 2),
        "the retirement took effect"
    );
    for (i, r) in results.iter().enumerate().skip(1) {
        assert!(
            matches!(r, Err(Error::KeyVersionRetired { .. })),
            "item {i}, sealed under a retired master version, was moved: {:?}",
            r.as_ref().map(Vec::len)
        );
    }
}

/// `Vault::traverse_batch` / ADR 0056: "a traversal always seals under the destination's
/// current master and cell key versions" (docs/adr/0056-edges-declared-routes-and-traversal.md:36; edges
/// lib.rs invariants). The batch memo keeps the destination side of its first item for
/// every later item of the same destination layer, so a destination rotated and retired
/// while the batch runs receives later items sealed under its retired version: the batch
/// hands out blobs (each with a `traverse` record naming the retired version) that no longer
/// open anywhere.
#[test]

fn a_destination_retired_mid_batch_gets_no_blob_under_its_retired_version() {
    let (vault, hook) = hooked_vault();
    let (a, b) = (cell(&vault, "a"), cell(&vault, "b"));
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let dest_token = token("dest");
    // Source blobs at layer 2 (their side is resolved for every item: the hook runs on the
    // second item's), destination at layer 0 (resolved once, for the first item).
    let creds = Credentials::none().token(&dest_token).session(&session);
    let ids: Vec<ObjectId> = (0..3).map(|i| oid(&format!("o{i}"))).collect();
    let blobs: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| a.seal(id, b"moving", Layer::Session, &creds).unwrap())
        .collect();
    let route = RouteId::new("a-to-b").unwrap();
    vault.declare_route(route.clone(), &a, &b).unwrap();
    // The seals above resolved the token already; arm the hook now, so it runs on the
    // batch's first resolution (item 0's source); the second resolution is item 1's source.
    let rotating = b.clone();
    let armed: Hook = hook.clone();
    *hook.lock().unwrap() = Some(Box::new(move || {
        // Run on the second call instead: re-arm once.
        *armed.lock().unwrap() = Some(Box::new(move || {
            rotating.rotate().unwrap();
            rotating.retire_below(2).unwrap();
        }));
    }));
    let items: Vec<(&ObjectId, &[u8])> = ids.iter().zip(&blobs).map(|(i, b)| (i, &b[..])).collect();
    let none = Credentials::none();
    let results = vault
        .traverse_batch(&route, &items, &creds, Some(Layer::Rest), &none)
        .unwrap();
    assert_eq!(
        b.key_versions(),
        (2, 2),
        "the destination rotated and retired"
    );
    for (i, r) in results.iter().enumerate().skip(1) {
        let Ok(blob) = r else { continue };
        assert!(
            b.open(&ids[i], blob, &none).is_ok(),
            "item {i} was handed out sealed under the destination's retired version: {:?}",
            b.open(&ids[i], blob, &none).err()
        );
    }
}

/// A memory log whose next `checkpoint` fails once `fail_checkpoint` is set (the record
/// before it was appended: a checkpoint frame or anchor that could not be written).
struct CheckpointFailsOnce {
    inner: hexvault_audit::MemoryLog,
    fail_checkpoint: std::sync::atomic::AtomicBool,
}

impl hexvault_audit::AuditLog for CheckpointFailsOnce {
    fn append(
        &self,
        event: hexvault_audit::Event,
    ) -> hexvault_audit::Result<hexvault_audit::Appended> {
        self.inner.append(event)
    }
    fn append_batch(
        &self,
        events: Vec<hexvault_audit::Event>,
    ) -> hexvault_audit::Result<Vec<hexvault_audit::Appended>> {
        self.inner.append_batch(events)
    }
    fn checkpoint(&self) -> hexvault_audit::Result<Option<hexvault_audit::Checkpoint>> {
        if self
            .fail_checkpoint
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(hexvault_audit::Error::Failed);
        }
        self.inner.checkpoint()
    }
    fn flush(&self) -> hexvault_audit::Result<()> {
        self.inner.flush()
    }
    fn verify(&self) -> hexvault_audit::Result<hexvault_audit::Report> {
        self.inner.verify()
    }
    fn log_id(&self) -> hexvault_audit::LogId {
        self.inner.log_id()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn head(&self) -> hexvault_audit::ChainValue {
        self.inner.head()
    }
}

/// `Vault::replay_versions` (crates/cells/src/vault.rs:365-366) restores "the master's and
/// every cell's key versions from the rotation and retirement records of an audit log";
/// the facade (crates/hexvault/src/vault.rs:196-197, `VaultBuilder::audit_file`) promises that "every
/// cell and the master resume at the current and retired-minimum versions they had".
///
/// A rotation and a retirement write the same record (a `rotate` record naming a version);
/// the replay tells them apart only by comparing with the versions replayed so far. When a
/// rotation's record is appended but the checkpoint that must follow it fails,
/// `Cell::rotate` returns the error and the vault stays at the old version, while the record
/// stays in the log. The next `rotate` recorded the same version again, and a replay read
/// that second record as a retirement (review round 21). Now the vault refuses key-version
/// changes (`Error::VersionsUnsettled`) until the log is replayed into it.
#[test]

fn a_rotation_whose_checkpoint_failed_is_not_replayed_as_a_retirement() {
    let log = Arc::new(CheckpointFailsOnce {
        inner: memory_log(),
        fail_checkpoint: std::sync::atomic::AtomicBool::new(false),
    });
    let vault = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, log.clone());
    let a = cell(&vault, "a");
    let none = Credentials::none();
    log.fail_checkpoint
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(a.rotate().is_err(), "the rotation's checkpoint failed");
    assert_eq!(a.key_versions(), (1, 1), "the vault stays at version 1");
    let blob = a
        .seal(&oid("o"), b"sealed under v1", Layer::Rest, &none)
        .unwrap();
    // The log names version 2, the vault holds 1: no second change is written over the
    // first (the replay would read it as a retirement) until the log is replayed.
    assert!(matches!(a.rotate(), Err(Error::VersionsUnsettled)));
    assert!(matches!(a.retire_below(1), Err(Error::VersionsUnsettled)));
    assert!(matches!(
        vault.rotate_master(hexvault_cells::VaultMasterKey::from_kms_bytes(&mut [7; 32])),
        Err(Error::VersionsUnsettled)
    ));
    assert!(
        a.open(&oid("o"), &blob, &none).is_ok(),
        "data keeps working"
    );
    vault
        .replay_versions(&log.inner.records().unwrap())
        .unwrap();
    assert_eq!(
        a.key_versions(),
        (2, 1),
        "the recorded rotation is in force"
    );
    assert_eq!(a.rotate().unwrap(), 3);
    assert!(a.open(&oid("o"), &blob, &none).is_ok());

    // A restart: a new vault under the same master replays the log.
    let records = log.inner.records().unwrap();
    let again = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, Arc::new(memory_log()));
    again.replay_versions(&records).unwrap();
    let a2 = cell(&again, "a");
    assert_eq!(
        a2.key_versions(),
        (3, 1),
        "the replay reaches the vault's versions and invents no retirement"
    );
    assert!(a2.open(&oid("o"), &blob, &none).is_ok());
}
