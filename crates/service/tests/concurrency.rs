//! 8 handles × 10,000 mixed requests with a lock in the middle: no deadlock (bounded by a
//! timeout), no panic, every answer either correct or `Locked`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::PHRASE;
use hexvault_service::{CacheConfig, DerivationPath, Error, KeyType, VaultService, VaultState};

const THREADS: usize = 8;
const REQUESTS: usize = 10_000;
const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn eight_handles_ten_thousand_mixed_requests_with_a_lock_in_the_middle() {
    let (service, vault) =
        VaultService::spawn(CacheConfig::new(32, Duration::from_secs(300))).unwrap();
    vault.unlock(PHRASE, "").unwrap();
    let paths: Vec<DerivationPath> = (0..48)
        .map(|i| format!("m/44'/{}'/{i}'", i % 3).parse().unwrap())
        .collect();
    let paths = Arc::new(paths);
    // Reference keys, derived before the storm.
    let reference: Vec<[u8; 32]> = paths
        .iter()
        .map(|p| *vault.derive(KeyType::Ed25519, p).unwrap().expose_secret())
        .collect();
    let reference = Arc::new(reference);
    let sealed = vault.encrypt(b"shared credential", b"ctx").unwrap();

    let start = Arc::new(Barrier::new(THREADS + 1));
    let (done_tx, done_rx) = mpsc::channel();
    let begun = Instant::now();
    for t in 0..THREADS {
        let h = vault.clone();
        let paths = Arc::clone(&paths);
        let reference = Arc::clone(&reference);
        let sealed = sealed.clone();
        let start = Arc::clone(&start);
        let done = done_tx.clone();
        std::thread::spawn(move || {
            start.wait();
            let mut ok = 0usize;
            let mut locked = 0usize;
            for i in 0..REQUESTS {
                let n = (i * 7 + t * 13) % paths.len();
                let r: Result<(), Error> = match i % 10 {
                    0..=5 => h.derive(KeyType::Ed25519, &paths[n]).map(|k| {
                        assert_eq!(k.expose_secret(), &reference[n]);
                    }),
                    6 => h.derive(KeyType::Aes256Gcm, &paths[n]).map(|k| {
                        assert_ne!(k.expose_secret(), &reference[n]);
                    }),
                    7 => h
                        .encrypt(&i.to_le_bytes(), b"ctx")
                        .and_then(|d| h.decrypt(&d, b"ctx"))
                        .map(|p| assert_eq!(p.expose_secret(), &i.to_le_bytes())),
                    8 => h
                        .decrypt(&sealed, b"ctx")
                        .map(|p| assert_eq!(p.expose_secret(), b"shared credential")),
                    _ => h.status().map(drop),
                };
                match r {
                    Ok(()) => ok += 1,
                    Err(Error::Locked) => locked += 1,
                    Err(e) => panic!("thread {t} request {i}: {e:?}"),
                }
                // Thread 0 locks the vault half-way and unlocks it again a little later.
                if t == 0 && i == REQUESTS / 2 {
                    h.lock().unwrap();
                }
                if t == 0 && i == REQUESTS / 2 + 500 {
                    match h.unlock(PHRASE, "") {
                        Ok(()) | Err(Error::AlreadyUnlocked) => {}
                        Err(e) => panic!("unlock: {e:?}"),
                    }
                }
            }
            done.send((t, ok, locked)).unwrap();
        });
    }
    drop(done_tx);
    start.wait();
    let mut total_ok = 0;
    let mut total_locked = 0;
    for _ in 0..THREADS {
        let remaining = TIMEOUT.saturating_sub(begun.elapsed());
        let (_t, ok, locked) = done_rx
            .recv_timeout(remaining)
            .expect("deadlock or panic: a worker did not finish in time");
        total_ok += ok;
        total_locked += locked;
    }
    assert_eq!(total_ok + total_locked, THREADS * REQUESTS);
    assert!(total_locked > 0, "the lock in the middle was observed");
    let st = vault.status().unwrap();
    assert_eq!(st.state, VaultState::Unlocked);
    assert_eq!(st.seeds_zeroized, 1);
    assert_eq!(st.panics, 0);
    assert!(st.cache.hits > 0);
    assert!(st.requests >= (THREADS * REQUESTS) as u64);
    eprintln!(
        "{} requests in {:?}: {total_ok} ok, {total_locked} Locked; cache {:?}",
        THREADS * REQUESTS,
        begun.elapsed(),
        st.cache
    );
    drop(vault);
    let last = service.join().unwrap();
    assert_eq!(last.cache.len, 0);
    assert_eq!(last.seeds_zeroized, 2);
}

#[test]
fn shutdown_under_load_ends_every_caller_with_ok_or_stopped() {
    let (service, vault) = VaultService::spawn(CacheConfig::default()).unwrap();
    vault.unlock(PHRASE, "").unwrap();
    let path: DerivationPath = "m/1'/2'".parse().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    for t in 0..4 {
        let h = vault.clone();
        let path = path.clone();
        let done = done_tx.clone();
        std::thread::spawn(move || {
            let mut stopped = 0usize;
            for i in 0..5_000 {
                match h.derive(KeyType::Ed25519, &path) {
                    Ok(_) => {}
                    Err(Error::Stopped) => stopped += 1,
                    Err(e) => panic!("thread {t} request {i}: {e:?}"),
                }
            }
            done.send(stopped).unwrap();
        });
    }
    drop(done_tx);
    // Shut down once the callers are well under way (far from their last request).
    while vault.status().unwrap().requests < 1_000 {
        std::thread::sleep(Duration::from_millis(1));
    }
    vault.shutdown().unwrap();
    let begun = Instant::now();
    let mut stopped = 0;
    for _ in 0..4 {
        stopped += done_rx
            .recv_timeout(TIMEOUT.saturating_sub(begun.elapsed()))
            .expect("a caller hung after shutdown");
    }
    assert!(stopped > 0);
    let last = service.join().unwrap();
    assert_eq!(last.state, VaultState::Locked);
    assert_eq!(last.seeds_zeroized, 1);
    assert_eq!(last.cache.len, 0);
}
