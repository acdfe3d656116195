//! Review round 25 findings (command line).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::vault::init_vault;
use common::{TREZOR_PHRASE, hexvault_in, json_of, stderr_of, succeeded};

struct Fixture {
    _temp: tempfile::TempDir,
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("vault");
        init_vault(&dir, &["p"], &["p/a"], &[]);
        Self { _temp: temp, dir }
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        hexvault_in(&self.dir, args, stdin, &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)])
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
        succeeded(args, self.run(args, stdin))
    }

    fn stale(&self) -> serde_json::Value {
        let ls = json_of(&self.ok(&["--json", "ls"], b""));
        ls["cells"][0]["stale_objects"].clone()
    }
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_ending(&path, suffix));
        } else if path.to_str().unwrap().ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

/// docs/cli.md:36 (`reseal`, added in round 24): "`failed` (array of `{id, error}`: objects
/// that could not be opened with the credentials given, such as layer-2 objects of a session
/// that ended, or damaged ones; they stay under their old versions, the run goes on with the
/// others and exits 1 after printing the report)"; CHANGELOG.md:19-22: one object reseal
/// cannot open no longer keeps "every object after it ... under the old key for good".
///
/// Only `CliError::Cells` errors are skipped (crates/cli/src/commands/vault.rs:1588-1596).
/// A damaged large object (its `.stream` file modified: authentication fails while the
/// stream is re-encrypted, crates/cli/src/commands/vault.rs:1720-1731) is an aead/stream
/// error, so the run stops there on every run ("run reseal again once it is fixed") and
/// `b-plain`, which needs no credential at all, stays under the old key version for good.
/// (The rotation record of the damaged object is also appended and flushed on every run
/// before the stream is read, vault.rs:1710-1716.)
#[test]
#[ignore = "review25 finding"]
fn reseal_goes_on_past_a_damaged_large_object() {
    let f = Fixture::new();
    let large = vec![0x5a_u8; (1 << 20) + 100];
    f.ok(&["seal", "--cell", "p/a", "--id", "a-large"], &large);
    f.ok(&["seal", "--cell", "p/a", "--id", "b-plain"], b"small");
    f.ok(&["rotate", "--cell", "p/a"], b"");
    let streams = files_ending(&f.dir, ".stream");
    assert_eq!(streams.len(), 1, "one stream file: {streams:?}");
    let mut bytes = std::fs::read(&streams[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&streams[0], &bytes).unwrap();

    let run = f.run(&["--json", "reseal", "--cell", "p/a"], b"");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stale = f.stale();
    assert!(
        stale == 1 && run.status.code() == Some(1) && stdout.contains("a-large"),
        "a damaged large object must be reported in `failed` and skipped, the others \
         resealed (exit 1): stale objects {stale}, exit {:?}, stdout {stdout}, stderr {}",
        run.status.code(),
        stderr_of(&run)
    );
}
