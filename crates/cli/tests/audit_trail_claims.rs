//! What the audit trail of the vault directory shows, as the docs say (review rounds 26 and
//! 27): what is recorded of a large object's damaged stream (by `open` and by `reseal`),
//! `audit verify` trusting the key config.toml names only without the mnemonic and with a
//! warning, and an empty `$HEXVAULT_DIR` refused by the vault commands.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::vault::Vault;
use common::{TREZOR_PHRASE, files_ending, stderr_of};

/// The number of `denied` records in the vault's audit log (`audit show --json`).
fn denied_records(v: &Vault) -> usize {
    let shown = v.ok(&["audit", "show", "--json"], b"");
    String::from_utf8(shown.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains("\"type\":\"record\"") && line.contains("\"kind\":\"denied\""))
        .count()
}

fn flip(path: &PathBuf, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

/// What is recorded of a refused open, as docs/cli.md ("Large objects") says since review
/// round 26: a tampered small object's refused `open` is recorded (`denied`); a large
/// object's `.stream` file that does not authenticate is refused (exit 1) without a record of
/// its own, since the stream is read after the vault's log is closed. If this ever records
/// one, update docs/cli.md, README.md and docs/when-to-use.md.
#[test]
fn a_refused_open_of_a_tampered_large_object_is_refused_as_documented() {
    let v = Vault::new();
    // Control: a small object, tampered, is refused and the refusal is recorded.
    v.ok(
        &["seal", "--cell", "billing/inbox", "--id", "small"],
        b"hello",
    );
    let small = files_ending(&v.dir, ".blob");
    assert_eq!(small.len(), 1);
    let len = std::fs::metadata(&small[0]).unwrap().len() as usize;
    flip(&small[0], len - 3);
    let before = denied_records(&v);
    let out = v.run(&["open", "--cell", "billing/inbox", "--id", "small"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        denied_records(&v),
        before + 1,
        "the small object's refusal is recorded"
    );

    // A large object (over 1 MiB), its stream tampered: refused as well ...
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    v.ok(
        &["seal", "--cell", "billing/inbox", "--id", "big"],
        &payload,
    );
    let streams = files_ending(&v.dir, ".stream");
    assert_eq!(streams.len(), 1);
    flip(&streams[0], 2_000_000);
    let before = denied_records(&v);
    let target = v.temp.path().join("big.out");
    let out = v.run(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "big",
            "--out",
            target.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "the tampered stream is refused");
    assert!(
        stderr_of(&out).contains("did not authenticate"),
        "{}",
        stderr_of(&out)
    );
    assert!(
        !target.exists(),
        "no --out file from a stream that did not authenticate"
    );
    // The documented limit: no record of its own.
    assert_eq!(denied_records(&v), before);
}

/// A second Trezor BIP-39 vector (entropy 7f..7f): another root.
const OTHER_PHRASE: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

/// SECURITY.md:24 (audit row): "recomputed or re-signed logs (verifiers use only the
/// caller's trusted key, never the key in the file)"; SECURITY.md:100: "The vault
/// directory's `config.toml` is not authenticated, so it is never trusted alone";
/// README.md:188: "hexvault audit verify     # the vault's log, its public key and anchor".
/// Without `--public-key` or a mnemonic, `audit verify` of a vault directory takes the key
/// from config.toml alone: an attacker who writes the directory replaces the log, its
/// anchor and config.toml's `audit_public_key` with those of a root of their own, and the
/// command prints "OK" (exit 0) with no warning that the key came from an unauthenticated
/// file.
#[test]
fn a_log_re_signed_under_another_root_with_its_key_in_config_toml_is_not_reported_ok() {
    let ours = Vault::with(&["p"], &["p/c"], &[]);
    // Another root's vault: its log, anchor and public key are what the attacker plants.
    plant_other_root(&ours);

    // The operator's routine check, as README.md shows it (no mnemonic in the environment).
    let out = common::hexvault_in(&ours.dir, &["audit", "verify"], b"", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() || stderr.contains("warning"),
        "a log re-signed under another root verified OK with the key config.toml names, \
         without a warning: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Every record of the vault's audit log (`audit show --json`), one line each.
fn records(v: &Vault) -> Vec<String> {
    let shown = v.ok(&["audit", "show", "--json"], b"");
    String::from_utf8(shown.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.contains("\"type\":\"record\""))
        .map(str::to_owned)
        .collect()
}

/// docs/cli.md ("Large objects"): a `.stream` file that fails to authenticate is refused
/// without a record of its own; `reseal` reports the object in `failed`, having recorded
/// only the data key's open (at layers 1 and 2), and records no rotation for it (review
/// rounds 25 and 27).
#[test]
fn reseal_records_only_the_data_key_open_of_a_damaged_layer_one_large_object() {
    let mut v = Vault::with(&["p"], &["p/a"], &[]);
    let tokens = common::token_file(v.temp.path());
    v.env.push((
        "HEXVAULT_TOKENS".into(),
        tokens.to_str().unwrap().to_owned(),
    ));
    v.env.push(("TOK".into(), "tok".into()));
    let large = vec![0x5a_u8; (1 << 20) + 100];
    v.ok(
        &[
            "seal",
            "--cell",
            "p/a",
            "--id",
            "big",
            "--layer",
            "1",
            "--token-env",
            "TOK",
        ],
        &large,
    );
    v.ok(&["rotate", "--cell", "p/a"], b"");
    let streams = files_ending(&v.dir, ".stream");
    assert_eq!(streams.len(), 1, "{streams:?}");
    let mut bytes = std::fs::read(&streams[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&streams[0], &bytes).unwrap();

    let before = records(&v);
    let run = v.run(
        &["--json", "reseal", "--cell", "p/a", "--token-env", "TOK"],
        b"",
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr_of(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("big"));
    let after = records(&v);
    let added = &after[before.len()..];
    assert!(
        added.len() == 1 && added[0].contains("\"kind\":\"open\""),
        "reseal of the damaged object recorded more than the data key's open: {added:?}"
    );
}

/// Makes `ours` hold the log, anchor and `audit_public_key` of a vault of another root.
fn plant_other_root(ours: &Vault) {
    let temp = tempfile::tempdir().unwrap();
    let theirs = temp.path().join("theirs");
    let env = [("HEXVAULT_MNEMONIC", OTHER_PHRASE)];
    for args in [
        &["init"][..],
        &["partition", "add", "p"],
        &["cell", "add", "p/c"],
    ] {
        let out = common::hexvault_in(&theirs, args, b"", &env);
        assert!(out.status.success(), "{args:?}");
    }
    for name in ["audit.log", "audit.log.anchor"] {
        std::fs::copy(theirs.join(name), ours.dir.join(name)).unwrap();
    }
    let their_config = std::fs::read_to_string(theirs.join("config.toml")).unwrap();
    let their_key = their_config
        .lines()
        .find(|l| l.starts_with("audit_public_key"))
        .unwrap()
        .to_owned();
    let our_config = std::fs::read_to_string(ours.dir.join("config.toml")).unwrap();
    let forged: Vec<String> = our_config
        .lines()
        .map(|l| {
            if l.starts_with("audit_public_key") {
                their_key.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(ours.dir.join("config.toml"), forged.join("\n") + "\n").unwrap();
}

/// SECURITY.md:106-109 (round 26): "`hexvault audit verify` of the vault without
/// `--public-key` or the mnemonic checks the log against the public key config.toml names
/// (mode `vault-key`, with a warning)"; the warning (crates/cli/src/commands/audit.rs:339-344)
/// says "pass --public-key ... or give the mnemonic"; `audit verify --help`
/// (crates/cli/src/main.rs:224): "With the operator's mnemonic (--mnemonic-file,
/// $HEXVAULT_MNEMONIC or standard input) the whole chain is checked under the audit key".
///
/// `mnemonic_given` (audit.rs:249-251) looks at `--mnemonic-file` and the passphrase flags
/// only: an operator whose mnemonic is in `$HEXVAULT_MNEMONIC` (the way every vault command
/// reads it) gets mode `vault-key`, the mnemonic is ignored, and a log re-signed under
/// another root with its key planted in config.toml verifies OK (exit 0).
#[test]
fn audit_verify_with_the_mnemonic_in_the_environment_is_keyed() {
    let ours = Vault::with(&["p"], &["p/c"], &[]);
    plant_other_root(&ours);
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE)];
    let json = common::hexvault_in(&ours.dir, &["--json", "audit", "verify"], b"", &env);
    let text = common::hexvault_in(&ours.dir, &["audit", "verify"], b"", &env);
    assert!(
        !text.status.success() && !json.status.success(),
        "with the operator's mnemonic in $HEXVAULT_MNEMONIC, a log re-signed under another \
         root verified OK: text exit {:?} ({}), json {}",
        text.status.code(),
        stderr_of(&text),
        String::from_utf8_lossy(&json.stdout)
    );
}

/// An empty `$HEXVAULT_DIR`: the `--out` guard takes it as unset (`./.hexvault`), and the
/// vault commands refuse it as an empty `--dir` value (exit 2), never reading the working
/// directory as the vault (CHANGELOG, review rounds 25 and 27).
#[test]
fn an_empty_hexvault_dir_is_refused_by_the_vault_commands() {
    let temp = tempfile::tempdir().unwrap();
    common::vault::init_vault(&temp.path().join(".hexvault"), &["p"], &["p/a"], &[]);
    let run = |dir: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hexvault"));
        command
            .args(["ls", "--json"])
            .current_dir(temp.path())
            .env_remove("HEXVAULT_MNEMONIC")
            .env_remove("HEXVAULT_DIR")
            .stdin(std::process::Stdio::null());
        if let Some(dir) = dir {
            command.env("HEXVAULT_DIR", dir);
        }
        command.output().unwrap()
    };
    let unset = run(None);
    assert!(unset.status.success(), "{}", stderr_of(&unset));
    let empty = run(Some(""));
    assert_eq!(empty.status.code(), Some(2), "{}", stderr_of(&empty));
    assert!(stderr_of(&empty).contains("--dir"), "{}", stderr_of(&empty));
}
