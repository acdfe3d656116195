//! Secrets: `Debug` of every public type prints no key, token, policy secret or plaintext.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use hexvault_cells::*;

#[test]
fn debug_output_holds_no_secret() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c
        .seal(&oid("o"), b"TOP-SECRET-PLAINTEXT", Layer::Session, &creds)
        .unwrap();
    let plaintext = c.open(&oid("o"), &blob, &creds).unwrap();
    let policy = Resolver
        .resolve(
            &reader,
            &PartitionId::new("p").unwrap(),
            &CellId::new("c").unwrap(),
        )
        .unwrap();
    let secret = PolicySecret::from_bytes(&mut [0x11; 32]);
    let master = VaultMasterKey::from_kms_bytes(&mut [0x42; 32]);
    let outputs = [
        format!("{vault:?}"),
        format!("{c:?}"),
        format!("{:?}", vault.partition(PartitionId::new("p").unwrap())),
        format!("{session:?}"),
        format!("{reader:?}"),
        format!("{creds:?}"),
        format!("{policy:?}"),
        format!("{secret:?}"),
        format!("{plaintext:?}"),
        format!("{master:?}"),
        format!("{:?}", VaultOptions::default()),
        format!(
            "{:?}",
            c.open(
                &oid("o"),
                &blob,
                &Credentials::none()
                    .token(&token("forged"))
                    .session(&session)
            )
            .unwrap_err()
        ),
    ];
    for out in &outputs {
        for needle in [
            "TOP-SECRET",
            "reader\"",
            "[17, 17",
            "[66, 66",
            "0x11",
            "1111",
            "4242",
            "114, 101, 97",
        ] {
            assert!(!out.contains(needle), "{out} contains {needle}");
        }
    }
    assert_eq!(format!("{plaintext:?}"), "Plaintext { len: 20, .. }");
    assert_eq!(format!("{secret:?}"), "PolicySecret { .. }");
    assert_eq!(format!("{reader:?}"), "AccessToken { .. }");
    // Two different policy secrets compare unequal, equal ones equal (constant time).
    assert_ne!(secret, PolicySecret::from_bytes(&mut [0x12; 32]));
    assert_eq!(secret, PolicySecret::from_bytes(&mut [0x11; 32]));
}
