//! Counters: exact under concurrent use from many threads, failures counted apart.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use hexvault_envelope::{ByteStorage, Compression, MIN_HEADER_LEN, Options};

#[test]
fn counters_are_exact_across_threads() {
    let storage = Arc::new(ByteStorage::new(
        Options::default().with_compression(Compression::Auto),
    ));
    let text = common::json_like(2000);
    let noise = common::noise(1000, 11);
    let (text_env, noise_env) = (
        storage.store(&text).unwrap(),
        storage.store(&noise).unwrap(),
    );
    let base = storage.stats();
    assert_eq!(
        (base.stores, base.compressed_stores),
        (2, u64::from(cfg!(feature = "compression")))
    );

    let threads = 8;
    let rounds = 200;
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (s, text, noise) = (Arc::clone(&storage), text.clone(), noise.clone());
            std::thread::spawn(move || {
                let mut out = Vec::new();
                for _ in 0..rounds {
                    let env = s.store(&text).unwrap();
                    s.retrieve_into(&env, &mut out).unwrap();
                    s.store(&noise).unwrap();
                    assert!(s.retrieve(b"garbage").is_err());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let st = storage.stats();
    let n = threads * rounds;
    assert_eq!(st.stores, base.stores + 2 * n);
    assert_eq!(st.retrieves, n);
    assert_eq!(st.failures, n);
    assert_eq!(st.compressed_stores, base.compressed_stores * (1 + n));
    let text_len = text.len() as u64;
    let noise_len = noise.len() as u64;
    assert_eq!(st.store_bytes_in, (text_len + noise_len) * (n + 1));
    assert_eq!(
        st.store_bytes_out,
        (text_env.len() + noise_env.len()) as u64 * (n + 1)
    );
    assert_eq!(st.retrieve_bytes_in, text_env.len() as u64 * n);
    assert_eq!(st.retrieve_bytes_out, text_len * n);
    // `store` and `retrieve` do not read the clock; the `_into` calls that report do.
    assert_eq!(st.store_time, std::time::Duration::ZERO);
    assert!(st.retrieve_time > std::time::Duration::ZERO);
    storage.store_into(&text, &mut Vec::new()).unwrap();
    assert!(storage.stats().store_time > std::time::Duration::ZERO);
    assert!(
        (st.store_ratio() - st.store_bytes_in as f64 / st.store_bytes_out as f64).abs() < 1e-12
    );
    assert_eq!(noise_env.len(), noise.len() + MIN_HEADER_LEN);
}

#[test]
fn fresh_storage_has_zero_counters() {
    let s = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    assert_eq!(s.stats(), hexvault_envelope::Stats::default());
    assert_eq!(s.stats().store_ratio(), 0.0);
}
