//! The RustCrypto backend (feature `rustcrypto`, key schedules wiped on eviction) writes
//! blobs the ring backend opens, and the other way round.
#![cfg(feature = "rustcrypto")]
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::*;
use hexvault_cells::*;

#[test]
fn rustcrypto_and_ring_vaults_read_each_other() {
    let (ring_vault, _log) = vault();
    let rc_vault = Vault::with_options(
        VaultMasterKey::from_kms_bytes(&mut MASTER.clone()),
        Resolver,
        Arc::new(memory_log()),
        VaultOptions::default()
            .backend(Backend::RustCrypto)
            .cache_capacity(2),
    );
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    for layer in [Layer::Rest, Layer::Access] {
        let a = cell(&rc_vault, "p", "c")
            .seal(&oid("o"), b"both", layer, &creds)
            .unwrap();
        let b = cell(&ring_vault, "p", "c")
            .seal(&oid("o"), b"both", layer, &creds)
            .unwrap();
        assert_eq!(
            cell(&ring_vault, "p", "c")
                .open(&oid("o"), &a, &creds)
                .unwrap()
                .expose_secret(),
            b"both"
        );
        assert_eq!(
            cell(&rc_vault, "p", "c")
                .open(&oid("o"), &b, &creds)
                .unwrap()
                .expose_secret(),
            b"both"
        );
    }
}
