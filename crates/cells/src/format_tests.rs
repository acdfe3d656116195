//! The blob format's associated data, checked against an independent AES-GCM (RustCrypto's
//! `aes-gcm`, not the ring backend the vault uses): format 2 authenticates the header up to
//! the layer parameters, and blobs of format 1 (the whole header as associated data) still
//! open, so nothing sealed before ADR 0090 is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hexvault_aead::Key;
use hexvault_audit::{AuditKey, LogOptions, MemoryLog};

use crate::blob::{
    FORMAT_VERSION, FORMAT_VERSION_1, Header, LayerParams, PARAMS_LEN, header_len, write_header,
};
use crate::keys::{self, commit};
use crate::*;

const MASTER: [u8; 32] = [0x42; 32];
const SECRET: [u8; 32] = [0x11; 32];

struct Readers;

impl TokenResolver for Readers {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        (token.expose_secret() == b"reader").then(|| {
            PolicyContext::new(
                PolicyId::new("readers").unwrap(),
                PolicySecret::from_bytes(&mut SECRET.clone()),
            )
        })
    }
}

fn names() -> (PartitionId, CellId, ObjectId) {
    (
        PartitionId::new("tenant").unwrap(),
        CellId::new("inbox").unwrap(),
        ObjectId::new("letter-7").unwrap(),
    )
}

fn the_cell() -> Cell {
    let (p, c, _) = names();
    let log = Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap());
    Vault::from_kms_bytes(&mut MASTER.clone(), Readers, log)
        .partition(p)
        .cell(c)
}

/// The layer-0 and layer-1 keys of the test cell at key versions 1, derived directly.
fn layer_keys() -> (Key, Key) {
    let (p, c, _) = names();
    let master = hexvault_keys::VaultMasterKey::from_kms_bytes(&mut MASTER.clone());
    let ck = keys::cell_key(&master, &p, &c, 1).unwrap();
    let k0 = keys::layer0_key(&ck).unwrap();
    let k1 = keys::layer1_key(
        &ck,
        &PolicySecret::from_bytes(&mut SECRET.clone()),
        &PolicyId::new("readers").unwrap(),
    )
    .unwrap();
    (k0, k1)
}

fn gcm(key: &Key) -> Aes256Gcm {
    Aes256Gcm::new(key.expose_secret().into())
}

fn open_independently(key: &Key, nonce: &[u8; 12], aad: &[u8], ct_and_tag: &[u8]) -> Vec<u8> {
    gcm(key)
        .decrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: ct_and_tag,
                aad,
            },
        )
        .expect("the independent AES-GCM refused the layer")
}

#[test]
fn format_2_layers_authenticate_the_header_up_to_the_layer_parameters() {
    let cell = the_cell();
    let (_, _, object) = names();
    let (k0, k1) = layer_keys();
    let reader = AccessToken::new(b"reader".to_vec());
    let creds = Credentials::none().token(&reader);
    let plaintext = b"a letter sealed under format 2".to_vec();
    for layer in [Layer::Rest, Layer::Access] {
        let blob = cell.seal(&object, &plaintext, layer, &creds).unwrap();
        assert_eq!(blob[4], FORMAT_VERSION);
        let header = Header::parse(&blob).unwrap();
        let params = usize::from(layer.number()) + 1;
        assert_eq!(header.aad_len, header.len - params * PARAMS_LEN);
        let aad = &blob[..header.aad_len];
        // The associated data ends where the first key commitment begins.
        assert_eq!(
            &blob[aad.len()..aad.len() + 32],
            &header.layers[0].commitment
        );
        let body = &blob[header.len..];
        let inner = if layer == Layer::Access {
            open_independently(&k1, &header.layers[1].nonce, aad, body)
        } else {
            body.to_vec()
        };
        let opened = open_independently(&k0, &header.layers[0].nonce, aad, &inner);
        assert_eq!(opened, plaintext);
        // The whole header as associated data (format 1's rule) does not authenticate it.
        assert!(
            gcm(&k0)
                .decrypt(
                    &Nonce::from(header.layers[0].nonce),
                    Payload {
                        msg: &inner,
                        aad: &blob[..header.len]
                    },
                )
                .is_err()
        );
    }
}

/// A format-1 blob as the first release wrote it: the whole header (version byte 1) as
/// associated data of every layer, sealed here with the independent AES-GCM.
fn format_1_blob(top: Layer, plaintext: &[u8]) -> Vec<u8> {
    let (p, c, o) = names();
    let (k0, k1) = layer_keys();
    let policy = (top == Layer::Access).then_some(&b"readers"[..]);
    let mut layers = [LayerParams::default(); 3];
    layers[0] = LayerParams {
        commitment: commit(&k0).unwrap(),
        nonce: [3; 12],
    };
    if top == Layer::Access {
        layers[1] = LayerParams {
            commitment: commit(&k1).unwrap(),
            nonce: [4; 12],
        };
    }
    let len = header_len(
        top,
        p.as_str().as_bytes(),
        c.as_str().as_bytes(),
        o.as_str().as_bytes(),
        policy,
    );
    let header = Header {
        top,
        flags: 0,
        master_version: 1,
        cell_version: 1,
        partition: p.as_str().as_bytes(),
        cell: c.as_str().as_bytes(),
        object: o.as_str().as_bytes(),
        policy,
        session: None,
        layers,
        len,
        aad_len: len,
    };
    let mut blob = Vec::new();
    write_header(&mut blob, &header).unwrap();
    blob[4] = FORMAT_VERSION_1;
    let aad = blob.clone();
    let mut body = gcm(&k0)
        .encrypt(
            &Nonce::from([3; 12]),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .unwrap();
    if top == Layer::Access {
        body = gcm(&k1)
            .encrypt(
                &Nonce::from([4; 12]),
                Payload {
                    msg: &body,
                    aad: &aad,
                },
            )
            .unwrap();
    }
    blob.extend_from_slice(&body);
    blob
}

#[test]
fn format_1_blobs_still_open_and_neither_format_passes_for_the_other() {
    let cell = the_cell();
    let (_, _, object) = names();
    let reader = AccessToken::new(b"reader".to_vec());
    let creds = Credentials::none().token(&reader);
    for layer in [Layer::Rest, Layer::Access] {
        let old = format_1_blob(layer, b"sealed by the first release");
        let opened = cell.open(&object, &old, &creds).unwrap();
        assert_eq!(opened.expose_secret(), b"sealed by the first release");
        // Relabelled as format 2, its tags are checked over other associated data: refused.
        let mut relabelled = old.clone();
        relabelled[4] = FORMAT_VERSION;
        assert!(matches!(
            cell.open(&object, &relabelled, &creds),
            Err(Error::Authentication)
        ));
        // A format-2 blob relabelled as format 1: refused too.
        let mut new = cell.seal(&object, b"format 2", layer, &creds).unwrap();
        new[4] = FORMAT_VERSION_1;
        assert!(matches!(
            cell.open(&object, &new, &creds),
            Err(Error::Authentication)
        ));
        // Every bit of a format-1 blob still matters.
        for bit in 0..old.len() * 8 {
            let mut bad = old.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                cell.open(&object, &bad, &creds).is_err(),
                "flip of bit {bit} accepted"
            );
        }
    }
}

#[test]
fn a_format_1_blob_traversed_or_resealed_comes_out_in_format_2() {
    let (p, _, object) = names();
    let log = Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap());
    let vault = Vault::from_kms_bytes(&mut MASTER.clone(), Readers, log);
    let from = vault
        .partition(p.clone())
        .cell(CellId::new("inbox").unwrap());
    let to = vault.partition(p).cell(CellId::new("archive").unwrap());
    let route = RouteId::new("inbox-to-archive").unwrap();
    vault.declare_route(route.clone(), &from, &to).unwrap();
    let none = Credentials::none();
    let old = format_1_blob(Layer::Rest, b"moved once");
    let moved = vault
        .transfer(&route, &object, &old, &none, Layer::Rest, &none)
        .unwrap();
    assert_eq!(moved[4], FORMAT_VERSION);
    assert_eq!(
        to.open(&object, &moved, &none).unwrap().expose_secret(),
        b"moved once"
    );
}
