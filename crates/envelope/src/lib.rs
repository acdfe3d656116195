//! `hexvault-envelope` owns the byte envelope: framing, LZ4 compression, xxHash3-64 checksums
//! and the decompression-bomb limits.
//!
//! Invariants:
//! - every size check (envelope length, declared original length, the LZ4 expansion bound
//!   of the payload) runs on the header alone, before any allocation;
//! - nothing unverified is returned: the content checksum and the header check are
//!   verified before `retrieve` succeeds (an envelope without checksums is refused unless
//!   the options accept it, [`Options::accept_unchecked`]: the default with the `checksum`
//!   feature is to refuse), and a failed `retrieve_into` leaves the caller's buffer zeroed
//!   (its whole allocation) and empty; the checksums detect accidental damage, not forgery;
//! - a caller's buffer that `retrieve_into` or `store_into` must grow is never grown in
//!   place: its old allocation is zeroed whole before it is freed;
//! - what `retrieve` returns is a [`Plaintext`], wiped (plaintext and spare capacity) at
//!   memory speed when it drops;
//! - the format is version 1 and stays readable forever (golden files in `tests/data/`);
//! - only the safe `lz4_flex` encoder and decoder are used, and this crate has no `unsafe`.
//!
#![doc = include_str!("../README.md")]

mod error;
mod format;
mod options;
mod plaintext;
mod storage;

pub use error::{Error, Result};
pub use format::{
    CHECKS_LEN, FIXED_HEADER_LEN, FLAG_CHECKSUM, FLAG_LZ4, FORMAT_VERSION, Header, KNOWN_FLAGS,
    MAGIC, MAX_HEADER_LEN, MIN_HEADER_LEN, max_lz4_output,
};
pub use options::{
    Compression, ContentType, DEFAULT_MIN_COMPRESS_LEN, LIMIT_CEILING, Limits, Options,
};
pub use plaintext::{Plaintext, wipe};
pub use storage::{ByteStorage, Checksum, Report, Stats};
