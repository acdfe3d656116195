//! Review round 56 findings (each test fails on the code it was written against).
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

/// `hexvault ARGS --dir DIR` under `strace` with `ftruncate` failing (EIO): the step of
/// `PendingBlob::finish` that cuts the blob to its length, i.e. writing the new blob fails
/// the way an I/O error, or a full copy-on-write / compressing file system (where the zeros
/// `reserve` wrote reserved nothing), fails it.
fn run_with_blob_write_failing(vault: &Vault, args: &[&str]) -> Output {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=ftruncate"])
        .args(["-e", "inject=ftruncate:error=EIO"])
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
        .expect("strace (needed by this test) runs")
}

fn rotate_records(vault: &Vault) -> Vec<String> {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    String::from_utf8_lossy(&shown.stdout)
        .lines()
        .filter(|line| line.contains("\"kind\":\"rotate\""))
        .map(str::to_owned)
        .collect()
}

/// CHANGELOG.md:41-43: "`hexvault reseal` writes and syncs each object's new blob (room
/// reserved for it) before the rotation is recorded: a blob that could not be written left a
/// rotate record naming a blob that never existed, one per retry"; docs/architecture.md:450
/// ("a blob file is written to a temporary file and fsynced, its audit record ... appended
/// and flushed, then renamed into place"). commands/vault.rs:1691-1706 only writes zeros
/// before `Cell::reseal` appends the record; the blob itself is written after `log.flush()`.
/// A write that fails there (here an injected EIO) leaves a rotate record naming a blob
/// never written, one more per retry.
#[test]
#[ignore = "review56 finding"]
fn a_reseal_whose_blob_write_fails_after_the_reservation_records_no_rotation() {
    let vault = Vault::with(&["p"], &["p/a"], &[]);
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"an ordinary object");
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let before = rotate_records(&vault);
    let blob = vault.dir.join("objects/70/61/6f626a.blob");
    let old_blob = std::fs::read(&blob).unwrap();

    // Under the injected failure the reseal either fails before it records anything, or
    // (a fix that no longer cuts the file) goes through with its blob in place: never a
    // record without its blob. Twice, as a retry would.
    let mut written = 0;
    for _ in 0..2 {
        let out = run_with_blob_write_failing(&vault, &["reseal", "--cell", "p/a"]);
        if out.status.code() == Some(0) {
            written = 1;
        } else {
            assert!(
                stderr_of(&out).contains("blob"),
                "the injected failure hit the blob write: {}",
                stderr_of(&out)
            );
        }
    }
    let after = rotate_records(&vault);
    assert_eq!(
        after.len(),
        before.len() + written,
        "rotate records naming a blob that was never written: {:?}",
        &after[before.len()..]
    );
    assert_eq!(
        std::fs::read(&blob).unwrap() != old_blob,
        written == 1,
        "the blob matches the records"
    );
    let leftovers: Vec<_> = std::fs::read_dir(blob.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

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

/// CHANGELOG.md:43-44: "`traverse` reserves the room for its blob before the record too
/// (review round 55; round 48 LOW)", the round-55 promise that a blob that cannot be written
/// leaves no record "one per retry", and commands/vault.rs:1353-1355 ("a disk that cannot hold
/// it fails here too"). For a large object (a data-key blob plus a stream) the reservation
/// covers only the data-key blob (vault.rs:1357); the stream, all of the object's data, is
/// re-encrypted into the destination after the traverse record is appended and flushed
/// (vault.rs:1425-1441). A disk without room for it (here a file size limit) leaves a
/// traverse record naming a destination blob that never existed, one more per retry
/// (`reseal` of a large object re-encrypts its stream before its record, round 25).
#[test]
#[ignore = "review56 finding"]
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
