//! A sealed stream's opener stays failed after its writer fails (review round 22): a segment
//! that could not be written is consumed, so the stream must never be reported complete.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{self, Write};

use hexvault_aead::{Key, MIN_SEGMENT_LEN, StreamOpener, StreamOptions, StreamSealer};

/// A writer that refuses its `fail_at`-th write (counting from 0) once, then accepts again
/// (a full disk freed, a pipe reader that recovered, a non-blocking socket); with
/// `fail_flush`, it refuses its first flush instead.
struct FailsOnce {
    out: Vec<u8>,
    writes: usize,
    fail_at: usize,
    fail_flush: bool,
}

impl Write for FailsOnce {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writes;
        self.writes += 1;
        if n == self.fail_at {
            return Err(io::Error::other("transient write failure"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if core::mem::take(&mut self.fail_flush) {
            return Err(io::Error::other("transient flush failure"));
        }
        Ok(())
    }
}

/// docs/adr/0026-sealed-streams.md:33-34 "The opener is fail-closed: after any error it
/// stays failed and never reports the stream complete." and crates/aead/src/stream.rs:462-464
/// "After any error the opener is failed for good ... so a caller that ignores an error
/// cannot mistake the stream for complete."
///
/// `StreamOpener::copy_to` (stream.rs:542-551) returns a write failure with the opener still
/// in `Reading`: the segment it could not write is consumed, and a second `copy_to` (or
/// `next_segment`) carries on and reports the stream complete (`Ok`) although the output
/// lacks a whole segment in the middle, the "dropped segment" the format promises to catch.
#[test]
fn a_write_failure_in_copy_to_leaves_the_opener_failed() {
    let (key, plaintext, stream) = sealed();
    let mut opener = StreamOpener::new(&key, b"aad", &stream[..]).unwrap();
    let mut out = FailsOnce {
        out: Vec::new(),
        writes: 0,
        fail_at: 1,
        fail_flush: false,
    };
    assert!(
        opener.copy_to(&mut out).is_err(),
        "the second segment's write fails"
    );
    // The caller retries (or ignores the error and goes on reading).
    let again = opener.copy_to(&mut out);
    assert!(
        again.is_err(),
        "the opener reported the stream complete after an error: Ok({:?}), output {} of {} \
         bytes, a whole segment missing from its middle",
        again.as_ref().ok(),
        out.out.len(),
        plaintext.len()
    );
}

/// The same after the last segment: a flush that fails leaves the opener failed, and a second
/// `copy_to` does not report the stream complete.
#[test]
fn a_flush_failure_in_copy_to_leaves_the_opener_failed() {
    let (key, plaintext, stream) = sealed();
    let mut opener = StreamOpener::new(&key, b"aad", &stream[..]).unwrap();
    let mut out = FailsOnce {
        out: Vec::new(),
        writes: 0,
        fail_at: usize::MAX,
        fail_flush: true,
    };
    assert!(opener.copy_to(&mut out).is_err());
    assert_eq!(
        out.out, plaintext,
        "every segment was written before the flush"
    );
    assert!(opener.copy_to(&mut out).is_err());
    assert!(opener.next_segment().is_err());
}

/// Three minimum-length segments sealed under a test key, with their plaintext.
fn sealed() -> (Key, Vec<u8>, Vec<u8>) {
    let key = Key::from_bytes([5; 32]);
    let seg = MIN_SEGMENT_LEN as usize;
    let plaintext: Vec<u8> = (0..3 * seg).map(|i| (i % 251) as u8).collect();
    let mut sealer = StreamSealer::with_options(
        &key,
        b"aad",
        Vec::new(),
        StreamOptions::default().segment_len(MIN_SEGMENT_LEN),
    )
    .unwrap();
    sealer.write_all(&plaintext).unwrap();
    (key, plaintext, sealer.finish().unwrap())
}
