//! The vault directory's partitions, cells and edges come from the verified audit log,
//! never from the unauthenticated `config.toml` alone (ADR 0087): the tests an attacker
//! who can write the directory (but has no mnemonic) would write. Every edit is refused
//! with one line naming the difference, and a refused command writes nothing: no blob, no
//! audit record.
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

use common::vault::init_vault;
use common::{TREZOR_PHRASE, hexvault_in, json_of, stderr_of, stdout_of, succeeded};

struct Vault {
    _temp: tempfile::TempDir,
    dir: PathBuf,
}

impl Vault {
    fn empty() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("vault");
        Self { _temp: temp, dir }
    }

    /// Partition `p`, cells `p/a`, `p/b`, `p/c`, the edge `p/a -> p/b`, object `obj` in
    /// `p/a`.
    fn new() -> Self {
        let vault = Self::with_edge(("p/a", "p/b"));
        vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"the secret");
        vault
    }

    /// Partition `p`, cells `p/a`, `p/b`, `p/c` and the one edge `edge`.
    fn with_edge(edge: (&str, &str)) -> Self {
        let vault = Self::empty();
        init_vault(&vault.dir, &["p"], &["p/a", "p/b", "p/c"], &[edge]);
        vault
    }

    fn path(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    fn run_with(&self, args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
        hexvault_in(&self.dir, args, stdin, env)
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.run_with(args, stdin, &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)])
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
        succeeded(args, self.run(args, stdin))
    }

    /// Every file of the vault with its bytes, sorted by path.
    fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, all: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, all);
                } else {
                    all.push((path.clone(), std::fs::read(&path).unwrap()));
                }
            }
        }
        let mut all = Vec::new();
        walk(&self.dir, &mut all);
        all.sort();
        all
    }

    /// Runs `args`, which must be refused (exit 1) with a message containing every one of
    /// `needles`, writing nothing in the vault.
    fn refused(&self, args: &[&str], needles: &[&str]) {
        let before = self.snapshot();
        let output = self.run(args, b"");
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        // No run of spaces from a lost `\` continuation in a literal (review round 8, R8-5).
        assert!(
            !stderr.contains("  "),
            "{args:?}: run of spaces in: {stderr}"
        );
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{args:?}: {needle:?} not in {stderr}"
            );
        }
        assert!(
            before == self.snapshot(),
            "{args:?} was refused but changed the vault directory"
        );
    }

    fn opens(&self) {
        let opened = self.ok(&["open", "--cell", "p/a", "--id", "obj"], b"");
        assert_eq!(stdout_of(&opened), "the secret");
    }
}

const TRAVERSE_TO_C: [&str; 7] = ["traverse", "--from", "p/a", "--to", "p/c", "--id", "obj"];

#[test]
fn an_edge_written_into_config_toml_opens_no_route() {
    let vault = Vault::new();
    let honest = std::fs::read_to_string(vault.config()).unwrap();
    // The attacker cannot use `edge add` without the mnemonic.
    let output = vault.run_with(&["edge", "add", "p/a", "p/c"], b"", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert_eq!(std::fs::read_to_string(vault.config()).unwrap(), honest);
    // So they write the edge into config.toml, and the operator traverses along it.
    std::fs::write(
        vault.config(),
        format!("{honest}\n[[edges]]\nfrom = \"p/a\"\nto = \"p/c\"\n"),
    )
    .unwrap();
    vault.refused(
        &TRAVERSE_TO_C,
        &[
            "config.toml declares edge p/a -> p/c, which the audit log does not record",
            "hexvault config sync",
        ],
    );
    assert!(
        !vault
            .dir
            .join("objects")
            .join(hex("p"))
            .join(hex("c"))
            .exists()
    );
    // Every other command that opens the vault is refused too.
    vault.refused(
        &["open", "--cell", "p/a", "--id", "obj"],
        &["edge p/a -> p/c"],
    );
    vault.refused(&["edge", "add", "p/b", "p/c"], &["edge p/a -> p/c"]);
    // The operator's way out: rewrite config.toml from the log.
    let synced = json_of(&vault.ok(&["--json", "config", "sync"], b""));
    assert_eq!(synced["action"], "sync");
    assert_eq!(synced["edges"], 1);
    assert_eq!(synced["cells"], 3);
    assert_eq!(synced["partitions"], 1);
    vault.refused(&TRAVERSE_TO_C, &["no edge p/a -> p/c is declared"]);
    vault.opens();
    // Declared the honest way, the edge works.
    vault.ok(&["edge", "add", "p/a", "p/c"], b"");
    vault.ok(&TRAVERSE_TO_C, b"");
    let opened = vault.ok(&["open", "--cell", "p/c", "--id", "obj"], b"");
    assert_eq!(stdout_of(&opened), "the secret");
    vault.ok(&["audit", "verify"], b"");
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_edit_of_the_topology_is_refused_and_the_honest_config_still_opens() {
    let vault = Vault::new();
    let honest = std::fs::read_to_string(vault.config()).unwrap();
    let edge = "[[edges]]\nfrom = \"p/a\"\nto = \"p/b\"\n";
    assert!(honest.contains(edge), "config layout: {honest}");
    let cell_c = "[partitions.p.cells.\"p/c\"]";
    let cell_c = if honest.contains(cell_c) {
        cell_c.to_owned()
    } else {
        "[partitions.p.cells.c]".to_owned()
    };
    assert!(honest.contains(&cell_c), "config layout: {honest}");
    let edits: Vec<(&str, String, &str)> = vec![
        (
            "edge reversed",
            honest.replace(edge, "[[edges]]\nfrom = \"p/b\"\nto = \"p/a\"\n"),
            "config.toml declares edge p/b -> p/a",
        ),
        (
            "edge removed",
            honest.replace(edge, ""),
            "the audit log records edge p/a -> p/b, which config.toml lacks",
        ),
        (
            "edge duplicated",
            format!("{honest}\n{edge}"),
            "lists the edge p/a -> p/b twice",
        ),
        (
            "cell removed",
            honest.replace(
                &format!("{cell_c}\nkey_version = 1\nmin_key_version = 1\n"),
                "",
            ),
            "the audit log records cell p/c, which config.toml lacks",
        ),
        (
            "cell added",
            format!("{honest}\n[partitions.p.cells.d]\nkey_version = 1\nmin_key_version = 1\n"),
            "config.toml declares cell p/d",
        ),
        (
            "partition added",
            format!("{honest}\n[partitions.q]\n"),
            "config.toml declares partition q",
        ),
        (
            "partition renamed",
            honest
                .replace("[partitions.p", "[partitions.r")
                .replace("\"p/", "\"r/"),
            "config.toml declares partition r",
        ),
    ];
    for (what, edited, needle) in edits {
        assert_ne!(edited, honest, "{what}: the edit changed nothing");
        std::fs::write(vault.config(), &edited).unwrap();
        // Cells the edited config declares, so only the topology check can refuse.
        let (a, b) = if what == "partition renamed" {
            ("r/a", "r/b")
        } else {
            ("p/a", "p/b")
        };
        if a == "p/a" {
            vault.refused(&["open", "--cell", a, "--id", "obj"], &[needle]);
        }
        vault.refused(&["seal", "--cell", a, "--id", "new"], &[needle]);
        vault.refused(&["seal", "--cell", b, "--id", "new"], &[needle]);
        std::fs::write(vault.config(), &honest).unwrap();
        vault.opens();
    }
}

#[test]
fn a_reordered_config_declares_the_same_routes() {
    let vault = Vault::new();
    vault.ok(&["edge", "add", "p/b", "p/c"], b"");
    let honest = std::fs::read_to_string(vault.config()).unwrap();
    let first = "[[edges]]\nfrom = \"p/a\"\nto = \"p/b\"\n";
    let second = "[[edges]]\nfrom = \"p/b\"\nto = \"p/c\"\n";
    let swapped = honest
        .replace(first, "FIRST")
        .replace(second, first)
        .replace("FIRST", second);
    assert_ne!(swapped, honest, "config layout: {honest}");
    std::fs::write(vault.config(), &swapped).unwrap();
    // Order carries no meaning: the same edges, no new route.
    vault.ok(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "obj"],
        b"",
    );
    vault.ok(
        &["traverse", "--from", "p/b", "--to", "p/c", "--id", "obj"],
        b"",
    );
    vault.refused(&TRAVERSE_TO_C, &["no edge p/a -> p/c is declared"]);
}

#[test]
fn another_vaults_config_is_refused() {
    let vault = Vault::new();
    // Another vault of the same mnemonic (so the same audit key) with the edge p/a -> p/c.
    let other = Vault::with_edge(("p/a", "p/c"));
    std::fs::copy(other.config(), vault.config()).unwrap();
    vault.refused(
        &TRAVERSE_TO_C,
        &["config.toml declares edge p/a -> p/c, which the audit log does not record"],
    );
    // And its log with our config: the other log does not record our edge.
    let mine = Vault::new();
    std::fs::copy(mine.config(), other.config()).unwrap();
    other.refused(
        &["seal", "--cell", "p/a", "--id", "obj"],
        &["config.toml declares edge p/a -> p/b"],
    );
}

#[test]
fn an_interrupted_edge_add_is_repaired_by_config_sync() {
    let vault = Vault::new();
    let before = std::fs::read_to_string(vault.config()).unwrap();
    vault.ok(&["edge", "add", "p/a", "p/c"], b"");
    // A crash after the audit record and before config.toml's write leaves this state.
    std::fs::write(vault.config(), &before).unwrap();
    vault.refused(
        &["open", "--cell", "p/a", "--id", "obj"],
        &["the audit log records edge p/a -> p/c, which config.toml lacks"],
    );
    let synced = vault.ok(&["config", "sync"], b"");
    assert!(
        stdout_of(&synced).contains("1 partitions, 3 cells, 2 edges"),
        "{}",
        stdout_of(&synced)
    );
    vault.ok(&TRAVERSE_TO_C, b"");
    // Sync keeps the key versions the log records.
    vault.ok(&["rotate", "--cell", "p/b"], b"");
    let rotated = std::fs::read_to_string(vault.config()).unwrap();
    vault.ok(&["config", "sync"], b"");
    assert_eq!(std::fs::read_to_string(vault.config()).unwrap(), rotated);
    // Adopting is for old vaults only.
    vault.refused(&["config", "adopt"], &["nothing to adopt"]);
}

/// A vault made before ADR 0087: config.toml declares partitions, cells and edges, the log
/// records none of them.
fn old_vault() -> Vault {
    let vault = Vault::empty();
    std::fs::create_dir(&vault.dir).unwrap();
    let log = vault.dir.join("audit.log");
    let facade = hexvault::Vault::builder()
        .audit_file(&log)
        .from_mnemonic(TREZOR_PHRASE, "", hexvault::NoAccessTokens)
        .unwrap();
    let key: String = facade
        .audit_public_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    facade.close().unwrap();
    std::fs::write(
        vault.config(),
        format!(
            "format = 1\naudit_public_key = \"{key}\"\n\n[partitions.p.cells.a]\nkey_version = \
             1\nmin_key_version = 1\n\n[partitions.p.cells.b]\nkey_version = 1\nmin_key_version \
             = 1\n\n[[edges]]\nfrom = \"p/a\"\nto = \"p/b\"\n"
        ),
    )
    .unwrap();
    vault
}

#[test]
fn an_old_vault_is_refused_until_adopted_once() {
    let vault = old_vault();
    // Its log holds no record and has no anchor, like a log erased with its anchor deleted:
    // every command refuses it and names the way out.
    vault.refused(
        &["seal", "--cell", "p/a", "--id", "obj"],
        &["no anchor file", "hexvault config adopt --empty-log"],
    );
    vault.refused(&["config", "sync"], &["hexvault config adopt"]);
    vault.refused(&["ls"], &["no anchor file", "--empty-log"]);
    vault.refused(&["audit", "verify"], &["no anchor file", "--empty-log"]);
    // Adopting needs the mnemonic, and the operator's word that the log never held records.
    let output = vault.run_with(&["config", "adopt", "--empty-log"], b"", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    vault.refused(&["config", "adopt"], &["no anchor file", "--empty-log"]);
    let adopted = json_of(&vault.ok(&["--json", "config", "adopt", "--empty-log"], b""));
    assert_eq!(adopted["action"], "adopt");
    assert_eq!(
        (&adopted["partitions"], &adopted["cells"], &adopted["edges"]),
        (&1.into(), &2.into(), &1.into())
    );
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"the secret");
    vault.opens();
    vault.ok(
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "obj"],
        b"",
    );
    vault.refused(&["config", "adopt"], &["nothing to adopt"]);
    // From now on the old vault is held to its log like a new one.
    let honest = std::fs::read_to_string(vault.config()).unwrap();
    std::fs::write(
        vault.config(),
        format!("{honest}\n[[edges]]\nfrom = \"p/b\"\nto = \"p/a\"\n"),
    )
    .unwrap();
    vault.refused(
        &["open", "--cell", "p/a", "--id", "obj"],
        &["edge p/b -> p/a"],
    );
    // The declarations are in the log, verified and shown as `declare` records.
    std::fs::write(vault.config(), &honest).unwrap();
    vault.ok(&["audit", "verify"], b"");
    let shown = vault.ok(&["audit", "show"], b"");
    assert_eq!(
        stdout_of(&shown).matches("declare").count(),
        5,
        "{}",
        stdout_of(&shown)
    );
}

#[test]
fn an_old_vault_that_declares_nothing_is_adopted_with_its_empty_log_once() {
    let vault = old_vault();
    let text = std::fs::read_to_string(vault.config()).unwrap();
    let header: String = text.lines().take(2).collect::<Vec<_>>().join("\n");
    std::fs::write(vault.config(), format!("{header}\n")).unwrap();
    // Nothing is declared, but the log has no anchor: refused until the operator says the
    // vault never recorded anything.
    vault.refused(
        &["partition", "add", "p"],
        &["no anchor file", "--empty-log"],
    );
    let adopted = json_of(&vault.ok(&["--json", "config", "adopt", "--empty-log"], b""));
    assert_eq!(adopted["partitions"], 0);
    vault.ok(&["partition", "add", "p"], b"");
    vault.ok(&["cell", "add", "p/a"], b"");
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], b"the secret");
    vault.opens();
    // Its first declaration made its log hold the topology: adoption is refused.
    vault.refused(&["config", "adopt"], &["nothing to adopt"]);
}

/// Declarations running beside commands that open the vault never make those see a log
/// ahead of their config: a declaration writes config.toml before it releases the log, and
/// a command reads config.toml again once it holds the log. A command may still find the
/// log busy (the audit log is one writer at a time), never a topology difference.
#[test]
fn declarations_beside_other_commands_never_look_like_an_edit() {
    let vault = Vault::new();
    let spawn = |args: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hexvault"))
            .args(&args)
            .args(["--dir", vault.path()])
            .env("HEXVAULT_MNEMONIC", TREZOR_PHRASE)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children = Vec::new();
    for i in 0..8 {
        children.push(spawn(vec!["cell".into(), "add".into(), format!("p/n{i}")]));
        children.push(spawn(
            ["open", "--cell", "p/a", "--id", "obj"]
                .map(String::from)
                .to_vec(),
        ));
    }
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = stderr_of(&output);
        assert!(
            output.status.success() || stderr.contains("lock"),
            "exit {:?}: {stderr}",
            output.status.code()
        );
    }
    vault.opens();
    let listed = json_of(&vault.ok(&["--json", "ls"], b""));
    let cells = listed["cells"].as_array().unwrap().len();
    assert!(cells > 3, "no cell add succeeded: {listed}");
}
