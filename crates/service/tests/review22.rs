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
