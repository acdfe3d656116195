//! Unauthorized access: every layer refuses without its own credential; the policy secret
//! (not the policy id) and the session (its own key, live) are enforced cryptographically;
//! every refusal is in the audit log.

use std::time::Duration;

use hexvault::audit::{EventKind, Outcome};
use hexvault::cells::{AccessToken, Credentials, Error, Layer};
use hexvault::{NoAccessTokens, Vault};

use crate::common::{PASSPHRASE, PHRASE, cell, object, token_for, vault};

fn impostor_for(c: &hexvault::cells::Cell) -> AccessToken {
    AccessToken::new(format!("impostor:{}/{}", c.partition_id(), c.id()).into_bytes())
}

fn denied_records(vault: &Vault) -> usize {
    vault
        .audit_records()
        .unwrap()
        .iter()
        .filter(|r| {
            r.event.kind == EventKind::Denied && matches!(r.event.outcome, Outcome::Failure(_))
        })
        .count()
}

#[test]
fn every_layer_refuses_without_its_credential_and_every_refusal_is_audited() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let token = token_for(&inbox);
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let o = object("o");
    let none = Credentials::none();
    let token_only = Credentials::none().token(&token);
    let session_only = Credentials::none().session(&session);
    let both = Credentials::none().token(&token).session(&session);

    let mut refused = 0;
    let mut refuse = |result: hexvault::cells::Result<()>| {
        assert!(
            matches!(result, Err(Error::MissingCredential { .. })),
            "{result:?}"
        );
        refused += 1;
    };
    refuse(inbox.seal(&o, b"x", Layer::Access, &none).map(drop));
    refuse(inbox.seal(&o, b"x", Layer::Session, &token_only).map(drop));
    refuse(
        inbox
            .seal(&o, b"x", Layer::Session, &session_only)
            .map(drop),
    );
    let l1 = inbox
        .seal(&o, b"layer one", Layer::Access, &token_only)
        .unwrap();
    let l2 = inbox.seal(&o, b"layer two", Layer::Session, &both).unwrap();
    refuse(inbox.open(&o, &l1, &none).map(drop));
    refuse(inbox.open(&o, &l2, &none).map(drop));
    refuse(inbox.open(&o, &l2, &token_only).map(drop));
    refuse(inbox.open(&o, &l2, &session_only).map(drop));
    assert_eq!(denied_records(&vault), refused);
    assert_eq!(
        inbox.open(&o, &l1, &token_only).unwrap().expose_secret(),
        b"layer one"
    );
    assert_eq!(
        inbox.open(&o, &l2, &both).unwrap().expose_secret(),
        b"layer two"
    );
    assert_eq!(denied_records(&vault), refused);
    vault.verify_audit().unwrap();
}

#[test]
fn a_token_the_resolver_refuses_grants_nothing() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let token = token_for(&inbox);
    let l1 = inbox
        .seal(
            &object("o"),
            b"x",
            Layer::Access,
            &Credentials::none().token(&token),
        )
        .unwrap();
    for bad in [
        &b"token:tenant-a/outbox"[..],
        b"",
        b"token:tenant-a/inbox ",
        b"admin",
    ] {
        let bad = AccessToken::new(bad.to_vec());
        let creds = Credentials::none().token(&bad);
        assert!(matches!(
            inbox.open(&object("o"), &l1, &creds),
            Err(Error::Denied)
        ));
        assert!(matches!(
            inbox.seal(&object("o"), b"x", Layer::Access, &creds),
            Err(Error::Denied)
        ));
    }
    // A vault whose resolver grants nothing serves layer 0 only.
    let closed = Vault::from_mnemonic(PHRASE, PASSPHRASE, NoAccessTokens).unwrap();
    let same_cell = cell(&closed, "tenant-a", "inbox");
    let creds = Credentials::none().token(&token);
    assert!(matches!(
        same_cell.open(&object("o"), &l1, &creds),
        Err(Error::Denied)
    ));
    assert_eq!(denied_records(&closed), 1);
    // ... and layer 0 it does serve; a layer-1 seal is refused as well.
    let l0 = same_cell
        .seal(&object("o0"), b"rest", Layer::Rest, &Credentials::none())
        .unwrap();
    assert_eq!(
        same_cell
            .open(&object("o0"), &l0, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"rest"
    );
    assert!(matches!(
        same_cell.seal(&object("o1"), b"x", Layer::Access, &creds),
        Err(Error::Denied)
    ));
}

#[test]
fn the_policy_secret_is_enforced_not_the_policy_id() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let (token, impostor) = (token_for(&inbox), impostor_for(&inbox));
    let real = Credentials::none().token(&token);
    let fake = Credentials::none().token(&impostor);
    let sealed = inbox
        .seal(&object("o"), b"x", Layer::Access, &real)
        .unwrap();
    // Same policy id, other secret: the layer-1 key differs, so nothing authenticates.
    assert!(matches!(
        inbox.open(&object("o"), &sealed, &fake),
        Err(Error::Authentication)
    ));
    let by_impostor = inbox
        .seal(&object("o"), b"y", Layer::Access, &fake)
        .unwrap();
    assert!(matches!(
        inbox.open(&object("o"), &by_impostor, &real),
        Err(Error::Authentication)
    ));
}

#[test]
fn the_session_is_enforced() {
    let vault = vault();
    let inbox = cell(&vault, "tenant-a", "inbox");
    let token = token_for(&inbox);
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let other = vault.start_session(Duration::from_secs(60)).unwrap();
    let o = object("o");
    let blob = inbox
        .seal(
            &o,
            b"x",
            Layer::Session,
            &Credentials::none().token(&token).session(&session),
        )
        .unwrap();
    // Another live session of the same vault: the header names the session.
    let err = inbox
        .open(
            &o,
            &blob,
            &Credentials::none().token(&token).session(&other),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mismatch {
                field: "session",
                ..
            }
        ),
        "{err:?}"
    );
    // Ended: its key is gone.
    vault.end_session(&session).unwrap();
    let err = inbox
        .open(
            &o,
            &blob,
            &Credentials::none().token(&token).session(&session),
        )
        .unwrap_err();
    assert!(matches!(err, Error::SessionEnded), "{err:?}");
    // Expired.
    let short = vault.start_session(Duration::from_millis(30)).unwrap();
    let creds = Credentials::none().token(&token).session(&short);
    let blob = inbox.seal(&o, b"x", Layer::Session, &creds).unwrap();
    std::thread::sleep(Duration::from_millis(80));
    assert!(matches!(
        inbox.open(&o, &blob, &creds),
        Err(Error::SessionEnded)
    ));
}
