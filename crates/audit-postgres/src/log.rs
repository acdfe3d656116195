//! `PgLog`: the [`AuditLog`] on PostgreSQL.

use std::sync::{Mutex, MutexGuard, PoisonError};

use hexvault_audit::{
    Anchor, Appended, AuditLog, ChainHead, ChainValue, ChainWriter, Checkpoint, Event, LogId,
    LogOptions, Report, Verifier,
};
use postgres::{Client, GenericClient, Statement};

use crate::read::{HEAD_COLUMNS, HeadRow, StoredLog};
use crate::{Error, Result};

/// Moves the head and inserts the batch's records and checkpoints in one statement, only
/// if the head row still says `next_seq = $2` and `head = $12` (else it changes nothing and
/// reports 0 rows). Parameters: log id, expected next, new next, new head, new public
/// head, new last checkpoint (or NULL), record seqs, record bytes, record chains,
/// checkpoint seqs, checkpoint bytes, expected head.
const WRITE_SQL: &str = "
WITH moved AS (
    UPDATE hexvault_audit_logs
       SET next_seq = $3, head = $4, public_head = $5,
           last_checkpoint = COALESCE($6, last_checkpoint)
     WHERE log_id = $1 AND next_seq = $2 AND head = $12
 RETURNING log_id
), cps AS (
    INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint)
    SELECT moved.log_id, c.seq, c.checkpoint
      FROM moved, unnest($10::bigint[], $11::bytea[]) AS c(seq, checkpoint)
)
INSERT INTO hexvault_audit_records (log_id, seq, record, chain)
SELECT moved.log_id, r.seq, r.record, r.chain
  FROM moved, unnest($7::bigint[], $8::bytea[], $9::bytea[]) AS r(seq, record, chain)";

/// Run in its own (synchronous) transaction after an asynchronous commit: locking a row
/// writes WAL, so its commit waits for the WAL flush, which covers every earlier commit.
/// The row is the batch's last record, which no writer locks or changes.
const FLUSH_WAIT_SQL: &str = "SELECT 1 FROM hexvault_audit_records \
     WHERE log_id = $1 AND seq = $2 FOR KEY SHARE";

struct Inner {
    client: Client,
    writer: ChainWriter,
    lock_head: Statement,
    write: Statement,
    flush_wait: Statement,
    /// Encodings of the batch being written, back to back.
    scratch: Vec<u8>,
    /// Another writer moved the head since this handle's previous append: take the head
    /// row's lock first instead of trying the last head seen (which would wait for the
    /// lock and fail).
    contended: bool,
}

/// An audit log in a PostgreSQL database, shared by any number of writers in any number
/// of processes on any number of nodes: one gapless chain, the records, chain values and
/// checkpoints of [`hexvault_audit::FileLog`], verified by the same [`Verifier`].
///
/// Each append (or batch) is one transaction that moves the log's head row and inserts the
/// records: it reads the head, chains the records onto it, and commits only if the head
/// row still holds what it read. While the handle finds no other writer it tries with the
/// head it last saw (one statement, one round trip, a synchronous commit); once another
/// writer moved the head, it takes the head row's lock first (`SELECT ... FOR UPDATE`),
/// chains against the head read under the lock, writes and commits without waiting for
/// the WAL flush (so the lock is released at once), then waits for the flush in a second,
/// synchronous transaction; it goes back to the first form when it finds the head where it
/// left it (see ADR 0068).
///
/// An append returns only after its records are committed and the server's WAL is flushed
/// past them (`synchronous_commit` is `on` for the session), so a returned record survives
/// a server crash as far as the server's WAL does. A writer killed mid-append leaves its
/// transaction whole or absent, never a gap or half a batch (a statement already sent may
/// still commit on the server: that record was never acknowledged). When the connection
/// fails during `COMMIT` or the flush wait, the append returns an error and the records
/// may or may not be committed; the chain is whole either way, and the next append finds
/// the head in the database.
///
/// `len()` and `head()` of [`AuditLog`] are what this handle saw at its last append,
/// checkpoint or [`PgLog::refresh`]: other writers may have appended since.
pub struct PgLog {
    inner: Mutex<Inner>,
}

impl core::fmt::Debug for PgLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let inner = self.lock();
        f.debug_struct("PgLog")
            .field("log_id", &inner.writer.log_id())
            .field("next", &inner.writer.head().next)
            .finish_non_exhaustive()
    }
}

fn db_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::Audit(hexvault_audit::Error::SequenceExhausted))
}

impl PgLog {
    /// Creates a new log (random id, or the test-support fixed id) in the database behind
    /// `client`, creating or migrating the schema first ([`crate::migrate`]).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::SchemaTooNew`], [`Error::Audit`] for the options
    /// (a checkpoint interval over `u32::MAX`, the random generator).
    pub fn create(mut client: Client, options: LogOptions) -> Result<Self> {
        crate::schema::migrate(&mut client)?;
        let writer = ChainWriter::new(options)?;
        let header = writer.header()?;
        let genesis = writer.genesis();
        let id: &[u8] = header.log_id.as_bytes();
        let public_key = header.public_key.map(|k| k.to_bytes());
        client.execute(
            "INSERT INTO hexvault_audit_logs (log_id, chain_mode, key_check, public_key,
                 checkpoint_every, next_seq, head, public_head, last_checkpoint)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, NULL)",
            &[
                &id,
                &i16::from(header.mode.code()),
                &header.key_check.as_slice(),
                &public_key.as_ref().map(<[u8; 32]>::as_slice),
                &i64::from(header.checkpoint_every),
                &genesis.chain.as_bytes().as_slice(),
                &genesis.public_chain.as_bytes().as_slice(),
            ],
        )?;
        Self::with_writer(client, writer)
    }

    /// Opens the existing log `log_id` for appending, migrating the schema if needed. The
    /// options must carry the keys, chain mode and checkpoint interval the log was created
    /// with (the interval is never taken from the database, which is not trusted).
    ///
    /// # Errors
    /// [`Error::UnknownLog`], [`Error::OptionsMismatch`] (mode, audit key, signing key or
    /// checkpoint interval differ), [`Error::InconsistentHead`] for an unreadable head row,
    /// [`Error::Database`], [`Error::SchemaTooNew`].
    pub fn open(mut client: Client, log_id: LogId, options: LogOptions) -> Result<Self> {
        crate::schema::migrate(&mut client)?;
        let id: &[u8] = log_id.as_bytes();
        let row = client
            .query_opt(
                &format!("SELECT {HEAD_COLUMNS} FROM hexvault_audit_logs WHERE log_id = $1"),
                &[&id],
            )?
            .ok_or(Error::UnknownLog(log_id))?;
        let stored = HeadRow::parse(log_id, &row)?;
        let writer = ChainWriter::with_log_id(log_id, options);
        let mine = writer.header()?;
        let mismatch = |what| Error::OptionsMismatch { log_id, what };
        if mine.mode != stored.header.mode {
            return Err(mismatch("chain mode"));
        }
        if mine.key_check != stored.header.key_check {
            return Err(mismatch("audit key (key check value differs)"));
        }
        if mine.public_key != stored.header.public_key {
            return Err(mismatch("checkpoint signing key"));
        }
        // Never taken from the row: anyone who can write the database could set it to 0,
        // silence the interval checkpoints and freeze the anchor (as for a file log's
        // header, `CheckpointIntervalMismatch`).
        if mine.checkpoint_every != stored.header.checkpoint_every {
            return Err(mismatch(
                "checkpoint interval (the head row's differs from the options': open with the \
                 interval the log was created with, or treat the row as tampered with)",
            ));
        }
        let mut log = Self::with_writer(client, writer)?;
        let inner = log.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        inner.writer.seek(stored.head);
        Ok(log)
    }

    fn with_writer(mut client: Client, writer: ChainWriter) -> Result<Self> {
        // The durability statement holds whatever the server's default.
        client.batch_execute("SET synchronous_commit = on")?;
        let lock_head = client.prepare(&format!(
            "SELECT {HEAD_COLUMNS} FROM hexvault_audit_logs WHERE log_id = $1 FOR UPDATE"
        ))?;
        let write = client.prepare(WRITE_SQL)?;
        let flush_wait = client.prepare(FLUSH_WAIT_SQL)?;
        Ok(Self {
            inner: Mutex::new(Inner {
                client,
                writer,
                lock_head,
                write,
                flush_wait,
                scratch: Vec::new(),
                contended: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the head row now and returns it (the committed length and chain values).
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::UnknownLog`], [`Error::InconsistentHead`].
    pub fn refresh(&self) -> Result<ChainHead> {
        let mut inner = self.lock();
        let log_id = inner.writer.log_id();
        let id: &[u8] = log_id.as_bytes();
        let row = inner
            .client
            .query_opt(
                &format!("SELECT {HEAD_COLUMNS} FROM hexvault_audit_logs WHERE log_id = $1"),
                &[&id],
            )?
            .ok_or(Error::UnknownLog(log_id))?;
        let head = HeadRow::parse(log_id, &row)?.head;
        inner.writer.seek(head);
        Ok(head)
    }

    /// Appends `events` as one transaction (see [`AuditLog::append_batch`]).
    fn append_events(&self, events: &[Event]) -> Result<Vec<Appended>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut guard = self.lock();
        let inner = &mut *guard;
        let log_id = inner.writer.log_id();
        let expected = inner.writer.head();
        if !inner.contended {
            // First try: the head this handle last saw, one statement in its own
            // transaction.
            let batch = prepare(&mut inner.writer, events, &mut inner.scratch)?;
            let written = execute_write(
                &mut inner.client,
                &inner.write,
                log_id,
                expected,
                &batch,
                &inner.scratch,
            );
            match written {
                Ok(rows) if rows == events.len() as u64 => return Ok(batch.appended),
                Ok(_) => inner.contended = true,
                Err(e) => {
                    inner.writer.seek(expected);
                    return Err(e);
                }
            }
        }
        // Another writer moved the head: take its row lock, chain against the head read
        // under it, write and commit.
        inner.writer.seek(expected);
        let id: &[u8] = log_id.as_bytes();
        let result = (|| {
            let mut tx = inner.client.transaction()?;
            // Commit without waiting for the WAL flush, so the head row's lock is released
            // at once; the flush is awaited below, after the lock, before acknowledging.
            tx.batch_execute("SET LOCAL synchronous_commit = off")?;
            let row = tx
                .query_opt(&inner.lock_head, &[&id])?
                .ok_or(Error::UnknownLog(log_id))?;
            let head = HeadRow::parse(log_id, &row)?.head;
            // Found where this handle left it: no other writer; try without the lock next.
            inner.contended = head != expected;
            inner.writer.seek(head);
            let batch = prepare(&mut inner.writer, events, &mut inner.scratch)?;
            let rows = execute_write(&mut tx, &inner.write, log_id, head, &batch, &inner.scratch)?;
            if rows != events.len() as u64 {
                return Err(Error::InconsistentHead {
                    log_id,
                    what: format!(
                        "the locked head row did not take the batch ({rows} of {} records written)",
                        events.len()
                    ),
                });
            }
            tx.commit()?;
            Ok(batch)
        })();
        match result {
            Ok(batch) => {
                // Durability: a synchronous commit that wrote WAL (a row lock on this
                // batch's last record, which no other writer touches) returns once the WAL
                // is flushed past its commit record, so past the batch's commit record.
                // The batch is committed already: a failure here leaves it in the log, unacknowledged.
                let last = db_i64(batch.end.next.saturating_sub(1))?;
                inner.client.execute(&inner.flush_wait, &[&id, &last])?;
                Ok(batch.appended)
            }
            Err(e) => {
                // Nothing was committed: back to the last head known to be committed.
                inner.writer.seek(expected);
                Err(e)
            }
        }
    }

    /// Signs a checkpoint over the last committed record (see [`AuditLog::checkpoint`]).
    fn checkpoint_now(&self) -> Result<Option<Checkpoint>> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let log_id = inner.writer.log_id();
        let id: &[u8] = log_id.as_bytes();
        let mut tx = inner.client.transaction()?;
        let row = tx
            .query_opt(&inner.lock_head, &[&id])?
            .ok_or(Error::UnknownLog(log_id))?;
        let stored = HeadRow::parse(log_id, &row)?;
        inner.writer.seek(stored.head);
        let Some(last) = stored.head.next.checked_sub(1) else {
            return Ok(None);
        };
        if stored.last_checkpoint == Some(last) {
            let row = tx.query_one(
                "SELECT checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = $2",
                &[&id, &db_i64(last)?],
            )?;
            let cp = Checkpoint::decode(row.try_get(0)?)?;
            tx.commit()?;
            return Ok(Some(cp));
        }
        let Some(cp) = inner.writer.sign_checkpoint()? else {
            return Ok(None);
        };
        tx.execute(
            "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) VALUES ($1, $2, $3)",
            &[&id, &db_i64(last)?, &cp.encode()],
        )?;
        tx.execute(
            "UPDATE hexvault_audit_logs SET last_checkpoint = $2 WHERE log_id = $1",
            &[&id, &db_i64(last)?],
        )?;
        tx.commit()?;
        Ok(Some(cp))
    }

    /// Reads the whole log back (see [`StoredLog::read`]).
    ///
    /// # Errors
    /// As [`StoredLog::read`].
    pub fn read(&self) -> Result<StoredLog> {
        let mut inner = self.lock();
        let log_id = inner.writer.log_id();
        StoredLog::read(&mut inner.client, log_id)
    }

    /// Verifies the log in the database with an explicit verifier (for example with an
    /// anchor, or public-key only).
    ///
    /// # Errors
    /// As [`StoredLog::read`] and [`StoredLog::verify`].
    pub fn verify_with(&self, verifier: &Verifier) -> Result<Report> {
        self.read()?.verify(verifier)
    }

    /// The latest checkpoint in the database as an [`Anchor`] to keep outside it (write
    /// [`Anchor::encode`] to a file, `hexvault audit verify --anchor` reads it).
    ///
    /// # Errors
    /// As [`StoredLog::read`] and [`StoredLog::latest_anchor`].
    pub fn anchor(&self) -> Result<Option<Anchor>> {
        self.read()?.latest_anchor()
    }
}

/// A batch chained onto one head; the writer stands after its last record.
struct Batch {
    appended: Vec<Appended>,
    /// The head after the batch's last record.
    end: ChainHead,
    /// End offset of each record's encoding in the scratch buffer.
    ends: Vec<usize>,
}

/// Prepares and (locally) commits `events` as consecutive records after the writer's
/// head, encodings into `scratch` (cleared first). On error the writer is back where it
/// was.
fn prepare(writer: &mut ChainWriter, events: &[Event], scratch: &mut Vec<u8>) -> Result<Batch> {
    scratch.clear();
    let saved = writer.head();
    let mut appended = Vec::with_capacity(events.len());
    let mut ends = Vec::with_capacity(events.len());
    for event in events {
        let step = writer
            .prepare(event, scratch)
            .and_then(|p| writer.commit(&p).map(|()| p));
        match step {
            Ok(p) => {
                ends.push(scratch.len());
                appended.push(Appended::from(p));
            }
            Err(e) => {
                writer.seek(saved);
                return Err(e.into());
            }
        }
    }
    Ok(Batch {
        appended,
        end: writer.head(),
        ends,
    })
}

/// Runs [`WRITE_SQL`] for `batch`, chained onto `expected`. Returns the records inserted:
/// the batch's length, or 0 if the head row no longer holds `expected`.
fn execute_write(
    client: &mut impl GenericClient,
    statement: &Statement,
    log_id: LogId,
    expected: ChainHead,
    batch: &Batch,
    scratch: &[u8],
) -> Result<u64> {
    let internal = || {
        Error::Audit(hexvault_audit::Error::Internal(
            "batch index outside its buffer",
        ))
    };
    let id: &[u8] = log_id.as_bytes();
    let mut seqs = Vec::with_capacity(batch.appended.len());
    let mut records: Vec<&[u8]> = Vec::with_capacity(batch.appended.len());
    let mut chains: Vec<&[u8]> = Vec::with_capacity(batch.appended.len());
    let mut cp_seqs = Vec::new();
    let mut cp_bytes = Vec::new();
    let mut start = 0;
    for (a, end) in batch.appended.iter().zip(&batch.ends) {
        seqs.push(db_i64(a.sequence.get())?);
        records.push(scratch.get(start..*end).ok_or_else(internal)?);
        chains.push(a.chain.as_bytes().as_slice());
        start = *end;
        if let Some(cp) = &a.checkpoint {
            cp_seqs.push(db_i64(cp.sequence.get())?);
            cp_bytes.push(cp.encode());
        }
    }
    let last_checkpoint = cp_seqs.last().copied();
    Ok(client.execute(
        statement,
        &[
            &id,
            &db_i64(expected.next)?,
            &db_i64(batch.end.next)?,
            &batch.end.chain.as_bytes().as_slice(),
            &batch.end.public_chain.as_bytes().as_slice(),
            &last_checkpoint,
            &seqs,
            &records,
            &chains,
            &cp_seqs,
            &cp_bytes,
            &expected.chain.as_bytes().as_slice(),
        ],
    )?)
}

impl AuditLog for PgLog {
    fn append(&self, event: Event) -> hexvault_audit::Result<Appended> {
        self.append_events(core::slice::from_ref(&event))?
            .pop()
            .ok_or(hexvault_audit::Error::Internal(
                "an append of one event returned none",
            ))
    }

    /// One transaction for the whole batch: all records or none are committed.
    fn append_batch(&self, events: Vec<Event>) -> hexvault_audit::Result<Vec<Appended>> {
        Ok(self.append_events(&events)?)
    }

    fn checkpoint(&self) -> hexvault_audit::Result<Option<Checkpoint>> {
        Ok(self.checkpoint_now()?)
    }

    /// Every returned append is already committed: nothing to do.
    fn flush(&self) -> hexvault_audit::Result<()> {
        Ok(())
    }

    fn verify(&self) -> hexvault_audit::Result<Report> {
        let verifier = self.lock().writer.verifier();
        Ok(self.verify_with(&verifier)?)
    }

    fn log_id(&self) -> LogId {
        self.lock().writer.log_id()
    }

    /// The length this handle last saw (see [`PgLog`]).
    fn len(&self) -> u64 {
        self.lock().writer.head().next
    }

    /// The head this handle last saw (see [`PgLog`]).
    fn head(&self) -> ChainValue {
        self.lock().writer.head().chain
    }
}
