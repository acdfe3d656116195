//! Claims of the documents people read first (review round 46): what the phrase recovers
//! after a master rotation, what the anchor catches of a cut, the SECURITY.md sections
//! other files name.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use hexvault::cells::{CellId, Credentials, Layer, ObjectId, PartitionId};
use hexvault::keys::VaultMasterKey;
use hexvault::{NoAccessTokens, Vault};

const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                      abandon abandon about";

/// docs/when-to-use.md: the phrase re-creates every key, except a master key version rotated
/// in with `Vault::rotate_master`, which comes from a KMS (or the OS generator), not from the
/// phrase: a vault rebuilt from the phrase and its intact log refuses what was sealed under
/// it (`UnknownKeyVersion`, master 2) until that key is loaded again with `load_master`
/// (review round 46: the docs said the phrase re-creates every key).
#[test]
fn a_rotated_master_is_kept_apart_from_the_phrase_and_loaded_after_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let id = ObjectId::new("invoice-42").unwrap();
    let none = Credentials::none();
    let cell_of = |vault: &Vault| {
        vault
            .partition(PartitionId::new("billing").unwrap())
            .cell(CellId::new("inbox").unwrap())
    };
    let kms = || VaultMasterKey::from_kms_bytes(&mut [0x5a; 32]);

    let vault = Vault::builder()
        .audit_file(&log)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    assert_eq!(vault.rotate_master(kms()).unwrap(), 2);
    let sealed = cell_of(&vault)
        .seal(&id, b"amount=1200 EUR", Layer::Rest, &none)
        .unwrap();
    vault.close().unwrap();

    // The machine is lost; the operator restores from the written phrase (and the log).
    let restored = Vault::builder()
        .audit_file(&log)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .expect("the log verifies under the phrase's keys");
    let refused = cell_of(&restored).open(&id, &sealed, &none).unwrap_err();
    assert!(
        matches!(
            refused,
            hexvault::cells::Error::UnknownKeyVersion {
                which: "master",
                version: 2
            }
        ),
        "{refused:?}"
    );
    // The master kept in the KMS, loaded again: everything opens.
    restored.load_master(2, kms()).unwrap();
    assert_eq!(
        cell_of(&restored)
            .open(&id, &sealed, &none)
            .unwrap()
            .expose_secret(),
        b"amount=1200 EUR"
    );
}

/// README.md and SECURITY.md: a cut of the records after the last checkpoint is not caught
/// by the anchor (it holds that checkpoint, not what follows), only by a minimum sequence
/// number the verifier gives (review round 46: the README read as if the anchor caught it).
/// The facade anchors a new log at its first record; the three traversals after it, cut off
/// by someone who can write the log, pass a strict check against the anchor and fail one
/// that requires record 3.
#[test]
fn a_cut_after_the_last_checkpoint_is_caught_by_a_minimum_sequence_not_the_anchor() {
    use hexvault::audit::{Anchor, Verifier};
    use hexvault::edges::Connect;

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let vault = Vault::builder()
        .audit_file(&log)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
        .unwrap();
    let a = vault
        .partition(PartitionId::new("billing").unwrap())
        .cell(CellId::new("inbox").unwrap());
    let b = vault
        .partition(PartitionId::new("reporting").unwrap())
        .cell(CellId::new("archive").unwrap());
    let (id, none) = (ObjectId::new("invoice-42").unwrap(), Credentials::none());
    let sealed = a.seal(&id, b"amount=1200 EUR", Layer::Rest, &none).unwrap();
    let edge = vault.connect(&a, &b).unwrap();
    // Record 0: checkpointed and anchored (a new log's first record).
    edge.traverse(&id, &sealed, &none, &none).unwrap();
    let anchored_len = usize::try_from(std::fs::metadata(&log).unwrap().len()).unwrap();
    // Records 1..=3: durable, after the last checkpoint.
    for _ in 0..3 {
        edge.traverse(&id, &sealed, &none, &none).unwrap();
    }
    // The process dies here: what it leaves on disk.
    let image = std::fs::read(&log).unwrap();
    let anchor = Anchor::read(Anchor::path_for(&log)).unwrap();
    let public = vault.audit_public_key();
    assert!(
        image.len() > anchored_len,
        "records were appended after the anchor"
    );

    // An attacker who can write the log cuts the three traversals off.
    let cut = &image[..anchored_len];
    let against_anchor = Verifier::public_key(public)
        .with_anchor(anchor.clone())
        .require_anchored_tail(true)
        .verify_bytes(cut)
        .unwrap();
    assert!(against_anchor.is_ok(), "{against_anchor}");
    let against_minimum = Verifier::public_key(public)
        .with_anchor(anchor)
        .min_sequence(hexvault::audit::Sequence::new(3))
        .verify_bytes(cut)
        .unwrap();
    assert!(
        matches!(
            against_minimum.failure.as_ref().map(|f| &f.reason),
            Some(hexvault::audit::Damage::Truncated { .. })
        ),
        "{against_minimum}"
    );
    drop(vault);
}

/// Every `(SECURITY.md, "SECTION")` reference in these files names a heading SECURITY.md has
/// (review round 46: four named a "Not covered" section that does not exist).
#[test]
fn every_named_security_md_section_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let security = std::fs::read_to_string(root.join("SECURITY.md")).unwrap();
    let headings: Vec<&str> = security
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    let mut dangling = Vec::new();
    for file in [
        "crates/ffi/README.md",
        "crates/ffi/src/lib.rs",
        "include/hexvault.h",
        "crates/cells/src/session.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for (at, _) in text.match_indices("SECURITY.md, \"") {
            let rest = &text[at + "SECURITY.md, \"".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            if !headings.iter().any(|h| h.starts_with(name)) {
                dangling.push(format!("{file}: SECURITY.md, \"{name}\""));
            }
        }
    }
    assert!(
        dangling.is_empty(),
        "sections SECURITY.md does not have: {dangling:?}"
    );
}
