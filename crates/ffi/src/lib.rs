//! `hexvault-ffi`: the C ABI of hexvault (`-lhexvault`, header `include/hexvault.h`).
//!
//! Every exported function returns a [`HexvaultStatus`] (stable numbers), catches panics
//! (returned as `HEXVAULT_STATUS_PANIC`) and records a detail string readable with
//! `hexvault_last_error()`. Buffers the library allocates are freed with
//! `hexvault_buffer_free` (which zeroizes them); encryptors are opaque `u64` handles looked
//! up in a registry, so a freed, foreign or garbage handle is an error and a handle freed on
//! one thread while another uses it cannot cause a use-after-free. See `crates/ffi/README.md`
//! and ADR 0054.
//!
//! This crate and `src/raw.rs` hold the workspace's only `unsafe` code: each exported
//! function and pointer helper carries `#[allow(unsafe_code)]`, each block a `// SAFETY:`.

mod error;
mod raw;

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use facade::aead::{self, KEY_LEN, Key, KeyVersion, OVERHEAD, SealingKey};
use facade::envelope::{ByteStorage, Compression, ContentType, Limits, Options};

pub use error::{Error, HexvaultStatus};
pub use raw::HexvaultBuffer;

/// An encryptor handle: an opaque number, never a pointer. 0 is never a valid handle, and
/// a handle value is never reused within a process.
pub type HexvaultEncryptor = u64;

/// Options of `hexvault_envelope_store` and `hexvault_envelope_retrieve`. Start from
/// `hexvault_envelope_options_default()` and change fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HexvaultEnvelopeOptions {
    /// 1: compress with LZ4 when it makes the envelope smaller; 0: store raw (the default).
    /// Compressing secrets mixed with attacker-influenced data leaks through the length
    /// (CRIME/BREACH): leave 0 for secrets. Other values are invalid.
    pub compress: u8,
    /// Largest original (uncompressed) length accepted, at most 512 MiB; 0: 512 MiB.
    pub max_original_len: u64,
    /// Largest envelope accepted or produced, at most 512 MiB; 0: 512 MiB.
    pub max_envelope_len: u64,
    /// Content-type label written by `store` (printable ASCII, at most 64 bytes), or NULL.
    pub content_type: *const u8,
    /// Length of `content_type` in bytes (ignored when it is NULL).
    pub content_type_len: usize,
}

/// An encryptor's usage, from `hexvault_encryptor_status`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HexvaultEncryptorStatus {
    /// Seals performed (each consumed one nonce).
    pub encryptions: u64,
    /// The encryptor's budget of seals (2^32 unless a lower one was chosen).
    pub budget: u64,
    /// 1 once at least half the budget (`2 · used >= budget`, never rounded down: a budget
    /// of 3 after 2 seals) or 2^31 seals are used: plan the rotation. A seal that failed
    /// after the budget check counts as used (see `hexvault_encryptor_seal`).
    pub rotate_soon: u8,
    /// 1 once the budget is used up: sealing is refused with
    /// `HEXVAULT_STATUS_ROTATION_NEEDED`; opening still works.
    pub rotation_needed: u8,
}

/// Runs one entry point: catches a panic, maps the error to its code and records the
/// detail string of this thread.
fn guard(body: impl FnOnce() -> Result<(), Error>) -> HexvaultStatus {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        Err(Error::Panic(text))
    });
    match outcome {
        Ok(()) => {
            error::set_last_error(None);
            HexvaultStatus::Ok
        }
        Err(error) => {
            error::set_last_error(Some(&error));
            error.status()
        }
    }
}

/// Checks `capacity` against `required` and writes `required` to `out_len` either way.
fn check_capacity(required: usize, capacity: usize, out_len: &mut usize) -> Result<(), Error> {
    *out_len = required;
    if capacity < required {
        return Err(Error::BufferTooSmall { required, capacity });
    }
    Ok(())
}

fn utf8<'a>(bytes: &'a [u8], name: &'static str) -> Result<&'a str, Error> {
    core::str::from_utf8(bytes).map_err(|error| Error::InvalidArgument {
        name,
        reason: format!("not UTF-8 ({error})"),
    })
}

/// The limits of `options` (0 in a field: the 512 MiB ceiling); the defaults without options.
fn limits_from(options: Option<&HexvaultEnvelopeOptions>) -> Result<Limits, Error> {
    let Some(options) = options else {
        return Ok(Limits::default());
    };
    let or_ceiling = |value: u64| {
        if value == 0 {
            facade::envelope::LIMIT_CEILING
        } else {
            value
        }
    };
    Ok(Limits::new(
        or_ceiling(options.max_original_len),
        or_ceiling(options.max_envelope_len),
    )?)
}

/// The storage `hexvault_envelope_store` uses: limits, compression policy and the label
/// (already read from C memory by the caller).
fn storing_storage(
    options: Option<&HexvaultEnvelopeOptions>,
    label: Option<&[u8]>,
) -> Result<ByteStorage, Error> {
    let compression = match options.map_or(0, |options| options.compress) {
        0 => Compression::Never,
        1 => Compression::Auto,
        other => {
            return Err(Error::InvalidArgument {
                name: "options->compress",
                reason: format!("{other}; pass 0 (store raw) or 1 (compress when it pays)"),
            });
        }
    };
    let content_type = label.map(ContentType::from_bytes).transpose()?;
    Ok(ByteStorage::new(
        Options::default()
            .with_compression(compression)
            .with_limits(limits_from(options)?)
            .with_content_type(content_type),
    ))
}

/// The version of the C ABI this header describes: raised whenever a struct's layout, a
/// function's signature or a status code's meaning changes. A program compares
/// `hexvault_abi_version()` with the `HEXVAULT_ABI_VERSION` it was compiled against before
/// its first other call, and stops on a mismatch (a library of another ABI would read and
/// write its structs with another layout).
pub const HEXVAULT_ABI_VERSION: u32 = 1;

/// The ABI version of the library loaded at run time (see `HEXVAULT_ABI_VERSION`).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_abi_version() -> u32 {
    HEXVAULT_ABI_VERSION
}

/// The library version, a static NUL-terminated string such as `"0.1.0"`. Never NULL;
/// never free it.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A static NUL-terminated description of a status code (any value: unknown codes get a
/// generic text). Never NULL; never free it.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_error_message(code: i32) -> *const c_char {
    HexvaultStatus::ALL
        .iter()
        .find(|status| **status as i32 == code)
        .map_or("unknown hexvault status code\0", |status| status.message())
        .as_ptr()
        .cast()
}

/// The detail of the last failed `hexvault_*` call on this thread, as a NUL-terminated
/// string (empty after a success). Valid until the next `hexvault_*` call on this thread;
/// never free it. Never NULL.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_last_error() -> *const c_char {
    error::last_error_ptr()
}

/// Zeroizes and frees a buffer the library returned, then sets `*buffer` to
/// `{ NULL, 0, 0 }`. Freeing an empty buffer (so the same struct twice) is a no-op; a buffer
/// the library did not hand out, or already freed through a copy of the struct, returns
/// `HEXVAULT_STATUS_INVALID_HANDLE` and touches no memory, even when a later buffer has the
/// same address and length (the struct's `id` is a registration number never reused in a
/// process, and all three fields must match). Never pass these buffers to `free()`.
///
/// # Safety
/// `buffer` must be NULL or point to a valid `HexvaultBuffer`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_buffer_free(buffer: *mut HexvaultBuffer) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `buffer` is NULL or a valid, unaliased struct.
        let buffer = unsafe { raw::place(buffer, "buffer") }?;
        raw::release(buffer)
    })
}

/// The default envelope options: store raw (no compression), limits at 512 MiB, no label.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_envelope_options_default() -> HexvaultEnvelopeOptions {
    HexvaultEnvelopeOptions {
        compress: 0,
        max_original_len: 0,
        max_envelope_len: 0,
        content_type: core::ptr::null(),
        content_type_len: 0,
    }
}

/// Frames `data` into a new envelope (`HXEV`, xxHash3-64 checksums, LZ4 if
/// `options->compress`), returned in `*out` (free it with `hexvault_buffer_free`).
/// `options` may be NULL for the defaults.
///
/// # Safety
/// `data` must point to `data_len` readable bytes (or be anything when `data_len` is 0);
/// `options` must be NULL or valid (its `content_type` NULL or `content_type_len` readable
/// bytes); `out` must point to a writable `HexvaultBuffer`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_envelope_store(
    data: *const u8,
    data_len: usize,
    options: *const HexvaultEnvelopeOptions,
    out: *mut HexvaultBuffer,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out` is NULL or a valid, unaliased struct.
        let out = unsafe { raw::place(out, "out") }?;
        *out = HexvaultBuffer::EMPTY;
        // SAFETY: the caller guarantees `data` holds `data_len` readable bytes.
        let data = unsafe { raw::input(data, data_len, "data") }?;
        // SAFETY: the caller guarantees `options` is NULL or a valid struct.
        let options = unsafe { options.as_ref() };
        let label = match options {
            Some(options) if !options.content_type.is_null() => {
                // SAFETY: the caller guarantees a non-NULL `content_type` points to
                // `content_type_len` readable bytes.
                Some(unsafe {
                    raw::input(
                        options.content_type,
                        options.content_type_len,
                        "options->content_type",
                    )
                }?)
            }
            _ => None,
        };
        let envelope = storing_storage(options, label)?.store(data)?;
        *out = raw::hand_out(envelope)?;
        Ok(())
    })
}

/// Checks and unpacks an envelope into `*out` (free it with `hexvault_buffer_free`; it is
/// zeroized then). `options` may be NULL; its limits apply, its other fields are ignored.
/// An envelope without checksums (its checksum flag clear: nothing would detect a change
/// to its content) is refused with `HEXVAULT_STATUS_MALFORMED_INPUT`; this library writes
/// none.
///
/// # Safety
/// As `hexvault_envelope_store`, with `envelope` for `data`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_envelope_retrieve(
    envelope: *const u8,
    envelope_len: usize,
    options: *const HexvaultEnvelopeOptions,
    out: *mut HexvaultBuffer,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out` is NULL or a valid, unaliased struct.
        let out = unsafe { raw::place(out, "out") }?;
        *out = HexvaultBuffer::EMPTY;
        // SAFETY: the caller guarantees `envelope` holds `envelope_len` readable bytes.
        let envelope = unsafe { raw::input(envelope, envelope_len, "envelope") }?;
        // SAFETY: the caller guarantees `options` is NULL or a valid struct.
        let options = unsafe { options.as_ref() };
        let storage = ByteStorage::new(Options::default().with_limits(limits_from(options)?));
        let data = storage.retrieve(envelope)?;
        *out = raw::hand_out_copy(data.expose_secret())?;
        Ok(())
    })
}

/// Derives a tenant-isolated 32-byte key from a 32-byte master key with HKDF-SHA256
/// (`derive_domain_key(master, domain, tenant)`, docs/formats.md) into `out_key`.
/// `domain` and `tenant` are UTF-8 (not NUL-terminated; lengths given). `*out_len`
/// receives 32; with `out_capacity < 32` nothing is derived and
/// `HEXVAULT_STATUS_BUFFER_TOO_SMALL` is returned.
///
/// # Safety
/// `master` must point to `master_len` readable bytes, `domain` and `tenant` to their
/// lengths, `out_key` to `out_capacity` writable bytes (NULL allowed when 0), `out_len` to
/// a writable `size_t`; the output must not overlap the inputs.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_derive_domain_key(
    master: *const u8,
    master_len: usize,
    domain: *const u8,
    domain_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    out_key: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out_len` is NULL or a valid, unaliased size_t.
        let out_len = unsafe { raw::place(out_len, "out_len") }?;
        check_capacity(KEY_LEN, out_capacity, out_len)?;
        // SAFETY: the caller guarantees each input holds its length in readable bytes.
        let master = unsafe { raw::input(master, master_len, "master") }?;
        // SAFETY: as above.
        let domain = utf8(
            unsafe { raw::input(domain, domain_len, "domain") }?,
            "domain",
        )?;
        // SAFETY: as above.
        let tenant = utf8(
            unsafe { raw::input(tenant, tenant_len, "tenant") }?,
            "tenant",
        )?;
        // SAFETY: the caller guarantees `out_key` holds `out_capacity` writable bytes that
        // overlap no input.
        let out_key = unsafe { raw::output(out_key, out_capacity, "out_key") }?;
        let master = Key::from_slice(master)?;
        let derived = aead::derive_domain_key(&master, domain, tenant)?;
        out_key
            .get_mut(..KEY_LEN)
            .ok_or(Error::BufferTooSmall {
                required: KEY_LEN,
                capacity: out_capacity,
            })?
            .copy_from_slice(derived.expose_secret());
        Ok(())
    })
}

/// Creates an AES-256-GCM encryptor from a 32-byte key and its key version (1 or more,
/// written into every ciphertext header) and writes its handle to `*out_handle`.
/// `max_seals` is this encryptor's budget of seals before `HEXVAULT_STATUS_ROTATION_NEEDED`
/// (0: 2^32, the AES-GCM limit per key instance; larger values are invalid). The budget and
/// the count are per encryptor, not per key: each encryptor made from the same key has its
/// own. The key bytes are copied; wipe yours. The encryptor uses the ring backend: the AES
/// key schedule it builds (which begins with the key itself) is freed without being wiped
/// when the encryptor is freed (SECURITY.md, "Known limits").
///
/// # Safety
/// `key` must point to `key_len` readable bytes; `out_handle` to a writable
/// `HexvaultEncryptor`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_encryptor_new(
    key: *const u8,
    key_len: usize,
    key_version: u32,
    max_seals: u64,
    out_handle: *mut HexvaultEncryptor,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out_handle` is NULL or valid and unaliased.
        let out_handle = unsafe { raw::place(out_handle, "out_handle") }?;
        *out_handle = 0;
        // SAFETY: the caller guarantees `key` holds `key_len` readable bytes.
        let key = unsafe { raw::input(key, key_len, "key") }?;
        let sealing = SealingKey::new(Key::from_slice(key)?, KeyVersion::new(key_version)?)?;
        *out_handle = raw::register(raw::Encryptor::new(sealing, max_seals)?);
        Ok(())
    })
}

/// Frees an encryptor handle. Calls already running on other threads with this handle
/// finish normally (the encryptor lives until the last of them returns); later calls, and a
/// second free, return `HEXVAULT_STATUS_INVALID_HANDLE`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_encryptor_free(handle: HexvaultEncryptor) -> HexvaultStatus {
    guard(|| raw::unregister(handle))
}

/// Seals `plaintext` with associated data `aad` into `out`:
/// `"HXVA" ‖ 01 ‖ key version ‖ nonce ‖ ciphertext ‖ tag` (plaintext length + 37 bytes).
/// `*out_len` receives that size; when `out_capacity` is smaller (a NULL `out` with
/// capacity 0 is a size query) the call returns `HEXVAULT_STATUS_BUFFER_TOO_SMALL` before
/// touching the key: no nonce is consumed and the budget is unchanged. Past the budget it
/// returns `HEXVAULT_STATUS_ROTATION_NEEDED` and seals nothing. Every other call takes one
/// seal from the budget before it seals: a seal that then fails in the AEAD (its nonce
/// possibly drawn) still counts against the budget, since a nonce is never reused; `out`
/// is zeroed then.
///
/// # Safety
/// `plaintext` and `aad` must point to their lengths in readable bytes (anything when the
/// length is 0), `out` to `out_capacity` writable bytes overlapping neither, `out_len` to a
/// writable `size_t`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_encryptor_seal(
    handle: HexvaultEncryptor,
    plaintext: *const u8,
    plaintext_len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out_len` is NULL or valid and unaliased.
        let out_len = unsafe { raw::place(out_len, "out_len") }?;
        let required = plaintext_len
            .checked_add(OVERHEAD)
            .ok_or(Error::InvalidArgument {
                name: "plaintext_len",
                reason: "too large to seal".to_owned(),
            })?;
        // The handle first, as `open` does: a size query on a freed handle is an invalid
        // handle, not a buffer too small.
        let encryptor = raw::lookup(handle)?;
        check_capacity(required, out_capacity, out_len)?;
        // SAFETY: the caller guarantees both inputs hold their lengths in readable bytes.
        let plaintext = unsafe { raw::input(plaintext, plaintext_len, "plaintext") }?;
        // SAFETY: as above.
        let aad = unsafe { raw::input(aad, aad_len, "aad") }?;
        // SAFETY: the caller guarantees `out` holds `out_capacity` writable bytes that
        // overlap neither input.
        let out = unsafe { raw::output(out, out_capacity, "out") }?;
        let sealed = out.get_mut(..required).ok_or(Error::BufferTooSmall {
            required,
            capacity: out_capacity,
        })?;
        let body = sealed
            .get_mut(aead::HEADER_LEN..required.saturating_sub(aead::TAG_LEN))
            .ok_or(Error::Internal(
                "sealed buffer shorter than header plus tag",
            ))?;
        // Checked before a seal is reserved, so that it never spends one.
        if body.len() != plaintext.len() {
            return Err(Error::Internal(
                "sealed body length differs from the plaintext's",
            ));
        }
        encryptor.reserve_seal()?;
        aead::copy_from_slice(body, plaintext)?;
        if let Err(error) = encryptor.key().seal_in_place(aad, sealed) {
            // Nothing unauthenticated or plain is left in the caller's buffer.
            sealed.fill(0);
            return Err(error.into());
        }
        Ok(())
    })
}

/// Opens a ciphertext from `hexvault_encryptor_seal` (or Rust's `SealingKey::seal` with the
/// same key) into `out`. `*out_len` receives the plaintext length (ciphertext length − 37)
/// before anything is decrypted; when `out_capacity` is smaller the call returns
/// `HEXVAULT_STATUS_BUFFER_TOO_SMALL`. Nothing is written to `out` unless authentication
/// succeeds.
///
/// # Safety
/// As `hexvault_encryptor_seal`, with `ciphertext` for `plaintext`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_encryptor_open(
    handle: HexvaultEncryptor,
    ciphertext: *const u8,
    ciphertext_len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut u8,
    out_capacity: usize,
    out_len: *mut usize,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out_len` is NULL or valid and unaliased.
        let out_len = unsafe { raw::place(out_len, "out_len") }?;
        *out_len = 0;
        let encryptor = raw::lookup(handle)?;
        // SAFETY: the caller guarantees both inputs hold their lengths in readable bytes.
        let ciphertext = unsafe { raw::input(ciphertext, ciphertext_len, "ciphertext") }?;
        // SAFETY: as above.
        let aad = unsafe { raw::input(aad, aad_len, "aad") }?;
        // Header errors (magic, version, truncation, key version) come before the size check.
        aead::Header::decode(ciphertext)?;
        let required = ciphertext_len.saturating_sub(OVERHEAD);
        check_capacity(required, out_capacity, out_len)?;
        // SAFETY: the caller guarantees `out` holds `out_capacity` writable bytes that
        // overlap neither input.
        let out = unsafe { raw::output(out, out_capacity, "out") }?;
        let opened = encryptor.key().open(ciphertext, aad)?;
        // The plaintext type wipes itself when it drops here, after the copy into `out`.
        let plain: &[u8] = opened.expose_secret();
        let dst = out.get_mut(..plain.len()).ok_or(Error::BufferTooSmall {
            required: plain.len(),
            capacity: out_capacity,
        })?;
        aead::copy_from_slice(dst, plain)?;
        *out_len = plain.len();
        Ok(())
    })
}

/// Writes the encryptor's usage (encryptions used, budget, rotate soon, rotation needed)
/// to `*out`.
///
/// # Safety
/// `out` must point to a writable `HexvaultEncryptorStatus`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn hexvault_encryptor_status(
    handle: HexvaultEncryptor,
    out: *mut HexvaultEncryptorStatus,
) -> HexvaultStatus {
    guard(|| {
        // SAFETY: the caller guarantees `out` is NULL or valid and unaliased.
        let out = unsafe { raw::place(out, "out") }?;
        let usage = raw::lookup(handle)?.usage();
        *out = HexvaultEncryptorStatus {
            encryptions: usage.sealed,
            budget: usage.budget,
            rotate_soon: u8::from(usage.rotate_soon),
            rotation_needed: u8::from(usage.rotation_needed),
        };
        Ok(())
    })
}

/// NOT FOR PRODUCTION (feature `test-support`): panics inside the boundary, so that tests
/// can check that a panic comes back as `HEXVAULT_STATUS_PANIC`.
#[cfg(feature = "test-support")]
#[allow(unsafe_code, clippy::panic)]
#[unsafe(no_mangle)]
pub extern "C" fn hexvault_test_trigger_panic() -> HexvaultStatus {
    guard(|| panic!("hexvault_test_trigger_panic was called"))
}

#[cfg(test)]
mod tests;
