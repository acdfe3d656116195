//! End-to-end tests of the vault directory commands (`init`, `partition add`, `cell add`,
//! `edge add`, `ls`, `seal`, `open`, `traverse`, `rotate`, `reseal`, `audit verify|show` on
//! the vault's log), running the built binary in temporary directories: the whole
//! workflow, every bad-input path, layer 1 through a token resolver file, and `kill -9`
//! during `seal` and `reseal`.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::vault::init_vault;
use common::{
    PhraseFifo, TREZOR_PHRASE, hexvault_bytes, hexvault_in, json_of, stderr_of, stdout_of,
    succeeded,
};
use serde_json::Value;

const OTHER_PHRASE: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

struct Fixture {
    _temp: tempfile::TempDir,
    dir: PathBuf,
}

impl Fixture {
    /// A vault with partitions `billing`, `reports`, cells `billing/inbox`,
    /// `reports/archive`, `reports/other` and the edge `billing/inbox -> reports/archive`.
    fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("vault");
        init_vault(
            &dir,
            &["billing", "reports"],
            &["billing/inbox", "reports/archive", "reports/other"],
            &[("billing/inbox", "reports/archive")],
        );
        Self { _temp: temp, dir }
    }

    fn path(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// `hexvault ARGS --dir VAULT` with the vault's phrase in the environment.
    fn run_in(&self, args: &[&str], stdin: &[u8], extra: &[(&str, &str)]) -> Output {
        let mut env = vec![("HEXVAULT_MNEMONIC", TREZOR_PHRASE)];
        env.extend_from_slice(extra);
        hexvault_in(&self.dir, args, stdin, &env)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_in(args, b"", &[])
    }

    fn ok(&self, args: &[&str]) -> Output {
        succeeded(args, self.run(args))
    }

    fn seal(&self, cell: &str, id: &str, plaintext: &[u8]) -> Output {
        self.run_in(&["seal", "--cell", cell, "--id", id], plaintext, &[])
    }

    fn open(&self, cell: &str, id: &str) -> Output {
        self.run(&["open", "--cell", cell, "--id", id])
    }

    fn blob(&self, cell: &str, id: &str) -> PathBuf {
        let (p, c) = cell.split_once('/').unwrap();
        self.dir
            .join("objects")
            .join(hex::encode(p))
            .join(hex::encode(c))
            .join(format!("{}.blob", hex::encode(id)))
    }

    fn verify_json(&self, extra: &[&str]) -> (Output, Value) {
        let mut args = vec!["audit", "verify", "--json"];
        args.extend_from_slice(extra);
        let output = self.run(&args);
        let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        (output, report)
    }

    fn assert_verifies(&self) {
        let (output, report) = self.verify_json(&[]);
        assert!(output.status.success(), "{}", stderr_of(&output));
        assert_eq!(report["ok"], true);
        // The fixture gives the mnemonic in $HEXVAULT_MNEMONIC: the keyed check (review
        // round 27), never config.toml's key alone.
        assert_eq!(report["mode"], "keyed");
    }

    fn leftovers(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    found.push(path);
                }
            }
        }
        found
    }
}

fn failed(output: &Output, code: i32, needle: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {}",
        stderr_of(output)
    );
    let stderr = stderr_of(output);
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn whole_workflow() {
    let v = Fixture::new();
    let sealed = json_of(&v.run_in(
        &[
            "seal",
            "--cell",
            "billing/inbox",
            "--id",
            "invoice-42",
            "--json",
        ],
        b"amount=1200 EUR",
        &[],
    ));
    assert_eq!(sealed["cell"], "billing/inbox");
    assert_eq!(sealed["id"], "invoice-42");
    assert_eq!(sealed["layer"], 0);
    assert_eq!(sealed["key_version"], 1);
    assert_eq!(sealed["compressed"], false);
    assert!(sealed["bytes"].as_u64().unwrap() > 15);
    assert_eq!(
        stdout_of(&v.ok(&["open", "--cell", "billing/inbox", "--id", "invoice-42"])),
        "amount=1200 EUR"
    );
    // Compressed, from --in.
    let input = v.dir.parent().unwrap().join("big.txt");
    std::fs::write(&input, "abc".repeat(1000)).unwrap();
    let compressed = json_of(&v.run(&[
        "seal",
        "--cell",
        "billing/inbox",
        "--id",
        "big",
        "--compress",
        "--in",
        input.to_str().unwrap(),
        "--json",
    ]));
    assert!(compressed["bytes"].as_u64().unwrap() < 3000);
    let out = v.dir.parent().unwrap().join("out.txt");
    let opened = json_of(&v.run(&[
        "open",
        "--cell",
        "billing/inbox",
        "--id",
        "big",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(opened["bytes"], 3000);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "abc".repeat(1000));
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Traverse (copy), then move.
    let copied = json_of(&v.run(&[
        "traverse",
        "--from",
        "billing/inbox",
        "--to",
        "reports/archive",
        "--id",
        "invoice-42",
        "--json",
    ]));
    assert_eq!(copied["moved"], false);
    assert_eq!(copied["from"], "billing/inbox");
    assert_eq!(copied["to"], "reports/archive");
    assert!(v.blob("billing/inbox", "invoice-42").exists());
    assert_eq!(
        stdout_of(&v.ok(&["open", "--cell", "reports/archive", "--id", "invoice-42"])),
        "amount=1200 EUR"
    );
    let moved = json_of(&v.run(&[
        "traverse",
        "--from",
        "billing/inbox",
        "--to",
        "reports/archive",
        "--id",
        "big",
        "--move",
        "--json",
    ]));
    assert_eq!(moved["moved"], true);
    assert!(!v.blob("billing/inbox", "big").exists());
    assert!(v.blob("reports/archive", "big").exists());

    // Rotate, then reseal: every object under the new key version, still opening.
    let rotated = json_of(&v.run(&["rotate", "--cell", "reports/archive", "--json"]));
    assert_eq!(rotated["key_version"], 2);
    assert_eq!(rotated["stale_objects"], 2);
    let listed = json_of(&v.run(&["ls", "--json"]));
    let archive = listed["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cell"] == "archive")
        .unwrap()
        .clone();
    assert_eq!(archive["key_version"], 2);
    assert_eq!(archive["stale_objects"], 2);
    assert_eq!(archive["objects_by_key_version"]["1"], 2);
    let resealed = json_of(&v.run(&["reseal", "--cell", "reports/archive", "--json"]));
    assert_eq!(resealed["resealed"], 2);
    assert_eq!(resealed["already_current"], 0);
    assert_eq!(resealed["objects"], 2);
    let again = json_of(&v.run(&["reseal", "--cell", "reports/archive", "--json"]));
    assert_eq!(again["resealed"], 0);
    assert_eq!(again["already_current"], 2);
    assert_eq!(
        stdout_of(&v.ok(&["open", "--cell", "reports/archive", "--id", "invoice-42"])),
        "amount=1200 EUR"
    );

    // ls: documented fields.
    let listed = json_of(&v.run(&["ls", "--json"]));
    for field in ["dir", "audit_public_key", "partitions", "cells", "edges"] {
        assert!(listed.get(field).is_some(), "ls --json lacks {field}");
    }
    assert_eq!(
        listed["partitions"],
        serde_json::json!(["billing", "reports"])
    );
    assert_eq!(listed["edges"][0]["from"], "billing/inbox");
    assert_eq!(listed["edges"][0]["to"], "reports/archive");
    for field in [
        "partition",
        "cell",
        "key_version",
        "min_key_version",
        "objects",
        "stale_objects",
        "objects_by_key_version",
        "unreadable",
    ] {
        assert!(
            listed["cells"][0].get(field).is_some(),
            "cell lacks {field}"
        );
    }
    assert!(stdout_of(&v.ok(&["ls"])).contains("edge billing/inbox -> reports/archive"));

    // The audit log: one seal per seal, traverses, rotations; verifies with the vault's key.
    v.assert_verifies();
    let shown = stdout_of(&v.ok(&["audit", "show", "--json"]));
    let kinds: Vec<String> = shown
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|entry| entry["type"] == "record")
        .map(|entry| entry["kind"].as_str().unwrap().to_owned())
        .collect();
    // init's "records the topology", 2 partitions, 3 cells, 1 edge (ADR 0087), then the rest.
    let mut expected = vec!["declare"; 7];
    expected.extend([
        "seal", "seal", "traverse", "traverse", "rotate", "rotate", "rotate",
    ]);
    assert_eq!(kinds, expected);
    // The public key init printed verifies the log too.
    let (output, report) =
        v.verify_json(&["--public-key", listed["audit_public_key"].as_str().unwrap()]);
    assert!(output.status.success());
    assert_eq!(report["mode"], "public-key");
    // HEXVAULT_DIR names the vault when --dir is absent.
    let by_env = hexvault_bytes(&["ls", "--json"], b"", &[("HEXVAULT_DIR", v.path())]);
    assert_eq!(json_of(&by_env)["partitions"], listed["partitions"]);
}

#[test]
fn init_generate_shows_the_phrase_once_and_never_to_dev_null() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("v");
    let made = json_of(&hexvault_bytes(
        &[
            "init",
            "--generate",
            "--dir",
            dir.to_str().unwrap(),
            "--json",
        ],
        b"",
        &[],
    ));
    let phrase = made["mnemonic"].as_str().unwrap().to_owned();
    assert_eq!(phrase.split_whitespace().count(), 24);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // The generated phrase is the vault's: another command opens the vault with it.
    // Declarations are recorded in the audit log (ADR 0087): they need the phrase too.
    let declared = hexvault_bytes(
        &["partition", "add", "p", "--dir", dir.to_str().unwrap()],
        b"",
        &[],
    );
    assert_eq!(declared.status.code(), Some(1), "{}", stderr_of(&declared));
    let declared = hexvault_bytes(
        &["partition", "add", "p", "--dir", dir.to_str().unwrap()],
        b"",
        &[("HEXVAULT_MNEMONIC", &phrase)],
    );
    assert!(declared.status.success(), "{}", stderr_of(&declared));
    hexvault_bytes(
        &["cell", "add", "p/c", "--dir", dir.to_str().unwrap()],
        b"",
        &[("HEXVAULT_MNEMONIC", &phrase)],
    );
    let ok = hexvault_bytes(
        &[
            "seal",
            "--cell",
            "p/c",
            "--id",
            "x",
            "--dir",
            dir.to_str().unwrap(),
        ],
        b"data",
        &[("HEXVAULT_MNEMONIC", &phrase)],
    );
    assert!(ok.status.success(), "{}", stderr_of(&ok));
    // --out: a new 0600 file, the phrase not printed.
    let file = temp.path().join("phrase.txt");
    let dir2 = temp.path().join("v2");
    let saved = json_of(&hexvault_bytes(
        &[
            "init",
            "--generate",
            "--out",
            file.to_str().unwrap(),
            "--dir",
            dir2.to_str().unwrap(),
            "--json",
        ],
        b"",
        &[],
    ));
    assert!(saved.get("mnemonic").is_none());
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Standard output to /dev/null: refused, no vault made.
    let dir3 = temp.path().join("v3");
    let lost = Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(["init", "--generate", "--dir", dir3.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    failed(&lost, 1, "the new secret would be lost");
    assert!(!dir3.exists());
    // A second init in the same directory is refused.
    let twice = hexvault_bytes(
        &["init", "--dir", dir.to_str().unwrap()],
        b"",
        &[("HEXVAULT_MNEMONIC", &phrase)],
    );
    failed(&twice, 1, "a vault already exists");
}

#[test]
fn bad_inputs_fail_with_one_line_and_the_right_exit_code() {
    let v = Fixture::new();
    assert!(v.seal("billing/inbox", "a", b"secret").status.success());

    // Missing vault.
    let temp = tempfile::tempdir().unwrap();
    let nowhere = temp.path().join("nothing-here");
    for args in [
        vec!["ls"],
        vec!["partition", "add", "p"],
        vec!["open", "--cell", "p/c", "--id", "x"],
        vec!["audit", "verify"],
    ] {
        let mut args = args.clone();
        args.extend(["--dir", nowhere.to_str().unwrap()]);
        let output = hexvault_bytes(&args, b"", &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)]);
        failed(&output, 1, "hexvault init");
        assert!(
            !stderr_of(&output).contains("nothing-here"),
            "the path is not echoed"
        );
    }
    // Unknown cell and partition: not echoed.
    let unknown = v.seal("billing/zz-unknown-zz", "b", b"x");
    failed(&unknown, 1, "not declared");
    assert!(!stderr_of(&unknown).contains("zz-unknown-zz"));
    failed(&v.run(&["cell", "add", "nopart/c"]), 1, "partition add");
    failed(&v.run(&["cell", "add", "billing/inbox"]), 1, "exists");
    failed(
        &v.run(&["edge", "add", "billing/inbox", "billing/zz"]),
        1,
        "not declared",
    );
    // Malformed names are usage errors, never echoed.
    let bad = v.seal("no-slash-secretword", "b", b"x");
    failed(&bad, 2, "PARTITION/CELL");
    assert!(!stderr_of(&bad).contains("secretword"));
    let bad = v.seal("billing/inbox", "bad id with spaces", b"x");
    failed(&bad, 2, "not a valid object id");
    assert!(!stderr_of(&bad).contains("spaces"));
    failed(&v.run(&["partition", "add", "a/b"]), 2, "no `/`");
    // Layer 3 does not exist (clap refuses it, exit 2); layer 2 needs --session FILE.
    let refused = v.run(&[
        "seal",
        "--cell",
        "billing/inbox",
        "--id",
        "c",
        "--layer",
        "3",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr_of(&refused).contains("0..=2"));
    failed(
        &v.run_in(
            &[
                "seal",
                "--cell",
                "billing/inbox",
                "--id",
                "c",
                "--layer",
                "2",
            ],
            b"x",
            &[],
        ),
        2,
        "--session FILE",
    );
    // Unknown object, existing object.
    failed(&v.open("billing/inbox", "zz-missing"), 1, "no object");
    failed(
        &v.seal("billing/inbox", "a", b"again"),
        1,
        "never overwrites",
    );
    // Undeclared edge: refused before anything is read.
    failed(
        &v.run(&[
            "traverse",
            "--from",
            "billing/inbox",
            "--to",
            "reports/other",
            "--id",
            "a",
        ]),
        1,
        "edge add billing/inbox reports/other",
    );
    failed(
        &v.run(&[
            "traverse",
            "--from",
            "reports/archive",
            "--to",
            "billing/inbox",
            "--id",
            "a",
        ]),
        1,
        "no edge",
    );
    // Wrong mnemonic.
    let wrong = v.run_in(
        &["open", "--cell", "billing/inbox", "--id", "a"],
        b"",
        &[("HEXVAULT_MNEMONIC", OTHER_PHRASE)],
    );
    failed(&wrong, 1, "not the vault's");
    // No mnemonic at all while stdin carries the plaintext.
    let all = [
        "seal",
        "--cell",
        "billing/inbox",
        "--id",
        "n",
        "--dir",
        v.path(),
    ];
    failed(&hexvault_bytes(&all, b"x", &[]), 2, "--mnemonic-file");
    // Plaintext refused to a terminal is checked elsewhere; here --json without --out.
    failed(
        &v.run(&["open", "--cell", "billing/inbox", "--id", "a", "--json"]),
        2,
        "--out",
    );

    // Tampered blob: refused (and the refusal recorded); truncated blob: refused.
    let blob_path = v.blob("billing/inbox", "a");
    let original = std::fs::read(&blob_path).unwrap();
    let mut tampered = original.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    std::fs::write(&blob_path, &tampered).unwrap();
    failed(&v.open("billing/inbox", "a"), 1, "did not authenticate");
    std::fs::write(&blob_path, &original[..original.len() - 20]).unwrap();
    let truncated = v.open("billing/inbox", "a");
    assert_eq!(truncated.status.code(), Some(1));
    std::fs::write(&blob_path, &original[..10]).unwrap();
    failed(&v.open("billing/inbox", "a"), 1, "malformed");
    std::fs::write(&blob_path, &original).unwrap();
    assert_eq!(
        stdout_of(&v.ok(&["open", "--cell", "billing/inbox", "--id", "a"])),
        "secret"
    );
    v.assert_verifies();
    let shown = stdout_of(&v.ok(&["audit", "show", "--json"]));
    assert_eq!(shown.matches("\"kind\":\"denied\"").count(), 3, "{shown}");

    // Corrupted audit log: verify fails naming the damage; commands refuse to open the vault.
    let log = v.dir.join("audit.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&log, &bytes).unwrap();
    let (output, report) = v.verify_json(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["ok"], false);
    failed(&v.seal("billing/inbox", "later", b"x"), 1, "audit");
    assert!(!v.blob("billing/inbox", "later").exists());
    // A missing log is never silently replaced.
    std::fs::remove_file(&log).unwrap();
    failed(
        &v.seal("billing/inbox", "later", b"x"),
        1,
        "audit.log is missing",
    );
}

#[test]
fn config_damage_is_reported() {
    let v = Fixture::new();
    let config = v.dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("format = 1", "format = 9")).unwrap();
    failed(&v.run(&["ls"]), 1, "format 9");
    std::fs::write(&config, "not toml [").unwrap();
    failed(&v.run(&["ls"]), 1, "config.toml is not valid");
    std::fs::write(
        &config,
        text.replace("min_key_version = 1", "min_key_version = 5"),
    )
    .unwrap();
    failed(&v.run(&["ls"]), 1, "min_key_version");
}

const POLICY_SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[test]
fn layer_one_through_a_token_resolver_file() {
    let v = Fixture::new();
    let tokens = v.dir.parent().unwrap().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\ntoken = \"tok-inbox\"\npolicy = \"billing\"\nsecret = \"{POLICY_SECRET}\"\n\
             actor = \"alice\"\ncells = [\"billing/inbox\", \"reports/archive\"]\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let t = tokens.to_str().unwrap();
    let good = [("T", "tok-inbox"), ("HEXVAULT_TOKENS", t)];
    let sealed = v.run_in(
        &[
            "seal",
            "--cell",
            "billing/inbox",
            "--id",
            "l1",
            "--layer",
            "1",
            "--token-env",
            "T",
            "--json",
        ],
        b"gated",
        &good,
    );
    assert_eq!(json_of(&sealed)["layer"], 1);
    // Without a token, with a wrong one, out of its cells: refused.
    failed(
        &v.run_in(
            &["open", "--cell", "billing/inbox", "--id", "l1"],
            b"",
            &good[1..],
        ),
        1,
        "--token-env",
    );
    let wrong = [("T", "tok-wrong"), ("HEXVAULT_TOKENS", t)];
    let refused = v.run_in(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "l1",
            "--token-env",
            "T",
        ],
        b"",
        &wrong,
    );
    failed(&refused, 1, "refused");
    assert!(!stderr_of(&refused).contains("tok-wrong"));
    failed(
        &v.run_in(
            &[
                "seal",
                "--cell",
                "reports/other",
                "--id",
                "l1",
                "--layer",
                "1",
                "--token-env",
                "T",
            ],
            b"x",
            &good,
        ),
        1,
        "refused",
    );
    let opened = v.run_in(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "l1",
            "--token-env",
            "T",
        ],
        b"",
        &good,
    );
    assert_eq!(stdout_of(&opened), "gated");
    assert!(
        !stderr_of(&opened).contains("warning"),
        "0600 file: no warning"
    );
    // Traverse and reseal at layer 1 with the token.
    let moved = v.run_in(
        &[
            "traverse",
            "--from",
            "billing/inbox",
            "--to",
            "reports/archive",
            "--id",
            "l1",
            "--token-env",
            "T",
        ],
        b"",
        &good,
    );
    assert!(moved.status.success(), "{}", stderr_of(&moved));
    v.ok(&["rotate", "--cell", "reports/archive"]);
    let resealed = v.run_in(
        &[
            "reseal",
            "--cell",
            "reports/archive",
            "--token-env",
            "T",
            "--json",
        ],
        b"",
        &good,
    );
    assert_eq!(json_of(&resealed)["resealed"], 1);
    // Unset variable: usage error that does not name the variable.
    failed(
        &v.run_in(
            &[
                "open",
                "--cell",
                "billing/inbox",
                "--id",
                "l1",
                "--token-env",
                "UNSET_VAR_XYZ",
            ],
            b"",
            &good[1..],
        ),
        2,
        "not set",
    );
    // A resolver file others can read: warned.
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warned = v.run_in(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "l1",
            "--token-env",
            "T",
        ],
        b"",
        &good,
    );
    assert!(
        stderr_of(&warned).contains("chmod 600"),
        "{}",
        stderr_of(&warned)
    );
    v.assert_verifies();
}

/// Starts `hexvault ARGS --dir VAULT` with a piped standard input, for killing.
fn spawn(v: &Fixture, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(args)
        .args(["--dir", v.path()])
        .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// After a `kill -9`: the log reads without damage (strict verification may still name
/// records after the last checkpoint as at risk, which is true), the blobs of `ids` present
/// open, and the next command that opens the vault (here the open of the canary object
/// `canary` in `cell`) leaves a log that verifies strictly.
fn check_after_kill(v: &Fixture, cell: &str, ids: &[String]) {
    let (output, report) = v.verify_json(&["--forensic"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(report["failure"].is_null(), "{report}");
    let canary = v.open(cell, "canary");
    assert!(canary.status.success(), "{}", stderr_of(&canary));
    for id in ids {
        if v.blob(cell, id).exists() {
            let opened = v.open(cell, id);
            assert!(opened.status.success(), "{id}: {}", stderr_of(&opened));
            assert_eq!(stdout_of(&opened), format!("payload {id}"));
        }
    }
    v.assert_verifies();
}

#[test]
fn kill_during_seal_leaves_no_half_written_blob() {
    let v = Fixture::new();
    assert!(
        v.seal("billing/inbox", "canary", b"payload canary")
            .status
            .success()
    );
    let (mut landed, mut missing) = (0, 0);
    // A seal takes some tens of milliseconds here: kills every 2 ms over that span fall
    // before, during and after its writes.
    for round in 0..24_u64 {
        let id = format!("k{round}");
        let mut child = spawn(&v, &["seal", "--cell", "billing/inbox", "--id", &id]);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("payload {id}").as_bytes()).unwrap();
        drop(stdin);
        std::thread::sleep(Duration::from_millis(round * 2));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if v.blob("billing/inbox", &id).exists() {
            landed += 1;
        } else {
            missing += 1;
        }
        check_after_kill(&v, "billing/inbox", std::slice::from_ref(&id));
    }
    eprintln!("kill -9 during seal: {landed} blobs landed, {missing} did not");
    // The next seal in the cell removes what an interrupted one left.
    assert!(
        v.seal("billing/inbox", "after", b"payload after")
            .status
            .success()
    );
    assert!(v.leftovers().is_empty(), "{:?}", v.leftovers());
    // A seal killed while still reading its input writes nothing.
    let mut child = spawn(&v, &["seal", "--cell", "billing/inbox", "--id", "reading"]);
    child.stdin.as_mut().unwrap().write_all(b"partial").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!v.blob("billing/inbox", "reading").exists());
    // Every seal record names a blob that exists, and every blob has its record.
    let shown = stdout_of(&v.ok(&["audit", "show", "--json"]));
    let seals = shown.matches("\"kind\":\"seal\"").count();
    let listed = json_of(&v.run(&["ls", "--json"]));
    let objects = listed["cells"][0]["objects"].as_u64().unwrap();
    let seals = u64::try_from(seals).unwrap();
    // No blob without its record; a record without its blob only if a kill fell between
    // the record and the rename (ADR 0071), at most one per kill.
    assert!(
        objects <= seals && seals <= objects + 9,
        "{objects} blobs, {seals} records"
    );
}

#[test]
fn kill_during_reseal_then_reseal_resumes() {
    let v = Fixture::new();
    let ids: Vec<String> = (0..24).map(|i| format!("obj-{i:02}")).collect();
    assert!(
        v.seal("billing/inbox", "canary", b"payload canary")
            .status
            .success()
    );
    for id in &ids {
        let sealed = v.seal("billing/inbox", id, format!("payload {id}").as_bytes());
        assert!(sealed.status.success(), "{}", stderr_of(&sealed));
    }
    v.ok(&["rotate", "--cell", "billing/inbox"]);
    let mut resealed_total = 0;
    for delay_ms in [40_u64, 120, 250] {
        let mut child = spawn(&v, &["reseal", "--cell", "billing/inbox"]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        check_after_kill(&v, "billing/inbox", &ids);
        let listed = json_of(&v.run(&["ls", "--json"]));
        let stale = listed["cells"][0]["stale_objects"].as_u64().unwrap();
        resealed_total = 25 - stale;
    }
    let finished = json_of(&v.run(&["reseal", "--cell", "billing/inbox", "--json"]));
    assert_eq!(finished["objects"], 25);
    assert_eq!(finished["already_current"], resealed_total);
    assert_eq!(finished["resealed"], 25 - resealed_total);
    let listed = json_of(&v.run(&["ls", "--json"]));
    assert_eq!(listed["cells"][0]["stale_objects"], 0);
    assert_eq!(listed["cells"][0]["objects_by_key_version"]["2"], 25);
    check_after_kill(&v, "billing/inbox", &ids);
}

#[test]
fn open_refuses_a_terminal_without_force() {
    let v = Fixture::new();
    assert!(v.seal("billing/inbox", "t", b"on-screen").status.success());
    // `script` runs the command with a pseudo-terminal as its standard output.
    let command = format!(
        "{} open --cell billing/inbox --id t --dir {}",
        env!("CARGO_BIN_EXE_hexvault"),
        v.path()
    );
    let run = |extra: &str| {
        Command::new("script")
            .args(["-qec", &format!("{command}{extra}"), "/dev/null"])
            .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let refused = run("");
    assert_eq!(refused.status.code(), Some(2));
    let text = String::from_utf8_lossy(&refused.stdout).into_owned();
    assert!(
        text.contains("refusing to write plaintext to a terminal"),
        "{text}"
    );
    assert!(!text.contains("on-screen"));
    let forced = run(" --force");
    assert!(forced.status.success());
    assert!(String::from_utf8_lossy(&forced.stdout).contains("on-screen"));
    let _ = Path::new("/");
}

#[test]
fn a_phrase_typed_in_place_of_a_name_or_path_is_not_echoed() {
    let v = Fixture::new();
    let phrase = TREZOR_PHRASE;
    let runs: Vec<Vec<&str>> = vec![
        vec!["ls", "--dir", phrase],
        vec!["open", "--cell", phrase, "--id", "a", "--dir", v.path()],
        vec![
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            phrase,
            "--dir",
            v.path(),
        ],
        vec!["partition", "add", phrase, "--dir", v.path()],
        vec!["cell", "add", phrase, "--dir", v.path()],
        vec!["edge", "add", phrase, "billing/inbox", "--dir", v.path()],
        vec!["rotate", "--cell", phrase, "--dir", v.path()],
        vec![
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "a",
            "--token-env",
            phrase,
            "--dir",
            v.path(),
        ],
        vec![
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "a",
            "--tokens",
            phrase,
            "--dir",
            v.path(),
        ],
        vec![
            "seal",
            "--cell",
            "billing/inbox",
            "--id",
            "a",
            "--in",
            phrase,
            "--dir",
            v.path(),
        ],
        vec!["audit", "verify", "--dir", phrase],
    ];
    for args in runs {
        let output = hexvault_bytes(&args, b"", &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)]);
        assert!(!output.status.success(), "{args:?}");
        let stderr = stderr_of(&output);
        assert!(!stderr.contains("abandon"), "{args:?} echoed: {stderr}");
    }
}

#[test]
fn concurrent_config_changes_are_never_lost() {
    let v = Fixture::new();
    let children: Vec<_> = (0..12)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_hexvault"))
                .args(["cell", "add", &format!("billing/c{i}"), "--dir", v.path()])
                .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    let listed = json_of(&v.run(&["ls", "--json"]));
    assert_eq!(listed["cells"].as_array().unwrap().len(), 3 + 12);
}

#[test]
fn leftover_config_writes_are_removed_by_the_next_change() {
    let v = Fixture::new();
    let leftover = v.dir.join(".tmp-config-interrupted");
    std::fs::write(&leftover, "format = 1\n").unwrap();
    v.ok(&["ls"]);
    assert!(leftover.exists(), "readers leave it");
    v.ok(&["partition", "add", "later"]);
    assert!(!leftover.exists(), "the next change removes it");
}

/// `traverse --move` racing a `reseal` of the same large object never loses it: traverse
/// reads the source blob only under the audit log's lock (which `reseal` holds while it
/// replaces the blob and its stream), and removes the source only if it is still the blob
/// it moved. The mnemonic is read from a FIFO to hold traverse deterministically before its
/// lock, while the reseal runs (the window the PBKDF2 of the seed opens in any run).
#[test]
fn traverse_move_racing_a_reseal_never_loses_the_object() {
    let v = common::vault::Vault::with(
        &["billing", "reports"],
        &["billing/inbox", "reports/archive"],
        &[("billing/inbox", "reports/archive")],
    );
    let big: Vec<u8> = (0..(1024 * 1024 + 7)).map(|i| (i % 251) as u8).collect();
    v.ok(&["seal", "--cell", "billing/inbox", "--id", "big"], &big);
    v.ok(&["rotate", "--cell", "billing/inbox"], b"");

    // Returns once traverse opened the FIFO to read the phrase: it has read the source blob
    // and not yet opened the vault.
    let traverse = PhraseFifo::spawn(
        &v.temp.path().join("phrase.fifo"),
        &[
            "traverse",
            "--from",
            "billing/inbox",
            "--to",
            "reports/archive",
            "--id",
            "big",
            "--move",
            "--dir",
            v.dir.to_str().unwrap(),
        ],
        &[],
    );
    v.ok(&["reseal", "--cell", "billing/inbox"], b"");
    let traversed = traverse.finish(TREZOR_PHRASE);

    let from = v.run(&["open", "--cell", "billing/inbox", "--id", "big"], b"");
    let to = v.run(&["open", "--cell", "reports/archive", "--id", "big"], b"");
    assert!(
        (from.status.success() && from.stdout == big) || (to.status.success() && to.stdout == big),
        "object lost: traverse exit {:?} ({}{}); open in source: exit {:?} {}; open in \
         destination: exit {:?} {}",
        traversed.status.code(),
        String::from_utf8_lossy(&traversed.stdout),
        String::from_utf8_lossy(&traversed.stderr),
        from.status.code(),
        String::from_utf8_lossy(&from.stderr),
        to.status.code(),
        String::from_utf8_lossy(&to.stderr),
    );
}

/// Two `seal`s of the same id racing: the one that takes the audit log's lock second
/// checks again under it and fails, and the object keeps the first one's plaintext (never
/// overwritten, no stray stream file). The mnemonic is read from a FIFO to hold the second
/// seal before its lock while the first one runs.
#[test]
fn a_seal_racing_another_seal_of_the_same_id_never_overwrites_it() {
    let v = common::vault::Vault::new();
    let first: Vec<u8> = (0..(1024 * 1024 + 9)).map(|i| (i % 239) as u8).collect();
    let second: Vec<u8> = (0..(1024 * 1024 + 9)).map(|i| (i % 233) as u8).collect();
    let input = v.temp.path().join("second.bin");
    std::fs::write(&input, &second).unwrap();
    let racing = PhraseFifo::spawn(
        &v.temp.path().join("phrase.fifo"),
        &[
            "seal",
            "--cell",
            "billing/inbox",
            "--id",
            "x",
            "--in",
            input.to_str().unwrap(),
            "--dir",
            v.dir.to_str().unwrap(),
        ],
        &[],
    );
    v.ok(&["seal", "--cell", "billing/inbox", "--id", "x"], &first);
    let raced = racing.finish(TREZOR_PHRASE);
    assert_eq!(raced.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&raced.stderr).contains("seal never overwrites"),
        "{}",
        String::from_utf8_lossy(&raced.stderr)
    );
    assert_eq!(
        v.ok(&["open", "--cell", "billing/inbox", "--id", "x"], b"")
            .stdout,
        first
    );
    let streams = std::fs::read_dir(v.dir.join("objects"))
        .unwrap()
        .flatten()
        .flat_map(|p| std::fs::read_dir(p.path()).unwrap().flatten())
        .flat_map(|c| std::fs::read_dir(c.path()).unwrap().flatten())
        .filter(|f| f.file_name().to_string_lossy().ends_with(".stream"))
        .count();
    assert_eq!(streams, 1, "one stream file, the first seal's");
}

/// `init` into an existing empty directory makes it private (mode 0700) whatever its mode
/// was: a directory others can write lets them replace the log, its anchor and the config.
#[test]
fn init_into_an_existing_directory_makes_it_private() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    init_vault(&dir, &[], &[], &[]);
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "{mode:o}");
}

/// `init --generate --out FILE` whose vault cannot be made (here the audit log does not fit
/// a file-size limit of 300 bytes, which the 24-word phrase does) leaves neither the vault
/// nor the phrase file: the phrase of a vault that was never made opens nothing, and a rerun
/// would refuse the file it left (review round 41). `prlimit` (util-linux) sets the limit;
/// SIGXFSZ is ignored so the write fails with EFBIG instead of killing the process.
#[test]
fn init_generate_out_that_cannot_make_the_vault_leaves_no_phrase_file() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("v");
    let phrase = temp.path().join("phrase");
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; exec prlimit --fsize=300 \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_hexvault"))
        .args(["init", "--generate", "--out"])
        .arg(&phrase)
        .arg("--dir")
        .arg(&dir)
        .env_remove("HEXVAULT_MNEMONIC")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("File too large"),
        "{}",
        stderr_of(&out)
    );
    assert!(!dir.exists(), "the half-made vault was left");
    assert!(
        !phrase.exists(),
        "the phrase of a vault never made was left"
    );
}
