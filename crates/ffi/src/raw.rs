//! Raw pointers from C turned into slices and writes, the library's buffers and its handle
//! registry. The pointer helpers here and the exported functions in `lib.rs` are the only
//! `unsafe` code of the workspace.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use facade::aead::{SEAL_LIMIT, SealingKey, UsageState};
use zeroize::Zeroize;

use super::error::Error;

/// A byte buffer the library allocated and handed to C. Free it with
/// `hexvault_buffer_free` and never with `free()`; the library zeroizes it on release.
/// An empty result is `{ data = NULL, len = 0, id = 0 }`. Treat all three fields as
/// read-only.
#[repr(C)]
#[derive(Debug)]
pub struct HexvaultBuffer {
    /// The first byte, or NULL when `len` is 0.
    pub data: *mut u8,
    /// The number of bytes.
    pub len: usize,
    /// The registration number of this buffer: counted from 1, never reused in a process
    /// (so a copy of a freed struct never matches a later buffer at the same address);
    /// 0 for the empty buffer.
    pub id: u64,
}

impl HexvaultBuffer {
    /// The empty buffer.
    pub(crate) const EMPTY: Self = Self {
        data: core::ptr::null_mut(),
        len: 0,
        id: 0,
    };
}

/// Reads `len` bytes at `ptr` as a slice; NULL is accepted when `len` is 0.
///
/// # Safety
/// Unless `len` is 0, `ptr` must point to `len` readable bytes that stay valid and are not
/// written for the lifetime `'a`.
#[allow(unsafe_code)]
pub(crate) unsafe fn input<'a>(
    ptr: *const u8,
    len: usize,
    name: &'static str,
) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::NullPointer(name));
    }
    if isize::try_from(len).is_err() {
        return Err(Error::InvalidArgument {
            name,
            reason: format!("length {len} exceeds isize::MAX"),
        });
    }
    // SAFETY: `ptr` is non-null and, by this function's contract, points to `len` readable
    // bytes valid and unaliased by writers for `'a`; `len <= isize::MAX` was checked.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// Borrows `capacity` bytes at `ptr` as a writable slice; NULL is accepted when `capacity`
/// is 0 (a size query).
///
/// # Safety
/// Unless `capacity` is 0, `ptr` must point to `capacity` writable bytes, not read or
/// written by anything else (including the inputs of the same call) for `'a`.
#[allow(unsafe_code)]
pub(crate) unsafe fn output<'a>(
    ptr: *mut u8,
    capacity: usize,
    name: &'static str,
) -> Result<&'a mut [u8], Error> {
    if capacity == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Error::NullPointer(name));
    }
    if isize::try_from(capacity).is_err() {
        return Err(Error::InvalidArgument {
            name,
            reason: format!("capacity {capacity} exceeds isize::MAX"),
        });
    }
    // SAFETY: `ptr` is non-null and, by this function's contract, points to `capacity`
    // writable bytes that nothing else accesses for `'a`; `capacity <= isize::MAX`.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, capacity) })
}

/// Borrows the `T` at `ptr` mutably; fails on NULL.
///
/// # Safety
/// A non-null `ptr` must point to a valid, aligned `T` that nothing else accesses for `'a`.
#[allow(unsafe_code)]
pub(crate) unsafe fn place<'a, T>(ptr: *mut T, name: &'static str) -> Result<&'a mut T, Error> {
    // SAFETY: by this function's contract, a non-null `ptr` is valid, aligned and unaliased
    // for `'a`; `as_mut` returns None for NULL.
    unsafe { ptr.as_mut() }.ok_or(Error::NullPointer(name))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held (caught at the boundary) leaves a consistent map: every
    // critical section below is a single insert, remove or lookup.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The buffers handed out and not yet freed.
struct BufferRegistry {
    /// Registration number -> (address, length).
    live: BTreeMap<u64, (usize, usize)>,
    /// The next registration number; numbers are counted from 1 and never reused.
    next_id: u64,
}

static LIVE_BUFFERS: Mutex<BufferRegistry> = Mutex::new(BufferRegistry {
    live: BTreeMap::new(),
    next_id: 1,
});

/// Hands `bytes` to C as a registered buffer. The allocation is exactly `len` bytes; when
/// the vector had spare capacity its bytes are copied and the vector zeroized, so that no
/// unzeroized copy is left behind by a reallocation.
pub(crate) fn hand_out(mut bytes: Vec<u8>) -> Result<HexvaultBuffer, Error> {
    if bytes.is_empty() {
        return Ok(HexvaultBuffer::EMPTY);
    }
    let boxed: Box<[u8]> = if bytes.len() == bytes.capacity() {
        bytes.into_boxed_slice()
    } else {
        let copy = Box::<[u8]>::from(bytes.as_slice());
        bytes.zeroize();
        copy
    };
    register_buffer(boxed)
}

/// Hands a copy of `bytes` to C as a registered buffer: for plaintexts the library returns as
/// a self-wiping type (`Plaintext`), which wipes its own allocation when dropped.
pub(crate) fn hand_out_copy(bytes: &[u8]) -> Result<HexvaultBuffer, Error> {
    if bytes.is_empty() {
        return Ok(HexvaultBuffer::EMPTY);
    }
    register_buffer(Box::from(bytes))
}

/// Records a boxed slice in the live-buffer registry under a new registration number and
/// gives its ownership to C.
fn register_buffer(mut boxed: Box<[u8]>) -> Result<HexvaultBuffer, Error> {
    let mut registry = lock(&LIVE_BUFFERS);
    let id = registry.next_id;
    let Some(next_id) = id.checked_add(1) else {
        boxed.zeroize();
        return Err(Error::Internal(
            "buffer registration numbers are exhausted (2^64 buffers in one process)",
        ));
    };
    registry.next_id = next_id;
    let len = boxed.len();
    let data = Box::into_raw(boxed).cast::<u8>();
    registry.live.insert(id, (data as usize, len));
    Ok(HexvaultBuffer { data, len, id })
}

/// Zeroizes and frees a buffer from [`hand_out`], and empties the caller's struct. A struct
/// with NULL `data` and `len` 0 is a no-op, so freeing the same struct twice is harmless; a
/// struct this library did not hand out, or whose buffer was already freed (through a copy
/// of the struct, even if a later buffer got the same address and length), is refused
/// without touching the memory: its registration number `id` is never reused.
#[allow(unsafe_code)]
pub(crate) fn release(buffer: &mut HexvaultBuffer) -> Result<(), Error> {
    if buffer.data.is_null() && buffer.len == 0 {
        return Ok(());
    }
    let address = buffer.data as usize;
    {
        let mut registry = lock(&LIVE_BUFFERS);
        if registry.live.get(&buffer.id) != Some(&(address, buffer.len)) {
            return Err(Error::InvalidHandle {
                what: format!(
                    "buffer {{data = {:#x}, len = {}, id = {}}}",
                    address, buffer.len, buffer.id
                ),
            });
        }
        registry.live.remove(&buffer.id);
    }
    let slice = core::ptr::slice_from_raw_parts_mut(buffer.data, buffer.len);
    // SAFETY: (id, address, len) was in the live map, so `slice` is exactly the allocation
    // that `register_buffer` leaked with `Box::into_raw` under that never-reused id and that
    // has not been reclaimed since: it was removed from the map under the lock, so no other
    // call can reclaim it again.
    let mut boxed = unsafe { Box::from_raw(slice) };
    boxed.zeroize();
    drop(boxed);
    *buffer = HexvaultBuffer::EMPTY;
    Ok(())
}

/// An AES-256-GCM sealing key with a budget of seals.
pub(crate) struct Encryptor {
    key: SealingKey,
    budget: u64,
    reserved: AtomicU64,
}

/// A snapshot of an encryptor's usage, as C sees it.
pub(crate) struct Usage {
    pub(crate) sealed: u64,
    pub(crate) budget: u64,
    pub(crate) rotate_soon: bool,
    pub(crate) rotation_needed: bool,
}

impl Encryptor {
    /// `budget` 0 means the AEAD's own limit, [`SEAL_LIMIT`] (2^32).
    pub(crate) fn new(key: SealingKey, budget: u64) -> Result<Self, Error> {
        if budget > SEAL_LIMIT {
            return Err(Error::InvalidArgument {
                name: "max_seals",
                reason: format!(
                    "{budget} exceeds the AES-GCM limit of 2^32 seals per key instance; pass 0 for that limit"
                ),
            });
        }
        let budget = if budget == 0 { SEAL_LIMIT } else { budget };
        Ok(Self {
            key,
            budget,
            reserved: AtomicU64::new(0),
        })
    }

    pub(crate) const fn key(&self) -> &SealingKey {
        &self.key
    }

    /// Takes one seal from the budget, or refuses once it is used up.
    pub(crate) fn reserve_seal(&self) -> Result<(), Error> {
        self.reserved
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.budget).then_some(used.saturating_add(1))
            })
            .map(|_| ())
            .map_err(|_| Error::RotationNeeded {
                budget: self.budget,
            })
    }

    pub(crate) fn usage(&self) -> Usage {
        let usage = self.key.usage();
        let reserved = self.reserved.load(Ordering::Acquire);
        let state = usage.state();
        Usage {
            sealed: usage.sealed(),
            budget: self.budget,
            // At least half, never rounded down: `2 · used >= budget` (budget 1: after the
            // seal; budget 3: after 2 seals).
            rotate_soon: state != UsageState::Normal || reserved.saturating_mul(2) >= self.budget,
            rotation_needed: state == UsageState::Exhausted || reserved >= self.budget,
        }
    }
}

/// Handle value -> encryptor. Handles are counters from 1 and never reused in a process.
static ENCRYPTORS: Mutex<BTreeMap<u64, Arc<Encryptor>>> = Mutex::new(BTreeMap::new());
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// Registers an encryptor and returns its new handle.
pub(crate) fn register(encryptor: Encryptor) -> u64 {
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    lock(&ENCRYPTORS).insert(handle, Arc::new(encryptor));
    handle
}

/// The encryptor behind `handle`, kept alive by the returned `Arc` for as long as the
/// caller uses it, even if another thread frees the handle meanwhile.
pub(crate) fn lookup(handle: u64) -> Result<Arc<Encryptor>, Error> {
    lock(&ENCRYPTORS)
        .get(&handle)
        .cloned()
        .ok_or_else(|| unknown_handle(handle))
}

/// Removes `handle`; the encryptor is dropped when the last call
/// still using it returns.
pub(crate) fn unregister(handle: u64) -> Result<(), Error> {
    let removed = lock(&ENCRYPTORS).remove(&handle);
    match removed {
        Some(encryptor) => {
            drop(encryptor);
            Ok(())
        }
        None => Err(unknown_handle(handle)),
    }
}

fn unknown_handle(handle: u64) -> Error {
    Error::InvalidHandle {
        what: format!("encryptor handle {handle}"),
    }
}
