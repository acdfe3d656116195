//! The 45 published SLIP-0039 vectors (Trezor, python-shamir-mnemonic `vectors.json`, MIT;
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
//! passphrase "TREZOR"): valid sets recover the master secret and its BIP-32 master xprv,
//! invalid ones fail with the specific error.

use hexvault_derivation::secp256k1::ExtendedPrivateKey;
use hexvault_shares::{Error, Parameter, Recovery, Share, combine_mnemonics, parse_all};

const VECTORS: &str = include_str!("data/slip39-trezor.json");

fn vectors() -> Vec<(String, Vec<String>, String, String)> {
    let parsed: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
    parsed
        .iter()
        .map(|v| {
            let shares = v[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect();
            (
                v[0].as_str().unwrap().to_owned(),
                shares,
                v[2].as_str().unwrap().to_owned(),
                v[3].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The error each invalid vector must fail with (by its number).
fn expected_error(number: usize) -> Error {
    let mismatch = |share, parameter| Error::Mismatch {
        share,
        first: 1,
        parameter,
    };
    let in_first = |e: Error| Error::InShare {
        share: 1,
        source: Box::new(e),
    };
    match number {
        // Exactly one word is wrong in these: the last one.
        2 => in_first(Error::InvalidChecksum { position: Some(20) }),
        21 => in_first(Error::InvalidChecksum { position: Some(33) }),
        3 | 22 => in_first(Error::InvalidPadding),
        5 | 24 => Error::TooFewShares {
            group: 1,
            have: 1,
            need: 2,
        },
        6 | 25 => mismatch(2, Parameter::Identifier),
        7 | 26 => mismatch(2, Parameter::IterationExponent),
        8 | 27 => mismatch(3, Parameter::GroupThreshold),
        9 | 28 => mismatch(2, Parameter::GroupCount),
        10 | 29 => in_first(Error::GroupThresholdAboveCount),
        11 | 30 => Error::DuplicateMember {
            share: 2,
            first: 1,
            group: 1,
            member: 3,
        },
        12 | 31 => mismatch(2, Parameter::MemberThreshold),
        13 | 32 => Error::InvalidDigest,
        14 | 15 | 33 | 34 => Error::TooFewGroups { have: 1, need: 2 },
        16 | 35 => Error::TooFewShares {
            group: 4,
            have: 1,
            need: 2,
        },
        39 => in_first(Error::BadWordCount { count: 19 }),
        40 => in_first(Error::BadWordCount { count: 21 }),
        _ => panic!("vector {number} is valid"),
    }
}

#[test]
fn all_45_vectors() {
    let all = vectors();
    assert_eq!(all.len(), 45);
    let mut valid = 0;
    for (n, (name, shares, secret, xprv)) in (1..).zip(&all) {
        let result = combine_mnemonics(shares, "TREZOR");
        if secret.is_empty() {
            let err = result.expect_err(name);
            assert_eq!(err, expected_error(n), "{name}");
            // Messages never echo a word of the shares.
            let message = err.to_string();
            for word in shares.iter().flat_map(|s| s.split_whitespace()) {
                assert!(
                    !message
                        .split(|c: char| !c.is_ascii_alphabetic())
                        .any(|w| w == word),
                    "{name}: {message}"
                );
            }
        } else {
            valid += 1;
            let ms = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(hex::encode(ms.expose_secret()), *secret, "{name}");
            let seed = ms.to_seed().unwrap();
            let node = ExtendedPrivateKey::from_seed(seed.expose_secret()).unwrap();
            assert_eq!(*node.to_xprv(), *xprv, "{name}");
            // One at a time gives the same secret.
            let mut recovery = Recovery::new();
            for share in shares {
                recovery.add_text(share).unwrap();
            }
            assert!(recovery.progress().is_complete(), "{name}");
            assert_eq!(recovery.recover("TREZOR").unwrap(), ms, "{name}");
            // Every share writes back to its own words.
            for (share, text) in parse_all(shares).unwrap().iter().zip(shares) {
                assert_eq!(*share.to_words(), *text, "{name}");
            }
            // Another passphrase gives another secret (SLIP-0039 cannot detect it).
            assert_ne!(combine_mnemonics(shares, "").unwrap(), ms, "{name}");
        }
    }
    assert_eq!(valid, 15, "15 valid vectors, 30 invalid");
}

#[test]
fn a_bad_checksum_names_the_word_position_and_no_word() {
    let (_, shares, _, _) = &vectors()[1];
    let err = Share::parse(&shares[0]).unwrap_err();
    assert_eq!(err, Error::InvalidChecksum { position: Some(20) });
    let message = err.to_string();
    assert!(message.contains("word 20 is wrong"), "{message}");
}
