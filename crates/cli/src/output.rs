//! Writing results: JSON objects for `--json`, aligned `name: value` lines otherwise.

use std::io::{self, Write};

use serde::Serialize;

use crate::error::{CliError, CliResult};

/// Prints `value` as one line of JSON on standard output.
pub(crate) fn json(value: &impl Serialize) -> CliResult {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value)
        .map_err(|error| CliError::Failed(format!("writing JSON: {error}")))?;
    writeln!(out).map_err(|error| CliError::io("writing to standard output", error))
}

/// Prints `name: value` lines, names aligned.
pub(crate) fn fields(rows: &[(&str, &str)]) -> CliResult {
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = io::stdout().lock();
    for (name, value) in rows {
        writeln!(out, "{name:>width$}: {value}")
            .map_err(|error| CliError::io("writing to standard output", error))?;
    }
    Ok(())
}

/// Prints one line of text.
pub(crate) fn line(text: &str) -> CliResult {
    writeln!(io::stdout().lock(), "{text}")
        .map_err(|error| CliError::io("writing to standard output", error))
}

/// Writes `bytes` to `--out FILE` (atomically: a temporary file in the same directory,
/// readable by the owner only, renamed into place) or to standard output.
pub(crate) fn write_bytes(path: Option<&std::path::Path>, bytes: &[u8]) -> CliResult {
    match path {
        None => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|error| CliError::io("writing to standard output", error))
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => std::path::Path::new("."),
            };
            let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|error| {
                CliError::io(format!("creating a file in {}", dir.display()), error)
            })?;
            file.write_all(bytes)
                .and_then(|()| file.as_file().sync_all())
                .map_err(|error| CliError::io(format!("writing {}", path.display()), error))?;
            file.persist(path).map_err(|error| {
                CliError::io(format!("writing {}", path.display()), error.error)
            })?;
            Ok(())
        }
    }
}

/// serde helper: serializes a zeroizing string as a plain JSON string (the serializer writes
/// it straight to standard output; no long-lived copy is made).
pub(crate) fn secret_str<S: serde::Serializer>(
    value: &zeroize::Zeroizing<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

/// serde helper: [`secret_str`] for an optional field.
#[allow(clippy::ref_option)] // the signature serde's `serialize_with` requires
pub(crate) fn optional_secret_str<S: serde::Serializer>(
    value: &Option<zeroize::Zeroizing<String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(value.as_str()),
        None => serializer.serialize_none(),
    }
}
