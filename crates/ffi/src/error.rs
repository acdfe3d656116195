//! The crate's error enum, its stable C status codes, and the thread-local last-error detail.

use std::cell::RefCell;
use std::ffi::CString;

use facade::{aead, envelope};

/// The status every `hexvault_*` function returns. The numbers are part of the ABI: a code
/// never changes meaning, and new codes only ever get new numbers.
///
/// The Rust errors behind them are `#[non_exhaustive]`: each known variant is mapped
/// explicitly, and a variant added by a later version maps to [`HexvaultStatus::Unknown`]
/// until it is given a code of its own.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HexvaultStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of range or malformed (length, key size, UTF-8, option value).
    InvalidArgument = 2,
    /// The output buffer is too small; the required size was written to `*out_len` and
    /// nothing else happened (no nonce was consumed).
    BufferTooSmall = 3,
    /// Decryption failed: wrong key, wrong associated data, or modified ciphertext.
    AuthenticationFailed = 4,
    /// An envelope checksum (header or content) does not match: the envelope is corrupt.
    ChecksumMismatch = 5,
    /// A size limit was exceeded (envelope limits, decompression-bomb checks, GCM length).
    LimitExceeded = 6,
    /// The encryptor's budget of seals is used up: sealing is refused; create a new
    /// encryptor with a new key (rotate).
    RotationNeeded = 7,
    /// The handle is unknown: never created, already freed, or not a hexvault handle; or a
    /// buffer passed to `hexvault_buffer_free` was not handed out by this library.
    InvalidHandle = 8,
    /// The input is not a well-formed hexvault ciphertext or envelope (magic, version,
    /// truncation, non-canonical header).
    MalformedInput = 9,
    /// The ciphertext names a key version other than the encryptor's.
    WrongKeyVersion = 10,
    /// An internal failure: the OS random generator failed, memory could not be reserved,
    /// or a bug (the detail string says which).
    Internal = 11,
    /// A panic was caught at the boundary; the operation did not complete. Please report it.
    Panic = 12,
    /// An error this version of the C ABI has no code for yet (the detail string names it).
    Unknown = 13,
}

impl HexvaultStatus {
    /// Every code, in numeric order.
    pub(crate) const ALL: [Self; 14] = [
        Self::Ok,
        Self::NullPointer,
        Self::InvalidArgument,
        Self::BufferTooSmall,
        Self::AuthenticationFailed,
        Self::ChecksumMismatch,
        Self::LimitExceeded,
        Self::RotationNeeded,
        Self::InvalidHandle,
        Self::MalformedInput,
        Self::WrongKeyVersion,
        Self::Internal,
        Self::Panic,
        Self::Unknown,
    ];

    /// A static, NUL-terminated description of the code.
    pub(crate) const fn message(self) -> &'static str {
        match self {
            Self::Ok => "success\0",
            Self::NullPointer => "a required pointer argument was NULL\0",
            Self::InvalidArgument => {
                "an argument is out of range or malformed; see hexvault_last_error()\0"
            }
            Self::BufferTooSmall => {
                "the output buffer is too small; the required size was written to *out_len\0"
            }
            Self::AuthenticationFailed => {
                "decryption failed: wrong key, wrong associated data, or the ciphertext was modified\0"
            }
            Self::ChecksumMismatch => "checksum mismatch: the envelope is corrupt\0",
            Self::LimitExceeded => "a size limit was exceeded; see hexvault_last_error()\0",
            Self::RotationNeeded => {
                "this encryptor's sealing budget is used up: create a new encryptor with a new key\0"
            }
            Self::InvalidHandle => "unknown, freed or foreign handle or buffer\0",
            Self::MalformedInput => {
                "the input is not a well-formed hexvault ciphertext or envelope\0"
            }
            Self::WrongKeyVersion => {
                "the ciphertext names another key version than the encryptor's\0"
            }
            Self::Internal => "internal error; see hexvault_last_error()\0",
            Self::Panic => "internal panic caught at the C boundary; please report this bug\0",
            Self::Unknown => "an error without a C status code yet; see hexvault_last_error()\0",
        }
    }
}

/// Everything that can go wrong at the C boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required pointer was NULL.
    #[error("argument `{0}` is NULL; pass a valid pointer")]
    NullPointer(&'static str),
    /// An argument is out of range or malformed.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it and what to pass instead.
        reason: String,
    },
    /// The caller's output buffer is too small.
    #[error(
        "output buffer too small: {required} bytes needed, {capacity} given; call again with \
         a buffer of at least *out_len bytes"
    )]
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
        /// Bytes given.
        capacity: usize,
    },
    /// An unknown, freed or foreign handle or buffer.
    #[error("{what} is unknown: never created, already freed, or not from this library")]
    InvalidHandle {
        /// Which kind of object, with its value.
        what: String,
    },
    /// The encryptor's budget of seals is used up.
    #[error(
        "this encryptor has used its budget of {budget} seals; rotate: create a new encryptor \
         with a new key (and a new key version)"
    )]
    RotationNeeded {
        /// The budget given at creation.
        budget: u64,
    },
    /// An error of the AEAD.
    #[error(transparent)]
    Aead(#[from] aead::Error),
    /// An error of the byte envelope.
    #[error(transparent)]
    Envelope(#[from] envelope::Error),
    /// A bug inside this crate: an impossible case.
    #[error("internal error in hexvault-ffi ({0}); please report this bug")]
    Internal(&'static str),
    /// A panic caught at the boundary.
    #[error("internal panic caught at the C boundary ({0}); please report this bug")]
    Panic(String),
}

impl Error {
    /// The stable C code of this error. Every known variant of the wrapped error enums is
    /// listed; the catch-all arm covers variants added after this version.
    pub(crate) fn status(&self) -> HexvaultStatus {
        match self {
            Self::NullPointer(_) => HexvaultStatus::NullPointer,
            Self::InvalidArgument { .. } => HexvaultStatus::InvalidArgument,
            Self::BufferTooSmall { .. } => HexvaultStatus::BufferTooSmall,
            Self::InvalidHandle { .. } => HexvaultStatus::InvalidHandle,
            Self::RotationNeeded { .. } => HexvaultStatus::RotationNeeded,
            Self::Aead(error) => aead_status(error),
            Self::Envelope(error) => envelope_status(error),
            Self::Internal(_) => HexvaultStatus::Internal,
            Self::Panic(_) => HexvaultStatus::Panic,
        }
    }
}

fn aead_status(error: &aead::Error) -> HexvaultStatus {
    use aead::Error as E;
    match error {
        E::Authentication => HexvaultStatus::AuthenticationFailed,
        E::UnknownMagic
        | E::UnsupportedFormatVersion { .. }
        | E::Truncated { .. }
        | E::UnsupportedEncryptedDataVersion { .. }
        | E::InvalidIvLength { .. }
        | E::InvalidSaltLength { .. }
        | E::MalformedEncryptedData { .. }
        | E::LegacyKeyVersion => HexvaultStatus::MalformedInput,
        E::WrongKeyVersion { .. } | E::UnknownKeyVersion { .. } | E::KeyVersionRetired { .. } => {
            HexvaultStatus::WrongKeyVersion
        }
        E::KeyExhausted { .. } => HexvaultStatus::RotationNeeded,
        E::InvalidKeyVersion { .. } | E::InvalidKeyLength { .. } => HexvaultStatus::InvalidArgument,
        E::TooLong { .. } => HexvaultStatus::LimitExceeded,
        // Streams are not reachable through the C ABI today; mapped like their neighbours
        // so that no known variant falls through to `Unknown`.
        E::MalformedStream { .. } => HexvaultStatus::MalformedInput,
        // The C ABI checks the lengths before it copies: a mismatch would be a bug here.
        E::Internal { .. } | E::Rng | E::Io { .. } | E::CopyLengthMismatch { .. } => {
            HexvaultStatus::Internal
        }
        _ => HexvaultStatus::Unknown,
    }
}

fn envelope_status(error: &envelope::Error) -> HexvaultStatus {
    use envelope::Error as E;
    match error {
        E::TruncatedHeader { .. }
        | E::BadMagic
        | E::UnsupportedVersion { .. }
        | E::UnknownFlags { .. }
        | E::NonCanonicalHeader { .. }
        | E::LengthMismatch { .. }
        | E::CorruptLz4 { .. }
        | E::CompressionUnsupported
        | E::ChecksumUnsupported
        | E::ChecksumMissing => HexvaultStatus::MalformedInput,
        E::HeaderChecksumMismatch { .. } | E::PayloadChecksumMismatch | E::ChecksumMismatch => {
            HexvaultStatus::ChecksumMismatch
        }
        E::OriginalTooLarge { .. } | E::EnvelopeTooLarge { .. } | E::ImpossibleRatio { .. } => {
            HexvaultStatus::LimitExceeded
        }
        E::InvalidContentType { .. } | E::LimitAboveCeiling { .. } | E::InvalidLimit { .. } => {
            HexvaultStatus::InvalidArgument
        }
        E::OutOfMemory { .. } | E::Internal { .. } => HexvaultStatus::Internal,
        _ => HexvaultStatus::Unknown,
    }
}

thread_local! {
    /// The detail of the last failed call on this thread (empty after a success).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records the outcome of a call on this thread: the error's text, or nothing.
///
/// Never panics: once this thread's storage is destroyed (a call from a pthread key
/// destructor or a C++ `thread_local` destructor at thread exit), nothing is recorded and
/// the caller still gets its status code.
pub(crate) fn set_last_error(error: Option<&Error>) {
    let Some(error) = error else {
        // The hot path: a success after a success allocates nothing.
        let _destroyed = LAST_ERROR.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut()
                && !slot.as_bytes().is_empty()
            {
                *slot = CString::default();
            }
        });
        return;
    };
    let text = error.to_string();
    // An interior NUL cannot be represented in a C string: cut the text there.
    let text = match text.split_once('\0') {
        Some((head, _)) => head.to_owned(),
        None => text,
    };
    let detail = CString::new(text).unwrap_or_default();
    let _destroyed = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = detail;
        }
    });
}

/// A pointer to this thread's last-error text, valid until the next `hexvault_*` call on
/// this thread; a static empty string once this thread's storage is destroyed.
pub(crate) fn last_error_ptr() -> *const core::ffi::c_char {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().map(|text| text.as_ptr()).ok())
        .ok()
        .flatten()
        .unwrap_or_else(|| c"".as_ptr())
}
