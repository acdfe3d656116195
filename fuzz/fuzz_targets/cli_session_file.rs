//! Fuzz the session file parser of the command line (docs/formats.md, "Session file"): any
//! text parses or is refused without a panic; a format-2 file that parses is written back
//! to a text that parses to the same session, and gives the same session key or the same
//! refusal.
#![no_main]

use hexvault_cli::session_file::{self, SESSION_FORMAT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The input as a whole text, and (for the deeper paths: check, derivation, round trip)
    // spliced into a file of the documented form: id, secret, expiry and check from the
    // input's first 88 bytes.
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = session_file::parse_ttl(text);
        check(text);
    }
    if let (Some(id), Some(secret), Some(expires), Some(sum)) = (
        data.get(..16),
        data.get(16..48),
        data.get(48..56),
        data.get(56..88),
    ) {
        let expires = u64::from_be_bytes(expires.try_into().expect("8 bytes"));
        check(&format!(
            "format = 2\nid = \"{}\"\nsecret = \"{}\"\nexpires_unix = {expires}\ncheck = \"{}\"\n",
            hex::encode(id),
            hex::encode(secret),
            hex::encode(sum)
        ));
    }
});

fn check(text: &str) {
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
}
