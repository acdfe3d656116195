//! Transfer: data moves between cells only along a declared route, and one record per
//! transfer (traverse or denied) is in the log before the new blob is returned.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use hexvault_audit::{ContextId, ErrorClass, EventKind, Outcome};
use hexvault_cells::*;

#[test]
fn a_declared_route_moves_data_with_one_record() {
    let (vault, log) = vault();
    let (from, to) = (cell(&vault, "p", "inbox"), cell(&vault, "q", "archive"));
    let route = RouteId::new("inbox-to-archive").unwrap();
    vault.declare_route(route.clone(), &from, &to).unwrap();
    let reader = token("reader");
    let blob = from
        .seal(
            &oid("o"),
            b"moving",
            Layer::Access,
            &Credentials::none().token(&reader),
        )
        .unwrap();
    let moved = vault
        .transfer(
            &route,
            &oid("o"),
            &blob,
            &Credentials::none().token(&reader),
            Layer::Rest,
            &Credentials::none(),
        )
        .unwrap();
    assert_eq!(
        to.open(&oid("o"), &moved, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"moving"
    );
    let recs = records(&log);
    assert_eq!(
        recs.len(),
        1,
        "one traverse record, no separate open record"
    );
    let ev = &recs[0].event;
    assert_eq!(ev.kind, EventKind::Traverse);
    assert_eq!(ev.source.as_ref().unwrap().cell.as_bytes(), b"inbox");
    assert_eq!(ev.destination.as_ref().unwrap().cell.as_bytes(), b"archive");
    assert_eq!(
        ev.context.as_ref().unwrap().route,
        Some(ContextId::new("inbox-to-archive").unwrap())
    );
    assert!(vault.declare_route(route, &from, &to).is_err());
}

#[test]
fn undeclared_routes_and_foreign_blobs_are_refused_and_recorded() {
    let (vault, log) = vault();
    let (from, to, other) = (
        cell(&vault, "p", "a"),
        cell(&vault, "p", "b"),
        cell(&vault, "p", "c"),
    );
    let none = Credentials::none();
    let blob = from.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    let undeclared = RouteId::new("a-to-b").unwrap();
    assert!(matches!(
        vault.transfer(&undeclared, &oid("o"), &blob, &none, Layer::Rest, &none),
        Err(Error::UndeclaredRoute { .. })
    ));
    vault.declare_route(undeclared.clone(), &from, &to).unwrap();
    let foreign = other.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    assert!(matches!(
        vault.transfer(&undeclared, &oid("o"), &foreign, &none, Layer::Rest, &none),
        Err(Error::RouteMismatch { .. })
    ));
    let kinds: Vec<_> = records(&log).iter().map(|r| r.event.kind).collect();
    assert_eq!(kinds, [EventKind::Denied, EventKind::Denied]);
}

#[test]
fn no_transfer_without_its_audit_record() {
    let log = Arc::new(FlakyLog::new());
    let vault = Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone());
    let (from, to) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let route = RouteId::new("a-to-b").unwrap();
    vault.declare_route(route.clone(), &from, &to).unwrap();
    let none = Credentials::none();
    let blob = from.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    log.fail.store(true, Ordering::SeqCst);
    assert!(matches!(
        vault.transfer(&route, &oid("o"), &blob, &none, Layer::Rest, &none),
        Err(Error::Audit(_))
    ));
    log.fail.store(false, Ordering::SeqCst);
    assert!(
        vault
            .transfer(&route, &oid("o"), &blob, &none, Layer::Rest, &none)
            .is_ok()
    );
}

#[test]
fn a_transfer_without_the_source_credentials_is_one_denied_record() {
    let (vault, log) = vault();
    let (from, to) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let route = RouteId::new("a-to-b").unwrap();
    vault.declare_route(route.clone(), &from, &to).unwrap();
    let reader = token("reader");
    let blob = from
        .seal(
            &oid("o"),
            b"x",
            Layer::Access,
            &Credentials::none().token(&reader),
        )
        .unwrap();
    let none = Credentials::none();
    assert!(matches!(
        vault.transfer(&route, &oid("o"), &blob, &none, Layer::Rest, &none),
        Err(Error::MissingCredential { .. })
    ));
    let recs = records(&log);
    assert_eq!(recs.len(), 1);
    let ev = &recs[0].event;
    assert_eq!(ev.kind, EventKind::Denied);
    assert_eq!(ev.outcome, Outcome::Failure(ErrorClass::PolicyDenied));
    assert_eq!(ev.source.as_ref().unwrap().cell.as_bytes(), b"a");
    assert_eq!(ev.destination.as_ref().unwrap().cell.as_bytes(), b"b");
    assert!(ev.input.is_some() && ev.output.is_none());
}
