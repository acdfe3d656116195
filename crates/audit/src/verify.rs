//! Verification: the chain checker shared by every reader, the [`Verifier`] and its [`Report`].

use core::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::chain::{Chainer, Construction, public_genesis, public_step};
use crate::format::{self, FileHeader, FrameRead};
use crate::{
    Anchor, AuditKey, AuditRecord, ChainMode, ChainValue, Checkpoint, Damage, Error, LogId, Result,
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
    /// Format-2 or format-3 keyed log without the audit key: every record up to the last checkpoint
    /// is authenticated through the public chain that the checkpoints sign; records after
    /// it are not.
    PublicKeyOnly,
    /// Format-1 keyed log without the audit key: its checkpoints do not cover the public
    /// chain, so only structure, links and checkpoint signatures are checked and a record
    /// changed with its stored chain value kept goes unnoticed. Verify it keyed.
    PublicKeyOnlyV1,
}

impl fmt::Display for VerifyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keyed => "keyed: every record checked under the audit key",
            Self::Unkeyed => "unkeyed: every record's SHA-256 chain recomputed",
            Self::PublicKeyOnly => {
                "public key only: records authenticated up to the last checkpoint"
            }
            Self::PublicKeyOnlyV1 => {
                "v1 log: checkpoints do not cover the public chain; verify keyed"
            }
        })
    }
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
    /// Sequence number of the first bad record, or of the record a bad checkpoint follows;
    /// for [`Damage::Truncated`], the first missing record.
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
    /// The log's format version (1, 2 or 3).
    pub format_version: u16,
    /// What could be checked.
    pub level: VerifyLevel,
    /// Records that passed, in order from sequence 0.
    pub records: u64,
    /// Checkpoints in the file whose signature and chain values passed.
    pub checkpoints: u64,
    /// The last record covered by a valid checkpoint, in the file or in the anchor the
    /// verifier was given.
    pub last_checkpoint: Option<Sequence>,
    /// Chain value of the last record that passed (`None` for an empty log).
    pub head: Option<ChainValue>,
    /// A torn final frame, if any (on open, it has been moved to a quarantine file and
    /// cut from the log).
    pub torn_tail: Option<TornTail>,
    /// Where `FileLog::open` saved the torn bytes before cutting them off the log.
    pub torn_tail_saved_to: Option<PathBuf>,
    /// The first failure; `None` if everything read verified.
    pub failure: Option<Failure>,
    /// Without the audit key: the records under a verified checkpoint or the matched anchor,
    /// and the chain value after them (what passes once damage is found afterwards).
    pub(crate) verified: (u64, Option<ChainValue>),
}

impl Report {
    /// `true` when nothing failed (a torn tail and an unanchored tail are not failures
    /// unless the verifier asked for an anchored tail; a caller that wants a complete log
    /// also checks [`Report::torn_tail`], as `hexvault audit verify` does).
    #[must_use]
    pub const fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// Number of verified records after the last checkpoint: a truncation of those cannot
    /// be detected from the file alone (only against a later anchor).
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

    /// Records missing from the end of the log, as far as the anchor or the minimum
    /// sequence given to the verifier show (0 when neither shows a cut).
    #[must_use]
    pub const fn missing_records(&self) -> u64 {
        match self.failure {
            Some(Failure {
                reason: Damage::Truncated { missing },
                ..
            }) => missing,
            _ => 0,
        }
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
            "log {} ({}, format {}): {} records, {} checkpoints",
            self.log_id, self.mode, self.format_version, self.records, self.checkpoints
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
        if let Some(p) = &self.torn_tail_saved_to {
            write!(f, " (saved to {})", p.display())?;
        }
        write!(f, "; level {}", self.level)?;
        match &self.failure {
            Some(x) => write!(f, "; FAILED at {x}"),
            None => f.write_str("; OK"),
        }
    }
}

/// The streaming chain checker shared by file open, file verification and memory logs.
/// Without the audit key, once a cut is found against the anchor (or a minimum sequence) only
/// the records under a verified checkpoint (or the matched anchor) count as passed, as for
/// damage found while reading (round 19).
fn only_verified_on_damage(mut report: Report) -> Report {
    let public_only = matches!(
        report.level,
        VerifyLevel::PublicKeyOnly | VerifyLevel::PublicKeyOnlyV1
    );
    if public_only && report.failure.is_some() && report.records > report.verified.0 {
        report.records = report.verified.0;
        report.head = report.verified.1;
    }
    report
}

pub(crate) struct ChainCheck {
    log_id: LogId,
    mode: ChainMode,
    version: u16,
    construction: Construction,
    level: VerifyLevel,
    chainer: Option<Chainer>,
    public_key: Option<VerifyingKey>,
    next: u64,
    head: Option<ChainValue>,
    /// `public[next - 1]`, recomputed from the record encodings whatever the level.
    public_head: ChainValue,
    checkpoints: u64,
    last_checkpoint: Option<Sequence>,
    /// The last record a verified checkpoint or the matched anchor covers, and the chain
    /// value there: without the audit key, the records up to it are the ones that passed.
    verified: Option<(Sequence, Option<ChainValue>)>,
    checkpoint_every: u64,
    /// The header records a checkpoint key, or the caller trusts one: interval
    /// checkpoints are mandatory (a header, or head row, that drops its key does not
    /// make them optional).
    signed: bool,
    anchor: Option<Checkpoint>,
    anchor_matched: bool,
}

impl ChainCheck {
    pub(crate) fn new(
        header: &FileHeader,
        chainer: Option<Chainer>,
        public_key: Option<VerifyingKey>,
        anchor: Option<Checkpoint>,
    ) -> Self {
        let level = match (&chainer, header.mode, header.version) {
            (Some(_), ChainMode::Keyed, _) => VerifyLevel::Keyed,
            (Some(_), _, _) => VerifyLevel::Unkeyed,
            (None, _, format::FILE_VERSION_V1) => VerifyLevel::PublicKeyOnlyV1,
            (None, _, _) => VerifyLevel::PublicKeyOnly,
        };
        let head = chainer.as_ref().map(|c| c.genesis(&header.log_id));
        let construction = Construction::of(header.version);
        Self {
            log_id: header.log_id,
            mode: header.mode,
            version: header.version,
            construction,
            level,
            chainer,
            public_key,
            next: 0,
            head,
            public_head: public_genesis(construction, &header.log_id),
            checkpoints: 0,
            last_checkpoint: None,
            verified: None,
            checkpoint_every: u64::from(header.checkpoint_every),
            signed: header.public_key.is_some() || public_key.is_some(),
            anchor,
            anchor_matched: false,
        }
    }

    /// Where damage to a frame of type `kind` (unknown: `None`) is charged. A checkpoint is
    /// charged to the record it follows. An unreadable frame is taken for a checkpoint when
    /// one is due there by the log's checkpoint interval (a signed log: an unsigned one
    /// writes none, review round 45), whatever its type byte says (an interval checkpoint
    /// whose type byte was edited to say "record" is still the checkpoint due there: review
    /// round 42), else for the next record.
    fn charge(&self, kind: Option<u8>) -> Sequence {
        if kind == Some(format::FRAME_CHECKPOINT) || (self.signed && self.checkpoint_missing()) {
            self.last_record()
        } else {
            self.here()
        }
    }

    /// The interval says a checkpoint follows the last record, and none did (yet).
    fn checkpoint_missing(&self) -> bool {
        self.checkpoint_every != 0
            && self.next != 0
            && self.next.is_multiple_of(self.checkpoint_every)
            && self.last_checkpoint != Some(self.last_record())
    }

    /// The failure of an interval checkpoint missing after the last record.
    fn missing_checkpoint(&self) -> Failure {
        // Without the audit key nothing but that checkpoint covered the records since the
        // previous one: an edit among them is charged, as a checkpoint's mismatch would be,
        // to the first of them (review round 18). A matched anchor that covers them all
        // leaves it charged as with the key.
        let sequence = if self.chainer.is_none() {
            Sequence::new(self.verified_prefix().0.min(self.last_record().get()))
        } else {
            self.last_record()
        };
        Failure {
            sequence,
            reason: Damage::MissingCheckpoint,
        }
    }

    /// The sequence number a failure at the current position is charged to.
    pub(crate) fn here(&self) -> Sequence {
        Sequence::new(self.next)
    }

    fn last_record(&self) -> Sequence {
        Sequence::new(self.next.saturating_sub(1))
    }

    /// The first record not covered by a valid in-file checkpoint or the matched anchor (a
    /// matched anchor counts as a checkpoint: review round 42).
    fn segment_start(&self) -> Sequence {
        Sequence::new(self.verified_prefix().0)
    }

    /// The first record neither a verified checkpoint nor the matched anchor covers, and the
    /// chain value before it: what a public-key-only verification counts as passed.
    fn verified_prefix(&self) -> (u64, Option<ChainValue>) {
        self.verified
            .map_or((0, None), |(s, head)| (s.get().saturating_add(1), head))
    }

    pub(crate) fn record(&mut self, encoded: &[u8], stored: ChainValue) -> Result<(), Failure> {
        let at = self.here();
        let fail = |reason| Failure {
            sequence: at,
            reason,
        };
        // A signed log's writer puts a checkpoint after every `interval`-th record; a record
        // where one is due means it was removed (at the end of the file it may be a cut,
        // reported as an unanchored tail instead).
        if self.signed && self.checkpoint_missing() {
            return Err(self.missing_checkpoint());
        }
        let rec = AuditRecord::decode(encoded).map_err(|_| fail(Damage::Encoding))?;
        if rec.sequence != at {
            return Err(fail(Damage::UnexpectedSequence {
                found: rec.sequence,
            }));
        }
        if let Some(head) = &self.head
            && rec.prev_chain != *head
        {
            // Without the audit key a stored chain value is checked only through the next
            // record's link (or a checkpoint): the previous record's stored value may be the
            // one changed, so the failure is charged to the first record after the previous
            // checkpoint, as every change is then (review round 53).
            let sequence = if self.chainer.is_none() {
                self.segment_start()
            } else {
                at
            };
            return Err(Failure {
                sequence,
                reason: Damage::BrokenLink,
            });
        }
        let public = public_step(self.construction, &self.public_head, encoded)
            .map_err(|_| fail(Damage::Encoding))?;
        if let Some(c) = &self.chainer
            && c.link(self.construction, &rec.prev_chain, &public, encoded) != stored
        {
            return Err(fail(Damage::ChainMismatch));
        }
        if let Some(a) = &self.anchor
            && a.sequence == at
        {
            // Without the audit key the records since the last checkpoint are not checked one
            // by one: a public chain that does not reach the anchor's is a change somewhere in
            // them, charged as a checkpoint's would be (review round 16).
            if self.chainer.is_none() && a.public_chain.is_some() && a.public_chain != Some(public)
            {
                return Err(Failure {
                    sequence: self.segment_start(),
                    reason: Damage::PublicChainMismatch { through: at },
                });
            }
            if a.chain != stored || a.public_chain != Some(public) {
                return Err(fail(Damage::AnchorMismatch));
            }
            self.anchor_matched = true;
            if self.verified.is_none_or(|(s, _)| s < at) {
                self.verified = Some((at, Some(stored)));
            }
        }
        self.head = Some(stored);
        self.public_head = public;
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
        let right_format = match self.version {
            format::FILE_VERSION_V1 => cp.public_chain.is_none(),
            _ => cp.public_chain.is_some(),
        };
        if self.next == 0
            || !right_format
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
        if let Some(p) = cp.public_chain
            && p != self.public_head
        {
            return Err(Failure {
                sequence: self.segment_start(),
                reason: Damage::PublicChainMismatch { through: at },
            });
        }
        self.checkpoints = self.checkpoints.saturating_add(1);
        self.last_checkpoint = Some(at);
        if self.verified.is_none_or(|(s, _)| s < at) {
            self.verified = Some((at, self.head));
        }
        Ok(())
    }

    pub(crate) fn report(&self, torn_tail: Option<TornTail>, failure: Option<Failure>) -> Report {
        // A public-chain mismatch means no record after the previous checkpoint passed.
        let (records, head) = match failure {
            Some(Failure {
                sequence,
                reason: Damage::PublicChainMismatch { .. },
            }) => (sequence.get(), self.verified_prefix().1),
            _ => (self.next, if self.next == 0 { None } else { self.head }),
        };
        // Without the audit key a record passes only under a verified checkpoint: when
        // verification stops on damage, the records after the last one are not counted
        // (they may hold the change; review round 18).
        let (unchecked_from, verified_head) = self.verified_prefix();
        let (records, head) =
            if self.chainer.is_none() && failure.is_some() && records > unchecked_from {
                (unchecked_from, verified_head)
            } else {
                (records, head)
            };
        let anchored = self
            .anchor
            .as_ref()
            .filter(|_| self.anchor_matched)
            .map(|a| a.sequence);
        Report {
            log_id: self.log_id,
            mode: self.mode,
            format_version: self.version,
            level: self.level,
            records,
            checkpoints: self.checkpoints,
            last_checkpoint: self.last_checkpoint.max(anchored),
            head,
            torn_tail,
            torn_tail_saved_to: None,
            failure,
            verified: self.verified_prefix(),
        }
    }

    pub(crate) const fn next(&self) -> u64 {
        self.next
    }

    pub(crate) const fn head(&self) -> Option<ChainValue> {
        self.head
    }

    pub(crate) const fn public_head(&self) -> ChainValue {
        self.public_head
    }
}

/// Splits a record frame's payload into the encoded record and its stored chain value.
/// Whether a complete frame found inside a torn tail continues the log whose next record is
/// `next`: a record of sequence `next` or later, or a checkpoint of `log_id`
/// ([`format::torn_is_damage`]).
pub(crate) fn continues_log(kind: u8, payload: &[u8], next: u64, log_id: LogId) -> bool {
    if kind == format::FRAME_RECORD {
        split_record_payload(payload)
            .and_then(|(enc, _)| AuditRecord::decode(enc).ok())
            .is_some_and(|record| record.sequence.get() >= next)
    } else {
        Checkpoint::decode(payload).is_ok_and(|cp| cp.log_id == log_id)
    }
}

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
        match format::read_frame(rest, pos as u64) {
            FrameRead::Torn
                if format::torn_is_damage(rest, |kind, payload| {
                    continues_log(kind, payload, check.here().get(), check.log_id)
                }) =>
            {
                failure = Some(Failure {
                    sequence: check.here(),
                    reason: Damage::ForgedTornTail,
                });
                break;
            }
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

/// What a file header says about a log, for a log stored elsewhere
/// ([`Verifier::verify_entries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHeader {
    /// The log format whose chain construction its records follow: 2 or 3
    /// ([`crate::FILE_VERSION_V2`], [`crate::FILE_VERSION`]).
    pub format_version: u16,
    /// The log's id.
    pub log_id: LogId,
    /// Its chain mode.
    pub mode: ChainMode,
    /// The key check value of its chain key ([`crate::ChainWriter::key_check`]).
    pub key_check: [u8; 16],
    /// The checkpoint public key the log was created with (information only).
    pub public_key: Option<VerifyingKey>,
    /// Records per interval checkpoint (0: none).
    pub checkpoint_every: u32,
}

/// Checks a log with the audit key, as an unkeyed chain, or with the checkpoint public key
/// only; always against a trusted public key from the caller, never one read from a file.
///
/// | verifier | detects |
/// |---|---|
/// | [`Verifier::keyed`] | any changed, removed, reordered, duplicated or forged record, anywhere; bad checkpoints |
/// | [`Verifier::unkeyed`] | the same for accidental damage; a rewrite that recomputes the SHA-256 chain only at checkpoints |
/// | [`Verifier::public_key`] (formats 2 and 3) | any changed, removed, reordered, duplicated or forged record up to the last checkpoint (the checkpoints sign the public SHA-256 chain of every record encoding); a change is charged to the first record after the previous checkpoint (a matched anchor counts as one), also when it is the anchor that the public chain fails to reach or the checkpoint that covered them is missing; on damage in the records or a cut against the anchor, no record after the last verified checkpoint or matched anchor counts as passed (a strict unanchored tail stays counted, see `Report::unanchored_records`); forged or altered checkpoints |
/// | [`Verifier::public_key`] (format 1) | forged or altered checkpoints, gaps and reordering, a broken link right after each checkpoint; NOT a record changed with its stored chain value kept ([`VerifyLevel::PublicKeyOnlyV1`]) |
///
/// A log whose header records a checkpoint key can only be verified with a trusted key
/// ([`Verifier::with_public_key`], or [`Verifier::public_key`]): without one,
/// [`Error::TrustedKeyRequired`]; if the header's key is another one,
/// [`Error::UntrustedHeaderKey`].
///
/// Records after the last checkpoint can be cut off without a trace in the file:
/// [`Report::unanchored_records`] says how many records that concerns,
/// [`Verifier::require_anchored_tail`] turns it into a failure, and an anchor kept
/// outside the log ([`Verifier::with_anchor`]) or a known minimum sequence
/// ([`Verifier::min_sequence`]) turn a cut into [`Damage::Truncated`] with the number of
/// records missing.
pub struct Verifier {
    mode: Mode,
    public_key: Option<VerifyingKey>,
    require_anchored: bool,
    anchor: Option<Anchor>,
    min_sequence: Option<Sequence>,
    checkpoint_every: Option<u64>,
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
            .field("anchor", &self.anchor.as_ref().map(Anchor::sequence))
            .field("min_sequence", &self.min_sequence)
            .field("checkpoint_every", &self.checkpoint_every)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    const fn with_mode(mode: Mode, public_key: Option<VerifyingKey>) -> Self {
        Self {
            mode,
            public_key,
            require_anchored: false,
            anchor: None,
            min_sequence: None,
            checkpoint_every: None,
        }
    }

    /// Full verification of a keyed log with its audit key. A signed log also needs the
    /// trusted checkpoint key: add it with [`Verifier::with_public_key`].
    #[must_use]
    pub fn keyed(key: &AuditKey) -> Self {
        Self::with_mode(Mode::Keyed(Chainer::keyed(key)), None)
    }

    pub(crate) const fn from_chainer(chainer: Chainer) -> Self {
        Self::with_mode(Mode::Keyed(chainer), None)
    }

    /// Full verification of an unkeyed (SHA-256) log. A signed log also needs the trusted
    /// checkpoint key: add it with [`Verifier::with_public_key`].
    #[must_use]
    pub const fn unkeyed() -> Self {
        Self::with_mode(Mode::Unkeyed, None)
    }

    /// Verification with only the trusted checkpoint public key (see the table above).
    #[must_use]
    pub const fn public_key(key: VerifyingKey) -> Self {
        Self::with_mode(Mode::PublicKeyOnly, Some(key))
    }

    /// The trusted checkpoint key (the operator's, never the one a log file records).
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

    /// Checks the log against an anchor kept outside it: the anchor's signature under the
    /// trusted key, its chain values at its sequence, and that the log reaches that
    /// sequence (else [`Damage::Truncated`] with the number of records missing). A matched
    /// anchor counts as a checkpoint for [`Report::last_checkpoint`].
    #[must_use]
    pub fn with_anchor(mut self, anchor: Anchor) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// The checkpoint interval the log was created with (0: on demand only), from a source
    /// the caller trusts (the writer's own options): a header, or a database head row,
    /// naming another interval is refused ([`Error::CheckpointIntervalMismatch`]). Without
    /// it the interval is the one the header names, which only a public checksum protects
    /// (a database row: nothing), so an interval checkpoint removed together with an edit
    /// of that interval to 0 is not seen (the records themselves are still verified, and
    /// an anchor still catches a cut). The own verifiers of stored logs set it
    /// (`FileLog`'s `verify` and open, [`crate::ChainWriter::verifier`], which
    /// `hexvault-audit-postgres` uses); a [`crate::MemoryLog`], whose records never leave
    /// the process, checks its checkpoints without an interval.
    #[must_use]
    pub const fn expect_checkpoint_every(mut self, n: u64) -> Self {
        self.checkpoint_every = Some(n);
        self
    }

    /// Requires the log to hold the record with sequence number `sequence` (else
    /// [`Damage::Truncated`] with the number of records missing).
    #[must_use]
    pub const fn min_sequence(mut self, sequence: Sequence) -> Self {
        self.min_sequence = Some(sequence);
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
        // The header's key is information only: the caller brings the trusted one.
        match (self.public_key, header.public_key) {
            (None, Some(_)) => return Err(Error::TrustedKeyRequired),
            (Some(trusted), Some(recorded)) if trusted != recorded => {
                return Err(Error::UntrustedHeaderKey);
            }
            _ => {}
        }
        if let Some(expected) = self.checkpoint_every
            && expected != u64::from(header.checkpoint_every)
        {
            return Err(Error::CheckpointIntervalMismatch {
                header: u64::from(header.checkpoint_every),
                options: expected,
            });
        }
        let anchor = match &self.anchor {
            None => None,
            Some(a) => {
                if a.log_id() != header.log_id {
                    return Err(Error::BadAnchor("it belongs to another log"));
                }
                if a.checkpoint().mode != header.mode {
                    return Err(Error::BadAnchor("its chain mode differs from the log's"));
                }
                let pk = self.public_key.as_ref().ok_or(Error::TrustedKeyRequired)?;
                a.checkpoint().verify(pk).map_err(|_| {
                    Error::BadAnchor("its signature does not verify under the trusted key")
                })?;
                Some(a.checkpoint().clone())
            }
        };
        Ok(ChainCheck::new(header, chainer, self.public_key, anchor))
    }

    pub(crate) fn finish(&self, mut report: Report) -> Report {
        if report.failure.is_some() {
            return report;
        }
        let required = self
            .anchor
            .as_ref()
            .map(Anchor::sequence)
            .max(self.min_sequence);
        if let Some(req) = required
            && report.records <= req.get()
        {
            report.failure = Some(Failure {
                sequence: Sequence::new(report.records),
                reason: Damage::Truncated {
                    missing: req.get().saturating_add(1).saturating_sub(report.records),
                },
            });
            return only_verified_on_damage(report);
        }
        if self.require_anchored
            && let Some(first) = report.first_unanchored()
        {
            // Not damage in the records: the tail stays counted, and
            // `Report::unanchored_records` says how many no checkpoint covers.
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
    /// header, [`Error::ModeMismatch`], [`Error::WrongKey`], [`Error::TrustedKeyRequired`],
    /// [`Error::UntrustedHeaderKey`] or [`Error::BadAnchor`]. Damage past the header is
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

    /// Verifies a log kept outside a file (a [`crate::MemoryLog`], a database) through its
    /// entries in storage order: each record followed by the checkpoints that name it.
    /// `header` plays the file header's part (as [`crate::ChainWriter::header`] gives it):
    /// its key check is compared with the verifier's key, its public key is information
    /// only (checkpoints are checked against the verifier's trusted key), and with a
    /// public key and a checkpoint interval a missing interval checkpoint is damage, also
    /// after the last record (see [`EntryChecker::finish`]). Stops at the first failure, as
    /// for a file.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] for a format other than 2 or 3,
    /// [`Error::ModeMismatch`], [`Error::WrongKey`], [`Error::TrustedKeyRequired`],
    /// [`Error::UntrustedHeaderKey`] or [`Error::BadAnchor`]; damage is in the report.
    pub fn verify_entries<'a>(
        &self,
        header: &StoredHeader,
        entries: impl IntoIterator<Item = crate::log::EntryRef<'a>>,
    ) -> Result<Report> {
        let mut checker = self.start(header)?;
        for entry in entries {
            if !checker.push(entry) {
                break;
            }
        }
        Ok(checker.finish())
    }

    /// Starts verifying a log kept outside a file, fed one entry at a time
    /// ([`EntryChecker::push`]) in storage order, for a reader that holds only a page of
    /// entries at a time. The rules, the header's part and the errors are those of
    /// [`Verifier::verify_entries`], which is this checker fed from an iterator.
    ///
    /// # Errors
    /// As [`Verifier::verify_entries`].
    pub fn start(&self, header: &StoredHeader) -> Result<EntryChecker<'_>> {
        if !matches!(
            header.format_version,
            format::FILE_VERSION_V2 | format::FILE_VERSION
        ) {
            return Err(Error::UnsupportedVersion(header.format_version));
        }
        let header = FileHeader {
            version: header.format_version,
            mode: header.mode,
            log_id: header.log_id,
            key_check: header.key_check,
            public_key: header.public_key,
            checkpoint_every: header.checkpoint_every,
        };
        Ok(EntryChecker {
            verifier: self,
            check: self.checker(&header)?,
            failure: None,
        })
    }
}

/// A verification of a log kept outside a file in progress ([`Verifier::start`]): holds
/// the chain state (a few chain values and counters), never the entries pushed.
pub struct EntryChecker<'v> {
    verifier: &'v Verifier,
    check: ChainCheck,
    failure: Option<Failure>,
}

impl fmt::Debug for EntryChecker<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryChecker")
            .field("log_id", &self.check.log_id)
            .field("records", &self.check.next())
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl EntryChecker<'_> {
    /// Checks the next entry (each record followed by the checkpoints that name it).
    /// Returns `true` while everything pushed verifies; `false` once an entry failed: the
    /// first failure is kept for the report and every later entry is ignored (as
    /// [`Verifier::verify_entries`] stops at the first failure).
    pub fn push(&mut self, entry: crate::log::EntryRef<'_>) -> bool {
        if self.failure.is_some() {
            return false;
        }
        let step = match entry {
            crate::log::EntryRef::Record { encoded, chain } => self.check.record(encoded, *chain),
            crate::log::EntryRef::Checkpoint(cp) => self.check.checkpoint(cp),
        };
        match step {
            Ok(()) => true,
            Err(f) => {
                self.failure = Some(f);
                false
            }
        }
    }

    /// `true` once an entry failed (further pushes are ignored).
    #[must_use]
    pub const fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Number of records that verified so far.
    #[must_use]
    pub const fn records(&self) -> u64 {
        self.check.next()
    }

    /// The report on everything pushed, with the verifier's end-of-log checks (anchor,
    /// minimum sequence, anchored tail) as [`Verifier::verify_entries`] makes them.
    ///
    /// Entries come from storage that commits a record together with the interval
    /// checkpoint that follows it (a database transaction, a memory log's lock), so a
    /// checkpoint due after the last record and absent was removed: damage
    /// ([`Damage::MissingCheckpoint`], charged as for a missing checkpoint inside the log),
    /// not the cut tail it may be at the end of a file (review round 30).
    #[must_use]
    pub fn finish(mut self) -> Report {
        if self.failure.is_none() && self.check.signed && self.check.checkpoint_missing() {
            self.failure = Some(self.check.missing_checkpoint());
        }
        self.verifier.finish(self.check.report(None, self.failure))
    }
}

/// Verifies a log file image with `verifier`; shorthand for [`Verifier::verify_bytes`].
///
/// # Errors
/// As [`Verifier::verify_bytes`].
pub fn verify_bytes(bytes: &[u8], verifier: &Verifier) -> Result<Report> {
    verifier.verify_bytes(bytes)
}
