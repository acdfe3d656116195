//! The files the `hexvault` command reads back from disk, parsed without the command line
//! around them: the vault directory's config.toml and file names, the public header of a
//! cell blob, a large object's data-key record and stream names, the token resolver file,
//! the session file, and the vault topology the audit log's `declare` records hold
//! (docs/formats.md). The `hexvault` binary (feature `cli`, on by
//! default) is built on this library, and the fuzz targets in `fuzz/` call its parsers.
//!
//! This library is the command line's own: it follows the binary, not semver promises of
//! its own. Every parser takes untrusted text or bytes and answers with a value or a
//! [`CliError`](error::CliError), never a panic.

pub mod error;
pub mod large_format;
pub mod session_file;
pub mod time;
pub mod tokens;
pub mod topology;
pub mod vault_format;

use zeroize::Zeroizing;

/// Decodes hex (surrounding white space ignored) into a zeroizing buffer; `None` if it is
/// not an even number of hex digits.
pub fn decode_secret_hex(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let trimmed = text.trim();
    if !trimmed.len().is_multiple_of(2) {
        return None;
    }
    let mut bytes = Zeroizing::new(vec![0_u8; trimmed.len() / 2]);
    hex::decode_to_slice(trimmed, &mut bytes).ok()?;
    Some(bytes)
}
