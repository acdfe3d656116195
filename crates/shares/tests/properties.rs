//! Property tests: any K of N shares recover, any K-1 fail, every single-word substitution
//! is caught by the checksum, group thresholds hold, and shares round-trip through words.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_shares::{
    Error, GroupSpec, MasterSecret, Recovery, Share, SplitConfig, combine, split,
};
use proptest::prelude::*;
use proptest::sample::subsequence;

/// Exponent 0 keeps the PBKDF2 cost of a case at 10000 iterations.
fn config(threshold: u8, count: u8) -> SplitConfig {
    SplitConfig::single(threshold, count).iteration_exponent(0)
}

fn reparse(shares: &[&Share]) -> Vec<Share> {
    shares
        .iter()
        .map(|s| Share::parse(&s.to_words()).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_k_of_n_recover_and_any_k_minus_1_fail(
        secret in prop::collection::vec(any::<u8>(), 16..=16).prop_union(prop::collection::vec(any::<u8>(), 32..=32)),
        (threshold, count, picks) in (2_u8..=5).prop_flat_map(|t| (Just(t), t..=6)).prop_flat_map(|(t, n)| {
            (Just(t), Just(n), subsequence((0..usize::from(n)).collect::<Vec<_>>(), usize::from(t)))
        }),
        extendable in any::<bool>(),
    ) {
        let ms = MasterSecret::from_bytes(&secret).unwrap();
        let groups = split(&ms, "pass", &config(threshold, count).extendable(extendable)).unwrap();
        prop_assert_eq!(groups.len(), 1);
        let shares = &groups[0];
        prop_assert_eq!(shares.len(), usize::from(count));
        let chosen: Vec<&Share> = picks.iter().map(|&i| &shares[i]).collect();
        let parsed = reparse(&chosen);
        prop_assert!(combine(&parsed, "pass").unwrap() == ms);
        // K-1 shares: refused before any arithmetic.
        let fewer = &parsed[..parsed.len() - 1];
        prop_assert_eq!(
            combine(fewer, "pass").unwrap_err(),
            Error::TooFewShares { group: 1, have: threshold - 1, need: threshold }
        );
        // K-1 shares plus a share of another backup with the same parameters: refused.
        let other = split(&MasterSecret::from_bytes(&secret).unwrap(), "pass", &config(threshold, count)).unwrap();
        let mut mixed = reparse(&chosen[..chosen.len() - 1]);
        mixed.push(Share::parse(&other[0][picks[picks.len() - 1]].to_words()).unwrap());
        prop_assert!(combine(&mixed, "pass").is_err());
    }

    #[test]
    fn every_single_word_substitution_is_caught(
        position in 0_usize..20,
        replacement in 0_usize..1024,
        extendable in any::<bool>(),
    ) {
        let ms = MasterSecret::from_bytes(&[0x5A; 16]).unwrap();
        let groups = split(&ms, "", &config(2, 3).extendable(extendable)).unwrap();
        let words = groups[0][1].to_words();
        let mut list: Vec<&str> = words.split(' ').collect();
        let all = wordlist();
        let substitute = all[replacement].as_str();
        prop_assume!(list[position] != substitute);
        list[position] = substitute;
        let err = Share::parse(&list.join(" ")).unwrap_err();
        prop_assert_eq!(err, Error::InvalidChecksum { position: Some(position + 1) });
    }

    #[test]
    fn group_thresholds(
        group_threshold in 1_u8..=3,
        member_thresholds in prop::collection::vec(1_u8..=3, 3..=3),
    ) {
        let groups: Vec<GroupSpec> = member_thresholds
            .iter()
            .map(|&t| GroupSpec { threshold: t, count: if t == 1 { 1 } else { t + 1 } })
            .collect();
        let ms = MasterSecret::from_bytes(&[0xC3; 32]).unwrap();
        let cfg = SplitConfig::groups(group_threshold, groups).iteration_exponent(0);
        let all = split(&ms, "", &cfg).unwrap();
        prop_assert_eq!(all.len(), 3);
        // The last `group_threshold` groups, each with exactly its threshold: recovers.
        let mut set = Vec::new();
        for group in all.iter().rev().take(usize::from(group_threshold)) {
            let t = usize::from(group[0].member_threshold());
            set.extend(reparse(&group.iter().rev().take(t).collect::<Vec<_>>()));
        }
        prop_assert!(combine(&set, "").unwrap() == ms);
        // One group fewer: too few groups.
        if group_threshold > 1 {
            let mut fewer = Vec::new();
            for group in all.iter().take(usize::from(group_threshold - 1)) {
                let t = usize::from(group[0].member_threshold());
                fewer.extend(reparse(&group.iter().take(t).collect::<Vec<_>>()));
            }
            prop_assert_eq!(
                combine(&fewer, "").unwrap_err(),
                Error::TooFewGroups { have: group_threshold - 1, need: group_threshold }
            );
        }
        // One at a time: complete exactly when the threshold of groups is.
        let mut recovery = Recovery::new();
        for share in set {
            let progress = recovery.add(share).unwrap();
            if progress.is_complete() {
                prop_assert_eq!(progress.groups_complete, group_threshold);
            }
        }
        prop_assert!(recovery.progress().is_complete());
        prop_assert_eq!(recovery.recover("").unwrap(), ms);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = Share::parse(&text);
    }
}

/// The word list the crate embeds (word i has value i).
fn wordlist() -> Vec<String> {
    include_str!("../src/wordlist.txt")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn mismatched_parameters_are_named() {
    let ms = MasterSecret::from_bytes(&[7; 16]).unwrap();
    let a = split(&ms, "", &config(2, 3)).unwrap();
    let b = split(&ms, "", &config(2, 3)).unwrap();
    let set = reparse(&[&a[0][0], &b[0][1]]);
    // Two random 15-bit identifiers collide once in 32768 runs; the error names the share.
    if a[0][0].identifier() != b[0][0].identifier() {
        assert_eq!(
            combine(&set, "").unwrap_err(),
            Error::Mismatch {
                share: 2,
                first: 1,
                parameter: hexvault_shares::Parameter::Identifier
            }
        );
    }
    let c = split(&ms, "", &config(2, 3).extendable(true)).unwrap();
    assert!(c[0][0].extendable());
    let d = split(&ms, "", &config(2, 3).iteration_exponent(1)).unwrap();
    assert_eq!(d[0][0].iteration_exponent(), 1);
    // Duplicate member.
    let dup = reparse(&[&a[0][1], &a[0][1]]);
    assert_eq!(
        combine(&dup, "").unwrap_err(),
        Error::DuplicateMember {
            share: 2,
            first: 1,
            group: 1,
            member: 2
        }
    );
    // Too many shares in a group (SLIP-0039 asks for exactly the threshold).
    let three = reparse(&[&a[0][0], &a[0][1], &a[0][2]]);
    assert_eq!(
        combine(&three, "").unwrap_err(),
        Error::TooManyShares {
            group: 1,
            have: 3,
            need: 2
        }
    );
    // ... and one at a time, a third share of a complete group is refused.
    let mut recovery = Recovery::new();
    for share in reparse(&[&a[0][0], &a[0][1]]) {
        recovery.add(share).unwrap();
    }
    assert!(matches!(
        recovery
            .add(Share::parse(&a[0][2].to_words()).unwrap())
            .unwrap_err(),
        Error::TooManyGroups { .. }
    ));
    assert_eq!(combine(&[], "").unwrap_err(), Error::NoShares);
}

#[test]
fn invalid_schemes_and_inputs_are_refused() {
    let ms = MasterSecret::from_bytes(&[7; 16]).unwrap();
    for cfg in [
        config(0, 3),
        config(4, 3),
        config(2, 17),
        config(1, 2),
        SplitConfig::groups(
            2,
            vec![GroupSpec {
                threshold: 2,
                count: 3,
            }],
        ),
        SplitConfig::groups(
            0,
            vec![GroupSpec {
                threshold: 2,
                count: 3,
            }],
        ),
        SplitConfig::groups(1, vec![]),
    ] {
        assert!(
            matches!(
                split(&ms, "", &cfg).unwrap_err(),
                Error::InvalidScheme { .. }
            ),
            "{cfg:?}"
        );
    }
    assert_eq!(
        split(&ms, "", &config(2, 3).iteration_exponent(16)).unwrap_err(),
        Error::BadIterationExponent { exponent: 16 }
    );
    assert_eq!(
        split(&ms, "naïve", &config(2, 3)).unwrap_err(),
        Error::InvalidPassphrase
    );
    // Unknown word: position and suggestion, never the typed word.
    let words = split(&ms, "", &config(1, 1)).unwrap()[0][0].to_words();
    let mut list: Vec<String> = words.split(' ').map(str::to_owned).collect();
    let original = list[4].clone();
    list[4] = format!("{original}zq");
    let typed = list[4].clone();
    let err = Share::parse(&list.join(" ")).unwrap_err();
    let Error::UnknownWord {
        position,
        suggestion,
    } = err.clone()
    else {
        panic!("{err:?}")
    };
    assert_eq!((position, suggestion), (5, Some(original.as_str())));
    assert!(!err.to_string().contains(&typed));
    // Upper case is accepted.
    assert!(Share::parse(&words.to_uppercase()).is_ok());
}

#[test]
fn a_bip39_phrase_round_trips_through_shares() {
    use hexvault_mnemonic::{Language, Mnemonic};
    let phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let mnemonic = Mnemonic::parse(phrase).unwrap();
    let ms = MasterSecret::from_mnemonic(&mnemonic).unwrap();
    let shares = split(&ms, "", &config(2, 3)).unwrap();
    let back = combine(&reparse(&[&shares[0][2], &shares[0][0]]), "").unwrap();
    assert_eq!(
        *back.to_mnemonic(Language::English).unwrap().phrase(),
        phrase
    );
    // Secrets print no bytes.
    assert_eq!(format!("{back:?}"), "MasterSecret { len: 16, .. }");
    let debug = format!("{:?}", shares[0][0]);
    assert!(
        debug.starts_with("Share {") && debug.ends_with(", .. }"),
        "{debug}"
    );
}

/// Review round 20: shares keep the entropy, not the word list, and are read back as an
/// English phrase (`shares combine`, the service's `ShareSeed::Bip39Entropy`); a BIP-39 seed
/// is PBKDF2 of the words, so the shares of an Italian phrase opened another vault. A phrase
/// in another word list is refused, naming the word list, never echoing a word.
#[test]
fn a_phrase_in_another_word_list_is_not_split() {
    use hexvault_mnemonic::{Language, Mnemonic};
    let english = Mnemonic::from_entropy(&[0x7f; 16], Language::English).unwrap();
    assert!(MasterSecret::from_mnemonic(&english).is_ok());
    for language in [Language::Italian, Language::Spanish, Language::Japanese] {
        let phrase = Mnemonic::from_entropy(&[0x7f; 16], language).unwrap();
        let error = MasterSecret::from_mnemonic(&phrase).unwrap_err();
        assert_eq!(error, hexvault_shares::Error::NonEnglishPhrase { language });
        let text = error.to_string();
        assert!(text.contains(language.name()), "{text}");
        let first_word = phrase.phrase().split(' ').next().unwrap().to_owned();
        assert!(!text.contains(&first_word), "{text}");
    }
}
