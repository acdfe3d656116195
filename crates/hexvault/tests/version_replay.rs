//! Key versions survive restarts, crashes and cuts after the last anchor: the facade's
//! version replay from the audit log (ADR 0060 amendment; review round 5 attacker tests).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{crash_copy, open};
use hexvault::VaultBuilder;
use hexvault::cells::{Credentials, Layer, ObjectId};

/// `VaultBuilder::audit_file` promises that after a reopen "a retired version stays
/// retired", and SECURITY.md (at-rest row, `reopen.rs`) repeats it. The replay trusts every
/// record the verifier accepts, but the anchor beside the log is only as fresh as the last
/// checkpoint (interval 64, `checkpoint()`, `close()` or drop): rotation and retirement
/// records appended after it are an unanchored tail. After a crash (no close, no drop: the
/// state on disk is copied as the process dies) an attacker who can write the log cuts the
/// file back to the anchored length; the anchor still verifies, `AnchorMissing` does not
/// fire (the anchor exists), the replay never sees the retirement, and the retired key
/// opens blobs again (and the rotated-away version seals again).
#[test]
fn a_retirement_after_the_last_checkpoint_is_undone_by_a_crash_and_a_tail_cut() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("audit.log");
    let object = ObjectId::new("o").unwrap();
    let none = Credentials::none();

    let vault = open(&live, VaultBuilder::new()).unwrap();
    let cell = common::cell(&vault);
    let old = cell.seal(&object, b"old", Layer::Rest, &none).unwrap();
    // Some earlier recorded activity (a refused layer-1 seal), then an anchor, as after
    // any earlier checkpoint.
    assert!(
        cell.seal(&object, b"x", Layer::Access, &none).is_err(),
        "no token resolver: refused and recorded"
    );
    vault.checkpoint().unwrap().unwrap();
    let anchored_len = std::fs::metadata(&live).unwrap().len();
    cell.rotate().unwrap();
    cell.retire_below(2).unwrap();
    assert!(
        cell.open(&object, &old, &none).is_err(),
        "retired in process"
    );

    // The process dies here: what is on disk (records are fsynced per record) is copied.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    let log = crashed.join("audit.log");
    assert!(crash_copy(&live, &log), "the checkpoint wrote an anchor");
    drop(cell);
    drop(vault);

    // Sanity: without the attacker, the reopened vault keeps the retirement.
    {
        let copy = crashed.join("copy.log");
        assert!(crash_copy(&log, &copy));
        let vault = open(&copy, VaultBuilder::new()).unwrap();
        assert_eq!(common::cell(&vault).key_versions(), (2, 2));
    }

    // The attacker cuts the unanchored tail (the rotation and the retirement records).
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(anchored_len).unwrap();
    drop(file);

    let Ok(vault) = open(&log, VaultBuilder::new()) else {
        return; // refused: the promise holds
    };
    let cell = common::cell(&vault);
    let opened = cell.open(&object, &old, &none);
    assert!(
        opened.is_err(),
        "a log cut back to its (stale) anchor reopens silently at versions {:?} and the \
         blob sealed under the retired version 1 opens again",
        cell.key_versions()
    );
}

/// A master key version kept elsewhere: the vault master of another published phrase.
fn other_master() -> hexvault::keys::VaultMasterKey {
    let seed = hexvault::mnemonic::Mnemonic::parse(
        "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
    )
    .unwrap()
    .to_seed("");
    hexvault::keys::VaultMasterKey::from_seed(&seed).unwrap()
}

/// `Vault::load_master` (the documented way to bring back a master version "kept
/// elsewhere", and what the facade docs tell in-memory-log users to do) raises the current
/// master version WITHOUT an audit record, while `replay_versions` reads a `rotate` record
/// as a rotation when its version is above the replayed current one and as a retirement
/// only at or below it. So `load_master(2)` then `retire_masters_below(2)` writes one
/// record naming 2, which the replay on the next open reads as a rotation to 2: the
/// minimum stays 1, and master version 1 (always derived from the root) opens the blobs
/// the operator retired. `a_restarted_vault_keeps_master_rotations_and_retirements` only
/// covers `rotate_master`, which records its raise.
#[test]
fn a_master_retirement_after_load_master_is_replayed_as_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new()).unwrap();
    let object = ObjectId::new("o").unwrap();
    let none = Credentials::none();

    let vault = build();
    let cell = common::cell(&vault);
    let old = cell.seal(&object, b"old", Layer::Rest, &none).unwrap();
    vault.load_master(2, other_master()).unwrap();
    vault.retire_masters_below(2).unwrap();
    assert_eq!(vault.master_versions(), (2, 2));
    assert!(
        cell.open(&object, &old, &none).is_err(),
        "retired in process"
    );
    drop(cell);
    vault.close().unwrap();

    let vault = build();
    let cell = common::cell(&vault);
    let reopened = cell.open(&object, &old, &none);
    assert!(
        reopened.is_err(),
        "after a restart the master is at versions {:?}: the retirement of master version 1 \
         was replayed as a rotation and the retired blob opens again",
        vault.master_versions()
    );
}

/// With `VaultBuilder::durability(Durability::GroupCommit { .. })` (documented: "a crash
/// loses at most the records appended since the last completed sync"), `Cell::rotate` and
/// `Cell::retire_below` take effect in the process and return before their record is
/// durable. A crash (no attacker) then loses them: after the restart the retired version
/// opens again, and a blob sealed (and handed out) under the rotated-to version no longer
/// opens at all (the replayed current version is below the one in its header): data loss.
/// Rotation and retirement records are the state `replay_versions` restores, so they need
/// to be durable before the new versions are used (a flush), whatever the durability.
#[test]
fn with_group_commit_a_crash_loses_rotations_and_retirements_already_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("audit.log");
    let object = ObjectId::new("o").unwrap();
    let none = Credentials::none();
    let durability = hexvault::audit::Durability::GroupCommit {
        max_records: 1000,
        max_delay: std::time::Duration::ZERO,
    };
    let vault = open(&live, VaultBuilder::new().durability(durability)).unwrap();
    let cell = common::cell(&vault);
    let old = cell.seal(&object, b"old", Layer::Rest, &none).unwrap();
    cell.rotate().unwrap();
    cell.retire_below(2).unwrap();
    let new = cell.seal(&object, b"new", Layer::Rest, &none).unwrap();

    // The process dies here: copy what is on disk.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    let log = crashed.join("audit.log");
    crash_copy(&live, &log);
    drop(cell);
    drop(vault);

    let vault = open(&log, VaultBuilder::new().durability(durability)).unwrap();
    let cell = common::cell(&vault);
    let reopened = cell.open(&object, &old, &none);
    let current = cell.open(&object, &new, &none);
    assert!(
        reopened.is_err() && current.is_ok(),
        "after a crash the cell is back at versions {:?}: the retired blob opens ({}), the \
         blob sealed after the rotation does not ({:?})",
        cell.key_versions(),
        reopened.is_ok(),
        current.err()
    );
}
