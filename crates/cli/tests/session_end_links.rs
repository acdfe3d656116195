//! `session end FILE` overwrites the session file and removes it: never through a symbolic
//! link, neither one given as FILE nor one swapped in for FILE while the command runs (review
//! round 17: it zero-filled the target of a link swapped in while it read the phrase).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::vault::init_vault;
use common::{PhraseFifo, TREZOR_PHRASE, hexvault_in, json_of, stderr_of};

/// `session end FILE` reads FILE, then reads the phrase, records the end, and only then
/// destroys FILE by its path again (`destroy`: `metadata` and `OpenOptions::open` both follow
/// symbolic links). Whoever can write the directory holding the session file swaps FILE for
/// a symbolic link to any file the operator can write during that window (here: while the
/// phrase is read from `--mnemonic-file`), and the command zero-fills that file to its
/// length and deletes only the link. A file the command overwrites must never be reached
/// through a symbolic link (the rule `--out` and the anchor's temporary file follow).
#[test]
fn session_end_never_overwrites_through_a_symlink_swapped_in_for_the_session_file() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    init_vault(&dir, &["p"], &["p/a"], &[]);
    let runtime = temp.path().to_str().unwrap().to_owned();
    // The directory the session file lives in (one an attacker can write).
    let shared = temp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let session = shared.join("session");
    let start = hexvault_in(
        &dir,
        &[
            "--json",
            "session",
            "start",
            "--ttl",
            "1h",
            "--out",
            session.to_str().unwrap(),
        ],
        b"",
        &[
            ("HEXVAULT_MNEMONIC", TREZOR_PHRASE),
            ("XDG_RUNTIME_DIR", &runtime),
        ],
    );
    json_of(&start);
    // A file of the operator's that has nothing to do with the session.
    let victim = temp.path().join("precious.txt");
    let precious = b"the operator's own file, not a session file\n";
    std::fs::write(&victim, precious).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The phrase comes through a FIFO: opening it for writing returns only once the command
    // opened it for reading, i.e. after it read and parsed the session file.
    let child = PhraseFifo::spawn(
        &temp.path().join("phrase.fifo"),
        &[
            "session",
            "end",
            session.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
        ],
        &[("XDG_RUNTIME_DIR", &runtime)],
    );
    // The swap: the session file is replaced by a link to the operator's file.
    std::fs::rename(&session, shared.join("moved-away")).unwrap();
    std::os::unix::fs::symlink(&victim, &session).unwrap();
    let output = child.finish(TREZOR_PHRASE);
    let after = std::fs::read(&victim).unwrap();
    // The session file that was read is overwritten through the descriptor opened at the
    // start (moved, it keeps its inode); the name, now a link, is left and reported.
    let moved = std::fs::read(shared.join("moved-away")).unwrap();
    assert!(
        !moved.is_empty() && moved.iter().all(|b| *b == 0),
        "the session file was not overwritten"
    );
    assert!(
        std::fs::symlink_metadata(&session)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("no longer points to it"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(
        after,
        precious,
        "`session end` wrote through a symbolic link into an unrelated file (exit {:?}, \
         stderr: {})",
        output.status.code(),
        stderr_of(&output)
    );
}

/// A symbolic link given as FILE is refused before anything is recorded or written: the link's
/// target (a session file or any other) is left as it was, and the session stays usable.
#[test]
fn session_end_refuses_a_symbolic_link_given_as_the_file_and_records_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("vault");
    init_vault(&dir, &["p"], &["p/a"], &[]);
    let runtime = temp.path().to_str().unwrap().to_owned();
    let env = [
        ("HEXVAULT_MNEMONIC", TREZOR_PHRASE),
        ("XDG_RUNTIME_DIR", runtime.as_str()),
    ];
    let session = temp.path().join("session");
    let start = hexvault_in(
        &dir,
        &[
            "--json",
            "session",
            "start",
            "--ttl",
            "1h",
            "--out",
            session.to_str().unwrap(),
        ],
        b"",
        &env,
    );
    json_of(&start);
    let before = std::fs::read(&session).unwrap();
    let link = temp.path().join("link-to-session");
    std::os::unix::fs::symlink(&session, &link).unwrap();
    let log = dir.join("audit.log");
    let log_before = std::fs::read(&log).unwrap();
    let end = hexvault_in(&dir, &["session", "end", link.to_str().unwrap()], b"", &env);
    assert_eq!(end.status.code(), Some(1), "{}", stderr_of(&end));
    assert!(
        stderr_of(&end).contains("symbolic link"),
        "{}",
        stderr_of(&end)
    );
    assert_eq!(
        std::fs::read(&session).unwrap(),
        before,
        "the link's target was written"
    );
    assert_eq!(
        std::fs::read(&log).unwrap(),
        log_before,
        "an end was recorded"
    );
    // The file's own path still ends it.
    let end = hexvault_in(
        &dir,
        &["session", "end", session.to_str().unwrap()],
        b"",
        &env,
    );
    assert_eq!(end.status.code(), Some(0), "{}", stderr_of(&end));
    assert!(!session.exists());
}
