//! Concurrency: 4 threads sealing and opening in many cells at every layer, while another
//! thread rotates the cells; every open succeeds and the audit log verifies.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use hexvault_audit::{AuditLog, EventKind};
use hexvault_cells::*;

#[test]
fn four_threads_seal_and_open_in_many_cells_while_cells_rotate() {
    let (vault, log) = vault();
    let session = vault.start_session(Duration::from_secs(600)).unwrap();
    const ROUNDS: usize = 150;
    std::thread::scope(|s| {
        for t in 0..4 {
            let (vault, session) = (&vault, &session);
            s.spawn(move || {
                let reader = token("reader");
                let creds = Credentials::none().token(&reader).session(session);
                for i in 0..ROUNDS {
                    let c = cell(vault, "p", &format!("cell-{}", (i + t) % 16));
                    let layer = [Layer::Rest, Layer::Access, Layer::Session][i % 3];
                    let pt = format!("thread {t} round {i}");
                    let blob = c.seal(&oid("o"), pt.as_bytes(), layer, &creds).unwrap();
                    assert_eq!(
                        c.open(&oid("o"), &blob, &creds).unwrap().expose_secret(),
                        pt.as_bytes()
                    );
                }
            });
        }
        let vault = &vault;
        s.spawn(move || {
            for i in 0..40 {
                cell(vault, "p", &format!("cell-{}", i % 16))
                    .rotate()
                    .unwrap();
            }
        });
    });
    let recs = log.records().unwrap();
    let opens = recs
        .iter()
        .filter(|r| r.event.kind == EventKind::Open)
        .count();
    let rotations = recs
        .iter()
        .filter(|r| r.event.kind == EventKind::Rotate)
        .count();
    // Two of every three rounds are at layer 1 or 2.
    assert_eq!(opens, 4 * (ROUNDS / 3) * 2);
    assert_eq!(rotations, 40);
    assert!(log.verify().unwrap().failure.is_none());
}

#[test]
fn the_shared_types_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Vault>();
    shared::<Partition>();
    shared::<Cell>();
    shared::<Session>();
    shared::<Plaintext>();
}
