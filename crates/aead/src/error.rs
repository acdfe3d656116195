//! The crate's one error enum and its `Result` alias.

use crate::KeyVersion;

/// Everything that can go wrong in `hexvault-aead`.
///
/// Parse and usage errors are rich and say what to do. A failed authentication is the
/// single variant [`Error::Authentication`], with no detail: it never says whether the
/// key, the associated data or the ciphertext was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The authentication tag did not verify: wrong key, wrong associated data, or the
    /// ciphertext was modified. No plaintext was returned or left in any buffer.
    #[error("decryption failed: wrong key, wrong associated data, or the ciphertext was modified")]
    Authentication,

    /// The input does not start with the hexvault ciphertext magic.
    #[error("not a hexvault ciphertext (unknown magic); check that the input is a sealed blob")]
    UnknownMagic,

    /// The ciphertext names a format version this build does not read.
    #[error("unsupported ciphertext format version {version}; upgrade hexvault to read it")]
    UnsupportedFormatVersion {
        /// The format version found in the header.
        version: u8,
    },

    /// The input is shorter than the smallest valid ciphertext.
    #[error("ciphertext truncated: {len} bytes, at least {min} needed")]
    Truncated {
        /// Length of the input.
        len: usize,
        /// Minimum length of a valid input.
        min: usize,
    },

    /// The header names a key version other than the one of the key used to open it.
    #[error(
        "ciphertext was sealed under key version {found}, but this key is version {expected}; \
         open it with key version {found} (a KeyRing selects it automatically)"
    )]
    WrongKeyVersion {
        /// Version of the key that was used.
        expected: KeyVersion,
        /// Version named in the ciphertext header.
        found: KeyVersion,
    },

    /// The key ring holds no key for the version named in the header.
    #[error("no key for key version {version} in this key ring; load that key version first")]
    UnknownKeyVersion {
        /// Version named in the ciphertext header.
        version: KeyVersion,
    },

    /// The header names a key version the ring retired: below the floor set by
    /// `KeyRing::retire_below` (a version below the ring's keys that was never retired is
    /// [`Error::UnknownKeyVersion`]).
    #[error(
        "key version {version} is retired (versions below {minimum} were retired); \
         the data must have been re-encrypted before retirement, restore the old key to recover it"
    )]
    KeyVersionRetired {
        /// Version named in the ciphertext header.
        version: KeyVersion,
        /// The retirement floor: versions below it were retired.
        minimum: KeyVersion,
    },

    /// The key has sealed 2^32 messages: its nonce space for this instance is spent.
    #[error(
        "key version {version} has sealed 2^32 messages, the AES-GCM limit; \
         rotate to a new key version (KeyRing::rotate) before sealing more"
    )]
    KeyExhausted {
        /// Version of the exhausted key.
        version: KeyVersion,
    },

    /// Key version 0 is reserved, or a new version does not exceed the current primary.
    #[error("invalid key version {version}: {reason}")]
    InvalidKeyVersion {
        /// The offending version number.
        version: u32,
        /// What is required instead.
        reason: &'static str,
    },

    /// Key material of the wrong length.
    #[error("invalid key length {len}: an AES-256 key is exactly 32 bytes")]
    InvalidKeyLength {
        /// Length that was supplied.
        len: usize,
    },

    /// An `EncryptedData` with `key_version` 1 (legacy PBKDF2 scheme).
    #[error(
        "EncryptedData key_version 1 comes from the legacy PBKDF2 scheme, which hexvault does not \
         read; migrate it (decrypt with the old system, re-encrypt with hexvault as key_version 2)"
    )]
    LegacyKeyVersion,

    /// An `EncryptedData` with `key_version` 0, which no scheme uses.
    #[error(
        "unsupported EncryptedData key_version {version}: versions start at 2 (1 is legacy PBKDF2)"
    )]
    UnsupportedEncryptedDataVersion {
        /// The `key_version` field found.
        version: u32,
    },

    /// An `EncryptedData` whose `iv` is not 12 bytes.
    #[error("invalid EncryptedData iv length {len}: AES-256-GCM needs a 12-byte iv")]
    InvalidIvLength {
        /// Length of the `iv` field.
        len: usize,
    },

    /// An `EncryptedData` whose `salt` is neither empty nor 32 bytes.
    #[error(
        "invalid EncryptedData salt length {len}: a credential's salt is 32 bytes \
         (or empty for credentials sealed before per-credential keys); the record was altered"
    )]
    InvalidSaltLength {
        /// Length of the `salt` field.
        len: usize,
    },

    /// `EncryptedData` bytes or JSON that do not decode.
    #[error("malformed EncryptedData: {reason}")]
    MalformedEncryptedData {
        /// What the decoder reported.
        reason: String,
    },

    /// A plaintext, associated data or derived key longer than the algorithm allows.
    #[error("input too long: {what}")]
    TooLong {
        /// Which input, and its limit.
        what: &'static str,
    },

    /// A case the code rules out happened: a bug in hexvault-aead, never caused by input.
    #[error("internal error in hexvault-aead ({what}); please report this bug")]
    Internal {
        /// Which invariant did not hold.
        what: &'static str,
    },

    /// [`copy_from_slice`](crate::copy_from_slice) was given slices of different lengths;
    /// nothing was copied.
    #[error("copy between buffers of different lengths ({destination} and {source_len} bytes)")]
    CopyLengthMismatch {
        /// Length of the destination.
        destination: usize,
        /// Length of the source.
        source_len: usize,
    },

    /// A sealed stream's header or segment layout is not one this crate writes.
    #[error("malformed sealed stream: {reason}")]
    MalformedStream {
        /// What is wrong.
        reason: &'static str,
    },

    /// Reading or writing a stream failed.
    #[error("stream I/O failed: {source}")]
    Io {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random number generator failed.
    #[error(
        "the operating system random number generator failed; retry, or check the OS entropy source"
    )]
    Rng,
}

impl Error {
    pub(crate) const fn io(source: std::io::Error) -> Self {
        Self::Io { source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
