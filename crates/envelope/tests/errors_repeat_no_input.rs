//! An envelope error never repeats the input it refused (review round 34): the input may be
//! a secret given to the wrong call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_envelope::ByteStorage;

/// crates/envelope/src/error.rs:25-33, the variant `Error::BadMagic`: its message says "the
/// bytes found are not repeated, they may be data", and its field's doc says "(not in the
/// message: the input may be a secret given to the wrong command)"; the house rule "No
/// secret printed (Debug, Display, error messages, CLI output)".
///
/// `Error` derives `Debug`, so the four input bytes kept in `found` are printed by
/// `{:?}`, by `Result::unwrap`/`expect` (the panic message) and by a `main` that returns
/// `Result<(), hexvault_envelope::Error>`: giving `retrieve` a passphrase or a key by mistake
/// prints its first four bytes. Fixed when `BadMagic` keeps no input bytes, or when `Error`'s
/// `Debug` redacts them (as `hexvault_aead::Error::UnknownMagic` does by holding none).
#[test]
fn a_secret_given_as_an_envelope_is_not_repeated_by_debug() {
    let secret = b"Pz9!correct horse battery staple, the vault passphrase";
    let error = ByteStorage::default().retrieve(secret).unwrap_err();
    let debug = format!("{error:?}");
    let as_numbers = format!("{}, {}, {}, {}", secret[0], secret[1], secret[2], secret[3]);
    let as_hex = format!("{:#04x}, {:#04x}", secret[0], secret[1]);
    assert!(
        !debug.contains(&as_numbers) && !debug.contains(&as_hex) && !debug.contains("Pz9!"),
        "Debug of the error repeats the first bytes of the input: {debug}"
    );
    // The panic message of `unwrap` is that same Debug text.
    let panic = std::panic::catch_unwind(|| {
        ByteStorage::default().retrieve(secret).unwrap();
    })
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        !message.contains(&as_numbers),
        "unwrap's panic message repeats the first bytes of the input: {message}"
    );
}
