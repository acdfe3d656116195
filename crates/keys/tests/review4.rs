//! Review round 4: a misuse an attacker profits from, failing today (`#[ignore]`d with
//! "review4 finding" so the lead can take it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hexvault_keys::{Seed, VaultMasterKey};
use zeroize::Zeroize;

/// `VaultMasterKey` derives `Zeroize` (crates/keys/src/master.rs:36), so `zeroize()` is public
/// and leaves a usable all-zero master: every key derived from it afterwards (cells,
/// partitions, audit chain) is one anybody can compute, and nothing fails. The crate docs
/// promise "a capability, not a byte string"; a wiped capability should refuse to derive
/// (the mnemonic crate documents its own wiped value; this one does not). `Seed` has the same
/// shape (crates/mnemonic/src/seed.rs:110: "a wiped seed is all zeros").
#[test]
#[ignore = "review4 finding"]
fn a_wiped_master_key_does_not_keep_deriving_under_the_all_zero_key() {
    let mut bytes = [7u8; 32];
    let mut master = VaultMasterKey::from_kms_bytes(&mut bytes);
    master.zeroize();
    let after = master.derive_key("app/v1/tenant", &[b"t1"]);
    let zero = VaultMasterKey::from_kms_bytes(&mut [0u8; 32])
        .derive_key("app/v1/tenant", &[b"t1"])
        .unwrap();
    assert!(
        after.as_ref().map_or(true, |key| *key != zero),
        "a wiped VaultMasterKey derives the public all-zero key's children"
    );

    let mut seed = Seed::from_bytes([9u8; 64]);
    seed.zeroize();
    let from_wiped = VaultMasterKey::from_seed(&seed);
    let from_zero = VaultMasterKey::from_seed(&Seed::from_bytes([0u8; 64])).unwrap();
    assert!(
        from_wiped.as_ref().map_or(true, |key| *key != from_zero),
        "a wiped Seed roots a vault at the all-zero seed"
    );
}
