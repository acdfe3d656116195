//! Trezor BIP-39 vectors (all ten languages): entropy -> phrase, phrase -> seed, parse with detection.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use hexvault_mnemonic::{Language, Mnemonic};
use unicode_normalization::UnicodeNormalization;

struct Case {
    language: Language,
    entropy: Vec<u8>,
    mnemonic: String,
    passphrase: String,
    seed: Vec<u8>,
}

/// Every case of `tests/data/bip39-trezor.json` (source in `tests/data/README.md`).
fn cases() -> Vec<Case> {
    let text = include_str!("data/bip39-trezor.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    assert!(json["source"].as_str().unwrap().contains("Trezor"));
    let mut out = Vec::new();
    for (name, list) in json["cases"].as_object().unwrap() {
        let language: Language = name.parse().unwrap();
        for case in list.as_array().unwrap() {
            let field = |k: &str| case[k].as_str().unwrap().to_owned();
            out.push(Case {
                language,
                entropy: hex::decode(field("entropy")).unwrap(),
                mnemonic: field("mnemonic"),
                passphrase: field("passphrase"),
                seed: hex::decode(field("seed")).unwrap(),
            });
        }
    }
    out
}

#[test]
fn the_vector_file_covers_all_languages() {
    let cases = cases();
    assert_eq!(cases.len(), 240);
    for language in Language::ALL {
        assert_eq!(cases.iter().filter(|c| c.language == language).count(), 24);
    }
}

#[test]
fn entropy_to_phrase() {
    for case in cases() {
        let m = Mnemonic::from_entropy(&case.entropy, case.language).unwrap();
        let expected: String = case.mnemonic.nfkd().collect();
        let expected_words: Vec<&str> = expected.split_whitespace().collect();
        assert_eq!(
            m.phrase().split(' ').collect::<Vec<_>>(),
            expected_words,
            "{}",
            case.language
        );
        assert_eq!(m.entropy().as_slice(), case.entropy.as_slice());
        assert_eq!(m.word_count().entropy_bytes(), case.entropy.len());
    }
}

#[test]
fn phrase_to_seed_with_passphrase_trezor() {
    for case in cases() {
        assert_eq!(case.passphrase, "TREZOR");
        let m = Mnemonic::parse_in(case.language, &case.mnemonic).unwrap();
        assert_eq!(m.language(), case.language);
        assert_eq!(
            m.to_seed(&case.passphrase).expose_secret(),
            case.seed.as_slice()
        );
        // Tampered passphrase: a different seed.
        assert_ne!(m.to_seed("TREZOR ").expose_secret(), case.seed.as_slice());
    }
}

#[test]
fn parse_detects_the_language() {
    for case in cases() {
        let m = Mnemonic::parse(&case.mnemonic).unwrap();
        assert_eq!(m.entropy().as_slice(), case.entropy.as_slice());
        let phrase: String = case.mnemonic.nfkd().collect();
        let in_both_chinese_lists = phrase.split_whitespace().all(|w| {
            Language::ChineseSimplified.word_list().contains(&w)
                && Language::ChineseTraditional.word_list().contains(&w)
        });
        if in_both_chinese_lists {
            // Same words at the same indices in both lists: same entropy and seed;
            // detection reports the first of the two.
            assert_eq!(m.language(), Language::ChineseSimplified);
            assert!(matches!(
                case.language,
                Language::ChineseSimplified | Language::ChineseTraditional
            ));
        } else {
            assert_eq!(m.language(), case.language, "{}", case.mnemonic);
        }
    }
}

#[test]
fn seed_matches_the_bip39_crate() {
    // An independent PBKDF2 (bitcoin_hashes inside `bip39`) must agree with ours (ring).
    for case in cases().iter().step_by(5) {
        let theirs = bip39::Mnemonic::parse_in(
            match case.language {
                Language::English => bip39::Language::English,
                Language::ChineseSimplified => bip39::Language::SimplifiedChinese,
                Language::ChineseTraditional => bip39::Language::TraditionalChinese,
                Language::Czech => bip39::Language::Czech,
                Language::French => bip39::Language::French,
                Language::Italian => bip39::Language::Italian,
                Language::Japanese => bip39::Language::Japanese,
                Language::Korean => bip39::Language::Korean,
                Language::Portuguese => bip39::Language::Portuguese,
                Language::Spanish => bip39::Language::Spanish,
            },
            case.mnemonic.as_str(),
        )
        .unwrap();
        let ours = Mnemonic::parse_in(case.language, &case.mnemonic).unwrap();
        for passphrase in ["", "TREZOR", "pässwörd ひらがな"] {
            assert_eq!(
                ours.to_seed(passphrase).expose_secret(),
                &theirs.to_seed(passphrase)
            );
        }
    }
}
