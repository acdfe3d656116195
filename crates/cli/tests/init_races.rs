//! `init` racing another `init` on one directory (review round 18): the phrase is read after
//! the directory was found empty, perhaps from a pipe for as long as its writer takes; the
//! late `init` must neither delete nor take over the vault made meanwhile.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{PhraseFifo, TREZOR_PHRASE, hexvault_in, stderr_of};

/// Another BIP-39 test vector phrase (entropy 7f..7f).
const OTHER_PHRASE: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

/// `init` promises "Nothing half-made survives: removes what this command wrote". It checks
/// that the directory is empty, then reads the phrase (here from a FIFO), then creates the
/// vault; if another `init` made a vault in the directory in between, the creation fails and
/// the clean-up deletes the OTHER vault's config.toml, audit log and anchor, none of which
/// this command wrote.
#[test]
fn a_failed_init_never_deletes_a_vault_it_did_not_write() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Returns once `slow` opened the FIFO: it has checked that the directory is empty.
    let slow = PhraseFifo::spawn(
        &temp.path().join("phrase.fifo"),
        &["init", "--dir", dir.to_str().unwrap()],
        &[],
    );
    // Meanwhile another init (another phrase) makes its vault in the directory.
    let other = hexvault_in(&dir, &["init"], b"", &[("HEXVAULT_MNEMONIC", OTHER_PHRASE)]);
    assert!(other.status.success(), "{}", stderr_of(&other));
    let log = dir.join("audit.log");
    let anchor = dir.join("audit.log.anchor");
    let config = dir.join("config.toml");
    assert!(log.exists() && config.exists());
    let anchor_before = anchor.exists();
    let output = slow.finish(TREZOR_PHRASE);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("no longer empty"),
        "{}",
        stderr_of(&output)
    );
    assert!(
        log.exists() && config.exists() && anchor.exists() == anchor_before,
        "the failed `init` deleted the other vault's files (audit.log: {}, config.toml: {}, \
         anchor: {} (was {anchor_before})); stderr: {}",
        log.exists(),
        config.exists(),
        anchor.exists(),
        stderr_of(&output)
    );
}

/// The same race with the same phrase: `init` promises a vault "only in a new or empty
/// directory", but the late `init` opens the vault another `init` made meanwhile (same key:
/// the log opens), appends to its log and replaces its config.toml with an empty topology,
/// and reports success; the vault's declared cell is gone from its config.
#[test]
fn a_late_init_never_takes_over_a_vault_made_meanwhile() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let slow = PhraseFifo::spawn(
        &temp.path().join("phrase.fifo"),
        &["init", "--dir", dir.to_str().unwrap()],
        &[],
    );
    common::vault::init_vault(&dir, &["p"], &["p/a"], &[]);
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let output = slow.finish(TREZOR_PHRASE);
    let after = std::fs::read_to_string(dir.join("config.toml")).unwrap_or_default();
    assert!(
        output.status.code() != Some(0) && after == config,
        "the late `init` (exit {:?}) over the vault made meanwhile changed its config.toml \
         from\n{config}\nto\n{after}\nstderr: {}",
        output.status.code(),
        stderr_of(&output)
    );
}

/// `init` makes a vault only in a new or empty directory, and a directory it cannot list is
/// neither: before session 9 an unlistable directory (a regular file named by `--dir`, or a
/// directory of mode 0300 for a user other than root) counted as empty and `init` went on
/// to read the phrase. Now it stops first, with the reason, reading no phrase and writing
/// nothing.
#[test]
fn init_refuses_a_directory_it_cannot_list_before_reading_the_phrase() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    // The phrase is on standard input: a command that went on would read and accept it.
    let output = hexvault_in(&file, &["init"], TREZOR_PHRASE.as_bytes(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("listing the directory given"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");

    // Write and search permission without read: files could be made in it, but its
    // entries cannot be listed. Root lists it anyway; the check is then moot.
    let hidden = temp.path().join("unlistable");
    std::fs::create_dir(&hidden).unwrap();
    std::fs::write(hidden.join("someone-elses-file"), b"x").unwrap();
    std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o300)).unwrap();
    if std::fs::read_dir(&hidden).is_err() {
        let output = hexvault_in(&hidden, &["init"], TREZOR_PHRASE.as_bytes(), &[]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
        assert!(stderr_of(&output).contains("listing the directory given"));
    } else {
        eprintln!("running as root: a mode-0300 directory is listable, its case is moot");
    }
    std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(!hidden.join("config.toml").exists());
}
