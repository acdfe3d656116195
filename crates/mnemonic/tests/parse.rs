//! Parsing: every error variant, the checksum sweep over all single-word substitutions, NFKD, redaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_mnemonic::{Error, Language, Mnemonic, Seed, WordCount};

const ABANDON_ABOUT: &str = "abandon abandon abandon abandon abandon abandon \
                             abandon abandon abandon abandon abandon about";

/// A 12-word phrase with varied words (Trezor vector 7f7f...).
const LEGAL_WINNER: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

#[test]
fn unknown_word_names_its_1_based_position_and_a_hint() {
    let phrase = LEGAL_WINNER.replace("sausage", "sausag");
    let err = Mnemonic::parse(&phrase).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownWord {
            position: 6,
            language: Language::English,
            suggestion: Some("sausage"),
        }
    );
    let message = err.to_string();
    assert!(message.contains("word 6"), "{message}");
    assert!(message.contains("\"sausage\""), "{message}");
    assert!(
        !message.contains("sausag\""),
        "the typed word must not be echoed: {message}"
    );

    // Swapped letters, first word.
    let err = Mnemonic::parse(&LEGAL_WINNER.replacen("legal", "lgeal", 1)).unwrap_err();
    assert!(matches!(
        err,
        Error::UnknownWord {
            position: 1,
            suggestion: Some("legal"),
            ..
        }
    ));

    // Garbage gets no guess.
    let err = Mnemonic::parse(&LEGAL_WINNER.replace("wave", "qqqqqqqq")).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownWord {
            position: 5,
            language: Language::English,
            suggestion: None
        }
    );

    // parse_in reports the same way.
    let err = Mnemonic::parse_in(Language::English, &phrase).unwrap_err();
    assert!(matches!(err, Error::UnknownWord { position: 6, .. }));
}

#[test]
fn unknown_word_in_an_accented_language() {
    // Spanish "acción" typed without its accent is in no list; the hint restores it.
    let m = Mnemonic::from_entropy(&[0; 16], Language::Spanish).unwrap();
    let phrase = m.phrase().replacen("a\u{301}baco", "accion", 1);
    let err = Mnemonic::parse(&phrase).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownWord {
            position: 1,
            language: Language::Spanish,
            suggestion: Some("accio\u{301}n"),
        }
    );
    // "abaco" without the accent is an Italian word: mixed languages, same hint.
    let phrase = m.phrase().replacen("a\u{301}baco", "abaco", 1);
    assert_eq!(
        Mnemonic::parse(&phrase).unwrap_err(),
        Error::MixedLanguages {
            position: 1,
            expected: Language::Spanish,
            found: Language::Italian,
            suggestion: Some("a\u{301}baco"),
        }
    );
}

#[test]
fn bad_checksum() {
    let phrase = ABANDON_ABOUT.replace("about", "abandon");
    assert_eq!(
        Mnemonic::parse(&phrase).unwrap_err(),
        Error::InvalidChecksum
    );
    assert_eq!(
        Mnemonic::parse_in(Language::English, &phrase).unwrap_err(),
        Error::InvalidChecksum
    );
    // Swapping two different words breaks the checksum of this phrase.
    let swapped = LEGAL_WINNER.replace("thank year", "year thank");
    assert_eq!(
        Mnemonic::parse(&swapped).unwrap_err(),
        Error::InvalidChecksum
    );
    assert!(Mnemonic::parse(LEGAL_WINNER).is_ok());
}

#[test]
fn bad_word_count() {
    let words: Vec<&str> = LEGAL_WINNER.split(' ').collect();
    for n in [0, 1, 11, 13, 14, 23, 25, 36] {
        let phrase: Vec<&str> = words.iter().cycle().take(n).copied().collect();
        let err = Mnemonic::parse(&phrase.join(" ")).unwrap_err();
        assert_eq!(err, Error::BadWordCount { count: n });
        assert!(err.to_string().contains("12, 15, 18, 21 or 24"));
        assert_eq!(
            Mnemonic::parse_in(Language::English, &phrase.join(" ")).unwrap_err(),
            Error::BadWordCount { count: n }
        );
    }
    assert_eq!(
        Mnemonic::parse("   \n\t ").unwrap_err(),
        Error::BadWordCount { count: 0 }
    );
}

#[test]
fn mixed_languages() {
    // Word 3 of an English phrase replaced by an Italian word.
    let mut words: Vec<String> = LEGAL_WINNER.split(' ').map(str::to_owned).collect();
    words[2] = "abaco".to_owned();
    let err = Mnemonic::parse(&words.join(" ")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MixedLanguages {
                position: 3,
                expected: Language::English,
                found: Language::Italian,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("word 3"));

    // Given the language explicitly, a Korean word is reported as mixed too.
    let korean = Mnemonic::from_entropy(&[0; 16], Language::Korean).unwrap();
    let korean_word = korean.phrase().split(' ').next().unwrap().to_owned();
    words[2] = korean_word;
    let err = Mnemonic::parse_in(Language::English, &words.join(" ")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MixedLanguages {
                position: 3,
                expected: Language::English,
                found: Language::Korean,
                ..
            }
        ),
        "{err:?}"
    );

    // A whole valid English phrase asked for as French.
    let err = Mnemonic::parse_in(Language::French, LEGAL_WINNER).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MixedLanguages {
                expected: Language::French,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn ambiguous_language_between_english_and_french() {
    // Build a phrase of words shared by English and French (different indices) that
    // is checksum-valid in both: the only real ambiguity among the ten lists.
    let english = Language::English.word_list();
    let french = Language::French.word_list();
    let shared: Vec<&str> = english
        .iter()
        .copied()
        .filter(|w| french.contains(w))
        .collect();
    assert_eq!(shared.len(), 100);
    let mut found = None;
    'search: for a in &shared {
        for b in &shared {
            let mut words = vec![shared[0]; 10];
            words.push(a);
            words.push(b);
            let phrase = words.join(" ");
            if Mnemonic::parse_in(Language::English, &phrase).is_ok()
                && Mnemonic::parse_in(Language::French, &phrase).is_ok()
            {
                found = Some(phrase);
                break 'search;
            }
        }
    }
    let phrase = found.expect("a doubly valid phrase exists among 10^4 candidates");
    assert_eq!(
        Mnemonic::parse(&phrase).unwrap_err(),
        Error::AmbiguousLanguage {
            first: Language::English,
            second: Language::French
        }
    );
}

#[test]
fn bad_entropy_length() {
    for len in [0, 4, 15, 17, 33, 64] {
        assert_eq!(
            Mnemonic::from_entropy(&vec![0; len], Language::English).unwrap_err(),
            Error::BadEntropyLength { len }
        );
    }
}

#[test]
fn whitespace_and_normalisation_forms_are_accepted() {
    let spaced = format!("  {}\n", LEGAL_WINNER.replace(' ', " \t "));
    let m = Mnemonic::parse(&spaced).unwrap();
    assert_eq!(m.phrase().as_str(), LEGAL_WINNER);

    // Japanese with the ideographic space, Spanish in NFC.
    let ja = Mnemonic::from_entropy(&[0x7f; 16], Language::Japanese).unwrap();
    let ideographic = ja.phrase().replace(' ', "\u{3000}");
    assert_eq!(
        Mnemonic::parse(&ideographic).unwrap().entropy(),
        ja.entropy()
    );
    let es = Mnemonic::from_entropy(&[0; 16], Language::Spanish).unwrap();
    let nfc: String =
        unicode_normalization::UnicodeNormalization::nfc(es.phrase().as_str()).collect();
    assert_ne!(nfc.as_str(), es.phrase().as_str());
    assert_eq!(Mnemonic::parse(&nfc).unwrap().entropy(), es.entropy());
}

#[test]
fn passphrase_nfc_and_nfd_give_the_same_seed() {
    let m = Mnemonic::parse(ABANDON_ABOUT).unwrap();
    let nfc = "p\u{e4}ssw\u{f6}rd \u{212b}"; // ä, ö precomposed; Å as the Ångström sign
    let nfd = "pa\u{308}sswo\u{308}rd A\u{30a}";
    assert_ne!(nfc, nfd);
    assert_eq!(m.to_seed(nfc), m.to_seed(nfd));
    assert_ne!(m.to_seed(nfc), m.to_seed("passwort A"));
    assert_ne!(m.to_seed(""), m.to_seed("TREZOR"));
}

/// Over all 12 × 2047 single-word substitutions of a 12-word phrase, the share that
/// passes is the 4-bit checksum's 1/16, and each accepted phrase round-trips.
/// Checksum path only: no PBKDF2 is run.
#[test]
fn single_word_substitutions_pass_at_the_checksum_rate() {
    let list = Language::English.word_list();
    let original: Vec<&str> = LEGAL_WINNER.split(' ').collect();
    let mut total = 0_u32;
    let mut accepted = 0_u32;
    let mut accepted_entropies = std::collections::HashSet::new();
    for position in 0..12 {
        for &replacement in list.iter() {
            if replacement == original[position] {
                continue;
            }
            let mut words = original.clone();
            words[position] = replacement;
            let phrase = words.join(" ");
            total += 1;
            match Mnemonic::parse(&phrase) {
                Ok(m) => {
                    accepted += 1;
                    assert_eq!(m.language(), Language::English);
                    assert_eq!(m.phrase().as_str(), phrase);
                    let entropy = m.entropy();
                    let again = Mnemonic::from_entropy(&entropy, Language::English).unwrap();
                    assert_eq!(again.phrase().as_str(), phrase);
                    assert!(accepted_entropies.insert(entropy.to_vec()));
                }
                Err(Error::InvalidChecksum) => {}
                Err(other) => panic!("unexpected error {other:?} for a valid-word phrase"),
            }
        }
    }
    assert_eq!(total, 12 * 2047);
    let share = f64::from(accepted) / f64::from(total);
    println!("accepted {accepted} of {total} substitutions: {share:.4} (1/16 = 0.0625)");
    // 1/16 = 0.0625; a skipped or partial checksum check would be far outside.
    assert!(
        (1.0 / 20.0..1.0 / 13.0).contains(&share),
        "accepted share {share} ({accepted}/{total})"
    );
}

#[test]
fn debug_shows_no_secret() {
    let m = Mnemonic::parse(LEGAL_WINNER).unwrap();
    let debug = format!("{m:?}");
    for word in LEGAL_WINNER.split(' ') {
        assert!(!debug.contains(word), "{debug}");
    }
    assert!(
        debug.contains("English") && debug.contains("Words12"),
        "{debug}"
    );
    let alt = format!("{m:#?}");
    assert!(!alt.contains("legal"), "{alt}");

    let seed = m.to_seed("");
    let debug = format!("{seed:?} {seed:#?}");
    assert_eq!(format!("{seed:?}"), "Seed { .. }");
    let hex_seed = hex::encode(seed.expose_secret());
    assert!(!debug.contains(&hex_seed[..8]));
    assert!(!debug.contains('['), "no byte array: {debug}");
}

#[test]
fn seeds_compare_by_value() {
    let a = Mnemonic::parse(LEGAL_WINNER).unwrap();
    let b = Mnemonic::parse(ABANDON_ABOUT).unwrap();
    assert_eq!(a.to_seed("x"), a.to_seed("x"));
    assert_ne!(a.to_seed("x"), b.to_seed("x"));
    assert_eq!(
        Seed::from_slice(a.to_seed("x").expose_secret()).unwrap(),
        a.to_seed("x")
    );
}

#[test]
fn word_count_reported() {
    for count in WordCount::ALL {
        let m = Mnemonic::from_entropy(&vec![1; count.entropy_bytes()], Language::Czech).unwrap();
        assert_eq!(m.word_count(), count);
        assert_eq!(Mnemonic::parse(&m.phrase()).unwrap().word_count(), count);
    }
}
