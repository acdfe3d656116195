//! Blast radius: an attacker holding one cell's full credentials (its access token and a
//! live session, used through that cell's handle) opens no other cell's blob, in its own
//! partition or another, even with the blob's header rewritten to name the attacker's cell,
//! and cannot pull another cell's data along a declared route.

use std::time::Duration;

use hexvault::audit::{ErrorClass, EventKind, Outcome};
use hexvault::cells::{Credentials, Error, Layer};
use hexvault::edges::{Connect, Error as EdgeError};

use crate::common::{cell, object, token_for, vault};

const LAYERS: [Layer; 3] = [Layer::Rest, Layer::Access, Layer::Session];

fn rename(blob: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = blob.windows(from.len()).position(|w| w == from).unwrap();
    let mut out = blob.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn one_cells_full_credentials_open_no_other_cells_blob() {
    let vault = vault();
    let mine = cell(&vault, "tenant-a", "inbox");
    let my_token = token_for(&mine);
    let my_session = vault.start_session(Duration::from_secs(60)).unwrap();
    let mine_creds = Credentials::none().token(&my_token).session(&my_session);
    // Same length as tenant-a/inbox, so the header can be rewritten in place.
    for (partition, name) in [
        ("tenant-a", "otbox"),
        ("tenant-b", "inbox"),
        ("tenant-c", "inbox"),
    ] {
        let theirs = cell(&vault, partition, name);
        let their_token = token_for(&theirs);
        let their_session = vault.start_session(Duration::from_secs(60)).unwrap();
        let their_creds = Credentials::none()
            .token(&their_token)
            .session(&their_session);
        for layer in LAYERS {
            let o = object("record");
            let blob = theirs
                .seal(&o, b"their secret", layer, &their_creds)
                .unwrap();
            // Through my cell, as it is: the header names their cell.
            assert!(matches!(
                mine.open(&o, &blob, &mine_creds),
                Err(Error::Mismatch { .. })
            ));
            // Header rewritten to name my cell (and my session): my keys do not
            // authenticate their data.
            let mut forged = rename(
                &rename(&blob, partition.as_bytes(), b"tenant-a"),
                name.as_bytes(),
                b"inbox",
            );
            if layer == Layer::Session {
                forged = rename(&forged, their_session.id(), my_session.id());
            }
            let err = mine.open(&o, &forged, &mine_creds).unwrap_err();
            assert!(
                matches!(err, Error::Authentication),
                "{partition}/{name} at layer {layer}: {err:?}"
            );
            if layer != Layer::Rest {
                // Through their cell's handle with my credentials: my token is not theirs.
                assert!(matches!(
                    theirs.open(&o, &blob, &mine_creds),
                    Err(Error::Denied)
                ));
            }
            assert_eq!(
                theirs
                    .open(&o, &blob, &their_creds)
                    .unwrap()
                    .expose_secret(),
                b"their secret"
            );
        }
    }
}

#[test]
fn ids_whose_concatenations_collide_are_separate_cells() {
    let vault = vault();
    // Same "partition/cell" string, so the suite's resolver even hands both the same token
    // and policy secret: the cell keys alone keep them apart (injective HKDF info encoding).
    let one = cell(&vault, "a/b", "c");
    let two = cell(&vault, "a", "b/c");
    let token = token_for(&one);
    assert_eq!(token.expose_secret(), token_for(&two).expose_secret());
    let creds = Credentials::none().token(&token);
    // The keys themselves differ (what a key derivation that is not injective would break;
    // the refusals below would hold even then, since the names are associated data): the
    // layer-0 key commitment, `HMAC(layer key, label)`, is the same in every blob of a cell
    // and differs between the two. Both headers put it at byte 23 (the names take as many
    // bytes): magic, version, layer, flags, two versions (15), then the three ids.
    let commitment = |cell: &hexvault::cells::Cell| {
        let blob = cell.seal(&object("o"), b"x", Layer::Rest, &creds).unwrap();
        blob[23..55].to_vec()
    };
    assert_eq!(commitment(&one), commitment(&one));
    assert_ne!(commitment(&one), commitment(&two));
    for layer in [Layer::Rest, Layer::Access] {
        let blob = one.seal(&object("o"), b"x", layer, &creds).unwrap();
        assert!(matches!(
            two.open(&object("o"), &blob, &creds),
            Err(Error::Mismatch { .. })
        ));
        // The header rewritten from (a/b, c) to (a, b/c): same bytes but for the lengths.
        let forged = rename(&blob, b"\x03a/b\x01c", b"\x01a\x03b/c");
        let err = two.open(&object("o"), &forged, &creds).unwrap_err();
        assert!(
            matches!(err, Error::Authentication),
            "layer {layer}: {err:?}"
        );
    }
}

#[test]
fn a_declared_edge_does_not_let_one_cell_pull_another_cells_gated_data() {
    let vault = vault();
    let mine = cell(&vault, "tenant-a", "inbox");
    let theirs = cell(&vault, "tenant-b", "inbox");
    let edge = vault.connect(&theirs, &mine).unwrap();
    let (my_token, their_token) = (token_for(&mine), token_for(&theirs));
    let blob = theirs
        .seal(
            &object("o"),
            b"their secret",
            Layer::Access,
            &Credentials::none().token(&their_token),
        )
        .unwrap();
    let mine_creds = Credentials::none().token(&my_token);
    let before = vault.audit_records().unwrap().len();
    let err = edge
        .traverse(&object("o"), &blob, &mine_creds, &mine_creds)
        .unwrap_err();
    assert!(matches!(err, EdgeError::Cells(Error::Denied)), "{err:?}");
    // The attempt is on record: one denied record for the traversal.
    let records = vault.audit_records().unwrap();
    let after: Vec<_> = records[before..]
        .iter()
        .map(|r| (r.event.kind, r.event.outcome))
        .collect();
    assert_eq!(
        after,
        [(
            EventKind::Denied,
            Outcome::Failure(ErrorClass::PolicyDenied)
        )]
    );
}
