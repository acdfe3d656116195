//! Audit: opens at layers 1 and 2, denied attempts, rotations and sessions are recorded
//! (version-3 records with policy, session, actor and sealed blob references); every refused
//! gated seal and every refused open is recorded as denied; a layer-0 open is not; an open
//! whose record cannot be appended returns no plaintext.
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

/// A vault that knows master version 2 from a replayed log (another vault's rotation)
/// without holding its key, its log, and the vault that rotated (holding the key).
fn vault_without_its_current_master() -> (Vault, Arc<hexvault_audit::MemoryLog>, Vault) {
    let (x, x_log) = vault();
    x.rotate_master(VaultMasterKey::from_kms_bytes(&mut [9; 32]))
        .unwrap();
    let (y, y_log) = vault();
    y.replay_versions(records(&x_log).iter()).unwrap();
    assert_eq!(y.master_versions().0, 2);
    (y, y_log, x)
}

/// Review round 7, finding 7 (R7-5). A gated seal refused because the current master version's
/// key is not loaded (the documented state after a replayed master rotation) returned
/// `UnknownKeyVersion` without a record; every refused gated seal is now recorded as denied
/// with its class (`KeyUnavailable` here), its endpoint and the session, at layers 1 and 2.
#[test]
fn a_gated_seal_refused_for_an_unloaded_master_version_is_recorded() {
    let (y, y_log, _x) = vault_without_its_current_master();
    let reader = token("reader");
    let session = y.start_session(Duration::from_secs(60)).unwrap();
    let c = cell(&y, "p", "c");
    for (layer, creds) in [
        (Layer::Access, Credentials::none().token(&reader)),
        (
            Layer::Session,
            Credentials::none().token(&reader).session(&session),
        ),
    ] {
        let before = records(&y_log).len();
        let err = c.seal(&oid("o"), b"x", layer, &creds).unwrap_err();
        assert!(
            matches!(err, Error::UnknownKeyVersion { version: 2, .. }),
            "{err:?}"
        );
        let after = records(&y_log);
        assert_eq!(
            after.len(),
            before + 1,
            "one denied record per refused seal"
        );
        let event = &after.last().unwrap().event;
        assert_eq!(event.kind, EventKind::Denied);
        assert_eq!(event.outcome, Outcome::Failure(ErrorClass::KeyUnavailable));
        let at = event.source.as_ref().unwrap();
        assert_eq!(
            (at.partition.as_bytes(), at.cell.as_bytes(), at.layer.0),
            (&b"p"[..], &b"c"[..], layer.number())
        );
        let expected_session =
            (layer == Layer::Session).then(|| ContextId::new(session.id().to_vec()).unwrap());
        assert_eq!(event.context.as_ref().unwrap().session, expected_session);
    }
    // Another refusal of a gated seal, for an ended session, is recorded as before.
    y.end_session(&session).unwrap();
    let before = records(&y_log).len();
    let ended = Credentials::none().token(&reader).session(&session);
    assert!(matches!(
        c.seal(&oid("o"), b"x", Layer::Session, &ended),
        Err(Error::SessionEnded)
    ));
    let after = records(&y_log);
    assert_eq!(after.len(), before + 1);
    assert_eq!(
        after.last().unwrap().event.outcome,
        Outcome::Failure(ErrorClass::SessionExpired)
    );
    assert!(y_log.verify().unwrap().failure.is_none());
}

/// The other key-version refusals of gated data: an open of a blob sealed under a master
/// version whose key is not loaded, and an open and a reseal of a blob whose cell key
/// version is retired, are each recorded as one denied record (`KeyUnavailable`).
#[test]
fn gated_opens_refused_for_key_versions_are_recorded() {
    let (y, y_log, x) = vault_without_its_current_master();
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    let from_x = cell(&x, "p", "c")
        .seal(&oid("o"), b"x", Layer::Access, &creds)
        .unwrap();
    let before = records(&y_log).len();
    assert!(matches!(
        cell(&y, "p", "c").open(&oid("o"), &from_x, &creds),
        Err(Error::UnknownKeyVersion { version: 2, .. })
    ));
    let after = records(&y_log);
    assert_eq!(after.len(), before + 1);
    assert_eq!(
        after.last().unwrap().event.outcome,
        Outcome::Failure(ErrorClass::KeyUnavailable)
    );

    let (v, v_log) = vault();
    let c = cell(&v, "p", "c");
    let old = c.seal(&oid("o"), b"old", Layer::Access, &creds).unwrap();
    c.rotate().unwrap();
    c.retire_below(2).unwrap();
    let opened = c.open(&oid("o"), &old, &creds).map(|_| ());
    let resealed = c.reseal(&oid("o"), &old, &creds).map(|_| ());
    for attempt in [opened, resealed] {
        assert!(
            matches!(attempt, Err(Error::KeyVersionRetired { .. })),
            "{attempt:?}"
        );
    }
    // The rotation, the retirement, then one denied record per refused attempt.
    let recs = records(&v_log);
    assert_eq!(recs.len(), 4);
    for rec in &recs[2..] {
        assert_eq!(rec.event.kind, EventKind::Denied);
        assert_eq!(
            rec.event.outcome,
            Outcome::Failure(ErrorClass::KeyUnavailable)
        );
    }
}

/// A record's `Context` names "the policy and session whose credentials opened it"
/// (`hexvault_audit::Context`): a layer-1 open uses no session, so its record names none,
/// even when the caller's credentials carry one (here an ended one), which it used to name
/// (review round 43). A denied open names the session presented, as it names the policy
/// tried (docs/formats.md).
#[test]
fn a_layer_1_open_does_not_record_a_session_it_did_not_use() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let reader = token("reader");
    let l1 = c
        .seal(
            &oid("o"),
            b"layer one",
            Layer::Access,
            &Credentials::none().token(&reader),
        )
        .unwrap();

    // An application that keeps one `Credentials` (token and session) for every call.
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    vault.end_session(&session).unwrap(); // ended: it can open nothing any more
    let creds = Credentials::none().token(&reader).session(&session);
    assert_eq!(
        c.open(&oid("o"), &l1, &creds).unwrap().expose_secret(),
        b"layer one"
    );

    let recs = records(&log);
    let open = recs
        .iter()
        .rev()
        .find(|r| r.event.kind == EventKind::Open)
        .unwrap();
    let ctx = open.event.context.as_ref().unwrap();
    assert_eq!(ctx.policy, Some(ContextId::new("readers").unwrap()));
    assert_eq!(
        ctx.session, None,
        "the open record names session {:?} (ended before the open), which no layer-1 open uses",
        ctx.session
    );

    // Refused (a token the resolver does not know), with the same session presented.
    let stranger = token("nobody");
    let presented = Credentials::none().token(&stranger).session(&session);
    assert!(c.open(&oid("o"), &l1, &presented).is_err());
    let recs = records(&log);
    let denied = recs.last().unwrap();
    assert_eq!(denied.event.kind, EventKind::Denied);
    assert_eq!(
        denied.event.context.as_ref().unwrap().session,
        Some(ContextId::new(session.id().to_vec()).unwrap())
    );
}

/// A reseal opens a layer-1 blob with the caller's token: its `rotate` record names the
/// policy and actor that opened it (a gated open, attributed as an `open` record would be;
/// review round 43), and a layer-0 reseal's record names none.
#[test]
fn a_reseal_record_names_who_opened_a_gated_blob() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    let l1 = c.seal(&oid("o"), b"one", Layer::Access, &creds).unwrap();
    let l0 = c.seal(&oid("o"), b"zero", Layer::Rest, &creds).unwrap();
    c.rotate().unwrap();
    let rotate_context = |blob: &[u8]| {
        c.reseal(&oid("o"), blob, &creds).unwrap();
        let recs = records(&log);
        let last = recs.last().unwrap();
        assert_eq!(last.event.kind, EventKind::Rotate);
        last.event.context.clone()
    };
    let gated = rotate_context(&l1).expect("a context");
    assert_eq!(gated.policy, Some(ContextId::new("readers").unwrap()));
    assert!(gated.actor.is_some());
    assert_eq!(gated.session, None);
    assert_eq!(rotate_context(&l0), None);
}
