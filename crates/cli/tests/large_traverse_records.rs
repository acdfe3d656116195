//! What a failed `traverse` of a large object at layer 1 records (review round 60): with no
//! room for the destination's stream, nothing at all (the room is allocated before the data
//! key is opened); with a damaged source stream, only the data key's open (needed to read
//! the stream, recorded at layer 1 as for `reseal`), never a traversal.
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

/// A damaged source stream: three attempts, each refused ("did not authenticate") with the
/// data key's open recorded and no traverse record.
#[test]
fn a_traverse_of_a_damaged_stream_records_only_the_data_keys_open() {
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
    assert_eq!(
        &after[before.len()..],
        ["open", "open", "open"],
        "each attempt records the data key's open and nothing else"
    );
}

/// No room for the destination's stream (a file size limit): every attempt fails with no
/// record at all.
#[test]
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
