//! Fuzz SLIP-0039 share parsing: any text parses or fails without panicking, and a share
//! that parses writes back to words that parse to the same share.
#![no_main]

use hexvault_shares::Share;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(share) = Share::parse(text) {
        let words = share.to_words();
        let again = Share::parse(&words).expect("written words parse");
        assert_eq!(again.expose_secret(), share.expose_secret());
        assert_eq!(format!("{again:?}"), format!("{share:?}"));
        assert_eq!(*again.to_words(), *words);
    }
});
