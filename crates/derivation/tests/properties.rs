//! Property tests: path text round trip, public vs private derivation, xprv/xpub round trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_derivation::{ChildNumber, DerivationPath};
use proptest::prelude::*;

fn child() -> impl Strategy<Value = ChildNumber> {
    (0u32..(1 << 31), any::<bool>()).prop_map(|(i, h)| {
        if h {
            ChildNumber::hardened(i).unwrap()
        } else {
            ChildNumber::normal(i).unwrap()
        }
    })
}

fn path() -> impl Strategy<Value = DerivationPath> {
    proptest::collection::vec(child(), 0..12)
        .prop_map(|v| DerivationPath::from_children(v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn path_display_parse_round_trip(p in path()) {
        let text = p.to_string();
        let back: DerivationPath = text.parse().unwrap();
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(back.to_string(), text.clone());
        // `h` and `H` markers parse to the same path.
        prop_assert_eq!(text.replace('\'', "h").parse::<DerivationPath>().unwrap(), p.clone());
        prop_assert_eq!(text.replace('\'', "H").parse::<DerivationPath>().unwrap(), p);
    }

    #[test]
    fn arbitrary_text_never_panics_and_accepted_text_round_trips(s in "(m|M)?[/0-9'hH+ -]{0,24}") {
        if let Ok(p) = s.parse::<DerivationPath>() {
            prop_assert_eq!(p.to_string().parse::<DerivationPath>().unwrap(), p.clone());
            prop_assert_eq!(p.to_string(), s.replace(['h', 'H'], "'"));
        }
    }

    /// `ed25519::PrivateKey` is the extended key's private key on every path, and fails
    /// exactly where the extended key does (a normal step anywhere, a short or long seed).
    #[test]
    fn ed25519_private_key_equals_the_extended_key(
        p in path(),
        harden in any::<bool>(),
        seed in proptest::collection::vec(any::<u8>(), 12..70),
    ) {
        use hexvault_derivation::ed25519::{ExtendedPrivateKey, PrivateKey};
        // Half the cases on a hardened-only path (a random path rarely is one).
        let p = if harden {
            let steps = p.iter().map(|c| ChildNumber::hardened(c.index()).unwrap()).collect();
            DerivationPath::from_children(steps).unwrap()
        } else {
            p
        };
        match (
            ExtendedPrivateKey::derive_from_seed(&seed, &p),
            PrivateKey::derive_from_seed(&seed, &p),
        ) {
            (Ok(extended), Ok(key)) => prop_assert_eq!(key.expose_secret(), extended.expose_secret()),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "extended {:?} but private key {:?}", a.is_ok(), b.is_ok()),
        }
    }

    #[test]
    fn child_number_round_trip(c in child()) {
        prop_assert_eq!(c.to_string().parse::<ChildNumber>().unwrap(), c);
        prop_assert_eq!(ChildNumber::from_bits(c.to_bits()), c);
    }
}

#[cfg(feature = "secp256k1")]
mod secp256k1 {
    use super::*;
    use hexvault_derivation::secp256k1::{ExtendedPrivateKey, ExtendedPublicKey};

    fn normal_path() -> impl Strategy<Value = DerivationPath> {
        proptest::collection::vec(0u32..(1 << 31), 1..4).prop_map(|v| {
            DerivationPath::from_children(
                v.into_iter()
                    .map(|i| ChildNumber::normal(i).unwrap())
                    .collect(),
            )
            .unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn public_derivation_equals_private_then_public(
            seed in proptest::collection::vec(any::<u8>(), 16..=64),
            account in 0u32..(1 << 31),
            path in normal_path(),
        ) {
            let master = ExtendedPrivateKey::from_seed(&seed).unwrap();
            let account = master.derive_child(ChildNumber::hardened(account).unwrap()).unwrap();
            let via_private = account.derive_path(&path).unwrap().extended_public_key();
            let via_public = account.extended_public_key().derive_path(&path).unwrap();
            prop_assert_eq!(via_public.to_xpub(), via_private.to_xpub());
            prop_assert_eq!(via_public.public_key(), via_private.public_key());
        }

        #[test]
        fn xprv_xpub_round_trip(
            seed in proptest::collection::vec(any::<u8>(), 16..=64),
            path in path().prop_filter("short", |p| p.len() < 4),
        ) {
            let key = ExtendedPrivateKey::derive_from_seed(&seed, &path).unwrap();
            let xprv = key.to_xprv();
            let back: ExtendedPrivateKey = xprv.parse().unwrap();
            prop_assert_eq!(back.expose_secret(), key.expose_secret());
            prop_assert_eq!(back.chain_code(), key.chain_code());
            prop_assert_eq!(back.depth(), key.depth());
            prop_assert_eq!(back.parent_fingerprint(), key.parent_fingerprint());
            prop_assert_eq!(back.child_number(), key.child_number());
            prop_assert_eq!(back.to_xprv(), xprv);
            let xpub = key.extended_public_key().to_xpub();
            let public: ExtendedPublicKey = xpub.parse().unwrap();
            prop_assert_eq!(public.to_xpub(), xpub);
            prop_assert_eq!(public.public_key(), key.public_key());
            prop_assert_eq!(public.fingerprint(), key.fingerprint());
        }

        #[test]
        fn arbitrary_text_never_panics(s in "[1-9A-HJ-NP-Za-km-z]{0,120}") {
            if let Ok(k) = s.parse::<ExtendedPrivateKey>() {
                let text = k.to_xprv();
                prop_assert_eq!(text.as_str(), s.as_str());
            }
            if let Ok(k) = s.parse::<ExtendedPublicKey>() {
                prop_assert_eq!(k.to_xpub(), s);
            }
        }
    }
}
