//! `hexvault completions SHELL` and the hidden `hexvault man --out-dir DIR` behind
//! `cargo xtask man`: generated from the same clap definition as the parser, so they cannot
//! drift from it.

use std::path::Path;

use clap_complete::Shell;

use crate::error::{CliError, CliResult};
use crate::output;

/// Prints the completion script for `shell` on standard output.
pub(crate) fn completions(shell: Shell, command: &mut clap::Command) -> CliResult {
    let mut script = Vec::new();
    clap_complete::generate(shell, command, "hexvault", &mut script);
    output::write_bytes(None, &script)
}

/// Writes `hexvault.1` and `hexvault-<sub>[-<sub>].1` for every visible subcommand into
/// `dir`, then lists the files written (one per line, or a JSON array under `--json`).
pub(crate) fn man_pages(dir: &Path, command: clap::Command, json: bool) -> CliResult {
    std::fs::create_dir_all(dir)
        .map_err(|error| CliError::io(format!("creating {}", dir.display()), error))?;
    let mut written = Vec::new();
    render(dir, command, "hexvault", "hexvault", &mut written)?;
    if json {
        output::json(&written)
    } else {
        written.iter().try_for_each(|name| output::line(name))
    }
}

/// Renders `command` as page `name` (`hexvault-audit-verify`), its synopsis as `invocation`
/// (`hexvault audit verify`), then its visible subcommands.
fn render(
    dir: &Path,
    command: clap::Command,
    name: &str,
    invocation: &str,
    written: &mut Vec<String>,
) -> CliResult {
    let command = command
        .display_name(name.to_owned())
        .bin_name(invocation.to_owned());
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(|error| CliError::io(format!("rendering the man page of {name}"), error))?;
    let file = format!("{name}.1");
    let path = dir.join(&file);
    std::fs::write(&path, &page)
        .map_err(|error| CliError::io(format!("writing {}", path.display()), error))?;
    written.push(file);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub_invocation = format!("{invocation} {}", sub.get_name());
        render(dir, sub.clone(), &sub_name, &sub_invocation, written)?;
    }
    Ok(())
}
