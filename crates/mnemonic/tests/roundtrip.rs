//! Property tests: random entropy of every size in every language round-trips through the phrase.
#![allow(clippy::unwrap_used, missing_docs)]

use hexvault_mnemonic::{Language, Mnemonic};
use proptest::prelude::*;

fn entropy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![Just(16_usize), Just(20), Just(24), Just(28), Just(32)]
        .prop_flat_map(|len| proptest::collection::vec(any::<u8>(), len))
}

fn language() -> impl Strategy<Value = Language> {
    proptest::sample::select(Language::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn entropy_phrase_entropy(entropy in entropy(), language in language()) {
        let m = Mnemonic::from_entropy(&entropy, language).unwrap();
        prop_assert_eq!(m.entropy().to_vec(), entropy.clone());
        prop_assert_eq!(m.word_count().entropy_bytes(), entropy.len());

        let explicit = Mnemonic::parse_in(language, &m.phrase()).unwrap();
        prop_assert_eq!(explicit.language(), language);
        prop_assert_eq!(explicit.entropy().to_vec(), entropy.clone());

        let detected = Mnemonic::parse(&m.phrase()).unwrap();
        prop_assert_eq!(detected.entropy().to_vec(), entropy.clone());
        prop_assert_eq!(detected.phrase().to_string(), m.phrase().to_string());
        if detected.language() != language {
            // Only a phrase of words shared by both Chinese lists (same indices) may be
            // reported as the other Chinese list; it is the same phrase either way.
            prop_assert_eq!(language, Language::ChineseTraditional);
            prop_assert_eq!(detected.language(), Language::ChineseSimplified);
        }
    }

    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = Mnemonic::parse(&text);
        let _ = Mnemonic::parse_in(Language::Japanese, &text);
    }

    #[test]
    fn parse_of_word_soup_never_panics(words in proptest::collection::vec(0_usize..2048, 0..30), language in language()) {
        let list = language.word_list();
        let phrase: Vec<&str> = words.iter().filter_map(|&i| list.get(i).copied()).collect();
        match Mnemonic::parse(&phrase.join(" ")) {
            Ok(m) => prop_assert_eq!(m.phrase().split(' ').count(), phrase.len()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
