//! `ChainWriter`: the chain logic of a log, for logs stored outside this crate (for
//! example in a database), positioned at a head read from that storage.

use core::fmt;

use ed25519_dalek::VerifyingKey;

use crate::log::ChainState;
use crate::{
    ChainMode, ChainValue, Checkpoint, Error, Event, LogId, LogOptions, Result, Sequence,
    StoredHeader, Verifier,
};

/// Where a chain stands: what a log kept outside this crate stores beside its records to
/// continue the chain after a restart or on another node ([`ChainWriter::seek`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// The log format whose chain construction the chain follows: 2 or 3
    /// ([`crate::FILE_VERSION_V2`], [`crate::FILE_VERSION`]). A writer that seeks to this
    /// head continues the chain in that format.
    pub format_version: u16,
    /// Number of records so far (the next record's sequence number).
    pub next: u64,
    /// `chain[next - 1]`, or the log's genesis value when `next` is 0.
    pub chain: ChainValue,
    /// `public[next - 1]`, or the log's public genesis value when `next` is 0.
    pub public_chain: ChainValue,
}

/// A record encoded and chained against a [`ChainHead`], not yet committed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreparedRecord {
    /// Its sequence number.
    pub sequence: Sequence,
    /// Its chain value `chain[sequence]` (stored beside the encoding).
    pub chain: ChainValue,
    /// Its public chain value `public[sequence]`.
    pub public_chain: ChainValue,
    /// The checkpoint the log's interval puts after it, signed, if any.
    pub checkpoint: Option<Checkpoint>,
    /// The head it was prepared against.
    previous: ChainHead,
}

impl From<PreparedRecord> for crate::Appended {
    /// What an append returns once the storage committed the record.
    fn from(p: PreparedRecord) -> Self {
        Self {
            sequence: p.sequence,
            chain: p.chain,
            checkpoint: p.checkpoint,
        }
    }
}

/// The keys, policies and chain position of one log, without storage: it timestamps,
/// encodes, chains and signs exactly as [`crate::FileLog`] and [`crate::MemoryLog`] do, and
/// a storage layer keeps the bytes.
///
/// A storage shared by many writers reads the head under its own lock (a database row
/// lock), [`ChainWriter::seek`]s to it, prepares the records, stores the encodings with
/// their chain values and checkpoints, stores the new head, and [`ChainWriter::commit`]s
/// only after the storage committed. [`ChainWriter::seek`] does not authenticate the head
/// it is given: records chained onto a head someone changed are reported by a keyed
/// verifier at that sequence, but a checkpoint signed over them would vouch for them to a
/// public-key-only verifier. So before signing over a head read from storage, authenticate
/// the records that lead to it with [`ChainWriter::follow`] (from the genesis, a head this
/// writer produced, or a checkpoint whose signature verifies).
pub struct ChainWriter {
    state: ChainState,
}

impl fmt::Debug for ChainWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainWriter")
            .field("log_id", &self.state.log_id)
            .field("mode", &self.state.mode())
            .field("next", &self.state.next)
            .finish_non_exhaustive()
    }
}

impl ChainWriter {
    /// A writer for a new log with a random log id (or the fixed one of the test-support
    /// options), positioned at its genesis.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS random generator fails.
    pub fn new(options: LogOptions) -> Result<Self> {
        let log_id = match options.fixed_log_id {
            Some(id) => id,
            None => LogId::random()?,
        };
        Ok(Self::with_log_id(log_id, options))
    }

    /// A writer for the log `log_id`, positioned at its genesis.
    #[must_use]
    pub fn with_log_id(log_id: LogId, options: LogOptions) -> Self {
        Self {
            state: ChainState::new(log_id, options),
        }
    }

    /// The log's id.
    #[must_use]
    pub const fn log_id(&self) -> LogId {
        self.state.log_id
    }

    /// The chain mode of the options.
    #[must_use]
    pub const fn mode(&self) -> ChainMode {
        self.state.mode()
    }

    /// The key check value of the chain key for this log (what a file header stores; a
    /// keyed verifier compares it in constant time before anything else).
    #[must_use]
    pub fn key_check(&self) -> [u8; 16] {
        self.state.key_check()
    }

    /// The checkpoint public key, if a signing key is set.
    #[must_use]
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.state.verifying_key()
    }

    /// What a file header would say about this log, for [`Verifier::verify_entries`].
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if the checkpoint interval exceeds `u32::MAX` (as for a
    /// file log).
    pub fn header(&self) -> Result<StoredHeader> {
        let checkpoint_every = match self.state.checkpoint_every {
            None => 0,
            Some(n) => u32::try_from(n.get()).map_err(|_| {
                Error::InvalidOption("the checkpoint interval of a log is at most 2^32 - 1")
            })?,
        };
        Ok(StoredHeader {
            format_version: self.state.format,
            log_id: self.state.log_id,
            mode: self.state.mode(),
            key_check: self.key_check(),
            public_key: self.verifying_key(),
            checkpoint_every,
        })
    }

    /// The head of the empty log: `next` 0 and both genesis values, in the writer's format
    /// (3 for a new log).
    #[must_use]
    pub fn genesis(&self) -> ChainHead {
        ChainHead {
            format_version: self.state.format,
            next: 0,
            chain: self.state.chainer.genesis(&self.state.log_id),
            public_chain: crate::chain::public_genesis(
                self.state.construction(),
                &self.state.log_id,
            ),
        }
    }

    /// The current position.
    #[must_use]
    pub const fn head(&self) -> ChainHead {
        ChainHead {
            format_version: self.state.format,
            next: self.state.next,
            chain: self.state.head,
            public_chain: self.state.public_head,
        }
    }

    /// Moves to `head`, as read from the storage, and continues the chain in its format.
    /// Forgets the last checkpoint. A head of another format than 2 or 3 makes
    /// [`ChainWriter::prepare`] fail with [`Error::UnsupportedVersion`] (format-1 logs are
    /// read-only).
    pub const fn seek(&mut self, head: ChainHead) {
        self.state.format = head.format_version;
        self.state.next = head.next;
        self.state.head = head.chain;
        self.state.public_head = head.public_chain;
        self.state.last_checkpoint = None;
    }

    /// Timestamps, encodes (appended to `out`) and chains `event` as the record after the
    /// current head, and signs the checkpoint the interval puts after it; the position
    /// does not move. On error `out` is unchanged.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] after a seek to a head of another format than 2 or 3;
    /// [`Error::SequenceExhausted`], [`Error::Clock`], [`Error::TooLong`] and the other
    /// encoding errors of [`crate::AuditLog::append`].
    pub fn prepare(&self, event: &Event, out: &mut Vec<u8>) -> Result<PreparedRecord> {
        if !matches!(
            self.state.format,
            crate::FILE_VERSION_V2 | crate::FILE_VERSION
        ) {
            return Err(Error::UnsupportedVersion(self.state.format));
        }
        let p = self.state.prepare(event, out)?;
        Ok(PreparedRecord {
            sequence: p.sequence,
            chain: p.chain,
            public_chain: p.public,
            checkpoint: p.checkpoint,
            previous: self.head(),
        })
    }

    /// Moves the position past `record` (after the storage committed it).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] if `record` was not prepared against the current head.
    pub fn commit(&mut self, record: &PreparedRecord) -> Result<()> {
        if record.previous != self.head() {
            return Err(Error::InvalidOption(
                "the prepared record does not follow this writer's head; prepare it again",
            ));
        }
        self.state.commit(&crate::log::Prepared {
            sequence: record.sequence,
            chain: record.chain,
            public: record.public_chain,
            checkpoint: record.checkpoint.clone(),
        });
        Ok(())
    }

    /// Signs a checkpoint over the current head (the last record); `None` for an empty log.
    ///
    /// # Errors
    /// [`Error::NoSigningKey`] without a signing key.
    pub fn sign_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let sk = self.state.signing_key.as_ref().ok_or(Error::NoSigningKey)?;
        Ok(self.state.next.checked_sub(1).map(|last| {
            Checkpoint::sign(
                sk,
                self.state.log_id,
                self.state.mode(),
                Sequence::new(last),
                self.state.head,
                self.state.public_head,
            )
        }))
    }

    /// `true` if preparing `records` more records from the current head would sign an
    /// interval checkpoint (a signing key is set and the interval ends within them).
    #[must_use]
    pub fn checkpoint_due_within(&self, records: u64) -> bool {
        let (Some(every), Some(_)) = (self.state.checkpoint_every, &self.state.signing_key) else {
            return false;
        };
        let every = every.get();
        // The record at sequence `s` is followed by a checkpoint when `(s + 1) % every == 0`:
        // the first such `s + 1` at or after `next + 1` is within `records` records.
        let first = self.state.next.saturating_add(1);
        let to_boundary = (every - first % every) % every;
        records > 0 && to_boundary < records
    }

    /// Authenticates the records a storage holds after `from`, an authentic head (the
    /// genesis, a head this writer produced, or the values of a checkpoint whose signature
    /// verified): each encoding with the chain value stored beside it, in sequence order.
    /// Recomputes the public chain and this writer's chain over them and returns the head
    /// they end at; a record whose stored chain value differs from the recomputed one (or
    /// that follows one that did) is refused with its sequence. In keyed mode only holders
    /// of the audit key can produce records that pass, so a writer that chains on the
    /// returned head (and signs a checkpoint over it) never vouches for records forged by
    /// someone without the key. In unkeyed mode the chain is public: this checks only that
    /// the records link.
    ///
    /// # Errors
    /// [`Error::Damaged`] with the sequence of the first record that does not follow;
    /// [`Error::UnsupportedVersion`] for a head of another format than 2 or 3;
    /// [`Error::SequenceExhausted`].
    pub fn follow<'a>(
        &self,
        from: ChainHead,
        records: impl IntoIterator<Item = (&'a [u8], &'a ChainValue)>,
    ) -> Result<ChainHead> {
        if !matches!(
            from.format_version,
            crate::FILE_VERSION_V2 | crate::FILE_VERSION
        ) {
            return Err(Error::UnsupportedVersion(from.format_version));
        }
        let construction = crate::chain::Construction::of(from.format_version);
        let mut head = from;
        for (encoded, stored) in records {
            let public = crate::chain::public_step(construction, &head.public_chain, encoded)?;
            let chain = self
                .state
                .chainer
                .link(construction, &head.chain, &public, encoded);
            if chain != *stored {
                return Err(Error::Damaged {
                    sequence: Sequence::new(head.next),
                    reason: crate::Damage::ChainMismatch,
                });
            }
            head = ChainHead {
                format_version: head.format_version,
                next: head.next.checked_add(1).ok_or(Error::SequenceExhausted)?,
                chain,
                public_chain: public,
            };
        }
        Ok(head)
    }

    /// A verifier with this writer's own keys (the audit key, or unkeyed, and the
    /// checkpoint public key if a signing key is set) that expects its checkpoint interval
    /// ([`Verifier::expect_checkpoint_every`]): a stored header naming another is refused.
    #[must_use]
    pub fn verifier(&self) -> Verifier {
        self.state.stored_verifier()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::EntryRef;
    use crate::{AuditKey, AuditLog, EventKind, MemoryLog};

    fn options() -> LogOptions {
        LogOptions::keyed(&AuditKey::from_bytes([5; 32]))
            .signing_seed([6; 32])
            .checkpoint_every(3)
            .fixed_log_id(LogId::from_bytes([8; 16]))
            .fixed_clock(1_000, 10)
    }

    /// A writer that seeks to stored heads produces the memory log's chain, checkpoints and
    /// encodings, and its entries verify.
    #[test]
    fn writer_matches_memory_log_and_verifies() {
        let memory = MemoryLog::new(options()).unwrap();
        let mut stored: Vec<(Vec<u8>, ChainValue)> = Vec::new();
        let mut checkpoints = Vec::new();
        let mut head = ChainWriter::new(options()).unwrap().genesis();
        for n in 0..10u64 {
            let event = Event::new(if n % 2 == 0 {
                EventKind::Seal
            } else {
                EventKind::Open
            });
            let appended = memory.append(event.clone()).unwrap();
            // A fresh writer per append, as on another node: it starts from the stored head.
            let mut writer = ChainWriter::new(options()).unwrap();
            writer.seek(head);
            let mut out = Vec::new();
            let p = writer.prepare(&event, &mut out).unwrap();
            assert_eq!((p.sequence, p.chain), (appended.sequence, appended.chain));
            assert_eq!(p.checkpoint, appended.checkpoint);
            writer.commit(&p).unwrap();
            assert_eq!(crate::Appended::from(p.clone()), appended);
            head = writer.head();
            stored.push((out, p.chain));
            checkpoints.extend(p.checkpoint);
        }
        assert_eq!(head.chain, memory.head());
        assert_eq!(head.next, 10);
        assert_eq!(checkpoints, memory.checkpoints());
        let mut writer = ChainWriter::new(options()).unwrap();
        writer.seek(head);
        let last = writer.sign_checkpoint().unwrap().unwrap();
        assert_eq!((last.sequence.get(), last.chain), (9, memory.head()));
        let mut entries = Vec::new();
        let mut cps = checkpoints.iter().peekable();
        for (seq, (enc, chain)) in stored.iter().enumerate() {
            entries.push(EntryRef::Record {
                encoded: enc,
                chain,
            });
            while let Some(cp) = cps.next_if(|c| c.sequence.get() == seq as u64) {
                entries.push(EntryRef::Checkpoint(cp));
            }
        }
        let verifier = writer.verifier();
        let report = verifier
            .verify_entries(&writer.header().unwrap(), entries.iter().copied())
            .unwrap();
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.records, 10);
        assert_eq!(report.checkpoints, 3);
        // An interval checkpoint removed: damage at the record it followed.
        let without: Vec<_> = entries
            .iter()
            .copied()
            .filter(|e| !matches!(e, EntryRef::Checkpoint(c) if c.sequence.get() == 5))
            .collect();
        let report = verifier
            .verify_entries(&writer.header().unwrap(), without.iter().copied())
            .unwrap();
        let failure = report.failure.unwrap();
        assert_eq!(failure.sequence.get(), 5);
        assert_eq!(failure.reason, crate::Damage::MissingCheckpoint);
        // The last record due a checkpoint and none after it (storage that commits the two
        // together lost it): damage too, not a cut tail (review round 30).
        let upto: Vec<_> = entries
            .iter()
            .copied()
            .filter(|e| match e {
                EntryRef::Checkpoint(c) => c.sequence.get() < 8,
                EntryRef::Record { encoded, .. } => {
                    crate::AuditRecord::decode(encoded).unwrap().sequence.get() <= 8
                }
            })
            .collect();
        let at_end = verifier
            .verify_entries(&writer.header().unwrap(), upto.iter().copied())
            .unwrap();
        let failure = at_end.failure.unwrap();
        assert_eq!(
            (failure.sequence.get(), failure.reason),
            (8, crate::Damage::MissingCheckpoint)
        );
        // Fed one entry at a time: the same reports; once failed, later entries change
        // nothing.
        let header = writer.header().unwrap();
        let mut checker = verifier.start(&header).unwrap();
        for (n, e) in entries.iter().enumerate() {
            assert!(checker.push(*e), "entry {n}");
        }
        assert!(!checker.failed());
        assert_eq!(checker.records(), 10);
        assert_eq!(
            checker.finish(),
            verifier
                .verify_entries(&header, entries.iter().copied())
                .unwrap()
        );
        let mut checker = verifier.start(&header).unwrap();
        let pushed: Vec<bool> = without.iter().map(|e| checker.push(*e)).collect();
        assert!(checker.failed());
        let first_false = pushed.iter().position(|ok| !ok).unwrap();
        assert!(pushed[first_false..].iter().all(|ok| !ok));
        assert_eq!(checker.records(), 6);
        assert_eq!(checker.finish(), report);
        // The checker refuses what verify_entries refuses.
        let other = LogOptions::keyed(&AuditKey::from_bytes([1; 32]))
            .signing_seed([6; 32])
            .fixed_log_id(LogId::from_bytes([8; 16]));
        let wrong = ChainWriter::new(other).unwrap().verifier();
        assert!(matches!(wrong.start(&header), Err(crate::Error::WrongKey)));
        let mut old = header;
        old.format_version = 1;
        assert!(matches!(
            verifier.start(&old),
            Err(crate::Error::UnsupportedVersion(1))
        ));
    }

    #[test]
    fn commit_refuses_a_record_of_another_head() {
        let mut writer = ChainWriter::new(options()).unwrap();
        let mut out = Vec::new();
        let p = writer
            .prepare(&Event::new(EventKind::Seal), &mut out)
            .unwrap();
        writer.commit(&p).unwrap();
        assert!(matches!(writer.commit(&p), Err(Error::InvalidOption(_))));
        assert_eq!(writer.head().next, 1);
        assert!(
            ChainWriter::new(options())
                .unwrap()
                .sign_checkpoint()
                .unwrap()
                .is_none()
        );
        let unsigned = ChainWriter::new(LogOptions::unkeyed()).unwrap();
        assert!(matches!(
            unsigned.sign_checkpoint(),
            Err(Error::NoSigningKey)
        ));
    }

    /// Ten records written by one writer, as a storage keeps them.
    fn stored_records(options: LogOptions) -> (ChainWriter, Vec<(Vec<u8>, ChainValue)>) {
        let mut writer = ChainWriter::new(options).unwrap();
        let mut stored = Vec::new();
        for _ in 0..10 {
            let mut out = Vec::new();
            let p = writer
                .prepare(&Event::new(EventKind::Seal), &mut out)
                .unwrap();
            writer.commit(&p).unwrap();
            stored.push((out, p.chain));
        }
        (writer, stored)
    }

    fn refs(stored: &[(Vec<u8>, ChainValue)]) -> impl Iterator<Item = (&[u8], &ChainValue)> {
        stored.iter().map(|(enc, chain)| (enc.as_slice(), chain))
    }

    #[test]
    fn follow_authenticates_stored_records_from_the_genesis_or_a_checkpoint() {
        let (writer, stored) = stored_records(options());
        let reader = ChainWriter::new(options()).unwrap();
        assert_eq!(
            reader.follow(reader.genesis(), refs(&stored)).unwrap(),
            writer.head()
        );
        // From the values a checkpoint signs (after record 2): the head is the same.
        let cp = writer.state.last_checkpoint.clone().unwrap();
        let from = ChainHead {
            format_version: writer.head().format_version,
            next: cp.sequence.get() + 1,
            chain: cp.chain,
            public_chain: cp.public_chain.unwrap(),
        };
        let after = usize::try_from(from.next).unwrap();
        assert_eq!(
            reader.follow(from, refs(&stored[after..])).unwrap(),
            writer.head()
        );
    }

    /// What review round 10 found a PostgreSQL writer signing: records chained by someone
    /// without the audit key (the public chain needs none), an edited record, a stored
    /// chain value copied from elsewhere. Each is refused at its sequence.
    #[test]
    fn follow_refuses_forged_edited_and_moved_records_at_their_sequence() {
        let (writer, stored) = stored_records(options());
        let reader = ChainWriter::new(options()).unwrap();
        let damaged_at = |records: &[(Vec<u8>, ChainValue)]| match reader
            .follow(reader.genesis(), refs(records))
        {
            Err(Error::Damaged { sequence, reason }) => {
                assert_eq!(reason, crate::Damage::ChainMismatch);
                sequence.get()
            }
            other => panic!("not refused: {other:?}"),
        };
        // A forger with another key continues from the honest head after record 5.
        let mut forger = ChainWriter::with_log_id(
            writer.log_id(),
            LogOptions::keyed(&AuditKey::from_bytes([0x66; 32])),
        );
        let mut honest = ChainWriter::new(options()).unwrap();
        let head5 = honest.follow(honest.genesis(), refs(&stored[..6])).unwrap();
        honest.seek(head5);
        forger.seek(head5);
        let mut forged = stored[..6].to_vec();
        let mut out = Vec::new();
        let p = forger
            .prepare(&Event::new(EventKind::Rotate), &mut out)
            .unwrap();
        forged.push((out, p.chain));
        assert_eq!(damaged_at(&forged), 6);
        // One byte of record 3 edited.
        let mut edited = stored.clone();
        let last = edited[3].0.len() - 1;
        edited[3].0[last] ^= 1;
        assert_eq!(damaged_at(&edited), 3);
        // Record 7 (with its own chain value) moved to position 4.
        let mut moved = stored.clone();
        moved.swap(4, 7);
        assert_eq!(damaged_at(&moved), 4);
    }

    #[test]
    fn checkpoint_due_within_counts_to_the_next_interval_boundary() {
        // Interval 3: checkpoints follow records 2, 5, 8, ...
        let mut writer = ChainWriter::new(options()).unwrap();
        assert!(!writer.checkpoint_due_within(0));
        assert!(!writer.checkpoint_due_within(2));
        assert!(writer.checkpoint_due_within(3));
        let mut out = Vec::new();
        for _ in 0..3 {
            let p = writer
                .prepare(&Event::new(EventKind::Seal), &mut out)
                .unwrap();
            writer.commit(&p).unwrap();
        }
        // Next is record 3: its checkpoint follows record 5, the third from here.
        assert!(!writer.checkpoint_due_within(2));
        assert!(writer.checkpoint_due_within(3));
        assert!(writer.checkpoint_due_within(100));
        // No signing key or no interval: never.
        let unsigned =
            ChainWriter::new(LogOptions::keyed(&AuditKey::from_bytes([5; 32])).checkpoint_every(3))
                .unwrap();
        assert!(!unsigned.checkpoint_due_within(100));
        let on_demand = ChainWriter::new(
            LogOptions::keyed(&AuditKey::from_bytes([5; 32])).signing_seed([6; 32]),
        )
        .unwrap();
        assert!(!on_demand.checkpoint_due_within(100));
    }
}
