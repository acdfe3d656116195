//! HKDF derivation: the committed info-encoding vectors, injectivity, domain separation.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use hexvault_aead::{DOMAIN_KEY_LABEL, Key, derive_domain_key, derive_key, encode_info};

/// `tests/data/hkdf-info-vectors.json`: computed independently (Python hmac/hashlib).
#[test]
fn committed_info_encoding_vectors() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("data/hkdf-info-vectors.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for c in cases {
        let parent = Key::from_slice(&hex::decode(c["parent"].as_str().unwrap()).unwrap()).unwrap();
        let label = c["label"].as_str().unwrap();
        let parts: Vec<Vec<u8>> = c["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| hex::decode(p.as_str().unwrap()).unwrap())
            .collect();
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let info = encode_info(label, &parts).unwrap();
        assert_eq!(
            hex::encode(&info),
            c["info"].as_str().unwrap(),
            "{}",
            c["comment"]
        );
        let child = derive_key(&parent, label, &parts).unwrap();
        assert_eq!(
            hex::encode(child.expose_secret()),
            c["okm"].as_str().unwrap(),
            "{}",
            c["comment"]
        );
    }
}

#[test]
fn encoding_is_injective_on_tricky_splits() {
    let a = encode_info("l", &[b"ab", b"c"]).unwrap();
    let b = encode_info("l", &[b"a", b"bc"]).unwrap();
    let c = encode_info("l", &[b"abc"]).unwrap();
    let d = encode_info("l", &[b"abc", b""]).unwrap();
    let e = encode_info("lab", &[b"c"]).unwrap();
    let all = [a, b, c, d, e];
    for i in 0..all.len() {
        for j in 0..all.len() {
            assert_eq!(i == j, all[i] == all[j], "{i} vs {j}");
        }
    }
    assert_eq!(encode_info("ab", &[]).unwrap(), [0, 0, 0, 2, b'a', b'b']);
}

#[test]
fn domain_keys_separate_tenants_and_domains() {
    let master = Key::from_bytes([9; 32]);
    let t1 = derive_domain_key(&master, "invoices", "tenant-1").unwrap();
    let t2 = derive_domain_key(&master, "invoices", "tenant-2").unwrap();
    let d2 = derive_domain_key(&master, "payroll", "tenant-1").unwrap();
    let shifted = derive_domain_key(&master, "invoicest", "enant-1").unwrap();
    assert_ne!(t1, t2);
    assert_ne!(t1, d2);
    assert_ne!(t1, shifted);
    assert_eq!(
        t1,
        derive_domain_key(&master, "invoices", "tenant-1").unwrap()
    );
    assert_eq!(
        t1,
        derive_key(&master, DOMAIN_KEY_LABEL, &[b"invoices", b"tenant-1"]).unwrap()
    );
    let other_master = Key::from_bytes([8; 32]);
    assert_ne!(
        t1,
        derive_domain_key(&other_master, "invoices", "tenant-1").unwrap()
    );
}
