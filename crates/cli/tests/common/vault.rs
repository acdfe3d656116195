//! A small vault directory for end-to-end tests: `billing/inbox` declared, the Trezor
//! phrase in the environment, extra environment variables per fixture.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub(crate) struct Vault {
    pub(crate) temp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) env: Vec<(String, String)>,
}

impl Vault {
    /// A vault with the cell `billing/inbox`.
    pub(crate) fn new() -> Self {
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

    pub(crate) fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_hexvault"))
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .env_remove("HEXVAULT_MNEMONIC")
            .env_remove("HEXVAULT_TOKENS")
            .env("HEXVAULT_MNEMONIC", super::TREZOR_PHRASE)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str], stdin: &[u8]) -> Output {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "{args:?}: exit {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_slice(&self.ok(&all, b"").stdout).unwrap()
    }
}
