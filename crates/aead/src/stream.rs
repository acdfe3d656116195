//! Segmented AES-256-GCM for payloads too large to hold in memory: the STREAM construction
//! (Hoang, Reyhanitabar, Rogaway, Vizár 2015), as age and Tink's streaming AEAD use it.
//!
//! A stream is a header, then segments of `segment_len` plaintext bytes each sealed on its own,
//! the last one shorter or equal (docs/formats.md, "Sealed stream"):
//!
//! ```text
//! header  = "HVST" || version (1) || segment_len (u32 BE) || salt (32 random bytes)
//! segment = AES-256-GCM(segment key, nonce(i, last), aad = header || caller aad, plaintext_i) || tag
//! nonce(i, last) = i (u64 BE, left-padded with zeros to 11 bytes) || last (0x00 or 0x01)
//! segment key = HKDF-SHA256(stream key, info = encode_info(STREAM_KEY_LABEL, salt))
//! ```
//!
//! Why it is safe:
//! * Nonces are a counter, never chosen by the caller, under a key used for one stream only:
//!   the 32-byte salt is drawn from the OS CSPRNG for every stream, so two streams under one
//!   stream key share a segment key with probability 2^-256 per pair.
//! * The position and the "last" flag are in every nonce, so reordering, dropping, duplicating
//!   segments, truncating the stream at a segment boundary and appending to it all fail
//!   authentication: the final segment is the only one sealed with `last = 1`, and the
//!   opener treats exactly the segment that ends the input as the last.
//! * The whole header (segment length, salt) and the caller's associated data are
//!   authenticated by every segment.
//!
//! What it does not do: [`StreamOpener::next_segment`] hands out each segment as soon as it
//! authenticates, before the end of the stream is seen. A truncated stream is reported at
//! its end, so a caller that writes segments out must treat the output as incomplete until
//! `next_segment` has returned `Ok(None)` (write to a temporary file, rename on success).

use core::fmt;
use std::io::{self, Read, Write};

use crate::backend::{self, AeadBackend, Backend, NONCE_LEN, TAG_LEN};
use crate::plaintext::{wipe, wipe_vec};
use crate::{Error, Key, Result, derive_key};

/// The first four bytes of every sealed stream.
pub const STREAM_MAGIC: [u8; 4] = *b"HVST";
/// The stream format version this crate writes and reads.
pub const STREAM_FORMAT_VERSION: u8 = 1;
/// Length of the random salt in a stream header.
pub const STREAM_SALT_LEN: usize = 32;
/// Length of a stream header: magic, version, segment length, salt.
pub const STREAM_HEADER_LEN: usize = 4 + 1 + 4 + STREAM_SALT_LEN;
/// Plaintext bytes per segment unless [`StreamOptions::segment_len`] says otherwise (64 KiB).
pub const DEFAULT_SEGMENT_LEN: u32 = 64 * 1024;
/// Smallest segment length a stream may declare (keeps the tag overhead below 2 %).
pub const MIN_SEGMENT_LEN: u32 = 1024;
/// Largest segment length a stream may declare: the opener allocates one segment, so a header
/// cannot make it allocate more than this (16 MiB).
pub const MAX_SEGMENT_LEN: u32 = 16 * 1024 * 1024;
/// HKDF label of the per-stream segment key.
pub const STREAM_KEY_LABEL: &str = "hexvault/v1/stream/segment-key";

/// How a [`StreamSealer`] cuts and encrypts its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Plaintext bytes per segment, in [`MIN_SEGMENT_LEN`]..=[`MAX_SEGMENT_LEN`]; memory use
    /// of sealer and opener is one segment.
    pub segment_len: u32,
    /// AES-GCM backend.
    pub backend: Backend,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            segment_len: DEFAULT_SEGMENT_LEN,
            backend: Backend::Ring,
        }
    }
}

impl StreamOptions {
    /// Sets the segment length (checked when the sealer is built).
    #[must_use]
    pub const fn segment_len(mut self, segment_len: u32) -> Self {
        self.segment_len = segment_len;
        self
    }

    /// Sets the backend.
    #[must_use]
    pub const fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
}

/// Number of bytes a stream of `plaintext_len` bytes takes with segments of `segment_len`:
/// header, plus one tag per segment (an empty stream still has one, empty, final segment).
/// `None` if `segment_len` is zero or the length overflows.
#[must_use]
pub fn stream_sealed_len(plaintext_len: u64, segment_len: u32) -> Option<u64> {
    let segment_len = u64::from(segment_len);
    if segment_len == 0 {
        return None;
    }
    let segments = plaintext_len.div_ceil(segment_len).max(1);
    plaintext_len
        .checked_add(segments.checked_mul(TAG_LEN as u64)?)?
        .checked_add(STREAM_HEADER_LEN as u64)
}

fn check_segment_len(segment_len: u32) -> Result<()> {
    if (MIN_SEGMENT_LEN..=MAX_SEGMENT_LEN).contains(&segment_len) {
        Ok(())
    } else {
        Err(Error::MalformedStream {
            reason: "segment length outside 1 KiB..=16 MiB",
        })
    }
}

fn nonce(index: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    let (counter, flag) = n.split_at_mut(NONCE_LEN - 1);
    if let Some(low) = counter.get_mut(NONCE_LEN - 1 - 8..) {
        low.copy_from_slice(&index.to_be_bytes());
    }
    if let Some(f) = flag.first_mut() {
        *f = u8::from(last);
    }
    n
}

/// The segment key schedule and the associated data every segment authenticates.
struct SegmentCipher {
    schedule: Box<dyn AeadBackend>,
    /// `header || caller aad`.
    aad: Vec<u8>,
    next_index: u64,
}

impl SegmentCipher {
    fn new(key: &Key, header: &[u8; STREAM_HEADER_LEN], aad: &[u8], be: Backend) -> Result<Self> {
        let salt = header
            .get(STREAM_HEADER_LEN - STREAM_SALT_LEN..)
            .ok_or(Error::Internal {
                what: "stream header holds its salt",
            })?;
        let segment_key = derive_key(key, STREAM_KEY_LABEL, &[salt])?;
        let mut full_aad = Vec::with_capacity(STREAM_HEADER_LEN + aad.len());
        full_aad.extend_from_slice(header);
        full_aad.extend_from_slice(aad);
        Ok(Self {
            schedule: backend::build(be, segment_key.expose_secret())?,
            aad: full_aad,
            next_index: 0,
        })
    }

    fn take_index(&mut self) -> Result<u64> {
        let index = self.next_index;
        self.next_index = index.checked_add(1).ok_or(Error::TooLong {
            what: "a stream has at most 2^64 - 1 segments",
        })?;
        Ok(index)
    }
}

/// A buffer that may hold plaintext: its whole allocation is wiped on drop.
struct SegmentBuf(Vec<u8>);

impl Drop for SegmentBuf {
    fn drop(&mut self) {
        wipe_vec(&mut self.0);
    }
}

/// Seals a stream into a writer, one segment at a time; memory use is one segment.
///
/// Write plaintext with [`write_all`](Self::write_all) or [`copy_from`](Self::copy_from),
/// then call [`finish`](Self::finish), which seals the final segment: a stream that is
/// dropped without `finish` has no final segment and will not open. The buffered plaintext
/// is wiped when the sealer is dropped or finished.
///
/// After any error (a read or write failure, a sealing failure) the sealer is failed for
/// good: every later call, `finish` included, returns [`Error::MalformedStream`], so a
/// stream that lost a segment or bytes of its input is never reported complete. Start a new
/// stream (the bytes written so far do not open as a whole stream).
pub struct StreamSealer<W: Write> {
    writer: W,
    cipher: SegmentCipher,
    segment_len: usize,
    /// Plaintext of the segment being filled, with room for its tag.
    buf: SegmentBuf,
    /// An earlier call failed: the stream is unusable.
    failed: bool,
}

impl<W: Write> StreamSealer<W> {
    /// Starts a stream under `key` with the default [`StreamOptions`] and writes its header.
    ///
    /// # Errors
    /// [`Error::Rng`], [`Error::Io`].
    pub fn new(key: &Key, aad: &[u8], writer: W) -> Result<Self> {
        Self::with_options(key, aad, writer, StreamOptions::default())
    }

    /// As [`StreamSealer::new`] with explicit options.
    ///
    /// # Errors
    /// [`Error::MalformedStream`] for a segment length outside the bounds, [`Error::Rng`],
    /// [`Error::Io`].
    pub fn with_options(
        key: &Key,
        aad: &[u8],
        mut writer: W,
        options: StreamOptions,
    ) -> Result<Self> {
        check_segment_len(options.segment_len)?;
        let mut header = [0u8; STREAM_HEADER_LEN];
        let len_bytes = options.segment_len.to_be_bytes();
        let fixed = STREAM_MAGIC
            .iter()
            .chain(core::iter::once(&STREAM_FORMAT_VERSION))
            .chain(len_bytes.iter());
        for (slot, byte) in header.iter_mut().zip(fixed) {
            *slot = *byte;
        }
        if let Some(salt) = header.get_mut(STREAM_HEADER_LEN - STREAM_SALT_LEN..) {
            crate::rng::fill(salt)?;
        }
        let cipher = SegmentCipher::new(key, &header, aad, options.backend)?;
        writer.write_all(&header).map_err(Error::io)?;
        let segment_len = usize::try_from(options.segment_len).map_err(|_| Error::Internal {
            what: "a u32 fits in usize",
        })?;
        Ok(Self {
            writer,
            cipher,
            segment_len,
            buf: SegmentBuf(Vec::with_capacity(segment_len + TAG_LEN)),
            failed: false,
        })
    }

    /// Refuses every call once an earlier one failed.
    fn usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::MalformedStream {
                reason: "an earlier call on this stream sealer failed; the stream is unusable: start a new one",
            });
        }
        Ok(())
    }

    /// Runs `step` on a usable sealer; any error leaves it failed for good.
    fn guarded<T>(&mut self, step: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.usable()?;
        let result = step(self);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Adds `data` to the stream, sealing and writing every segment it completes.
    ///
    /// A full segment is sealed only once more data follows it, so that the final segment
    /// can be the full one when the length is a multiple of the segment length.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::TooLong`] past 2^64 - 1 segments; [`Error::MalformedStream`]
    /// once an earlier call failed. Any error leaves the sealer failed for good.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.guarded(|sealer| sealer.write_all_usable(data))
    }

    fn write_all_usable(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            if self.buf.0.len() == self.segment_len {
                self.seal_buffered(false)?;
            }
            let room = self.segment_len.saturating_sub(self.buf.0.len());
            let (now, rest) = data.split_at(room.min(data.len()));
            // Within the capacity reserved at construction: never reallocates (ADR 0092).
            crate::plaintext::extend_from_slice(&mut self.buf.0, now);
            data = rest;
        }
        Ok(())
    }

    /// Copies everything `reader` yields into the stream (one segment of memory), returning
    /// the number of plaintext bytes read. Call [`finish`](Self::finish) afterwards.
    ///
    /// # Errors
    /// [`Error::Io`] for a read or write failure (a read interrupted by a signal is retried;
    /// any other read error, `WouldBlock` included, fails the stream: bytes the reader
    /// already handed over may be lost with it), [`Error::TooLong`];
    /// [`Error::MalformedStream`] once an earlier call failed. Any error leaves the sealer
    /// failed for good.
    pub fn copy_from(&mut self, reader: &mut impl Read) -> Result<u64> {
        self.guarded(|sealer| sealer.copy_from_usable(reader))
    }

    fn copy_from_usable(&mut self, reader: &mut impl Read) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let filled = if self.buf.0.len() == self.segment_len {
                // Only now is it known that the full segment is not the last one: peek.
                let mut one = [0u8; 1];
                let n = read_some(reader, &mut one)?;
                if n == 0 {
                    return Ok(total);
                }
                if let Err(e) = self.seal_and_write(false) {
                    self.buf.0.clear();
                    wipe(&mut one);
                    return Err(e);
                }
                // The sealed segment's bytes (ciphertext) become the room of the next one, so
                // it is not zero-filled first: the peeked byte, then the read below.
                self.buf.0.truncate(self.segment_len);
                match self.buf.0.first_mut() {
                    Some(first) => *first = one[0],
                    None => {
                        return Err(Error::Internal {
                            what: "a segment holds at least one byte",
                        });
                    }
                }
                wipe(&mut one);
                total = total.saturating_add(1);
                1
            } else {
                let filled = self.buf.0.len();
                self.buf.0.resize(self.segment_len, 0);
                filled
            };
            let got = match self.buf.0.get_mut(filled..) {
                Some(room) => read_some(reader, room),
                None => Err(Error::Internal {
                    what: "the segment buffer holds at most one segment",
                }),
            };
            let n = match got {
                Ok(n) => n,
                Err(e) => {
                    self.buf.0.truncate(filled);
                    return Err(e);
                }
            };
            self.buf.0.truncate(filled + n);
            total = total.saturating_add(n as u64);
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Seals the final segment (the buffered bytes, possibly none), flushes the writer and
    /// returns it. The stream opens only once this returned `Ok`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::TooLong`]; [`Error::MalformedStream`] if an earlier call
    /// failed (the stream would not open, or would open without what was lost).
    pub fn finish(mut self) -> Result<W> {
        self.guarded(|sealer| {
            sealer.seal_buffered(true)?;
            sealer.writer.flush().map_err(Error::io)
        })?;
        Ok(self.writer)
    }

    fn seal_buffered(&mut self, last: bool) -> Result<()> {
        let written = self.seal_and_write(last);
        // Ciphertext only from here on: no wipe needed before reuse.
        self.buf.0.clear();
        written
    }

    /// Seals the buffered segment in place, appends its tag and writes it; the buffer is
    /// left holding the ciphertext and tag (plaintext only if sealing itself failed).
    fn seal_and_write(&mut self, last: bool) -> Result<()> {
        let index = self.cipher.take_index()?;
        let tag = self.cipher.schedule.seal_in_place(
            nonce(index, last),
            &self.cipher.aad,
            &mut self.buf.0,
        )?;
        self.buf.0.extend_from_slice(&tag);
        self.writer.write_all(&self.buf.0).map_err(Error::io)
    }
}

impl<W: Write> fmt::Debug for StreamSealer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSealer")
            .field("segment_len", &self.segment_len)
            .field("segments_sealed", &self.cipher.next_index)
            .finish_non_exhaustive()
    }
}

/// Reads until `buf` is full or the reader is at its end; returns the bytes read.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) if n > rest.len() => {
                // A `Read` that breaks its contract: never trusted as a length.
                return Err(Error::io(io::Error::other(
                    "the reader reported more bytes than the buffer it was given holds",
                )));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(e)),
        }
    }
    Ok(filled)
}

/// Opens a stream from a reader, one authenticated segment at a time; memory use is one
/// segment, wiped on drop.
///
/// Each segment is handed out only after its tag verified, but the stream is complete only
/// when [`next_segment`](Self::next_segment) returned `Ok(None)`: a stream cut at a segment
/// boundary is detected at its (missing) end. Treat what was read as incomplete until then.
pub struct StreamOpener<R: Read> {
    reader: R,
    cipher: SegmentCipher,
    segment_len: usize,
    /// One sealed segment (plaintext after opening), plus one byte of look-ahead.
    buf: SegmentBuf,
    /// A byte read past the current segment, which starts the next one.
    lookahead: Option<u8>,
    state: OpenerState,
}

/// Where an opener stands: reading, done after the final segment, or failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenerState {
    Reading,
    Complete,
    Failed,
}

impl<R: Read> StreamOpener<R> {
    /// Reads and checks the stream header and derives the segment key.
    ///
    /// # Errors
    /// [`Error::Truncated`] for a short header, [`Error::UnknownMagic`],
    /// [`Error::UnsupportedFormatVersion`], [`Error::MalformedStream`] for a segment length
    /// outside the bounds, [`Error::Io`].
    pub fn new(key: &Key, aad: &[u8], reader: R) -> Result<Self> {
        Self::with_backend(key, aad, reader, Backend::Ring)
    }

    /// As [`StreamOpener::new`] with a chosen backend.
    ///
    /// # Errors
    /// As [`StreamOpener::new`].
    pub fn with_backend(key: &Key, aad: &[u8], mut reader: R, be: Backend) -> Result<Self> {
        let mut header = [0u8; STREAM_HEADER_LEN];
        let n = read_some(&mut reader, &mut header)?;
        if n < STREAM_HEADER_LEN {
            return Err(Error::Truncated {
                len: n,
                min: STREAM_HEADER_LEN + TAG_LEN,
            });
        }
        let (magic, rest) = header.split_at(4);
        if magic != STREAM_MAGIC {
            return Err(Error::UnknownMagic);
        }
        let (version, rest) = rest.split_at(1);
        if version != [STREAM_FORMAT_VERSION] {
            return Err(Error::UnsupportedFormatVersion {
                version: version.first().copied().unwrap_or_default(),
            });
        }
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(rest.get(..4).ok_or(Error::Internal {
            what: "stream header holds its segment length",
        })?);
        let segment_len = u32::from_be_bytes(len_bytes);
        check_segment_len(segment_len)?;
        let cipher = SegmentCipher::new(key, &header, aad, be)?;
        let segment_len = usize::try_from(segment_len).map_err(|_| Error::Internal {
            what: "a u32 fits in usize",
        })?;
        Ok(Self {
            reader,
            cipher,
            segment_len,
            buf: SegmentBuf(Vec::with_capacity(segment_len + TAG_LEN)),
            lookahead: None,
            state: OpenerState::Reading,
        })
    }

    /// The segment length the header declares.
    #[must_use]
    pub const fn segment_len(&self) -> usize {
        self.segment_len
    }

    /// Reads, authenticates and decrypts the next segment. `Ok(None)` once the final segment
    /// has been returned: only then is the stream known to be complete.
    ///
    /// # Errors
    /// [`Error::Authentication`] for a modified, reordered, dropped or appended segment and
    /// for a stream cut short (at a segment boundary or inside a segment);
    /// [`Error::Truncated`] for a final segment shorter than a tag; [`Error::MalformedStream`]
    /// for an empty final segment after full ones (never written by [`StreamSealer`]);
    /// [`Error::Io`]. After any error the opener is failed for good: every later call
    /// returns [`Error::MalformedStream`], never `Ok(None)`, so a caller that ignores an error
    /// cannot mistake the stream for complete.
    pub fn next_segment(&mut self) -> Result<Option<&[u8]>> {
        match self.state {
            OpenerState::Complete => return Ok(None),
            OpenerState::Failed => {
                return Err(Error::MalformedStream {
                    reason: "an earlier segment of this stream failed; the stream is unusable",
                });
            }
            OpenerState::Reading => {}
        }
        // Pessimistic: every early return below is a failure unless the segment opens.
        self.state = OpenerState::Failed;
        let want = self.segment_len + TAG_LEN;
        // No clear first: the previous segment's plaintext is overwritten by the read below
        // (only the tail past it is zero-filled, not the whole segment each time), and what
        // a short final read leaves of it stays in the spare capacity, wiped on drop.
        self.buf.0.resize(want, 0);
        let mut filled = 0;
        if let (Some(b), Some(first)) = (self.lookahead.take(), self.buf.0.first_mut()) {
            *first = b;
            filled = 1;
        }
        filled += match self.buf.0.get_mut(filled..) {
            Some(room) => read_some(&mut self.reader, room)?,
            None => 0,
        };
        // The segment that ends the input is the last one: peek one byte past a full one.
        let last = if filled == want {
            let mut one = [0u8; 1];
            if read_some(&mut self.reader, &mut one)? == 1 {
                self.lookahead = one.first().copied();
                false
            } else {
                true
            }
        } else {
            true
        };
        self.buf.0.truncate(filled);
        if filled < TAG_LEN {
            return Err(Error::Truncated {
                len: filled,
                min: TAG_LEN,
            });
        }
        let body_len = filled - TAG_LEN;
        if last && body_len == 0 && self.cipher.next_index > 0 {
            return Err(Error::MalformedStream {
                reason: "an empty final segment after full ones",
            });
        }
        let index = self.cipher.take_index()?;
        let (body, tag_bytes) = self.buf.0.split_at_mut(body_len);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(tag_bytes);
        let opened =
            self.cipher
                .schedule
                .open_in_place(nonce(index, last), &self.cipher.aad, body, &tag);
        if let Err(e) = opened {
            self.buf.0.clear();
            return Err(e);
        }
        self.state = if last {
            OpenerState::Complete
        } else {
            OpenerState::Reading
        };
        self.buf.0.truncate(body_len);
        Ok(Some(&self.buf.0))
    }

    /// Opens the whole stream into `writer`, returning the plaintext length. On an error,
    /// what was already written is incomplete: discard it. A write or flush failure leaves
    /// the opener failed, like any other error: the segment that could not be written is
    /// consumed, so the stream can never again be reported complete.
    ///
    /// # Errors
    /// As [`StreamOpener::next_segment`], plus write failures as [`Error::Io`].
    pub fn copy_to(&mut self, writer: &mut impl Write) -> Result<u64> {
        let mut total = 0u64;
        while let Some(segment) = self.next_segment()? {
            let len = segment.len() as u64;
            if let Err(error) = writer.write_all(segment) {
                self.state = OpenerState::Failed;
                return Err(Error::io(error));
            }
            total = total.saturating_add(len);
        }
        if let Err(error) = writer.flush() {
            self.state = OpenerState::Failed;
            return Err(Error::io(error));
        }
        Ok(total)
    }
}

impl<R: Read> fmt::Debug for StreamOpener<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamOpener")
            .field("segment_len", &self.segment_len)
            .field("segments_opened", &self.cipher.next_index)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn nonce_layout_is_counter_then_last_flag() {
        assert_eq!(nonce(0, false), [0; 12]);
        assert_eq!(nonce(1, true), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert_eq!(
            nonce(u64::MAX, false),
            [0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]
        );
    }

    /// A stream the sealer never writes (a full segment, then an empty final one) authenticates
    /// but is refused: one plaintext has one encoding.
    #[test]
    fn an_empty_final_segment_after_a_full_one_is_refused() {
        let key = Key::from_bytes([3; 32]);
        let mut sealer = StreamSealer::with_options(
            &key,
            b"",
            Vec::new(),
            StreamOptions::default().segment_len(MIN_SEGMENT_LEN),
        )
        .unwrap();
        sealer.buf.0.resize(MIN_SEGMENT_LEN as usize, 9);
        sealer.seal_buffered(false).unwrap();
        let crafted = sealer.finish().unwrap();
        assert_eq!(
            crafted.len(),
            STREAM_HEADER_LEN + MIN_SEGMENT_LEN as usize + 2 * TAG_LEN
        );
        let mut opener = StreamOpener::new(&key, b"", &crafted[..]).unwrap();
        assert_eq!(opener.next_segment().unwrap().unwrap().len(), 1024);
        assert!(matches!(
            opener.next_segment(),
            Err(Error::MalformedStream { .. })
        ));
    }
}
