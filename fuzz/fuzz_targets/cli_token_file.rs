//! Fuzz the token resolver file parser of the command line (docs/formats.md, "Token
//! resolver file"): any text parses or is refused without a panic. The input is also spliced
//! into a file of the documented form (fields cut at newlines), so the checks of every field
//! are reached: a refusal never repeats the token, and a file that parses resolves its own
//! token for its own cell.
#![no_main]

use hexvault_cells::{AccessToken, TokenResolver};
use hexvault_cli::tokens::FileResolver;
use hexvault_cli::vault_format::CellRef;
use libfuzzer_sys::fuzz_target;

/// Printable ASCII without `"` and `\`: safe inside a TOML basic string.
fn field(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| b as char)
        .filter(|c| (c.is_ascii_graphic() && *c != '"' && *c != '\\') || *c == ' ')
        .collect()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = FileResolver::parse(text);
    }
    let mut parts = data.split(|&b| b == b'\n').map(field);
    // The marker starts every token: no message of the parser has it unless it echoes one.
    let (token, policy, secret, actor, cell) = (
        format!("ZQXJ{}", parts.next().unwrap_or_default()),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let text = format!(
        "[[token]]\ntoken = \"{token}\"\npolicy = \"{policy}\"\nsecret = \"{secret}\"\n\
         actor = \"{actor}\"\ncells = [\"{cell}\"]\n"
    );
    match FileResolver::parse(&text) {
        Ok(resolver) => {
            if let Ok(cell) = CellRef::parse(&cell, "fuzz") {
                let access = AccessToken::new(token.as_bytes().to_vec());
                assert!(
                    resolver
                        .resolve(&access, &cell.partition, &cell.cell)
                        .is_some(),
                    "a file's own token reaches its own cell"
                );
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                !message.contains("ZQXJ"),
                "the token is repeated: {message}"
            );
        }
    }
});
