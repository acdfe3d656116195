//! Fuzz target: arbitrary bytes as a phrase; `Mnemonic::parse` and `parse_in` must never panic.
#![no_main]
#![allow(clippy::unwrap_used)]

use hexvault_mnemonic::{Language, Mnemonic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mnemonic) = Mnemonic::parse(&text) {
        // Whatever parses must round-trip through its phrase and its entropy.
        let again = Mnemonic::parse_in(mnemonic.language(), &mnemonic.phrase()).unwrap();
        assert_eq!(again.entropy(), mnemonic.entropy());
        let from_entropy =
            Mnemonic::from_entropy(&mnemonic.entropy(), mnemonic.language()).unwrap();
        assert_eq!(from_entropy.phrase(), mnemonic.phrase());
    }
    let _ = Mnemonic::parse_in(Language::English, &text);
});
