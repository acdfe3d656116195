//! Concurrency: traversals and batches from several threads over shared edges, with cell
//! rotations alongside; every blob arrives, every record is in one verifiable chain.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::thread;

use common::*;
use hexvault_audit::{AuditLog, EventKind};
use hexvault_edges::{Connect, Credentials, Layer, ObjectId};

#[test]
fn threads_traverse_shared_edges_while_cells_rotate() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 60;
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let back = vault.connect(&b, &a).unwrap();
    thread::scope(|s| {
        for t in 0..THREADS {
            let (edge, back, a, b) = (edge.clone(), back.clone(), a.clone(), b.clone());
            s.spawn(move || {
                let none = Credentials::none();
                for r in 0..ROUNDS {
                    let id = oid(&format!("t{t}-r{r}"));
                    let data = format!("payload {t} {r}").into_bytes();
                    let blob = a.seal(&id, &data, Layer::Rest, &none).unwrap();
                    if r % 3 == 0 {
                        let ids: Vec<ObjectId> = vec![id.clone(), id.clone()];
                        let items = [(&ids[0], &blob[..]), (&ids[1], &blob[..])];
                        for moved in edge.traverse_batch(&items, &none, &none).unwrap() {
                            let moved = moved.unwrap();
                            assert_eq!(
                                b.open(&id, &moved, &none).unwrap().expose_secret(),
                                &data[..]
                            );
                        }
                    } else {
                        let moved = edge.traverse(&id, &blob, &none, &none).unwrap();
                        let home = back.traverse(&id, &moved, &none, &none).unwrap();
                        assert_eq!(
                            a.open(&id, &home, &none).unwrap().expose_secret(),
                            &data[..]
                        );
                    }
                }
            });
        }
        // Rotations alongside: traversals keep working (old versions still open).
        let (a, b) = (a.clone(), b.clone());
        s.spawn(move || {
            for _ in 0..5 {
                a.rotate().unwrap();
                b.rotate().unwrap();
                thread::yield_now();
            }
        });
    });
    let batches = THREADS * ROUNDS.div_ceil(3);
    let singles = THREADS * (ROUNDS - ROUNDS.div_ceil(3));
    let traverses = log
        .records()
        .iter()
        .filter(|r| r.event.kind == EventKind::Traverse)
        .count();
    assert_eq!(traverses, batches * 2 + singles * 2);
    assert!(log.verify().unwrap().is_ok());
}
