//! `Vault::from_service` takes the vault master and the audit signer from one seed in one
//! request (review round 12: two requests could straddle another handle's lock and unlock).
#![cfg(feature = "service")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Mutex;
use std::time::Duration;

use hexvault::cells::{Cell, CellId, Credentials, Layer, ObjectId, PartitionId};
use hexvault::service::{CacheConfig, VaultService};
use hexvault::{NoAccessTokens, Vault};

const PHRASE_A: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
                        abandon abandon about";
const PHRASE_B: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

fn inbox(vault: &Vault) -> Cell {
    vault
        .partition(PartitionId::new("billing").unwrap())
        .cell(CellId::new("inbox").unwrap())
}

/// docs/architecture.md (facade): "a `hexvault::Vault`'s audit log is always keyed with the
/// chain key of its own master and signed by the audit signer of the same root; no
/// constructor takes other keys." `VaultBuilder::from_service` asks the service for the vault
/// master and for the audit signer in two separate requests (crates/hexvault/src/vault.rs,
/// `from_service`); a `lock` + `unlock` by another holder of a handle queued between the two
/// gives a vault whose data keys come from one root and whose audit signer (and
/// `audit_public_key()`) from another, silently. An application that checks
/// `audit_public_key()` against its expected root then seals its data under another root's
/// master (or the reverse). The probe lines the requests up in the service's FIFO queue
/// behind a long `encrypt` (no luck needed once the queue order is as shown); the delay
/// before `from_service` is swept because the client-side encoding time is unknown.
#[test]
fn from_service_never_mixes_the_master_of_one_root_with_the_signer_of_another() {
    let (service, handle) = VaultService::spawn(CacheConfig::default()).unwrap();
    let ref_a = Vault::from_mnemonic(PHRASE_A, "", NoAccessTokens).unwrap();
    let ref_b = Vault::from_mnemonic(PHRASE_B, "", NoAccessTokens).unwrap();
    let (pk_a, pk_b) = (ref_a.audit_public_key(), ref_b.audit_public_key());
    let id = ObjectId::new("probe").unwrap();
    let none = Credentials::none();
    let big = vec![7u8; 32 << 20];
    let mut seen = Vec::new();
    for delay_ms in [5u64, 10, 20, 40, 80, 160] {
        let _ = handle.lock();
        handle.unlock(PHRASE_A, "").unwrap();
        let built: Mutex<Option<Vault>> = Mutex::new(None);
        std::thread::scope(|s| {
            // A long request keeps the service thread busy; everything below queues behind it.
            let (h, big) = (handle.clone(), &big);
            s.spawn(move || {
                let _ = h.encrypt(big, b"busy");
            });
            std::thread::sleep(Duration::from_millis(delay_ms));
            let (h, built) = (handle.clone(), &built);
            s.spawn(move || {
                *built.lock().unwrap() = Vault::from_service(&h, NoAccessTokens).ok();
            });
            std::thread::sleep(Duration::from_millis(5));
            // Another holder of a handle: lock, then unlock with another phrase.
            let h = handle.clone();
            s.spawn(move || {
                let _ = h.lock();
            });
            std::thread::sleep(Duration::from_millis(5));
            let h = handle.clone();
            s.spawn(move || {
                let _ = h.unlock(PHRASE_B, "");
            });
        });
        let Some(vault) = built.lock().unwrap().take() else {
            seen.push(format!("{delay_ms} ms: refused (locked)"));
            continue;
        };
        let blob = inbox(&vault).seal(&id, b"x", Layer::Rest, &none).unwrap();
        let master = match (
            inbox(&ref_a).open(&id, &blob, &none).is_ok(),
            inbox(&ref_b).open(&id, &blob, &none).is_ok(),
        ) {
            (true, false) => "A",
            (false, true) => "B",
            _ => "?",
        };
        let key = vault.audit_public_key();
        let signer = if key == pk_a {
            "A"
        } else if key == pk_b {
            "B"
        } else {
            "?"
        };
        seen.push(format!("{delay_ms} ms: master {master}, signer {signer}"));
        assert_eq!(
            master, signer,
            "Vault::from_service built a vault whose master is root {master}'s and whose audit \
             signer (audit_public_key) is root {signer}'s; attempts: {seen:?}"
        );
    }
    drop(handle);
    service.join().unwrap();
    eprintln!("no mixed vault built: {seen:?}");
}
