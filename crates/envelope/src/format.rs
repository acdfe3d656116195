//! The envelope wire format, version 1: header layout, parsing, writing and the LZ4 bound.
//!
//! ```text
//! offset    size  field
//! 0         4     magic "HXEV" (48 58 45 56)
//! 4         1     format version = 1
//! 5         1     flags: bit 0 = payload is an LZ4 block, bit 1 = checksums present;
//!                 bits 2..=7 must be 0
//! 6         1     L = content-type label length, 0..=64
//! 7         1     reserved, must be 0
//! 8         8     original length, u64le
//! 16        8     xxh3-64 (seed 0) of the original bytes, u64le (0 when bit 1 is clear)
//! 24        L     content-type label, printable ASCII 0x20..=0x7e
//! 24+L      4     header check: low 32 bits of xxh3-64 of bytes 0..24+L, u32le
//!                 (0 when bit 1 is clear)
//! 28+L      4     payload check: low 32 bits of xxh3-64 of the payload, u32le, when
//!                 bits 0 and 1 are both set (0 otherwise: a raw payload is the original,
//!                 already covered by the checksum at offset 16)
//! 32+L      rest  payload: the original bytes (bit 0 clear) or one LZ4 block (bit 0 set)
//! ```

use crate::{Checksum, ContentType, Error, Result};

/// The four magic bytes that open every envelope.
pub const MAGIC: [u8; 4] = *b"HXEV";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Flag bit: the payload is one LZ4 block.
pub const FLAG_LZ4: u8 = 0x01;
/// Flag bit: the content checksum and the header check are present.
pub const FLAG_CHECKSUM: u8 = 0x02;
/// Every flag bit this version defines.
pub const KNOWN_FLAGS: u8 = FLAG_LZ4 | FLAG_CHECKSUM;
/// Length of the fixed part of the header, before the label.
pub const FIXED_HEADER_LEN: usize = 24;
/// Length of the two check fields (header check, payload check) that follow the label.
pub const CHECKS_LEN: usize = 8;
/// Shortest header (and shortest envelope): no label.
pub const MIN_HEADER_LEN: usize = FIXED_HEADER_LEN + CHECKS_LEN;
/// Longest header: a 64-byte label.
pub const MAX_HEADER_LEN: usize = MIN_HEADER_LEN + ContentType::MAX_LEN;

/// Largest number of bytes one LZ4 block of `payload_len` bytes can decode to.
///
/// The block grammar is `token [literal-length bytes] literals [offset(2) [match-length
/// bytes]]`, repeated, the last sequence holding literals only. Output grows by at most
/// one byte per literal byte and 255 bytes per match-length byte (each `0xFF` adds 255;
/// the terminating byte is at most 254). The best an encoder can do is therefore one
/// sequence `1F, literal, offset(2), FF.., FE` (the first match needs one byte of history)
/// followed by a final token `00`: `n` payload bytes give `1 + 19 + 255 * (n - 5) - 1`
/// bytes, that is `255 * n - 1256` for `n >= 5`; below 5 bytes no match fits and
/// literals give at most `n - 1`. Every further sequence costs its own 3-byte overhead, so
/// nothing does better. See `docs/adr/0031-envelope-lz4-expansion-bound.md`.
#[must_use]
pub const fn max_lz4_output(payload_len: u64) -> u64 {
    if payload_len < 5 {
        payload_len.saturating_sub(1)
    } else {
        payload_len.saturating_mul(255).saturating_sub(1256)
    }
}

/// A parsed, structurally valid envelope header.
///
/// Parsing checks magic, version, flags, reserved bits, the label and (with the
/// `checksum` feature) the header check; it does not check limits or decode anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    compressed: bool,
    checksum: Option<Checksum>,
    original_len: u64,
    content_type: Option<ContentType>,
    header_len: usize,
    payload_check: u32,
}

impl Header {
    /// A header describing any payload, true or not: for tests and fuzzers that craft
    /// envelopes [`ByteStorage`](crate::ByteStorage) would never write. `checksum` is the
    /// xxh3-64 of the original bytes; with it, [`Header::encode`] writes the header and
    /// payload checks.
    ///
    /// Only with the `test-support` feature, which is **not for production** (and in this
    /// crate's unit tests).
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub fn new(
        compressed: bool,
        checksum: Option<Checksum>,
        original_len: u64,
        content_type: Option<ContentType>,
    ) -> Self {
        let header_len = MIN_HEADER_LEN + content_type.as_ref().map_or(0, |c| c.as_str().len());
        Self {
            compressed,
            checksum,
            original_len,
            content_type,
            header_len,
            payload_check: 0,
        }
    }

    /// Encode this header for `payload` (the payload check is computed over it when the
    /// header is compressed and checksummed). Append `payload` to get the envelope.
    /// Without the `checksum` feature the check fields are written as zero, so a
    /// checksummed header made by such a build is not readable: build without a checksum.
    ///
    /// Only with the `test-support` feature, which is **not for production** (and in this
    /// crate's unit tests).
    ///
    /// # Errors
    /// [`Error::Internal`] only if the header does not fit its own buffer (a bug).
    #[cfg(any(test, feature = "test-support"))]
    pub fn encode(&self, payload: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "checksum")]
        let payload_check = if self.compressed && self.checksum.is_some() {
            low32(payload)
        } else {
            0
        };
        #[cfg(not(feature = "checksum"))]
        let payload_check = {
            let _ = payload;
            0
        };
        let (buf, len) = encode_header(
            self.compressed,
            self.checksum,
            payload_check,
            self.original_len,
            self.content_type.as_ref(),
        )?;
        Ok(buf
            .get(..len)
            .ok_or(Error::Internal {
                what: "encoded header longer than its buffer",
            })?
            .to_vec())
    }

    /// Parse the header at the start of `envelope`; returns it and the payload that follows.
    ///
    /// # Errors
    /// [`Error::TruncatedHeader`], [`Error::BadMagic`], [`Error::UnsupportedVersion`],
    /// [`Error::UnknownFlags`], [`Error::NonCanonicalHeader`], [`Error::InvalidContentType`],
    /// [`Error::HeaderChecksumMismatch`], or [`Error::ChecksumUnsupported`] when the
    /// envelope carries checksums and this build lacks the `checksum` feature.
    pub fn parse(envelope: &[u8]) -> Result<(Self, &[u8])> {
        let truncated = |needed: usize| Error::TruncatedHeader {
            needed,
            got: envelope.len(),
        };
        // Compared in place: input that is not an envelope may be secret, and a local copy
        // of its first bytes would stay on the stack unwiped.
        let magic = envelope
            .get(..MAGIC.len())
            .ok_or_else(|| truncated(MIN_HEADER_LEN))?;
        if magic != MAGIC {
            return Err(Error::BadMagic);
        }
        let [version]: [u8; 1] =
            read_array(envelope, 4).ok_or_else(|| truncated(MIN_HEADER_LEN))?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let [flags, label_len, reserved]: [u8; 3] =
            read_array(envelope, 5).ok_or_else(|| truncated(MIN_HEADER_LEN))?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(Error::UnknownFlags {
                flags,
                known: KNOWN_FLAGS,
            });
        }
        if reserved != 0 {
            return Err(Error::NonCanonicalHeader {
                field: "reserved byte 7 is not zero",
            });
        }
        let label_len = usize::from(label_len);
        if label_len > ContentType::MAX_LEN {
            return Err(Error::InvalidContentType {
                reason: "the label length byte is above 64",
            });
        }
        let header_len = MIN_HEADER_LEN + label_len;
        let (header, payload) = envelope
            .split_at_checked(header_len)
            .ok_or_else(|| truncated(header_len))?;
        let (checked, check_bytes) = header
            .split_at_checked(FIXED_HEADER_LEN + label_len)
            .ok_or_else(|| truncated(header_len))?;
        let original_len =
            u64::from_le_bytes(read_array(header, 8).ok_or_else(|| truncated(header_len))?);
        let checksum =
            u64::from_le_bytes(read_array(header, 16).ok_or_else(|| truncated(header_len))?);
        let stored_check =
            u32::from_le_bytes(read_array(check_bytes, 0).ok_or_else(|| truncated(header_len))?);
        let payload_check =
            u32::from_le_bytes(read_array(check_bytes, 4).ok_or_else(|| truncated(header_len))?);
        let compressed = flags & FLAG_LZ4 != 0;
        let label = checked.get(FIXED_HEADER_LEN..).ok_or(Error::Internal {
            what: "checked header region shorter than the fixed header after the length check",
        })?;

        let checksum = if flags & FLAG_CHECKSUM != 0 {
            verify_header_check(checked, stored_check)?;
            if !compressed && payload_check != 0 {
                return Err(Error::NonCanonicalHeader {
                    field: "payload check is not zero although the payload is stored raw",
                });
            }
            Some(Checksum::new(checksum))
        } else {
            if checksum != 0 {
                return Err(Error::NonCanonicalHeader {
                    field: "checksum field is not zero although the checksum flag is clear",
                });
            }
            if stored_check != 0 || payload_check != 0 {
                return Err(Error::NonCanonicalHeader {
                    field: "header or payload check is not zero although the checksum flag is clear",
                });
            }
            None
        };
        let content_type = if label.is_empty() {
            None
        } else {
            Some(ContentType::from_bytes(label)?)
        };
        Ok((
            Self {
                compressed,
                checksum,
                original_len,
                content_type,
                header_len,
                payload_check,
            },
            payload,
        ))
    }

    /// Whether the payload is an LZ4 block.
    #[must_use]
    pub const fn compressed(&self) -> bool {
        self.compressed
    }

    /// The stored xxh3-64 of the original bytes, if the envelope carries checksums.
    #[must_use]
    pub const fn checksum(&self) -> Option<Checksum> {
        self.checksum
    }

    /// The declared original length (not yet checked against any limit).
    #[must_use]
    pub const fn original_len(&self) -> u64 {
        self.original_len
    }

    /// The content-type label, if any.
    #[must_use]
    pub const fn content_type(&self) -> Option<&ContentType> {
        self.content_type.as_ref()
    }

    /// Length of the header in bytes (32 plus the label).
    #[must_use]
    pub const fn header_len(&self) -> usize {
        self.header_len
    }

    /// Verify the payload check of a checksummed, compressed envelope against `payload`
    /// (no-op for other envelopes). Hashes the payload; allocates nothing.
    ///
    /// # Errors
    /// [`Error::PayloadChecksumMismatch`] if it differs.
    pub fn verify_payload(&self, payload: &[u8]) -> Result<()> {
        #[cfg(feature = "checksum")]
        if self.compressed && self.checksum.is_some() && low32(payload) != self.payload_check {
            return Err(Error::PayloadChecksumMismatch);
        }
        #[cfg(not(feature = "checksum"))]
        let _ = payload;
        Ok(())
    }
}

#[cfg(feature = "checksum")]
fn verify_header_check(checked: &[u8], stored: u32) -> Result<()> {
    let computed = low32(checked);
    if computed == stored {
        Ok(())
    } else {
        Err(Error::HeaderChecksumMismatch { stored, computed })
    }
}

#[cfg(not(feature = "checksum"))]
fn verify_header_check(_checked: &[u8], _stored: u32) -> Result<()> {
    Err(Error::ChecksumUnsupported)
}

/// Low 32 bits of xxh3-64 (the header check and the payload check).
#[cfg(feature = "checksum")]
#[allow(clippy::cast_possible_truncation)] // the low 32 bits are the definition
pub(crate) fn low32(bytes: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(bytes) as u32
}

/// xxh3-64 (seed 0) of the original bytes.
#[cfg(feature = "checksum")]
pub(crate) fn content_checksum(data: &[u8]) -> Checksum {
    Checksum::new(xxhash_rust::xxh3::xxh3_64(data))
}

/// Encode a header into a stack buffer; returns the buffer and the header length.
/// `payload_check` is written only for checksummed, compressed envelopes.
pub(crate) fn encode_header(
    compressed: bool,
    checksum: Option<Checksum>,
    payload_check: u32,
    original_len: u64,
    content_type: Option<&ContentType>,
) -> Result<([u8; MAX_HEADER_LEN], usize)> {
    let label = content_type.map_or(&[][..], |c| c.as_str().as_bytes());
    let mut buf = [0u8; MAX_HEADER_LEN];
    let mut flags = 0;
    if compressed {
        flags |= FLAG_LZ4;
    }
    if checksum.is_some() {
        flags |= FLAG_CHECKSUM;
    }
    #[allow(clippy::cast_possible_truncation)] // ContentType guarantees <= 64
    let label_len = label.len() as u8;
    put(&mut buf, 0, &MAGIC);
    put(&mut buf, 4, &[FORMAT_VERSION, flags, label_len, 0]);
    put(&mut buf, 8, &original_len.to_le_bytes());
    put(
        &mut buf,
        16,
        &checksum.map_or(0, Checksum::value).to_le_bytes(),
    );
    put(&mut buf, FIXED_HEADER_LEN, label);
    let checked_len = FIXED_HEADER_LEN + label.len();
    #[cfg(feature = "checksum")]
    if checksum.is_some() {
        let check = low32(buf.get(..checked_len).ok_or(Error::Internal {
            what: "header label longer than the header buffer",
        })?);
        put(&mut buf, checked_len, &check.to_le_bytes());
        if compressed {
            put(&mut buf, checked_len + 4, &payload_check.to_le_bytes());
        }
    }
    #[cfg(not(feature = "checksum"))]
    let _ = payload_check;
    Ok((buf, checked_len + CHECKS_LEN))
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    for (dst, src) in buf.iter_mut().skip(at).zip(bytes) {
        *dst = *src;
    }
}

fn read_array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_small_payloads() {
        assert_eq!(max_lz4_output(0), 0);
        assert_eq!(max_lz4_output(1), 0);
        assert_eq!(max_lz4_output(4), 3);
        assert_eq!(max_lz4_output(5), 19);
        assert_eq!(max_lz4_output(6), 274);
        assert_eq!(max_lz4_output(u64::MAX), u64::MAX - 1256);
    }

    #[test]
    fn header_round_trip() {
        let ct = ContentType::new("text/plain").unwrap();
        let mut env = Header::new(true, None, 7, Some(ct.clone()))
            .encode(b"xx")
            .unwrap();
        env.extend_from_slice(b"xx");
        let (h, payload) = Header::parse(&env).unwrap();
        assert!(h.compressed());
        assert_eq!(h.original_len(), 7);
        assert_eq!(h.content_type(), Some(&ct));
        assert_eq!(h.header_len(), 42);
        assert_eq!(payload, b"xx");
    }
}
