//! Key-version changes that meet a traversal batch (review round 21): a version retired
//! mid-batch opens no later item, and a destination rotated and retired mid-batch receives
//! no blob under its retired version. (Version changes whose record failed:
//! `unsettled_versions.rs`.)
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
