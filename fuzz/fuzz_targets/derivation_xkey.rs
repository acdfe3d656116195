//! Fuzz target: any text -> xprv / xpub import never panics; an accepted key encodes back
//! to exactly the input, and an xprv's public half encodes and re-imports consistently.
#![no_main]

use hexvault_derivation::secp256k1::{ExtendedPrivateKey, ExtendedPublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(key) = text.parse::<ExtendedPrivateKey>() {
        assert_eq!(key.to_xprv().as_str(), text);
        let xpub = key.extended_public_key().to_xpub();
        let public = xpub.parse::<ExtendedPublicKey>().ok();
        assert_eq!(public.map(|p| p.public_key()), Some(key.public_key()));
    }
    if let Ok(key) = text.parse::<ExtendedPublicKey>() {
        assert_eq!(key.to_xpub(), text);
    }
});
