//! Review round 22: service findings.
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
#[ignore = "review22 finding"]
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

/// A panicking `Clock` reached from the service loop's own wait computation
/// (`Actor::wait` → `PartialShares::until_expiry` → `clock.now()`, crates/service/src/
/// service.rs:574-575, outside any `catch_unwind`) ends the service thread by unwinding:
/// `run` never reaches `self.lock()`, the shared cache is never cleared, and the handles go
/// on serving warm keys of a service that is gone.
///
/// Broken claims: crates/service/src/lib.rs:17-18 "`lock`, `shutdown` and dropping the last
/// handle zeroize the seed and every cached key"; lib.rs:23-24 "Only the service thread
/// inserts into that cache, and it empties it before dropping the seed"; lib.rs:36 "No
/// request can take the service down"; docs/adr/0048-service-warm-derive-without-hand-off.md:50-51
/// (Consequences) "emptied (each key zeroized) on lock, shutdown, after a caught panic and
/// when the service stops; a handle that outlives the service holds an empty cache." The
/// service treats a panicking custom `Clock` as a case to contain (ADR 0048, and
/// `expire_shares`: "a panic in the clock is contained").
#[test]
#[ignore = "review22 finding"]
fn a_clock_panic_in_the_service_loop_leaves_no_warm_key_behind() {
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
    let first = groups[0][0].to_words();
    assert!(!vault.submit_share(&first).unwrap().unlocked);
    vault.unlock(common::PHRASE, "").unwrap();
    let device: DerivationPath = "m/74'/2'/3'/0'".parse().unwrap();
    vault.derive(KeyType::Ed25519, &device).unwrap(); // now cached

    // The next clock read panics; a capability request does not read the clock, so the
    // read that panics is the loop's `wait()` after it.
    clock.panic_once();
    let _ = vault.vault_master_key();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        service.is_finished(),
        "precondition: the service thread ended on the clock panic"
    );
    assert!(matches!(vault.status(), Err(Error::Stopped)));

    let warm = vault.derive(KeyType::Ed25519, &device);
    assert!(
        warm.is_err(),
        "a stopped service's handle still serves a cached key: {:?}",
        warm.as_ref().map(|k| k.path().to_string())
    );
}
