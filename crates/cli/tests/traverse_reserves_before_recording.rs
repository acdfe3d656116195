//! `traverse` allocates the room for what it will write (the destination blob and, for a
//! large object, its stream) before the edge records the crossing, so a disk without that
//! room, or a file size limit, fails with no traverse record (review round 56).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Output, Stdio};

use common::vault::Vault;
use common::{TREZOR_PHRASE, stderr_of};

/// `hexvault ARGS --dir DIR` with the file-size limit (RLIMIT_FSIZE) at `limit_kib` KiB and
/// SIGXFSZ ignored: a write past the limit fails with EFBIG, as a full disk fails with
/// ENOSPC (as in reseal_records_what_it_wrote.rs).
fn run_with_file_size_limit(vault: &Vault, limit_kib: u32, args: &[&str]) -> Output {
    let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" \"$@\"");
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .args(args)
        .arg("--dir")
        .arg(&vault.dir)
        .env_remove("HEXVAULT_TOKENS")
        .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn records_of_kind(vault: &Vault, kind: &str) -> usize {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    let needle = format!("\"kind\":\"{kind}\"");
    String::from_utf8_lossy(&shown.stdout)
        .lines()
        .filter(|line| line.contains(&needle))
        .count()
}

/// A large object (a data-key blob plus a ~1 MiB stream) under a file size limit that lets the
/// log and the data-key blob through but not the stream: the traverse fails, twice, with no
/// traverse record and no destination blob.
#[test]
fn a_large_traverse_whose_stream_cannot_be_written_records_no_traverse() {
    let vault = Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    vault.ok(
        &["seal", "--cell", "p/a", "--id", "big"],
        &vec![0x5a_u8; (1 << 20) + 100],
    );
    let before = records_of_kind(&vault, "traverse");
    let args = ["traverse", "--from", "p/a", "--to", "p/b", "--id", "big"];
    for _ in 0..2 {
        // 512 KiB: the log and the data-key blob fit, the ~1 MiB stream does not.
        let out = run_with_file_size_limit(&vault, 512, &args);
        assert_ne!(out.status.code(), Some(0), "{}", stderr_of(&out));
    }
    let destination = vault.dir.join("objects/70/62");
    let blobs = std::fs::read_dir(&destination)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".blob"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(blobs, 0, "setup: no destination blob was written");
    assert_eq!(
        records_of_kind(&vault, "traverse"),
        before,
        "traverse records naming a destination blob that was never written"
    );
}
