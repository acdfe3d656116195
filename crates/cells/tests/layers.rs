//! Layers: no open without each layer's credential; a wrong policy secret, a wrong, expired
//! or ended session fail; ending a session makes its layer-2 data unreadable.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use hexvault_cells::*;

/// Every layer and size round trips, and `sealed_payload_len` reads the plaintext's length
/// from the public header (uncompressed blobs) and refuses a blob cut short.
#[test]
fn round_trips_at_every_layer_and_size() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    for layer in [Layer::Rest, Layer::Access, Layer::Session] {
        for len in [0usize, 1, 15, 16, 17, 100, 10_000] {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let blob = c.seal(&oid("o"), &pt, layer, &creds).unwrap();
            assert_eq!(sealed_payload_len(&blob).unwrap(), len, "{layer:?}");
            assert_eq!(
                c.open(&oid("o"), &blob, &creds).unwrap().expose_secret(),
                &pt[..]
            );
            // A blob cut into its tags or header has no payload length.
            let tags = (usize::from(layer.number()) + 1) * 16;
            assert!(sealed_payload_len(&blob[..blob.len() - len - 1]).is_err());
            assert!(sealed_payload_len(&blob[..blob.len() - len - tags]).is_err());
        }
    }
}

#[test]
fn layer_1_needs_a_token_the_resolver_grants_and_the_right_policy_secret() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let blob = c
        .seal(
            &oid("o"),
            b"l1",
            Layer::Access,
            &Credentials::none().token(&reader),
        )
        .unwrap();
    assert!(matches!(
        c.open(&oid("o"), &blob, &Credentials::none()),
        Err(Error::MissingCredential {
            layer: Layer::Access,
            ..
        })
    ));
    assert!(matches!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none().token(&token("nobody"))
        ),
        Err(Error::Denied)
    ));
    // Same policy id, wrong secret: the vault master alone does not make the layer-1 key.
    assert!(matches!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none().token(&token("forged"))
        ),
        Err(Error::Authentication)
    ));
    assert!(matches!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none().token(&token("writer"))
        ),
        Err(Error::Mismatch {
            field: "policy",
            ..
        })
    ));
    // Sealing at layer 1 needs the token too.
    assert!(matches!(
        c.seal(&oid("o"), b"x", Layer::Access, &Credentials::none()),
        Err(Error::MissingCredential { .. })
    ));
    assert!(matches!(
        c.seal(
            &oid("o"),
            b"x",
            Layer::Access,
            &Credentials::none().token(&token("nobody"))
        ),
        Err(Error::Denied)
    ));
}

#[test]
fn layer_2_needs_its_own_live_session_and_layer_1() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let other = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c.seal(&oid("o"), b"l2", Layer::Session, &creds).unwrap();
    assert!(matches!(
        c.open(&oid("o"), &blob, &Credentials::none().token(&reader)),
        Err(Error::MissingCredential {
            layer: Layer::Session,
            ..
        })
    ));
    assert!(matches!(
        c.open(&oid("o"), &blob, &Credentials::none().session(&session)),
        Err(Error::MissingCredential {
            layer: Layer::Access,
            ..
        })
    ));
    assert!(matches!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none().token(&reader).session(&other)
        ),
        Err(Error::Mismatch {
            field: "session",
            ..
        })
    ));
    assert!(matches!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none()
                .token(&token("forged"))
                .session(&session)
        ),
        Err(Error::Authentication)
    ));
    assert_eq!(
        c.open(&oid("o"), &blob, &creds).unwrap().expose_secret(),
        b"l2"
    );
}

#[test]
fn ending_a_session_makes_its_layer_2_data_unreadable() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c
        .seal(&oid("o"), b"ephemeral", Layer::Session, &creds)
        .unwrap();
    assert!(session.is_live());
    vault.end_session(&session).unwrap();
    assert!(!session.is_live());
    assert!(matches!(
        c.open(&oid("o"), &blob, &creds),
        Err(Error::SessionEnded)
    ));
    assert!(matches!(
        c.seal(&oid("o"), b"x", Layer::Session, &creds),
        Err(Error::SessionEnded)
    ));
    // A new session has another random key: the old data stays unreadable.
    let fresh = vault.start_session(Duration::from_secs(60)).unwrap();
    assert!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none().token(&reader).session(&fresh)
        )
        .is_err()
    );
}

#[test]
fn an_expired_session_opens_nothing() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_millis(200)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c
        .seal(&oid("o"), b"short-lived", Layer::Session, &creds)
        .unwrap();
    assert!(c.open(&oid("o"), &blob, &creds).is_ok());
    std::thread::sleep(Duration::from_millis(250));
    assert!(matches!(
        c.open(&oid("o"), &blob, &creds),
        Err(Error::SessionEnded)
    ));
}

#[test]
fn layer_0_needs_nothing_but_the_vault() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let blob = c
        .seal(&oid("o"), b"rest", Layer::Rest, &Credentials::none())
        .unwrap();
    // A vault rebuilt from the same master opens it (keys are derived, not stored).
    let (again, _) = common::vault();
    assert_eq!(
        cell(&again, "p", "c")
            .open(&oid("o"), &blob, &Credentials::none())
            .unwrap()
            .expose_secret(),
        b"rest"
    );
}
