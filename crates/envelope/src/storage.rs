//! `ByteStorage`: store bytes into envelopes and retrieve them, with limits and counters.

use core::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::format::{self, Header};
use crate::plaintext::{extend_from_slice, wipe, wipe_vec};
use crate::{Compression, ContentType, Error, Options, Plaintext, Result};

/// An xxHash3-64 (seed 0) value; displays as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum(u64);

impl Checksum {
    /// Wrap a raw xxh3-64 value.
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The raw value.
    #[must_use]
    pub const fn value(self) -> u64 {
        self.0
    }
}

impl core::fmt::Display for Checksum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What one `store` or `retrieve` did: sizes, whether compressed, checksum, label, time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Length of the original bytes.
    pub original_len: u64,
    /// Length of the whole envelope (header and payload).
    pub envelope_len: u64,
    /// Length of the payload (the LZ4 block, or the original bytes stored raw).
    pub payload_len: u64,
    /// Whether the payload is LZ4-compressed.
    pub compressed: bool,
    /// The xxh3-64 of the original bytes, if the envelope carries one.
    pub checksum: Option<Checksum>,
    /// The content-type label, if any.
    pub content_type: Option<ContentType>,
    /// Wall-clock time the operation took.
    pub elapsed: Duration,
}

impl Report {
    /// `original_len / envelope_len` (above 1 when the envelope is smaller; 0 for empty input).
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // a ratio for display
    pub fn ratio(&self) -> f64 {
        if self.envelope_len == 0 {
            0.0
        } else {
            self.original_len as f64 / self.envelope_len as f64
        }
    }
}

/// A snapshot of a [`ByteStorage`]'s counters.
///
/// Every counter is exact (atomic, no lost updates); a snapshot taken while other
/// threads are working reads each counter at a slightly different moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Successful `store` calls.
    pub stores: u64,
    /// Of those, how many were compressed.
    pub compressed_stores: u64,
    /// Successful `retrieve` calls.
    pub retrieves: u64,
    /// Failed `store` or `retrieve` calls.
    pub failures: u64,
    /// Original bytes given to successful `store` calls.
    pub store_bytes_in: u64,
    /// Envelope bytes produced by successful `store` calls.
    pub store_bytes_out: u64,
    /// Envelope bytes read by successful `retrieve` calls.
    pub retrieve_bytes_in: u64,
    /// Original bytes returned by successful `retrieve` calls.
    pub retrieve_bytes_out: u64,
    /// Time spent in successful `store_into` / `store_into_with` calls (the ones that return
    /// a [`Report`]; `store` does not read the clock).
    pub store_time: Duration,
    /// Time spent in successful `retrieve_into` calls (the ones that return a [`Report`];
    /// `retrieve` does not read the clock).
    pub retrieve_time: Duration,
}

impl Stats {
    /// Overall compression ratio of stores: original bytes / envelope bytes (0 if none).
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // a ratio for display
    pub fn store_ratio(&self) -> f64 {
        if self.store_bytes_out == 0 {
            0.0
        } else {
            self.store_bytes_in as f64 / self.store_bytes_out as f64
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    stores: AtomicU64,
    compressed_stores: AtomicU64,
    retrieves: AtomicU64,
    failures: AtomicU64,
    store_bytes_in: AtomicU64,
    store_bytes_out: AtomicU64,
    retrieve_bytes_in: AtomicU64,
    retrieve_bytes_out: AtomicU64,
    store_nanos: AtomicU64,
    retrieve_nanos: AtomicU64,
}

/// Adds `value` to `counter`; adding 0 (an untimed call's time, an uncompressed store) is
/// skipped: each atomic add costs several ns, a noticeable share of a 64-byte round trip.
fn add(counter: &AtomicU64, value: u64) {
    if value != 0 {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Turns bytes into framed envelopes and back, under [`Options`], counting what it does.
///
/// `ByteStorage` is `Send + Sync`; share one behind an `Arc` and its counters add up
/// across threads.
#[derive(Debug, Default)]
pub struct ByteStorage {
    options: Options,
    counters: Counters,
}

impl ByteStorage {
    /// A storage with the given options.
    #[must_use]
    pub fn new(options: Options) -> Self {
        Self {
            options,
            counters: Counters::default(),
        }
    }

    /// The options.
    #[must_use]
    pub const fn options(&self) -> &Options {
        &self.options
    }

    /// Frame `data` into a new envelope.
    ///
    /// # Errors
    /// [`Error::OriginalTooLarge`] or [`Error::EnvelopeTooLarge`] if the input or the
    /// envelope would exceed the limits (what this storage would refuse to read, it does
    /// not write), [`Error::OutOfMemory`] if the buffer cannot be reserved.
    ///
    /// The envelope's allocation is at most 4 KiB longer than the envelope. A compressed
    /// envelope is first written into room for LZ4's worst case (1.1x the input); when that
    /// leaves 4 KiB or more unused, the envelope is copied into an allocation of exactly its
    /// length and the larger block is wiped before it is freed. Handing the oversized block
    /// back made every round trip of a large envelope grow and shrink the heap (about 500
    /// page faults per 1 MiB round trip measured); `shrink_to_fit` was not used because it
    /// may move the bytes and free the old block unwiped under an allocator that does not
    /// shrink in place.
    pub fn store(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        // No report to return, so no clock read (two reads cost more than a 64-byte store).
        self.store_counted(data, self.options.compression(), &mut out, false)?;
        into_exact(out)
    }

    /// Frame `data` into `out` (its previous contents are replaced) and report what was done.
    /// Compresses only if the options say [`Compression::Auto`] (the default is `Never`).
    /// When `out` is too small it is not grown in place: a new allocation is made and the old
    /// one is zeroed whole (bytes and spare capacity) before it is freed.
    ///
    /// # Errors
    /// As [`ByteStorage::store`]; on error `out`'s whole allocation is zeroed and `out` is
    /// left empty.
    pub fn store_into(&self, data: &[u8], out: &mut Vec<u8>) -> Result<Report> {
        self.store_into_with(data, self.options.compression(), out)
    }

    /// As [`ByteStorage::store_into`] with the compression policy chosen for this call
    /// (for callers that decide per item whether compression is safe; see the crate docs
    /// on CRIME/BREACH).
    ///
    /// # Errors
    /// As [`ByteStorage::store_into`].
    pub fn store_into_with(
        &self,
        data: &[u8],
        compression: Compression,
        out: &mut Vec<u8>,
    ) -> Result<Report> {
        self.store_counted(data, compression, out, true)
    }

    /// Stores and counts; reads the clock for `Report::elapsed` and `Stats::store_time`
    /// only when `timed`.
    fn store_counted(
        &self,
        data: &[u8],
        compression: Compression,
        out: &mut Vec<u8>,
        timed: bool,
    ) -> Result<Report> {
        let start = timed.then(Instant::now);
        match self.store_inner(data, compression, out) {
            Ok(mut report) => {
                report.elapsed = start.map_or(Duration::ZERO, |s| s.elapsed());
                let c = &self.counters;
                add(&c.stores, 1);
                add(&c.compressed_stores, u64::from(report.compressed));
                add(&c.store_bytes_in, report.original_len);
                add(&c.store_bytes_out, report.envelope_len);
                add(&c.store_nanos, nanos(report.elapsed));
                Ok(report)
            }
            Err(e) => {
                wipe_vec(out);
                add(&self.counters.failures, 1);
                Err(e)
            }
        }
    }

    fn store_inner(
        &self,
        data: &[u8],
        compression: Compression,
        out: &mut Vec<u8>,
    ) -> Result<Report> {
        let limits = self.options.limits();
        let original_len = data.len() as u64;
        if original_len > limits.max_original_len() {
            return Err(Error::OriginalTooLarge {
                declared: original_len,
                limit: limits.max_original_len(),
            });
        }
        let content_type = self.options.content_type();
        let header_len = format::MIN_HEADER_LEN + content_type.map_or(0, |c| c.as_str().len());
        out.clear();

        let try_lz4 = compression == Compression::Auto
            && data.len() >= self.options.min_compress_len()
            && cfg!(feature = "compression");
        let mut compressed = try_lz4 && compress_payload(data, header_len, out)?;
        if compressed {
            // A block that compresses past the ratio limit would be refused by this same
            // storage's `retrieve` (`ImpossibleRatio`): the content is stored raw instead, so
            // `store` never writes what the storage cannot read back (review round 22).
            let payload_len = out.len().saturating_sub(header_len) as u64;
            if original_len > limits.max_declared_for_payload(payload_len) {
                wipe_vec(out);
                compressed = false;
            }
        }

        #[cfg(feature = "checksum")]
        let checksum = Some(format::content_checksum(data));
        #[cfg(not(feature = "checksum"))]
        let checksum = None;

        #[cfg(feature = "checksum")]
        let payload_check = if compressed {
            format::low32(out.get(header_len..).ok_or(Error::Internal {
                what: "compressed output shorter than its header",
            })?)
        } else {
            0
        };
        #[cfg(not(feature = "checksum"))]
        let payload_check = 0;

        let (header, len) = format::encode_header(
            compressed,
            checksum,
            payload_check,
            original_len,
            content_type,
        )?;
        if compressed {
            // `compress_payload` left `header_len` bytes of room in front of the block.
            for (dst, src) in out.iter_mut().zip(header.iter().take(len)) {
                *dst = *src;
            }
        } else {
            // Written in order, header first: no zero-filled room to overwrite.
            let total = header_len.saturating_add(data.len());
            make_room(out, total)?;
            out.extend_from_slice(header.get(..len).ok_or(Error::Internal {
                what: "encoded header longer than its buffer",
            })?);
            extend_from_slice(out, data);
        }
        let envelope_len = out.len() as u64;
        if envelope_len > limits.max_envelope_len() {
            return Err(Error::EnvelopeTooLarge {
                len: envelope_len,
                limit: limits.max_envelope_len(),
            });
        }
        Ok(Report {
            original_len,
            envelope_len,
            payload_len: envelope_len.saturating_sub(len as u64),
            compressed,
            checksum,
            content_type: content_type.cloned(),
            elapsed: Duration::ZERO,
        })
    }

    /// Read an envelope back into a new [`Plaintext`] (wiped at memory speed on drop).
    ///
    /// # Errors
    /// Every way an envelope can be wrong has its own variant: [`Error::TruncatedHeader`],
    /// [`Error::BadMagic`], [`Error::UnsupportedVersion`], [`Error::UnknownFlags`],
    /// [`Error::NonCanonicalHeader`], [`Error::InvalidContentType`],
    /// [`Error::HeaderChecksumMismatch`], [`Error::PayloadChecksumMismatch`], [`Error::EnvelopeTooLarge`],
    /// [`Error::OriginalTooLarge`], [`Error::ImpossibleRatio`], [`Error::LengthMismatch`],
    /// [`Error::CorruptLz4`], [`Error::ChecksumMismatch`], [`Error::CompressionUnsupported`],
    /// [`Error::ChecksumUnsupported`], [`Error::ChecksumMissing`] (an envelope without
    /// checksums, unless the options accept it), [`Error::OutOfMemory`]. All size checks happen on
    /// the header before any allocation.
    pub fn retrieve(&self, envelope: &[u8]) -> Result<Plaintext> {
        let mut out = Vec::new();
        // No report to return, so no clock read.
        let result = self.retrieve_counted(envelope, &mut out, false);
        // Owned by a `Plaintext` before anything else happens: wiped on drop either way.
        let content = Plaintext::new(out);
        result.map(|_| content)
    }

    /// Read an envelope into `out` (its previous contents are replaced; its capacity is
    /// reused) and report what was found.
    ///
    /// When the content does not fit `out`'s capacity, `out` is not grown in place (which
    /// would free the old block unwiped): a new allocation is made and the old one is zeroed
    /// whole (bytes and spare capacity) before it is freed. When it fits, earlier bytes past
    /// the new length stay in `out`'s spare capacity, as after [`Vec::truncate`]: wipe the
    /// whole vector (for example with `zeroize`) when you are done with it.
    ///
    /// # Errors
    /// As [`ByteStorage::retrieve`]. On error `out`'s whole allocation (its capacity,
    /// including bytes past an earlier truncate) is zeroed and `out` is left empty: nothing
    /// unverified is ever handed back.
    pub fn retrieve_into(&self, envelope: &[u8], out: &mut Vec<u8>) -> Result<Report> {
        self.retrieve_counted(envelope, out, true)
    }

    /// Retrieves and counts; reads the clock for `Report::elapsed` and
    /// `Stats::retrieve_time` only when `timed`.
    fn retrieve_counted(&self, envelope: &[u8], out: &mut Vec<u8>, timed: bool) -> Result<Report> {
        let start = timed.then(Instant::now);
        match self.retrieve_inner(envelope, out) {
            Ok(mut report) => {
                report.elapsed = start.map_or(Duration::ZERO, |s| s.elapsed());
                let c = &self.counters;
                add(&c.retrieves, 1);
                add(&c.retrieve_bytes_in, report.envelope_len);
                add(&c.retrieve_bytes_out, report.original_len);
                add(&c.retrieve_nanos, nanos(report.elapsed));
                Ok(report)
            }
            Err(e) => {
                wipe_vec(out);
                add(&self.counters.failures, 1);
                Err(e)
            }
        }
    }

    fn retrieve_inner(&self, envelope: &[u8], out: &mut Vec<u8>) -> Result<Report> {
        let header = self.check(envelope)?;
        let payload = envelope.get(header.header_len()..).ok_or(Error::Internal {
            what: "envelope shorter than its header after the header check",
        })?;
        let declared =
            usize::try_from(header.original_len()).map_err(|_| Error::OriginalTooLarge {
                declared: header.original_len(),
                limit: self.options.limits().max_original_len(),
            })?;
        if header.compressed() {
            decompress_payload(payload, declared, out)?;
        } else {
            // `check` made sure that `payload.len() == declared`, within the limits.
            out.clear();
            make_room(out, payload.len())?;
            extend_from_slice(out, payload);
        }
        verify_content(&header, out)?;
        Ok(Report {
            original_len: header.original_len(),
            envelope_len: envelope.len() as u64,
            payload_len: payload.len() as u64,
            compressed: header.compressed(),
            checksum: header.checksum(),
            content_type: header.content_type().cloned(),
            elapsed: Duration::ZERO,
        })
    }

    /// Parse `envelope`'s header and run every check that needs no allocation and no
    /// decoding: structure, header check, all limits, the LZ4 ratio bound, whether this
    /// build can read it. `retrieve` runs exactly this first.
    ///
    /// # Errors
    /// As [`ByteStorage::retrieve`], except the errors that need the payload decoded
    /// ([`Error::CorruptLz4`], [`Error::ChecksumMismatch`], [`Error::OutOfMemory`]).
    /// The payload check of a compressed envelope is verified here (hashing the payload,
    /// allocating nothing).
    pub fn check(&self, envelope: &[u8]) -> Result<Header> {
        let limits = self.options.limits();
        let envelope_len = envelope.len() as u64;
        if envelope_len > limits.max_envelope_len() {
            return Err(Error::EnvelopeTooLarge {
                len: envelope_len,
                limit: limits.max_envelope_len(),
            });
        }
        let (header, payload) = Header::parse(envelope)?;
        let declared = header.original_len();
        if declared > limits.max_original_len() {
            return Err(Error::OriginalTooLarge {
                declared,
                limit: limits.max_original_len(),
            });
        }
        let payload_len = payload.len() as u64;
        if header.compressed() {
            if !cfg!(feature = "compression") {
                return Err(Error::CompressionUnsupported);
            }
            let max = limits.max_declared_for_payload(payload_len);
            if declared > max {
                return Err(Error::ImpossibleRatio {
                    declared,
                    payload_len,
                    max,
                });
            }
        } else if declared != payload_len {
            return Err(Error::LengthMismatch {
                declared,
                actual: payload_len,
            });
        }
        // After the structure and the limits, so that a bomb is named as one whatever its
        // flags say.
        if header.checksum().is_none() && !self.options.accepts_unchecked() {
            return Err(Error::ChecksumMissing);
        }
        header.verify_payload(payload)?;
        Ok(header)
    }

    /// A snapshot of the counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            stores: load(&c.stores),
            compressed_stores: load(&c.compressed_stores),
            retrieves: load(&c.retrieves),
            failures: load(&c.failures),
            store_bytes_in: load(&c.store_bytes_in),
            store_bytes_out: load(&c.store_bytes_out),
            retrieve_bytes_in: load(&c.retrieve_bytes_in),
            retrieve_bytes_out: load(&c.retrieve_bytes_out),
            store_time: Duration::from_nanos(load(&c.store_nanos)),
            retrieve_time: Duration::from_nanos(load(&c.retrieve_nanos)),
        }
    }
}

/// Makes `out` able to hold `capacity` bytes without reallocating, for contents that replace
/// its own. A vector already that large is left as it is. Otherwise `out` is not grown in
/// place (`Vec` growth copies the block and frees the old one unwiped): a new allocation of
/// exactly `capacity` bytes is made first, then the old allocation is zeroed whole with
/// [`wipe_vec`] and freed, and `out` becomes the new, empty vector. If the new allocation
/// fails, `out` is left untouched.
fn make_room(out: &mut Vec<u8>, capacity: usize) -> Result<()> {
    if out.capacity() >= capacity {
        return Ok(());
    }
    let mut fresh = Vec::new();
    reserve(&mut fresh, capacity)?;
    wipe_vec(out);
    *out = fresh;
    Ok(())
}

/// Bytes past the length an LZ4 encoder returns that it may have written: lz4_flex's safe
/// encoder writes through a bounds-checked slice sink and never past its position (0); its
/// `unsafe` encoder copies literals in rounded-up 8/16/24-byte chunks (at most 7 bytes past
/// the position, `copy_literals_wild` in lz4_flex 0.14). 64 covers both with room to spare.
const ENCODER_SLACK: usize = 64;

/// Unused capacity from which [`into_exact`] copies an envelope out: below it the copy costs
/// more than the spare bytes, and small blocks do not make the heap grow and shrink.
const EXACT_FROM: usize = 4096;

/// `built`, with less than [`EXACT_FROM`] bytes of spare capacity. When `built` has more
/// (the LZ4 worst-case room of a compressed store), its bytes are copied into a new exact
/// allocation and the old block is wiped before it is freed: every byte that may differ from
/// zero, the envelope and up to [`ENCODER_SLACK`] bytes past it (the rest of the room was
/// zero-filled before encoding, or wiped after a failed attempt, and the encoder never writes
/// there). On an allocation failure `built` is wiped whole.
fn into_exact(mut built: Vec<u8>) -> Result<Vec<u8>> {
    if built.capacity().saturating_sub(built.len()) < EXACT_FROM {
        return Ok(built);
    }
    let mut exact = Vec::new();
    if let Err(e) = reserve(&mut exact, built.len()) {
        wipe_vec(&mut built);
        return Err(e);
    }
    extend_from_slice(&mut exact, &built);
    let dirty = built
        .len()
        .saturating_add(ENCODER_SLACK)
        .min(built.capacity());
    // `dirty <= capacity`: growing over the spare capacity never reallocates.
    built.resize(dirty, 0);
    wipe(&mut built);
    Ok(exact)
}

fn reserve(out: &mut Vec<u8>, len: usize) -> Result<()> {
    out.try_reserve_exact(len).map_err(|_| Error::OutOfMemory {
        requested: len as u64,
    })
}

#[cfg(feature = "checksum")]
fn verify_content(header: &Header, content: &[u8]) -> Result<()> {
    if let Some(stored) = header.checksum()
        && format::content_checksum(content) != stored
    {
        return Err(Error::ChecksumMismatch);
    }
    Ok(())
}

#[cfg(not(feature = "checksum"))]
fn verify_content(header: &Header, _content: &[u8]) -> Result<()> {
    // `Header::parse` already refused checksummed envelopes in this build.
    match header.checksum() {
        Some(_) => Err(Error::ChecksumUnsupported),
        None => Ok(()),
    }
}

/// Inputs at least this long are sampled before the whole input is compressed.
#[cfg(feature = "compression")]
const SAMPLE_FROM: usize = 16 * 1024;
/// Number of windows sampled, spread evenly over the input.
#[cfg(feature = "compression")]
const SAMPLE_WINDOWS: usize = 4;
/// Bytes in each window of the byte-diversity probe (128 bytes in all).
#[cfg(feature = "compression")]
const PROBE_WINDOW: usize = 32;
/// Distinct byte values among the 128 probed at or above which the input looks random.
/// 128 uniformly random bytes show 101 distinct values on average (standard deviation
/// about 5); text, JSON, hex and base64 show at most about 60.
#[cfg(feature = "compression")]
const RANDOM_DISTINCT: u32 = 80;
/// Bytes in each window of the LZ4 sample (1 KiB in all).
#[cfg(feature = "compression")]
const SAMPLE_WINDOW: usize = 256;

/// Cheap skip decision for inputs of at least `SAMPLE_FROM` bytes, in two steps.
///
/// 1. A byte-diversity probe (128 bytes from four places, a 256-bit set, under 0.1 µs):
///    random-looking input (ciphertext, keys, compressed media) is stored raw at once.
/// 2. Otherwise a 1 KiB sample from four places is LZ4-compressed; unless it shrinks by
///    at least 1/16, the input is stored raw.
///
/// Smaller inputs are simply compressed once. Whatever this decides, `compress_payload`
/// still falls back to raw when the whole input does not shrink; a wrong guess costs
/// only time or size, never correctness.
#[cfg(feature = "compression")]
fn sample_says_compressible(data: &[u8]) -> bool {
    if data.len() < SAMPLE_FROM {
        return true;
    }
    let stride = data.len() / SAMPLE_WINDOWS;
    let mut seen = [0u64; 4];
    for i in 0..SAMPLE_WINDOWS {
        let start = i.saturating_mul(stride);
        // start + PROBE_WINDOW <= 3/4 len + 32 <= len: every window is whole.
        for &b in data.iter().skip(start).take(PROBE_WINDOW) {
            // `b >> 6` is at most 3: the check compiles away, no branch per byte.
            if let Some(word) = seen.get_mut(usize::from(b >> 6)) {
                *word |= 1u64 << (b & 63);
            }
        }
    }
    let distinct: u32 = seen.iter().map(|w| w.count_ones()).sum();
    if distinct >= RANDOM_DISTINCT {
        return false;
    }
    let mut sample = [0u8; SAMPLE_WINDOW * SAMPLE_WINDOWS];
    for (i, chunk) in sample.chunks_mut(SAMPLE_WINDOW).enumerate() {
        for (dst, src) in chunk
            .iter_mut()
            .zip(data.iter().skip(i.saturating_mul(stride)))
        {
            *dst = *src;
        }
    }
    let mut scratch =
        [0u8; lz4_flex::block::get_maximum_output_size(SAMPLE_WINDOW * SAMPLE_WINDOWS)];
    match lz4_flex::block::compress_into(&sample, &mut scratch) {
        Ok(packed) => packed < sample.len() - sample.len() / 16,
        Err(_) => true,
    }
}

/// Try LZ4; on success `out` holds header space plus the block and this returns `true`.
/// Returns `false` (with `out` empty and its whole allocation wiped) when compression does
/// not make the payload smaller.
#[cfg(feature = "compression")]
fn compress_payload(data: &[u8], header_len: usize, out: &mut Vec<u8>) -> Result<bool> {
    if !sample_says_compressible(data) {
        return Ok(false);
    }
    let bound = lz4_flex::block::get_maximum_output_size(data.len());
    let total = header_len.saturating_add(bound);
    make_room(out, total)?;
    out.resize(total, 0);
    let Some(dst) = out.get_mut(header_len..) else {
        out.clear();
        return Ok(false);
    };
    match lz4_flex::block::compress_into(data, dst) {
        Ok(n) if n < data.len() => {
            out.truncate(header_len.saturating_add(n));
            Ok(true)
        }
        _ => {
            // The encoder's output (literals are input bytes) must not stay in the spare
            // capacity the raw envelope is then written over.
            wipe_vec(out);
            Ok(false)
        }
    }
}

#[cfg(not(feature = "compression"))]
#[allow(clippy::unnecessary_wraps)]
fn compress_payload(_data: &[u8], _header_len: usize, _out: &mut Vec<u8>) -> Result<bool> {
    Ok(false)
}

/// Decode an LZ4 block of exactly `declared` bytes into `out` (previous contents replaced).
///
/// `out` is sized to `declared` bytes without a fresh memset when it already holds that
/// many initialized bytes (a reused buffer); new space is zero-filled, and a buffer too
/// small for `declared` is replaced by a new allocation after its old one is wiped whole
/// ([`make_room`]). This is safe with
/// `lz4_flex` >= 0.14.2 (safe decoder, `checked-decode`): every match offset is checked
/// against the bytes written so far, so the decoder never reads the stale bytes
/// (RUSTSEC-2026-0041 concerned exactly that in older versions), and the decoder writes
/// only inside the slice. The written length must equal `declared` exactly, and the
/// caller zeroes `out` on any error.
///
/// Kept out of line: inlined into `retrieve_counted`, the decoder ran about 1 µs slower per
/// 64 KiB (8.5 vs 7.7 µs in one profile, same lz4_flex code as cachekit-core's), a codegen
/// effect measured with `perf stat` (retrieve 12.5 → 11.3 µs).
#[cfg(feature = "compression")]
#[inline(never)]
fn decompress_payload(payload: &[u8], declared: usize, out: &mut Vec<u8>) -> Result<()> {
    if out.len() >= declared {
        out.truncate(declared);
    } else {
        make_room(out, declared)?;
        out.resize(declared, 0);
    }
    let written =
        lz4_flex::block::decompress_into(payload, out).map_err(|e| Error::CorruptLz4 {
            reason: e.to_string(),
        })?;
    if written != declared {
        return Err(Error::LengthMismatch {
            declared: declared as u64,
            actual: written as u64,
        });
    }
    Ok(())
}

#[cfg(not(feature = "compression"))]
fn decompress_payload(_payload: &[u8], _declared: usize, _out: &mut Vec<u8>) -> Result<()> {
    Err(Error::CompressionUnsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_room_keeps_a_large_enough_buffer_and_replaces_a_small_one() {
        let mut out = vec![0xA5u8; 64];
        let ptr = out.as_ptr();
        make_room(&mut out, 64).unwrap();
        assert_eq!(
            (out.as_ptr(), out.len()),
            (ptr, 64),
            "untouched when it fits"
        );
        make_room(&mut out, 65).unwrap();
        assert!(out.is_empty());
        assert_eq!(out.capacity(), 65);
    }

    #[test]
    fn retrieve_into_grows_a_reused_buffer_and_keeps_a_fitting_one() {
        let storage = ByteStorage::new(Options::default());
        let content = vec![0x42u8; 1000];
        let envelope = storage.store(&content).unwrap();
        let mut out = vec![0xA5u8; 10];
        storage.retrieve_into(&envelope, &mut out).unwrap();
        assert_eq!(out, content);
        assert_eq!(out.capacity(), content.len(), "one exact new allocation");
        let small = storage.store(b"short").unwrap();
        let ptr = out.as_ptr();
        storage.retrieve_into(&small, &mut out).unwrap();
        assert_eq!((out.as_slice(), out.as_ptr()), (&b"short"[..], ptr));
    }
}
