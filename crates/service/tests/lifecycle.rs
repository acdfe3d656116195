//! Lifecycle matrix of the vault service: locked, unlocked, stopped; double unlock, use while
//! locked and use after stop are distinct errors; the last handle's drop stops and wipes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::PHRASE;
use hexvault_service::{
    CacheConfig, Error, KeyType, KeyVersion, PATHS, Status, VaultService, VaultServiceHandle,
    VaultState, WordCount,
};

fn spawn() -> (VaultService, VaultServiceHandle) {
    VaultService::spawn(CacheConfig::new(16, Duration::from_secs(60))).unwrap()
}

/// Every operation that needs the seed, each returning only its error (if any).
fn seed_ops(v: &VaultServiceHandle) -> Vec<(&'static str, Result<(), Error>)> {
    let data = v.encrypt(b"x", b"a").ok();
    let dummy = hexvault_aead::EncryptedData::from_json(
        r#"{"key_version":2,"salt":"","iv":"AAAAAAAAAAAAAAAA","data":"AAAAAAAAAAAAAAAAAAAAAA=="}"#,
    )
    .unwrap();
    let d = data.unwrap_or(dummy);
    vec![
        (
            "derive",
            v.derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
                .map(drop),
        ),
        ("encrypt", v.encrypt(b"x", b"a").map(drop)),
        ("decrypt", v.decrypt(&d, b"a").map(drop)),
        (
            "rotate",
            v.rotate(&d, b"a", KeyVersion::new(3).unwrap()).map(drop),
        ),
    ]
}

#[test]
fn starts_locked_and_refuses_seed_operations_with_locked() {
    let (_s, v) = spawn();
    assert_eq!(v.status().unwrap().state, VaultState::Locked);
    for (name, r) in seed_ops(&v) {
        assert_eq!(r, Err(Error::Locked), "{name} while locked");
    }
    // lock while locked is a no-op success.
    v.lock().unwrap();
    assert_eq!(v.status().unwrap().seeds_zeroized, 0);
}

#[test]
fn unlock_then_double_unlock_is_already_unlocked() {
    let (_s, v) = spawn();
    v.unlock(PHRASE, "").unwrap();
    assert_eq!(v.status().unwrap().state, VaultState::Unlocked);
    assert_eq!(v.unlock(PHRASE, ""), Err(Error::AlreadyUnlocked));
    assert_eq!(
        v.unlock_new(WordCount::Words12).map(drop),
        Err(Error::AlreadyUnlocked)
    );
    // Seed operations work.
    for (name, r) in seed_ops(&v) {
        assert_eq!(r, Ok(()), "{name} while unlocked");
    }
}

#[test]
fn lock_then_locked_errors_then_unlock_again() {
    let (_s, v) = spawn();
    v.unlock(PHRASE, "pw").unwrap();
    let k1 = v
        .derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
        .unwrap();
    v.lock().unwrap();
    let st = v.status().unwrap();
    assert_eq!(st.state, VaultState::Locked);
    assert_eq!(st.seeds_zeroized, 1);
    assert_eq!(st.encryption_keys, 0);
    assert_eq!(st.cache.len, 0);
    for (name, r) in seed_ops(&v) {
        assert_eq!(r, Err(Error::Locked), "{name} after lock");
    }
    v.unlock(PHRASE, "pw").unwrap();
    let k2 = v
        .derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
        .unwrap();
    assert_eq!(k1, k2, "same phrase and passphrase give the same key");
    v.lock().unwrap();
    v.unlock(PHRASE, "other").unwrap();
    let k3 = v
        .derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
        .unwrap();
    assert_ne!(k1, k3, "another passphrase gives another key");
}

#[test]
fn unlock_new_returns_a_phrase_that_reunlocks_to_the_same_keys() {
    let (_s, v) = spawn();
    for words in [WordCount::Words12, WordCount::Words24] {
        let phrase = v.unlock_new(words).unwrap();
        assert_eq!(phrase.split_whitespace().count(), words.words());
        let k = v
            .derive(KeyType::Ed25519, &PATHS::device(2).unwrap())
            .unwrap();
        v.lock().unwrap();
        v.unlock(&phrase, "").unwrap();
        assert_eq!(
            k,
            v.derive(KeyType::Ed25519, &PATHS::device(2).unwrap())
                .unwrap()
        );
        v.lock().unwrap();
    }
    let phrase = v
        .unlock_new_with_passphrase(WordCount::Words15, "pp")
        .unwrap();
    let k = v
        .derive(KeyType::Aes256Gcm, &PATHS::device(1).unwrap())
        .unwrap();
    v.lock().unwrap();
    v.unlock(&phrase, "pp").unwrap();
    assert_eq!(
        k,
        v.derive(KeyType::Aes256Gcm, &PATHS::device(1).unwrap())
            .unwrap()
    );
}

#[test]
fn bad_phrases_are_invalid_mnemonic_without_echoing_words() {
    let (_s, v) = spawn();
    let bad = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon";
    let e = v.unlock(bad, "").unwrap_err();
    assert!(matches!(e, Error::InvalidMnemonic { .. }), "{e:?}");
    let e = v
        .unlock("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abot", "")
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::InvalidMnemonic { .. }));
    assert!(text.contains("word 12"), "{text}");
    assert!(!text.contains("abot") && !text.contains("about"), "{text}");
    assert_eq!(v.status().unwrap().state, VaultState::Locked);
}

#[test]
fn shutdown_makes_every_handle_stopped() {
    let (s, v) = spawn();
    let other = v.clone();
    v.unlock(PHRASE, "").unwrap();
    v.derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
        .unwrap();
    v.shutdown().unwrap();
    for h in [&v, &other] {
        assert_eq!(h.status(), Err(Error::Stopped));
        assert_eq!(h.unlock(PHRASE, ""), Err(Error::Stopped));
        assert_eq!(h.lock(), Err(Error::Stopped));
        assert_eq!(h.shutdown(), Err(Error::Stopped));
        for (name, r) in seed_ops(h) {
            assert_eq!(r, Err(Error::Stopped), "{name} after stop");
        }
    }
    let last: Status = s.join().unwrap();
    assert_eq!(last.state, VaultState::Locked);
    assert_eq!(last.seeds_zeroized, 1);
    assert_eq!(last.cache.len, 0);
    assert_eq!(last.cache.cleared, 1);
    assert_eq!(last.encryption_keys, 0);
}

#[test]
fn dropping_the_last_handle_stops_and_zeroizes() {
    let (s, v) = spawn();
    let clones: Vec<_> = (0..4).map(|_| v.clone()).collect();
    v.unlock(PHRASE, "").unwrap();
    for c in &clones {
        c.derive(KeyType::Aes256Gcm, &PATHS::device(1).unwrap())
            .unwrap();
    }
    v.derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
        .unwrap();
    v.encrypt(b"secret", b"ctx").unwrap();
    drop(clones);
    assert!(!s.is_finished(), "one handle is still alive");
    assert_eq!(v.status().unwrap().state, VaultState::Unlocked);
    drop(v);
    let last = s.join().unwrap();
    assert_eq!(last.state, VaultState::Locked);
    assert_eq!(last.seeds_zeroized, 1);
    assert_eq!(last.cache.len, 0);
    assert_eq!(last.cache.cleared, 2, "two cached keys zeroized at stop");
    assert_eq!(last.encryption_keys, 0);
}

#[test]
fn handle_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<VaultServiceHandle>();
    fn send<T: Send>() {}
    send::<VaultService>();
}
