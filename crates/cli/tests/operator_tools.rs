//! What operators of age, vault and pass take for granted: `--version`, shell completions,
//! and man pages generated from the parser itself (`--quiet`: tests/audit_cli.rs).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{hexvault, stderr_of, stdout_of};

#[test]
fn version_is_the_package_version() {
    let out = hexvault(&["--version"], "", &[]);
    assert!(out.status.success());
    assert_eq!(
        stdout_of(&out).trim(),
        format!("hexvault {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_cover_every_subcommand_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_hexvault()"),
        ("zsh", "#compdef hexvault"),
        ("fish", "complete -c hexvault"),
    ] {
        let out = hexvault(&["completions", shell], "", &[]);
        assert!(out.status.success(), "{shell}: {}", stderr_of(&out));
        let script = stdout_of(&out);
        assert!(script.contains(marker), "{shell} script lacks {marker}");
        for sub in ["mnemonic", "derive", "envelope", "audit", "demo"] {
            assert!(script.contains(sub), "{shell} script lacks {sub}");
        }
    }
    let out = hexvault(&["completions", "tcsh"], "", &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_are_written_for_the_command_and_each_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = hexvault(
        &["man", "--out-dir", dir.path().to_str().unwrap(), "--json"],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let listed: Vec<String> = serde_json::from_str(&stdout_of(&out)).unwrap();
    for page in [
        "hexvault.1",
        "hexvault-audit-verify.1",
        "hexvault-mnemonic-new.1",
    ] {
        assert!(listed.iter().any(|p| p == page), "{page} not listed");
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page} is not roff"
        );
    }
    let verify = std::fs::read_to_string(dir.path().join("hexvault-audit-verify.1")).unwrap();
    assert!(
        verify.contains("hexvault audit verify"),
        "synopsis names the full invocation"
    );
    // The hidden generator documents no page for itself.
    assert!(!listed.iter().any(|p| p == "hexvault-man.1"));
}
