//! The `AuditLog` trait, log options and the append logic shared by every implementation.

use core::fmt;
use core::num::NonZeroU64;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;

use crate::SigningKey;
use zeroize::Zeroize;

use crate::chain::{Chainer, Construction, public_genesis, public_step};
use crate::codec::Writer;
use crate::record::encode_fields;
use crate::{
    AuditKey, ChainMode, ChainValue, Checkpoint, Error, Event, LogId, Report, Result, Sequence,
    Timestamp,
};

/// When a [`crate::FileLog`] append is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// `append` writes the record's frame (and any checkpoint frame) and calls `fdatasync`
    /// before it returns: a returned append survives a crash or power loss (given a disk
    /// that honours flushes).
    EveryRecord,
    /// Group commit. `append` returns once the record is sequenced, chained and in the
    /// log's in-memory write buffer. The buffer is written and `fdatasync`ed when it holds
    /// `max_records` records (by the append that fills it, before that append returns), by
    /// an append that signs an interval checkpoint (before it returns: a returned
    /// [`Appended::checkpoint`] is durable; with a signing key a group therefore holds at
    /// most one checkpoint interval of records), when
    /// its oldest record is `max_delay` old (by a background flusher thread, checked every
    /// `max_delay`), on [`AuditLog::flush`], on an on-demand checkpoint and on close/drop.
    /// Flushes from many threads at once share syncs: each writes the buffer under the
    /// log's lock and waits, without it, for one `fdatasync` that began after its write,
    /// so a flush holds the lock only to write. An append that syncs itself (at
    /// `max_records` or at an interval checkpoint), the flusher thread, an on-demand
    /// checkpoint and close still sync under the lock.
    /// A crash loses at most the records appended since the last completed sync: at most
    /// `max_records - 1` records besides those written by [`AuditLog::flush`] calls that
    /// had not returned (their sync was running or waiting for another), and about
    /// `2 × max_delay` of appends (plus sync time).
    /// It never loses a record from the middle: the chain stays verifiable.
    GroupCommit {
        /// Records per sync (1 behaves like `EveryRecord`).
        max_records: u32,
        /// Longest time a record waits for its sync (zero: no timer, count and flush only).
        max_delay: Duration,
    },
}

/// What [`AuditLog::append`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// The record's sequence number.
    pub sequence: Sequence,
    /// Its chain value.
    pub chain: ChainValue,
    /// The checkpoint this append triggered, if any (worth shipping off-host). For a file
    /// log it is durable when returned, with every record it covers, under either
    /// [`Durability`]: an append that signs one syncs the write buffer (and writes the
    /// anchor file) before it returns.
    pub checkpoint: Option<Checkpoint>,
}

/// An append-only, hash-chained audit log.
///
/// Implementations are `Send + Sync`; appends from many threads get gapless sequence
/// numbers in the order they took the log's lock. A poisoned lock is recovered.
pub trait AuditLog: Send + Sync {
    /// Appends one event: assigns the next sequence number and the timestamp, chains it
    /// and, every N records, signs a checkpoint. Returns once the log's durability
    /// guarantee holds for it.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Failed`] for write failures, [`Error::Clock`],
    /// [`Error::SequenceExhausted`].
    fn append(&self, event: Event) -> Result<Appended>;

    /// Appends `events` in order under one acquisition of the log's lock, as one group
    /// commit: consecutive sequence numbers, and for a file log one write and one
    /// `fdatasync` for the whole batch under [`Durability::EveryRecord`] (under
    /// [`Durability::GroupCommit`] the batch counts as `events.len()` records toward
    /// `max_records`). Returns once the log's durability guarantee holds for every record
    /// of the batch, with one [`Appended`] per event in order.
    ///
    /// All or nothing: if any event fails to encode, no record of the batch is appended
    /// and the chain position is unchanged. A write or sync failure poisons a file log as
    /// [`AuditLog::append`] does; reopening it keeps a durable prefix of the batch or none
    /// of it, never a gap. An empty batch appends nothing and returns an empty vector.
    ///
    /// # Errors
    /// As [`AuditLog::append`].
    fn append_batch(&self, events: Vec<Event>) -> Result<Vec<Appended>>;

    /// Signs a checkpoint over the last record now (and makes it durable). Returns the
    /// existing checkpoint if the last record already has one, `None` for an empty log.
    ///
    /// # Errors
    /// [`Error::NoSigningKey`] and write failures.
    fn checkpoint(&self) -> Result<Option<Checkpoint>>;

    /// Returns `Ok` only when every record appended before the call began is durable (a
    /// no-op where records are durable when appended, and for a memory log, which has no
    /// durability). A file log group-commits concurrent calls: one `fdatasync` covers the
    /// writes of every thread that flushed before it began (ADR 0089).
    ///
    /// # Errors
    /// Write or sync failures; a file log returns [`Error::Failed`] once a write or sync
    /// failed, also to a call that was waiting for the sync that failed.
    fn flush(&self) -> Result<()>;

    /// Verifies the whole log with its own keys.
    ///
    /// # Errors
    /// I/O errors; damage is in [`Report::failure`].
    fn verify(&self) -> Result<Report>;

    /// The log's id.
    fn log_id(&self) -> LogId;

    /// Number of records (the next sequence number).
    fn len(&self) -> u64;

    /// `true` if no record was appended yet.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of records the log's store holds now. [`AuditLog::len`] for a log this handle
    /// alone appends to (the default); a log other writers append to as well, or whose
    /// append may have stored a record it reported as failed (a database whose commit was
    /// not acknowledged), reads it from the store. For a caller that must know whether what
    /// it read reaches the end of the log (the cells crate's replay of key versions).
    ///
    /// # Errors
    /// Read failures of the store.
    fn stored_len(&self) -> Result<u64> {
        Ok(self.len())
    }

    /// Chain value of the last record (the genesis value for an empty log).
    fn head(&self) -> ChainValue;
}

/// Keys and policies of a log.
pub struct LogOptions {
    pub(crate) chainer: Chainer,
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) checkpoint_every: Option<NonZeroU64>,
    pub(crate) durability: Durability,
    /// Test support: a fixed log id instead of a random one.
    pub(crate) fixed_log_id: Option<LogId>,
    /// Test support: record `n` gets timestamp `start + n * step` instead of the clock.
    pub(crate) fixed_clock: Option<(u64, u64)>,
    /// Log format of new logs: [`crate::FILE_VERSION`] (3), or 2 for the golden format-2
    /// fixtures (test support).
    pub(crate) format: u16,
}

impl fmt::Debug for LogOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogOptions")
            .field("mode", &self.chainer.mode())
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("checkpoint_every", &self.checkpoint_every)
            .field("durability", &self.durability)
            .finish()
    }
}

impl LogOptions {
    /// A keyed chain (HMAC-SHA256 under `key`): the default and recommended mode.
    /// Durability defaults to [`Durability::EveryRecord`], no checkpoints.
    #[must_use]
    pub fn keyed(key: &AuditKey) -> Self {
        Self::with(Chainer::keyed(key))
    }

    /// An unkeyed SHA-256 chain: anyone can verify it, and anyone can recompute it, so
    /// only signed checkpoints protect it, and only the records before the last one: a
    /// record anyone appends to the file while it is closed is chained like the writer's
    /// own, and the next checkpoint signs over it. Use only when the verifier cannot hold a
    /// key.
    #[must_use]
    pub const fn unkeyed() -> Self {
        Self::with(Chainer::Unkeyed)
    }

    const fn with(chainer: Chainer) -> Self {
        Self {
            chainer,
            signing_key: None,
            checkpoint_every: None,
            durability: Durability::EveryRecord,
            fixed_log_id: None,
            fixed_clock: None,
            format: crate::format::FILE_VERSION,
        }
    }

    /// Creates new logs in format 2 (two SHA-256 passes over each record) instead of the
    /// current format 3. Test support only (feature `test-support`, not for production
    /// use): it regenerates the format-2 golden fixtures; format-2 logs are still read,
    /// verified and appended to in their own format.
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub const fn legacy_format_2(mut self) -> Self {
        self.format = crate::format::FILE_VERSION_V2;
        self
    }

    /// Uses `log_id` instead of a random id. Test support only (feature `test-support`,
    /// not for production use): two logs with one id under one key share their chain.
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub const fn fixed_log_id(mut self, log_id: LogId) -> Self {
        self.fixed_log_id = Some(log_id);
        self
    }

    /// Stamps record `n` with `start_unix_nanos + n * step_nanos` instead of reading the
    /// clock (for golden files). Test support only (feature `test-support`, not for
    /// production use).
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub const fn fixed_clock(mut self, start_unix_nanos: u64, step_nanos: u64) -> Self {
        self.fixed_clock = Some((start_unix_nanos, step_nanos));
        self
    }

    /// Signs checkpoints with this ed25519 key: a `SigningKey`, or anything that moves into
    /// one, such as the application keys' `AuditSigner`.
    #[must_use]
    pub fn signing_key(mut self, key: impl Into<SigningKey>) -> Self {
        self.signing_key = Some(key.into());
        self
    }

    /// Signs checkpoints with the ed25519 key of this 32-byte seed (zeroized here).
    #[must_use]
    pub fn signing_seed(self, mut seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        seed.zeroize();
        self.signing_key(key)
    }

    /// Signs a checkpoint automatically after every `n` records (0: only on demand).
    #[must_use]
    pub const fn checkpoint_every(mut self, n: u64) -> Self {
        self.checkpoint_every = NonZeroU64::new(n);
        self
    }

    /// Durability policy of file logs (ignored by memory logs).
    #[must_use]
    pub const fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// The checkpoint public key, if a signing key is set.
    #[must_use]
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.signing_key.as_ref().map(SigningKey::verifying_key)
    }
}

/// A stored entry as the verifier sees it ([`crate::Verifier::verify_entries`]): a
/// record's canonical encoding with its stored chain value, or a checkpoint.
#[derive(Debug, Clone, Copy)]
pub enum EntryRef<'a> {
    /// A record.
    Record {
        /// The record's canonical encoding.
        encoded: &'a [u8],
        /// The chain value stored beside it.
        chain: &'a ChainValue,
    },
    /// A checkpoint; it follows the record it names.
    Checkpoint(&'a Checkpoint),
}

/// A record prepared under the lock, not yet committed.
pub(crate) struct Prepared {
    pub(crate) sequence: Sequence,
    pub(crate) chain: ChainValue,
    pub(crate) public: ChainValue,
    pub(crate) checkpoint: Option<Checkpoint>,
}

/// Where a chain stands: saved before a batch, restored if the batch fails.
pub(crate) struct ChainPosition {
    next: u64,
    head: ChainValue,
    public_head: ChainValue,
    last_checkpoint: Option<Checkpoint>,
}

/// The chain position and keys of a writable log.
pub(crate) struct ChainState {
    pub(crate) log_id: LogId,
    pub(crate) chainer: Chainer,
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) checkpoint_every: Option<NonZeroU64>,
    pub(crate) next: u64,
    pub(crate) head: ChainValue,
    /// `public[next - 1]` (the public genesis value for an empty log).
    pub(crate) public_head: ChainValue,
    pub(crate) last_checkpoint: Option<Checkpoint>,
    fixed_clock: Option<(u64, u64)>,
    /// The log format whose chain construction the records follow (2 or 3).
    pub(crate) format: u16,
}

impl ChainState {
    pub(crate) fn new(log_id: LogId, opts: LogOptions) -> Self {
        let head = opts.chainer.genesis(&log_id);
        let format = opts.format;
        Self {
            log_id,
            chainer: opts.chainer,
            signing_key: opts.signing_key,
            checkpoint_every: opts.checkpoint_every,
            next: 0,
            head,
            public_head: public_genesis(Construction::of(format), &log_id),
            last_checkpoint: None,
            fixed_clock: opts.fixed_clock,
            format,
        }
    }

    /// Continues a log of format `format` (2 or 3) read from storage: the genesis values of
    /// that format; the caller then moves the position to the stored head.
    pub(crate) fn set_format(&mut self, format: u16) {
        self.format = format;
        if self.next == 0 {
            self.public_head = public_genesis(Construction::of(format), &self.log_id);
        }
    }

    pub(crate) const fn construction(&self) -> Construction {
        Construction::of(self.format)
    }

    pub(crate) const fn mode(&self) -> ChainMode {
        self.chainer.mode()
    }

    /// Timestamps, encodes (appended to `out`) and chains `event` as the next record
    /// without changing the chain position. On error `out` is unchanged.
    pub(crate) fn prepare(&self, event: &Event, out: &mut Vec<u8>) -> Result<Prepared> {
        if self.next == u64::MAX {
            return Err(Error::SequenceExhausted);
        }
        let sequence = Sequence::new(self.next);
        let timestamp = match self.fixed_clock {
            None => Timestamp::now()?,
            Some((start, step)) => Timestamp::from_unix_nanos(
                step.checked_mul(self.next)
                    .and_then(|d| d.checked_add(start))
                    .ok_or(Error::Clock)?,
            ),
        };
        let start = out.len();
        let mut w = Writer::from_vec(core::mem::take(out));
        let encoded = encode_fields(&mut w, sequence, timestamp, event, &self.head);
        *out = w.into_vec();
        let chained = encoded.and_then(|()| {
            let enc = out
                .get(start..)
                .ok_or(Error::Internal("record encoding out of range"))?;
            let c = self.construction();
            let public = public_step(c, &self.public_head, enc)?;
            Ok((self.chainer.link(c, &self.head, &public, enc), public))
        });
        let (chain, public) = match chained {
            Ok(v) => v,
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        };
        let due = self
            .checkpoint_every
            .is_some_and(|n| self.next.saturating_add(1).is_multiple_of(n.get()));
        let checkpoint = match (&self.signing_key, due) {
            (Some(sk), true) => Some(Checkpoint::sign(
                sk,
                self.log_id,
                self.mode(),
                sequence,
                chain,
                public,
            )),
            _ => None,
        };
        Ok(Prepared {
            sequence,
            chain,
            public,
            checkpoint,
        })
    }

    /// The chain position, to restore after a failed batch.
    pub(crate) fn position(&self) -> ChainPosition {
        ChainPosition {
            next: self.next,
            head: self.head,
            public_head: self.public_head,
            last_checkpoint: self.last_checkpoint.clone(),
        }
    }

    /// Restores a position saved by [`ChainState::position`].
    pub(crate) fn restore(&mut self, position: ChainPosition) {
        self.next = position.next;
        self.head = position.head;
        self.public_head = position.public_head;
        self.last_checkpoint = position.last_checkpoint;
    }

    pub(crate) fn commit(&mut self, p: &Prepared) {
        self.next = p.sequence.get().saturating_add(1);
        self.head = p.chain;
        self.public_head = p.public;
        if let Some(cp) = &p.checkpoint {
            self.last_checkpoint = Some(cp.clone());
        }
    }

    /// A new checkpoint over the last record, `Ok(None)` if empty or already checkpointed.
    pub(crate) fn new_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let sk = self.signing_key.as_ref().ok_or(Error::NoSigningKey)?;
        let Some(last) = self.next.checked_sub(1) else {
            return Ok(None);
        };
        if self
            .last_checkpoint
            .as_ref()
            .is_some_and(|c| c.sequence.get() == last)
        {
            return Ok(None);
        }
        Ok(Some(Checkpoint::sign(
            sk,
            self.log_id,
            self.mode(),
            Sequence::new(last),
            self.head,
            self.public_head,
        )))
    }

    pub(crate) fn key_check(&self) -> [u8; 16] {
        self.chainer.key_check(&self.log_id)
    }

    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        self.signing_key.as_ref().map(SigningKey::verifying_key)
    }

    /// A verifier with this log's own keys.
    pub(crate) fn own_verifier(&self) -> crate::Verifier {
        let v = match &self.chainer {
            Chainer::Keyed(_) => crate::Verifier::from_chainer(self.chainer.clone()),
            Chainer::Unkeyed => crate::Verifier::unkeyed(),
        };
        match self.verifying_key() {
            Some(pk) => v.with_public_key(pk),
            None => v,
        }
    }

    /// [`ChainState::own_verifier`] that also expects the options' checkpoint interval,
    /// never the stored header's (which anyone who can write the file or the database can
    /// change together with the checkpoints it governs): for logs kept outside this
    /// process's memory.
    pub(crate) fn stored_verifier(&self) -> crate::Verifier {
        self.own_verifier()
            .expect_checkpoint_every(self.checkpoint_every.map_or(0, NonZeroU64::get))
    }
}
