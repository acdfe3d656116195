//! Review round 8 findings on the command line (each test fails on the code it names; the
//! lead removes the `#[ignore]` with the fix).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TREZOR_PHRASE, hexvault_bytes, json_of, stderr_of};

/// A vault with cells `p/a`, `p/b` (edge a -> b), a token resolver file with token `tok`.
struct Fixture {
    temp: tempfile::TempDir,
    dir: PathBuf,
    tokens: PathBuf,
}

impl Fixture {
    fn new() -> Self {
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
        let fixture = Self { temp, dir, tokens };
        for args in [
            &["init"][..],
            &["partition", "add", "p"],
            &["cell", "add", "p/a"],
            &["cell", "add", "p/b"],
            &["edge", "add", "p/a", "p/b"],
        ] {
            fixture.ok(args, b"");
        }
        fixture
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HEXVAULT_MNEMONIC", TREZOR_PHRASE.to_owned()),
            ("HEXVAULT_TOKENS", self.tokens.to_str().unwrap().to_owned()),
            ("TOK", "tok".to_owned()),
            (
                "XDG_RUNTIME_DIR",
                self.temp.path().to_str().unwrap().to_owned(),
            ),
        ]
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--dir", self.dir.to_str().unwrap()]);
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        hexvault_bytes(&all, stdin, &env)
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "{args:?}: exit {:?}, stderr: {}",
            output.status.code(),
            stderr_of(&output)
        );
        output
    }

    fn start(&self, out: &Path) {
        self.ok(
            &[
                "session",
                "start",
                "--ttl",
                "1h",
                "--out",
                out.to_str().unwrap(),
            ],
            b"",
        );
    }

    fn seal2(&self, id: &str, session: &Path, data: &[u8]) -> Output {
        self.run(
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
            data,
        )
    }

    fn open2(&self, id: &str, session: &Path) -> Output {
        self.run(
            &[
                "open",
                "--cell",
                "p/a",
                "--id",
                id,
                "--token-env",
                "TOK",
                "--session",
                session.to_str().unwrap(),
            ],
            b"",
        )
    }
}

/// Runs the built binary under `strace`, with a fault injected (strace's `-e inject=`): a
/// precise stand-in for an I/O error or a `kill -9` at one system call.
fn under_strace(fixture: &Fixture, inject: &str, args: &[&str]) -> Output {
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-o", "/dev/null", "-e", inject])
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .args(args)
        .args(["--dir", fixture.dir.to_str().unwrap()])
        .env_clear()
        .envs(fixture.env());
    command
        .output()
        .expect("strace is needed by this test (apt-get install strace)")
}

/// R8-1. `session end` destroys the file (overwrite with zeros, fsync, unlink) BEFORE it
/// records the end (crates/cli/src/commands/session.rs `end`: `destroy` then `record`). When
/// the unlink fails (EBUSY here; a `kill -9` at the same point, `-e inject=unlink:signal=KILL`,
/// does the same), the file is already zeros, nothing is recorded, a copy still opens layer 2
/// (docs/cli.md promises it is refused once ended), and the zeroed original can never be
/// ended any more (`session end` cannot parse it).
#[test]
#[ignore = "review8 finding"]
fn session_end_failing_after_the_wipe_records_no_end_and_the_copy_still_opens() {
    let vault = Fixture::new();
    let session = vault.temp.path().join("s.toml");
    vault.start(&session);
    assert!(vault.seal2("x", &session, b"layer two").status.success());
    let copy = vault.temp.path().join("copy.toml");
    std::fs::copy(&session, &copy).unwrap();

    let ended = under_strace(
        &vault,
        "inject=unlink,unlinkat:error=EBUSY",
        &["session", "end", session.to_str().unwrap()],
    );
    assert!(
        !ended.status.success(),
        "the injected unlink failure was not hit"
    );
    // The user's command failed; whatever it left, the session must not stay usable with
    // the original gone: either the file is intact (retry works) or the end is recorded.
    let original_intact = std::fs::read(&session).unwrap().iter().any(|b| *b != 0);
    let retried = vault.run(&["session", "end", session.to_str().unwrap()], b"");
    let copy_opens = vault.open2("x", &copy);
    assert!(
        original_intact || retried.status.success() || !copy_opens.status.success(),
        "session end failed after zeroing the file: retry fails ({}), and the copy still opens \
         layer 2 ({:?}): the end was never recorded",
        stderr_of(&retried).trim(),
        String::from_utf8_lossy(&copy_opens.stdout)
    );
}

/// R8-2. A session is not tied to a vault (cells' Session docs), but `refuse_ended`
/// (crates/cli/src/commands/session.rs) consults only the log of the vault it runs on:
/// ended with `session end --dir A`, a copy of the file still seals and opens layer 2 in
/// vault B, while `session end` prints "data sealed at layer 2 under it cannot be opened any
/// more (a copy of the file is refused)" and docs/cli.md says a copy "opens nothing through
/// this tool".
#[test]
#[ignore = "review8 finding"]
fn a_session_ended_in_one_vault_still_opens_layer_2_in_another() {
    let a = Fixture::new();
    let b = Fixture::new();
    let session = a.temp.path().join("s.toml");
    a.start(&session);
    assert!(b.seal2("x", &session, b"in vault b").status.success());
    let copy = a.temp.path().join("copy.toml");
    std::fs::copy(&session, &copy).unwrap();
    let ended = a.ok(&["session", "end", session.to_str().unwrap()], b"");
    assert!(String::from_utf8_lossy(&ended.stdout).contains("a copy of the file is refused"));
    let opened = b.open2("x", &copy);
    assert!(
        !opened.status.success(),
        "a copy of an ended session's file opened layer 2 in another vault: {:?}",
        String::from_utf8_lossy(&opened.stdout)
    );
}

/// Appends to `log` a record frame (docs/formats.md, "Audit log": head, head check,
/// `encode(record) || chain`, checksum) built from the last record: sequence + 1, linked to
/// its stored chain value, naming cell `p/a` at key version `version` in a rotate record.
/// The keyed chain value is junk (an attacker has no key); nothing else is secret.
fn append_forged_rotation(log: &Path, version: u32) {
    use hexvault::audit::{LogContents, LogEntry, Sequence};
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(log).unwrap();
    let contents = LogContents::parse(&bytes).unwrap();
    let (mut record, chain) = contents
        .entries
        .into_iter()
        .rev()
        .find_map(|entry| match entry {
            LogEntry::Record { record, chain } => Some((record, chain)),
            _ => None,
        })
        .unwrap();
    assert_eq!(record.event.kind, hexvault::audit::EventKind::Rotate);
    record.sequence = Sequence::new(record.sequence.get() + 1);
    record.prev_chain = chain;
    record.event.destination.as_mut().unwrap().key_version = hexvault::audit::KeyVersion(version);
    let mut payload = record.encode().unwrap();
    payload.extend_from_slice(&[0x5a; 32]);
    let head = {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        [1u8, len[0], len[1], len[2], len[3]]
    };
    let check = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame-header")
        .chain_update(head)
        .finalize();
    let sum = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame")
        .chain_update(head)
        .chain_update(&payload)
        .finalize();
    let mut frame = head.to_vec();
    frame.extend_from_slice(&check[..4]);
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(&sum[..8]);
    let mut file = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    std::io::Write::write_all(&mut file, &frame).unwrap();
}

/// R8-3. `ls` takes the key versions from the audit log "verified with config.toml's audit
/// public key" (docs/cli.md; crates/cli/src/vaultdir.rs `log_versions`), but public-key
/// verification covers records only up to the last checkpoint and `Report::into_result`
/// accepts an unanchored tail. Every CLI command ends its log with a checkpoint, so a
/// rotation record appended after it by anyone who can write the file (no key needed) is
/// reported by `ls` as the cell's key version (and every object counted stale), while
/// `hexvault audit verify` (strict) and every keyed command refuse the same log.
#[test]
#[ignore = "review8 finding"]
fn ls_reports_a_key_version_from_a_forged_unanchored_rotation_record() {
    let vault = Fixture::new();
    vault.ok(&["seal", "--cell", "p/a", "--id", "x"], b"plaintext");
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    append_forged_rotation(&vault.dir.join("audit.log"), 77);
    let verify = vault.run(&["audit", "verify"], b"");
    assert!(
        !verify.status.success(),
        "audit verify accepted the forged tail"
    );
    let keyed = vault.run(&["open", "--cell", "p/a", "--id", "x"], b"");
    assert!(
        !keyed.status.success(),
        "a keyed command accepted the forged tail"
    );
    let ls = vault.run(&["--json", "ls"], b"");
    let reported = ls
        .status
        .success()
        .then(|| json_of(&ls)["cells"][0]["key_version"].clone());
    assert!(
        reported.as_ref().is_none_or(|v| v != 77),
        "ls reported key version 77 of a forged, unanchored record (audit verify refuses \
         the log: {})",
        stderr_of(&verify).trim()
    );
}

/// R8-4. docs/formats.md ("Vault directory"): a config that lags the log "is written
/// forward by the next command that opens the vault". `session start` and `session end`
/// open the vault through `VaultDir::assemble` directly, not `open_vault`, so they never
/// call `catch_up_versions`: after them the config still lags.
#[test]
#[ignore = "review8 finding"]
fn session_start_opens_the_vault_but_does_not_write_a_lagging_config_forward() {
    let vault = Fixture::new();
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    // A kill between the rotation's record and the config write (docs/formats.md) leaves
    // the config at version 1: reproduce it by writing it back.
    let config = vault.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let lagging = text.replace("key_version = 2", "key_version = 1");
    assert_ne!(lagging, text, "config.toml has no key_version = 2: {text}");
    std::fs::write(&config, &lagging).unwrap();
    vault.start(&vault.temp.path().join("s.toml"));
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        after.contains("key_version = 2"),
        "`session start` opened the vault and left config.toml lagging the log:\n{after}"
    );
}

/// R8-5. Three refusal messages lost their `\` line continuations and carry runs of 14+
/// spaces mid-sentence ("refusing to write              through it"): the --out link
/// refusal and the O_TMPFILE refusal of crates/cli/src/output.rs, and `config adopt`'s
/// "nothing to adopt" of crates/cli/src/commands/vault.rs.
#[test]
#[ignore = "review8 finding"]
fn the_out_link_refusal_has_no_run_of_spaces() {
    let vault = Fixture::new();
    vault.ok(&["seal", "--cell", "p/a", "--id", "x"], b"plaintext");
    let target = vault.temp.path().join("target");
    std::fs::write(&target, b"").unwrap();
    let link = vault.temp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let refused = vault.run(
        &[
            "open",
            "--cell",
            "p/a",
            "--id",
            "x",
            "--out",
            link.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2));
    let text = stderr_of(&refused);
    assert!(!text.contains("  "), "run of spaces in: {text}");
    // The same in `config adopt`'s refusal (crates/cli/src/commands/vault.rs, cli15d).
    let adopt = vault.run(&["config", "adopt"], b"");
    assert_eq!(adopt.status.code(), Some(1), "{}", stderr_of(&adopt));
    let text = stderr_of(&adopt);
    assert!(!text.contains("  "), "run of spaces in: {text}");
}

/// R8-7. docs/cli.md ("`--out FILE` (of `open`, `decrypt`, `envelope pack|unpack`) ... A
/// FILE that exists and is not a regular file ... is refused (exit 2) before anything is
/// decrypted") and SECURITY.md ("refused before decrypting"): only `open` checks first
/// (crates/cli/src/commands/vault.rs `open`); `decrypt` (crates/cli/src/commands/credential.rs
/// `decrypt`) and `envelope unpack` decrypt/unpack first and meet the check only inside
/// `output::write_out`. Seen from outside: a credential that does not authenticate with
/// `--out LINK` exits 1 (the decryption ran) instead of 2.
#[test]
#[ignore = "review8 finding"]
fn decrypt_refuses_an_out_link_before_decrypting() {
    let temp = tempfile::tempdir().unwrap();
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE)];
    let sealed = hexvault_bytes(
        &["encrypt", "--aad", "service=billing"],
        b"postgres://app:s3cret@db/app",
        &env,
    );
    assert!(sealed.status.success(), "{}", stderr_of(&sealed));
    let target = temp.path().join("target");
    std::fs::write(&target, b"").unwrap();
    let link = temp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let refused = hexvault_bytes(
        &[
            "decrypt",
            "--aad",
            "service=reporting",
            "--out",
            link.to_str().unwrap(),
        ],
        &sealed.stdout,
        &env,
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "decrypt ran before the --out link was refused: {}",
        stderr_of(&refused)
    );
}

/// R8-8. The token resolver file's syntax errors name "the line" (docs/formats.md, "Token
/// resolver file"): crates/cli/src/tokens.rs `FileResolver::parse` counts `lines()` of the
/// text before the error's span, which is one short when the span starts a line (an unknown
/// key, a bad table header): an error on line 5 is reported "at line 4".
#[test]
#[ignore = "review8 finding"]
fn a_token_file_error_at_the_start_of_a_line_names_that_line() {
    let text = format!(
        "[[token]]\ntoken = \"tok\"\npolicy = \"pol\"\nsecret = \"{}\"\nbogus = 1\n",
        "01".repeat(32)
    );
    let Err(error) = hexvault_cli::tokens::FileResolver::parse(&text) else {
        panic!("an unknown key was accepted");
    };
    let message = error.to_string();
    assert!(message.contains("at line 5"), "{message}");
}
