//! The cell key schedule and blob layout, pinned by values computed independently with
//! Python's `hashlib` and `hmac` (HKDF-SHA256 of RFC 5869 written out by hand; see
//! docs/formats.md, "Cell blob"). The schedule must never change: blobs sealed today must
//! open forever.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use common::*;
use hexvault_cells::*;

/// `HMAC-SHA256(layer0, "hexvault/v2/cells/key-commitment")` for master `42`×32, partition
/// `tenant`, cell `inbox`, cell key version 1.
const LAYER0_COMMITMENT: &str = "cf87c885ef15d59d52e7213f9c2778dbcf9b73288539a930992bd524376ed4f9";
/// The same for layer 1 with policy `readers` and policy secret `11`×32.
const LAYER1_COMMITMENT: &str = "d789d0c52dc93aa1c0f5462506e6fb4ef973ae027a87e0b636098a5093b8e588";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn layer_0_blob_layout_and_key_commitment_match_the_independent_computation() {
    let (vault, _log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let none = Credentials::none();
    // Twice: the second seal and open go through the handle's memo (ADR 0078's straight
    // path), which must write and read the same bytes.
    for _ in 0..2 {
        let blob = c.seal(&oid("o"), b"golden", Layer::Rest, &none).unwrap();
        let mut prefix = b"HXVC\x02\x00\x00".to_vec();
        prefix.extend_from_slice(&1u32.to_be_bytes());
        prefix.extend_from_slice(&1u32.to_be_bytes());
        prefix.extend_from_slice(b"\x06tenant\x05inbox\x01o");
        assert_eq!(&blob[..30], &prefix[..]);
        assert_eq!(hex(&blob[30..62]), LAYER0_COMMITMENT);
        // Header 74 bytes (30 + commitment + nonce), then 6 bytes of ciphertext and a tag.
        assert_eq!(blob.len(), 74 + 6 + 16);
        assert_eq!(
            c.open(&oid("o"), &blob, &none).unwrap().expose_secret(),
            b"golden"
        );
    }
}

#[test]
fn layer_1_blob_layout_and_key_commitments_match_the_independent_computation() {
    let (vault, _log) = vault();
    let c = cell(&vault, "tenant", "inbox");
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    let blob = c.seal(&oid("o"), b"golden", Layer::Access, &creds).unwrap();
    let mut prefix = b"HXVC\x02\x01\x00".to_vec();
    prefix.extend_from_slice(&1u32.to_be_bytes());
    prefix.extend_from_slice(&1u32.to_be_bytes());
    prefix.extend_from_slice(b"\x06tenant\x05inbox\x01o\x07readers");
    assert_eq!(&blob[..38], &prefix[..]);
    assert_eq!(hex(&blob[38..70]), LAYER0_COMMITMENT);
    assert_eq!(hex(&blob[82..114]), LAYER1_COMMITMENT);
    // Header 126 bytes, then 6 bytes of ciphertext and two 16-byte tags.
    assert_eq!(blob.len(), 126 + 6 + 2 * 16);
    assert_eq!(
        c.open(&oid("o"), &blob, &creds).unwrap().expose_secret(),
        b"golden"
    );
}
