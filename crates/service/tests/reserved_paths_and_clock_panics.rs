//! The service refuses hexvault's reserved and future branches, and a clock panic in its loop
//! leaves no warm key behind (review round 22).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use hexvault_derivation::DerivationPath;
use hexvault_service::{CacheConfig, Error, KeyType, VaultService};

/// docs/adr/0015-derivation-paths.md:31-34: "Version 1 was the legacy PBKDF2 scheme, which
/// had no HD path, so branches `0'` and `1'` stay unused (reserved). A future layout takes a
/// new branch (`3'`) instead of changing the meaning of a path that data is already sealed
/// under." and docs/adr/0046-service-key-policy-and-capabilities.md:43 "A new role in the branch is closed until it is added to the
/// allow-list on purpose."
///
/// `paths::is_served` (crates/service/src/paths.rs:36) serves every path under hexvault's
/// own purpose `m/74'` that is not inside `m/74'/2'`: the reserved branches `0'`, `1'` and the
/// announced next layout `3'` are handed out today, for every key type. The ed25519 key at
/// `m/74'/3'/1'/0'` (the vault-master node of the next layout, by ADR 0015's scheme) leaves
/// the service now, so the root of trust of a future layout is already in callers' hands.
#[test]
fn reserved_and_future_application_branches_are_refused() {
    let (_service, vault) = VaultService::spawn(CacheConfig::default()).unwrap();
    vault.unlock(common::PHRASE, "").unwrap();
    let mut served = Vec::new();
    for text in [
        "m/74'/0'/0'/0'",
        "m/74'/1'/1'/0'",
        "m/74'/3'/0'/0'",
        "m/74'/3'/1'/0'",
        "m/74'/3'/2'/0'",
        "m/74'/3'",
    ] {
        let path: DerivationPath = text.parse().unwrap();
        for key_type in [KeyType::Ed25519, KeyType::Aes256Gcm] {
            match vault.derive(key_type, &path) {
                Err(Error::ReservedPath { .. }) => {}
                other => served.push(format!(
                    "{key_type} {text}: {:?}",
                    other.map(|k| k.path().to_string())
                )),
            }
        }
    }
    assert!(
        served.is_empty(),
        "paths of hexvault's reserved / next application branches were served:\n{}",
        served.join("\n")
    );
}

/// A clock that panics while the service loop reads it (the expiry of a pending partial set
/// of shares) used to unwind out of the loop, past the wipe at its end: the thread ended and
/// the handles went on serving warm keys from the shared cache. The read is now contained
/// like every other clock read: the service keeps serving, and the partial set whose age
/// could not be read is dropped. (The pending set needs a locked vault: an unlock by phrase
/// drops it.)
///
/// Claims: crates/service/src/lib.rs "No request can take the service down"; ADR 0048 "a
/// handle that outlives the service holds an empty cache".
#[test]
fn a_clock_panic_in_the_service_loop_is_contained() {
    use std::time::Duration;

    use hexvault_service::SharesConfig;
    use hexvault_shares::{MasterSecret, SplitConfig, split};

    let clock = common::ManualClock::new();
    let (service, vault) = VaultService::builder()
        .cache(CacheConfig::new(16, Duration::from_secs(300)))
        .clock(clock.clone())
        .shares(SharesConfig::default())
        .spawn()
        .unwrap();
    // A partial set of shares is pending (one of two), so the loop asks the clock how long
    // it may wait.
    let ms = MasterSecret::from_bytes(&[0x42; 16]).unwrap();
    let groups = split(&ms, "", &SplitConfig::single(2, 3).iteration_exponent(0)).unwrap();
    assert!(
        !vault
            .submit_share(&groups[0][0].to_words())
            .unwrap()
            .unlocked
    );

    // The next clock read panics; a capability request does not read the clock (and fails:
    // the vault is locked), so the read that panics is the loop's `wait()` after it.
    clock.panic_once();
    assert!(vault.vault_master_key().is_err());
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !service.is_finished(),
        "the clock panic ended the service thread"
    );
    vault.status().unwrap();
    // The partial set was dropped: the second share alone is one of two again.
    let progress = vault.submit_share(&groups[0][1].to_words()).unwrap();
    assert!(!progress.unlocked && progress.have == 1, "{progress:?}");
    // The service still unlocks and serves.
    assert!(
        vault
            .submit_share(&groups[0][2].to_words())
            .unwrap()
            .unlocked
    );
    let device: DerivationPath = "m/74'/2'/3'/0'".parse().unwrap();
    vault.derive(KeyType::Ed25519, &device).unwrap();

    // Stopping empties the shared cache: a handle that outlives the service is served no
    // warm key.
    vault.shutdown().unwrap();
    service.join().unwrap();
    assert!(matches!(
        vault.derive(KeyType::Ed25519, &device),
        Err(Error::Stopped)
    ));
}
