//! The crate's error enum, the damage classes a verifier reports, and `Result`.

use std::path::PathBuf;

use crate::Sequence;

/// Everything that can go wrong in `hexvault-audit`.
///
/// Damage found while verifying a log is not an `Error` of [`crate::verify_bytes`]: it is
/// reported in [`crate::Report::failure`]. Opening a [`crate::FileLog`] turns such damage into
/// [`Error::Damaged`], because a writer must never append behind a broken chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused a read, write, sync or lock.
    #[error("audit log I/O failed: {0}; check the path, permissions and free disk space")]
    Io(#[from] std::io::Error),

    /// Another handle (in this process or another one) holds the log's advisory lock.
    #[error(
        "audit log {} is locked by another writer; close the other process or handle first",
        path.display()
    )]
    Locked {
        /// The log file that is locked.
        path: PathBuf,
    },

    /// `FileLog::create` was asked to create a file that already exists.
    #[error(
        "audit log {} already exists; open it with FileLog::open instead of creating it",
        path.display()
    )]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },

    /// The bytes do not start with a valid hexvault audit log header.
    #[error(
        "not a hexvault audit log (bad magic, header checksum or truncated header); check the path"
    )]
    NotAuditLog,

    /// The header names a format version this build cannot read.
    #[error("unsupported audit log format version {0}; upgrade hexvault to read this log")]
    UnsupportedVersion(u16),

    /// The log is damaged: a record was changed, removed, reordered, duplicated or forged,
    /// or a checkpoint does not match. Nothing after `sequence` can be trusted.
    #[error(
        "audit log damaged at sequence {sequence}: {reason}; keep the file as evidence, restore from a backup and investigate"
    )]
    Damaged {
        /// The first sequence number whose record (or checkpoint) fails verification.
        sequence: Sequence,
        /// What failed.
        reason: Damage,
    },

    /// The audit key does not belong to this log (its key check value differs).
    #[error("audit key does not match this log; supply the key the log was created with")]
    WrongKey,

    /// The log was written in one chain mode and opened or verified in another.
    #[error(
        "audit log chain mode mismatch: the log is {found}, the caller asked for {expected}; use the matching verifier"
    )]
    ModeMismatch {
        /// The mode the caller asked for.
        expected: crate::ChainMode,
        /// The mode the log header names.
        found: crate::ChainMode,
    },

    /// Verifying a log that has a checkpoint key needs a trusted public key from the caller;
    /// the key in the file header is information only (whoever rewrites the file can
    /// replace it).
    #[error(
        "a trusted checkpoint public key is required to verify this signed log; pass the operator's key (Verifier::with_public_key / --public-key), never the one stored in the file"
    )]
    TrustedKeyRequired,

    /// The checkpoint public key in the log header is not the trusted key the caller gave.
    #[error(
        "the checkpoint key recorded in this log is not the trusted key: the log was re-signed by another key, or the wrong trusted key was given; keep the file as evidence"
    )]
    UntrustedHeaderKey,

    /// The anchor given to the verifier belongs to another log, is not format 2, or its
    /// signature does not verify under the trusted key.
    #[error("anchor rejected: {0}; give the anchor file written beside this log")]
    BadAnchor(&'static str),

    /// A format-1 log was opened for appending. Format 1 can be verified, not extended.
    #[error(
        "audit log format {0} can be verified but not appended to (its checkpoints do not cover the public chain); start a new log"
    )]
    ReadOnlyFormat(u16),

    /// A log option is out of range.
    #[error("invalid audit log option: {0}")]
    InvalidOption(&'static str),

    /// An internal invariant failed (a bug, never input-dependent).
    #[error("internal error in hexvault-audit: {0}; please report it")]
    Internal(&'static str),

    /// The checkpoint signing key does not match the public key recorded in the log header.
    #[error(
        "checkpoint signing key does not match the key recorded in this log; supply the original signing key"
    )]
    SigningKeyMismatch,

    /// The checkpoint interval in the log's header (or a database's head row) differs from
    /// the one the caller trusts (the writer's options, `Verifier::expect_checkpoint_every`):
    /// the header was edited (it is protected only by a public checksum), or the log is
    /// opened or verified with another interval than it was created with.
    #[error(
        "the log header says a checkpoint every {header} records but the trusted interval is \
         {options} (0: none); use the interval the log was created with, or treat the header \
         as tampered with"
    )]
    CheckpointIntervalMismatch {
        /// The interval recorded in the header (0: none).
        header: u64,
        /// The interval in the options (0: none).
        options: u64,
    },

    /// A checkpoint was requested but the log has no signing key.
    #[error("no checkpoint signing key configured; pass one with LogOptions::signing_key")]
    NoSigningKey,

    /// A field is longer than the format allows.
    #[error("{field} is {len} bytes, the maximum is {max}; use a shorter identifier")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The maximum allowed.
        max: usize,
    },

    /// Encoded bytes are not a canonical record, checkpoint or header.
    #[error("malformed audit encoding: {0}; the input is not something hexvault-audit wrote")]
    Malformed(&'static str),

    /// The system clock reads a time before 1970-01-01 or after 2554.
    #[error("system clock out of range (before 1970 or after 2554); fix the clock")]
    Clock,

    /// The operating system's random number generator failed.
    #[error("OS random number generator failed; retry, and check the platform's entropy source")]
    Random,

    /// 2^64 records were appended; the log is full.
    #[error("audit log sequence numbers exhausted; start a new log")]
    SequenceExhausted,

    /// The storage of a log kept outside this crate (a database) failed. The storage's
    /// error says whether the append, read or checkpoint did not happen (a database
    /// transaction rolled back) or may have happened (a commit sent, its outcome unknown:
    /// verify before appending again).
    #[error("audit log storage failed: {0}; check the connection to the storage and its logs")]
    Storage(Box<dyn std::error::Error + Send + Sync + 'static>),

    /// An earlier write or sync failed; the file tail is in an unknown state.
    #[error(
        "an earlier write to this audit log failed; drop the handle and reopen the log to repair its tail"
    )]
    Failed,
}

/// What a verifier found wrong at a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// A frame header (type, length or its check value) is corrupt.
    #[error("corrupt frame header")]
    FrameHeader,
    /// A frame's checksum does not match its contents.
    #[error("frame checksum mismatch")]
    FrameChecksum,
    /// A frame's payload is not a canonical record or checkpoint.
    #[error("malformed frame payload")]
    Encoding,
    /// The record carries another sequence number than the next one expected
    /// (a record removed, reordered or duplicated).
    #[error("expected this sequence number, found record {found}")]
    UnexpectedSequence {
        /// The sequence number found in the record.
        found: Sequence,
    },
    /// The record's previous-chain field is not the chain value of the record before it.
    #[error("previous-chain value does not link to the record before")]
    BrokenLink,
    /// The recomputed chain value differs from the stored one (record changed or forged).
    #[error("chain value mismatch (record changed or forged)")]
    ChainMismatch,
    /// A checkpoint's signature does not verify.
    #[error("checkpoint signature invalid")]
    CheckpointSignature,
    /// A checkpoint does not match the record it follows (sequence, chain value or log id).
    #[error("checkpoint does not match the chain")]
    CheckpointMismatch,
    /// A checkpoint's public (SHA-256) chain value differs from the one recomputed from
    /// the records: a record between the previous checkpoint (or the start) and this one
    /// was changed. The failure is charged to the first record of that range, `through`
    /// is its last.
    #[error("public chain mismatch: a record up to sequence {through} was changed")]
    PublicChainMismatch {
        /// The last record of the range (the checkpoint's sequence).
        through: Sequence,
    },
    /// A signed log with a checkpoint interval has no checkpoint where the interval puts one
    /// (a checkpoint frame was removed). Charged to the record it was due after when every
    /// record is checked (keyed or unkeyed verification); with the public key only, to the
    /// first record after the previous checkpoint, since the missing one alone covered them.
    #[error(
        "an interval checkpoint is missing (charged to the first record it would cover without the audit key)"
    )]
    MissingCheckpoint,
    /// The log ends before the record its anchor (or the caller's minimum sequence)
    /// names: `missing` records were cut off.
    #[error("log cut short: {missing} records missing before the anchored sequence")]
    Truncated {
        /// How many records are missing.
        missing: u64,
    },
    /// The record at the anchor's sequence does not carry the anchor's chain values.
    #[error("record does not match the anchor's chain values")]
    AnchorMismatch,
    /// What looks like a torn final frame has written bytes (before the zeros of unwritten
    /// blocks) of one maximal frame or more, or hides a complete frame that continues the
    /// log: a forged frame length, not a crash. Nothing is repaired.
    #[error("torn tail hides complete frames or exceeds one frame (forged length)")]
    ForgedTornTail,
    /// Records after the last signed checkpoint; reported as a failure only when the
    /// verifier requires an anchored tail.
    #[error("records after the last signed checkpoint (tail truncation cannot be excluded)")]
    UnanchoredTail,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
