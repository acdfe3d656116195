//! The root-of-trust commands at a terminal and under `--json` (review round 57): a seed or
//! shares typed at a terminal are not echoed; the "did you mean" word of a mistyped phrase
//! never goes to a file; `--json` output is JSON or a JSON usage error.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TREZOR_PHRASE, hexvault, json_of, stderr_of, stdout_of};

/// Runs `hexvault ARGS` on a real pseudo-terminal (through `script`, as
/// `cli.rs::type_at_terminal` does), types `lines` at it once it had time to start (and to
/// turn echo off, if it does), then Ctrl-D; returns everything the terminal showed.
fn type_at_terminal(args: &str, lines: &[&str]) -> String {
    let mut child = Command::new("script")
        .args(["-qec"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_hexvault")))
        .arg("/dev/null")
        .env_remove("HEXVAULT_MNEMONIC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    for line in lines {
        // The command may be gone already (it read what it needed): ignore a broken pipe.
        let _ = writeln!(stdin, "{line}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Ctrl-D: end of input for a command that reads standard input to its end.
    let _ = stdin.write_all(b"\x04");
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let mut seen = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut seen).unwrap();
    let _ = child.wait();
    String::from_utf8_lossy(&seen).into_owned()
}

/// `derive --seed-hex-stdin` at a terminal prompts for the seed without echo (as
/// `mnemonic from-entropy` does for its entropy): the seed is not on the screen.
#[test]
fn a_seed_typed_at_a_terminal_is_not_echoed() {
    let seed = "000102030405060708090a0b0c0d0e0f";
    let screen = type_at_terminal(
        "derive --curve ed25519 --path \"m/0'\" --seed-hex-stdin",
        &[seed],
    );
    // The command did run (the public key of the SLIP-0010 test vector 1 at m/0').
    assert!(
        screen.contains("008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c"),
        "{screen}"
    );
    assert!(
        !screen.contains(seed),
        "the seed typed at the terminal was echoed: {screen}"
    );
}

/// `shares combine` with no FILE at a terminal prompts for one share at a time without echo
/// (an empty line or Ctrl-D ends): no share word is on the screen.
#[test]
fn shares_typed_at_a_terminal_are_not_echoed() {
    let split = hexvault(
        &[
            "shares",
            "split",
            "--threshold",
            "1",
            "--shares",
            "1",
            "--iteration-exponent",
            "0",
            "--json",
        ],
        TREZOR_PHRASE,
        &[],
    );
    assert!(split.status.success(), "{}", stderr_of(&split));
    let report = json_of(&split);
    let share = report["groups"][0]["shares"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let screen = type_at_terminal("shares combine", &[&share]);
    assert!(screen.contains("valid: the 1 shares recover"), "{screen}");
    let words: Vec<&str> = share.split_whitespace().collect();
    // Four consecutive words of the share are enough to call it echoed.
    let echoed = words[..4].join(" ");
    assert!(
        !screen.contains(&echoed),
        "the share typed at the terminal was echoed: {screen}"
    );
}

/// docs/cli.md: under `--json` a usage error is `{"error", "kind": "usage"}` on standard
/// error with exit 2, also for a command group given without its subcommand.
#[test]
fn a_missing_subcommand_under_json_is_a_json_usage_error() {
    for group in ["mnemonic", "shares", "envelope"] {
        let out = hexvault(&["--json", group], "", &[]);
        assert_eq!(out.status.code(), Some(2), "{group}: {out:?}");
        let stderr = stderr_of(&out);
        let object: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap_or_else(|_| {
            panic!("`hexvault --json {group}`: standard error is not one JSON object: {stderr}")
        });
        assert_eq!(object["kind"], "usage", "{stderr}");
    }
}

/// `completions` prints a shell script, no JSON: under `--json` it is refused as a usage
/// error (exit 2).
#[test]
fn completions_under_json_print_json_or_are_refused() {
    let out = hexvault(&["--json", "completions", "bash"], "", &[]);
    if out.status.success() {
        let stdout = stdout_of(&out);
        assert_eq!(
            stdout.trim_end().lines().count(),
            1,
            "not one line: {stdout:.200}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(stdout.trim()).is_ok(),
            "not JSON: {stdout:.200}"
        );
    } else {
        assert_eq!(out.status.code(), Some(2), "{out:?}");
    }
}

/// The "did you mean" word of a mistyped phrase (or share word) is shown only when the
/// phrase was typed at the terminal and the answer goes to it: with standard error (or,
/// under `--json`, standard output) sent to a file, the word is left out.
#[test]
fn the_did_you_mean_word_never_goes_to_a_log_file() {
    let typo = "abandon abandon abandon abandon abandon abandn abandon abandon abandon abandon abandon about";
    let dir = tempfile::tempdir().unwrap();
    for (args, log) in [
        ("mnemonic check 2>{log}", "stderr.log"),
        ("--json mnemonic check >{log} 2>/dev/null", "stdout.json"),
    ] {
        let path = dir.path().join(log);
        let args = args.replace("{log}", path.to_str().unwrap());
        let screen = type_at_terminal(&args, &[typo]);
        assert!(screen.contains("(not echoed)"), "no prompt: {screen}");
        let logged = std::fs::read_to_string(&path).unwrap();
        assert!(logged.contains("word 6"), "{args}: {logged}");
        assert!(
            !logged.contains("did you mean"),
            "`hexvault {args}` wrote the suggested word of the secret phrase into {log}: {logged}"
        );
    }
}

/// Under `--json`, help (the `help` subcommand, `--help`) is a JSON usage error and
/// `--version` prints `{"version": ...}`: nothing but JSON on either stream (review round 58).
#[test]
fn help_and_version_under_json_print_json_or_refuse() {
    for args in [
        &["--json", "help"][..],
        &["--json", "help", "audit"],
        &["--json", "--help"],
        &["--json", "audit", "--help"],
        &["--json", "--version"],
    ] {
        let out = hexvault(args, "", &[]);
        let stdout = stdout_of(&out);
        let stderr = stderr_of(&out);
        let is_json_line = |text: &str| {
            text.trim().is_empty() || serde_json::from_str::<serde_json::Value>(text.trim()).is_ok()
        };
        assert!(
            is_json_line(&stdout) && is_json_line(&stderr),
            "{args:?}: exit {:?}, not JSON:\n{stdout}{stderr}",
            out.status.code()
        );
    }
}
