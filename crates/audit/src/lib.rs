//! `hexvault-audit`: the keyed, hash-chained, append-only audit log of hexvault.
#![doc = include_str!("../README.md")]
//!
//! # What this crate owns
//!
//! Audit records ([`AuditRecord`]) and their canonical encoding, the public SHA-256 chain
//! over the encodings and the keyed chain (log format 3: `chain[n] = HMAC-SHA256(audit_key,
//! "hexvault-audit/v3/chain" ‖ public[n])`; formats 1 and 2: `HMAC-SHA256(audit_key,
//! chain[n-1] ‖ encode(record[n]))`; genesis bound to the [`LogId`]), ed25519-signed
//! [`Checkpoint`]s over both, the [`Anchor`] kept outside the log, the [`AuditLog`] trait
//! with [`MemoryLog`] and [`FileLog`], the storage-free [`ChainWriter`] for logs kept
//! elsewhere (a database), and offline verification ([`Verifier`], [`Report`]).
//!
//! # Invariants
//!
//! - Sequence numbers are gapless from 0; each record names the previous chain value and
//!   the chain value of every record is stored beside it, so a change, removal, reordering
//!   or duplication anywhere is detected and named by its sequence number.
//! - Every encoding is a read/write pair; decoders accept only canonical bytes and never
//!   panic on any input.
//! - A file log is only ever appended to; the only truncation is of a torn final frame on
//!   open, after its bytes are saved to a quarantine file, and it is reported. A "torn"
//!   region that hides a complete frame continuing the log (a record of a later sequence, a
//!   checkpoint of this log) or exceeds one frame is damage. Nothing complete is ever
//!   dropped.
//! - Verification trusts only keys the caller gives, never the key in a file header.
//! - An `append` returns only when its durability policy holds ([`Durability`]).
//! - Key material ([`AuditKey`], signing keys) is zeroized on drop and never printed.
//! - This crate depends on no other hexvault crate.

mod anchor;
mod chain;
mod checkpoint;
mod codec;
mod contents;
mod error;
mod file;
mod format;
mod log;
mod memory;
mod record;
mod signing;
mod verify;
mod writer;

pub use anchor::{ANCHOR_LEN, ANCHOR_MAGIC, ANCHOR_VERSION, Anchor};
pub use chain::{AuditKey, ChainMode, ChainValue, LogId};
pub use checkpoint::{
    CHECKPOINT_DOMAIN, CHECKPOINT_DOMAIN_V1, CHECKPOINT_LEN, CHECKPOINT_LEN_V1, CHECKPOINT_VERSION,
    CHECKPOINT_VERSION_V1, Checkpoint,
};
pub use contents::{LogContents, LogEntry};
pub use ed25519_dalek::VerifyingKey;
pub use error::{Damage, Error, Result};
#[cfg(any(test, feature = "test-support"))]
pub use file::SyncHold;
pub use file::{FileLog, OpenedFileLog};
#[cfg(any(test, feature = "test-support"))]
pub use format::write_frame;
pub use format::{
    FILE_MAGIC, FILE_VERSION, FILE_VERSION_V1, FILE_VERSION_V2, FRAME_CHECKPOINT, FRAME_HEAD_LEN,
    FRAME_RECORD, FRAME_TAIL_LEN, HEADER_LEN, MAX_FRAME_LEN, MAX_FRAME_PAYLOAD,
};
pub use log::{Appended, AuditLog, Durability, EntryRef, LogOptions};
pub use memory::MemoryLog;
pub use record::{
    AuditRecord, Binding, BlobRef, CellId, Context, ContextId, Endpoint, ErrorClass, Event,
    EventKind, KeyVersion, Layer, MAX_ID_LEN, MIN_RECORD_LEN, Outcome, PartitionId, RECORD_VERSION,
    RECORD_VERSION_V1, RECORD_VERSION_V3, Sequence, Timestamp,
};
pub use signing::SigningKey;
pub use verify::{
    EntryChecker, Failure, Report, StoredHeader, TornTail, Verifier, VerifyLevel, verify_bytes,
};
pub use writer::{ChainHead, ChainWriter, PreparedRecord};
