//! Rotation: per cell and for the master, new versions seal, old versions open until
//! retired; `reseal` moves a blob to the current versions without handing out plaintext.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

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
