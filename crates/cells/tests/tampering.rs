//! Tampering: every single-bit flip and every truncation of a sealed 100-byte blob, at each
//! layer, is rejected.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use hexvault_audit::AuditLog;
use hexvault_cells::*;

#[test]
fn every_bit_flip_and_truncation_is_rejected_at_every_layer() {
    let (vault, log) = vault();
    let c = cell(&vault, "tenant", "cell");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(600)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let plaintext = [0xa5u8; 100];
    for layer in [Layer::Rest, Layer::Access, Layer::Session] {
        let blob = c.seal(&oid("object"), &plaintext, layer, &creds).unwrap();
        assert_eq!(
            c.open(&oid("object"), &blob, &creds)
                .unwrap()
                .expose_secret(),
            &plaintext
        );
        for bit in 0..blob.len() * 8 {
            let mut bad = blob.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                c.open(&oid("object"), &bad, &creds).is_err(),
                "layer {layer}: flip of bit {bit} accepted"
            );
        }
        for len in 0..blob.len() {
            assert!(
                c.open(&oid("object"), &blob[..len], &creds).is_err(),
                "layer {layer}: truncation to {len} accepted"
            );
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert!(c.open(&oid("object"), &longer, &creds).is_err());
    }
    // Every refusal was recorded, and the log still verifies.
    assert!(log.verify().unwrap().failure.is_none());
}
