//! Review round 45 findings (each test fails on the code it was written against).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::stderr_of;
use common::vault::Vault;

fn traverse_records(vault: &Vault) -> usize {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    String::from_utf8_lossy(&shown.stdout)
        .matches("\"traverse\"")
        .count()
}

fn cell_dir(vault: &Vault, hex: &str) -> PathBuf {
    vault.dir.join("objects").join("70").join(hex)
}

/// crates/cli/src/commands/vault.rs:1341-1342 ("Checked again under the lock: ... a record
/// without its blob must not follow (review round 41)") and CHANGELOG.md ("`traverse` checks
/// again under the audit log's lock that the destination object does not exist (one written
/// meanwhile left a traverse record without its blob)").
///
/// Both checks use `Path::exists`, which follows a symbolic link and answers `false` for a
/// dangling one. A dangling link at the destination blob's name (planted by whoever can write
/// the vault directory) passes both checks; the edge then appends the traverse record, and
/// only `write_blob`'s `persist_noclobber` finds the name taken: the command fails with a
/// traverse record in the log and no blob at the destination.
#[test]
#[ignore = "review45 finding"]
fn a_dangling_link_at_the_destination_is_refused_before_any_traverse_record() {
    let vault = Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"payload");
    let before = traverse_records(&vault);
    let dest = cell_dir(&vault, "62");
    std::fs::create_dir_all(&dest).unwrap();
    // hex("obj") = 6f626a
    std::os::unix::fs::symlink("/nonexistent/hexvault-review45", dest.join("6f626a.blob"))
        .unwrap();
    let out = vault.run(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "obj"],
        b"",
    );
    assert!(!out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        traverse_records(&vault),
        before,
        "a traverse record without its blob (stderr: {})",
        stderr_of(&out)
    );
}
