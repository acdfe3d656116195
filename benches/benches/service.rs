//! hexvault-service beside the raw primitives, same inputs, same run: a warm-cache derive vs a
//! bare `HashMap` lookup of a 32-byte value; a cold derive vs the derivation crate's direct
//! call; the request overhead (a `status` round trip vs a bare channel echo); encrypt and
//! decrypt of 1 KiB through the handle vs `EncryptedData` directly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::mpsc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hexvault_aead::{EncryptedData, EncryptionKey};
use hexvault_benches::filler;
use hexvault_derivation::{DerivationPath, PATHS, ed25519};
use hexvault_mnemonic::Mnemonic;
use hexvault_service::{CacheConfig, KeyType, VaultService, VaultServiceHandle};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn seed() -> Vec<u8> {
    Mnemonic::parse(PHRASE)
        .unwrap()
        .to_seed("")
        .expose_secret()
        .to_vec()
}

fn vault(cache: CacheConfig) -> (VaultService, VaultServiceHandle) {
    let (s, v) = VaultService::spawn(cache).unwrap();
    v.unlock(PHRASE, "").unwrap();
    (s, v)
}

fn derive(c: &mut Criterion) {
    let path: DerivationPath = "m/44'/0'/0'/0'/0'".parse().unwrap();
    let seed = seed();
    let (_warm_s, warm) = vault(CacheConfig::new(64, Duration::from_secs(3600)));
    let (_cold_s, cold) = vault(CacheConfig::DISABLED);
    let direct = ed25519::ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
    assert_eq!(
        warm.derive(KeyType::Ed25519, &path)
            .unwrap()
            .expose_secret(),
        direct.expose_secret()
    );
    assert_eq!(
        cold.derive(KeyType::Ed25519, &path)
            .unwrap()
            .expose_secret(),
        direct.expose_secret()
    );

    let mut map: HashMap<(u8, DerivationPath), [u8; 32]> = HashMap::new();
    map.insert((0, path.clone()), *direct.expose_secret());
    for i in 0..63u32 {
        let p: DerivationPath = format!("m/44'/0'/{i}'").parse().unwrap();
        map.insert((0, p), [0; 32]);
    }
    let map_key = (0u8, path.clone());

    let mut g = c.benchmark_group("service_derive_warm");
    g.bench_function("hexvault_handle_derive_cached", |b| {
        b.iter(|| warm.derive(KeyType::Ed25519, black_box(&path)).unwrap());
    });
    g.bench_function("hashmap_lookup_32B", |b| {
        b.iter(|| *map.get(black_box(&map_key)).unwrap());
    });
    g.finish();

    let mut g = c.benchmark_group("service_derive_cold");
    g.bench_function("hexvault_handle_derive_uncached", |b| {
        b.iter(|| cold.derive(KeyType::Ed25519, black_box(&path)).unwrap());
    });
    g.bench_function("derivation_derive_from_seed", |b| {
        b.iter(|| ed25519::ExtendedPrivateKey::derive_from_seed(black_box(&seed), &path).unwrap());
    });
    // The extended key and its public key (the extended key computes its parent's
    // fingerprint, which a DerivedKey does not carry).
    g.bench_function("derivation_derive_from_seed+public_key", |b| {
        b.iter(|| {
            ed25519::ExtendedPrivateKey::derive_from_seed(black_box(&seed), &path)
                .unwrap()
                .public_key()
        });
    });
    // What the service computes for a DerivedKey, the direct way: the node's private key
    // (no parent fingerprint) and its public key. The target's floor.
    g.bench_function("derivation_private_key+public_key", |b| {
        b.iter(|| {
            ed25519::PrivateKey::derive_from_seed(black_box(&seed), &path)
                .unwrap()
                .public_key()
        });
    });
    // The floor of one hand-off that carries the work: a bare echo thread that derives the
    // node and its public key before it replies. Unlike the bare echo below, the caller
    // waits long enough here to park, as a cold derive's caller does.
    let (tx, rx) = mpsc::channel::<mpsc::SyncSender<[u8; 32]>>();
    let echo_seed = seed.clone();
    let echo_path = path.clone();
    std::thread::spawn(move || {
        for reply in rx {
            let node = ed25519::PrivateKey::derive_from_seed(&echo_seed, &echo_path).unwrap();
            let _ = reply.send(node.public_key());
        }
    });
    g.bench_function("bare_mpsc_round_trip_deriving_on_the_other_thread", |b| {
        b.iter(|| {
            let (rtx, rrx) = mpsc::sync_channel(1);
            tx.send(rtx).unwrap();
            rrx.recv().unwrap()
        });
    });
    g.finish();
}

fn request_overhead(c: &mut Criterion) {
    let (_s, v) = vault(CacheConfig::default());
    // A bare echo thread: the floor for any request/response over std channels.
    let (tx, rx) = mpsc::channel::<(u64, mpsc::SyncSender<u64>)>();
    std::thread::spawn(move || {
        for (n, reply) in rx {
            let _ = reply.send(n);
        }
    });
    let mut g = c.benchmark_group("service_request_overhead");
    g.bench_function("hexvault_status_round_trip", |b| {
        b.iter(|| v.status().unwrap());
    });
    g.bench_function("bare_mpsc_echo_round_trip", |b| {
        b.iter(|| {
            let (rtx, rrx) = mpsc::sync_channel(1);
            tx.send((black_box(7), rtx)).unwrap();
            rrx.recv().unwrap()
        });
    });
    g.finish();
}

fn crypt(c: &mut Criterion) {
    let (_s, v) = vault(CacheConfig::default());
    let seed = seed();
    let node = ed25519::ExtendedPrivateKey::derive_from_seed(&seed, &PATHS::ENCRYPTION).unwrap();
    let key = EncryptionKey::from_node_private_key(node.expose_secret()).unwrap();
    let plaintext = filler(1024);
    let aad = b"credential/bench";
    let sealed = v.encrypt(&plaintext, aad).unwrap();
    // Same key on both sides: the service's ciphertext opens with the direct key.
    assert_eq!(
        sealed.decrypt(&key, aad).unwrap().expose_secret(),
        &plaintext[..]
    );

    let mut g = c.benchmark_group("service_encrypt_1KiB");
    g.bench_function("hexvault_handle_encrypt", |b| {
        b.iter(|| v.encrypt(black_box(&plaintext), aad).unwrap());
    });
    g.bench_function("aead_encrypted_data_encrypt", |b| {
        b.iter(|| EncryptedData::encrypt(&key, black_box(&plaintext), aad).unwrap());
    });
    g.finish();

    let mut g = c.benchmark_group("service_decrypt_1KiB");
    g.bench_function("hexvault_handle_decrypt", |b| {
        b.iter(|| v.decrypt(black_box(&sealed), aad).unwrap());
    });
    g.bench_function("aead_encrypted_data_decrypt", |b| {
        b.iter(|| black_box(&sealed).decrypt(&key, aad).unwrap());
    });
    g.finish();
}

criterion_group!(benches, derive, request_overhead, crypt);
criterion_main!(benches);
