//! Isolation: a blob of cell A never opens in cell B, in another partition, under another
//! object id or in another vault; equal plaintexts give unrelated ciphertexts.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use common::*;
use hexvault_cells::*;

fn layers() -> [Layer; 3] {
    [Layer::Rest, Layer::Access, Layer::Session]
}

#[test]
fn a_blob_opens_only_in_its_own_cell_partition_object_and_vault() {
    let (vault, _log) = vault();
    let (other_vault, _) = {
        let log = std::sync::Arc::new(memory_log());
        (
            Vault::from_kms_bytes(&mut [0x43; 32], Resolver, log.clone()),
            log,
        )
    };
    let reader = token("reader");
    let session = vault
        .start_session(std::time::Duration::from_secs(60))
        .unwrap();
    let a = cell(&vault, "tenant-1", "a");
    for layer in layers() {
        let creds = Credentials::none().token(&reader).session(&session);
        let blob = a.seal(&oid("o1"), b"isolated", layer, &creds).unwrap();
        assert_eq!(
            a.open(&oid("o1"), &blob, &creds).unwrap().expose_secret(),
            b"isolated"
        );
        let field = |r: Result<Plaintext>| match r {
            Err(Error::Mismatch { field, .. }) => field,
            other => panic!("expected a named mismatch, got {other:?}"),
        };
        assert_eq!(
            field(cell(&vault, "tenant-1", "b").open(&oid("o1"), &blob, &creds)),
            "cell"
        );
        assert_eq!(
            field(cell(&vault, "tenant-2", "a").open(&oid("o1"), &blob, &creds)),
            "partition"
        );
        assert_eq!(field(a.open(&oid("o2"), &blob, &creds)), "object");
        // Same ids, another vault master: the keys differ, so layer keys fail their
        // commitment and nothing decrypts.
        let foreign = cell(&other_vault, "tenant-1", "a");
        assert!(matches!(
            foreign.open(&oid("o1"), &blob, &creds),
            Err(Error::Authentication)
        ));
    }
}

/// Rewriting the header to name another cell (same length) is caught by authentication:
/// every name in the header is associated data of every layer (ADR 0090).
#[test]
fn a_header_rewritten_to_another_cell_fails_authentication() {
    let (vault, _log) = vault();
    let reader = token("reader");
    for layer in [Layer::Rest, Layer::Access] {
        let creds = Credentials::none().token(&reader);
        let blob = cell(&vault, "p", "cell-a")
            .seal(&oid("o"), b"data", layer, &creds)
            .unwrap();
        let mut moved = blob.clone();
        let at = moved.windows(6).position(|w| w == b"cell-a").unwrap();
        moved[at + 5] = b'b';
        let err = cell(&vault, "p", "cell-b")
            .open(&oid("o"), &moved, &creds)
            .unwrap_err();
        assert!(matches!(err, Error::Authentication), "{err:?}");
        // Rewriting the object id is caught the same way.
        // The object id follows the cell id: one length byte, then `o`.
        let mut renamed = blob.clone();
        let at = renamed.windows(6).position(|w| w == b"cell-a").unwrap() + 6;
        assert_eq!(&renamed[at..at + 2], b"\x01o");
        renamed[at + 1] = b'x';
        let err = cell(&vault, "p", "cell-a")
            .open(&oid("x"), &renamed, &creds)
            .unwrap_err();
        assert!(matches!(err, Error::Authentication), "{err:?}");
    }
}

#[test]
fn equal_plaintexts_give_unrelated_ciphertexts() {
    let (vault, _log) = vault();
    let plaintext = [0u8; 256];
    let a = cell(&vault, "p", "a");
    let b = cell(&vault, "p", "b");
    let none = Credentials::none();
    let blobs = [
        a.seal(&oid("o"), &plaintext, Layer::Rest, &none).unwrap(),
        a.seal(&oid("o"), &plaintext, Layer::Rest, &none).unwrap(),
        b.seal(&oid("o"), &plaintext, Layer::Rest, &none).unwrap(),
    ];
    let body = |blob: &[u8]| blob[blob.len() - 256 - 16..].to_vec();
    for i in 0..blobs.len() {
        for j in i + 1..blobs.len() {
            let (x, y) = (body(&blobs[i]), body(&blobs[j]));
            let equal = x.iter().zip(&y).filter(|(p, q)| p == q).count();
            // Independent random bytes agree in about 1/256 of positions.
            assert!(equal < 12, "blobs {i} and {j} share {equal} of 272 bytes");
        }
    }
}
