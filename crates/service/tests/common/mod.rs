//! Shared helpers of the integration tests: a controllable clock, vector loading, hex.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hexvault_service::Clock;

/// A clock that moves only when told to (implements the public `Clock` trait).
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset_nanos: AtomicU64,
    panic_next: AtomicBool,
}

impl ManualClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            offset_nanos: AtomicU64::new(0),
            panic_next: AtomicBool::new(false),
        })
    }

    pub fn advance(&self, by: Duration) {
        self.offset_nanos
            .fetch_add(u64::try_from(by.as_nanos()).unwrap(), Ordering::SeqCst);
    }

    /// The next `now()` panics: a way to make a request panic inside the service.
    pub fn panic_once(&self) {
        self.panic_next.store(true, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        if self.panic_next.swap(false, Ordering::SeqCst) {
            panic!("injected clock failure");
        }
        self.base + Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn load(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first Trezor English vector: (phrase, passphrase, 64-byte seed).
pub fn trezor_vector(i: usize) -> (String, String, Vec<u8>) {
    let v = load("bip39-trezor-english.json");
    let case = &v["cases"][i];
    (
        case["mnemonic"].as_str().unwrap().to_owned(),
        case["passphrase"].as_str().unwrap().to_owned(),
        hex(case["seed"].as_str().unwrap()),
    )
}

pub const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
