//! Helpers shared by the command line's end-to-end tests: run the built `hexvault` binary
//! with a clean environment and read what it printed.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "cli")]
pub(crate) mod vault;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Trezor BIP-39 vector (english, entropy 00..00, passphrase "TREZOR").
pub(crate) const TREZOR_PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

/// Runs `hexvault ARGS` with `stdin` on standard input and `env` added to a clean
/// environment (no inherited HEXVAULT_MNEMONIC).
pub(crate) fn hexvault(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    hexvault_bytes(args, stdin.as_bytes(), env)
}

/// As [`hexvault`], with arbitrary bytes on standard input.
pub(crate) fn hexvault_bytes(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hexvault"));
    command
        .args(args)
        .env_remove("HEXVAULT_MNEMONIC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    // A command refused at parse time exits before reading its input: a broken pipe here
    // is expected, and the exit code tells the story.
    if let Err(error) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    child.wait_with_output().unwrap()
}

/// Runs `hexvault ARGS --dir DIR` as [`hexvault_bytes`] does (`env` added to a clean
/// environment).
pub(crate) fn hexvault_in(dir: &Path, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--dir", dir.to_str().unwrap()]);
    hexvault_bytes(&all, stdin, env)
}

/// `output` (of `hexvault ARGS`), after asserting that the command succeeded; the panic names
/// the arguments, the exit code and standard error.
pub(crate) fn succeeded(args: &[&str], output: Output) -> Output {
    assert!(
        output.status.success(),
        "{args:?}: exit {:?}, stderr: {}",
        output.status.code(),
        stderr_of(&output)
    );
    output
}

/// The JSON report of a command that succeeded.
pub(crate) fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Standard output as text.
pub(crate) fn stdout_of(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Standard error as text.
pub(crate) fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A `hexvault ARGS --mnemonic-file FIFO` run whose phrase the test writes when it chooses:
/// the race tests use it to act between what a command does before it reads the phrase and
/// what it does after.
pub(crate) struct PhraseFifo {
    /// The running command (standard input closed, its output piped).
    pub(crate) child: std::process::Child,
    writer: std::fs::File,
}

impl PhraseFifo {
    /// Makes a FIFO (mode 0600) at `fifo`, starts `hexvault ARGS --mnemonic-file FIFO` with
    /// `env` added to a clean environment, and returns once the command has opened the FIFO
    /// for reading, i.e. has done everything that comes before reading its phrase.
    pub(crate) fn spawn(fifo: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let made = Command::new("mkfifo").arg(fifo).status().unwrap();
        assert!(made.success(), "mkfifo {}", fifo.display());
        std::fs::set_permissions(fifo, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_hexvault"));
        command
            .args(args)
            .arg("--mnemonic-file")
            .arg(fifo)
            .env_remove("HEXVAULT_MNEMONIC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().unwrap();
        // Opening a FIFO for writing blocks until its reader opens it.
        let writer = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
        Self { child, writer }
    }

    /// Writes `phrase` (and a newline) to the command, closes the FIFO and waits for it.
    pub(crate) fn finish(mut self, phrase: &str) -> Output {
        self.writer
            .write_all(format!("{phrase}\n").as_bytes())
            .unwrap();
        drop(self.writer);
        self.child.wait_with_output().unwrap()
    }
}

/// The files under `dir` (recursively) whose names end with `suffix`, sorted.
pub(crate) fn files_ending(dir: &Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_ending(&path, suffix));
        } else if path.to_str().unwrap().ends_with(suffix) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Writes `dir/tokens.toml`, a token resolver file (mode 0600) with one token `tok` of
/// policy `pol` (secret 01 x 32), and returns its path.
pub(crate) fn token_file(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let tokens = dir.join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\ntoken = \"tok\"\npolicy = \"pol\"\nsecret = \"{}\"\n",
            "01".repeat(32)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    tokens
}

/// The checkpoint public key of a log under the Trezor phrase with passphrase "TREZOR", as
/// `hexvault derive` prints it (the 33-byte form).
pub(crate) fn trezor_public_key() -> String {
    let derived = hexvault(
        &[
            "derive",
            "--curve",
            "ed25519",
            "--path",
            "m/74'/2'/2'/0'",
            "--passphrase-env",
            "PASS",
            "--json",
        ],
        "",
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE), ("PASS", "TREZOR")],
    );
    json_of(&derived)["public_key"].as_str().unwrap().to_owned()
}

/// Byte ranges of an audit log file's frames after its 88-byte header: (start, end,
/// is_checkpoint).
pub(crate) fn frames(bytes: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut pos = 88;
    while pos < bytes.len() {
        let len = u32::from_be_bytes(bytes[pos + 1..pos + 5].try_into().unwrap()) as usize;
        let end = pos + 9 + len + 8;
        out.push((pos, end, bytes[pos] == 2));
        pos = end;
    }
    out
}
