//! The vault directory holds no secret, whichever directory the command runs in and whichever
//! vault it names (review round 46).
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

const TREZOR_PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(args)
        .current_dir(cwd)
        .env_remove("HEXVAULT_DIR")
        .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// docs/architecture.md ("the vault directory holds no secret"), docs/formats.md ("no
/// command writes a secret into it"): `--out` and `--out-dir` are refused (usage, exit 2)
/// inside any vault directory, not only the one `--dir`, `$HEXVAULT_DIR` or `./.hexvault`
/// names: run from inside the vault (`mnemonic new --out phrase.txt`), naming its path from
/// outside, or splitting shares into a directory below it. It used to compare with the
/// named vault only, and wrote the root phrase into the vault directory.
#[test]
fn no_command_writes_a_secret_into_a_vault_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    let init = run(tmp.path(), &["init", "--dir", vault.to_str().unwrap()]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    // From inside the vault directory.
    let inside = run(&vault, &["mnemonic", "new", "--out", "phrase.txt"]);
    // From its parent, naming the vault directory's path.
    let named = run(
        tmp.path(),
        &["mnemonic", "new", "--out", "vault/phrase-2.txt"],
    );
    // Shares into a directory below the vault.
    let shares = run(
        tmp.path(),
        &[
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out-dir",
            "vault/objects/shares",
        ],
    );
    for out in [&inside, &named, &shares] {
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("inside the vault directory"));
    }
    let written: Vec<String> = ["phrase.txt", "phrase-2.txt", "objects/shares"]
        .iter()
        .filter(|name| vault.join(name).exists())
        .map(|name| format!("{}", vault.join(name).display()))
        .collect();
    assert!(
        written.is_empty(),
        "a secret was written into the vault directory: {written:?}"
    );
    // Outside every vault, the same command writes.
    let outside = run(tmp.path(), &["mnemonic", "new", "--out", "phrase-3.txt"]);
    assert!(
        outside.status.success(),
        "{}",
        String::from_utf8_lossy(&outside.stderr)
    );
}
