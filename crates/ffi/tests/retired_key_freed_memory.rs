//! Key material of a retired key version in freed memory (review round 34), checked with the
//! freed-memory probe (`freed_memory`, which needs `unsafe` and so lives in this crate); the
//! aead crate is reached through the facade (`facade::aead`, the same crate).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod freed_memory;

use facade::aead::{Backend, Key, KeyRing, KeyVersion};
use freed_memory::freed_while;

fn old_key_bytes() -> [u8; 32] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11))
}

/// The probe sees a plain copy of the key freed unwiped (a control for the test below).
#[test]
fn the_probe_finds_an_unwiped_copy() {
    let bytes = old_key_bytes();
    let copy = bytes.to_vec();
    let ((), found) = freed_while(&bytes, || drop(copy));
    assert!(found);
}

/// `KeyRing::retire_below` and docs/key-rotation.md: a retired version's key bytes are
/// zeroized, and with the RustCrypto backend its expanded AES key schedule too (ring's
/// prepared key cannot be wiped, which both say). On a ring built on the RustCrypto backend,
/// no block freed by `retire_below` holds the retired key's 32 bytes.
#[test]
fn retire_below_on_the_rustcrypto_backend_leaves_no_copy_of_a_retired_key() {
    let bytes = old_key_bytes();
    let mut ring = KeyRing::with_backend(
        KeyVersion::new(1).unwrap(),
        Key::from_bytes(bytes),
        Backend::RustCrypto,
    )
    .unwrap();
    let sealed = ring.seal(b"row", b"aad").unwrap();
    ring.rotate(Key::from_bytes([0xee; 32])).unwrap();
    let (retired, found) = freed_while(&bytes, || ring.retire_below(KeyVersion::new(2).unwrap()));
    retired.unwrap();
    assert!(ring.open(&sealed, b"aad").is_err(), "version 1 is retired");
    assert!(
        !found,
        "a block freed by retire_below still holds the retired key's 32 bytes"
    );
}
