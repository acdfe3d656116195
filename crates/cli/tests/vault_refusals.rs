//! What the vault directory refuses that reviews found accepted: an edge whose route name
//! another edge already has (it bricked the vault; round 9), `ls` over a cut log whose
//! anchor file was deleted (round 9), and `audit verify` of the vault's log named as FILE,
//! or cut back to its bare header, with its anchor deleted (round 13).
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

/// A vault with partition `p` and the given cells of it (no `billing/inbox`).
fn vault_with(cells: &[&str]) -> Vault {
    Vault::with(&["p"], cells, &[])
}

/// The attack of review round 9: cut `audit.log` back to its first `len` bytes (the
/// checkpoint before a rotation) and delete `audit.log.anchor`, which the log alone cannot
/// show.
fn cut_the_log_and_delete_the_anchor(vault: &Vault, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(vault.dir.join("audit.log"))
        .unwrap()
        .set_len(len)
        .unwrap();
    std::fs::remove_file(vault.dir.join("audit.log.anchor")).unwrap();
}

/// Review round 9: `edge add` recorded (durably, in the append-only audit log) an edge whose default
/// route name `P/C@P/C` equals the name of an edge already declared: ids may hold `@`
/// (and cell ids `/`), so `p/a -> p/b@p/c` and `p/a@p/b -> p/c` are both named
/// `p/a@p/b@p/c`. Since ADR 0087 config.toml must equal the log's `declare` records, and
/// `VaultDir::assemble` connects every edge, so from then on every command that opens the
/// vault with its keys (seal, open, traverse, rotate, reseal, session, further adds) fails
/// with "a route id is declared once"; `config sync` rewrites the same two edges. Nothing
/// the command line offers removes a `declare` record: the vault is bricked for good.
/// Now the colliding edge is refused before anything is recorded, and the vault keeps
/// opening.
#[test]
fn a_second_edge_with_a_colliding_route_name_is_refused_and_the_vault_keeps_opening() {
    let vault = vault_with(&["p/a", "p/b@p/c", "p/a@p/b", "p/c"]);
    vault.ok(&["edge", "add", "p/a", "p/b@p/c"], b"");
    let refused = vault.run(&["edge", "add", "p/a@p/b", "p/c"], b"");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains("route name"),
        "{}",
        stderr_of(&refused)
    );
    let seal = vault.run(&["seal", "--cell", "p/a", "--id", "x1"], b"data");
    assert!(
        seal.status.success(),
        "the vault no longer opens: {}",
        stderr_of(&seal)
    );
    // And the damage is not repairable with the command line's own tool.
    vault.ok(&["config", "sync"], b"");
    let again = vault.run(&["seal", "--cell", "p/c", "--id", "x2"], b"data");
    assert!(again.status.success(), "{}", stderr_of(&again));
}

/// `edge add` refuses, before anything is recorded, an edge whose route name is the reseal
/// route name of a declared cell (`reseal@P/C`, `hexvault_edges::reseal_route`) and an edge
/// whose route name does not fit a route id (`hexvault_edges::Error::RouteName`).
#[test]
fn edges_named_like_a_reseal_route_or_too_long_are_refused_before_anything_is_recorded() {
    let long_cell = format!("p/{}", "c".repeat(120));
    let vault = Vault::with(
        &["p", "reseal@p", "q"],
        &["reseal@p/c", "q/d", "p/c@q/d", &long_cell],
        &[],
    );
    let log = vault.dir.join("audit.log");
    let before = std::fs::read(&log).unwrap();
    // `reseal@p/c@q/d` is also the reseal route name of cell `p/c@q/d`.
    let refused = vault.run(&["edge", "add", "reseal@p/c", "q/d"], b"");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains(
            "`reseal@p/c@q/d`, which the edges library reserves for the reseal edge of cell p/c@q/d"
        ),
        "{}",
        stderr_of(&refused)
    );
    // `p/ccc…@q/d` (2 + 120 + 1 + 3 = 126 bytes) fits; `p/ccc…@reseal@p/c` (133) does not.
    vault.ok(&["edge", "add", &long_cell, "q/d"], b"");
    let after_fitting = std::fs::read(&log).unwrap();
    assert_ne!(after_fitting, before, "a declared edge is recorded");
    let refused = vault.run(&["edge", "add", &long_cell, "reseal@p/c"], b"");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains(&format!(
            "the edge's route name `{long_cell}@reseal@p/c` is longer than 128 bytes"
        )),
        "{}",
        stderr_of(&refused)
    );
    assert_eq!(
        std::fs::read(&log).unwrap(),
        after_fitting,
        "a refused edge add wrote to the log"
    );
    assert_eq!(vault.json(&["ls"])["edges"].as_array().unwrap().len(), 1);
}

/// `edge add P/C P/C` recorded a self-edge that `traverse` (which refuses --from and --to
/// the same cell) could never use, for good, in the append-only log. Refused as a usage
/// error before the vault is opened; nothing is recorded.
#[test]
fn an_edge_from_a_cell_to_itself_is_refused_before_anything_is_recorded() {
    let vault = vault_with(&["p/a"]);
    let log = vault.dir.join("audit.log");
    let before = std::fs::read(&log).unwrap();
    let refused = vault.run(&["edge", "add", "p/a", "p/a"], b"");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr_of(&refused).contains("an edge from cell p/a to itself is never traversed"),
        "{}",
        stderr_of(&refused)
    );
    assert_eq!(std::fs::read(&log).unwrap(), before, "nothing recorded");
    assert!(vault.json(&["ls"])["edges"].as_array().unwrap().is_empty());
}

/// Review round 9: `ls` (no secret) verified the log with config.toml's public key and the anchor
/// only "if there is one" (`VaultDir::log_versions`, crates/cli/src/vaultdir.rs), so a
/// log cut back to an earlier checkpoint whose anchor file was deleted passes: `ls`
/// shows the rolled-back key versions (a rotation or retirement undone, `0 to reseal`)
/// with exit 0 and no note, while every keyed command refuses the same directory
/// (`Error::AnchorMissing`, SECURITY.md: "a cut log whose anchor file was deleted is
/// refused"). docs/cli.md promises that `ls` "fails if the log does not verify" and shows
/// the versions the log states. Now `ls` refuses a log with records and no anchor, as the
/// facade does.
#[test]
fn ls_refuses_a_cut_log_whose_anchor_was_deleted() {
    let vault = vault_with(&["p/a"]);
    vault.ok(&["seal", "--cell", "p/a", "--id", "o1"], b"data");
    let log = vault.dir.join("audit.log");
    let before_rotation = std::fs::metadata(&log).unwrap().len();
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let honest = vault.json(&["ls"]);
    assert_eq!(honest["cells"][0]["key_version"], 2);
    // The attacker: cut the rotation off (at the checkpoint before it), delete the anchor.
    cut_the_log_and_delete_the_anchor(&vault, before_rotation);
    // A keyed command refuses the directory ...
    let seal = vault.run(&["seal", "--cell", "p/a", "--id", "o2"], b"data");
    assert!(!seal.status.success());
    // ... and so does `ls` (it used to report the rolled-back key version).
    let ls = vault.run(&["ls", "--json"], b"");
    assert!(
        !ls.status.success(),
        "ls accepted a cut log without its anchor: {}",
        String::from_utf8_lossy(&ls.stdout)
    );
    assert!(stderr_of(&ls).contains("anchor"), "{}", stderr_of(&ls));
}

/// Review round 9: a 128-byte cell id was declared (recorded for good) although its folder
/// name, the id in hex, is 256 bytes and no file system takes it: `seal` into it then failed
/// with "File name too long". Ids that cannot name a file are refused before anything is
/// recorded (usage error, exit 2); the longest that fit work end to end.
#[test]
fn ids_too_long_for_a_file_name_are_refused_before_anything_is_recorded() {
    let vault = vault_with(&[]);
    let log = vault.dir.join("audit.log");
    let before = std::fs::read(&log).unwrap();
    let long_cell = format!("p/{}", "c".repeat(128));
    let refused = vault.run(&["cell", "add", &long_cell], b"");
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert!(!stderr_of(&refused).contains(&"c".repeat(128)));
    let long_partition = "q".repeat(128);
    let refused = vault.run(&["partition", "add", &long_partition], b"");
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert_eq!(
        std::fs::read(&log).unwrap(),
        before,
        "a refused add wrote to the log"
    );

    let cell = format!("p/{}", "c".repeat(127));
    vault.ok(&["cell", "add", &cell], b"");
    let refused = vault.run(
        &["seal", "--cell", &cell, "--id", &"o".repeat(126)],
        b"data",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    vault.ok(
        &["seal", "--cell", &cell, "--id", &"o".repeat(125)],
        b"data",
    );
    let opened = vault.ok(&["open", "--cell", &cell, "--id", &"o".repeat(125)], b"");
    assert_eq!(opened.stdout, b"data");
}

/// Review round 11: `hexvault audit verify` without FILE verifies the vault directory's log
/// "with the audit public key of its config.toml ... and its anchor" (its --help) and is
/// strict (SECURITY.md: "`hexvault audit verify` fails on a cut, torn or unanchored tail
/// unless `--forensic`"). The attack of review round 9 on `ls` (cut the log back to the
/// checkpoint before a rotation, delete `audit.log.anchor`) is refused by `ls` and by every
/// keyed command ("a log cut back with its anchor deleted, which the log alone cannot show",
/// docs/cli.md), but `audit verify` of the same directory reports `ok: true`, exit 0, with
/// only a note on standard error: the operator's verification tool accepts the rolled-back
/// log the vault itself refuses.
#[test]
fn audit_verify_of_the_vault_refuses_a_cut_log_whose_anchor_was_deleted() {
    let vault = Vault::with(&["p"], &["p/a"], &[]);
    vault.ok(&["seal", "--cell", "p/a", "--id", "o1"], b"data");
    let log = vault.dir.join("audit.log");
    let before_rotation = std::fs::metadata(&log).unwrap().len();
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    // The attacker (can write the vault directory): cut the rotation off at the checkpoint
    // before it, delete the anchor.
    cut_the_log_and_delete_the_anchor(&vault, before_rotation);
    // The vault's own commands refuse the directory.
    assert!(!vault.run(&["ls"], b"").status.success());
    let verify = seal_and_verify_refused(&vault, "a cut vault log whose anchor was deleted");
    assert!(
        stderr_of(&verify).contains("anchor file") && stderr_of(&verify).contains("--forensic"),
        "{}",
        stderr_of(&verify)
    );
    // Read anyway on purpose: --forensic reports instead of refusing.
    assert!(
        vault
            .run(&["audit", "verify", "--forensic"], b"")
            .status
            .success()
    );
}

/// Review round 11: docs/formats.md ("Vault directory": "It holds no secret") and the README
/// ("no secret in it") promise a vault directory without secrets, and `session start`
/// refuses a session file inside it ("a backup or a commit of the vault would carry the
/// credential with it"). `init --generate --out FILE` writes the vault's new mnemonic, the
/// root of every key, wherever FILE is, also inside the vault directory it creates: exit 0,
/// and the directory then holds the phrase that opens everything in it.
#[test]
fn init_does_not_write_the_new_mnemonic_into_the_vault_directory() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    std::fs::create_dir(&dir).unwrap();
    let phrase = dir.join("phrase.txt");
    let output = common::hexvault(
        &[
            "init",
            "--generate",
            "--out",
            phrase.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
        ],
        "",
        &[],
    );
    assert!(
        !phrase.exists(),
        "the vault directory holds its own mnemonic (init exit {:?}): {}",
        output.status.code(),
        stderr_of(&output)
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        !dir.join("config.toml").exists(),
        "refused before the vault was made"
    );
}

/// Review round 11: `open --out` wrote plaintext wherever it was told, also inside the vault
/// directory, which "holds no secret". Refused (exit 2) before anything is decrypted.
#[test]
fn open_does_not_write_plaintext_into_the_vault_directory() {
    let vault = Vault::with(&["p"], &["p/a"], &[]);
    vault.ok(&["seal", "--cell", "p/a", "--id", "o1"], b"secret data");
    let inside = vault.dir.join("plain.txt");
    let refused = vault.run(
        &[
            "open",
            "--cell",
            "p/a",
            "--id",
            "o1",
            "--out",
            inside.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert!(stderr_of(&refused).contains("inside the vault directory"));
    assert!(!inside.exists());
    let outside = vault.dir.parent().unwrap().join("plain.txt");
    vault.ok(
        &[
            "open",
            "--cell",
            "p/a",
            "--id",
            "o1",
            "--out",
            outside.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(std::fs::read(&outside).unwrap(), b"secret data");
}

/// Review round 11 (low): `init --generate` without `--out` printed the new phrase only after
/// the vault existed; when standard output failed then, it exited 1 and left a vault whose
/// phrase nobody saw. Now the vault is removed again (stdout is /dev/full: every write
/// fails with ENOSPC).
#[test]
fn init_generate_leaves_no_vault_when_the_phrase_cannot_be_printed() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    for json in [false, true] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hexvault"));
        command.args(["init", "--generate", "--dir", dir.to_str().unwrap()]);
        if json {
            command.arg("--json");
        }
        let output = command
            .env_remove("HEXVAULT_MNEMONIC")
            .env_remove("HEXVAULT_DIR")
            .stdin(std::process::Stdio::null())
            .stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
        assert!(
            stderr_of(&output).contains("no vault was made"),
            "{}",
            stderr_of(&output)
        );
        assert!(
            !dir.exists(),
            "a vault whose phrase was never shown is left"
        );
    }
}

/// A keyed command (`seal`) refuses the vault directory and the strict verifier of the
/// directory (`audit verify --json`) does not call it OK; returns the verifier's output.
fn seal_and_verify_refused(vault: &Vault, what: &str) -> std::process::Output {
    assert!(
        !vault
            .run(&["seal", "--cell", "p/a", "--id", "o2"], b"data")
            .status
            .success(),
        "seal accepted {what}"
    );
    let verify = vault.run(&["audit", "verify", "--json"], b"");
    assert!(
        !verify.status.success(),
        "audit verify accepted {what}: {} / {}",
        String::from_utf8_lossy(&verify.stdout),
        stderr_of(&verify)
    );
    verify
}

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

/// Review round 13: SECURITY.md (audit) says `audit verify` refuses the vault directory's
/// own log when its anchor file is missing, unless a kept anchor is given with `--anchor`.
/// The refusal ran only when no FILE was named: the same log named as FILE (how the docs
/// tell operators to check it with `--public-key`) was accepted, exit 0, `ok: true`, with a
/// key version rolled back (the rotation cut off). Also through a symbolic link to it.
#[test]
fn audit_verify_refuses_the_vaults_own_log_named_as_file_when_its_anchor_was_deleted() {
    let (vault, before_rotation) = rotated_vault();
    let key = vault.json(&["ls"])["audit_public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cut_the_log_and_delete_the_anchor(&vault, before_rotation);
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
    // A symbolic link to the vault's log, from outside the vault directory: the same log.
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("copy-of-the-log");
    std::os::unix::fs::symlink(vault.dir.join("audit.log"), &link).unwrap();
    let linked = vault.run(&["audit", "verify", link.to_str().unwrap(), "--json"], b"");
    assert!(
        !linked.status.success() && stderr_of(&linked).contains("no anchor file"),
        "audit verify of a link to the vault's log accepted it: {}",
        stderr_of(&linked)
    );
    // Read anyway with --forensic: not refused for the missing anchor.
    let forensic = vault.run(&["audit", "verify", file, "--forensic", "--json"], b"");
    assert!(
        !stderr_of(&forensic).contains("no anchor file"),
        "{}",
        stderr_of(&forensic)
    );
}

/// Review round 13: a log cut back to its bare header with the anchor deleted (the whole
/// audit trail erased) was let through by `audit verify` (`ok: true`, 0 records, exit 0) and
/// adopted by `config adopt`. A vault directory never has such a log (`init` writes its
/// first record and its anchor before config.toml exists); only an old vault that never
/// recorded anything looks the same, and `config adopt --empty-log` is the operator's word
/// for that (`config_topology.rs`).
#[test]
fn audit_verify_refuses_a_vault_log_cut_back_to_its_header_with_its_anchor_deleted() {
    let (vault, _) = rotated_vault();
    cut_the_log_and_delete_the_anchor(&vault, LOG_HEADER_LEN);
    seal_and_verify_refused(
        &vault,
        "the vault's log cut back to its header, anchor deleted",
    );
    // `seal` above pointed to `config adopt`, which must not adopt the erased log either.
    let adopt = vault.run(&["config", "adopt"], b"");
    assert!(
        !adopt.status.success() && stderr_of(&adopt).contains("anchor"),
        "config adopt accepted the vault's log cut back to its header, anchor deleted: {}",
        stderr_of(&adopt)
    );
}

/// Review round 13, the same in `ls` (docs/cli.md: `ls` "fails if the log does not verify"):
/// over a log cut back to its header with the anchor deleted, `ls` exited 0 and showed cell
/// `p/a` at key v1 although it was rotated to v2 (the round-9 rollback, through the
/// header-only case).
#[test]
fn ls_refuses_a_vault_log_cut_back_to_its_header_with_its_anchor_deleted() {
    let (vault, _) = rotated_vault();
    assert_eq!(vault.json(&["ls"])["cells"][0]["key_version"], 2);
    cut_the_log_and_delete_the_anchor(&vault, LOG_HEADER_LEN);
    let ls = vault.run(&["ls", "--json"], b"");
    assert!(
        !ls.status.success(),
        "ls accepted the vault's log cut back to its header, anchor deleted: {}",
        String::from_utf8_lossy(&ls.stdout)
    );
}

/// Review round 14: the attacker who cut the log and deleted its anchor also renamed the log
/// and left a symbolic link `audit.log -> audit.data` in its place. Every vault command
/// refused the directory, but `audit verify DIR/audit.log` resolved the link, saw a file
/// named `audit.data`, applied no vault rule and accepted the cut log (exit 0, `ok: true`,
/// the rotation gone). The vault's `audit.log` is the vault's log whatever it points to.
#[test]
fn audit_verify_file_refuses_a_symlinked_vault_log_whose_anchor_was_deleted() {
    let (vault, before_rotation) = rotated_vault();
    let key = vault.json(&["ls"])["audit_public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    cut_the_log_and_delete_the_anchor(&vault, before_rotation);
    let log = vault.dir.join("audit.log");
    std::fs::rename(&log, vault.dir.join("audit.data")).unwrap();
    std::os::unix::fs::symlink("audit.data", &log).unwrap();
    assert!(!vault.run(&["ls"], b"").status.success());
    assert!(!vault.run(&["audit", "verify"], b"").status.success());
    let file = log.to_str().unwrap();
    for extra in [vec!["--public-key", key.as_str()], vec![]] {
        let mut args = vec!["audit", "verify", file, "--json"];
        args.extend(extra.iter().copied());
        let out = vault.run(&args, b"");
        assert!(
            !out.status.success() && stderr_of(&out).contains("no anchor file"),
            "audit verify {args:?} accepted the vault's cut log behind a symbolic link: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            stderr_of(&out)
        );
    }
}

/// A link from outside the vault to its log is checked against the vault's own anchor file
/// (the one `ls` and the facade use), not an anchor beside the link: a cut log is found
/// even though the anchor is still there and the link has none of its own.
#[test]
fn audit_verify_of_a_link_to_the_vault_log_uses_the_vaults_anchor() {
    let (vault, before_rotation) = rotated_vault();
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("the-log");
    std::os::unix::fs::symlink(vault.dir.join("audit.log"), &link).unwrap();
    let link = link.to_str().unwrap();
    // Untouched: verifies.
    vault.ok(&["audit", "verify", link], b"");
    // Cut back behind the anchor (the anchor kept): refused through the link too.
    std::fs::OpenOptions::new()
        .write(true)
        .open(vault.dir.join("audit.log"))
        .unwrap()
        .set_len(before_rotation)
        .unwrap();
    let out = vault.run(&["audit", "verify", link, "--json"], b"");
    assert!(
        !out.status.success(),
        "a cut vault log passed through a link: {} / {}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
}

/// `config adopt --empty-log` accepts only a log that holds no record: a log cut back (its
/// records still there) with its anchor deleted stays refused, also with the flag.
#[test]
fn config_adopt_empty_log_does_not_accept_a_cut_log_with_records() {
    let (vault, before_rotation) = rotated_vault();
    cut_the_log_and_delete_the_anchor(&vault, before_rotation);
    let adopt = vault.run(&["config", "adopt", "--empty-log"], b"");
    assert!(
        !adopt.status.success() && stderr_of(&adopt).contains("no anchor file"),
        "config adopt --empty-log accepted a cut log with records: {}",
        stderr_of(&adopt)
    );
    assert!(!vault.dir.join("audit.log.anchor").exists());
}
