//! A secret typed where the command line expects something else, or a phrase read from a
//! file or the environment, never comes back in an error: not as a "path", not as a variable
//! name, not as a language, not as the "did you mean" word of a mistyped phrase.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{TREZOR_PHRASE, hexvault, stderr_of};

/// Words of the phrase that must never show up.
fn leaked_words(stderr: &str, phrase: &str) -> Vec<String> {
    phrase
        .split_whitespace()
        .filter(|w| w.len() > 3 && stderr.contains(*w))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_phrase_typed_as_the_mnemonic_file_is_not_echoed() {
    let out = hexvault(
        &["seed", "--show-secret", "--mnemonic-file", TREZOR_PHRASE],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("opening the file given for the mnemonic"),
        "{stderr}"
    );
    assert!(leaked_words(&stderr, TREZOR_PHRASE).is_empty(), "{stderr}");
}

#[test]
fn a_passphrase_typed_as_the_variable_name_is_not_echoed() {
    let out = hexvault(
        &[
            "seed",
            "--show-secret",
            "--passphrase-env",
            "correct horse battery staple",
        ],
        "",
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(
        !stderr.contains("horse") && !stderr.contains("staple"),
        "{stderr}"
    );
}

#[test]
fn entropy_typed_as_the_input_path_is_not_echoed() {
    let entropy = "7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f";
    let out = hexvault(&["mnemonic", "from-entropy", "--in", entropy], "", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr_of(&out).contains("7f7f7f7f"), "{}", stderr_of(&out));
    let out = hexvault(&["envelope", "pack", "--in", entropy], "", &[]);
    assert!(!stderr_of(&out).contains("7f7f7f7f"), "{}", stderr_of(&out));
}

#[test]
fn a_phrase_typed_as_the_language_is_not_echoed_even_in_part() {
    let out = hexvault(&["mnemonic", "new", "--language", TREZOR_PHRASE], "", &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(leaked_words(&stderr, TREZOR_PHRASE).is_empty(), "{stderr}");
    assert!(
        stderr.contains("english"),
        "the valid names are listed: {stderr}"
    );
}

#[test]
fn a_mistyped_phrase_from_a_file_or_the_environment_gets_no_did_you_mean_word() {
    // Word 2 of a Trezor vector phrase ("winner") mistyped as "winnex": the closest word is
    // the secret word itself.
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let typo = phrase.replacen("winner", "winnex", 1);
    assert_ne!(typo, phrase);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("phrase.txt");
    std::fs::write(&file, &typo).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for (args, env) in [
        (
            vec![
                "seed",
                "--show-secret",
                "--mnemonic-file",
                file.to_str().unwrap(),
            ],
            vec![],
        ),
        (
            vec!["seed", "--show-secret", "--json"],
            vec![("HEXVAULT_MNEMONIC", typo.as_str())],
        ),
        (
            vec!["mnemonic", "check"],
            vec![("HEXVAULT_MNEMONIC", typo.as_str())],
        ),
        (
            vec!["encrypt", "--mnemonic-file", file.to_str().unwrap()],
            vec![],
        ),
    ] {
        let out = hexvault(&args, "data", &env);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains("word 2"),
            "{args:?}: the position is still given: {stderr}"
        );
        assert!(
            !stderr.contains("winner") && !stderr.contains("did you mean"),
            "{args:?}: {stderr}"
        );
    }
}

/// `--postgres-url-file FILE` never repeats FILE: a connection string with its password
/// typed in place of the path (the neighbouring `--postgres-url-env` and `--postgres` take
/// exactly that string) must not come back on the terminal, its scrollback or CI logs.
#[test]
fn a_connection_string_typed_as_the_url_file_is_not_echoed() {
    let out = hexvault(
        &[
            "audit",
            "verify",
            "--postgres-url-file",
            "postgresql://auditor:Pa55-w0rd-XYZ@db.internal/audit",
            "--log-id",
            "00000000000000000000000000000000",
            "--public-key",
            "1f318b9db96420f56a8b5dde063aced6d6e5314cfc8b1a64f794d37f9d82c718",
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("PostgreSQL connection string"),
        "says what failed: {stderr}"
    );
    assert!(
        !stderr.contains("Pa55-w0rd-XYZ") && !stderr.contains("auditor"),
        "echoed: {stderr}"
    );
}
