//! The `tools` step: installs what the other steps need when it is missing, so that
//! `cargo xtask ci` works on a machine that has only the Rust toolchain.
//!
//! Cargo tools are installed with `cargo install --locked` at pinned versions (a tool that
//! changes under us would change what CI checks). The C reference libraries of the
//! envelope's interoperability test come from Debian's packages when the machine has
//! `apt-get` and we run as root; otherwise the step fails and prints the command to run.

use std::process::{Command, Stdio};

use crate::{Failure, StepResult, cargo, run};

/// Cargo subcommands the steps use: (binary, crate, pinned version).
const CARGO_TOOLS: &[(&str, &str, &str)] = &[
    ("cargo-deny", "cargo-deny", "0.20.2"),
    ("cargo-fuzz", "cargo-fuzz", "0.13.2"),
    ("cargo-hack", "cargo-hack", "0.6.46"),
];

/// Debian packages with the reference LZ4 and xxHash C libraries and headers.
const C_PACKAGES: &[&str] = &["liblz4-dev", "libxxhash-dev"];

/// Everything at once: every cargo tool and the C libraries.
pub(crate) fn ensure_all() -> StepResult {
    for (binary, _, _) in CARGO_TOOLS {
        ensure(binary)?;
    }
    ensure_c_libraries()
}

/// Installs the cargo tool `binary` (one of [`CARGO_TOOLS`]) unless it answers `--version`.
pub(crate) fn ensure(binary: &str) -> StepResult {
    let Some((_, krate, version)) = CARGO_TOOLS.iter().find(|(name, _, _)| *name == binary) else {
        return Err(Failure(format!(
            "step `tools`: {binary} is not a tool this project pins"
        )));
    };
    if cargo_tool_present(binary) {
        return Ok(());
    }
    println!("tools: {binary} is missing; installing {krate} {version}");
    run(
        "tools",
        cargo().args(["install", "--locked", krate, "--version", version]),
    )
}

fn cargo_tool_present(binary: &str) -> bool {
    let subcommand = binary.trim_start_matches("cargo-");
    cargo()
        .args([subcommand, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Makes sure a C program can be built against liblz4 and libxxhash.
pub(crate) fn ensure_c_libraries() -> StepResult {
    if c_libraries_link() {
        return Ok(());
    }
    let install = format!("apt-get install -y {}", C_PACKAGES.join(" "));
    if !(command_succeeds("apt-get", &["--version"]) && running_as_root()) {
        return Err(Failure(format!(
            "step `tools`: the C reference libraries (liblz4, libxxhash) and a C compiler `cc` \
             are needed by the envelope's interoperability test; install them, for example \
             with `{install}`"
        )));
    }
    println!("tools: installing {}", C_PACKAGES.join(" "));
    run("tools", Command::new("apt-get").args(["update", "-qq"]))?;
    run(
        "tools",
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq"])
            .args(C_PACKAGES),
    )?;
    if c_libraries_link() {
        Ok(())
    } else {
        Err(Failure(format!(
            "step `tools`: `{install}` ran but a C program still cannot link liblz4 and \
             libxxhash; is `cc` installed?"
        )))
    }
}

/// Whether `cc` builds a program that includes both headers and links both libraries.
fn c_libraries_link() -> bool {
    let dir = std::env::temp_dir().join(format!("hexvault-xtask-cc-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return false;
    }
    let source = dir.join("probe.c");
    let program = "#include <lz4.h>\n#include <xxhash.h>\nint main(void) { return LZ4_versionNumber() > 0 && XXH_versionNumber() > 0 ? 0 : 1; }\n";
    let linked = std::fs::write(&source, program).is_ok()
        && Command::new("cc")
            .arg(&source)
            .arg("-o")
            .arg(dir.join("probe"))
            .args(["-llz4", "-lxxhash"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
    let _ = std::fs::remove_dir_all(&dir);
    linked
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0")
}

fn command_succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
