//! A stream sealer fails closed (review round 34): after a read or write error it never
//! reports a finished stream, so no stream that opens can be missing bytes or segments.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{self, Read};

use hexvault_aead::{Key, MIN_SEGMENT_LEN, StreamOpener, StreamOptions, StreamSealer};

const SEG_LEN: usize = MIN_SEGMENT_LEN as usize;

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A reader that hands out `step` bytes per read and fails the `fail_at`-th read (counting
/// from 0) once with a transient error (a non-blocking pipe or socket, `TimedOut`), then
/// carries on where it stopped: the failing read consumes nothing.
struct FlakyReader<'a> {
    data: &'a [u8],
    step: usize,
    reads: usize,
    fail_at: usize,
}

impl Read for FlakyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reads;
        self.reads += 1;
        if n == self.fail_at {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "try again"));
        }
        let k = self.step.min(buf.len()).min(self.data.len());
        let (now, rest) = self.data.split_at(k);
        buf[..k].copy_from_slice(now);
        self.data = rest;
        Ok(k)
    }
}

/// A read error in `copy_from` after earlier reads of the same segment loses the bytes those
/// reads handed over. Before review round 34 the sealer stayed usable: a caller that retried
/// the transient error (`WouldBlock`) and called `finish` got `Ok` and a stream that opened
/// to the plaintext with a hole in it. Now the sealer refuses every later call.
#[test]
fn a_read_error_in_copy_from_never_yields_a_stream_missing_plaintext() {
    let key = Key::from_bytes([5; 32]);
    let plaintext = data(3 * SEG_LEN + 100);
    let mut reader = FlakyReader {
        data: &plaintext,
        step: 100,
        reads: 0,
        fail_at: 3,
    };
    let mut sealer = StreamSealer::with_options(
        &key,
        b"aad",
        Vec::new(),
        StreamOptions::default().segment_len(MIN_SEGMENT_LEN),
    )
    .unwrap();
    let first = sealer.copy_from(&mut reader);
    assert!(first.is_err(), "the transient read error is reported");
    // The caller retries the transient error, as one does with `WouldBlock`: the sealer
    // refuses (bytes the reader handed over before the error are gone), and never finishes.
    let resumed = sealer.copy_from(&mut reader);
    assert!(
        matches!(resumed, Err(hexvault_aead::Error::MalformedStream { .. })),
        "{resumed:?}"
    );
    assert!(
        sealer.finish().is_err(),
        "a stream missing input never finishes"
    );
}

/// A writer that refuses its `fail_at`-th write (counting from 0) once and writes nothing
/// then, and accepts every other write (a full disk freed, a non-blocking socket).
struct WriterFailsOnce {
    out: Vec<u8>,
    writes: usize,
    fail_at: usize,
}

impl io::Write for WriterFailsOnce {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writes;
        self.writes += 1;
        if n == self.fail_at {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "try again"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sealer side of the same finding: crates/aead/src/stream.rs:312-313 "The stream opens
/// only once this returned `Ok`", the house rule "an error is never a silent fallback", and
/// ADR 0026's fail-closed rule, which round 22 applied to the opener only.
///
/// A write failure while a segment is sealed consumes the segment's index and loses its
/// ciphertext. Before review round 34 the sealer stayed usable: a caller who retried
/// (`write_all` of the rest) and called `finish` got `Ok(writer)` for a stream that could
/// never open (its segment 1 missing), and a caller that trusted `finish` deleted its source.
/// Now the failure is reported, every later call fails with `MalformedStream`, and `finish`
/// refuses.
#[test]
fn finish_never_reports_success_for_a_stream_that_does_not_open() {
    let key = Key::from_bytes([6; 32]);
    let plaintext = data(3 * SEG_LEN + 10);
    let writer = WriterFailsOnce {
        out: Vec::new(),
        writes: 0,
        // write 0 is the header, write 1 segment 0, write 2 segment 1.
        fail_at: 2,
    };
    let mut sealer = StreamSealer::with_options(
        &key,
        b"aad",
        writer,
        StreamOptions::default().segment_len(MIN_SEGMENT_LEN),
    )
    .unwrap();
    let mut outcomes = Vec::new();
    for chunk in plaintext.chunks(SEG_LEN) {
        // The caller retries with what follows, whatever the previous call said.
        outcomes.push(sealer.write_all(chunk));
    }
    let first_failure = outcomes.iter().position(Result::is_err);
    assert_eq!(
        first_failure,
        Some(2),
        "the write of segment 1 fails: {outcomes:?}"
    );
    for later in &outcomes[3..] {
        assert!(
            matches!(later, Err(hexvault_aead::Error::MalformedStream { .. })),
            "a failed sealer refuses every later call: {later:?}"
        );
    }
    assert!(
        matches!(
            sealer.finish(),
            Err(hexvault_aead::Error::MalformedStream { .. })
        ),
        "finish never reports a stream that lost a segment as complete"
    );
}

/// A `Read` that reports more bytes than the buffer it was given (a broken implementation)
/// is an error of the stream, never a length trusted for slicing (it panicked the opener).
struct Overreporting;

impl Read for Overreporting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(buf.len() + 1)
    }
}

#[test]
fn a_reader_that_overstates_its_count_is_refused_not_trusted() {
    let key = Key::from_bytes([7; 32]);
    let mut sealer = StreamSealer::new(&key, b"aad", Vec::new()).unwrap();
    assert!(sealer.copy_from(&mut Overreporting).is_err());
    assert!(sealer.finish().is_err(), "a failed sealer never finishes");
    let mut sealer = StreamSealer::new(&key, b"aad", Vec::new()).unwrap();
    sealer.write_all(&data(1000)).unwrap();
    let stream = sealer.finish().unwrap();
    // The header comes from the stream; the segment reads from the lying reader.
    let header = stream[..hexvault_aead::STREAM_HEADER_LEN].to_vec();
    let mut opener = StreamOpener::new(&key, b"aad", header.chain(Overreporting)).unwrap();
    assert!(opener.next_segment().is_err());
}

/// A reader interrupted by a signal (`ErrorKind::Interrupted`) is read again, as `Read`'s
/// contract asks (the `copy_from` docs): the stream is whole, and it opens to every byte.
struct InterruptedOnce<'a> {
    data: &'a [u8],
    interrupted: bool,
}

impl Read for InterruptedOnce<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.interrupted && !self.data.is_empty() {
            self.interrupted = true;
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = buf.len().min(self.data.len()).min(777);
        let (now, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(now);
        self.data = rest;
        self.interrupted = false;
        Ok(n)
    }
}

#[test]
fn a_read_interrupted_by_a_signal_is_retried_and_the_stream_is_whole() {
    let key = Key::from_bytes([8; 32]);
    let plaintext = data(3 * SEG_LEN + 5);
    let mut sealer = StreamSealer::with_options(
        &key,
        b"aad",
        Vec::new(),
        StreamOptions::default().segment_len(MIN_SEGMENT_LEN),
    )
    .unwrap();
    let read = sealer
        .copy_from(&mut InterruptedOnce {
            data: &plaintext,
            interrupted: false,
        })
        .unwrap();
    assert_eq!(read, plaintext.len() as u64);
    let stream = sealer.finish().unwrap();
    let mut out = Vec::new();
    StreamOpener::new(&key, b"aad", &stream[..])
        .unwrap()
        .copy_to(&mut out)
        .unwrap();
    assert_eq!(out, plaintext);
}
