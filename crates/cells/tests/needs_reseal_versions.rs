//! `Cell::needs_reseal` answers only for blobs this cell could open (review round 33): a blob
//! whose header names a key version this vault does not hold is refused
//! (`Error::UnknownKeyVersion`), as every opening path refuses it.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use hexvault_cells::*;

/// crates/cells/src/vault.rs:664-665: "`true` if `blob` was sealed under a master or cell key
/// version older than the current ones (reseal it before retiring them). Only this cell's
/// blobs have an answer"; docs/adr/0071-cli-vault-directory-and-write-order.md:48-49: "the
/// next run skips blobs whose header names the current versions (`Cell::needs_reseal`)".
/// A header naming cell key version 2 in a vault whose current version is 1 (a lie in the
/// header, or a log restored to before the rotation) names no version of this cell: the
/// answer must be an error, not "no reseal needed" (the CLI's `reseal` counts it as
/// "already current" and says nothing).
#[test]
fn needs_reseal_refuses_a_cell_version_the_vault_does_not_hold() {
    let (ahead, _log) = vault();
    let c = cell(&ahead, "p", "c");
    assert_eq!(c.rotate().unwrap(), 2);
    let blob = c
        .seal(&oid("o"), b"v2", Layer::Rest, &Credentials::none())
        .unwrap();

    let (behind, _log2) = vault();
    let rc = cell(&behind, "p", "c");
    assert_eq!(rc.key_versions().0, 1);
    refused_like_open(&rc, &blob, "cell");
}

/// Same claim (crates/cells/src/vault.rs:664-665) for the master version: a blob under
/// master version 2, presented to a vault that holds only master version 1.
#[test]
fn needs_reseal_refuses_a_master_version_the_vault_does_not_hold() {
    let (ahead, _log) = vault();
    ahead
        .rotate_master(VaultMasterKey::from_kms_bytes(&mut [0x77u8; 32]))
        .unwrap();
    let blob = cell(&ahead, "p", "c")
        .seal(&oid("o"), b"m2", Layer::Rest, &Credentials::none())
        .unwrap();

    let (behind, _log2) = vault();
    let rc = cell(&behind, "p", "c");
    refused_like_open(&rc, &blob, "master");
}

/// Same claim (crates/cells/src/vault.rs:664-665), as tampering: a blob of this very cell
/// whose header is edited to name cell key version 0xFFFF_FFFF (bytes 11..15, big-endian)
/// is refused by `open`, but `needs_reseal` calls it current, so the CLI's `reseal` counts
/// it in `already_current` ("sealed under the current versions", docs/cli.md:36) and exits
/// 0 instead of listing it in `failed`.
#[test]
fn needs_reseal_refuses_a_header_that_lies_about_its_cell_version() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let mut blob = c
        .seal(&oid("o"), b"x", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(&blob[11..15], &1u32.to_be_bytes());
    blob[11..15].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(c.open(&oid("o"), &blob, &Credentials::none()).is_err());
    let answer = c.needs_reseal(&blob);
    assert!(
        answer.is_err(),
        "needs_reseal answered {answer:?} for a header naming cell key version {}",
        u32::MAX
    );
}

/// A blob under a retired cell key version opens nowhere in this vault any more; it has no
/// "needs reseal" answer either (`KeyVersionRetired`, as `open` reports), while a blob under
/// the older version that is still held is stale (`true`) and one under the current version
/// is not (`false`).
#[test]
fn needs_reseal_refuses_a_retired_version_and_answers_for_held_ones() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let v1 = c
        .seal(&oid("o"), b"v1", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(c.rotate().unwrap(), 2);
    let v2 = c
        .seal(&oid("o"), b"v2", Layer::Rest, &Credentials::none())
        .unwrap();
    assert!(c.needs_reseal(&v1).unwrap());
    assert_eq!(c.rotate().unwrap(), 3);
    assert!(c.needs_reseal(&v2).unwrap());
    c.retire_below(2).unwrap();
    assert!(matches!(
        c.needs_reseal(&v1),
        Err(Error::KeyVersionRetired {
            which: "cell",
            version: 1,
            minimum: 2
        })
    ));
    assert!(c.needs_reseal(&v2).unwrap());
    let v3 = c
        .seal(&oid("o"), b"v3", Layer::Rest, &Credentials::none())
        .unwrap();
    assert!(!c.needs_reseal(&v3).unwrap());
}

/// `open` and `needs_reseal` both refuse `blob` for its unknown `which` key version 2.
fn refused_like_open(rc: &Cell, blob: &[u8], which: &'static str) {
    let unknown =
        |r: &Error| matches!(r, Error::UnknownKeyVersion { which: w, version: 2 } if *w == which);
    let opened = rc.open(&oid("o"), blob, &Credentials::none());
    assert!(
        opened.as_ref().err().is_some_and(unknown),
        "open: {opened:?}"
    );
    let answer = rc.needs_reseal(blob);
    assert!(
        answer.as_ref().err().is_some_and(unknown),
        "needs_reseal answered {answer:?} for a blob of an unknown {which} key version"
    );
}
