//! Fuzz sealed-stream opening: arbitrary bytes as a stream (header and segments) must never
//! panic, never be accepted (no key could have sealed them), and never allocate more than the
//! segment bound the header check enforces.
#![no_main]

use hexvault_aead::{Key, StreamOpener};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = Key::from_bytes([9; 32]);
    let Ok(mut opener) = StreamOpener::new(&key, b"fuzz", data) else {
        return;
    };
    loop {
        match opener.next_segment() {
            Ok(Some(_)) => panic!("a forged segment authenticated"),
            Ok(None) => panic!("a forged stream completed"),
            Err(_) => break,
        }
    }
    // After an error the opener stays failed: it never claims the stream complete.
    assert!(opener.next_segment().is_err());
});
