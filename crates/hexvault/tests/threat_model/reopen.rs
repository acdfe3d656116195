//! Reopening a file audit log: what survives a restart (key versions, retirements), what a
//! reopen refuses (a lost anchor, another checkpoint interval), and the anchor file
//! `checkpoint()` keeps beside the log. Attacker tests of review round 4.

use hexvault::cells::{Credentials, Layer, ObjectId};
use hexvault::{Vault, VaultBuilder};

use crate::shared::{self, open};

/// Appends `n` denied records (layer-1 seals without a token are refused and recorded).
fn denied_records(vault: &Vault, n: usize) {
    let cell = shared::cell(vault);
    for i in 0..n {
        let object = ObjectId::new(&format!("o{i}")).unwrap();
        assert!(
            cell.seal(&object, b"x", Layer::Access, &Credentials::none())
                .is_err()
        );
    }
}

/// `VaultBuilder::checkpoint_every`: an existing file log must be reopened with the interval
/// it was created with; another one is refused with `CheckpointIntervalMismatch` (the
/// header's interval is protected by a public checksum only, so the writer never takes it
/// from the file), and the same interval opens it.
#[test]
fn an_existing_file_log_must_be_reopened_with_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = |every| open(&path, VaultBuilder::new().checkpoint_every(every));
    let vault = build(64).unwrap();
    denied_records(&vault, 3);
    vault.close().unwrap();
    let err = build(8).unwrap_err();
    assert!(
        matches!(
            err,
            hexvault::Error::Audit(hexvault::audit::Error::CheckpointIntervalMismatch {
                header: 64,
                options: 8
            })
        ),
        "{err:?}"
    );
    let vault = build(64).unwrap();
    assert_eq!(vault.verify_audit().unwrap().records, 3);
}

/// SECURITY.md (audit row; threat model `insider_audit`): a cut of the log is reported
/// against the anchor file `<log>.anchor`. An attacker who can write the log file can also
/// delete the anchor beside it: the vault then reopens the cut log silently (a log with
/// signed checkpoints but no anchor is taken as "no anchor given"), rewrites a fresh anchor
/// over the cut, and `verify_audit` passes. A missing anchor beside a checkpointed log
/// should be refused, not treated as a first start.
#[test]
fn a_cut_log_with_its_anchor_deleted_is_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new().checkpoint_every(4));
    let vault = build().unwrap();
    denied_records(&vault, 4);
    vault.checkpoint().unwrap();
    let early = std::fs::read(&path).unwrap();
    denied_records(&vault, 8);
    vault.close().unwrap();

    // Control: the cut alone is caught against the anchor.
    std::fs::write(&path, &early).unwrap();
    assert!(build().is_err(), "a cut against the anchor must be caught");

    // The attack: the same cut, and the anchor deleted.
    let anchor = hexvault::audit::Anchor::path_for(&path);
    let _ = std::fs::remove_file(&anchor);
    let reopened = build();
    if let Err(err) = &reopened {
        assert!(
            matches!(err, hexvault::Error::AnchorMissing { .. }),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("restore the anchor") && text.contains("reanchor_missing_anchor"));
    }
    if let Ok(vault) = &reopened {
        // The application goes on: one more record, and the cut is invisible for good.
        denied_records(vault, 1);
        let verified = vault.verify_audit();
        panic!(
            "8 records were cut and the anchor deleted, yet the vault reopened; verify_audit \
             after one more record: {verified:?}"
        );
    }
}

/// `Vault::checkpoint`: "a file log also (re)writes its anchor file, every time". When the
/// log already ends with a checkpoint (a reopened, closed log), it used to return
/// `Some(anchor)` and write no file: with the anchor moved off-host (as SECURITY.md advises)
/// `verify_audit` then failed with a bare I/O `NotFound`.
#[test]
fn checkpoint_rewrites_the_anchor_file_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new());
    let vault = build().unwrap();
    denied_records(&vault, 2);
    vault.close().unwrap();
    // Reopened (the log ends with the checkpoint `close` signed), then the anchor shipped off.
    let vault = build().unwrap();
    let anchor = hexvault::audit::Anchor::path_for(&path);
    std::fs::rename(&anchor, dir.path().join("shipped.anchor")).unwrap();
    let returned = vault.checkpoint().unwrap().unwrap();
    assert!(
        anchor.exists(),
        "checkpoint() returned an anchor but wrote no anchor file; verify_audit: {:?}",
        vault.verify_audit()
    );
    assert_eq!(hexvault::audit::Anchor::read(&anchor).unwrap(), returned);
    assert_eq!(vault.verify_audit().unwrap().records, 2);
}

/// SECURITY.md threat model (`at_rest.rs`: "retired key version refused"; blast radius: one
/// cell's keys in hand). Cell key versions and retirements live only in the memory of one
/// `hexvault_cells::Vault` (crates/cells/src/vault.rs:631, `restore_versions`: "a new vault
/// starts every cell at version 1"); the facade neither persists them nor restores them from
/// its own audit log, which records every rotation and retirement, and no facade doc, example
/// or SECURITY.md line says the application must. After a restart from the same phrase (and
/// the same audit file) the retired version opens again and new blobs are sealed under it: a
/// leaked old cell key is good again, silently.
#[test]
fn a_restarted_vault_does_not_forget_rotations_and_retirements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new()).unwrap();
    let object = ObjectId::new("o").unwrap();
    let none = Credentials::none();
    let vault = build();
    let cell = shared::cell(&vault);
    let old = cell.seal(&object, b"old", Layer::Rest, &none).unwrap();
    cell.rotate().unwrap();
    cell.retire_below(2).unwrap();
    let new = cell.seal(&object, b"new", Layer::Rest, &none).unwrap();
    assert!(cell.open(&object, &old, &none).is_err());
    drop(cell);
    vault.close().unwrap();

    let vault = build();
    let cell = shared::cell(&vault);
    let reopened = cell.open(&object, &old, &none);
    let current = cell.open(&object, &new, &none);
    assert!(
        reopened.is_err() && current.is_ok(),
        "after a restart the cell is back at versions {:?}: the retired blob opens ({}), the \
         blob sealed after the rotation does not ({:?})",
        cell.key_versions(),
        reopened.is_ok(),
        current.err()
    );
}

/// The cut-before-the-first-checkpoint variant of the attack above: the log is cut back to
/// records no checkpoint covers (so the cut log holds no checkpoint at all) and the anchor
/// is deleted. A log that holds records while its anchor is missing is refused.
#[test]
fn a_log_cut_before_its_first_checkpoint_with_its_anchor_deleted_is_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new().checkpoint_every(4));
    let vault = build().unwrap();
    denied_records(&vault, 2);
    vault.audit_log().flush().unwrap();
    let early = std::fs::read(&path).unwrap();
    denied_records(&vault, 8);
    vault.close().unwrap();
    std::fs::write(&path, &early).unwrap();
    std::fs::remove_file(hexvault::audit::Anchor::path_for(&path)).unwrap();
    assert!(matches!(
        build(),
        Err(hexvault::Error::AnchorMissing { .. })
    ));
}

/// The opt-in recovery: a log whose anchor is lost opens with `reanchor_missing_anchor`, a
/// new anchor is signed at its head and written, and from then on a cut is caught again.
#[test]
fn the_reanchor_opt_in_opens_a_log_whose_anchor_is_lost_and_anchors_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let anchor = hexvault::audit::Anchor::path_for(&path);
    let build = |reanchor: bool| {
        let builder = VaultBuilder::new().checkpoint_every(4);
        let builder = if reanchor {
            builder.reanchor_missing_anchor()
        } else {
            builder
        };
        open(&path, builder)
    };
    let vault = build(false).unwrap();
    denied_records(&vault, 5);
    vault.close().unwrap();
    std::fs::remove_file(&anchor).unwrap();
    assert!(matches!(
        build(false),
        Err(hexvault::Error::AnchorMissing { .. })
    ));
    assert!(!anchor.exists(), "a refused open writes no anchor");

    let vault = build(true).unwrap();
    assert!(
        anchor.exists(),
        "the opt-in writes a new anchor at the head"
    );
    let written = hexvault::audit::Anchor::read(&anchor).unwrap();
    assert_eq!(written.sequence().get(), 4, "it covers the last record");
    denied_records(&vault, 4);
    vault.checkpoint().unwrap();
    let early = std::fs::read(&path).unwrap();
    denied_records(&vault, 4);
    assert_eq!(vault.verify_audit().unwrap().records, 13);
    vault.close().unwrap();
    // The opt-in is not needed with the anchor in place, and the new anchor catches a cut.
    let vault = build(false).unwrap();
    vault.close().unwrap();
    std::fs::write(&path, &early).unwrap();
    assert!(
        build(false).is_err(),
        "a cut against the new anchor is caught"
    );
    assert!(
        build(true).is_err(),
        "the opt-in does not skip an anchor that exists"
    );
}

/// Master versions survive a restart too: a master rotation and retirement are replayed
/// from the log; the retired root master no longer opens, and the rotated-to master (not
/// derivable from the root) must be loaded before anything seals.
#[test]
fn a_restarted_vault_keeps_master_rotations_and_retirements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new()).unwrap();
    let object = ObjectId::new("o").unwrap();
    let none = Credentials::none();
    let kms = [0x42u8; 32];
    let vault = build();
    let cell = shared::cell(&vault);
    let under_root = cell.seal(&object, b"root", Layer::Rest, &none).unwrap();
    vault
        .rotate_master(hexvault::keys::VaultMasterKey::from_kms_bytes(
            &mut kms.clone(),
        ))
        .unwrap();
    vault.retire_masters_below(2).unwrap();
    let under_kms = cell.seal(&object, b"kms", Layer::Rest, &none).unwrap();
    drop(cell);
    vault.close().unwrap();

    let vault = build();
    assert_eq!(vault.master_versions(), (2, 2));
    let cell = shared::cell(&vault);
    assert!(cell.open(&object, &under_root, &none).is_err());
    assert!(cell.seal(&object, b"x", Layer::Rest, &none).is_err());
    vault
        .load_master(
            2,
            hexvault::keys::VaultMasterKey::from_kms_bytes(&mut kms.clone()),
        )
        .unwrap();
    assert_eq!(
        cell.open(&object, &under_kms, &none)
            .unwrap()
            .expose_secret(),
        b"kms"
    );
}

/// `Cell::restore_versions` records its raises, so versions restored from elsewhere (the
/// CLI's config) survive the next restart through the log as well.
#[test]
fn restored_versions_survive_a_restart_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new()).unwrap();
    let vault = build();
    let cell = shared::cell(&vault);
    cell.restore_versions(5, 3).unwrap();
    drop(cell);
    vault.close().unwrap();
    let vault = build();
    let cell = shared::cell(&vault);
    assert_eq!(cell.key_versions(), (5, 3));
    assert!(cell.restore_versions(5, 2).is_err(), "never lowered");
}

/// The log cut back to its header and a torn piece of its first record, the anchor deleted:
/// the torn frame would be repaired away on open, leaving an empty log; it is refused
/// instead, like any log with more than a header and no anchor.
#[test]
fn a_log_cut_into_its_first_record_with_its_anchor_deleted_is_not_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let build = || open(&path, VaultBuilder::new());
    let empty_len = {
        let vault = build().unwrap();
        vault.audit_log().flush().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        denied_records(&vault, 3);
        vault.close().unwrap();
        len
    };
    let bytes = std::fs::read(&path).unwrap();
    let cut = usize::try_from(empty_len).unwrap() + 5;
    std::fs::write(&path, &bytes[..cut]).unwrap();
    std::fs::remove_file(hexvault::audit::Anchor::path_for(&path)).unwrap();
    assert!(matches!(
        build(),
        Err(hexvault::Error::AnchorMissing { .. })
    ));
}
