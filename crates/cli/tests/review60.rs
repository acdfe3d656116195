//! Review round 60: findings against `git diff 1d19c1e..HEAD` (failing tests, ignored).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::vault::Vault;
use common::{files_ending, stderr_of};

/// Every record of the vault's log (`audit show --json`), as `kind` strings, in order.
fn record_kinds(vault: &Vault) -> Vec<String> {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    String::from_utf8_lossy(&shown.stdout)
        .lines()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            value
                .get("kind")
                .and_then(|kind| kind.as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// A large object sealed at layer 1 (its data key's opens are recorded, docs/cli.md: "The
/// audit log records ... the blob holding the object's data key: its open at layer 1 or 2").
fn large_vault() -> (Vault, String) {
    let mut vault = Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    let tokens = common::token_file(vault.temp.path());
    let tokens = tokens.to_str().unwrap().to_owned();
    vault.env.push(("TOK".into(), "tok".into()));
    vault.ok(
        &[
            "seal",
            "--cell",
            "p/a",
            "--id",
            "big",
            "--layer",
            "1",
            "--token-env",
            "TOK",
            "--tokens",
            &tokens,
        ],
        &vec![0x5a_u8; (1 << 20) + 100],
    );
    (vault, tokens)
}

/// `hexvault traverse` of `big` from p/a to p/b with the token, under a file size limit of
/// `limit_kib` KiB (SIGXFSZ ignored: a write past it fails with EFBIG, as a full disk with
/// ENOSPC) when given.
fn traverse(vault: &Vault, tokens: &str, limit_kib: Option<u32>) -> std::process::Output {
    let limit = limit_kib.map_or(String::new(), |kib| format!("ulimit -f {kib}; "));
    std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("trap '' XFSZ; {limit}exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .args([
            "traverse",
            "--from",
            "p/a",
            "--to",
            "p/b",
            "--id",
            "big",
            "--token-env",
            "TOK",
            "--tokens",
            tokens,
            "--dir",
        ])
        .arg(&vault.dir)
        .env_remove("HEXVAULT_TOKENS")
        .env("HEXVAULT_MNEMONIC", common::TREZOR_PHRASE)
        .env("TOK", "tok")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// docs/cli.md:92-94 (changed in 0d0f238): "`traverse` reads the source stream through once
/// (authenticating every segment) before the edge records the crossing, and allocates the
/// room for the destination's stream, so a damaged stream or a full disk fails with no
/// record". The data key's blob is opened (and that open recorded) before the stream is
/// checked: every retry of a traverse of a damaged stream appends records.
#[test]
#[ignore = "review60 finding"]
fn a_traverse_of_a_damaged_stream_appends_no_record_at_all() {
    let (vault, tokens) = large_vault();
    let streams = files_ending(&vault.dir.join("objects"), ".stream");
    assert_eq!(streams.len(), 1, "setup: one stream file");
    let mut bytes = std::fs::read(&streams[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&streams[0], &bytes).unwrap();
    let before = record_kinds(&vault);
    for _ in 0..3 {
        let out = traverse(&vault, &tokens, None);
        assert_eq!(out.status.code(), Some(1), "setup: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("did not authenticate"),
            "setup: {}",
            stderr_of(&out)
        );
    }
    let after = record_kinds(&vault);
    // The key must be opened to authenticate the stream, so the fix may be the docs: then
    // they must say that the data key's open is recorded (as they do for `reseal`).
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cli.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        after == before || !docs.contains("a damaged stream or a full disk fails with no record"),
        "docs/cli.md says a damaged stream fails traverse with no record; appended: {:?}",
        &after[before.len().min(after.len())..]
    );
}

/// docs/cli.md:92-94 ("... so a damaged stream or a full disk fails with no record") and
/// docs/adr/0071-cli-vault-directory-and-write-order.md:81-82 ("a large object's `traverse`
/// allocates the room for the destination stream too, so a disk without room or a file size
/// limit fails before any record"): the room for the stream is allocated only after the data
/// key's blob was opened, and that open recorded, so each retry on a full disk appends records.
#[test]
#[ignore = "review60 finding"]
fn a_traverse_without_room_for_the_stream_appends_no_record_at_all() {
    let (vault, tokens) = large_vault();
    let before = record_kinds(&vault);
    for _ in 0..3 {
        // 512 KiB: the log and the data-key blob fit, the ~1 MiB stream does not.
        let out = traverse(&vault, &tokens, Some(512));
        assert_eq!(out.status.code(), Some(1), "setup: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("reserving room for a stream file"),
            "setup: {}",
            stderr_of(&out)
        );
    }
    let after = record_kinds(&vault);
    assert_eq!(
        after,
        before,
        "the docs say a full disk fails traverse with no record; appended: {:?}",
        &after[before.len().min(after.len())..]
    );
}
