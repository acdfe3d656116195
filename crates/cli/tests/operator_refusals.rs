//! What the command line does for an operator where review round 24 found it wanting: a
//! reseal is not stopped for good by one object it cannot open, a failed `shares split
//! --out-dir` leaves no share, a large object's id is checked before its input is read, no
//! command writes a secret into the vault directory, and `decrypt` never echoes its input.
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

use common::vault::{Vault, init_vault};
use common::{TREZOR_PHRASE, files_ending, json_of, stderr_of};

/// A vault with cells `p/a`, `p/b` and the edge between them, a token resolver file (token
/// `tok` in `$TOK`) and a private runtime directory for session files.
fn fixture() -> Vault {
    let mut v = Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    let tokens = common::token_file(v.temp.path());
    let runtime = v.temp.path().to_str().unwrap().to_owned();
    v.env.extend([
        (
            "HEXVAULT_TOKENS".to_owned(),
            tokens.to_str().unwrap().to_owned(),
        ),
        ("TOK".to_owned(), "tok".to_owned()),
        ("XDG_RUNTIME_DIR".to_owned(), runtime),
    ]);
    v
}

/// Starts a one-hour session written to `out` in the vault's temporary directory.
fn start(f: &Vault, out: &str) -> PathBuf {
    let path = f.temp.path().join(out);
    f.ok(
        &[
            "session",
            "start",
            "--ttl",
            "1h",
            "--out",
            path.to_str().unwrap(),
        ],
        b"",
    );
    path
}

/// The `ls --json` entry of `cell` (`P/C`).
fn ls_cell(f: &Vault, cell: &str) -> serde_json::Value {
    let ls = json_of(&f.ok(&["--json", "ls"], b""));
    ls["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            format!(
                "{}/{}",
                c["partition"].as_str().unwrap(),
                c["cell"].as_str().unwrap()
            ) == cell
        })
        .unwrap()
        .clone()
}

fn seal2(f: &Vault, id: &str, session: &Path) {
    f.ok(
        &[
            "seal",
            "--cell",
            "p/a",
            "--id",
            id,
            "--layer",
            "2",
            "--token-env",
            "TOK",
            "--session",
            session.to_str().unwrap(),
        ],
        b"layer two",
    );
}

/// crates/cli/src/main.rs:103-104: "Re-encrypt every object of a cell under its current key
/// version (resumable: objects already current are skipped)", and
/// crates/cli/src/commands/vault.rs:1528-1529 and 1567-1568 (the error): "the objects before it are
/// resealed, run reseal again once it is fixed".
///
/// An object sealed at layer 2 under a session that has since ended (or expired) can never be
/// opened again, so it can never be "fixed": `reseal` stops at it on every run, and every
/// object whose id sorts after it stays under the old cell key version for good (a rotation
/// after a key compromise never completes for them). Here `b-plain` (layer 0, needs no
/// credential at all) is never resealed because `a-dead` (layer 2, ended session) sorts
/// before it.
#[test]

fn reseal_is_not_blocked_for_good_by_an_object_of_an_ended_session() {
    let f = fixture();
    let session = start(&f, "s.toml");
    seal2(&f, "a-dead", &session);
    f.ok(&["seal", "--cell", "p/a", "--id", "b-plain"], b"layer zero");
    f.ok(&["session", "end", session.to_str().unwrap()], b"");
    f.ok(&["rotate", "--cell", "p/a"], b"");
    // Any credentials the operator still has: the token; the session is gone for good.
    let first = f.run(&["reseal", "--cell", "p/a", "--token-env", "TOK"], b"");
    let second = f.run(&["reseal", "--cell", "p/a", "--token-env", "TOK"], b"");
    let cell = ls_cell(&f, "p/a");
    assert_eq!(
        cell["stale_objects"],
        1,
        "only the dead layer-2 object may stay stale; `b-plain` (layer 0) must be resealed \
         (ls: {cell}; first run: {}; second run: {})",
        stderr_of(&first),
        stderr_of(&second)
    );
}

/// crates/cli/src/main.rs:284-285 (`shares split --out-dir`): "Write each share to
/// DIR/share-GROUP-MEMBER.txt (new files, mode 0600 ...)", and the house rule that a failed
/// command leaves nothing half-written (docs/cli.md:11-15: a secret appears only as the command's
/// result).
///
/// When one target file already exists (here `share-1-3.txt`, left by an earlier split),
/// `split` writes `share-1-1.txt` and `share-1-2.txt` of a fresh split first and only then
/// fails (exit 1) on the third: the directory keeps two new shares, a threshold of 2, i.e.
/// the whole phrase, after a command that reported failure and whose message ("refusing to
/// overwrite it") says nothing of the files it did write.
#[test]

fn a_failed_shares_split_out_dir_leaves_no_fresh_share_behind() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("shares");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("share-1-3.txt"), "an older share\n").unwrap();
    let output = common::hexvault(
        &[
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out-dir",
            dir.to_str().unwrap(),
        ],
        "",
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "share-1-3.txt")
        .collect();
    assert!(
        left.is_empty(),
        "the failed split left fresh shares behind: {left:?} (stderr: {})",
        stderr_of(&output)
    );
}

/// docs/formats.md:997-1003 ("Vault directory"): "a file name holds at most 255 bytes, so
/// partition and cell ids here have at most 127 bytes and object ids at most 125 (longer ones
/// are refused as usage errors, before anything is recorded)".
///
/// The limit is computed for `HEX(O).blob` only. A large object's stream file is
/// `HEX(O).HASH16.stream` (docs/formats.md:1004, 1082), 2n + 24 bytes, which exceeds 255 for an
/// object id of 116 to 125 bytes: `seal` accepts the id, reads and encrypts the whole input,
/// then fails with exit 1 "writing a stream file: File name too long (os error 36)", a
/// message that does not say what to do. Either the id must work, or it must be refused up
/// front (exit 2) as the documentation promises for ids the directory cannot name.
#[test]

fn a_large_object_with_an_object_id_the_docs_allow_is_sealed_or_refused_up_front() {
    let f = fixture();
    let id = "o".repeat(120);
    let payload = vec![0x5a_u8; 1024 * 1024 + 1];
    let output = f.run(&["seal", "--cell", "p/a", "--id", &id], &payload);
    let code = output.status.code();
    assert!(
        code == Some(0) || code == Some(2),
        "a 120-byte object id (the docs allow 125) of a large object: exit {code:?}, stderr: {}",
        stderr_of(&output)
    );
}

/// docs/formats.md:982-986 ("Vault directory"): "It holds no secret: ... and no command
/// writes a secret into it: `init --generate --out`, `open --out` and `session start --out`
/// refuse a path inside the vault directory (exit 2 ...)"; docs/cli.md:20-21 (the vault
/// directory is `--dir PATH`, else `$HEXVAULT_DIR`, else `./.hexvault`).
///
/// The other commands that write a fresh secret to a named file do not look: with
/// `$HEXVAULT_DIR` naming the vault, `mnemonic new --out VAULT/phrase.txt` writes the root
/// phrase into the vault directory, and `shares split --out-dir VAULT/shares` writes a
/// threshold of shares (the phrase again) there; both exit 0. A backup or a commit of the
/// directory, which the documentation says holds no secret, then carries the phrase.
#[test]

fn no_command_writes_a_fresh_secret_into_the_vault_directory() {
    let temp = tempfile::tempdir().unwrap();
    let vault = temp.path().join("vault");
    init_vault(&vault, &[], &[], &[]);
    let env = [
        ("HEXVAULT_MNEMONIC", TREZOR_PHRASE),
        ("HEXVAULT_DIR", vault.to_str().unwrap()),
    ];
    let phrase = vault.join("phrase.txt");
    let new = common::hexvault(
        &["mnemonic", "new", "--out", phrase.to_str().unwrap()],
        "",
        &env,
    );
    let shares = vault.join("shares");
    let split = common::hexvault(
        &[
            "shares",
            "split",
            "--threshold",
            "2",
            "--shares",
            "3",
            "--out-dir",
            shares.to_str().unwrap(),
        ],
        "",
        &env,
    );
    let written: Vec<&str> = [
        (phrase.exists(), "mnemonic new --out"),
        (shares.exists(), "shares split --out-dir"),
    ]
    .iter()
    .filter(|(exists, _)| *exists)
    .map(|(_, what)| *what)
    .collect();
    assert!(
        written.is_empty(),
        "secrets written inside the vault directory by: {written:?} (exit {:?} and {:?})",
        new.status.code(),
        split.status.code()
    );
}

/// crates/cli/src/main.rs:3-7 ("Secrets never travel as arguments ... Secret output ... is
/// printed only with `--show-secret`") and the rule the command line keeps for every parser
/// that may be handed a secret by mistake (crates/cli/src/tokens.rs:91-92: "The parser's
/// message is never repeated: it may quote a value"; main.rs:566-569: a phrase typed as
/// arguments "must not be printed back to the terminal, its scrollback or a CI log").
///
/// `decrypt` repeats serde_json's message, which quotes the input: a secret piped to
/// `decrypt` instead of `encrypt` as a JSON string (what `jq .password secrets.json`
/// prints) comes back whole on standard error: `malformed EncryptedData: invalid type:
/// string "hunter2-db-password", expected struct EncryptedData`.
#[test]

fn decrypt_never_echoes_its_input_in_an_error() {
    let secret = "hunter2-db-password";
    for input in [
        format!("\"{secret}\""),
        format!("{{\"key_version\": \"{secret}\"}}"),
    ] {
        let output = common::hexvault(
            &["decrypt"],
            &input,
            &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
        );
        assert_eq!(output.status.code(), Some(1));
        let stderr = stderr_of(&output);
        assert!(!stderr.contains(secret), "the input was echoed: {stderr}");
    }
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

fn reseal_goes_on_past_a_damaged_large_object() {
    let f = fixture();
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
    let stale = ls_cell(&f, "p/a")["stale_objects"].clone();
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

fn reseal_is_not_blocked_for_good_by_a_large_object_of_an_ended_session() {
    let f = fixture();
    let ok = |args: &[&str], stdin: &[u8]| f.ok(args, stdin);
    let run = |args: &[&str], stdin: &[u8]| f.run(args, stdin);
    let session = start(&f, "s.toml");
    let session = session.to_str().unwrap();
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
    let stale = ls_cell(&f, "p/a")["stale_objects"].clone();
    assert!(
        stale == 1 && first.status.code() == Some(1),
        "only the dead layer-2 large object may stay stale; `b-plain` must be resealed: \
         stale {stale}, exit {:?}, stdout {}, stderr {}",
        first.status.code(),
        String::from_utf8_lossy(&first.stdout),
        stderr_of(&first)
    );
}
