//! Configuration of a [`ByteStorage`](crate::ByteStorage): limits, compression policy, content-type label.

use crate::{Error, Result};

/// Ceiling of both size limits: 512 MiB. Limits can be lowered, never raised above this.
pub const LIMIT_CEILING: u64 = 512 * 1024 * 1024;

/// Default minimum input length below which compression is not attempted: 128 bytes.
///
/// Below it LZ4 saves a few bytes at best (JSON-like text: 64 bytes give a 65-byte block, 96
/// give 94; 128 give 103) while the encoder clears its 8 KiB hash table on every call, which
/// costs more than the whole store of a short input. Such inputs are stored raw at once
/// (ADR 0034, amendment of issue 10).
pub const DEFAULT_MIN_COMPRESS_LEN: usize = 128;

/// Size limits checked, before any allocation, on every envelope read and every input stored.
///
/// Three checks run in constant time and memory on the header alone:
/// the envelope length, the declared original length, and the declared original length
/// against the largest output an LZ4 block of the payload's length can produce
/// ([`max_lz4_output`](crate::max_lz4_output), about 255 times the payload), optionally
/// tightened by [`Limits::with_max_ratio`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_original_len: u64,
    max_envelope_len: u64,
    max_ratio: u32,
}

impl Limits {
    /// The LZ4 block format's own ceiling on the expansion ratio (see `max_lz4_output`).
    pub const LZ4_MAX_RATIO: u32 = 255;

    /// Limits with the given caps on the original length and the envelope length.
    ///
    /// # Errors
    /// [`Error::LimitAboveCeiling`] if either is above [`LIMIT_CEILING`] (512 MiB), and
    /// [`Error::InvalidLimit`] if the envelope cap is smaller than the smallest envelope.
    pub fn new(max_original_len: u64, max_envelope_len: u64) -> Result<Self> {
        for requested in [max_original_len, max_envelope_len] {
            if requested > LIMIT_CEILING {
                return Err(Error::LimitAboveCeiling {
                    requested,
                    ceiling: LIMIT_CEILING,
                });
            }
        }
        if max_envelope_len < crate::format::MIN_HEADER_LEN as u64 {
            return Err(Error::InvalidLimit {
                reason: "the envelope limit is smaller than the 32-byte header",
            });
        }
        Ok(Self {
            max_original_len,
            max_envelope_len,
            max_ratio: Self::LZ4_MAX_RATIO,
        })
    }

    /// The same limits with a tighter cap on `original length / payload length` for
    /// compressed envelopes (1..=255). The LZ4 bound always applies as well.
    ///
    /// # Errors
    /// [`Error::InvalidLimit`] if `max_ratio` is 0 or above 255.
    pub fn with_max_ratio(self, max_ratio: u32) -> Result<Self> {
        if max_ratio == 0 || max_ratio > Self::LZ4_MAX_RATIO {
            return Err(Error::InvalidLimit {
                reason: "the ratio limit must be between 1 and 255 (LZ4 cannot expand further)",
            });
        }
        Ok(Self { max_ratio, ..self })
    }

    /// Largest original length accepted (stored or declared).
    #[must_use]
    pub const fn max_original_len(&self) -> u64 {
        self.max_original_len
    }

    /// Largest envelope accepted (written or read).
    #[must_use]
    pub const fn max_envelope_len(&self) -> u64 {
        self.max_envelope_len
    }

    /// Largest `original / payload` ratio accepted for compressed envelopes.
    #[must_use]
    pub const fn max_ratio(&self) -> u32 {
        self.max_ratio
    }

    /// Largest original length a compressed payload of `payload_len` bytes may declare:
    /// the smaller of the LZ4 bound, the ratio cap and the original-length cap.
    #[must_use]
    pub fn max_declared_for_payload(&self, payload_len: u64) -> u64 {
        crate::format::max_lz4_output(payload_len)
            .min(payload_len.saturating_mul(u64::from(self.max_ratio)))
            .min(self.max_original_len)
    }
}

impl Default for Limits {
    /// 512 MiB original, 512 MiB envelope, ratio bounded by LZ4 alone.
    fn default() -> Self {
        Self {
            max_original_len: LIMIT_CEILING,
            max_envelope_len: LIMIT_CEILING,
            max_ratio: Self::LZ4_MAX_RATIO,
        }
    }
}

/// A short content-type label stored in the envelope header (for example `application/json`).
///
/// 1 to [`ContentType::MAX_LEN`] bytes of printable ASCII (0x20..=0x7e). It is covered by
/// the header checksum but is not secret and not encrypted by this crate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType(String);

impl ContentType {
    /// Longest label accepted, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Validate a label.
    ///
    /// # Errors
    /// [`Error::InvalidContentType`] if it is empty, longer than 64 bytes, or holds a byte
    /// outside 0x20..=0x7e.
    pub fn new(label: &str) -> Result<Self> {
        Self::from_bytes(label.as_bytes())
    }

    /// Validate a label given as bytes (as read from a header).
    ///
    /// # Errors
    /// As [`ContentType::new`].
    pub fn from_bytes(label: &[u8]) -> Result<Self> {
        if label.is_empty() {
            return Err(Error::InvalidContentType {
                reason: "the label is empty (use no label instead)",
            });
        }
        if label.len() > Self::MAX_LEN {
            return Err(Error::InvalidContentType {
                reason: "the label is longer than 64 bytes",
            });
        }
        if !label.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return Err(Error::InvalidContentType {
                reason: "the label holds a byte outside printable ASCII",
            });
        }
        let text = core::str::from_utf8(label).map_err(|_| Error::InvalidContentType {
            reason: "the label is not ASCII",
        })?;
        Ok(Self(text.to_owned()))
    }

    /// The label.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for ContentType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for ContentType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// Whether `store` may compress. The default is [`Compression::Never`]: compression is
/// opt-in, per storage ([`Options::with_compression`]) or per call
/// ([`ByteStorage::store_into_with`](crate::ByteStorage::store_into_with)).
///
/// Compressing data that will be encrypted leaks how compressible it is through the
/// ciphertext length (CRIME/BREACH); never choose [`Compression::Auto`] for secrets mixed
/// with attacker-influenced data. See the crate documentation and ADR 0034.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Always store raw (the default).
    #[default]
    Never,
    /// Compress with LZ4 when it makes the envelope smaller (needs the `compression`
    /// feature; without it, behaves as `Never`). Opt in only for data whose length may
    /// depend on its content without harm.
    Auto,
}

/// Options of a [`ByteStorage`](crate::ByteStorage).
///
/// ```
/// use hexvault_envelope::{Compression, ContentType, Limits, Options};
/// let options = Options::default()
///     .with_limits(Limits::new(1 << 20, 1 << 20)?)
///     .with_min_compress_len(256)
///     .with_compression(Compression::Auto)
///     .with_content_type(Some(ContentType::new("application/json")?));
/// assert_eq!(options.limits().max_original_len(), 1 << 20);
/// # Ok::<(), hexvault_envelope::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    limits: Limits,
    min_compress_len: usize,
    compression: Compression,
    content_type: Option<ContentType>,
    accept_unchecked: bool,
}

impl Default for Options {
    /// Default limits, no compression (opt in with `with_compression(Compression::Auto)`,
    /// which then compresses from [`DEFAULT_MIN_COMPRESS_LEN`] bytes up), no label;
    /// envelopes without checksums refused when this build has the `checksum` feature
    /// (see [`Options::accept_unchecked`]).
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            min_compress_len: DEFAULT_MIN_COMPRESS_LEN,
            compression: Compression::Never,
            content_type: None,
            accept_unchecked: !cfg!(feature = "checksum"),
        }
    }
}

impl Options {
    /// Replace the limits.
    #[must_use]
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }

    /// Inputs shorter than this are stored raw without trying LZ4.
    #[must_use]
    pub fn with_min_compress_len(self, min_compress_len: usize) -> Self {
        Self {
            min_compress_len,
            ..self
        }
    }

    /// Replace the compression policy.
    #[must_use]
    pub fn with_compression(self, compression: Compression) -> Self {
        Self {
            compression,
            ..self
        }
    }

    /// Label written into every envelope this storage makes (`None`: no label).
    #[must_use]
    pub fn with_content_type(self, content_type: Option<ContentType>) -> Self {
        Self {
            content_type,
            ..self
        }
    }

    /// Whether envelopes without checksums (the checksum flag clear: written by a build
    /// without the `checksum` feature, or with their checks stripped) are read. With the
    /// `checksum` feature the default is `false`: such an envelope is refused with
    /// [`Error::ChecksumMissing`], since nothing would detect a change to its content.
    /// Accept them only where something else authenticates the envelope (an AEAD around
    /// it, as the cells crate does). Without the feature the default is `true` (the only
    /// envelopes such a build writes and reads), and `false` refuses every envelope.
    #[must_use]
    pub fn accept_unchecked(self, accept: bool) -> Self {
        Self {
            accept_unchecked: accept,
            ..self
        }
    }

    /// Whether envelopes without checksums are read ([`Options::accept_unchecked`]).
    #[must_use]
    pub const fn accepts_unchecked(&self) -> bool {
        self.accept_unchecked
    }

    /// The limits.
    #[must_use]
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The minimum length for compression.
    #[must_use]
    pub const fn min_compress_len(&self) -> usize {
        self.min_compress_len
    }

    /// The compression policy.
    #[must_use]
    pub const fn compression(&self) -> Compression {
        self.compression
    }

    /// The label written into envelopes.
    #[must_use]
    pub const fn content_type(&self) -> Option<&ContentType> {
        self.content_type.as_ref()
    }
}
