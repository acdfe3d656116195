//! The one error type of `hexvault-envelope`: every way an envelope can be refused, by name.

/// Everything that can go wrong while storing or retrieving an envelope.
///
/// Each variant names one problem and its message says what to do about it. Nothing in
/// this crate authenticates data (that is the AEAD layer's job), so the variants may be
/// as detailed as helps the caller: they are integrity and parsing diagnostics, not
/// answers from a secret-keyed oracle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope is shorter than its header says it must be.
    #[error(
        "truncated envelope header: need at least {needed} bytes, got {got}; the envelope was cut short in transit or storage"
    )]
    TruncatedHeader {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },

    /// The first four bytes are not `HXEV`. The bytes found are not kept (neither the
    /// message nor `Debug` repeats them): the input may be a secret given to the wrong
    /// command.
    #[error(
        "bad magic: this is not a hexvault envelope (it does not start with the bytes \"HXEV\"; the bytes found are not repeated, they may be data)"
    )]
    BadMagic,

    /// The format version byte names a version this build cannot read.
    #[error(
        "unsupported envelope format version {found} (this build reads version {supported}); upgrade hexvault-envelope"
    )]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
        /// The version this build reads and writes.
        supported: u8,
    },

    /// The flags byte has bits this version does not define.
    #[error(
        "unknown envelope flags {flags:#04x}: bits outside {known:#04x} are reserved; the envelope is corrupt or from a newer writer"
    )]
    UnknownFlags {
        /// The flags byte found.
        flags: u8,
        /// The bits this version defines.
        known: u8,
    },

    /// A header field that has exactly one valid encoding holds another.
    #[error("non-canonical envelope header: {field}; the envelope is corrupt")]
    NonCanonicalHeader {
        /// Which field is wrong.
        field: &'static str,
    },

    /// The content-type label is too long or holds bytes outside printable ASCII.
    #[error(
        "invalid content-type label: {reason}; use 1 to {max} printable ASCII bytes (0x20..=0x7e)",
        max = crate::ContentType::MAX_LEN
    )]
    InvalidContentType {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The header checksum does not match the header bytes.
    #[error(
        "envelope header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}; the header is corrupt"
    )]
    HeaderChecksumMismatch {
        /// Value stored in the envelope.
        stored: u32,
        /// Value computed over the header as read.
        computed: u32,
    },

    /// The payload check does not match the compressed payload. Neither value is kept:
    /// both are hashes of the (compressed) content, which a short secret could be found
    /// from (review round 50).
    #[error("envelope payload checksum mismatch; the compressed payload is corrupt")]
    PayloadChecksumMismatch,

    /// The original (uncompressed) length is over the configured limit.
    #[error(
        "length over limit: original length {declared} bytes exceeds the limit of {limit} bytes; split the data or raise the limit (at most 512 MiB)"
    )]
    OriginalTooLarge {
        /// Length declared by the envelope (retrieve) or given to `store`.
        declared: u64,
        /// The configured limit.
        limit: u64,
    },

    /// The envelope itself is over the configured limit.
    #[error(
        "length over limit: envelope of {len} bytes exceeds the limit of {limit} bytes; split the data or raise the limit (at most 512 MiB)"
    )]
    EnvelopeTooLarge {
        /// Length of the envelope.
        len: u64,
        /// The configured limit.
        limit: u64,
    },

    /// The declared original length is more than the payload can decode to.
    #[error(
        "impossible ratio: {declared} bytes declared from a {payload_len}-byte LZ4 payload, but at most {max} bytes can come out of it; the envelope is corrupt or a decompression bomb"
    )]
    ImpossibleRatio {
        /// Declared original length.
        declared: u64,
        /// Length of the compressed payload.
        payload_len: u64,
        /// Largest original length this payload can decode to under the limits.
        max: u64,
    },

    /// The payload produced (or, stored raw, holds) a different number of bytes than declared.
    #[error(
        "length mismatch: header declares {declared} bytes but the payload gives {actual}; the envelope is truncated or corrupt"
    )]
    LengthMismatch {
        /// Declared original length.
        declared: u64,
        /// Length actually found or decoded.
        actual: u64,
    },

    /// The LZ4 payload is not a valid LZ4 block, or decodes past the declared length.
    #[error("corrupt LZ4 stream: {reason}; the envelope is corrupt")]
    CorruptLz4 {
        /// The decoder's description of the problem.
        reason: String,
    },

    /// The content does not hash to the stored xxHash3-64. Neither value is kept: both
    /// are hashes of the content, which a short secret could be found from (review round
    /// 50).
    #[error(
        "checksum mismatch: the content does not hash to the stored xxh3-64; the content is corrupt"
    )]
    ChecksumMismatch,

    /// The envelope carries no checksum (its checksum flag is clear) and the options do
    /// not accept that ([`crate::Options::accept_unchecked`]): nothing would detect a
    /// change to its content.
    #[error(
        "the envelope carries no checksum, so a change to its content would go unnoticed (written without the `checksum` feature, or its checks were stripped); unchecked envelopes are read only where the caller accepts them because something else authenticates them"
    )]
    ChecksumMissing,

    /// The envelope is LZ4-compressed and this build has no decompressor.
    #[error(
        "this build lacks compression: the envelope is LZ4-compressed; rebuild hexvault-envelope with the `compression` feature to read it"
    )]
    CompressionUnsupported,

    /// The envelope carries checksums and this build cannot verify them.
    #[error(
        "this build lacks checksum: the envelope carries xxHash3-64 checksums that cannot be verified; rebuild hexvault-envelope with the `checksum` feature to read it"
    )]
    ChecksumUnsupported,

    /// A limit was configured above the ceiling this crate allows.
    #[error(
        "limit of {requested} bytes is above the ceiling of {ceiling} bytes; limits can only be lowered"
    )]
    LimitAboveCeiling {
        /// The value asked for.
        requested: u64,
        /// The ceiling.
        ceiling: u64,
    },

    /// A limit was configured to a value that cannot work.
    #[error("invalid limit: {reason}")]
    InvalidLimit {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The allocator could not provide the output buffer.
    #[error(
        "out of memory: could not reserve {requested} bytes for the output; lower the limits or free memory"
    )]
    OutOfMemory {
        /// Bytes requested.
        requested: u64,
    },

    /// A case the code rules out happened: a bug in hexvault-envelope, never caused by input.
    #[error("internal error in hexvault-envelope ({what}); please report this bug")]
    Internal {
        /// Which invariant did not hold.
        what: &'static str,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
