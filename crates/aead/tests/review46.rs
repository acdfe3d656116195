//! Review round 46: a claim of docs/key-rotation.md the key ring does not keep.
#![allow(clippy::unwrap_used, missing_docs)]

use hexvault_aead::{Error, Key, KeyRing, KeyVersion};

/// docs/key-rotation.md:23-24: "Unknown versions fail with `UnknownKeyVersion`, retired ones
/// with `KeyVersionRetired`, both naming the version." (and step 2, :37: "Load older keys
/// at start-up with `ring.add_key(version, key)`").
///
/// A ring built at start-up with its newest key (version 3), before the older keys are
/// loaded, answers a version-1 blob with `KeyVersionRetired` ("the data must have been
/// re-encrypted before retirement") although nothing was ever retired: `key_for` treats
/// every version below the ring's lowest loaded one as retired.
#[test]
#[ignore = "review46 finding"]
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
}
