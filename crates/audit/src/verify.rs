//! Verification: the chain checker shared by every reader, the [`Verifier`] and its [`Report`].

use core::fmt;
use std::path::Path;

use ed25519_dalek::VerifyingKey;

use crate::chain::Chainer;
use crate::format::{self, FileHeader, FrameRead};
use crate::{
    AuditKey, AuditRecord, ChainMode, ChainValue, Checkpoint, Damage, Error, LogId, Result,
    Sequence,
};

/// How much a verification could check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyLevel {
    /// Every chain value recomputed with the audit key.
    Keyed,
    /// Every chain value recomputed with SHA-256 (unkeyed log).
    Unkeyed,
    /// Keyed log without the audit key: structure, links and checkpoint signatures only.
    PublicKeyOnly,
}

/// A torn final frame: bytes at the end of the file that do not form a complete frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// File offset where the torn frame starts (the file's valid length).
    pub offset: u64,
    /// How many bytes it spans to the end of the file.
    pub len: u64,
}

/// The first thing that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Sequence number of the first bad record, or of the record a bad checkpoint follows.
    pub sequence: Sequence,
    /// What failed.
    pub reason: Damage,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sequence {}: {}", self.sequence, self.reason)
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The log's id.
    pub log_id: LogId,
    /// The log's chain mode.
    pub mode: ChainMode,
    /// What could be checked.
    pub level: VerifyLevel,
    /// Records that passed, in order from sequence 0.
    pub records: u64,
    /// Checkpoints whose signature and chain value passed.
    pub checkpoints: u64,
    /// The last record covered by a valid checkpoint.
    pub last_checkpoint: Option<Sequence>,
    /// Chain value of the last record that passed (`None` for an empty log).
    pub head: Option<ChainValue>,
    /// A torn final frame, if any (on open, it has been truncated away).
    pub torn_tail: Option<TornTail>,
    /// The first failure; `None` if everything read verified.
    pub failure: Option<Failure>,
}

impl Report {
    /// `true` when nothing failed (a torn tail and an unanchored tail are not failures
    /// unless the verifier asked for an anchored tail).
    #[must_use]
    pub const fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// Number of verified records after the last checkpoint: a truncation of those cannot
    /// be detected from the file alone.
    #[must_use]
    pub fn unanchored_records(&self) -> u64 {
        match self.last_checkpoint {
            Some(s) => self.records.saturating_sub(s.get().saturating_add(1)),
            None => self.records,
        }
    }

    /// The first record not covered by a checkpoint, if any.
    #[must_use]
    pub fn first_unanchored(&self) -> Option<Sequence> {
        (self.unanchored_records() > 0).then(|| {
            Sequence::new(
                self.last_checkpoint
                    .map_or(0, |s| s.get().saturating_add(1)),
            )
        })
    }

    /// Turns a failure into [`Error::Damaged`].
    ///
    /// # Errors
    /// [`Error::Damaged`] if the report holds a failure.
    pub fn into_result(self) -> Result<Self> {
        match self.failure {
            Some(f) => Err(Error::Damaged {
                sequence: f.sequence,
                reason: f.reason,
            }),
            None => Ok(self),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "log {} ({}): {} records, {} checkpoints",
            self.log_id, self.mode, self.records, self.checkpoints
        )?;
        if let Some(s) = self.last_checkpoint {
            write!(f, ", last checkpoint at {s}")?;
        }
        let tail = self.unanchored_records();
        if tail > 0 {
            write!(f, ", {tail} records after the last checkpoint")?;
        }
        if let Some(t) = &self.torn_tail {
            write!(
                f,
                ", torn final frame of {} bytes at offset {}",
                t.len, t.offset
            )?;
        }
        match &self.failure {
            Some(x) => write!(f, "; FAILED at {x}"),
            None => f.write_str("; OK"),
        }
    }
}

/// The streaming chain checker shared by file open, file verification and memory logs.
pub(crate) struct ChainCheck {
    log_id: LogId,
    mode: ChainMode,
    level: VerifyLevel,
    chainer: Option<Chainer>,
    public_key: Option<VerifyingKey>,
    next: u64,
    head: Option<ChainValue>,
    checkpoints: u64,
    last_checkpoint: Option<Sequence>,
    checkpoint_every: u64,
}

impl ChainCheck {
    pub(crate) fn new(
        log_id: LogId,
        mode: ChainMode,
        chainer: Option<Chainer>,
        public_key: Option<VerifyingKey>,
    ) -> Self {
        let level = match (&chainer, mode) {
            (Some(_), ChainMode::Keyed) => VerifyLevel::Keyed,
            (Some(_), _) => VerifyLevel::Unkeyed,
            (None, _) => VerifyLevel::PublicKeyOnly,
        };
        let head = chainer.as_ref().map(|c| c.genesis(&log_id));
        Self {
            log_id,
            mode,
            level,
            chainer,
            public_key,
            next: 0,
            head,
            checkpoints: 0,
            last_checkpoint: None,
            checkpoint_every: 0,
        }
    }

    /// Where damage to a frame of type `kind` (unknown: `None`) is charged. A checkpoint is
    /// charged to the record it follows. An unreadable frame is taken for a checkpoint when
    /// one is due there by the log's checkpoint interval, else for the next record.
    fn charge(&self, kind: Option<u8>) -> Sequence {
        let due = self.checkpoint_every != 0
            && self.next != 0
            && self.next.is_multiple_of(self.checkpoint_every)
            && self.last_checkpoint != Some(self.last_record());
        match kind {
            Some(format::FRAME_CHECKPOINT) => self.last_record(),
            None if due => self.last_record(),
            _ => self.here(),
        }
    }

    /// The sequence number a failure at the current position is charged to.
    pub(crate) fn here(&self) -> Sequence {
        Sequence::new(self.next)
    }

    fn last_record(&self) -> Sequence {
        Sequence::new(self.next.saturating_sub(1))
    }

    pub(crate) fn record(&mut self, encoded: &[u8], stored: ChainValue) -> Result<(), Failure> {
        let at = self.here();
        let fail = |reason| Failure {
            sequence: at,
            reason,
        };
        let rec = AuditRecord::decode(encoded).map_err(|_| fail(Damage::Encoding))?;
        if rec.sequence != at {
            return Err(fail(Damage::UnexpectedSequence {
                found: rec.sequence,
            }));
        }
        if let Some(head) = &self.head
            && rec.prev_chain != *head
        {
            return Err(fail(Damage::BrokenLink));
        }
        if let Some(c) = &self.chainer
            && c.step(&rec.prev_chain, encoded) != stored
        {
            return Err(fail(Damage::ChainMismatch));
        }
        self.head = Some(stored);
        self.next = self.next.saturating_add(1);
        Ok(())
    }

    pub(crate) fn checkpoint(&mut self, cp: &Checkpoint) -> Result<(), Failure> {
        let at = self.last_record();
        // A checkpoint ahead of the records means records are missing: charge the first one.
        let charged = if cp.sequence.get() >= self.next {
            self.here()
        } else {
            at
        };
        let fail = |reason| Failure {
            sequence: charged,
            reason,
        };
        if self.next == 0
            || cp.log_id != self.log_id
            || cp.mode != self.mode
            || cp.sequence != at
            || self.last_checkpoint == Some(at)
            || self.head != Some(cp.chain)
        {
            return Err(fail(Damage::CheckpointMismatch));
        }
        let pk = self
            .public_key
            .as_ref()
            .ok_or_else(|| fail(Damage::CheckpointSignature))?;
        cp.verify(pk)
            .map_err(|_| fail(Damage::CheckpointSignature))?;
        self.checkpoints = self.checkpoints.saturating_add(1);
        self.last_checkpoint = Some(at);
        Ok(())
    }

    pub(crate) fn report(&self, torn_tail: Option<TornTail>, failure: Option<Failure>) -> Report {
        Report {
            log_id: self.log_id,
            mode: self.mode,
            level: self.level,
            records: self.next,
            checkpoints: self.checkpoints,
            last_checkpoint: self.last_checkpoint,
            head: if self.next == 0 { None } else { self.head },
            torn_tail,
            failure,
        }
    }

    pub(crate) const fn next(&self) -> u64 {
        self.next
    }

    pub(crate) const fn head(&self) -> Option<ChainValue> {
        self.head
    }
}

/// Splits a record frame's payload into the encoded record and its stored chain value.
pub(crate) fn split_record_payload(payload: &[u8]) -> Option<(&[u8], ChainValue)> {
    let (enc, chain) = payload.split_at_checked(payload.len().checked_sub(32)?)?;
    Some((enc, ChainValue::from_bytes(chain.try_into().ok()?)))
}

/// Result of walking the frames of a file image.
pub(crate) struct Walk {
    pub(crate) check: ChainCheck,
    pub(crate) report: Report,
    /// Length of the valid prefix (header plus every complete good frame).
    pub(crate) valid_len: u64,
    pub(crate) last_checkpoint: Option<Checkpoint>,
}

/// Walks every frame after the header, stopping at the first failure.
pub(crate) fn walk(bytes: &[u8], mut check: ChainCheck) -> Walk {
    let mut pos = format::HEADER_LEN;
    let mut failure = None;
    let mut torn = None;
    let mut last_cp = None;
    while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        match format::read_frame(rest) {
            FrameRead::Torn => {
                torn = Some(TornTail {
                    offset: pos as u64,
                    len: rest.len() as u64,
                });
                break;
            }
            FrameRead::Corrupt(reason, kind) => {
                failure = Some(Failure {
                    sequence: check.charge(kind),
                    reason,
                });
                break;
            }
            FrameRead::Frame { kind, payload, len } => {
                let step = if kind == format::FRAME_RECORD {
                    match split_record_payload(payload) {
                        Some((enc, chain)) => check.record(enc, chain),
                        None => Err(Failure {
                            sequence: check.here(),
                            reason: Damage::Encoding,
                        }),
                    }
                } else {
                    match Checkpoint::decode(payload) {
                        Ok(cp) => check.checkpoint(&cp).map(|()| last_cp = Some(cp)),
                        Err(_) => Err(Failure {
                            sequence: check.last_record(),
                            reason: Damage::Encoding,
                        }),
                    }
                };
                if let Err(f) = step {
                    failure = Some(f);
                    break;
                }
                pos = pos.saturating_add(len);
            }
        }
    }
    let report = check.report(torn, failure);
    Walk {
        check,
        report,
        valid_len: pos as u64,
        last_checkpoint: last_cp,
    }
}

enum Mode {
    Keyed(Chainer),
    Unkeyed,
    PublicKeyOnly,
}

/// Checks a log with the audit key, as an unkeyed chain, or with the checkpoint public key only.
///
/// | verifier | detects |
/// |---|---|
/// | [`Verifier::keyed`] | any changed, removed, reordered, duplicated or forged record, anywhere; bad checkpoints |
/// | [`Verifier::unkeyed`] | the same for accidental damage; a rewrite that recomputes the SHA-256 chain only at checkpoints |
/// | [`Verifier::public_key`] | forged or altered checkpoints, gaps and reordering by sequence number, a broken link right after each checkpoint; NOT a record whose content was changed while its stored chain value was kept (that needs the audit key) |
///
/// No verifier can tell from the file alone that records after the last checkpoint were cut
/// off: [`Report::unanchored_records`] says how many records that concerns, and
/// [`Verifier::require_anchored_tail`] turns it into a failure.
pub struct Verifier {
    mode: Mode,
    public_key: Option<VerifyingKey>,
    require_anchored: bool,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Keyed(_) => "keyed",
            Mode::Unkeyed => "unkeyed",
            Mode::PublicKeyOnly => "public-key-only",
        };
        f.debug_struct("Verifier")
            .field("mode", &mode)
            .field("public_key", &self.public_key)
            .field("require_anchored", &self.require_anchored)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Full verification of a keyed log with its audit key.
    #[must_use]
    pub fn keyed(key: &AuditKey) -> Self {
        Self {
            mode: Mode::Keyed(Chainer::keyed(key)),
            public_key: None,
            require_anchored: false,
        }
    }

    pub(crate) const fn from_chainer(chainer: Chainer) -> Self {
        Self {
            mode: Mode::Keyed(chainer),
            public_key: None,
            require_anchored: false,
        }
    }

    /// Full verification of an unkeyed (SHA-256) log.
    #[must_use]
    pub const fn unkeyed() -> Self {
        Self {
            mode: Mode::Unkeyed,
            public_key: None,
            require_anchored: false,
        }
    }

    /// Verification with only the checkpoint public key (see the table above).
    #[must_use]
    pub const fn public_key(key: VerifyingKey) -> Self {
        Self {
            mode: Mode::PublicKeyOnly,
            public_key: Some(key),
            require_anchored: false,
        }
    }

    /// Checks checkpoint signatures against this trusted key instead of the key stored in
    /// the file header (which an attacker who rewrites the file could replace).
    #[must_use]
    pub const fn with_public_key(mut self, key: VerifyingKey) -> Self {
        self.public_key = Some(key);
        self
    }

    /// Reports records after the last checkpoint as a failure ([`Damage::UnanchoredTail`]).
    #[must_use]
    pub const fn require_anchored_tail(mut self, yes: bool) -> Self {
        self.require_anchored = yes;
        self
    }

    /// Builds the chain checker for a log with this header.
    pub(crate) fn checker(&self, header: &FileHeader) -> Result<ChainCheck> {
        let chainer = match (&self.mode, header.mode) {
            (Mode::Keyed(c), ChainMode::Keyed) => {
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    c.key_check(&header.log_id).as_slice(),
                    header.key_check.as_slice(),
                )) {
                    return Err(Error::WrongKey);
                }
                Some(c.clone())
            }
            (Mode::Unkeyed | Mode::PublicKeyOnly, ChainMode::Unkeyed) => Some(Chainer::Unkeyed),
            (Mode::PublicKeyOnly, _) => None,
            (Mode::Keyed(_), found) => {
                return Err(Error::ModeMismatch {
                    expected: ChainMode::Keyed,
                    found,
                });
            }
            (Mode::Unkeyed, found) => {
                return Err(Error::ModeMismatch {
                    expected: ChainMode::Unkeyed,
                    found,
                });
            }
        };
        let pk = self.public_key.or(header.public_key);
        let mut check = ChainCheck::new(header.log_id, header.mode, chainer, pk);
        check.checkpoint_every = u64::from(header.checkpoint_every);
        Ok(check)
    }

    pub(crate) fn finish(&self, mut report: Report) -> Report {
        if self.require_anchored
            && report.failure.is_none()
            && let Some(first) = report.first_unanchored()
        {
            report.failure = Some(Failure {
                sequence: first,
                reason: Damage::UnanchoredTail,
            });
        }
        report
    }

    /// Verifies a complete log file image held in memory. Never panics on any input.
    ///
    /// # Errors
    /// [`Error::NotAuditLog`], [`Error::UnsupportedVersion`], [`Error::Malformed`] for a bad
    /// header, [`Error::ModeMismatch`] or [`Error::WrongKey`]. Damage past the header is
    /// reported in [`Report::failure`], not as an error.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<Report> {
        let header = FileHeader::decode(bytes)?;
        let check = self.checker(&header)?;
        Ok(self.finish(walk(bytes, check).report))
    }

    /// Reads a log file (without locking it or repairing it) and verifies it.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read, and the errors of [`Verifier::verify_bytes`].
    pub fn verify_file(&self, path: impl AsRef<Path>) -> Result<Report> {
        self.verify_bytes(&std::fs::read(path)?)
    }

    /// Verifies any log through its entries (used for [`crate::MemoryLog`]).
    pub(crate) fn verify_entries<'a>(
        &self,
        log_id: LogId,
        mode: ChainMode,
        key_check: [u8; 16],
        public_key: Option<VerifyingKey>,
        entries: impl Iterator<Item = crate::log::EntryRef<'a>>,
    ) -> Result<Report> {
        let header = FileHeader {
            mode,
            log_id,
            key_check,
            public_key,
            checkpoint_every: 0,
        };
        let mut check = self.checker(&header)?;
        let mut failure = None;
        for e in entries {
            let step = match e {
                crate::log::EntryRef::Record { encoded, chain } => check.record(encoded, *chain),
                crate::log::EntryRef::Checkpoint(cp) => check.checkpoint(cp),
            };
            if let Err(f) = step {
                failure = Some(f);
                break;
            }
        }
        Ok(self.finish(check.report(None, failure)))
    }
}

/// Verifies a log file image with `verifier`; shorthand for [`Verifier::verify_bytes`].
///
/// # Errors
/// As [`Verifier::verify_bytes`].
pub fn verify_bytes(bytes: &[u8], verifier: &Verifier) -> Result<Report> {
    verifier.verify_bytes(bytes)
}
