//! Audit: opens at layers 1 and 2, denied attempts, rotations and sessions are recorded
//! (version-3 records with policy, session, actor and sealed blob references); a layer-0 open is not; an open whose
//! record cannot be appended returns no plaintext.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use hexvault_audit::{
    AuditLog, Binding, ContextId, ErrorClass, EventKind, Outcome, RECORD_VERSION_V3,
};
use hexvault_cells::*;

fn kinds(log: &hexvault_audit::MemoryLog) -> Vec<EventKind> {
    records(log).iter().map(|r| r.event.kind).collect()
}

#[test]
fn gated_opens_are_recorded_with_policy_session_and_actor() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let l0 = c
        .seal(&oid("o"), b"0", Layer::Rest, &Credentials::none())
        .unwrap();
    c.open(&oid("o"), &l0, &Credentials::none()).unwrap();
    assert_eq!(kinds(&log), [EventKind::SessionStart]);

    let l1_creds = Credentials::none().token(&reader);
    let l1 = c.seal(&oid("o"), b"1", Layer::Access, &l1_creds).unwrap();
    c.open(&oid("o"), &l1, &l1_creds).unwrap();
    let l2_creds = l1_creds.session(&session);
    let l2 = c.seal(&oid("o"), b"2", Layer::Session, &l2_creds).unwrap();
    c.open(&oid("o"), &l2, &l2_creds).unwrap();
    let recs = records(&log);
    assert_eq!(
        kinds(&log),
        [EventKind::SessionStart, EventKind::Open, EventKind::Open]
    );
    let open1 = &recs[1].event;
    let ctx = open1.context.as_ref().unwrap();
    assert_eq!(ctx.policy, Some(ContextId::new("readers").unwrap()));
    assert_eq!(ctx.actor, Some(ContextId::new("alice").unwrap()));
    assert_eq!(ctx.session, None);
    let src = open1.source.as_ref().unwrap();
    assert_eq!(src.partition.as_bytes(), b"tenant");
    assert_eq!(src.cell.as_bytes(), b"inbox");
    assert_eq!(src.layer.0, 1);
    assert!(open1.input.is_some());
    let ctx2 = recs[2].event.context.as_ref().unwrap();
    assert_eq!(
        ctx2.session,
        Some(ContextId::new(session.id().to_vec()).unwrap())
    );
    // Sealed blob references (nonce and tag, ADR 0081) make it record version 3.
    assert_eq!(recs[2].encode().unwrap()[0], RECORD_VERSION_V3);
    let Some(Binding::Sealed { tag, .. }) = recs[2].event.input.map(|b| b.binding) else {
        panic!("an open names its blob by a sealed reference");
    };
    assert_eq!(&tag[..], &l2[l2.len() - 16..]);
    assert!(log.verify().unwrap().failure.is_none());
}

#[test]
fn denied_attempts_are_recorded_not_only_returned() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let reader = token("reader");
    let blob = c
        .seal(
            &oid("o"),
            b"x",
            Layer::Access,
            &Credentials::none().token(&reader),
        )
        .unwrap();
    let attempts: [(Result<Plaintext>, ErrorClass); 5] = [
        (
            c.open(&oid("o"), &blob, &Credentials::none()),
            ErrorClass::PolicyDenied,
        ),
        (
            c.open(
                &oid("o"),
                &blob,
                &Credentials::none().token(&token("nobody")),
            ),
            ErrorClass::PolicyDenied,
        ),
        (
            c.open(
                &oid("o"),
                &blob,
                &Credentials::none().token(&token("forged")),
            ),
            ErrorClass::Authentication,
        ),
        (
            cell(&vault, "tenant", "other").open(
                &oid("o"),
                &blob,
                &Credentials::none().token(&reader),
            ),
            ErrorClass::ContextMismatch,
        ),
        (
            c.open(&oid("o"), b"garbage", &Credentials::none()),
            ErrorClass::Malformed,
        ),
    ];
    let recs = records(&log);
    assert_eq!(recs.len(), attempts.len());
    for ((result, class), rec) in attempts.iter().zip(&recs) {
        assert!(result.is_err());
        assert_eq!(rec.event.kind, EventKind::Denied);
        assert_eq!(rec.event.outcome, Outcome::Failure(*class));
    }
    // A refused seal is recorded too.
    assert!(
        c.seal(&oid("o"), b"x", Layer::Access, &Credentials::none())
            .is_err()
    );
    assert_eq!(records(&log).last().unwrap().event.kind, EventKind::Denied);
}

#[test]
fn rotations_and_session_ends_are_recorded() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    c.rotate().unwrap();
    c.retire_below(2).unwrap();
    vault
        .rotate_master(VaultMasterKey::generate().unwrap())
        .unwrap();
    let session = vault.start_session(Duration::from_secs(5)).unwrap();
    vault.end_session(&session).unwrap();
    assert_eq!(
        kinds(&log),
        [
            EventKind::Rotate,
            EventKind::Rotate,
            EventKind::Rotate,
            EventKind::SessionStart,
            EventKind::SessionEnd
        ]
    );
    let recs = records(&log);
    let dest = recs[0].event.destination.as_ref().unwrap();
    assert_eq!(
        (dest.cell.as_bytes(), dest.key_version.0),
        (&b"inbox"[..], 2)
    );
    let master = recs[2].event.destination.as_ref().unwrap();
    assert_eq!(
        (master.cell.as_bytes(), master.key_version.0),
        (&b""[..], 2)
    );
}

#[test]
fn an_open_that_cannot_be_recorded_returns_no_plaintext() {
    let log = Arc::new(FlakyLog::new());
    let vault = Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone());
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    let blob = c
        .seal(&oid("o"), b"guarded", Layer::Access, &creds)
        .unwrap();
    log.fail.store(true, Ordering::SeqCst);
    assert!(matches!(
        c.open(&oid("o"), &blob, &creds),
        Err(Error::Audit(_))
    ));
    // Rotation is refused too: the record comes first.
    assert!(matches!(c.rotate(), Err(Error::Audit(_))));
    assert_eq!(c.key_versions(), (1, 1));
    log.fail.store(false, Ordering::SeqCst);
    assert_eq!(
        c.open(&oid("o"), &blob, &creds).unwrap().expose_secret(),
        b"guarded"
    );
}

/// A layer-0 open through a handle whose memo holds the key (the straight path of ADR 0078)
/// records every refusal as the general path does, and records nothing on success.
#[test]
fn refused_layer0_opens_through_a_warm_handle_are_recorded() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let none = Credentials::none();
    let blob = c.seal(&oid("o"), b"rest", Layer::Rest, &none).unwrap();
    // Warm: the memo now holds the layer-0 key; a successful open records nothing.
    assert_eq!(
        c.open(&oid("o"), &blob, &none).unwrap().expose_secret(),
        b"rest"
    );
    assert!(records(&log).is_empty());
    let mut tag_flipped = blob.clone();
    *tag_flipped.last_mut().unwrap() ^= 1;
    let mut commitment_flipped = blob.clone();
    // Fixed part 15, ids "tenant", "inbox", "o" with their lengths: 15 bytes, then the
    // commitment.
    commitment_flipped[15 + 15] ^= 0x80;
    let attempts: [(Result<Plaintext>, ErrorClass); 4] = [
        (
            c.open(&oid("o"), &tag_flipped, &none),
            ErrorClass::Authentication,
        ),
        (
            c.open(&oid("o"), &commitment_flipped, &none),
            ErrorClass::Authentication,
        ),
        (
            c.open(&oid("other"), &blob, &none),
            ErrorClass::ContextMismatch,
        ),
        (
            c.open(&oid("o"), &blob[..blob.len() - 1], &none),
            ErrorClass::Authentication,
        ),
    ];
    let recs = records(&log);
    assert_eq!(recs.len(), attempts.len());
    for ((result, class), rec) in attempts.iter().zip(&recs) {
        assert!(result.is_err());
        assert_eq!(rec.event.kind, EventKind::Denied);
        assert_eq!(rec.event.outcome, Outcome::Failure(*class));
    }
    assert!(matches!(
        &attempts[2].0,
        Err(Error::Mismatch {
            field: "object",
            ..
        })
    ));
    // The handle still opens the good blob, and that is not recorded.
    assert_eq!(
        c.open(&oid("o"), &blob, &none).unwrap().expose_secret(),
        b"rest"
    );
    assert_eq!(records(&log).len(), attempts.len());
}
