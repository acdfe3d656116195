//! VaultProtocol: postcard round trip of every message, version byte, trailing bytes,
//! JSON redaction of DerivedKey, redacted keys never deserializing, and hostile frames.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::PHRASE;
use hexvault_aead::{EncryptedData, Plaintext};
use hexvault_service::{
    CacheConfig, DerivationPath, DerivedKey, Error, KeyType, PATHS, PROTOCOL_VERSION, REDACTED,
    Request, Response, VaultService, VaultServiceHandle,
};
use proptest::prelude::*;
use zeroize::Zeroizing;

fn unlocked() -> (VaultService, VaultServiceHandle) {
    let (s, v) = VaultService::spawn(CacheConfig::default()).unwrap();
    v.unlock(PHRASE, "").unwrap();
    (s, v)
}

fn sample_data(v: &VaultServiceHandle) -> EncryptedData {
    v.encrypt(b"payload", b"aad").unwrap()
}

fn sample_key(v: &VaultServiceHandle) -> DerivedKey {
    v.derive(KeyType::Ed25519, &PATHS::device(1).unwrap())
        .unwrap()
}

fn all_requests(v: &VaultServiceHandle) -> Vec<Request> {
    vec![
        Request::Unlock {
            phrase: Zeroizing::new(PHRASE.into()),
            passphrase: Zeroizing::new("pässphrase".into()),
        },
        Request::UnlockNew {
            words: 24,
            passphrase: Zeroizing::new(String::new()),
        },
        Request::Lock,
        Request::Status,
        Request::Derive {
            key_type: KeyType::Aes256Gcm,
            path: "m/44'/0'/2147483647'/7".parse().unwrap(),
        },
        Request::Derive {
            key_type: KeyType::Ed25519,
            path: DerivationPath::MASTER,
        },
        Request::Encrypt {
            key_version: 2,
            plaintext: Zeroizing::new(vec![0xAB; 300]),
            aad: b"ctx".to_vec(),
        },
        Request::Decrypt {
            data: sample_data(v),
            aad: vec![],
        },
        Request::Rotate {
            data: sample_data(v),
            aad: b"ctx".to_vec(),
            to_version: 3,
        },
        Request::Shutdown,
    ]
}

fn all_responses(v: &VaultServiceHandle) -> Vec<Response> {
    vec![
        Response::Unlocked,
        Response::UnlockedNew {
            phrase: Zeroizing::new(PHRASE.into()),
        },
        Response::Locked,
        Response::Status(v.status().unwrap()),
        Response::Derived(sample_key(v)),
        Response::Derived(
            v.derive(KeyType::Aes256Gcm, &PATHS::device(1).unwrap())
                .unwrap(),
        ),
        Response::Encrypted(sample_data(v)),
        Response::Decrypted {
            plaintext: Plaintext::new(b"plain".to_vec()),
        },
        Response::Rotated(sample_data(v)),
        Response::Stopping,
        Response::Error(Error::Locked),
        Response::Error(Error::UnsupportedKeyVersion { version: 9, max: 2 }),
        Response::Error(Error::Derivation { reason: "r".into() }),
        Response::Error(Error::ReservedPath {
            path: "m/74'/2'/0'/0'".into(),
        }),
    ]
}

/// Round trip through bytes: decoding then re-encoding gives the same frame.
#[test]
fn every_request_round_trips() {
    let (_s, v) = unlocked();
    let requests = all_requests(&v);
    assert_eq!(requests.len(), 10);
    let mut names = std::collections::HashSet::new();
    for r in requests {
        names.insert(r.name());
        let frame = r.to_bytes().unwrap();
        assert_eq!(frame[0], PROTOCOL_VERSION);
        let back = Request::from_bytes(&frame).unwrap();
        assert_eq!(back.name(), r.name());
        assert_eq!(back.to_bytes().unwrap(), frame, "{r:?}");
    }
    assert_eq!(names.len(), 9, "every request kind covered");
}

#[test]
fn every_response_round_trips() {
    let (_s, v) = unlocked();
    let mut names = std::collections::HashSet::new();
    for r in all_responses(&v) {
        names.insert(r.name());
        let frame = r.to_bytes().unwrap();
        let back = Response::from_bytes(&frame).unwrap();
        assert_eq!(back.to_bytes().unwrap(), frame, "{r:?}");
        match (&r, &back) {
            (Response::Derived(a), Response::Derived(b)) => assert_eq!(a, b),
            (Response::Encrypted(a), Response::Encrypted(b)) => assert_eq!(a, b),
            (Response::Error(a), Response::Error(b)) => assert_eq!(a, b),
            (Response::Status(a), Response::Status(b)) => assert_eq!(a, b),
            _ => {}
        }
    }
    assert_eq!(names.len(), 10, "every response kind covered");
}

#[test]
fn documented_frame_bytes() {
    // Byte-exact examples from docs/formats.md.
    assert_eq!(&Request::Lock.to_bytes().unwrap()[..], &[0x01, 0x02]);
    assert_eq!(&Request::Status.to_bytes().unwrap()[..], &[0x01, 0x03]);
    let derive = Request::Derive {
        key_type: KeyType::Ed25519,
        path: "m/44'/1".parse().unwrap(),
    };
    assert_eq!(
        &derive.to_bytes().unwrap()[..],
        &[0x01, 0x04, 0x00, 0x02, 0xAC, 0x80, 0x80, 0x80, 0x08, 0x01]
    );
    assert_eq!(
        &Response::Error(Error::Locked).to_bytes().unwrap()[..],
        &[0x01, 0x09, 0x00]
    );
}

#[test]
fn other_versions_empty_frames_and_trailing_bytes_are_refused() {
    let mut frame = Request::Status.to_bytes().unwrap();
    for version in [0u8, 2, 0xFF] {
        frame[0] = version;
        assert_eq!(
            Request::from_bytes(&frame).unwrap_err(),
            Error::UnsupportedProtocolVersion {
                version,
                supported: PROTOCOL_VERSION
            }
        );
    }
    assert!(matches!(
        Request::from_bytes(&[]),
        Err(Error::Protocol { .. })
    ));
    assert!(matches!(
        Request::from_bytes(&[1]),
        Err(Error::Protocol { .. })
    ));
    let mut long = Request::Status.to_bytes().unwrap().to_vec();
    long.push(0);
    assert!(matches!(
        Request::from_bytes(&long),
        Err(Error::Protocol { .. })
    ));
    assert!(matches!(
        Response::from_bytes(&long),
        Err(Error::Protocol { .. })
    ));
    // Unknown request tag.
    assert!(matches!(
        Request::from_bytes(&[1, 42]),
        Err(Error::Protocol { .. })
    ));
}

#[test]
fn the_service_answers_bad_frames_with_errors_and_keeps_serving() {
    let (_s, v) = unlocked();
    for frame in [vec![], vec![9, 3], vec![1, 200], vec![1, 3, 0]] {
        let reply = v.call_frame(Zeroizing::new(frame.clone())).unwrap();
        match Response::from_bytes(&reply).unwrap() {
            Response::Error(Error::UnsupportedProtocolVersion { version: 9, .. }) => {}
            Response::Error(Error::Protocol { .. }) => {}
            other => panic!("{frame:?} -> {other:?}"),
        }
    }
    assert!(v.status().is_ok());
    // The raw frame interface is the same protocol the typed methods speak.
    let reply = v.call(&Request::Derive {
        key_type: KeyType::Ed25519,
        path: PATHS::device(1).unwrap(),
    });
    match reply.unwrap() {
        Response::Derived(k) => assert_eq!(k, sample_key(&v)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn json_redacts_the_private_key() {
    let (_s, v) = unlocked();
    for t in [KeyType::Ed25519, KeyType::Aes256Gcm] {
        let k = v.derive(t, &PATHS::device(1).unwrap()).unwrap();
        let json = serde_json::to_string(&k).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["private_key"], REDACTED);
        assert_eq!(value["path"], "m/74'/2'/3'/1'");
        assert_eq!(value["key_type"], t.name());
        let hex_key: String = k
            .expose_secret()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!json.contains(&hex_key), "{json}");
        // The same value through the protocol response stays redacted in JSON.
        let resp = serde_json::to_string(&Response::Derived(k)).unwrap();
        assert!(resp.contains(REDACTED));
    }
}

#[test]
fn a_redacted_key_does_not_deserialize() {
    let (_s, v) = unlocked();
    let k = sample_key(&v);
    let json = serde_json::to_string(&k).unwrap();
    let e = serde_json::from_str::<DerivedKey>(&json).unwrap_err();
    assert!(e.to_string().contains("redacted"), "{e}");
    // Not even with a plausible key in place of the marker.
    let forged = json.replace(
        &format!("\"{REDACTED}\""),
        &format!("\"{}\"", "11".repeat(32)),
    );
    assert!(serde_json::from_str::<DerivedKey>(&forged).is_err());
    let forged = json.replace(&format!("\"{REDACTED}\""), &format!("{:?}", vec![1u8; 32]));
    assert!(serde_json::from_str::<DerivedKey>(&forged).is_err());
    // In binary form, the bytes of "[REDACTED]" are not a 32-byte key.
    let frame = Response::Derived(k).to_bytes().unwrap();
    let tail = frame.len() - 33;
    assert_eq!(frame[tail], 32, "private key length prefix");
    let mut forged = frame[..tail].to_vec();
    forged.push(REDACTED.len() as u8);
    forged.extend_from_slice(REDACTED.as_bytes());
    assert!(matches!(
        Response::from_bytes(&forged),
        Err(Error::Protocol { .. })
    ));
}

#[test]
fn derived_key_debug_shows_no_secret_and_equality_is_by_key() {
    let (_s, v) = unlocked();
    let a = sample_key(&v);
    let b = v
        .derive(KeyType::Ed25519, &PATHS::device(2).unwrap())
        .unwrap();
    let dbg = format!("{a:?}");
    let hex_key: String = a
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!dbg.contains(&hex_key));
    assert!(dbg.contains("REDACTED") && dbg.contains("m/74'/2'/3'/1'"));
    assert_ne!(a, b);
    assert_eq!(a, sample_key(&v));
    let req = format!(
        "{:?}",
        Request::Unlock {
            phrase: Zeroizing::new(PHRASE.into()),
            passphrase: Zeroizing::new("hunter2".into())
        }
    );
    assert!(
        !req.contains("abandon") && !req.contains("hunter2"),
        "{req}"
    );
    let resp = format!(
        "{:?}",
        Response::UnlockedNew {
            phrase: Zeroizing::new(PHRASE.into())
        }
    );
    assert!(!resp.contains("abandon"), "{resp}");
    let resp = format!(
        "{:?}",
        Response::Decrypted {
            plaintext: Plaintext::new(b"topsecret".to_vec())
        }
    );
    assert!(
        !resp.contains("topsecret") && !resp.contains("116"),
        "{resp}"
    );
}

#[test]
fn derived_key_postcard_round_trip_and_inconsistent_public_keys_refused() {
    let (_s, v) = unlocked();
    let k = sample_key(&v);
    let bytes = postcard::to_stdvec(&k).unwrap();
    let back: DerivedKey = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, k);
    // An AES key claiming a public key is refused.
    let aes = v
        .derive(KeyType::Aes256Gcm, &PATHS::device(1).unwrap())
        .unwrap();
    let mut bytes = postcard::to_stdvec(&aes).unwrap();
    let none_at = bytes.len() - 34; // ... None(0x00) || len(32) || key
    assert_eq!(bytes[none_at], 0);
    bytes.splice(none_at..=none_at, [1, 1, 7]);
    assert!(postcard::from_bytes::<DerivedKey>(&bytes).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_frames_never_panic(frame in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Request::from_bytes(&frame);
        let _ = Response::from_bytes(&frame);
        let mut f = frame.clone();
        if let Some(first) = f.first_mut() { *first = PROTOCOL_VERSION; }
        let _ = Request::from_bytes(&f);
        let _ = Response::from_bytes(&f);
    }

    #[test]
    fn encrypt_and_derive_requests_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        version in any::<u32>(),
        steps in proptest::collection::vec(any::<u32>(), 0..8),
    ) {
        let r = Request::Encrypt { key_version: version, plaintext: Zeroizing::new(plaintext.clone()), aad: aad.clone() };
        match Request::from_bytes(&r.to_bytes().unwrap()).unwrap() {
            Request::Encrypt { key_version, plaintext: p, aad: a } => {
                prop_assert_eq!(key_version, version);
                prop_assert_eq!(p.as_slice(), &plaintext[..]);
                prop_assert_eq!(a, aad);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        let path = DerivationPath::from_children(
            steps.into_iter().map(hexvault_derivation::ChildNumber::from_bits).collect(),
        ).unwrap();
        let r = Request::Derive { key_type: KeyType::Aes256Gcm, path: path.clone() };
        match Request::from_bytes(&r.to_bytes().unwrap()).unwrap() {
            Request::Derive { key_type, path: p } => {
                prop_assert_eq!(key_type, KeyType::Aes256Gcm);
                prop_assert_eq!(p, path);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}

#[test]
fn error_variant_indices_match_docs_formats() {
    let s = || String::from("r");
    let table = [
        (Error::Locked, 0u8),
        (Error::AlreadyUnlocked, 1),
        (Error::Stopped, 2),
        (Error::InvalidMnemonic { reason: s() }, 3),
        (Error::Derivation { reason: s() }, 4),
        (Error::ReservedPath { path: s() }, 5),
        (Error::LegacyKeyVersion, 6),
        (Error::UnsupportedKeyVersion { version: 1, max: 2 }, 7),
        (Error::InvalidRotation { from: 3, to: 2 }, 8),
        (Error::Authentication, 9),
        (Error::Encryption { reason: s() }, 10),
        (
            Error::UnsupportedProtocolVersion {
                version: 2,
                supported: 1,
            },
            11,
        ),
        (Error::Protocol { reason: s() }, 12),
        (Error::Internal, 13),
        (Error::Spawn { reason: s() }, 14),
        (Error::KeyExhausted { version: 7 }, 15),
        (Error::Random, 16),
    ];
    for (e, index) in table {
        let frame = Response::Error(e.clone()).to_bytes().unwrap();
        assert_eq!(&frame[..3], &[PROTOCOL_VERSION, 9, index], "{e:?}");
        match Response::from_bytes(&frame).unwrap() {
            Response::Error(back) => assert_eq!(back, e),
            other => panic!("{other:?}"),
        }
    }
    // Status and DerivedKey layouts.
    let (_s, v) = unlocked();
    let st = Response::Status(v.status().unwrap()).to_bytes().unwrap();
    assert_eq!(
        &st[..4],
        &[PROTOCOL_VERSION, 3, 1, 0],
        "unlocked, cache.len 0"
    );
    let k = v
        .derive(KeyType::Aes256Gcm, &"m/1'".parse().unwrap())
        .unwrap();
    let frame = Response::Derived(k).to_bytes().unwrap();
    assert_eq!(&frame[..9], &[1, 4, 1, 1, 0x81, 0x80, 0x80, 0x80, 0x08]);
    assert_eq!(&frame[9..11], &[0, 32]);
    assert_eq!(frame.len(), 11 + 32);
}

/// A request or response logged as JSON shows no phrase, passphrase or plaintext, and such
/// JSON is never read back as one; the binary frame still carries them.
#[test]
fn json_of_requests_and_responses_redacts_every_secret() {
    let unlock = Request::Unlock {
        phrase: Zeroizing::new(PHRASE.to_owned()),
        passphrase: Zeroizing::new("correct horse".to_owned()),
    };
    let encrypt = Request::Encrypt {
        key_version: 2,
        plaintext: Zeroizing::new(b"TOP-SECRET".to_vec()),
        aad: b"ctx".to_vec(),
    };
    let new = Request::UnlockNew {
        words: 12,
        passphrase: Zeroizing::new("correct horse".to_owned()),
    };
    let share = Request::SubmitShare {
        share: Zeroizing::new("academic acid acrobat romp chubby".to_owned()),
        passphrase: Zeroizing::new("correct horse".to_owned()),
    };
    for request in [&unlock, &encrypt, &new, &share] {
        let json = serde_json::to_string(request).unwrap();
        for secret in ["abandon", "horse", "TOP-SECRET", "84,79,80", "acrobat"] {
            assert!(!json.contains(secret), "{json}");
        }
        assert!(json.contains(REDACTED), "{json}");
        assert!(serde_json::from_str::<Request>(&json).is_err(), "{json}");
    }
    for response in [
        Response::UnlockedNew {
            phrase: Zeroizing::new(PHRASE.to_owned()),
        },
        Response::Decrypted {
            plaintext: Plaintext::new(b"TOP-SECRET".to_vec()),
        },
    ] {
        let json = serde_json::to_string(&response).unwrap();
        assert!(
            !json.contains("abandon") && !json.contains("84,79,80"),
            "{json}"
        );
        assert!(serde_json::from_str::<Response>(&json).is_err(), "{json}");
    }
    // The binary frame is unchanged: it carries the secrets to the service.
    let frame = unlock.to_bytes().unwrap();
    match Request::from_bytes(&frame).unwrap() {
        Request::Unlock { phrase, passphrase } => {
            assert_eq!(phrase.as_str(), PHRASE);
            assert_eq!(passphrase.as_str(), "correct horse");
        }
        _ => panic!("the frame decoded to another request"),
    }
}
