//! A small vault directory for end-to-end tests: `billing/inbox` declared, the Trezor
//! phrase in the environment, extra environment variables per fixture; and
//! [`init_vault`], which every test file's fixture uses to make its vault directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub(crate) struct Vault {
    pub(crate) temp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) env: Vec<(String, String)>,
}

/// Makes the vault directory `dir` with the Trezor phrase: `init`, then `partition add` of
/// each of `partitions`, `cell add` of each of `cells` (`P/C`) and `edge add` of each of
/// `edges` (`(FROM, TO)`), in that order; panics (naming the command) if one fails.
pub(crate) fn init_vault(dir: &Path, partitions: &[&str], cells: &[&str], edges: &[(&str, &str)]) {
    let mut commands = vec![vec!["init"]];
    commands.extend(partitions.iter().map(|p| vec!["partition", "add", p]));
    commands.extend(cells.iter().map(|c| vec!["cell", "add", c]));
    commands.extend(edges.iter().map(|(from, to)| vec!["edge", "add", from, to]));
    for args in commands {
        let output = super::hexvault_in(
            dir,
            &args,
            b"",
            &[("HEXVAULT_MNEMONIC", super::TREZOR_PHRASE)],
        );
        super::succeeded(&args, output);
    }
}

impl Vault {
    /// A vault with the cell `billing/inbox`.
    pub(crate) fn new() -> Self {
        Self::with(&["billing"], &["billing/inbox"], &[])
    }

    /// A vault (in a new temporary directory) with `partitions`, `cells` and `edges`
    /// declared, as [`init_vault`] makes it.
    pub(crate) fn with(partitions: &[&str], cells: &[&str], edges: &[(&str, &str)]) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("vault");
        init_vault(&dir, partitions, cells, edges);
        Self {
            temp,
            dir,
            env: Vec::new(),
        }
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
        super::succeeded(args, self.run(args, stdin))
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_slice(&self.ok(&all, b"").stdout).unwrap()
    }

    /// `hexvault ARGS --dir DIR` with the file size limit (RLIMIT_FSIZE) at `limit_kib` KiB
    /// and SIGXFSZ ignored: a write past the limit fails with EFBIG ("File too large"), as a
    /// full disk fails it with ENOSPC.
    pub(crate) fn run_with_file_size_limit(&self, limit_kib: u32, args: &[&str]) -> Output {
        let script = format!("trap '' XFSZ; ulimit -f {limit_kib}; exec \"$0\" \"$@\"");
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg(env!("CARGO_BIN_EXE_hexvault"))
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .env_remove("HEXVAULT_TOKENS")
            .env("HEXVAULT_MNEMONIC", super::TREZOR_PHRASE)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }
}
