//! Key material of a retired key version in freed memory (review round 34). The probe is a
//! global allocator that scans every block freed while it is armed, which takes `unsafe`:
//! the workspace forbids it everywhere but in this crate, so the test lives here and reaches
//! `hexvault-aead` through the facade (`facade::aead`, the same crate), as
//! `shares_freed_memory.rs` does for the shares crate.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use facade::aead::{Backend, Key, KeyRing, KeyVersion};

const PATTERN_LEN: usize = 32;

/// Set while the code under test runs: only then are freed blocks scanned.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Set when a freed block still held the pattern.
static FOUND: AtomicBool = AtomicBool::new(false);
/// The secret bytes looked for (read without allocating).
static PATTERN: [AtomicU8; PATTERN_LEN] = [const { AtomicU8::new(0) }; PATTERN_LEN];

/// The system allocator, with a look at every block freed while armed.
struct FreedMemoryProbe;

unsafe impl GlobalAlloc for FreedMemoryProbe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() >= PATTERN_LEN {
            let mut pattern = [0_u8; PATTERN_LEN];
            for (p, a) in pattern.iter_mut().zip(&PATTERN) {
                *p = a.load(Ordering::SeqCst);
            }
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until the call below.
            let block = unsafe { core::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(PATTERN_LEN).any(|w| w == pattern) {
                FOUND.store(true, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: FreedMemoryProbe = FreedMemoryProbe;

/// One probe, one test at a time (the harness runs tests on several threads).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn old_key_bytes() -> [u8; 32] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11))
}

fn set_pattern(bytes: &[u8; 32]) {
    for (slot, byte) in PATTERN.iter().zip(bytes) {
        slot.store(*byte, Ordering::SeqCst);
    }
}

/// The probe sees a plain copy of the key freed unwiped (a control for the test below).
#[test]
fn the_probe_finds_an_unwiped_copy() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = old_key_bytes();
    set_pattern(&bytes);
    let copy = bytes.to_vec();
    FOUND.store(false, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    drop(copy);
    ARMED.store(false, Ordering::SeqCst);
    assert!(FOUND.load(Ordering::SeqCst));
}

/// `KeyRing::retire_below` and docs/key-rotation.md: a retired version's key bytes are
/// zeroized, and with the RustCrypto backend its expanded AES key schedule too (ring's
/// prepared key cannot be wiped, which both say). On a ring built on the RustCrypto backend,
/// no block freed by `retire_below` holds the retired key's 32 bytes.
#[test]
fn retire_below_on_the_rustcrypto_backend_leaves_no_copy_of_a_retired_key() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = old_key_bytes();
    set_pattern(&bytes);
    let mut ring = KeyRing::with_backend(
        KeyVersion::new(1).unwrap(),
        Key::from_bytes(bytes),
        Backend::RustCrypto,
    )
    .unwrap();
    let sealed = ring.seal(b"row", b"aad").unwrap();
    ring.rotate(Key::from_bytes([0xee; 32])).unwrap();
    FOUND.store(false, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    ring.retire_below(KeyVersion::new(2).unwrap()).unwrap();
    ARMED.store(false, Ordering::SeqCst);
    assert!(ring.open(&sealed, b"aad").is_err(), "version 1 is retired");
    assert!(
        !FOUND.load(Ordering::SeqCst),
        "a block freed by retire_below still holds the retired key's 32 bytes"
    );
}
