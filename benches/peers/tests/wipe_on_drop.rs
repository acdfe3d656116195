//! The drop wipe of `Plaintext` survives optimisation, and `retrieve_into` wipes a reused
//! buffer before it grows it and wholly on error: a counting global allocator looks at every
//! freed block of one marker size and records whether it was all zeros. While armed, it also
//! counts freed blocks of any size that still hold a plaintext marker (a traversal must free
//! no buffer holding its plaintext, also when it fails after decrypting).
//!
//! This lives in the peers workspace because it needs `unsafe` (a `GlobalAlloc`), which the
//! main workspace forbids; our crates are built here as dependencies, at opt-level 3.
#![allow(unsafe_code, clippy::unwrap_used, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// No other allocation in the test has this size.
const MARKER: usize = 77_777;

/// A plaintext pattern no ciphertext or audit record contains by chance.
const PT_MARK: &[u8; 16] = b"PLAINTEXT-MARKER";

static ARMED: AtomicBool = AtomicBool::new(false);
static LEAKS: AtomicUsize = AtomicUsize::new(0);
static ZEROED: AtomicUsize = AtomicUsize::new(0);
static DIRTY: AtomicUsize = AtomicUsize::new(0);
/// The tests share the counters: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

struct Inspecting;

// SAFETY: every call is forwarded to `System` unchanged; `dealloc` only reads the block it
// is handed (valid for `layout.size()` bytes until it is freed) before freeing it.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(PT_MARK.len()).any(|w| w == PT_MARK) {
                LEAKS.fetch_add(1, Ordering::SeqCst);
            }
        }
        if layout.size() == MARKER {
            let block = unsafe { std::slice::from_raw_parts(ptr, MARKER) };
            let counter = if block.iter().all(|&b| b == 0) {
                &ZEROED
            } else {
                &DIRTY
            };
            counter.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Inspecting = Inspecting;

fn counts() -> (usize, usize) {
    (ZEROED.load(Ordering::SeqCst), DIRTY.load(Ordering::SeqCst))
}

fn secret() -> Vec<u8> {
    let mut v = Vec::with_capacity(MARKER);
    v.resize(MARKER, 0xA5);
    v
}

#[test]
fn the_checker_sees_an_unwiped_block() {
    let _serial = SERIAL.lock().unwrap();
    let before = counts();
    drop(std::hint::black_box(secret()));
    assert_eq!(counts(), (before.0, before.1 + 1));
}

#[test]
fn an_aead_plaintext_is_all_zeros_when_freed() {
    let _serial = SERIAL.lock().unwrap();
    let before = counts();
    let mut p = hexvault_aead::Plaintext::new(secret());
    std::hint::black_box(&mut p);
    drop(p);
    assert_eq!(counts(), (before.0 + 1, before.1));
}

#[test]
fn an_envelope_plaintext_is_all_zeros_when_freed() {
    let _serial = SERIAL.lock().unwrap();
    let before = counts();
    let mut p = hexvault_envelope::Plaintext::new(secret());
    std::hint::black_box(&mut p);
    drop(p);
    assert_eq!(counts(), (before.0 + 1, before.1));
}

#[test]
fn an_opened_blob_is_all_zeros_when_freed() {
    use hexvault_aead::{Key, KeyVersion, SealingKey};
    let _serial = SERIAL.lock().unwrap();
    let key = SealingKey::new(Key::from_bytes([7; 32]), KeyVersion::new(1).unwrap()).unwrap();
    // `open` allocates exactly the plaintext's length and keeps that allocation: size it
    // to MARKER.
    let pt = vec![0xA5u8; MARKER];
    let blob = key.seal(&pt, b"aad").unwrap();
    let before = counts();
    let opened = key.open(&blob, b"aad").unwrap();
    assert_eq!(opened.expose_secret(), &pt[..]);
    drop(opened);
    assert_eq!(counts(), (before.0 + 1, before.1));
}

/// `retrieve_into` with a reused buffer (capacity `MARKER`, holding an earlier plaintext) and
/// content one byte larger: the buffer must grow, and its old block must be all zeros when it
/// is freed, on the raw path and on the LZ4 path. (Growing the `Vec` in place used to hand
/// the old block to the allocator unwiped.)
#[test]
fn a_reused_retrieve_buffer_is_wiped_before_it_grows() {
    use hexvault_envelope::{ByteStorage, Compression, Options};
    let _serial = SERIAL.lock().unwrap();
    let content = vec![0x11u8; MARKER + 1];
    for compression in [Compression::Never, Compression::Auto] {
        let storage = ByteStorage::new(Options::default().with_compression(compression));
        let envelope = storage.store(&content).unwrap();
        assert_eq!(
            storage.check(&envelope).unwrap().compressed(),
            compression == Compression::Auto
        );
        let mut out = secret();
        let before = counts();
        storage.retrieve_into(&envelope, &mut out).unwrap();
        assert_eq!(counts(), (before.0 + 1, before.1), "{compression:?}");
        assert_eq!(out, content);
    }
}

/// A failed `retrieve_into` zeroes the caller's whole allocation, including the bytes of an
/// earlier plaintext past a truncate (only the first `len` bytes used to be wiped).
#[test]
fn a_failed_retrieve_into_wipes_the_whole_buffer() {
    use hexvault_envelope::{ByteStorage, Options};
    let _serial = SERIAL.lock().unwrap();
    let storage = ByteStorage::new(Options::default());
    let mut envelope = storage.store(&[0x22u8; 100]).unwrap();
    if let Some(last) = envelope.last_mut() {
        *last ^= 1; // content checksum mismatch, found after the content is copied
    }
    let mut out = secret();
    out.truncate(10);
    assert!(storage.retrieve_into(&envelope, &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!(out.capacity(), MARKER);
    let before = counts();
    drop(out);
    assert_eq!(counts(), (before.0 + 1, before.1));
}

/// Runs `f` with the marker check armed; returns how many freed blocks held the marker.
fn leaks_during(f: impl FnOnce()) -> usize {
    let before = LEAKS.load(Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    LEAKS.load(Ordering::SeqCst) - before
}

#[test]
fn the_marker_check_sees_a_freed_plaintext() {
    let _serial = SERIAL.lock().unwrap();
    let leaked = leaks_during(|| drop(std::hint::black_box(PT_MARK.repeat(8))));
    assert_eq!(leaked, 1);
}

#[test]
fn a_traversal_frees_no_buffer_holding_its_plaintext() {
    use hexvault_cells::{Credentials, Layer};
    use hexvault_peer_benches::cells::Ours;
    let _serial = SERIAL.lock().unwrap();
    let ours = Ours::new();
    let none = Credentials::none();
    let pt = PT_MARK.repeat(256);
    let blob = ours
        .cell
        .seal(&ours.object, &pt, Layer::Rest, &none)
        .unwrap();
    let mut bad = blob.clone();
    if let Some(last) = bad.last_mut() {
        *last ^= 1;
    }
    let mut moved = Vec::new();
    let leaked = leaks_during(|| {
        moved = ours
            .edge
            .traverse(&ours.object, &blob, &none, &none)
            .unwrap();
        // A wrong tag: GCM decrypts into the traversal's buffer, then refuses; the
        // buffer is wiped before it is freed.
        assert!(
            ours.edge
                .traverse(&ours.object, &bad, &none, &none)
                .is_err()
        );
        // A batch, one blob good and one bad.
        let items = [(&ours.object, &blob[..]), (&ours.object, &bad[..])];
        let results = ours.edge.traverse_batch(&items, &none, &none).unwrap();
        assert!(results[0].is_ok() && results[1].is_err());
        drop(results);
    });
    assert_eq!(leaked, 0, "a freed buffer held the plaintext");
    assert!(!moved.windows(PT_MARK.len()).any(|w| w == PT_MARK));
    assert!(!blob.is_empty());
    drop(pt);
}

/// `store` of compressible content writes the LZ4 block into worst-case room, then hands
/// back an exact copy: the room it frees holds nothing of the content (the marker is the
/// block's first literals, so an unwiped room would show it).
#[test]
fn a_compressed_store_frees_no_block_holding_its_content() {
    use hexvault_envelope::{ByteStorage, Compression, Options};
    let _serial = SERIAL.lock().unwrap();
    let storage = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    // From 64 KiB the worst-case room leaves 4 KiB or more unused: the envelope is copied.
    for len in [64 * 1024, 1024 * 1024] {
        let mut data = PT_MARK.to_vec();
        data.extend_from_slice(&hexvault_peer_benches::json_like(len));
        let mut envelope = Vec::new();
        let leaked = leaks_during(|| envelope = storage.store(&data).unwrap());
        assert_eq!(leaked, 0, "len {len}: a freed block held the content");
        assert!(storage.check(&envelope).unwrap().compressed());
        assert!(envelope.windows(PT_MARK.len()).any(|w| w == PT_MARK));
        assert_eq!(envelope.capacity(), envelope.len());
    }
}

/// After an LZ4 attempt that does not shrink the content, the raw envelope is written over
/// the same buffer: nothing of the encoder's output may stay in its spare capacity.
#[test]
fn a_failed_compression_leaves_no_encoded_bytes_behind_the_envelope() {
    use hexvault_envelope::{ByteStorage, Compression, Options};
    let _serial = SERIAL.lock().unwrap();
    let storage = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    // Incompressible and below the sampling threshold (16 KiB): LZ4 is tried on all of it.
    let data = hexvault_peer_benches::filler(16_000);
    let mut out = Vec::new();
    let report = storage.store_into(&data, &mut out).unwrap();
    assert!(!report.compressed);
    assert!(out.capacity() > out.len() + 64, "the LZ4 room is kept");
    // SAFETY: every byte of the allocation was initialised (zero-filled before encoding,
    // then written or wiped); the slice is dropped before `out` is used again.
    let whole = unsafe { std::slice::from_raw_parts(out.as_ptr(), out.capacity()) };
    let spare = &whole[out.len()..];
    assert!(spare.iter().all(|&b| b == 0), "encoder output left behind");
}
