//! Compression (feature `compression`): opt-in per call, transparent on open, kept by
//! reseal and transfer, and as tamper-proof as any blob.
#![cfg(feature = "compression")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use common::*;
use hexvault_cells::*;

#[test]
fn compressed_blobs_are_shorter_open_transparently_and_resist_tampering() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    let text = b"the same line again and again\n".repeat(300);
    for layer in [Layer::Rest, Layer::Access] {
        let plain = c.seal(&oid("o"), &text, layer, &creds).unwrap();
        let small = c.seal_compressed(&oid("o"), &text, layer, &creds).unwrap();
        assert!(
            small.len() * 10 < plain.len(),
            "{} vs {}",
            small.len(),
            plain.len()
        );
        assert_eq!(
            c.open(&oid("o"), &small, &creds).unwrap().expose_secret(),
            &text[..]
        );
        for i in (0..small.len()).step_by(7) {
            let mut bad = small.clone();
            bad[i] ^= 0x10;
            assert!(
                c.open(&oid("o"), &bad, &creds).is_err(),
                "flip at {i} accepted"
            );
        }
        // Reseal keeps the compression.
        c.rotate().unwrap();
        let resealed = c.reseal(&oid("o"), &small, &creds).unwrap();
        assert!(resealed.len() < plain.len() / 10);
        assert_eq!(
            c.open(&oid("o"), &resealed, &creds)
                .unwrap()
                .expose_secret(),
            &text[..]
        );
    }
    // Incompressible data is stored raw inside the envelope: it still round-trips.
    let noise: Vec<u8> = (0..1000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let blob = c
        .seal_compressed(&oid("o"), &noise, Layer::Rest, &creds)
        .unwrap();
    assert_eq!(
        c.open(&oid("o"), &blob, &creds).unwrap().expose_secret(),
        &noise[..]
    );
}
