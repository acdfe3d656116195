//! Derived-key cache through the service: TTL and LRU on a controllable clock, (type, path)
//! keying, zeroization accounting on lock, and a panicking request that is caught.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ManualClock, PHRASE};
use hexvault_service::{
    CacheConfig, DerivationPath, Error, KeyType, PATHS, VaultService, VaultServiceHandle,
    VaultState,
};

fn spawn(capacity: usize, ttl: Duration) -> (Arc<ManualClock>, VaultService, VaultServiceHandle) {
    let clock = ManualClock::new();
    let (s, v) = VaultService::builder()
        .cache(CacheConfig::new(capacity, ttl))
        .clock(clock.clone())
        .spawn()
        .unwrap();
    v.unlock(PHRASE, "").unwrap();
    (clock, s, v)
}

fn path(i: u32) -> DerivationPath {
    format!("m/44'/0'/{i}'").parse().unwrap()
}

#[test]
fn hit_then_miss_after_ttl_never_returns_expired() {
    let (clock, _s, v) = spawn(8, Duration::from_secs(10));
    let k1 = v.derive(KeyType::Ed25519, &path(1)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.len), (0, 1, 1));

    clock.advance(Duration::from_secs(9));
    let k2 = v.derive(KeyType::Ed25519, &path(1)).unwrap();
    assert_eq!(k1, k2);
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses), (1, 1));

    // At exactly the TTL the entry is expired: a miss, and the entry is zeroized.
    clock.advance(Duration::from_secs(1));
    let k3 = v.derive(KeyType::Ed25519, &path(1)).unwrap();
    assert_eq!(k1, k3, "re-derived, same key");
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.expirations), (1, 2, 1));
    assert_eq!(st.len, 1, "the fresh derivation was cached again");

    // A hit does not extend the TTL (counted from derivation).
    clock.advance(Duration::from_secs(6));
    v.derive(KeyType::Ed25519, &path(1)).unwrap();
    clock.advance(Duration::from_secs(6));
    v.derive(KeyType::Ed25519, &path(1)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.expirations), (2, 3, 2));
}

#[test]
fn lru_evicts_the_least_recently_used() {
    let (_clock, _s, v) = spawn(3, Duration::from_secs(600));
    for i in 0..3 {
        v.derive(KeyType::Ed25519, &path(i)).unwrap();
    }
    // Touch 0, so 1 is now the least recently used.
    v.derive(KeyType::Ed25519, &path(0)).unwrap();
    v.derive(KeyType::Ed25519, &path(3)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.len, st.evictions, st.hits, st.misses), (3, 1, 1, 4));
    // 0, 2 and 3 hit; 1 misses (and evicts the LRU, 2).
    v.derive(KeyType::Ed25519, &path(0)).unwrap();
    v.derive(KeyType::Ed25519, &path(3)).unwrap();
    v.derive(KeyType::Ed25519, &path(2)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses), (4, 4));
    v.derive(KeyType::Ed25519, &path(1)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.evictions, st.len), (4, 5, 2, 3));
    v.derive(KeyType::Ed25519, &path(0)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!(
        (st.hits, st.misses),
        (4, 6),
        "0 was the LRU and was evicted"
    );
}

#[test]
fn full_cache_drops_expired_entries_before_evicting_live_ones() {
    let (clock, _s, v) = spawn(2, Duration::from_secs(10));
    v.derive(KeyType::Ed25519, &path(0)).unwrap();
    clock.advance(Duration::from_secs(5));
    v.derive(KeyType::Ed25519, &path(1)).unwrap();
    clock.advance(Duration::from_secs(6)); // 0 expired, 1 live
    v.derive(KeyType::Ed25519, &path(2)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.len, st.expirations, st.evictions), (2, 1, 0));
    v.derive(KeyType::Ed25519, &path(1)).unwrap();
    assert_eq!(v.status().unwrap().cache.hits, 1);
}

#[test]
fn same_path_other_type_is_never_a_hit() {
    let (_clock, _s, v) = spawn(8, Duration::from_secs(600));
    let p = PATHS::device(1).unwrap();
    let ed = v.derive(KeyType::Ed25519, &p).unwrap();
    let aes = v.derive(KeyType::Aes256Gcm, &p).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.len), (0, 2, 2));
    assert_eq!(ed.key_type(), KeyType::Ed25519);
    assert_eq!(aes.key_type(), KeyType::Aes256Gcm);
    assert_ne!(ed.expose_secret(), aes.expose_secret());
    assert_eq!(aes.public_key(), None);
    assert_eq!(ed.public_key().map(<[u8]>::len), Some(32));
    // Now both are cached: each hit returns its own type.
    let ed2 = v.derive(KeyType::Ed25519, &p).unwrap();
    let aes2 = v.derive(KeyType::Aes256Gcm, &p).unwrap();
    assert_eq!(ed, ed2);
    assert_eq!(aes, aes2);
    assert_eq!(v.status().unwrap().cache.hits, 2);
}

#[cfg(feature = "secp256k1")]
#[test]
fn secp256k1_has_its_own_cache_slot() {
    let (_clock, _s, v) = spawn(8, Duration::from_secs(600));
    let p = PATHS::device(1).unwrap();
    let ed = v.derive(KeyType::Ed25519, &p).unwrap();
    let k = v.derive(KeyType::Secp256k1, &p).unwrap();
    assert_eq!(k.key_type(), KeyType::Secp256k1);
    assert_ne!(ed.expose_secret(), k.expose_secret());
    assert_eq!(k.public_key().map(<[u8]>::len), Some(33));
    assert_eq!(v.status().unwrap().cache.misses, 2);
}

#[test]
fn lock_zeroizes_the_cache_by_the_services_own_accounting() {
    let (_clock, _s, v) = spawn(16, Duration::from_secs(600));
    for i in 0..5 {
        v.derive(KeyType::Ed25519, &path(i)).unwrap();
        v.derive(KeyType::Aes256Gcm, &path(i)).unwrap();
    }
    v.encrypt(b"p", b"a").unwrap();
    let before = v.status().unwrap();
    assert_eq!(before.cache.len, 10);
    assert_eq!(before.encryption_keys, 1);
    v.lock().unwrap();
    let after = v.status().unwrap();
    assert_eq!(after.state, VaultState::Locked);
    assert_eq!(after.cache.len, 0);
    assert_eq!(after.cache.cleared, 10);
    assert_eq!(after.cache.zeroized(), 10);
    assert_eq!(after.encryption_keys, 0);
    assert_eq!(after.seeds_zeroized, 1);
    // Counters survive the lock; after unlocking again everything is a miss.
    v.unlock(PHRASE, "").unwrap();
    v.derive(KeyType::Ed25519, &path(0)).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.len), (0, 11, 1));
}

#[test]
fn disabled_cache_always_derives() {
    for config in [
        CacheConfig::DISABLED,
        CacheConfig::new(0, Duration::from_secs(5)),
        CacheConfig::new(5, Duration::ZERO),
    ] {
        let (s, v) = VaultService::spawn(config).unwrap();
        v.unlock(PHRASE, "").unwrap();
        let a = v.derive(KeyType::Ed25519, &path(1)).unwrap();
        let b = v.derive(KeyType::Ed25519, &path(1)).unwrap();
        assert_eq!(a, b);
        let st = v.status().unwrap().cache;
        assert_eq!((st.hits, st.misses, st.len), (0, 2, 0), "{config:?}");
        drop(v);
        s.join().unwrap();
    }
}

#[test]
fn a_panicking_request_is_reported_and_the_service_keeps_serving() {
    let (clock, _s, v) = spawn(8, Duration::from_secs(600));
    let other = v.clone();
    let k = v.derive(KeyType::Ed25519, &path(1)).unwrap();
    clock.panic_once();
    assert_eq!(v.derive(KeyType::Ed25519, &path(2)), Err(Error::Internal));
    // The service is alive, still unlocked, and the cache was cleared for safety.
    let st = other.status().unwrap();
    assert_eq!(st.state, VaultState::Unlocked);
    assert_eq!(st.panics, 1);
    assert_eq!(st.cache.len, 0);
    assert_eq!(other.derive(KeyType::Ed25519, &path(1)).unwrap(), k);
    assert_eq!(
        v.decrypt(&v.encrypt(b"x", b"y").unwrap(), b"y")
            .unwrap()
            .expose_secret(),
        b"x"
    );
}

/// A cold ed25519 `derive` (the service derives the node's private key without its
/// parent's fingerprint, `ed25519::PrivateKey`) gives the key the protocol's `Derive` frame
/// gives and the derivation crate's extended key holds, caches it, and serves the next call
/// warm.
#[test]
fn a_cold_ed25519_derive_is_the_extended_keys_key_and_is_cached() {
    use hexvault_service::{Request, Response};
    let (_clock, _s, v) = spawn(8, Duration::from_secs(60));
    let p = path(7);
    let key = v.derive(KeyType::Ed25519, &p).unwrap();
    let st = v.status().unwrap().cache;
    assert_eq!((st.hits, st.misses, st.insertions, st.len), (0, 1, 1, 1));
    let seed = hexvault_mnemonic::Mnemonic::parse(PHRASE)
        .unwrap()
        .to_seed("");
    let direct = hexvault_derivation::ed25519::ExtendedPrivateKey::derive_from_seed(
        seed.expose_secret(),
        &p,
    )
    .unwrap();
    assert_eq!(key.expose_secret(), direct.expose_secret());
    assert_eq!(key.public_key(), Some(&direct.public_key()[..]));
    // The frame path derives on the service thread alone: the same key.
    v.lock().unwrap();
    v.unlock(PHRASE, "").unwrap();
    let framed = match v
        .call(&Request::Derive {
            key_type: KeyType::Ed25519,
            path: p.clone(),
        })
        .unwrap()
    {
        Response::Derived(k) => k,
        other => panic!("{other:?}"),
    };
    assert_eq!(framed, key);
    assert_eq!(v.derive(KeyType::Ed25519, &p).unwrap(), key);
    assert_eq!(v.status().unwrap().cache.hits, 1);
    // Locked: refused, nothing served from before the lock.
    v.lock().unwrap();
    assert_eq!(v.derive(KeyType::Ed25519, &p).unwrap_err(), Error::Locked);
    assert_eq!(v.status().unwrap().cache.len, 0);
}
