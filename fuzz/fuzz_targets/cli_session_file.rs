//! Fuzz the session file parser of the command line (docs/formats.md, "Session file"): any
//! text parses or is refused without a panic; a format-2 file that parses is written back
//! to a text that parses to the same session, and gives the same session key or the same
//! refusal.
#![no_main]

use hexvault_cli::session_file::{self, SESSION_FORMAT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = session_file::parse_ttl(text);
    let Ok(file) = session_file::parse(text) else {
        return;
    };
    let export = file.export();
    if file.format() != SESSION_FORMAT {
        assert!(export.is_err(), "a format-1 file is never used");
        assert!(file.text().is_err(), "a format-1 file is never written");
        return;
    }
    let again = file.text().expect("a parsed session file is written back");
    let back = session_file::parse(&again).expect("a written session file parses");
    assert_eq!(back.id(), file.id());
    assert_eq!(back.expires_at().ok(), file.expires_at().ok());
    match (export, back.export()) {
        (Ok(first), Ok(second)) => {
            assert_eq!(first.expose_secret(), second.expose_secret());
            assert_eq!(first.expires_at(), second.expires_at());
        }
        (Err(_), Err(_)) => {}
        _ => panic!("a written-back session file is used differently"),
    }
});
