//! Review round 46: the vault directory holds no secret, whichever directory the command runs in.
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

/// docs/architecture.md:448: "Architecture invariant: the vault directory holds no secret";
/// docs/formats.md:997-999: "It holds no secret: ... no command writes a secret into it";
/// README.md:179: "A vault kept in a directory (... no secret in it ...)".
///
/// The `--out` check compares the path only with the vault directory `--dir`,
/// `$HEXVAULT_DIR` or `./.hexvault` names. Run from inside the vault directory (where
/// `./.hexvault` names nothing), or naming another vault directory, `mnemonic new --out`
/// writes the root phrase into the vault directory (the same holds for `shares split
/// --out-dir`, `decrypt --out` and `envelope unpack --out`).
#[test]
#[ignore = "review46 finding"]
fn no_command_writes_a_secret_into_a_vault_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    let init = run(tmp.path(), &["init", "--dir", vault.to_str().unwrap()]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

    // From inside the vault directory.
    let inside = run(&vault, &["mnemonic", "new", "--out", "phrase.txt"]);
    // From its parent, naming the vault directory's path.
    let named = run(
        tmp.path(),
        &["mnemonic", "new", "--out", "vault/phrase-2.txt"],
    );
    let written: Vec<String> = ["phrase.txt", "phrase-2.txt"]
        .iter()
        .filter(|name| vault.join(name).exists())
        .map(|name| format!("{}", vault.join(name).display()))
        .collect();
    assert!(
        written.is_empty(),
        "a new phrase was written into the vault directory: {written:?} (exits {:?}, {:?})",
        inside.status.code(),
        named.status.code()
    );
}
