//! Review round 6 findings on the command line, as failing tests (`#[ignore]`d until fixed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "cli")]
mod vault {
    use std::path::PathBuf;
    use std::process::{Command, Output, Stdio};

    use serde_json::Value;

    const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                          abandon abandon abandon about";

    pub(super) struct Vault {
        pub(super) temp: tempfile::TempDir,
        pub(super) dir: PathBuf,
        pub(super) env: Vec<(String, String)>,
    }

    impl Vault {
        /// A vault with the cell `billing/inbox`.
        pub(super) fn new() -> Self {
            let temp = tempfile::tempdir().unwrap();
            let dir = temp.path().join("vault");
            let vault = Self {
                temp,
                dir,
                env: Vec::new(),
            };
            vault.ok(&["init"], b"");
            vault.ok(&["partition", "add", "billing"], b"");
            vault.ok(&["cell", "add", "billing/inbox"], b"");
            vault
        }

        pub(super) fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
            use std::io::Write;
            let mut child = Command::new(env!("CARGO_BIN_EXE_hexvault"))
                .args(args)
                .arg("--dir")
                .arg(&self.dir)
                .env_remove("HEXVAULT_MNEMONIC")
                .env_remove("HEXVAULT_TOKENS")
                .env("HEXVAULT_MNEMONIC", PHRASE)
                .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let _ = child.stdin.take().unwrap().write_all(stdin);
            child.wait_with_output().unwrap()
        }

        pub(super) fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
            let output = self.run(args, stdin);
            assert!(
                output.status.success(),
                "{args:?}: exit {:?}: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
            output
        }

        pub(super) fn json(&self, args: &[&str]) -> Value {
            let mut all = args.to_vec();
            all.push("--json");
            serde_json::from_slice(&self.ok(&all, b"").stdout).unwrap()
        }
    }
}

/// Finding: `rotate` (crates/cli/src/commands/vault.rs:1011-1029) records the rotation in
/// the audit log, closes the vault, then writes config.toml. A kill between the two leaves
/// the config one version behind the log, which `VaultDir::assemble` accepts ("the config
/// lags it after a crash ... (fine)"), and nothing ever writes the config forward again
/// except the next `rotate`. Then `ls` (vault.rs:420-424) computes `stale_objects` and
/// `key_version` from the lagging config: it reports 0 stale objects while `reseal` (which
/// asks the log-replayed cell) re-encrypts every one of them, and `reseal --json` reports
/// the config's `key_version` (vault.rs:1134), not the one it resealed under. docs/cli.md:
/// `stale_objects` is "what `reseal` would redo", `reseal`'s `key_version` is "current".
/// The test restores the pre-rotate config.toml, which is byte for byte the state such a
/// kill leaves (the rotation record is in the log, the config write never happened).
#[cfg(feature = "cli")]
#[test]
#[ignore = "review6 finding"]
fn after_a_kill_between_rotate_record_and_config_write_ls_and_reseal_agree() {
    let v = vault::Vault::new();
    for id in ["a", "b", "c"] {
        v.ok(&["seal", "--cell", "billing/inbox", "--id", id], b"payload");
    }
    let config = v.dir.join("config.toml");
    let before = std::fs::read(&config).unwrap();
    v.ok(&["rotate", "--cell", "billing/inbox"], b"");
    std::fs::write(&config, &before).unwrap();

    let listed = v.json(&["ls"]);
    let stale = listed["cells"][0]["stale_objects"].as_u64().unwrap();
    let resealed = v.json(&["reseal", "--cell", "billing/inbox"]);
    let after = v.json(&["ls"]);
    assert_eq!(
        after["cells"][0]["objects_by_key_version"]["2"], 3,
        "reseal re-encrypted every object under v2: {after}"
    );
    assert_eq!(
        stale, 3,
        "ls said {stale} stale objects, reseal then redid {}: {listed}",
        resealed["resealed"]
    );
    assert_eq!(
        resealed["key_version"], 2,
        "reseal reports the version it sealed under: {resealed}"
    );
}

/// Finding: `session end` prints "its file is overwritten and deleted; data sealed at layer 2
/// under it cannot be opened any more" (crates/cli/src/commands/session.rs:233-235), and
/// crates/cli/tests/session_cli.rs opens with "what was sealed under it becomes
/// unreadable". The vault records the end (a `SessionEnd` audit record) but `load`
/// (session.rs:69-85) never consults it: any copy of the session file (editor backup, a
/// backup of $XDG_RUNTIME_DIR, `cp`) keeps opening the layer-2 data through this same tool
/// until the expiry. SECURITY.md ("Known limits") admits the copy, so the message and the
/// test's header are what is false; the tool could also refuse a session its own log ended.
#[cfg(feature = "cli")]
#[test]
#[ignore = "review6 finding"]
fn after_session_end_a_copy_of_the_session_file_opens_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let mut v = vault::Vault::new();
    let tokens = v.temp.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\ntoken = \"tok\"\npolicy = \"pol\"\nsecret = \"{}\"\n",
            "01".repeat(32)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    v.env = vec![
        ("HEXVAULT_TOKENS".into(), tokens.to_str().unwrap().into()),
        ("TOK".into(), "tok".into()),
    ];
    let session = v.temp.path().join("s.toml");
    let copy = v.temp.path().join("s.toml~");
    let s = session.to_str().unwrap();
    v.ok(&["session", "start", "--ttl", "1h", "--out", s], b"");
    let gated = ["--token-env", "TOK", "--session"];
    let mut seal = vec![
        "seal",
        "--cell",
        "billing/inbox",
        "--id",
        "x",
        "--layer",
        "2",
    ];
    seal.extend(gated);
    seal.push(s);
    v.ok(&seal, b"layer two");
    std::fs::copy(&session, &copy).unwrap();
    let ended = v.ok(&["session", "end", s], b"");
    assert!(String::from_utf8_lossy(&ended.stdout).contains("cannot be opened any more"));
    let mut open = vec!["open", "--cell", "billing/inbox", "--id", "x"];
    open.extend(gated);
    open.push(copy.to_str().unwrap());
    let reopened = v.run(&open, b"");
    assert!(
        !reopened.status.success(),
        "the ended session still opened: {:?}",
        String::from_utf8_lossy(&reopened.stdout)
    );
}
