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
        hexvault_in(
            &self.dir,
            args,
            stdin,
            &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
        )
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

/// Runs `hexvault ARGS` in `cwd` with `HEXVAULT_DIR` set to the empty string.
fn in_dir_with_empty_hexvault_dir(cwd: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(args)
        .current_dir(cwd)
        .env_remove("HEXVAULT_MNEMONIC")
        .env("HEXVAULT_DIR", "")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// docs/formats.md:986-989 (round 24): "every command that writes a file with `--out` or
/// `--out-dir` (`mnemonic new`, `shares split`, `decrypt`, `envelope pack` and `unpack` among
/// them) refuses a path inside the vault directory that `$HEXVAULT_DIR` or `./.hexvault`
/// names when a vault is there"; docs/cli.md:20-21 and `DirArgs` (crates/cli/src/commands/
/// vault.rs:31-37): the vault directory is `--dir`, else `$HEXVAULT_DIR`, else `./.hexvault`.
///
/// `refuse_out_inside_default_vault` (crates/cli/src/vaultdir.rs:90-100) takes a set but
/// empty `$HEXVAULT_DIR` as the vault directory "" (the working directory), where clap's
/// `--dir` refuses it (vault commands: "a value is required for '--dir <PATH>'"). So, with
/// `HEXVAULT_DIR=` (an empty `export` or `${VAR:-}` in a script):
/// 1. `mnemonic new --out .hexvault/phrase.txt` writes the root phrase into the vault at
///    `./.hexvault` (exit 0), which the same command refuses with the variable unset;
/// 2. in any directory holding a file `config.toml` (most projects), every `--out` in that
///    directory is refused as "inside the vault directory" (exit 2), though no vault is there.
#[test]
#[ignore = "review25 finding"]
fn an_empty_hexvault_dir_neither_opens_the_guard_nor_refuses_outside_a_vault() {
    // 1. Fail open: the phrase goes into ./.hexvault.
    let temp = tempfile::tempdir().unwrap();
    init_vault(&temp.path().join(".hexvault"), &["p"], &["p/a"], &[]);
    let into_vault = in_dir_with_empty_hexvault_dir(
        temp.path(),
        &["mnemonic", "new", "--out", ".hexvault/phrase.txt"],
    );
    let written = temp.path().join(".hexvault/phrase.txt").exists();

    // 2. False refusal: a project directory with its own config.toml and no vault.
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("config.toml"),
        "name = \"my-project\"\n",
    )
    .unwrap();
    let outside =
        in_dir_with_empty_hexvault_dir(project.path(), &["mnemonic", "new", "--out", "phrase.txt"]);

    assert!(
        !written && into_vault.status.code() == Some(2) && outside.status.success(),
        "HEXVAULT_DIR=\"\": into ./.hexvault: exit {:?}, written {written}; in a directory \
         with a config.toml and no vault: exit {:?}, stderr {}",
        into_vault.status.code(),
        outside.status.code(),
        stderr_of(&outside)
    );
}

/// As `reseal_goes_on_past_a_damaged_large_object`, for the very case round 24 fixed (the
/// CHANGELOG.md:19-22 "a layer-2 object of an ended session can never open"), when that
/// object is a large one (more than 1 MiB).
///
/// `reseal_large` maps the open's error through `cells_error` (crates/cli/src/commands/
/// vault.rs:1691-1693), which turns `SessionEnded`, `MissingCredential`, `Denied`,
/// `Authentication` and `Malformed` into `CliError::Failed` (vault.rs:943-948); the skip
/// in `reseal` looks only for `CliError::Cells` (vault.rs:1588-1590), so the run stops at
/// the dead large object on every run and `b-plain` (layer 0) stays under the old version.
#[test]
#[ignore = "review25 finding"]
fn reseal_is_not_blocked_for_good_by_a_large_object_of_an_ended_session() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    let tokens = temp.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\ntoken = \"tok\"\npolicy = \"pol\"\nsecret = \"{}\"\n",
            "01".repeat(32)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    init_vault(&dir, &["p"], &["p/a"], &[]);
    let runtime = temp.path().to_str().unwrap().to_owned();
    let env = [
        ("HEXVAULT_MNEMONIC", TREZOR_PHRASE),
        ("HEXVAULT_TOKENS", tokens.to_str().unwrap()),
        ("TOK", "tok"),
        ("XDG_RUNTIME_DIR", runtime.as_str()),
    ];
    let run = |args: &[&str], stdin: &[u8]| hexvault_in(&dir, args, stdin, &env);
    let ok = |args: &[&str], stdin: &[u8]| succeeded(args, run(args, stdin));

    let session = temp.path().join("s.toml");
    let session = session.to_str().unwrap();
    ok(&["session", "start", "--ttl", "1h", "--out", session], b"");
    let large = vec![0x5a_u8; (1 << 20) + 100];
    ok(
        &[
            "seal",
            "--cell",
            "p/a",
            "--id",
            "a-dead",
            "--layer",
            "2",
            "--token-env",
            "TOK",
            "--session",
            session,
        ],
        &large,
    );
    ok(&["seal", "--cell", "p/a", "--id", "b-plain"], b"layer zero");
    ok(&["session", "end", session], b"");
    ok(&["rotate", "--cell", "p/a"], b"");
    let first = run(
        &["--json", "reseal", "--cell", "p/a", "--token-env", "TOK"],
        b"",
    );
    let ls = json_of(&ok(&["--json", "ls"], b""));
    let stale = ls["cells"][0]["stale_objects"].clone();
    assert!(
        stale == 1 && first.status.code() == Some(1),
        "only the dead layer-2 large object may stay stale; `b-plain` must be resealed: \
         stale {stale}, exit {:?}, stdout {}, stderr {}",
        first.status.code(),
        String::from_utf8_lossy(&first.stdout),
        stderr_of(&first)
    );
}
