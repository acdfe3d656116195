//! `KeyRing`: open by header version, rotation, retirement, rewrap, needs_rewrap.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use hexvault_aead::{Error, Header, Key, KeyRing, KeyVersion};
use proptest::prelude::*;

fn v(n: u32) -> KeyVersion {
    KeyVersion::new(n).unwrap()
}

fn k(b: u8) -> Key {
    Key::from_bytes([b; 32])
}

#[test]
fn rotation_keeps_old_data_readable_and_seals_under_new_primary() {
    let mut ring = KeyRing::new(v(1), k(1)).unwrap();
    let old = ring.seal(b"old", b"a").unwrap();
    assert_eq!(ring.rotate(k(2)).unwrap(), v(2));
    assert_eq!(ring.primary_version(), v(2));
    assert_eq!(ring.versions(), vec![v(1), v(2)]);
    let new = ring.seal(b"new", b"a").unwrap();
    assert_eq!(Header::decode(&new).unwrap().key_version(), v(2));
    assert_eq!(ring.open(&old, b"a").unwrap().expose_secret(), b"old");
    assert_eq!(ring.open(&new, b"a").unwrap().expose_secret(), b"new");
    assert!(ring.needs_rewrap(&old).unwrap());
    assert!(!ring.needs_rewrap(&new).unwrap());
}

#[test]
fn rewrap_preserves_plaintext_and_changes_version() {
    let mut ring = KeyRing::new(v(1), k(1)).unwrap();
    let old = ring.seal(b"payload", b"ctx").unwrap();
    ring.rotate(k(2)).unwrap();
    let new = ring.rewrap(&old, b"ctx").unwrap();
    assert_eq!(Header::decode(&new).unwrap().key_version(), v(2));
    assert_eq!(ring.open(&new, b"ctx").unwrap().expose_secret(), b"payload");
    assert_eq!(new.len(), old.len());
    // Wrong context: rewrap refuses, nothing produced.
    assert!(matches!(
        ring.rewrap(&old, b"other"),
        Err(Error::Authentication)
    ));
}

/// Regression (issue 9, item 6): `add_key` below the retired minimum used to lower the
/// minimum again and re-open data that `retire_below` had retired.
#[test]
fn add_key_cannot_bring_back_a_retired_version() {
    let mut ring = KeyRing::new(v(1), k(1)).unwrap();
    let old = ring.seal(b"old", b"").unwrap();
    ring.rotate(k(2)).unwrap();
    ring.rotate(k(3)).unwrap();
    ring.retire_below(v(3)).unwrap();
    for version in [1, 2] {
        let err = ring.add_key(v(version), k(1)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidKeyVersion { version: got, .. } if got == version),
            "{err:?}"
        );
        assert!(err.to_string().contains("retired"), "{err}");
    }
    assert_eq!(ring.min_decrypt_version(), v(3));
    assert_eq!(ring.versions(), vec![v(3)]);
    assert!(matches!(
        ring.open(&old, b""),
        Err(Error::KeyVersionRetired { .. })
    ));
    // Before any retirement, loading older versions at start-up still works.
    let mut fresh = KeyRing::new(v(3), k(3)).unwrap();
    fresh.add_key(v(1), k(1)).unwrap();
    assert_eq!(fresh.open(&old, b"").unwrap().expose_secret(), b"old");
}

#[test]
fn retired_versions_give_a_clear_error() {
    let mut ring = KeyRing::new(v(1), k(1)).unwrap();
    let old = ring.seal(b"old", b"").unwrap();
    ring.rotate(k(2)).unwrap();
    ring.retire_below(v(2)).unwrap();
    assert_eq!(ring.min_decrypt_version(), v(2));
    assert_eq!(ring.versions(), vec![v(2)]);
    let err = ring.open(&old, b"").unwrap_err();
    assert!(
        matches!(err, Error::KeyVersionRetired { version, minimum } if version == v(1) && minimum == v(2))
    );
    assert!(err.to_string().contains("retired"));
    assert!(ring.retire_below(v(3)).is_err());
}

#[test]
fn unknown_version_is_named_without_trial_decryption() {
    let ring = KeyRing::new(v(1), k(1)).unwrap();
    let mut other = KeyRing::new(v(1), k(1)).unwrap();
    other.rotate_to(v(7), k(7)).unwrap();
    let blob = other.seal(b"x", b"").unwrap();
    assert!(
        matches!(ring.open(&blob, b""), Err(Error::UnknownKeyVersion { version }) if version == v(7))
    );
}

#[test]
fn add_key_and_rotate_to_validate_versions() {
    let mut ring = KeyRing::new(v(5), k(5)).unwrap();
    ring.add_key(v(3), k(3)).unwrap();
    assert_eq!(ring.min_decrypt_version(), v(3));
    assert!(ring.add_key(v(3), k(3)).is_err());
    assert!(ring.add_key(v(6), k(6)).is_err());
    assert!(ring.rotate_to(v(5), k(9)).is_err());
    let mut old_ring = KeyRing::new(v(3), k(3)).unwrap();
    let blob = old_ring.seal(b"three", b"").unwrap();
    assert_eq!(ring.open(&blob, b"").unwrap().expose_secret(), b"three");
    old_ring.rotate(k(4)).unwrap();
    assert!(KeyVersion::new(0).is_err());
    assert_eq!("12".parse::<KeyVersion>().unwrap(), v(12));
    assert_eq!(v(12).to_string(), "12");
}

#[test]
fn same_version_different_key_is_an_authentication_error() {
    let a = KeyRing::new(v(1), k(1)).unwrap();
    let b = KeyRing::new(v(1), k(2)).unwrap();
    let blob = a.seal(b"x", b"").unwrap();
    assert!(matches!(b.open(&blob, b""), Err(Error::Authentication)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn rewrap_round_trip(
        pt in proptest::collection::vec(any::<u8>(), 0..4096),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        rotations in 1u32..4,
    ) {
        let mut ring = KeyRing::new(v(1), k(1)).unwrap();
        let mut blob = ring.seal(&pt, &aad).unwrap();
        for r in 0..rotations {
            ring.rotate(Key::from_bytes([r as u8 + 10; 32])).unwrap();
            prop_assert!(ring.needs_rewrap(&blob).unwrap());
            let before = Header::decode(&blob).unwrap().key_version();
            blob = ring.rewrap(&blob, &aad).unwrap();
            let after = Header::decode(&blob).unwrap().key_version();
            prop_assert!(after > before);
            prop_assert_eq!(after, ring.primary_version());
        }
        ring.retire_below(ring.primary_version()).unwrap();
        let opened = ring.open(&blob, &aad).unwrap();
        prop_assert_eq!(opened.expose_secret(), &pt[..]);
    }
}

/// docs/key-rotation.md: "Unknown versions fail with `UnknownKeyVersion`, retired ones with
/// `KeyVersionRetired`". A ring built with its newest key (version 3), before the older keys
/// are loaded, answers a version-1 blob with `UnknownKeyVersion`: nothing was retired (it
/// said `KeyVersionRetired`, review round 46); once version 1 is retired, it says so.
#[test]
fn a_version_never_loaded_nor_retired_is_unknown_not_retired() {
    let v1 = KeyVersion::new(1).unwrap();
    let v3 = KeyVersion::new(3).unwrap();
    let old = KeyRing::new(v1, Key::from_bytes([1; 32])).unwrap();
    let blob = old.seal(b"record", b"aad").unwrap();

    let ring = KeyRing::new(v3, Key::from_bytes([3; 32])).unwrap();
    let error = ring.open(&blob, b"aad").err();
    assert!(
        matches!(error, Some(Error::UnknownKeyVersion { version }) if version == v1),
        "a version nobody retired is reported as: {error:?}"
    );
    let mut ring = ring;
    ring.retire_below(KeyVersion::new(2).unwrap()).unwrap();
    assert!(matches!(
        ring.open(&blob, b"aad"),
        Err(Error::KeyVersionRetired { version, .. }) if version == v1
    ));
}

/// `min_decrypt_version` is the lowest version the ring holds, and the ring opens nothing
/// below it; of those versions, the ones below the retirement floor say `KeyVersionRetired`
/// naming that floor, the others `UnknownKeyVersion` (review round 47: the docs called
/// every version below `min_decrypt_version` retired).
#[test]
fn below_the_lowest_version_held_only_the_retired_ones_say_retired() {
    let blob = |n: u32| {
        KeyRing::new(v(n), Key::from_bytes([n as u8; 32]))
            .unwrap()
            .seal(b"record", b"aad")
            .unwrap()
    };
    let mut ring = KeyRing::new(v(5), k(5)).unwrap();
    ring.retire_below(v(2)).unwrap();
    assert_eq!(ring.min_decrypt_version(), v(5));
    assert!(matches!(
        ring.open(&blob(1), b"aad"),
        Err(Error::KeyVersionRetired { version, minimum }) if version == v(1) && minimum == v(2)
    ));
    for n in 2..5 {
        assert!(
            matches!(ring.open(&blob(n), b"aad"), Err(Error::UnknownKeyVersion { version }) if version == v(n)),
            "version {n}"
        );
    }
}

/// `min_decrypt_version` is the lowest version held also after `retire_below` to a version
/// the ring holds no key for (ring {1, 5}, `retire_below(3)`: 5, not the floor 3, which the
/// ring cannot open; review round 48).
#[test]
fn min_decrypt_version_is_the_lowest_version_held_after_retiring_to_a_gap() {
    let mut ring = KeyRing::new(v(1), Key::from_bytes([1; 32])).unwrap();
    ring.rotate_to(v(5), Key::from_bytes([5; 32])).unwrap();
    ring.retire_below(v(3)).unwrap();
    assert_eq!(ring.versions(), vec![v(5)]);
    let sealed3 = KeyRing::new(v(3), Key::from_bytes([3; 32]))
        .unwrap()
        .seal(b"x", b"aad")
        .unwrap();
    // The ring cannot open version 3, yet names it as its lowest.
    assert!(matches!(
        ring.open(&sealed3, b"aad"),
        Err(Error::UnknownKeyVersion { .. })
    ));
    assert_eq!(
        ring.min_decrypt_version(),
        v(5),
        "min_decrypt_version names a version the ring holds no key for"
    );
}
