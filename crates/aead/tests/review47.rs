//! Review round 47 findings (aead key ring).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use hexvault_aead::{Error, Key, KeyRing, KeyVersion};

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

/// crates/aead/src/keyring.rs:153 ("Versions below this are retired", on
/// `min_decrypt_version`) and crates/aead/src/error.rs:57-65 (`KeyVersionRetired`: "a key
/// version below the ring's minimum decryption version"; `minimum`: "The ring's minimum
/// decryption version"): since round 46, `key_for` calls retired only what is below
/// `retire_below`'s floor, but `min_decrypt_version()` still reports the lowest version
/// loaded. A ring built at version 3 reports minimum 3 and answers version 1 with
/// `UnknownKeyVersion`; a ring built at 5 and retired below 2 reports minimum 5 while its
/// `KeyVersionRetired` error names minimum 2, and answers 3 (below "the minimum") as unknown.
#[test]
#[ignore = "review47 finding"]
fn min_decrypt_version_is_the_version_below_which_opens_say_retired() {
    let blob = |n: u32| {
        KeyRing::new(v(n), Key::from_bytes([n as u8; 32]))
            .unwrap()
            .seal(b"record", b"aad")
            .unwrap()
    };
    let mut broken = Vec::new();
    let fresh = KeyRing::new(v(3), Key::from_bytes([3; 32])).unwrap();
    let mut retired = KeyRing::new(v(5), Key::from_bytes([5; 32])).unwrap();
    retired.retire_below(v(2)).unwrap();
    for (name, ring) in [("fresh v3", &fresh), ("v5 retired below 2", &retired)] {
        let minimum = ring.min_decrypt_version();
        for n in 1..minimum.get() {
            match ring.open(&blob(n), b"aad") {
                Err(Error::KeyVersionRetired { minimum: said, .. }) if said == minimum => {}
                other => broken.push(format!(
                    "{name}: min_decrypt_version {minimum:?}, version {n} opens as {:?}",
                    other.err()
                )),
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}
