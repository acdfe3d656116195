//! Single traversals: declared routes, the record of each traversal, refusals (each
//! recorded), append failure, tampering, credentials, layer rules and reseal edges.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use common::*;
use hexvault_audit::{AuditLog, Binding, ContextId, ErrorClass, EventKind, Outcome};
use hexvault_cells::Error as CellsError;
use hexvault_edges::{
    Connect, Credentials, EdgeRule, Error, Layer, RouteId, RouteLayers, default_route, reseal_route,
};

fn cells_err(r: Result<Vec<u8>, Error>) -> CellsError {
    match r {
        Err(Error::Cells(e)) => e,
        other => panic!("expected a cells error, got {other:?}"),
    }
}

#[test]
fn an_edge_moves_data_across_partitions_with_one_complete_record() {
    let (vault, log) = vault();
    let (a, b) = (
        cell(&vault, "tenant-1", "inbox"),
        cell(&vault, "tenant-2", "archive"),
    );
    let edge = vault.connect(&a, &b).unwrap();
    assert_eq!(edge.route().as_str(), "tenant-1/inbox@tenant-2/archive");
    assert!(!edge.is_reseal());
    let none = Credentials::none();
    let blob = a
        .seal(&oid("o"), b"moving data", Layer::Rest, &none)
        .unwrap();
    let moved = edge.traverse(&oid("o"), &blob, &none, &none).unwrap();
    assert_ne!(moved, blob);
    assert_eq!(
        b.open(&oid("o"), &moved, &none).unwrap().expose_secret(),
        b"moving data"
    );
    let recs = log.records();
    assert_eq!(recs.len(), 1, "one record, no separate open or seal record");
    let ev = &recs[0].event;
    assert_eq!(ev.kind, EventKind::Traverse);
    assert_eq!(ev.outcome, Outcome::Success);
    let (src, dst) = (
        ev.source.as_ref().unwrap(),
        ev.destination.as_ref().unwrap(),
    );
    assert_eq!(src.partition.as_bytes(), b"tenant-1");
    assert_eq!(src.cell.as_bytes(), b"inbox");
    assert_eq!(dst.partition.as_bytes(), b"tenant-2");
    assert_eq!(dst.cell.as_bytes(), b"archive");
    assert_eq!((src.layer.0, dst.layer.0), (0, 0));
    assert_eq!((src.key_version.0, dst.key_version.0), (1, 1));
    assert!(ev.input.is_some() && ev.output.is_some());
    assert_ne!(ev.input, ev.output);
    assert_eq!(
        ev.context.as_ref().unwrap().route,
        Some(ContextId::new("tenant-1/inbox@tenant-2/archive").unwrap())
    );
    assert!(log.verify().unwrap().is_ok());
    // The source cell does not open the moved blob.
    assert!(a.open(&oid("o"), &moved, &none).is_err());
}

#[test]
fn the_output_reference_is_the_next_traversals_input_reference() {
    let (vault, log) = vault();
    let (a, b, c) = (
        cell(&vault, "p", "a"),
        cell(&vault, "p", "b"),
        cell(&vault, "p", "c"),
    );
    let (ab, bc) = (
        vault.connect(&a, &b).unwrap(),
        vault.connect(&b, &c).unwrap(),
    );
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    let at_b = ab.traverse(&oid("o"), &blob, &none, &none).unwrap();
    let at_c = bc.traverse(&oid("o"), &at_b, &none, &none).unwrap();
    assert_eq!(
        c.open(&oid("o"), &at_c, &none).unwrap().expose_secret(),
        b"x"
    );
    let recs = log.records();
    assert_eq!(recs[0].event.output, recs[1].event.input);
    // A reseal of the blob at b refers to it by the same reference.
    let rs = vault.reseal_edge(&b).unwrap();
    rs.traverse(&oid("o"), &at_b, &none, &none).unwrap();
    assert_eq!(log.records()[2].event.input, recs[0].event.output);
}

/// What a sealed reference binds (ADR 0081): the record names the returned blob's top nonce
/// and its final tag; a forgery that copies both onto another header and ciphertext matches
/// the reference bytes but does not open in the destination cell, and any change to the
/// genuine blob (header, ciphertext or tag) fails to open too.
#[test]
fn the_sealed_reference_binds_the_blob_only_with_its_key() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"payload", Layer::Rest, &none).unwrap();
    let moved = edge.traverse(&oid("o"), &blob, &none, &none).unwrap();
    let rec = log.records().pop().unwrap();
    let sealed = |r: Option<hexvault_audit::BlobRef>| match r.unwrap().binding {
        Binding::Sealed { nonce, tag } => (nonce, tag),
        other => panic!("expected a sealed reference, got {other:?}"),
    };
    let (_, out_tag) = sealed(rec.event.output);
    let (_, in_tag) = sealed(rec.event.input);
    assert_eq!(&out_tag[..], &moved[moved.len() - 16..]);
    assert_eq!(&in_tag[..], &blob[blob.len() - 16..]);
    // The output nonce is inside the returned blob's header, the input's in the input's.
    let (out_nonce, _) = sealed(rec.event.output);
    assert!(moved.windows(12).any(|w| w == out_nonce));
    // A forgery with the same tag (and so the same reference tail) never opens.
    let mut forged = moved.clone();
    let body = forged.len() - 17;
    forged[body] ^= 1;
    assert_eq!(&forged[forged.len() - 16..], &out_tag[..]);
    assert!(b.open(&oid("o"), &forged, &none).is_err());
    let mut header = moved.clone();
    header[20] ^= 1;
    assert!(b.open(&oid("o"), &header, &none).is_err());
    assert_eq!(
        b.open(&oid("o"), &moved, &none).unwrap().expose_secret(),
        b"payload"
    );
}

#[test]
fn an_undeclared_route_is_refused_and_recorded() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    let nowhere = RouteId::new("a-to-b").unwrap();
    assert!(matches!(
        vault.traverse(&nowhere, &oid("o"), &blob, &none, None, &none),
        Err(CellsError::UndeclaredRoute { .. })
    ));
    // The edge a→b does not carry data back from b to a.
    let edge = vault.connect(&a, &b).unwrap();
    let at_b = edge.traverse(&oid("o"), &blob, &none, &none).unwrap();
    assert!(matches!(
        cells_err(edge.traverse(&oid("o"), &at_b, &none, &none)),
        CellsError::RouteMismatch { .. }
    ));
    let recs = log.records();
    let summary: Vec<_> = recs
        .iter()
        .map(|r| (r.event.kind, r.event.outcome))
        .collect();
    assert_eq!(
        summary,
        [
            (
                EventKind::Denied,
                Outcome::Failure(ErrorClass::PolicyDenied)
            ),
            (EventKind::Traverse, Outcome::Success),
            (
                EventKind::Denied,
                Outcome::Failure(ErrorClass::ContextMismatch)
            ),
        ]
    );
    assert_eq!(
        recs[0].event.context.as_ref().unwrap().route,
        Some(ContextId::new("a-to-b").unwrap())
    );
}

#[test]
fn declaring_twice_or_across_vaults_is_refused() {
    let (vault, _) = vault();
    let (other, _) = common::vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    vault.connect(&a, &b).unwrap();
    assert!(matches!(
        vault.connect(&a, &b),
        Err(Error::Cells(CellsError::InvalidId { .. }))
    ));
    let foreign = cell(&other, "p", "c");
    assert!(matches!(
        vault.connect(&a, &foreign),
        Err(Error::Cells(CellsError::ForeignCell { .. }))
    ));
    let long = "x".repeat(100);
    let (c, d) = (cell(&vault, &long, "c"), cell(&vault, &long, "d"));
    assert!(matches!(
        vault.connect(&c, &d),
        Err(Error::RouteName { .. })
    ));
    let named = EdgeRule::new().named(RouteId::new("long-ids").unwrap());
    assert_eq!(
        vault.connect_with(&c, &d, named).unwrap().route().as_str(),
        "long-ids"
    );
}

#[test]
fn no_blob_without_its_record() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    log.set_failing(true);
    assert!(matches!(
        cells_err(edge.traverse(&oid("o"), &blob, &none, &none)),
        CellsError::Audit(_)
    ));
    assert_eq!(log.len(), 0);
    log.set_failing(false);
    let moved = edge.traverse(&oid("o"), &blob, &none, &none).unwrap();
    assert_eq!(
        b.open(&oid("o"), &moved, &none).unwrap().expose_secret(),
        b"x"
    );
    assert_eq!(log.len(), 1);
}

#[test]
fn every_flipped_bit_and_truncation_is_refused_and_recorded() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), &[7u8; 100], Layer::Rest, &none).unwrap();
    let mut attempts = 0u64;
    for i in 0..blob.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = blob.clone();
            bad[i] ^= bit;
            assert!(
                edge.traverse(&oid("o"), &bad, &none, &none).is_err(),
                "byte {i}"
            );
            attempts += 1;
        }
    }
    for len in [0, 1, 20, blob.len() - 1] {
        assert!(
            edge.traverse(&oid("o"), &blob[..len], &none, &none)
                .is_err()
        );
        attempts += 1;
    }
    let recs = log.records();
    assert_eq!(recs.len() as u64, attempts, "one record per attempt");
    assert!(recs.iter().all(
        |r| r.event.kind == EventKind::Denied && matches!(r.event.outcome, Outcome::Failure(_))
    ));
    // A flipped ciphertext bit is an authentication failure, named as such in the log.
    let mut bad = blob.clone();
    let last = bad.len() - 20;
    bad[last] ^= 1;
    assert!(matches!(
        cells_err(edge.traverse(&oid("o"), &bad, &none, &none)),
        CellsError::Authentication
    ));
    assert_eq!(
        log.records().last().unwrap().event.outcome,
        Outcome::Failure(ErrorClass::Authentication)
    );
    // The original still moves.
    assert!(edge.traverse(&oid("o"), &blob, &none, &none).is_ok());
}

#[test]
fn credentials_are_checked_on_both_sides() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let (reader, forged, writer) = (token("reader"), token("forged"), token("writer"));
    let none = Credentials::none();
    let with_reader = Credentials::none().token(&reader);
    let blob = a
        .seal(&oid("o"), b"x", Layer::Access, &with_reader)
        .unwrap();
    // No source token, a forged one, a token of another policy, no destination token.
    assert!(matches!(
        cells_err(edge.traverse(&oid("o"), &blob, &none, &with_reader)),
        CellsError::MissingCredential { .. }
    ));
    assert!(matches!(
        cells_err(edge.traverse(
            &oid("o"),
            &blob,
            &Credentials::none().token(&forged),
            &with_reader
        )),
        CellsError::Authentication
    ));
    assert!(matches!(
        cells_err(edge.traverse(
            &oid("o"),
            &blob,
            &Credentials::none().token(&writer),
            &with_reader
        )),
        CellsError::Mismatch {
            field: "policy",
            ..
        }
    ));
    assert!(matches!(
        cells_err(edge.traverse(&oid("o"), &blob, &with_reader, &none)),
        CellsError::MissingCredential { .. }
    ));
    // Wrong object id: named mismatch.
    assert!(matches!(
        cells_err(edge.traverse(&oid("other"), &blob, &with_reader, &with_reader)),
        CellsError::Mismatch {
            field: "object",
            ..
        }
    ));
    let classes: Vec<_> = log.records().iter().map(|r| r.event.outcome).collect();
    assert_eq!(
        classes,
        [
            Outcome::Failure(ErrorClass::PolicyDenied),
            Outcome::Failure(ErrorClass::Authentication),
            Outcome::Failure(ErrorClass::ContextMismatch),
            Outcome::Failure(ErrorClass::PolicyDenied),
            Outcome::Failure(ErrorClass::ContextMismatch),
        ]
    );
    // Destination with the writers' policy: sealed under it, opened only with it.
    let moved = edge
        .traverse(
            &oid("o"),
            &blob,
            &with_reader,
            &Credentials::none().token(&writer),
        )
        .unwrap();
    assert!(b.open(&oid("o"), &moved, &with_reader).is_err());
    assert_eq!(
        b.open(&oid("o"), &moved, &Credentials::none().token(&writer))
            .unwrap()
            .expose_secret(),
        b"x"
    );
    let recs = log.records();
    let ev = &recs
        .iter()
        .rev()
        .find(|r| r.event.kind == EventKind::Traverse)
        .unwrap()
        .event;
    assert_eq!(ev.kind, EventKind::Traverse);
    assert_eq!(ev.source.as_ref().unwrap().layer.0, 1);
    assert_eq!(ev.destination.as_ref().unwrap().layer.0, 1);
    let ctx = ev.context.as_ref().unwrap();
    assert_eq!(ctx.policy, Some(ContextId::new("readers").unwrap()));
    assert_eq!(ctx.actor, Some(ContextId::new("alice").unwrap()));
}

#[test]
fn layer_changes_follow_the_edge_rule() {
    let (vault, log) = vault();
    let (a, b, c) = (
        cell(&vault, "p", "a"),
        cell(&vault, "p", "b"),
        cell(&vault, "p", "c"),
    );
    let same = vault.connect(&a, &b).unwrap();
    assert_eq!(same.layers(), RouteLayers::Same);
    let up = vault
        .connect_with(
            &a,
            &c,
            EdgeRule::new().layers(RouteLayers::Between {
                lowest: Layer::Access,
                highest: Layer::Session,
            }),
        )
        .unwrap();
    let reader = token("reader");
    let (none, with_reader) = (Credentials::none(), Credentials::none().token(&reader));
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    assert!(matches!(
        cells_err(same.traverse_to(&oid("o"), &blob, &none, Layer::Access, &with_reader)),
        CellsError::LayerNotAllowed { .. }
    ));
    // The rule of `up` does not allow layer 0 (also not the blob's own).
    assert!(matches!(
        cells_err(up.traverse(&oid("o"), &blob, &none, &none)),
        CellsError::LayerNotAllowed { .. }
    ));
    let raised = up
        .traverse_to(&oid("o"), &blob, &none, Layer::Access, &with_reader)
        .unwrap();
    assert!(c.open(&oid("o"), &raised, &none).is_err());
    assert_eq!(
        c.open(&oid("o"), &raised, &with_reader)
            .unwrap()
            .expose_secret(),
        b"x"
    );
    // Layer 2 needs a live session on the destination side.
    assert!(matches!(
        cells_err(up.traverse_to(&oid("o"), &blob, &none, Layer::Session, &with_reader)),
        CellsError::MissingCredential { .. }
    ));
    let session = vault
        .start_session(std::time::Duration::from_secs(60))
        .unwrap();
    let with_session = Credentials::none().token(&reader).session(&session);
    let in_session = up
        .traverse_to(&oid("o"), &blob, &none, Layer::Session, &with_session)
        .unwrap();
    assert_eq!(
        c.open(&oid("o"), &in_session, &with_session)
            .unwrap()
            .expose_secret(),
        b"x"
    );
    let recs = log.records();
    let ev = &recs
        .iter()
        .rev()
        .find(|r| r.event.kind == EventKind::Traverse)
        .unwrap()
        .event;
    assert_eq!(ev.destination.as_ref().unwrap().layer.0, 2);
    assert!(
        ev.context.as_ref().unwrap().session.is_none(),
        "the source had no session"
    );
    vault.end_session(&session).unwrap();
    assert!(matches!(
        cells_err(up.traverse_to(&oid("o"), &blob, &none, Layer::Session, &with_session)),
        CellsError::SessionEnded
    ));
    let denied: Vec<_> = log
        .records()
        .iter()
        .filter(|r| r.event.kind == EventKind::Denied)
        .map(|r| r.event.outcome)
        .collect();
    assert_eq!(
        denied,
        [
            // same-layer edge asked for layer 1; `up` asked for layer 0
            Outcome::Failure(ErrorClass::PolicyDenied),
            Outcome::Failure(ErrorClass::PolicyDenied),
            // the open of the raised blob without a token
            Outcome::Failure(ErrorClass::PolicyDenied),
            // layer 2 without a session; then with an ended one
            Outcome::Failure(ErrorClass::PolicyDenied),
            Outcome::Failure(ErrorClass::SessionExpired),
        ]
    );
}

#[test]
fn a_session_blob_moves_with_both_sessions() {
    let (vault, _) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let reader = token("reader");
    let s1 = vault
        .start_session(std::time::Duration::from_secs(60))
        .unwrap();
    let s2 = vault
        .start_session(std::time::Duration::from_secs(60))
        .unwrap();
    let src = Credentials::none().token(&reader).session(&s1);
    let dst = Credentials::none().token(&reader).session(&s2);
    let blob = a.seal(&oid("o"), b"x", Layer::Session, &src).unwrap();
    // The session of the destination does not open the source blob.
    assert!(edge.traverse(&oid("o"), &blob, &dst, &dst).is_err());
    let moved = edge.traverse(&oid("o"), &blob, &src, &dst).unwrap();
    assert!(b.open(&oid("o"), &moved, &src).is_err());
    assert_eq!(
        b.open(&oid("o"), &moved, &dst).unwrap().expose_secret(),
        b"x"
    );
}

#[test]
fn a_reseal_edge_re_encrypts_under_the_current_versions() {
    let (vault, log) = vault();
    let a = cell(&vault, "p", "a");
    let reseal = vault.reseal_edge(&a).unwrap();
    assert!(reseal.is_reseal());
    assert_eq!(reseal.route().as_str(), "reseal@p/a");
    let none = Credentials::none();
    let old = a.seal(&oid("o"), b"kept", Layer::Rest, &none).unwrap();
    assert!(!reseal.needs_reseal(&old).unwrap());
    assert_eq!(a.rotate().unwrap(), 2);
    assert!(reseal.needs_reseal(&old).unwrap());
    let new = reseal.traverse(&oid("o"), &old, &none, &none).unwrap();
    assert!(!reseal.needs_reseal(&new).unwrap());
    a.retire_below(2).unwrap();
    assert!(a.open(&oid("o"), &old, &none).is_err());
    assert_eq!(
        a.open(&oid("o"), &new, &none).unwrap().expose_secret(),
        b"kept"
    );
    let ev = &log
        .records()
        .into_iter()
        .find(|r| r.event.kind == EventKind::Traverse)
        .unwrap()
        .event;
    assert_eq!(ev.source.as_ref().unwrap().key_version.0, 1);
    assert_eq!(ev.destination.as_ref().unwrap().key_version.0, 2);
    // A traversal also seals under the destination's current version (lazy re-encryption).
    let b = cell(&vault, "p", "b");
    b.rotate().unwrap();
    let edge = vault.connect(&a, &b).unwrap();
    let moved = edge.traverse(&oid("o"), &new, &none, &none).unwrap();
    assert!(!b.needs_reseal(&moved).unwrap());
    // Only the destination's own blobs have an answer: a stale blob of another cell (of
    // another partition too) is refused, never reported as "no reseal needed".
    let stale_a = a.seal(&oid("s"), b"old", Layer::Rest, &none).unwrap();
    a.rotate().unwrap();
    assert!(a.needs_reseal(&stale_a).unwrap());
    assert!(matches!(
        b.needs_reseal(&stale_a),
        Err(CellsError::Mismatch { field: "cell", .. })
    ));
    assert!(edge.needs_reseal(&stale_a).is_err());
    let q = cell(&vault, "q", "a");
    assert!(matches!(
        q.needs_reseal(&stale_a),
        Err(CellsError::Mismatch {
            field: "partition",
            ..
        })
    ));
}

#[test]
fn a_file_log_holds_every_record_after_reopening() {
    use hexvault_audit::{AuditKey, FileLog, LogOptions};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let key = AuditKey::from_bytes([3; 32]);
    let log = Arc::new(FileLog::create(&path, LogOptions::keyed(&key)).unwrap());
    let vault = hexvault_cells::Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone());
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    edge.traverse(&oid("o"), &blob, &none, &none).unwrap();
    let items = [(&oid("o"), &blob[..]), (&oid("o"), &blob[..10])];
    let results = edge.traverse_batch(&items, &none, &none).unwrap();
    assert!(results[0].is_ok() && results[1].is_err());
    drop(edge);
    drop(vault);
    drop(a);
    drop(b);
    let log = Arc::try_unwrap(log).ok().unwrap();
    log.close().unwrap();
    let (reopened, report) = FileLog::open(&path, LogOptions::keyed(&key)).unwrap();
    assert!(report.is_ok());
    assert_eq!(reopened.len(), 3);
}

/// Two edges whose default names coincide (ids may contain `/` and `@`): the second
/// declaration is refused, never merged into the first route, and naming it works.
#[test]
fn colliding_default_route_names_are_refused_not_merged() {
    let (vault, _) = vault();
    let first_from = cell(&vault, "x", "y@z/w");
    let first_to = cell(&vault, "q", "r");
    let second_from = cell(&vault, "x", "y");
    let second_to = cell(&vault, "z/w@q", "r");
    let first = vault.connect(&first_from, &first_to).unwrap();
    assert!(vault.connect(&second_from, &second_to).is_err());
    // The first route still goes where it was declared to go, and only from its source.
    let none = Credentials::none();
    let blob = second_from
        .seal(&oid("o"), b"data", Layer::Rest, &none)
        .unwrap();
    assert!(first.traverse(&oid("o"), &blob, &none, &none).is_err());
    let named = vault
        .connect_with(
            &second_from,
            &second_to,
            EdgeRule::new().named(RouteId::new("second").unwrap()),
        )
        .unwrap();
    let moved = named.traverse(&oid("o"), &blob, &none, &none).unwrap();
    assert_eq!(
        second_to
            .open(&oid("o"), &moved, &none)
            .unwrap()
            .expose_secret(),
        b"data"
    );
}

/// The route `connect` declares and records is the id `default_route` returns for the same
/// ids, and the reseal edge's is `reseal_route`'s: a caller holding ids (the command line)
/// predicts the names from the one rule.
#[test]
fn connect_and_reseal_edge_record_the_routes_the_naming_functions_return() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "x", "y@z/w"), cell(&vault, "q", "r"));
    let predicted = default_route((a.partition_id(), a.id()), (b.partition_id(), b.id())).unwrap();
    let reseal_predicted = reseal_route(a.partition_id(), a.id()).unwrap();
    let edge = vault.connect(&a, &b).unwrap();
    let reseal = vault.reseal_edge(&a).unwrap();
    assert_eq!(edge.route(), &predicted);
    assert_eq!(reseal.route(), &reseal_predicted);
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"data", Layer::Rest, &none).unwrap();
    edge.traverse(&oid("o"), &blob, &none, &none).unwrap();
    reseal.traverse(&oid("o"), &blob, &none, &none).unwrap();
    let routes: Vec<_> = log
        .records()
        .iter()
        .map(|r| r.event.context.as_ref().unwrap().route.clone())
        .collect();
    assert_eq!(
        routes,
        [
            Some(ContextId::new(predicted.as_str()).unwrap()),
            Some(ContextId::new(reseal_predicted.as_str()).unwrap()),
        ]
    );
    // The ids the functions return are the ones declared: the other pair of cells whose
    // default name is the same is refused, as is a second declaration of either name.
    let (c, d) = (cell(&vault, "x", "y"), cell(&vault, "z/w@q", "r"));
    assert_eq!(
        default_route((c.partition_id(), c.id()), (d.partition_id(), d.id())).unwrap(),
        predicted
    );
    assert!(vault.connect(&c, &d).is_err());
    assert!(vault.reseal_edge(&a).is_err());
}

/// A pair of cells whose default route name does not fit: `default_route` and `connect`
/// both give `Error::RouteName` with the same text; likewise `reseal_route` and
/// `reseal_edge` for a cell whose reseal name does not fit.
#[test]
fn an_over_long_pair_gives_a_route_name_error_from_the_function_and_from_connect() {
    let (vault, _) = vault();
    let (c, d) = (
        cell(&vault, &"p".repeat(63), "c"),
        cell(&vault, "q", &"d".repeat(60)),
    );
    // 63 + 1 + 1 + 1 + 1 + 1 + 60 = 128: fits.
    assert_eq!(
        default_route((c.partition_id(), c.id()), (d.partition_id(), d.id()))
            .unwrap()
            .as_str()
            .len(),
        128
    );
    let e = cell(&vault, "q", &"d".repeat(61));
    let name = match default_route((c.partition_id(), c.id()), (e.partition_id(), e.id())) {
        Err(Error::RouteName { name }) => name,
        other => panic!("expected Error::RouteName, got {other:?}"),
    };
    assert_eq!(name.len(), 129);
    match vault.connect(&c, &e) {
        Err(Error::RouteName { name: refused }) => assert_eq!(refused, name),
        other => panic!("expected Error::RouteName, got {other:?}"),
    }
    let long = cell(&vault, "p", &"c".repeat(120));
    assert!(matches!(
        reseal_route(long.partition_id(), long.id()),
        Err(Error::RouteName { .. })
    ));
    assert!(matches!(
        vault.reseal_edge(&long),
        Err(Error::RouteName { .. })
    ));
}
