//! `PgLog`: the [`AuditLog`] on PostgreSQL.

use core::num::NonZeroU16;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{Thread, ThreadId};
use std::time::{Duration, Instant};

use hexvault_audit::{
    Anchor, Appended, AuditLog, ChainHead, ChainValue, ChainWriter, Checkpoint, Damage, Event,
    LogId, LogOptions, Report, Sequence, Verifier,
};
use postgres::{Client, GenericClient, Statement};

use crate::read::{DEFAULT_PAGE_ROWS, HEAD_COLUMNS, HeadRow, StoredLog};
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
    /// The handle has a flush connection: while other callers wait, writes commit without
    /// waiting for the WAL flush and the flush connection waits for it before any append
    /// is acknowledged.
    pipelined: bool,
    /// `synchronous_commit` is `off` for this session now (only on a pipelined handle,
    /// while it defers flushes to the flush connection).
    session_async: bool,
    /// The last head this handle authenticated ([`authenticate`]) or chained itself onto
    /// an authenticated one: no checkpoint is signed over a head that is not.
    authentic: Option<ChainHead>,
    /// A statement of this connection failed without an `ERROR` answer (lost, reset, a
    /// `FATAL` or `PANIC` answer): the connection is gone even if the client has not seen
    /// its end yet, so a later failure is no unknown commit (review round 37).
    connection_failed: bool,
    /// A flush wait on this connection failed after a locked-path commit (a role that may
    /// not lock record rows, a record it cannot see): from then on the locked path commits
    /// synchronously, holding the head row's lock through the flush, instead of committing
    /// batches it then reports as failed (review round 39).
    own_flush_wait_failed: bool,
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
/// Threads sharing one handle (`Arc<PgLog>`) are group-committed (ADR 0076): concurrent
/// `append`/`append_batch` calls queue, and one caller writes every queued call in one
/// transaction (each call's records consecutive) while the others wait for their own
/// outcome. A call whose events cannot be encoded fails alone; a database failure fails
/// every call of the group ([`Error::GroupCommit`]), and a failure before `COMMIT` leaves
/// none of the group's records in the log. With [`PgLog::with_flush_connection`] the
/// groups are pipelined: the next group is written while a second connection waits for the
/// previous ones' WAL flush. Handles do not group-commit with each other: the appends of
/// separate handles (separate processes, nodes or connections) take the head row's lock one
/// after the other, so the threads of one process should share one handle (ADR 0093 has
/// the figures, and why staging events across processes was not adopted).
///
/// An append returns only after its records are committed and the server's WAL is flushed
/// past them (`synchronous_commit` is `on` for the session, or the flush connection waited
/// for the flush), so a returned record survives a server crash as far as the server's
/// WAL does. A writer killed mid-append leaves its
/// transaction whole or absent, never a gap or half a batch (a statement already sent may
/// still commit on the server: that record was never acknowledged). When the connection
/// fails during `COMMIT` or the flush wait, the append returns
/// [`Error::CommitUnconfirmed`] (inside [`Error::GroupCommit`] for a group of several
/// calls) and the records may or may not be committed; the chain is whole either way, and
/// the next append finds the head in the database. A handle whose connection closed (lost,
/// or its backend terminated) is dead: it does not reconnect, and every later call fails;
/// open a new handle ([`PgLog::open`] with a new `Client`) to go on. Once a statement of
/// the handle failed without an `ERROR` answer, or the client has seen the close, later
/// appends fail with [`Error::Database`]. The first append after a close the handle has
/// not seen yet (a backend terminated while the handle was idle) says
/// [`Error::CommitUnconfirmed`] when its first statement is the one-statement first try,
/// which carries the commit: the server's `FATAL` does not say whether it came before or
/// after the commit; a handle that takes the head row's lock first reads the `FATAL` as
/// the answer to `BEGIN` and says [`Error::Database`]. A handle whose flush wait fails (on
/// its flush connection: closed, terminated, refused, or seeing a copy of the database; or
/// on its own connection after a locked-path commit: a role that may not lock record rows)
/// reports the batches that wait covered as [`Error::CommitUnconfirmed`] or
/// [`Error::FlushUnconfirmed`] (committed, not confirmed durable) and commits every later
/// group synchronously on its own connection, so it does not go on committing appends it
/// reports as failed. A head row that names fewer records than
/// the handle has acknowledged (records removed in the database) is refused with
/// [`Error::InconsistentHead`] by its appends, checkpoints and [`PgLog::refresh`].
///
/// `len()` and `head()` of [`AuditLog`] are what this handle saw at its last append,
/// checkpoint or [`PgLog::refresh`]: other writers may have appended since.
pub struct PgLog {
    inner: Mutex<Inner>,
    log_id: LogId,
    /// The second connection that waits for WAL flushes, when the handle has one
    /// ([`PgLog::with_flush_connection`]).
    flusher: Option<Mutex<Flusher>>,
    /// A flush wait failed on the flush connection (closed, terminated, or unable to lock
    /// rows): from then on the handle commits every group synchronously on its own
    /// connection, as a handle without one, instead of committing groups it might not be
    /// able to acknowledge (review rounds 36 and 37).
    flush_connection_failed: AtomicBool,
    /// Records this handle has acknowledged: one past the highest sequence number it
    /// returned from a successful append. A head row naming fewer records than this was cut
    /// back in the database (review round 30): refused, never chained onto or signed over.
    acknowledged: AtomicU64,
    /// Requests waiting for a group commit or its flush, and the outcomes of finished ones.
    /// A waiting caller parks its thread; it is unparked when its outcome is posted or when
    /// work it should take over is left (one thread, not all: on a busy machine waking
    /// every waiter for every group costs more than the group).
    queue: Mutex<Queue>,
}

/// The flush connection of a pipelined handle.
struct Flusher {
    client: Client,
    flush_wait: Statement,
}

/// At most this many events go into one group commit (one statement); more queued
/// requests wait for the next group. A single request larger than this is written alone.
const GROUP_MAX_EVENTS: usize = 1024;

/// A caller that writes groups writes at most this many in a row before it returns and
/// leaves what is queued to a waiting caller (so its own caller waits a bounded time); it
/// stops earlier, after the group that gives its own request an outcome.
const LEAD_GROUPS: usize = 8;

/// A caller about to write waits at most this long for the callers whose outcomes were
/// just posted (woken, not yet returned) to queue their next request, so that they join
/// its group instead of forming the next one (a lone group followed by theirs costs two
/// commits and flushes where one would do). Bounded: a caller that does not append again
/// costs the writer this much at most.
const GATHER_WAIT: Duration = Duration::from_micros(100);

/// One caller's `append` or `append_batch`, waiting in the queue.
struct Request {
    ticket: u64,
    events: Vec<Event>,
}

/// The group-commit queue of one [`PgLog`].
#[derive(Default)]
struct Queue {
    /// Requests no caller has taken to write yet, in arrival order.
    pending: VecDeque<Request>,
    /// Requests committed without waiting for the WAL flush (pipelined handle), not yet
    /// covered by a flush wait: not acknowledged.
    unflushed: Vec<(u64, Vec<Appended>)>,
    /// The last sequence number among `unflushed`.
    unflushed_last: u64,
    /// Outcomes of finished requests, until their callers take them.
    done: HashMap<u64, Result<Vec<Appended>>>,
    next_ticket: u64,
    /// The thread of every caller still waiting, by ticket.
    waiters: HashMap<u64, Thread>,
    /// A caller is writing groups now (this thread).
    writing: Option<ThreadId>,
    /// A caller is waiting for a WAL flush on the flush connection now (this thread).
    flushing: Option<ThreadId>,
    /// The writer waiting for callers to join its group ([`GATHER_WAIT`]), and the number
    /// of pending requests at which it writes at once.
    gathering: Option<(Thread, usize)>,
}

impl Queue {
    /// Unparks the caller of `ticket`.
    fn wake(&self, ticket: u64) {
        if let Some(thread) = self.waiters.get(&ticket) {
            thread.unpark();
        }
    }

    /// Unparks one caller that can take over the work left: writing, when requests are
    /// pending and nobody writes (the first pending caller), and flushing, when committed
    /// requests wait and nobody flushes (the first of their callers that is not writing).
    fn hand_over(&self) {
        let busy = |ticket: &u64| {
            let thread = self.waiters.get(ticket).map(Thread::id);
            thread.is_some() && (thread == self.writing || thread == self.flushing)
        };
        if self.writing.is_none()
            && let Some(next) = self.pending.iter().map(|r| r.ticket).find(|t| !busy(t))
        {
            self.wake(next);
        }
        if self.flushing.is_none()
            && let Some(next) = self.unflushed.iter().map(|(t, _)| *t).find(|t| !busy(t))
        {
            self.wake(next);
        }
    }
}

/// What a caller doing the work of others is doing.
#[derive(Clone, Copy)]
enum Role {
    Writing,
    Flushing,
}

/// A caller doing a group's work (writing it, or waiting for its flush). Posts the
/// outcomes; if it unwinds before that (a panic, which the crate's code never raises on
/// purpose), the requests it carried get an internal error instead of waiting forever, and
/// another caller can take over.
struct Leader<'a> {
    log: &'a PgLog,
    role: Role,
    tickets: Vec<u64>,
    finished: bool,
}

fn missing_outcome() -> Error {
    Error::Audit(hexvault_audit::Error::Internal(
        "a group commit returned fewer outcomes than requests",
    ))
}

impl<'a> Leader<'a> {
    /// After writing a group: posts each request's outcome (in order), or, for requests
    /// committed without waiting for the flush (`committed` is the group's last sequence),
    /// queues them for the flush; keeps writing if `go_on`, requests are pending and the
    /// writer's own request (`own`) has no outcome yet; wakes every waiter.
    fn finish_write(
        &mut self,
        outcomes: Vec<Result<Vec<Appended>>>,
        committed: Option<u64>,
        go_on: bool,
        own: u64,
    ) -> MutexGuard<'a, Queue> {
        let mut queue = self.log.lock_queue();
        let mut outcomes = outcomes.into_iter();
        for ticket in &self.tickets {
            match (outcomes.next().unwrap_or(Err(missing_outcome())), committed) {
                (Ok(appended), Some(last)) => {
                    queue.unflushed.push((*ticket, appended));
                    queue.unflushed_last = queue.unflushed_last.max(last);
                }
                (outcome, _) => {
                    self.log.note_acknowledged(&outcome);
                    queue.done.insert(*ticket, outcome);
                    queue.wake(*ticket);
                }
            }
        }
        // A writer whose own outcome is posted stops, so that its caller returns and can
        // queue its next request for the next group; the first pending caller is woken to
        // write that group (after gathering the callers just acknowledged, this one among
        // them). Writing on would keep its caller out of every group it writes.
        if !go_on || queue.done.contains_key(&own) || queue.pending.is_empty() {
            queue.writing = None;
        }
        self.finished = true;
        queue.hand_over();
        queue
    }

    /// After a flush wait that covered `flushed`: posts their outcomes (the flush's error
    /// for each if it failed) and wakes every waiter.
    fn finish_flush(
        &mut self,
        flushed: Vec<(u64, Vec<Appended>)>,
        result: Result<()>,
    ) -> MutexGuard<'a, Queue> {
        let mut queue = self.log.lock_queue();
        let mut shared = result
            .err()
            .map(|error| SharedFailure::new(flushed.len(), error));
        for (ticket, appended) in flushed {
            let outcome = match &mut shared {
                None => Ok(appended),
                Some(shared) => Err(shared.next()),
            };
            self.log.note_acknowledged(&outcome);
            queue.done.insert(ticket, outcome);
            queue.wake(ticket);
        }
        queue.flushing = None;
        self.finished = true;
        queue.hand_over();
        queue
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut queue = self.log.lock_queue();
        for ticket in &self.tickets {
            queue.done.insert(
                *ticket,
                Err(Error::Audit(hexvault_audit::Error::Internal(
                    "the caller writing this append's group commit panicked; the records may \
                     or may not be committed: verify the log",
                ))),
            );
            queue.wake(*ticket);
        }
        match self.role {
            Role::Writing => queue.writing = None,
            Role::Flushing => queue.flushing = None,
        }
        queue.hand_over();
    }
}

/// Takes the requests of the next group from the front of the queue: at least one, then
/// more while the group stays within [`GROUP_MAX_EVENTS`].
fn take_group(pending: &mut VecDeque<Request>) -> Vec<Request> {
    let mut group = Vec::new();
    let mut events = 0;
    while let Some(next) = pending.front() {
        if !group.is_empty() && events + next.events.len() > GROUP_MAX_EVENTS {
            break;
        }
        events += next.events.len();
        group.extend(pending.pop_front());
    }
    group
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
        let mut log = Self::with_writer(client, writer)?;
        let inner = log.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        inner.authentic = Some(genesis);
        Ok(log)
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
        let log_id = writer.log_id();
        Ok(Self {
            inner: Mutex::new(Inner {
                client,
                writer,
                lock_head,
                write,
                flush_wait,
                scratch: Vec::new(),
                contended: false,
                pipelined: false,
                session_async: false,
                authentic: None,
                connection_failed: false,
                own_flush_wait_failed: false,
            }),
            log_id,
            flusher: None,
            flush_connection_failed: AtomicBool::new(false),
            acknowledged: AtomicU64::new(0),
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Gives the handle a second connection (to the same database) that waits for WAL
    /// flushes, so that group commits are pipelined: while other callers wait, the handle's
    /// connection writes and commits each group without waiting for the flush
    /// (`synchronous_commit = off` for its session meanwhile), and the flush connection
    /// waits, once for every group committed meanwhile, until the server's WAL is flushed
    /// past them; only then are their appends acknowledged. A group with no other caller
    /// waiting commits synchronously, as without a flush connection (one round trip). The
    /// durability statement is the same; what changes is that the next group is written
    /// while the previous one's flush is awaited. Worth it when several threads share the
    /// handle.
    ///
    /// # Errors
    /// [`Error::Database`], also for a connection that may not take the flush wait's row
    /// lock (a role without UPDATE on the records, a read-only session or standby);
    /// [`Error::UnknownLog`] when the flush connection does not see this log or the last
    /// record this handle knows (another database, a copy of it);
    /// [`Error::FlushConnectionElsewhere`] when it is connected to another server than the
    /// handle's (a replica, a restored copy): its WAL flush says nothing of this server's.
    pub fn with_flush_connection(mut self, mut client: Client) -> Result<Self> {
        // Another server holding a copy of the log (a restored backup, a replica) would pass
        // every check below and confirm flushes of its own WAL, not of the server that took
        // the commits. Servers are told apart by their start time (readable without any
        // privilege; a copy in another database of the same server shares its WAL and
        // passes, rightly). Carried LOW of review round 30.
        // As microseconds since the epoch: the text form depends on the session's `TimeZone`
        // and `DateStyle`, which may differ between two connections to one server (review
        // round 47).
        let started = |c: &mut Client| -> Result<i64> {
            Ok(c.query_one(
                "SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint",
                &[],
            )?
            .try_get(0)?)
        };
        let own = started(
            &mut self
                .inner
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .client,
        )?;
        if started(&mut client)? != own {
            return Err(Error::FlushConnectionElsewhere);
        }
        // The records this handle knows to be committed.
        let known = self
            .inner
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .writer
            .head()
            .next;
        let id: &[u8] = self.log_id.as_bytes();
        client
            .query_opt(
                "SELECT 1 FROM hexvault_audit_logs WHERE log_id = $1",
                &[&id],
            )?
            .ok_or(Error::UnknownLog(self.log_id))?;
        client.batch_execute("SET synchronous_commit = on")?;
        let flush_wait = client.prepare(FLUSH_WAIT_SQL)?;
        // The flush wait locks a record row: a connection that may not (a role without
        // UPDATE, a read-only session or standby) is refused now, not at every flush; and
        // one that does not see this log's last record this handle knows (a copy of the
        // database, a restored backup) could confirm no flush: refused too.
        let probe = known.checked_sub(1).map_or(Ok(-1), db_i64)?;
        let locked = client.execute(&flush_wait, &[&id, &probe])?;
        if known > 0 && locked != 1 {
            return Err(Error::UnknownLog(self.log_id));
        }
        let inner = self.inner.get_mut().unwrap_or_else(PoisonError::into_inner);
        inner.pipelined = true;
        self.flusher = Some(Mutex::new(Flusher { client, flush_wait }));
        Ok(self)
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
        self.check_not_cut(log_id, head)?;
        inner.writer.seek(head);
        Ok(head)
    }

    /// Counts the records of a successful outcome about to be returned as acknowledged.
    fn note_acknowledged(&self, outcome: &Result<Vec<Appended>>) {
        if let Ok(appended) = outcome
            && let Some(last) = appended.iter().map(|a| a.sequence.get()).max()
        {
            self.acknowledged
                .fetch_max(last.saturating_add(1), Ordering::AcqRel);
        }
    }

    /// Refuses a head row that names fewer records than this handle has acknowledged:
    /// records it returned were removed from the database and the head row moved back
    /// over them. Chaining onto it would hand out their sequence numbers again, and a
    /// checkpoint would sign the rewritten history (review round 30).
    fn check_not_cut(&self, log_id: LogId, head: ChainHead) -> Result<()> {
        let acknowledged = self.acknowledged.load(Ordering::Acquire);
        if head.next < acknowledged {
            return Err(Error::InconsistentHead {
                log_id,
                what: format!(
                    "it names {} records, but this handle acknowledged appends up to sequence {}: records were removed",
                    head.next,
                    acknowledged.saturating_sub(1)
                ),
            });
        }
        Ok(())
    }

    /// Appends `events` as one request of a group commit: queues them, and either becomes
    /// the leader (writes every queued request in one transaction) or waits for the leader
    /// that took them. Returns once this request's records are committed and flushed, or
    /// with the error of this request or of its group.
    fn append_events(&self, events: Vec<Event>) -> Result<Vec<Appended>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut queue = self.lock_queue();
        let ticket = queue.next_ticket;
        queue.next_ticket = queue.next_ticket.wrapping_add(1);
        queue.pending.push_back(Request { ticket, events });
        if let Some((writer, wanted)) = &queue.gathering
            && queue.pending.len() >= *wanted
        {
            writer.unpark();
        }
        let me = std::thread::current();
        let my_id = me.id();
        queue.waiters.insert(ticket, me);
        loop {
            if let Some(outcome) = queue.done.remove(&ticket) {
                queue.waiters.remove(&ticket);
                return outcome;
            }
            let can_write = queue.writing.is_none() && !queue.pending.is_empty();
            let can_flush = queue.flushing.is_none() && !queue.unflushed.is_empty();
            // A caller whose request is committed wants the flush first; one whose request
            // is still queued wants it written first.
            let mine_pending = queue.pending.iter().any(|r| r.ticket == ticket);
            if can_write && (mine_pending || !can_flush) {
                // Nobody writes: this caller writes what is queued (its own request among
                // the first, unless more than a group's worth is queued before it), then
                // goes on with what queued meanwhile, up to `LEAD_GROUPS` groups, until
                // its own request has its outcome (on a pipelined handle: until it is
                // flushed, so that the next group is written while the flush is awaited).
                queue.writing = Some(my_id);
                queue = self.gather(queue);
                let mut led = 0;
                while queue.writing.is_some() {
                    let group = take_group(&mut queue.pending);
                    let lone = queue.waiters.len() == group.len()
                        && queue.unflushed.is_empty()
                        && queue.flushing.is_none();
                    drop(queue);
                    let mut leader = Leader {
                        log: self,
                        role: Role::Writing,
                        tickets: group.iter().map(|r| r.ticket).collect(),
                        finished: false,
                    };
                    let (outcomes, committed) = self.write_group(&group, lone);
                    led += 1;
                    queue = leader.finish_write(outcomes, committed, led < LEAD_GROUPS, ticket);
                }
                continue;
            }
            if can_flush {
                // Committed groups wait for a flush: one wait covers all of them.
                queue.flushing = Some(my_id);
                let flushed = core::mem::take(&mut queue.unflushed);
                let last = queue.unflushed_last;
                drop(queue);
                let mut leader = Leader {
                    log: self,
                    role: Role::Flushing,
                    tickets: flushed.iter().map(|(t, _)| *t).collect(),
                    finished: false,
                };
                let result = self.wait_for_flush(last);
                queue = leader.finish_flush(flushed, result);
                continue;
            }
            // Unparked when this request's outcome is posted or work is handed over to
            // it; a stray wake-up only goes round the loop again.
            drop(queue);
            std::thread::park();
            queue = self.lock_queue();
        }
    }

    /// Called by a caller that just became the writer: when callers whose outcomes are
    /// posted have not yet returned (each may queue its next request at once), waits up to
    /// [`GATHER_WAIT`] for as many new requests, so that one group carries them all. No
    /// delay when no outcome waits for its caller (a lone writer).
    fn gather<'a>(&'a self, mut queue: MutexGuard<'a, Queue>) -> MutexGuard<'a, Queue> {
        let returning = queue.done.len();
        if returning == 0 {
            return queue;
        }
        let wanted = queue.pending.len().saturating_add(returning);
        queue.gathering = Some((std::thread::current(), wanted));
        let started = Instant::now();
        loop {
            let left = GATHER_WAIT.saturating_sub(started.elapsed());
            if queue.pending.len() >= wanted || left.is_zero() {
                break;
            }
            drop(queue);
            std::thread::park_timeout(left);
            queue = self.lock_queue();
        }
        queue.gathering = None;
        queue
    }

    /// Waits on the flush connection until the server's WAL is flushed past every commit
    /// that returned before: a synchronous transaction that writes WAL (a row lock on the
    /// record `last`, committed already, which no writer changes) returns only then.
    fn wait_for_flush(&self, last: u64) -> Result<()> {
        let Some(flusher) = &self.flusher else {
            return Err(Error::Audit(hexvault_audit::Error::Internal(
                "a flush was queued on a handle without a flush connection",
            )));
        };
        let id: &[u8] = self.log_id.as_bytes();
        let mut flusher = flusher.lock().unwrap_or_else(PoisonError::into_inner);
        let flusher = &mut *flusher;
        let waited = flusher
            .client
            .execute(&flusher.flush_wait, &[&id, &db_i64(last)?])
            .map_err(Error::CommitUnconfirmed)
            .and_then(|locked| flush_waited(self.log_id, last, locked));
        if waited.is_err() {
            // Whatever failed (the connection, a refusal, a record it cannot see), this
            // flush connection confirmed nothing: no later group is deferred to it.
            self.flush_connection_failed.store(true, Ordering::Release);
        }
        waited
    }

    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `group` as one transaction: each request's records consecutive, in queue
    /// order. Returns one outcome per request, in order, and, on a pipelined handle, the
    /// last sequence number committed (the successful outcomes then still wait for a
    /// flush). A request whose events cannot be encoded fails alone (its records are left
    /// out); a database failure fails every request of the group.
    ///
    /// `lone`: no other caller waits; a pipelined handle then commits synchronously (one
    /// round trip) instead of deferring the flush wait to its flush connection.
    fn write_group(
        &self,
        group: &[Request],
        lone: bool,
    ) -> (Vec<Result<Vec<Appended>>>, Option<u64>) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let log_id = inner.writer.log_id();
        let expected = inner.writer.head();
        let defer = inner.pipelined
            && !lone
            && !inner.own_flush_wait_failed
            && !self.flush_connection_failed.load(Ordering::Acquire);
        if defer != inner.session_async {
            let set = if defer {
                "SET synchronous_commit = off"
            } else {
                "SET synchronous_commit = on"
            };
            if let Err(e) = inner.client.batch_execute(set) {
                // A `FATAL` answer here (a backend terminated while the handle was idle)
                // ends the connection: no later first try on it can commit (round 39 LOW).
                if ends_connection(&e) {
                    inner.connection_failed = true;
                }
                return (fail_all(group.len(), e.into()), None);
            }
            inner.session_async = defer;
        }
        // The last record of a committed batch whose flush is deferred.
        let committed = |defer: bool, batch: &Batch| {
            (defer && !batch.appended.is_empty()).then(|| batch.end.next.saturating_sub(1))
        };
        let events: u64 = group.iter().map(|r| r.events.len() as u64).sum();
        // A group that signs an interval checkpoint chains onto an authenticated head only:
        // one this handle authenticated or produced, else the locked path authenticates.
        let signs_unverified =
            inner.writer.checkpoint_due_within(events) && inner.authentic != Some(expected);
        if !inner.contended && !signs_unverified {
            // First try: the head this handle last saw, one statement in its own
            // transaction (committed without waiting for the flush when it is deferred).
            let prepared = prepare_group(&mut inner.writer, group, &mut inner.scratch);
            if prepared.batch.appended.is_empty() {
                return (prepared.into_outcomes(Ok(())), None);
            }
            // A connection already closed or failed sends nothing that can commit: its
            // failure is no unknown commit.
            let closed_before = inner.client.is_closed() || inner.connection_failed;
            let written = execute_write(
                &mut inner.client,
                &inner.write,
                log_id,
                expected,
                &prepared.batch,
                &inner.scratch,
            );
            match written {
                Ok(rows) if rows == prepared.batch.appended.len() as u64 => {
                    if inner.authentic == Some(expected) {
                        inner.authentic = Some(prepared.batch.end);
                    }
                    let last = committed(defer, &prepared.batch);
                    return (prepared.into_outcomes(Ok(())), last);
                }
                Ok(_) => inner.contended = true,
                Err(e) => {
                    inner.writer.seek(expected);
                    if let Error::Database(db) = &e
                        && ends_connection(db)
                    {
                        inner.connection_failed = true;
                    }
                    // The statement is its own transaction: unless the server answered with
                    // an `ERROR` (it then rolled the statement back), its commit may have
                    // happened unseen (a lost or reset connection, an I/O error, a backend
                    // terminated with a `FATAL` answer).
                    let e = match e {
                        Error::Database(db) if !closed_before => commit_failure(db),
                        other => other,
                    };
                    return (prepared.into_outcomes(Err(e)), None);
                }
            }
        }
        // Another writer moved the head: take its row lock, chain against the head read
        // under it, write and commit.
        inner.writer.seek(expected);
        let id: &[u8] = log_id.as_bytes();
        let mut prepared = None;
        let result = (|| {
            // Commit without waiting for the WAL flush, so the head row's lock is released
            // at once; the flush is awaited after the lock, before acknowledging (below, or
            // on the flush connection when the flush is deferred). `BEGIN` and the setting
            // go in one message.
            // After a flush wait of this connection failed, the commit waits for the flush
            // itself (no separate wait that could fail again after committing).
            let sync_commit = inner.own_flush_wait_failed;
            inner.client.batch_execute(if sync_commit {
                "BEGIN; SET LOCAL synchronous_commit = on"
            } else {
                "BEGIN; SET LOCAL synchronous_commit = off"
            })?;
            let row = inner
                .client
                .query_opt(&inner.lock_head, &[&id])?
                .ok_or(Error::UnknownLog(log_id))?;
            let head = HeadRow::parse(log_id, &row)?.head;
            self.check_not_cut(log_id, head)?;
            // Found where this handle left it: no other writer; try without the lock next.
            inner.contended = head != expected;
            inner.writer.seek(head);
            if inner.writer.checkpoint_due_within(events) {
                // Under the head row's lock: no writer moves it while the records are read.
                authenticate(&mut inner.client, &inner.writer, head, inner.authentic)?;
                inner.authentic = Some(head);
            }
            let base_authentic = inner.authentic == Some(head);
            let g = prepared.insert(prepare_group(&mut inner.writer, group, &mut inner.scratch));
            let records = g.batch.appended.len();
            if records == 0 {
                inner.client.batch_execute("ROLLBACK")?;
                return Ok(());
            }
            let rows = execute_write(
                &mut inner.client,
                &inner.write,
                log_id,
                head,
                &g.batch,
                &inner.scratch,
            )?;
            if rows != records as u64 {
                return Err(Error::InconsistentHead {
                    log_id,
                    what: format!(
                        "the locked head row did not take the batch ({rows} of {records} records written)"
                    ),
                });
            }
            inner
                .client
                .batch_execute("COMMIT")
                .map_err(commit_failure)?;
            if base_authentic {
                inner.authentic = Some(g.batch.end);
            }
            if !defer && !sync_commit {
                // Durability: a synchronous commit that wrote WAL (a row lock on this
                // batch's last record, which no other writer touches) returns once the WAL
                // is flushed past its commit record, so past the batch's commit record. A
                // failure here leaves the batch committed and unacknowledged; a batch that
                // was not committed has no such row, and the wait fails.
                let last = g.batch.end.next.saturating_sub(1);
                let waited = inner
                    .client
                    .execute(&inner.flush_wait, &[&id, &db_i64(last)?])
                    .map_err(Error::CommitUnconfirmed)
                    .and_then(|locked| flush_waited(log_id, last, locked));
                if waited.is_err() {
                    inner.own_flush_wait_failed = true;
                }
                waited?;
            }
            Ok(())
        })();
        if let Err(Error::Database(db) | Error::CommitUnconfirmed(db)) = &result
            && ends_connection(db)
        {
            inner.connection_failed = true;
        }
        if result.is_err() {
            // Ends the transaction if a failure left it open (rolling back whatever it did,
            // and releasing the head row's lock); outside a transaction `ROLLBACK` only
            // warns. If the connection is broken this fails too, and the server rolls the
            // transaction back when it sees the connection close: the append's own error
            // is the one returned.
            let _ = inner.client.batch_execute("ROLLBACK");
            // Nothing acknowledged: back to the last head known to be committed (the next
            // append finds the real head in the database either way).
            inner.writer.seek(expected);
        }
        match prepared {
            Some(prepared) => {
                let last = if result.is_ok() {
                    committed(defer, &prepared.batch)
                } else {
                    None
                };
                (prepared.into_outcomes(result), last)
            }
            None => {
                let error = result
                    .err()
                    .unwrap_or(Error::Audit(hexvault_audit::Error::Internal(
                        "a group commit ended before preparing its records without an error",
                    )));
                (fail_all(group.len(), error), None)
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
        // Durable when it returns, also on a pipelined handle (whose session may commit
        // asynchronously).
        tx.batch_execute("SET LOCAL synchronous_commit = on")?;
        let row = tx
            .query_opt(&inner.lock_head, &[&id])?
            .ok_or(Error::UnknownLog(log_id))?;
        let stored = HeadRow::parse(log_id, &row)?;
        self.check_not_cut(log_id, stored.head)?;
        inner.writer.seek(stored.head);
        let Some(last) = stored.head.next.checked_sub(1) else {
            return Ok(None);
        };
        if stored.last_checkpoint == Some(last) {
            let row = tx.query_one(
                "SELECT checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = $2",
                &[&id, &db_i64(last)?],
            )?;
            // The head row's `last_checkpoint` column is not trusted: the row it names is
            // returned only if it is this log's checkpoint, signed under its key, over the
            // last record and the head's values (review round 10).
            let cp = Checkpoint::decode(row.try_get(0)?)?;
            if !covers(&cp, &inner.writer, stored.head) {
                return Err(Error::InconsistentHead {
                    log_id,
                    what: format!(
                        "its last_checkpoint column names the checkpoint row at {last}, which \
                         is not a checkpoint of this log signed over its last record"
                    ),
                });
            }
            tx.commit()?;
            inner.authentic = Some(stored.head);
            return Ok(Some(cp));
        }
        authenticate(&mut tx, &inner.writer, stored.head, inner.authentic)?;
        inner.authentic = Some(stored.head);
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

    /// Reads the whole log back into memory (see [`StoredLog::read`]; to verify, use
    /// [`PgLog::verify_with`], which reads a page at a time).
    ///
    /// # Errors
    /// As [`StoredLog::read`].
    pub fn read(&self) -> Result<StoredLog> {
        let mut inner = self.lock();
        let log_id = inner.writer.log_id();
        StoredLog::read(&mut inner.client, log_id)
    }

    /// Verifies the log in the database with an explicit verifier (for example with an
    /// anchor, or public-key only), [`DEFAULT_PAGE_ROWS`] rows at a time (see
    /// [`crate::verify_paged`]: memory bounded by a page, not by the log's length).
    ///
    /// # Errors
    /// As [`crate::verify_paged`].
    pub fn verify_with(&self, verifier: &Verifier) -> Result<Report> {
        self.verify_paged(verifier, DEFAULT_PAGE_ROWS)
    }

    /// [`PgLog::verify_with`], `page_rows` rows per round trip.
    ///
    /// # Errors
    /// As [`crate::verify_paged`].
    pub fn verify_paged(&self, verifier: &Verifier, page_rows: NonZeroU16) -> Result<Report> {
        let mut inner = self.lock();
        let log_id = inner.writer.log_id();
        crate::read::verify_paged(&mut inner.client, log_id, verifier, page_rows)
    }

    /// The latest checkpoint in the database (the checkpoint row with the greatest
    /// sequence number; only that row is read) as an [`Anchor`] to keep outside it (write
    /// [`Anchor::encode`] to a file, `hexvault audit verify --anchor` reads it).
    /// UNVERIFIED: verify the log first (a verifier checks the anchor's signature against
    /// the trusted key). `None` if the log has no checkpoint. Returned only once the server's
    /// WAL is flushed past that row (this or another handle may have committed it without
    /// waiting for the flush).
    ///
    /// # Errors
    /// [`Error::Database`]; [`Error::Audit`] for a row that is not a checkpoint
    /// ([`hexvault_audit::Error::Malformed`]) or a format-1 checkpoint
    /// ([`hexvault_audit::Error::BadAnchor`]).
    pub fn anchor(&self) -> Result<Option<Anchor>> {
        let mut inner = self.lock();
        let log_id = inner.writer.log_id();
        let anchor = crate::read::latest_anchor(&mut inner.client, log_id);
        // A `FATAL` answer or a lost connection here ends the connection as it would in an
        // append: the next append's failure on it is then no unknown commit.
        if let Err(Error::Database(db) | Error::CommitUnconfirmed(db)) = &anchor
            && ends_connection(db)
        {
            inner.connection_failed = true;
        }
        anchor
    }
}

/// A flush wait that locked no row wrote no WAL and so waited for nothing: the record
/// `last` is not where it was committed (deleted by someone with database access, or the
/// flush connection sees a copy of the database). Never acknowledge on it: the batch was
/// committed, its durability is not confirmed ([`Error::FlushUnconfirmed`]).
fn flush_waited(log_id: LogId, last: u64, locked: u64) -> Result<()> {
    if locked == 1 {
        return Ok(());
    }
    Err(Error::FlushUnconfirmed { log_id, last })
}

/// `true` if `cp` is a checkpoint of `writer`'s log, in its chain mode, signed under its
/// key, over the last record of `head` with `head`'s chain values.
fn covers(cp: &Checkpoint, writer: &ChainWriter, head: ChainHead) -> bool {
    let Some(key) = writer.verifying_key() else {
        return false;
    };
    cp.log_id == writer.log_id()
        && cp.mode == writer.mode()
        && head.next.checked_sub(1) == Some(cp.sequence.get())
        && cp.chain == head.chain
        && cp.public_chain == Some(head.public_chain)
        && cp.verify(&key).is_ok()
}

/// Authenticates `head` (read from the head row, which the database lets anyone change)
/// before this handle signs a checkpoint over records chained after it: the records from
/// the latest authentic point up to `head` must follow under the writer's keys
/// ([`ChainWriter::follow`]) and end exactly at `head`. The latest authentic point is the
/// later of `known` (a head this handle authenticated or produced) and the latest
/// checkpoint row before `head`, which must be this log's, signed under its key (the
/// genesis when there is neither). So a signature never covers records chained by
/// someone with database access but without the audit key (review round 10). The writer
/// stands at `head` (its format gives the genesis).
///
/// # Errors
/// [`Error::Audit`] with [`hexvault_audit::Error::Damaged`] (the sequence of the first
/// record that does not follow, or of a checkpoint row that does not verify);
/// [`Error::InconsistentHead`] for missing record rows or a head that does not end the
/// records; [`Error::Database`].
fn authenticate(
    client: &mut impl GenericClient,
    writer: &ChainWriter,
    head: ChainHead,
    known: Option<ChainHead>,
) -> Result<()> {
    if known == Some(head) {
        return Ok(());
    }
    let log_id = writer.log_id();
    let id: &[u8] = log_id.as_bytes();
    let damaged = |sequence: u64, reason| {
        Error::Audit(hexvault_audit::Error::Damaged {
            sequence: Sequence::new(sequence),
            reason,
        })
    };
    let mut from = writer.genesis();
    if let Some(row) = client.query_opt(
        "SELECT seq, checkpoint FROM hexvault_audit_checkpoints \
          WHERE log_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1",
        &[&id, &db_i64(head.next)?],
    )? {
        let seq = u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0);
        let cp = Checkpoint::decode(row.try_get(1)?).map_err(|_| damaged(seq, Damage::Encoding))?;
        let at = ChainHead {
            format_version: head.format_version,
            next: seq.saturating_add(1),
            chain: cp.chain,
            public_chain: cp.public_chain.unwrap_or(cp.chain),
        };
        if cp.sequence.get() != seq || !covers(&cp, writer, at) {
            return Err(damaged(seq, Damage::CheckpointSignature));
        }
        from = at;
    }
    if let Some(known) = known.filter(|k| {
        k.next > from.next && k.next <= head.next && k.format_version == head.format_version
    }) {
        from = known;
    }
    let rows = client.query(
        "SELECT seq, record, chain FROM hexvault_audit_records \
          WHERE log_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq",
        &[&id, &db_i64(from.next)?, &db_i64(head.next)?],
    )?;
    let mut stored = Vec::with_capacity(rows.len());
    for (expected, row) in (from.next..).zip(&rows) {
        if row.try_get::<_, i64>(0)? != db_i64(expected)? {
            return Err(Error::InconsistentHead {
                log_id,
                what: format!("record row {expected} is missing below the head"),
            });
        }
        let record: &[u8] = row.try_get(1)?;
        let chain = <[u8; 32]>::try_from(row.try_get::<_, &[u8]>(2)?)
            .map_err(|_| damaged(expected, Damage::Encoding))?;
        stored.push((record, ChainValue::from_bytes(chain)));
    }
    if stored.len() as u64 != head.next.saturating_sub(from.next) {
        return Err(Error::InconsistentHead {
            log_id,
            what: format!(
                "it names {} records, the table holds {} record rows",
                head.next,
                from.next.saturating_add(stored.len() as u64)
            ),
        });
    }
    let followed = writer.follow(from, stored.iter().map(|(record, chain)| (*record, chain)))?;
    if followed != head {
        return Err(Error::InconsistentHead {
            log_id,
            what: "its chain values are not those its records end with".to_owned(),
        });
    }
    Ok(())
}

/// A batch chained onto one head; the writer stands after its last record.
struct Batch {
    appended: Vec<Appended>,
    /// The head after the batch's last record.
    end: ChainHead,
    /// End offset of each record's encoding in the scratch buffer.
    ends: Vec<usize>,
}

/// A group chained onto one head: the records of the requests that could be encoded, and
/// one slot per request.
struct PreparedGroup {
    batch: Batch,
    /// Per request, in order: its number of records in `batch`, or why it was left out.
    slots: Vec<Result<usize>>,
}

impl PreparedGroup {
    /// The outcome of each request once the group's write ended with `written`.
    fn into_outcomes(self, written: Result<()>) -> Vec<Result<Vec<Appended>>> {
        let mut records = self.batch.appended.into_iter();
        match written {
            Ok(()) => self
                .slots
                .into_iter()
                .map(|slot| slot.map(|n| records.by_ref().take(n).collect()))
                .collect(),
            Err(error) => {
                let mut shared = SharedFailure::new(
                    self.slots.iter().filter(|slot| slot.is_ok()).count(),
                    error,
                );
                self.slots
                    .into_iter()
                    .map(|slot| Err(slot.err().unwrap_or_else(|| shared.next())))
                    .collect()
            }
        }
    }
}

/// Every request of a group of `requests` fails with `error`.
fn fail_all(requests: usize, error: Error) -> Vec<Result<Vec<Appended>>> {
    let mut shared = SharedFailure::new(requests, error);
    (0..requests).map(|_| Err(shared.next())).collect()
}

/// Hands one group failure to each of its requests: the error itself when the group had
/// one request, else [`Error::GroupCommit`] sharing it.
enum SharedFailure {
    Alone(Option<Error>),
    Shared { requests: usize, source: Arc<Error> },
}

impl SharedFailure {
    fn new(requests: usize, error: Error) -> Self {
        if requests <= 1 {
            Self::Alone(Some(error))
        } else {
            Self::Shared {
                requests,
                source: Arc::new(error),
            }
        }
    }

    fn next(&mut self) -> Error {
        match self {
            Self::Alone(error) => {
                error
                    .take()
                    .unwrap_or(Error::Audit(hexvault_audit::Error::Internal(
                        "a group failure was handed out twice",
                    )))
            }
            Self::Shared { requests, source } => Error::GroupCommit {
                requests: *requests,
                source: Arc::clone(source),
            },
        }
    }
}

/// Prepares and (locally) commits each request's events as consecutive records after the
/// writer's head, in order, encodings into `scratch` (cleared first). A request that fails
/// to encode is left out whole (the writer, the scratch buffer and the batch go back to
/// where they were before it) and the next request chains where it would have started.
fn prepare_group(
    writer: &mut ChainWriter,
    group: &[Request],
    scratch: &mut Vec<u8>,
) -> PreparedGroup {
    scratch.clear();
    let events = group.iter().map(|r| r.events.len()).sum();
    let mut appended = Vec::with_capacity(events);
    let mut ends = Vec::with_capacity(events);
    let mut slots = Vec::with_capacity(group.len());
    for request in group {
        let (head, records, bytes) = (writer.head(), appended.len(), scratch.len());
        let mut failed = None;
        for event in &request.events {
            let step = writer
                .prepare(event, scratch)
                .and_then(|p| writer.commit(&p).map(|()| p));
            match step {
                Ok(p) => {
                    ends.push(scratch.len());
                    appended.push(Appended::from(p));
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        slots.push(match failed {
            None => Ok(request.events.len()),
            Some(e) => {
                writer.seek(head);
                appended.truncate(records);
                ends.truncate(records);
                scratch.truncate(bytes);
                Err(e.into())
            }
        });
    }
    PreparedGroup {
        batch: Batch {
            appended,
            end: writer.head(),
            ends,
        },
        slots,
    }
}

/// What a failure of a statement that carries a commit (the one-statement first try, or
/// `COMMIT`) means for the append. An answer of severity `ERROR` says the server rolled the
/// transaction back: [`Error::Database`]. No answer (a lost or reset connection), or a
/// `FATAL` or `PANIC` one (the backend terminated: an administrator, a shutdown, a crash,
/// which may come after the commit was done), leaves the commit's outcome unknown:
/// [`Error::CommitUnconfirmed`].
fn commit_failure(error: postgres::Error) -> Error {
    let rolled_back = error
        .as_db_error()
        .and_then(postgres::error::DbError::parsed_severity)
        == Some(postgres::error::Severity::Error);
    if rolled_back {
        Error::Database(error)
    } else {
        Error::CommitUnconfirmed(error)
    }
}

/// `true` if `error` leaves the connection gone: a `FATAL` or `PANIC` answer, a closed
/// connection or an I/O failure. An `ERROR` answer leaves the session usable, and so does
/// a failure of the client's own (converting a value).
fn ends_connection(error: &postgres::Error) -> bool {
    match error.as_db_error() {
        Some(db) => !matches!(db.parsed_severity(), Some(postgres::error::Severity::Error)),
        None => {
            error.is_closed()
                || std::error::Error::source(error).is_some_and(|s| s.is::<std::io::Error>())
        }
    }
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
        self.append_events(vec![event])?
            .pop()
            .ok_or(hexvault_audit::Error::Internal(
                "an append of one event returned none",
            ))
    }

    /// One transaction for the whole batch: all records or none are committed.
    fn append_batch(&self, events: Vec<Event>) -> hexvault_audit::Result<Vec<Appended>> {
        Ok(self.append_events(events)?)
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

    /// The committed length, read from the head row ([`PgLog::refresh`]).
    fn stored_len(&self) -> hexvault_audit::Result<u64> {
        Ok(self.refresh()?.next)
    }

    /// The head this handle last saw (see [`PgLog`]).
    fn head(&self) -> ChainValue {
        self.lock().writer.head().chain
    }
}
