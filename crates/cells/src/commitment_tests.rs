//! Key commitment: a blob crafted with the GCM algebra to authenticate under two layer-1
//! keys (the right and a wrong policy secret of one policy) opens under neither other key,
//! because the header's commitment names exactly one key and is checked before decryption.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use aes_gcm::aes::Aes256;
use aes_gcm::aes::cipher::{BlockCipherEncrypt, KeyInit};
use hexvault_aead::{Backend, DetachedKey, Key, KeyVersion};
use hexvault_audit::{AuditKey, AuditLog, EventKind, LogOptions, MemoryLog};

use crate::blob::{Header, LayerParams, authenticated_len, header_len, write_header};
use crate::keys::{self, commit};
use crate::*;

/// GF(2^128) multiplication in GCM's bit order (NIST SP 800-38D, algorithm 1).
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xE1 << 120;
    let (mut z, mut v) = (0u128, y);
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

const ONE: u128 = 1 << 127;

fn gf_pow(mut a: u128, mut e: u128) -> u128 {
    let mut r = ONE;
    while e > 0 {
        if e & 1 == 1 {
            r = gf_mul(r, a);
        }
        a = gf_mul(a, a);
        e >>= 1;
    }
    r
}

fn gf_inv(a: u128) -> u128 {
    gf_pow(a, u128::MAX - 1)
}

fn aes(key: &Key, block: [u8; 16]) -> u128 {
    let cipher = Aes256::new(key.expose_secret().into());
    let mut b = block.into();
    cipher.encrypt_block(&mut b);
    u128::from_be_bytes(b.into())
}

fn blocks(bytes: &[u8]) -> Vec<u128> {
    bytes
        .chunks(16)
        .map(|c| {
            let mut b = [0u8; 16];
            b[..c.len()].copy_from_slice(c);
            u128::from_be_bytes(b)
        })
        .collect()
}

fn ghash(h: u128, aad: &[u8], ct: &[u8]) -> u128 {
    let len = (((aad.len() as u128) * 8) << 64) | ((ct.len() as u128) * 8);
    blocks(aad)
        .into_iter()
        .chain(blocks(ct))
        .chain([len])
        .fold(0, |y, x| gf_mul(y ^ x, h))
}

/// A ciphertext and tag that authenticate under both `a` and `b` for `nonce` and `aad`:
/// the first ciphertext block is solved for so the two tags coincide.
fn collide(a: &Key, b: &Key, nonce: [u8; 12], aad: &[u8], mut ct: Vec<u8>) -> (Vec<u8>, [u8; 16]) {
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(&nonce);
    j0[15] = 1;
    let (ha, hb) = (aes(a, [0; 16]), aes(b, [0; 16]));
    let (ea, eb) = (aes(a, j0), aes(b, j0));
    ct[..16].fill(0);
    let (ga, gb) = (ghash(ha, aad, &ct), ghash(hb, aad, &ct));
    // Block 0 of the ciphertext is followed by the other ciphertext blocks and the length
    // block, so it is multiplied by H^(ciphertext blocks + 1).
    let e = (blocks(&ct).len() + 1) as u128;
    let coeff = gf_pow(ha, e) ^ gf_pow(hb, e);
    let c0 = gf_mul(ea ^ ga ^ eb ^ gb, gf_inv(coeff));
    ct[..16].copy_from_slice(&c0.to_be_bytes());
    let tag = (ea ^ ghash(ha, aad, &ct)).to_be_bytes();
    assert_eq!(tag, (eb ^ ghash(hb, aad, &ct)).to_be_bytes());
    (ct, tag)
}

struct TwoSecrets;

impl TokenResolver for TwoSecrets {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        let byte = match token.expose_secret() {
            b"A" => 0xa,
            b"B" => 0xb,
            _ => return None,
        };
        Some(PolicyContext::new(
            PolicyId::new("shared").unwrap(),
            PolicySecret::from_bytes(&mut [byte; 32]),
        ))
    }
}

#[test]
fn gf_arithmetic_is_a_field() {
    let x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
    assert_eq!(gf_mul(x, ONE), x);
    assert_eq!(gf_mul(x, gf_inv(x)), ONE);
}

#[test]
fn a_blob_valid_under_two_keys_opens_under_neither_other_key() {
    let master_bytes = [0x33; 32];
    let master = VaultMasterKey::from_kms_bytes(&mut master_bytes.clone());
    let (p, c, o) = (
        PartitionId::new("tenant").unwrap(),
        CellId::new("inbox").unwrap(),
        ObjectId::new("obj").unwrap(),
    );
    let policy = PolicyId::new("shared").unwrap();
    let ck = keys::cell_key(&master, &p, &c, 1).unwrap();
    let k0 = keys::layer0_key(&ck).unwrap();
    let ka = keys::layer1_key(&ck, &PolicySecret::from_bytes(&mut [0xa; 32]), &policy).unwrap();
    let kb = keys::layer1_key(&ck, &PolicySecret::from_bytes(&mut [0xb; 32]), &policy).unwrap();

    // A layer-1 header committing to the key of secret A.
    let nonce = [7u8; 12];
    let mut layers = [LayerParams::default(); 3];
    layers[0] = LayerParams {
        commitment: commit(&k0).unwrap(),
        nonce: [1; 12],
    };
    layers[1] = LayerParams {
        commitment: commit(&ka).unwrap(),
        nonce,
    };
    let policy_bytes = Some(policy.as_str().as_bytes());
    let len = header_len(
        Layer::Access,
        p.as_str().as_bytes(),
        c.as_str().as_bytes(),
        o.as_str().as_bytes(),
        policy_bytes,
    );
    let header = Header {
        top: Layer::Access,
        flags: 0,
        master_version: 1,
        cell_version: 1,
        partition: p.as_str().as_bytes(),
        cell: c.as_str().as_bytes(),
        object: o.as_str().as_bytes(),
        policy: policy_bytes,
        session: None,
        layers,
        len,
        aad_len: authenticated_len(Layer::Access, len),
    };
    let mut blob = Vec::new();
    write_header(&mut blob, &header).unwrap();
    // Format 2: every layer authenticates the header up to the layer parameters.
    let aad = blob[..header.aad_len].to_vec();
    let (ct, tag) = collide(&ka, &kb, nonce, &aad, vec![0x5a; 48]);

    // Without the commitment, AES-GCM accepts the layer under both keys.
    for key in [&ka, &kb] {
        let gcm = DetachedKey::with_backend(
            Key::from_bytes(*key.expose_secret()),
            KeyVersion::FIRST,
            Backend::Ring,
        )
        .unwrap();
        let mut buf = ct.clone();
        gcm.open_detached(&nonce, &aad, &mut buf, &tag).unwrap();
    }

    // The header's commitment names key A only: the check that runs before decryption
    // refuses key B.
    let committed = header.layers[1].commitment;
    let layer =
        |k: &Key| keys::LayerKey::new(Key::from_bytes(*k.expose_secret()), Backend::Ring).unwrap();
    assert!(layer(&ka).commits_to(&committed));
    assert!(!layer(&kb).commits_to(&committed));

    blob.extend_from_slice(&ct);
    blob.extend_from_slice(&tag);
    let log = Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap());
    let vault = Vault::from_kms_bytes(&mut master_bytes.clone(), TwoSecrets, log.clone());
    let cell = vault.partition(p).cell(c);
    let token_b = AccessToken::new(b"B".to_vec());
    // The key of secret B is refused by the header's commitment, before any decryption.
    assert!(matches!(
        cell.open(&o, &blob, &Credentials::none().token(&token_b)),
        Err(Error::Authentication)
    ));
    // Under secret A, layer 1 passes, and its garbage plaintext fails layer 0.
    let token_a = AccessToken::new(b"A".to_vec());
    assert!(matches!(
        cell.open(&o, &blob, &Credentials::none().token(&token_a)),
        Err(Error::Authentication)
    ));
    let records = log.records().unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.event.kind == EventKind::Denied));
    assert!(log.verify().unwrap().failure.is_none());
}
