//! Rotation: per cell and for the master, new versions seal, old versions open until
//! retired; `reseal` moves a blob to the current versions without handing out plaintext.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hexvault_cells::*;

#[test]
fn cell_rotation_dual_key_period_reseal_and_retirement() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    for layer in [Layer::Rest, Layer::Access, Layer::Session] {
        let old = c.seal(&oid("o"), b"rotating", layer, &creds).unwrap();
        let v = c.rotate().unwrap();
        assert_eq!(c.key_versions(), (v, v - 1));
        assert!(c.needs_reseal(&old).unwrap());
        // The old version still opens during the dual-key period.
        assert_eq!(
            c.open(&oid("o"), &old, &creds).unwrap().expose_secret(),
            b"rotating"
        );
        let new = c.reseal(&oid("o"), &old, &creds).unwrap();
        assert!(!c.needs_reseal(&new).unwrap());
        assert_ne!(old, new);
        c.retire_below(v).unwrap();
        assert!(matches!(
            c.open(&oid("o"), &old, &creds),
            Err(Error::KeyVersionRetired { which: "cell", .. })
        ));
        assert_eq!(
            c.open(&oid("o"), &new, &creds).unwrap().expose_secret(),
            b"rotating"
        );
    }
    // Another cell is untouched by this cell's rotation.
    assert_eq!(cell(&vault, "p", "d").key_versions(), (1, 1));
}

#[test]
fn master_rotation_and_restart() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let old = c
        .seal(&oid("o"), b"m", Layer::Rest, &Credentials::none())
        .unwrap();
    let mut second = [0x77u8; 32];
    assert_eq!(
        vault
            .rotate_master(VaultMasterKey::from_kms_bytes(&mut second.clone()))
            .unwrap(),
        2
    );
    let new = c
        .seal(&oid("o"), b"m", Layer::Rest, &Credentials::none())
        .unwrap();
    assert!(c.needs_reseal(&old).unwrap());
    assert!(!c.needs_reseal(&new).unwrap());
    assert!(c.open(&oid("o"), &old, &Credentials::none()).is_ok());

    // After a restart: a vault from master 1 cannot open version-2 blobs until it loads it.
    let (restarted, _) = common::vault();
    let rc = cell(&restarted, "p", "c");
    assert!(matches!(
        rc.open(&oid("o"), &new, &Credentials::none()),
        Err(Error::UnknownKeyVersion {
            which: "master",
            version: 2
        })
    ));
    restarted
        .load_master(2, VaultMasterKey::from_kms_bytes(&mut second))
        .unwrap();
    assert_eq!(restarted.master_versions(), (2, 1));
    assert!(rc.open(&oid("o"), &new, &Credentials::none()).is_ok());

    let resealed = c.reseal(&oid("o"), &old, &Credentials::none()).unwrap();
    vault.retire_masters_below(2).unwrap();
    assert!(matches!(
        c.open(&oid("o"), &old, &Credentials::none()),
        Err(Error::KeyVersionRetired {
            which: "master",
            ..
        })
    ));
    assert!(c.open(&oid("o"), &resealed, &Credentials::none()).is_ok());
    assert!(restarted.retire_masters_below(3).is_err());
}

#[test]
fn restored_cell_versions_open_rotated_blobs() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    c.rotate().unwrap();
    c.rotate().unwrap();
    let blob = c
        .seal(&oid("o"), b"v3", Layer::Rest, &Credentials::none())
        .unwrap();
    let (restarted, _) = common::vault();
    let rc = cell(&restarted, "p", "c");
    assert!(matches!(
        rc.open(&oid("o"), &blob, &Credentials::none()),
        Err(Error::UnknownKeyVersion {
            which: "cell",
            version: 3
        })
    ));
    rc.restore_versions(3, 2).unwrap();
    assert_eq!(
        rc.open(&oid("o"), &blob, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"v3"
    );
    assert!(rc.restore_versions(1, 2).is_err());
    assert!(rc.retire_below(4).is_err());
}

#[test]
fn a_handle_remembers_its_key_only_until_versions_change() {
    let (vault, _) = vault();
    let c = cell(&vault, "p", "a");
    let none = Credentials::none();
    let o = oid("o");
    // The first seal fills the handle's memo; the second uses it.
    let v1 = c.seal(&o, b"one", Layer::Rest, &none).unwrap();
    let v1b = c.seal(&o, b"one", Layer::Rest, &none).unwrap();
    assert!(!c.needs_reseal(&v1b).unwrap());
    c.rotate().unwrap();
    let v2 = c.seal(&o, b"two", Layer::Rest, &none).unwrap();
    assert!(c.needs_reseal(&v1).unwrap(), "sealed before the rotation");
    assert!(
        !c.needs_reseal(&v2).unwrap(),
        "the memo did not seal under version 1"
    );
    // A clone shares the memo; both versions open through it.
    let clone = c.clone();
    assert_eq!(clone.open(&o, &v1, &none).unwrap().expose_secret(), b"one");
    assert_eq!(clone.open(&o, &v2, &none).unwrap().expose_secret(), b"two");
    c.retire_below(2).unwrap();
    assert!(matches!(
        c.open(&o, &v1, &none),
        Err(Error::KeyVersionRetired { .. })
    ));
    assert_eq!(c.open(&o, &v2, &none).unwrap().expose_secret(), b"two");
    vault
        .rotate_master(VaultMasterKey::from_kms_bytes(&mut [7; 32]))
        .unwrap();
    let m2 = c.seal(&o, b"three", Layer::Rest, &none).unwrap();
    assert!(c.needs_reseal(&v2).unwrap());
    assert!(!c.needs_reseal(&m2).unwrap());
    c.restore_versions(5, 5).unwrap();
    let v5 = c.seal(&o, b"five", Layer::Rest, &none).unwrap();
    assert!(!c.needs_reseal(&v5).unwrap());
    assert!(
        c.open(&o, &m2, &none).is_err(),
        "version 2 is below the restored minimum"
    );
}

#[test]
fn an_evicted_key_is_not_kept_alive_by_a_handle() {
    let log = Arc::new(memory_log());
    let vault = Vault::with_options(
        VaultMasterKey::from_kms_bytes(&mut MASTER.clone()),
        Resolver,
        log,
        VaultOptions::default().cache_capacity(1),
    );
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let none = Credentials::none();
    let o = oid("o");
    for _ in 0..3 {
        let x = a.seal(&o, b"a", Layer::Rest, &none).unwrap();
        let y = b.seal(&o, b"b", Layer::Rest, &none).unwrap();
        assert_eq!(a.open(&o, &x, &none).unwrap().expose_secret(), b"a");
        assert_eq!(b.open(&o, &y, &none).unwrap().expose_secret(), b"b");
        assert!(a.open(&o, &y, &none).is_err());
    }
    assert!(format!("{vault:?}").contains("cached_keys: 1"));
}

#[test]
fn restore_versions_only_raises_and_records_each_raise() {
    let (vault, log) = vault();
    let c = cell(&vault, "p", "c");
    c.restore_versions(3, 2).unwrap();
    let after_raise = records(&log).len();
    assert_eq!(after_raise, 2, "one rotation and one retirement record");
    // Equal versions: nothing changes, nothing is recorded.
    c.restore_versions(3, 2).unwrap();
    assert_eq!(records(&log).len(), after_raise);
    // Lowering the current version or the retired minimum is refused, and changes nothing.
    for (current, minimum) in [(2, 2), (3, 1), (2, 1)] {
        assert!(matches!(
            c.restore_versions(current, minimum),
            Err(Error::InvalidKeyVersion { .. })
        ));
        assert_eq!(c.key_versions(), (3, 2));
    }
    assert_eq!(records(&log).len(), after_raise);
    // A retired blob stays retired after a refused restore.
    c.restore_versions(4, 4).unwrap();
    let blob4 = c
        .seal(&oid("o"), b"v4", Layer::Rest, &Credentials::none())
        .unwrap();
    c.rotate().unwrap();
    c.retire_below(5).unwrap();
    assert!(c.restore_versions(5, 4).is_err());
    assert!(matches!(
        c.open(&oid("o"), &blob4, &Credentials::none()),
        Err(Error::KeyVersionRetired { .. })
    ));
}

#[test]
fn replaying_the_log_restores_every_version_a_restart_forgot() {
    let (vault, log) = vault();
    let none = Credentials::none();
    let a = cell(&vault, "p", "a");
    let b = cell(&vault, "q", "b");
    let untouched = cell(&vault, "p", "untouched");
    let old_a = a.seal(&oid("o"), b"old", Layer::Rest, &none).unwrap();
    a.rotate().unwrap();
    a.rotate().unwrap();
    a.retire_below(2).unwrap();
    // A reseal is a `rotate` record with a source: not a version change.
    let resealed = a.reseal(
        &oid("o"),
        &a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap(),
        &none,
    );
    assert!(resealed.is_ok());
    b.restore_versions(7, 5).unwrap();
    let mut second = [0x55u8; 32];
    vault
        .rotate_master(VaultMasterKey::from_kms_bytes(&mut second.clone()))
        .unwrap();
    vault.retire_masters_below(2).unwrap();
    let new_a = a.seal(&oid("o"), b"new", Layer::Rest, &none).unwrap();

    // The rule alone, for readers that hold no key (the command line's `ls`).
    let recorded = RecordedVersions::from_records(records(&log).iter()).unwrap();
    assert_eq!(recorded.master(), (2, 2));
    assert_eq!(
        recorded.cell(&PartitionId::new("p").unwrap(), &CellId::new("a").unwrap()),
        (3, 2)
    );
    assert_eq!(
        recorded.cell(&PartitionId::new("q").unwrap(), &CellId::new("b").unwrap()),
        (7, 5)
    );
    assert_eq!(
        recorded.cell(
            &PartitionId::new("p").unwrap(),
            &CellId::new("untouched").unwrap()
        ),
        (1, 1)
    );
    let named: Vec<_> = recorded
        .cells()
        .map(|(p, c, v)| (p.as_str().to_owned(), c.as_str().to_owned(), v))
        .collect();
    assert_eq!(
        named,
        [
            ("p".to_owned(), "a".to_owned(), (3, 2)),
            ("q".to_owned(), "b".to_owned(), (7, 5))
        ]
    );

    let (restarted, _) = common::vault();
    restarted.replay_versions(records(&log).iter()).unwrap();
    let ra = cell(&restarted, "p", "a");
    assert_eq!(ra.key_versions(), (3, 2));
    assert_eq!(cell(&restarted, "q", "b").key_versions(), (7, 5));
    assert_eq!(cell(&restarted, "p", "untouched").key_versions(), (1, 1));
    assert_eq!(untouched.key_versions(), (1, 1));
    assert_eq!(restarted.master_versions(), (2, 2));
    // Master 1 (the one the vault was built with) is retired: its key is gone.
    assert!(matches!(
        ra.open(&oid("o"), &old_a, &none),
        Err(Error::KeyVersionRetired { .. })
    ));
    // Master 2 is not derivable: nothing seals or opens under it until it is loaded.
    assert!(matches!(
        ra.seal(&oid("o"), b"y", Layer::Rest, &none),
        Err(Error::UnknownKeyVersion {
            which: "master",
            version: 2
        })
    ));
    restarted
        .load_master(2, VaultMasterKey::from_kms_bytes(&mut second))
        .unwrap();
    assert_eq!(
        ra.open(&oid("o"), &new_a, &none).unwrap().expose_secret(),
        b"new"
    );
    // Replaying again (or a prefix of the log) never lowers anything.
    let all = records(&log);
    restarted.replay_versions(all.iter().take(2)).unwrap();
    restarted.replay_versions(all.iter()).unwrap();
    assert_eq!(ra.key_versions(), (3, 2));
    assert_eq!(restarted.master_versions(), (2, 2));
}

#[test]
fn a_rotation_record_this_crate_never_writes_is_refused_by_the_replay() {
    use hexvault_audit::{AuditLog, Endpoint, Event, EventKind, KeyVersion};
    for (version, layer, cell_id) in [
        (0u32, 0u8, b"c".to_vec()),
        (2, 1, b"c".to_vec()),
        (2, 0, b"not an id".to_vec()),
    ] {
        let log = memory_log();
        log.append(Event::new(EventKind::Rotate).destination(Endpoint::new(
            hexvault_audit::PartitionId::new(b"p".to_vec()).unwrap(),
            hexvault_audit::CellId::new(cell_id).unwrap(),
            hexvault_audit::Layer(layer),
            KeyVersion(version),
        )))
        .unwrap();
        let (vault, _) = vault();
        assert!(RecordedVersions::from_records(records(&log).iter()).is_err());
        assert!(vault.replay_versions(records(&log).iter()).is_err());
        assert_eq!(cell(&vault, "p", "c").key_versions(), (1, 1));
    }
}

/// Two independent handles of one cell have two memos: a rotation or retirement made
/// through one (or through the vault) must be seen by the other, whose memo still holds
/// the old key. Each assertion fails if a warm memo answered with a stale key.
#[test]
fn a_warm_handle_sees_rotations_and_retirements_made_elsewhere() {
    let (vault, _) = vault();
    let warm = cell(&vault, "p", "a");
    let admin = cell(&vault, "p", "a");
    let none = Credentials::none();
    let o = oid("o");
    let versions = |blob: &[u8]| {
        (
            u32::from_be_bytes(blob[7..11].try_into().unwrap()),
            u32::from_be_bytes(blob[11..15].try_into().unwrap()),
        )
    };
    // Warm the memo for sealing and opening under (master 1, cell 1).
    let v1 = warm.seal(&o, b"one", Layer::Rest, &none).unwrap();
    assert_eq!(warm.open(&o, &v1, &none).unwrap().expose_secret(), b"one");
    assert_eq!(versions(&v1), (1, 1));

    admin.rotate().unwrap();
    let v2 = warm.seal(&o, b"two", Layer::Rest, &none).unwrap();
    assert_eq!(
        versions(&v2),
        (1, 2),
        "a stale memo sealed under cell version 1"
    );
    // The old version still opens (not retired), then the memo is refilled with version 2.
    assert_eq!(warm.open(&o, &v1, &none).unwrap().expose_secret(), b"one");
    assert_eq!(warm.open(&o, &v2, &none).unwrap().expose_secret(), b"two");

    admin.retire_below(2).unwrap();
    assert!(
        matches!(
            warm.open(&o, &v1, &none),
            Err(Error::KeyVersionRetired { .. })
        ),
        "a stale memo opened a retired version"
    );
    assert_eq!(warm.open(&o, &v2, &none).unwrap().expose_secret(), b"two");

    vault
        .rotate_master(VaultMasterKey::from_kms_bytes(&mut [9; 32]))
        .unwrap();
    let m2 = warm.seal(&o, b"three", Layer::Rest, &none).unwrap();
    assert_eq!(versions(&m2), (2, 2), "a stale memo sealed under master 1");
    assert_eq!(warm.open(&o, &m2, &none).unwrap().expose_secret(), b"three");
    vault.retire_masters_below(2).unwrap();
    assert!(
        warm.open(&o, &v2, &none).is_err(),
        "a stale memo opened under a retired master"
    );
    assert_eq!(warm.open(&o, &m2, &none).unwrap().expose_secret(), b"three");

    admin.restore_versions(7, 7).unwrap();
    let v7 = warm.seal(&o, b"seven", Layer::Rest, &none).unwrap();
    assert_eq!(
        versions(&v7),
        (2, 7),
        "a stale memo ignored restored versions"
    );
    assert!(
        warm.open(&o, &m2, &none).is_err(),
        "below the restored minimum"
    );
    assert_eq!(warm.open(&o, &v7, &none).unwrap().expose_secret(), b"seven");
}

/// A warm handle of cell `a` never opens a blob of cell `b` sealed under the same versions
/// (the straight path compares the names before it looks at the key).
#[test]
fn a_warm_handle_refuses_blobs_of_another_cell_by_name() {
    let (vault, _) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let none = Credentials::none();
    let o = oid("o");
    let x = a.seal(&o, b"a", Layer::Rest, &none).unwrap();
    assert_eq!(a.open(&o, &x, &none).unwrap().expose_secret(), b"a");
    let y = b.seal(&o, b"b", Layer::Rest, &none).unwrap();
    assert!(matches!(
        a.open(&o, &y, &none),
        Err(Error::Mismatch { field: "cell", .. })
    ));
    // Same bytes, with cell b's name rewritten to a: the names match, the key does not.
    let mut forged = y.clone();
    let at = forged.windows(2).position(|w| w == b"\x01b").unwrap();
    forged[at + 1] = b'a';
    assert!(matches!(
        a.open(&o, &forged, &none),
        Err(Error::Authentication)
    ));
}

/// Memo entries are per thread (ADR 0078): a clone used on another thread fills its own,
/// and a rotation or retirement made on one thread is seen by the warm entry of another.
#[test]
fn a_memo_entry_is_per_thread_and_sees_changes_made_on_other_threads() {
    let (vault, _) = vault();
    let c = cell(&vault, "p", "a");
    let none = Credentials::none();
    let o = oid("o");
    let cell_version = |blob: &[u8]| u32::from_be_bytes(blob[11..15].try_into().unwrap());
    // Warm this thread's entry under cell version 1.
    let v1 = c.seal(&o, b"one", Layer::Rest, &none).unwrap();
    assert_eq!(c.open(&o, &v1, &none).unwrap().expose_secret(), b"one");
    let other = c.clone();
    let v2 = std::thread::spawn(move || {
        let none = Credentials::none();
        let o = oid("o");
        // A fresh entry on this thread: opens version 1, then rotates and seals under 2.
        assert_eq!(other.open(&o, &v1, &none).unwrap().expose_secret(), b"one");
        other.rotate().unwrap();
        let v2 = other.seal(&o, b"two", Layer::Rest, &none).unwrap();
        assert_eq!(other.open(&o, &v2, &none).unwrap().expose_secret(), b"two");
        other.retire_below(2).unwrap();
        (v1, v2)
    })
    .join()
    .unwrap();
    let (v1, v2) = v2;
    // This thread's entry still names version 1 under the old generation: it must miss.
    let sealed = c.seal(&o, b"three", Layer::Rest, &none).unwrap();
    assert_eq!(
        cell_version(&sealed),
        2,
        "a stale entry sealed under version 1"
    );
    assert!(matches!(
        c.open(&o, &v1, &none),
        Err(Error::KeyVersionRetired { .. })
    ));
    assert_eq!(c.open(&o, &v2, &none).unwrap().expose_secret(), b"two");
}
