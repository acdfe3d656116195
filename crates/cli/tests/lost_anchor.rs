//! A vault log whose anchor file was deleted (review round 13): refused by `audit verify`
//! of the vault directory and of its `audit.log` named as FILE (keyed or with the public
//! key), and by `ls`, also when the log was cut back to its bare header.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::stderr_of;
use common::vault::Vault;

/// The length of an audit log file's header (docs/formats.md, "Header (88 bytes)").
const LOG_HEADER_LEN: u64 = 88;

/// A vault with cell `p/a`, one object sealed under key v1, then rotated to v2; returns the
/// vault and the log's length before the rotation (a checkpoint ends it).
fn rotated_vault() -> (Vault, u64) {
    let vault = Vault::with(&["p"], &["p/a"], &[]);
    vault.ok(&["seal", "--cell", "p/a", "--id", "o1"], b"data");
    let log = vault.dir.join("audit.log");
    let before_rotation = std::fs::metadata(&log).unwrap().len();
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    (vault, before_rotation)
}

/// The attacker who can write the vault directory: cut the log to `len` bytes, delete the
/// anchor file.
fn cut_and_delete_anchor(vault: &Vault, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(vault.dir.join("audit.log"))
        .unwrap()
        .set_len(len)
        .unwrap();
    std::fs::remove_file(vault.dir.join("audit.log.anchor")).unwrap();
}

/// SECURITY.md (audit): "`hexvault audit verify` ... refuses the vault directory's own log
/// when it holds records but its anchor file is missing ... unless a kept anchor is given
/// with `--anchor`". The refusal runs only when no FILE is named (`vault_dir` is
/// `vault_key.is_some()`, audit.rs `verify`): the same log named as FILE, which is how
/// docs and the note ("verify --public-key") tell operators to check it, is accepted,
/// exit 0, `ok: true`, with a key version rolled back (the rotation cut off).
#[test]
fn audit_verify_refuses_the_vaults_own_log_named_as_file_when_its_anchor_was_deleted() {
    let (vault, before_rotation) = rotated_vault();
    let key = vault.json(&["ls"])["audit_public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cut_and_delete_anchor(&vault, before_rotation);
    // The vault directory form refuses it (the round-11 fix) ...
    assert!(!vault.run(&["audit", "verify"], b"").status.success());
    let file = vault.dir.join("audit.log");
    let file = file.to_str().unwrap();
    // ... the same file named as FILE, keyed (the mnemonic is in the environment) ...
    let keyed = vault.run(&["audit", "verify", file, "--json"], b"");
    assert!(
        !keyed.status.success(),
        "audit verify FILE (the vault's own audit.log) accepted the cut log whose anchor was \
         deleted: {} / {}",
        String::from_utf8_lossy(&keyed.stdout),
        stderr_of(&keyed)
    );
    // ... and with the audit public key, as the operator is told to keep and use it.
    let public = vault.run(
        &["audit", "verify", file, "--public-key", &key, "--json"],
        b"",
    );
    assert!(
        !public.status.success(),
        "audit verify FILE --public-key accepted the vault's cut log whose anchor was \
         deleted: {} / {}",
        String::from_utf8_lossy(&public.stdout),
        stderr_of(&public)
    );
}

/// The same promise, and CHANGELOG ("a log cut back with its anchor deleted passed with only
/// a note"): `refuse_lost_anchor` lets a log through when it holds nothing past its header.
/// A vault directory never has such a log (`init` writes its first record and its anchor
/// before config.toml exists), so a header-only log beside config.toml is a log cut back to
/// its header with the anchor deleted: the whole audit trail erased. `audit verify` of the
/// vault reports `ok: true`, 0 records, exit 0.
#[test]
fn audit_verify_refuses_a_vault_log_cut_back_to_its_header_with_its_anchor_deleted() {
    let (vault, _) = rotated_vault();
    cut_and_delete_anchor(&vault, LOG_HEADER_LEN);
    // Keyed commands refuse the directory (the topology the log records is gone) ...
    assert!(
        !vault
            .run(&["seal", "--cell", "p/a", "--id", "o2"], b"data")
            .status
            .success()
    );
    // ... the strict verifier of the vault directory must not call it OK.
    let verify = vault.run(&["audit", "verify", "--json"], b"");
    assert!(
        !verify.status.success(),
        "audit verify accepted the vault's log cut back to its header, anchor deleted: {} / {}",
        String::from_utf8_lossy(&verify.stdout),
        stderr_of(&verify)
    );
    // `seal` above pointed to `config adopt`, which must not adopt the erased log either.
    let adopt = vault.run(&["config", "adopt"], b"");
    assert!(
        !adopt.status.success() && stderr_of(&adopt).contains("anchor"),
        "config adopt accepted the vault's log cut back to its header, anchor deleted: {}",
        stderr_of(&adopt)
    );
}

/// Same root cause in `ls` (`VaultDir::log_versions`, the rule `refuse_lost_anchor` copies;
/// review round 9: `ls` "fails if the log does not verify", docs/cli.md): over a log cut back
/// to its header with the anchor deleted, `ls` exits 0 and shows cell `p/a` at key v1 although
/// it was rotated to v2 (the round-9 rollback, through the header-only case).
#[test]
fn ls_refuses_a_vault_log_cut_back_to_its_header_with_its_anchor_deleted() {
    let (vault, _) = rotated_vault();
    assert_eq!(vault.json(&["ls"])["cells"][0]["key_version"], 2);
    cut_and_delete_anchor(&vault, LOG_HEADER_LEN);
    let ls = vault.run(&["ls", "--json"], b"");
    assert!(
        !ls.status.success(),
        "ls accepted the vault's log cut back to its header, anchor deleted: {}",
        String::from_utf8_lossy(&ls.stdout)
    );
}
