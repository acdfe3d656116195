//! The vault directory's key versions come from the verified audit log, never from the
//! unauthenticated `config.toml` (review round 5 attacker tests): an edited config is
//! refused, not recorded as a rotation or retirement; the log's format is the documented one.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{TREZOR_PHRASE, hexvault_in, stderr_of, stdout_of, succeeded};

fn run(dir: &str, args: &[&str], stdin: &[u8]) -> Output {
    hexvault_in(
        Path::new(dir),
        args,
        stdin,
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
    )
}

fn ok(dir: &str, args: &[&str], stdin: &[u8]) -> Output {
    succeeded(args, run(dir, args, stdin))
}

/// SECURITY.md ("known limits") says of the unauthenticated `config.toml` only that a
/// directory writer "can declare an edge", and ADR 0071 that it is not authenticated. Since
/// the config "raises the versions the facade replayed from the log", a directory writer who
/// edits one cell's `key_version`/`min_key_version` makes the operator's next command append
/// rotation and retirement records under the vault's own audit key. The log then replays
/// them on every later open, and a restore never lowers a version: putting the honest
/// config back does not undo it. Every blob of the cell sealed before the edit is
/// unreadable through the tool for good (and `key_version = 4294967295` would also spend
/// the cell's rotations). The edit is laundered into authenticated history.
#[test]
fn an_edited_config_retires_a_cell_for_good_through_the_audit_log() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    common::vault::init_vault(&dir, &["billing"], &["billing/inbox"], &[]);
    let dir = dir.to_str().unwrap();
    ok(
        dir,
        &["seal", "--cell", "billing/inbox", "--id", "invoice"],
        b"amount=1200 EUR",
    );
    let config = std::path::Path::new(dir).join("config.toml");
    let honest = std::fs::read_to_string(&config).unwrap();
    let edited = honest
        .replace("key_version = 1", "key_version = 2")
        .replace("min_key_version = 1", "min_key_version = 2");
    assert_ne!(honest, edited, "config layout: {honest}");
    std::fs::write(&config, &edited).unwrap();

    // The operator's next command (any command that opens the vault) is refused: the
    // config names versions the audit log does not record.
    let refused = run(
        dir,
        &["open", "--cell", "billing/inbox", "--id", "invoice"],
        b"",
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr_of(&refused).contains("config.toml was edited or the audit log was cut"),
        "{}",
        stderr_of(&refused)
    );
    // The operator notices and puts the honest config back.
    std::fs::write(&config, &honest).unwrap();
    let opened = run(
        dir,
        &["open", "--cell", "billing/inbox", "--id", "invoice"],
        b"",
    );
    assert!(
        opened.status.success() && stdout_of(&opened) == "amount=1200 EUR",
        "after one edit of the unauthenticated config, put back since, the cell's blob \
         no longer opens: exit {:?}, stderr: {}",
        opened.status.code(),
        stderr_of(&opened)
    );
}

/// docs/formats.md, "Vault directory": "audit.log  the audit log file (format 2 above)".
/// `hexvault init` creates a format-3 log (ADR 0080): the version field (offset 8, u16be)
/// says 3.
#[test]
fn the_vault_directory_log_has_the_format_the_docs_name() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    let dir = dir.to_str().unwrap();
    ok(dir, &["init"], b"");
    let bytes = std::fs::read(std::path::Path::new(dir).join("audit.log")).unwrap();
    let docs = include_str!("../../../docs/formats.md");
    let named = if docs.contains("the audit log file (format 2 above)") {
        2
    } else {
        3
    };
    assert_eq!(
        u16::from_be_bytes([bytes[8], bytes[9]]),
        named,
        "docs/formats.md names the vault's audit.log format {named}"
    );
}

/// A kill between `rotate`'s audit record and its config.toml write leaves the config one
/// version behind the log (restoring the pre-rotate config.toml is byte for byte that
/// state). Key versions come from the verified log: `ls` counts the objects `reseal` then
/// redoes, `reseal --json` reports the version it sealed under, and the first command that
/// opens the vault writes the config forward.
#[test]
fn after_a_kill_between_rotate_record_and_config_write_ls_and_reseal_agree() {
    let v = common::vault::Vault::new();
    for id in ["a", "b", "c"] {
        v.ok(&["seal", "--cell", "billing/inbox", "--id", id], b"payload");
    }
    let config = v.dir.join("config.toml");
    let before = std::fs::read(&config).unwrap();
    v.ok(&["rotate", "--cell", "billing/inbox"], b"");
    std::fs::write(&config, &before).unwrap();

    let listed = v.json(&["ls"]);
    let stale = listed["cells"][0]["stale_objects"].as_u64().unwrap();
    let resealed = v.json(&["reseal", "--cell", "billing/inbox"]);
    let after = v.json(&["ls"]);
    assert_eq!(
        after["cells"][0]["objects_by_key_version"]["2"], 3,
        "reseal re-encrypted every object under v2: {after}"
    );
    assert_eq!(
        stale, 3,
        "ls said {stale} stale objects, reseal then redid {}: {listed}",
        resealed["resealed"]
    );
    assert_eq!(
        resealed["key_version"], 2,
        "reseal reports the version it sealed under: {resealed}"
    );
    assert_eq!(listed["cells"][0]["key_version"], 2, "{listed}");
    // The lagging config was written forward by the first command that opened the vault.
    let repaired = std::fs::read_to_string(&config).unwrap();
    assert!(repaired.contains("key_version = 2"), "{repaired}");
    // And rotate goes on from the log's version.
    let rotated = v.json(&["rotate", "--cell", "billing/inbox"]);
    assert_eq!(rotated["key_version"], 3, "{rotated}");
}

/// Every command that opens the vault with its keys writes a lagging config forward
/// (docs/formats.md, "Vault directory"), `session start` and `session end` included: they
/// open it through the same function as `seal` and `open` (review round 8, R8-4).
#[test]
fn session_start_and_end_write_a_lagging_config_forward() {
    let v = common::vault::Vault::new();
    let config = v.dir.join("config.toml");
    let before = std::fs::read_to_string(&config).unwrap();
    v.ok(&["rotate", "--cell", "billing/inbox"], b"");
    let rotated = std::fs::read_to_string(&config).unwrap();
    assert!(rotated.contains("key_version = 2"), "{rotated}");
    // A kill between the rotation's record and the config write leaves this config.
    std::fs::write(&config, &before).unwrap();
    let session = v.temp.path().join("s.toml");
    v.ok(
        &[
            "session",
            "start",
            "--ttl",
            "1h",
            "--out",
            session.to_str().unwrap(),
        ],
        b"",
    );
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        after.contains("key_version = 2"),
        "`session start` opened the vault and left config.toml lagging the log:\n{after}"
    );
    std::fs::write(&config, &before).unwrap();
    v.ok(&["session", "end", session.to_str().unwrap()], b"");
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        after.contains("key_version = 2"),
        "`session end` opened the vault and left config.toml lagging the log:\n{after}"
    );
}

/// Appends to `log` a record frame (docs/formats.md, "Audit log": head, head check,
/// `encode(record) || chain`, checksum) built from the last record: sequence + 1, linked to
/// its stored chain value, naming cell `p/a` at key version `version` in a rotate record.
/// The keyed chain value is junk (an attacker has no key); nothing else is secret.
fn append_forged_rotation(log: &std::path::Path, version: u32) {
    use hexvault::audit::{LogContents, LogEntry, Sequence};
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(log).unwrap();
    let contents = LogContents::parse(&bytes).unwrap();
    let (mut record, chain) = contents
        .entries
        .into_iter()
        .rev()
        .find_map(|entry| match entry {
            LogEntry::Record { record, chain } => Some((record, chain)),
            _ => None,
        })
        .unwrap();
    assert_eq!(record.event.kind, hexvault::audit::EventKind::Rotate);
    record.sequence = Sequence::new(record.sequence.get() + 1);
    record.prev_chain = chain;
    record.event.destination.as_mut().unwrap().key_version = hexvault::audit::KeyVersion(version);
    let mut payload = record.encode().unwrap();
    payload.extend_from_slice(&[0x5a; 32]);
    let head = {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        [1u8, len[0], len[1], len[2], len[3]]
    };
    let check = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame-header")
        .chain_update(head)
        .finalize();
    let sum = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame")
        .chain_update(head)
        .chain_update(&payload)
        .finalize();
    let mut frame = head.to_vec();
    frame.extend_from_slice(&check[..4]);
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(&sum[..8]);
    let mut file = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    std::io::Write::write_all(&mut file, &frame).unwrap();
}

/// `ls` takes key versions only from records the audit public key covers (review round 8,
/// R8-3): every command ends the log with a checkpoint, and a rotation record appended after
/// it by anyone who can write the file (no key needed) is left out of `ls` (which says how
/// many records it left out), while `hexvault audit verify` and every keyed command refuse
/// the log.
#[test]
fn ls_leaves_out_a_forged_rotation_record_after_the_last_checkpoint() {
    let v = common::vault::Vault::new();
    v.ok(
        &["seal", "--cell", "billing/inbox", "--id", "x"],
        b"plaintext",
    );
    v.ok(&["rotate", "--cell", "billing/inbox"], b"");
    let honest = v.json(&["ls"]);
    assert_eq!(honest["cells"][0]["key_version"], 2, "{honest}");
    assert_eq!(honest["uncovered_audit_records"], 0, "{honest}");
    append_forged_rotation(&v.dir.join("audit.log"), 77);
    let verify = v.run(&["audit", "verify"], b"");
    assert!(
        !verify.status.success(),
        "audit verify accepted the forged tail"
    );
    let keyed = v.run(&["open", "--cell", "billing/inbox", "--id", "x"], b"");
    assert!(
        !keyed.status.success(),
        "a keyed command accepted the forged tail"
    );
    let ls = v.run(&["ls", "--json"], b"");
    assert!(ls.status.success(), "{}", stderr_of(&ls));
    let report: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(
        report["cells"][0]["key_version"], 2,
        "ls reported the key version of a forged, unanchored record: {report}"
    );
    assert_eq!(report["cells"][0]["stale_objects"], 1, "{report}");
    assert_eq!(report["uncovered_audit_records"], 1, "{report}");
    assert!(
        stderr_of(&ls).contains("1 record(s) after its last checkpoint"),
        "{}",
        stderr_of(&ls)
    );
}
