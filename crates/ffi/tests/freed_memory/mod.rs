//! A probe of freed memory for the tests of this crate: a global allocator that scans every
//! block freed while it is armed for a byte pattern. It takes `unsafe`, which the workspace
//! forbids everywhere but in this crate, so the tests that need it (of other crates too,
//! through the facade) live here.
#![allow(unsafe_code, unreachable_pub, clippy::undocumented_unsafe_blocks)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// The longest pattern the probe looks for.
pub const MAX_PATTERN: usize = 64;

/// Set while the code under test runs: only then are freed blocks scanned.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Set when a freed block held the pattern.
static FOUND: AtomicBool = AtomicBool::new(false);
/// The bytes looked for (read without allocating) and how many of them count.
static PATTERN: [AtomicU8; MAX_PATTERN] = [const { AtomicU8::new(0) }; MAX_PATTERN];
static PATTERN_LEN: AtomicUsize = AtomicUsize::new(0);
/// One probe, one test at a time (the harness runs tests on several threads).
static SERIAL: Mutex<()> = Mutex::new(());

/// The system allocator, with a look at every block freed while armed.
struct FreedMemoryProbe;

unsafe impl GlobalAlloc for FreedMemoryProbe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let len = PATTERN_LEN.load(Ordering::SeqCst);
        if ARMED.load(Ordering::SeqCst) && len > 0 && layout.size() >= len {
            let mut pattern = [0_u8; MAX_PATTERN];
            for (p, a) in pattern.iter_mut().zip(&PATTERN) {
                *p = a.load(Ordering::SeqCst);
            }
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until the call below.
            let block = unsafe { core::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(len).any(|w| Some(w) == pattern.get(..len)) {
                FOUND.store(true, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: FreedMemoryProbe = FreedMemoryProbe;

/// Runs `f` with the probe armed for `pattern` (1 to [`MAX_PATTERN`] bytes); returns what
/// `f` returned and whether a block freed meanwhile still held the pattern.
pub fn freed_while<T>(pattern: &[u8], f: impl FnOnce() -> T) -> (T, bool) {
    assert!((1..=MAX_PATTERN).contains(&pattern.len()), "pattern length");
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (slot, byte) in PATTERN.iter().zip(pattern) {
        slot.store(*byte, Ordering::SeqCst);
    }
    PATTERN_LEN.store(pattern.len(), Ordering::SeqCst);
    FOUND.store(false, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    let value = f();
    ARMED.store(false, Ordering::SeqCst);
    (value, FOUND.load(Ordering::SeqCst))
}
