//! The cache sweep wipes expired keys also while requests keep arriving (review round 12: each
//! request restarted the sweep timeout, so under steady traffic the sweep never ran).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use hexvault_service::{CacheConfig, DerivationPath, KeyType, VaultService};

const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                      abandon abandon about";

/// README (crates/service): "derives keys by type and path (through a cache that is zeroized
/// on eviction, expiry, lock and stop)"; `CacheConfig`: an expired entry "is removed and
/// zeroized on the lookup that finds it, by the service's periodic sweep, or when room is
/// needed". The sweep runs only when `recv_timeout(sweep_interval)` times out
/// (src/service.rs, `Actor::run`), and the interval restarts with every message: under any
/// steady traffic (here `status()` polls; in production any request at least once per
/// interval, at most 60 s) an expired key that is not looked up again stays in the cache,
/// unzeroized, until `lock`, eviction or stop.
#[test]
fn an_expired_cached_key_is_zeroized_even_while_requests_keep_arriving() {
    let ttl = Duration::from_millis(300);
    let (service, handle) = VaultService::builder()
        .cache(CacheConfig::new(8, ttl))
        .spawn()
        .unwrap();
    handle.unlock(PHRASE, "").unwrap();
    let path: DerivationPath = "m/74'/2'/3'/0'".parse().unwrap();
    let key = handle.derive(KeyType::Ed25519, &path).unwrap();
    drop(key);
    assert_eq!(handle.status().unwrap().cache.len, 1);
    // Ten TTLs of ordinary traffic that never asks for that key again.
    let until = Instant::now() + ttl * 10;
    while Instant::now() < until {
        handle.status().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let stats = handle.status().unwrap().cache;
    drop(handle);
    service.join().unwrap();
    assert_eq!(
        (stats.len, stats.expirations),
        (0, 1),
        "a key derived 10 TTLs ago is still held (not zeroized): {stats:?}"
    );
}
