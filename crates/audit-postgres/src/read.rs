//! Reading a log back from the database (head row, records, checkpoints): page by page for
//! verification and the anchor export ([`verify_paged`], [`verify_and_anchor`]), whole for
//! `hexvault audit show` ([`StoredLog`]). The database is not trusted: every row is checked
//! by the verifier, and a row that cannot even be read is damage at its sequence.

use core::num::NonZeroU16;

use hexvault_audit::{
    Anchor, AuditRecord, ChainHead, ChainMode, ChainValue, Checkpoint, Damage, EntryRef, Failure,
    LogEntry, LogId, Report, Sequence, StoredHeader, Verifier, VerifyingKey,
};
use postgres::{GenericClient, Transaction};

use crate::{Error, Result};

/// The columns of a log's head row, checked.
pub(crate) struct HeadRow {
    pub(crate) header: StoredHeader,
    pub(crate) head: ChainHead,
    pub(crate) last_checkpoint: Option<u64>,
}

pub(crate) const HEAD_COLUMNS: &str = "chain_mode, key_check, public_key, checkpoint_every, \
     next_seq, head, public_head, last_checkpoint, chain_format";

/// [`HEAD_COLUMNS`] for a schema-1 database (read, not migrated, by readers): every log of
/// schema 1 was written in audit log format 2.
const HEAD_COLUMNS_SCHEMA_1: &str = "chain_mode, key_check, public_key, checkpoint_every, \
     next_seq, head, public_head, last_checkpoint, 2::smallint";

fn array<const N: usize>(log_id: LogId, bytes: &[u8], what: &str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::InconsistentHead {
        log_id,
        what: format!("{what} is {} bytes, not {N}", bytes.len()),
    })
}

fn unsigned(log_id: LogId, value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::InconsistentHead {
        log_id,
        what: format!("{what} is negative ({value})"),
    })
}

impl HeadRow {
    /// Parses a row selected with [`HEAD_COLUMNS`].
    pub(crate) fn parse(log_id: LogId, row: &postgres::Row) -> Result<Self> {
        let bad = |what: String| Error::InconsistentHead { log_id, what };
        let mode_code: i16 = row.try_get(0)?;
        let mode = u8::try_from(mode_code)
            .ok()
            .and_then(ChainMode::from_code)
            .ok_or_else(|| bad(format!("unknown chain mode {mode_code}")))?;
        let public_key = match row.try_get::<_, Option<&[u8]>>(2)? {
            None => None,
            Some(bytes) => Some(
                VerifyingKey::from_bytes(&array(log_id, bytes, "public_key")?)
                    .map_err(|_| bad("public_key is not an ed25519 point".to_owned()))?,
            ),
        };
        let every = unsigned(log_id, row.try_get(3)?, "checkpoint_every")?;
        let checkpoint_every = u32::try_from(every)
            .map_err(|_| bad(format!("checkpoint_every {every} exceeds 2^32 - 1")))?;
        let last_checkpoint = match row.try_get::<_, Option<i64>>(7)? {
            None => None,
            Some(v) => Some(unsigned(log_id, v, "last_checkpoint")?),
        };
        // Taken from the row like every column: a changed value makes the verifier
        // recompute the other construction, and every record fails.
        let format: i16 = row.try_get(8)?;
        let format_version = match u16::try_from(format) {
            Ok(v @ (hexvault_audit::FILE_VERSION_V2 | hexvault_audit::FILE_VERSION)) => v,
            _ => return Err(bad(format!("unknown chain format {format}"))),
        };
        Ok(Self {
            header: StoredHeader {
                format_version,
                log_id,
                mode,
                key_check: array(log_id, row.try_get(1)?, "key_check")?,
                public_key,
                checkpoint_every,
            },
            head: ChainHead {
                format_version,
                next: unsigned(log_id, row.try_get(4)?, "next_seq")?,
                chain: ChainValue::from_bytes(array(log_id, row.try_get(5)?, "head")?),
                public_chain: ChainValue::from_bytes(array(
                    log_id,
                    row.try_get(6)?,
                    "public_head",
                )?),
            },
            last_checkpoint,
        })
    }
}

/// A log as read from the database, UNVERIFIED: verify it ([`StoredLog::verify`]) before
/// trusting anything in it. Holds every record in memory (about the size of the records
/// table's rows for this log).
pub struct StoredLog {
    header: StoredHeader,
    head: ChainHead,
    /// Every record's encoding, back to back.
    arena: Vec<u8>,
    /// `(start, end, stored chain value)` per record row, in `seq` order.
    records: Vec<(usize, usize, ChainValue)>,
    /// `(seq column, decoded checkpoint)` per checkpoint row, in `seq` order, up to the
    /// first one that does not decode.
    checkpoints: Vec<(u64, Checkpoint)>,
    /// The first row that cannot be read as an entry.
    unreadable: Option<Unreadable>,
}

/// A row that cannot be read as an entry, and the sequence it is charged to.
#[derive(Debug, Clone, Copy)]
enum Unreadable {
    /// The record row at this position.
    Record(Sequence),
    /// A checkpoint row claiming to follow this record (charged to it, as a file's bad
    /// checkpoint frame).
    Checkpoint(Sequence),
}

impl Unreadable {
    const fn sequence(self) -> Sequence {
        match self {
            Self::Record(s) | Self::Checkpoint(s) => s,
        }
    }

    /// The first unreadable row, from the position of the first record row that cannot
    /// be read (if any), the number of record rows before it (all of them if none), and
    /// the first checkpoint row that cannot be read. A checkpoint row with a negative
    /// `seq` is charged to the start; one that does not decode to the record it claims to
    /// follow (at most the first record not read), unless an unreadable record comes
    /// first.
    fn charge(
        bad_record: Option<u64>,
        readable: u64,
        bad_checkpoint: Option<BadCheckpoint>,
    ) -> Option<Self> {
        match bad_checkpoint {
            Some(BadCheckpoint::NegativeSeq) => Some(Self::Checkpoint(Sequence::new(0))),
            Some(BadCheckpoint::Encoding(seq)) => {
                let at = seq.min(readable);
                Some(match bad_record {
                    Some(r) if r <= at => Self::Record(Sequence::new(r)),
                    _ => Self::Checkpoint(Sequence::new(at)),
                })
            }
            None => bad_record.map(|r| Self::Record(Sequence::new(r))),
        }
    }

    /// `(record limit, checkpoint limit)`: with an unreadable row, the verifier is given
    /// only the records before the limit and the checkpoints naming a record before the
    /// checkpoint limit (records before an unreadable record, records up to the one an
    /// unreadable checkpoint follows, and checkpoints before either).
    const fn limits(unreadable: Option<Self>) -> (u64, u64) {
        match unreadable {
            None => (u64::MAX, u64::MAX),
            Some(Self::Record(at)) => (at.get(), at.get()),
            Some(Self::Checkpoint(at)) => (at.get().saturating_add(1), at.get()),
        }
    }
}

/// A checkpoint row that cannot be read as a checkpoint.
#[derive(Debug, Clone, Copy)]
enum BadCheckpoint {
    /// Its `seq` column is negative (the table's CHECK dropped).
    NegativeSeq,
    /// Its bytes do not decode; its `seq` column.
    Encoding(u64),
}

/// Records of a log in storage order (both readers use this one query).
const RECORDS_SQL: &str =
    "SELECT record, chain FROM hexvault_audit_records WHERE log_id = $1 ORDER BY seq";

/// Checkpoints of a log in storage order (both readers use this one query).
const CHECKPOINTS_SQL: &str =
    "SELECT seq, checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 ORDER BY seq";

/// A row of [`CHECKPOINTS_SQL`]: its `seq` column and checkpoint, or why it cannot be
/// read. A NULL column is a database error (as for every reader of the row).
fn read_checkpoint(
    row: &postgres::Row,
) -> Result<core::result::Result<(u64, Checkpoint), BadCheckpoint>> {
    let seq = row.try_get::<_, i64>(0)?;
    let bytes: &[u8] = row.try_get(1)?;
    let Ok(seq) = u64::try_from(seq) else {
        return Ok(Err(BadCheckpoint::NegativeSeq));
    };
    Ok(Checkpoint::decode(bytes)
        .map(|cp| (seq, cp))
        .map_err(|_| BadCheckpoint::Encoding(seq)))
}

/// Opens the repeatable-read, read-only transaction every reader works in (one consistent
/// snapshot while writers append) and reads the log's head row in it.
fn snapshot<C: GenericClient>(client: &mut C, log_id: LogId) -> Result<(Transaction<'_>, HeadRow)> {
    let schema = crate::schema::check(client)?;
    let columns = if schema >= 2 {
        HEAD_COLUMNS
    } else {
        HEAD_COLUMNS_SCHEMA_1
    };
    let mut tx = client.transaction()?;
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    let id: &[u8] = log_id.as_bytes();
    let head_row = tx
        .query_opt(
            &format!("SELECT {columns} FROM hexvault_audit_logs WHERE log_id = $1"),
            &[&id],
        )?
        .ok_or(Error::UnknownLog(log_id))?;
    let head = HeadRow::parse(log_id, &head_row)?;
    Ok((tx, head))
}

/// The verifier's report on the readable entries, judged against the unreadable row and
/// the head row: damage the verifier found comes first; then the unreadable row
/// ([`Damage::Encoding`] at its sequence); then a head row that counts more records than
/// verified ([`Damage::Truncated`]); a head row that counts fewer or names another chain
/// value is [`Error::InconsistentHead`].
fn judge(
    mut report: Report,
    unreadable: Option<Unreadable>,
    header: &StoredHeader,
    head: ChainHead,
) -> Result<Report> {
    // The entries stop before an unreadable row: a checkpoint the verifier found missing
    // after the last entry it was given (`EntryChecker::finish`) is the unreadable row
    // itself or lies past it, so the unreadable row is the damage reported.
    if let (
        Some(at),
        Some(Failure {
            reason: Damage::MissingCheckpoint,
            ..
        }),
    ) = (unreadable, report.failure)
        && at.sequence().get() <= report.records
    {
        report.failure = None;
    }
    let undamaged = matches!(
        report.failure,
        None | Some(Failure {
            reason: Damage::UnanchoredTail,
            ..
        })
    );
    if !undamaged {
        return Ok(report);
    }
    if let Some(at) = unreadable {
        report.failure = Some(Failure {
            sequence: at.sequence(),
            reason: Damage::Encoding,
        });
    } else if report.records < head.next {
        report.failure = Some(Failure {
            sequence: Sequence::new(report.records),
            reason: Damage::Truncated {
                missing: head.next.saturating_sub(report.records),
            },
        });
    } else if report.records > head.next || report.head.is_some_and(|h| h != head.chain) {
        return Err(Error::InconsistentHead {
            log_id: header.log_id,
            what: format!(
                "it names {} records, the verified records are {}, or its chain value differs",
                head.next, report.records
            ),
        });
    }
    Ok(report)
}

impl core::fmt::Debug for StoredLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredLog")
            .field("log_id", &self.header.log_id)
            .field("records", &self.records.len())
            .field("checkpoints", &self.checkpoints.len())
            .finish_non_exhaustive()
    }
}

impl StoredLog {
    /// Reads the head row, every record and every checkpoint of `log_id` in one
    /// repeatable-read, read-only transaction (a consistent snapshot while writers append),
    /// holding the whole log in memory; [`verify_paged`] verifies in memory bounded by a
    /// page.
    ///
    /// # Errors
    /// [`Error::NoSchema`] / [`Error::SchemaTooNew`], [`Error::UnknownLog`],
    /// [`Error::InconsistentHead`] for a head row that cannot be parsed, [`Error::Database`].
    pub fn read(client: &mut impl GenericClient, log_id: LogId) -> Result<Self> {
        let (mut tx, head) = snapshot(client, log_id)?;
        let id: &[u8] = log_id.as_bytes();
        let mut arena = Vec::new();
        let mut records = Vec::new();
        let mut bad_record = None;
        let rows = tx.query(RECORDS_SQL, &[&id])?;
        for (position, row) in (0u64..).zip(&rows) {
            let record: &[u8] = row.try_get(0)?;
            let chain: &[u8] = row.try_get(1)?;
            let Ok(chain) = <[u8; 32]>::try_from(chain) else {
                bad_record = Some(position);
                break;
            };
            let start = arena.len();
            arena.extend_from_slice(record);
            records.push((start, arena.len(), ChainValue::from_bytes(chain)));
        }
        drop(rows);
        let mut checkpoints = Vec::new();
        let mut bad_checkpoint = None;
        for row in tx.query(CHECKPOINTS_SQL, &[&id])? {
            match read_checkpoint(&row)? {
                Ok((seq, cp)) => checkpoints.push((seq, cp)),
                Err(bad) => {
                    bad_checkpoint = Some(bad);
                    break;
                }
            }
        }
        tx.commit()?;
        Ok(Self {
            header: head.header,
            head: head.head,
            unreadable: Unreadable::charge(bad_record, records.len() as u64, bad_checkpoint),
            arena,
            records,
            checkpoints,
        })
    }

    /// The log's id, mode, key check, recorded public key and checkpoint interval, as its
    /// head row says.
    #[must_use]
    pub const fn header(&self) -> &StoredHeader {
        &self.header
    }

    /// The head as the head row says (the number of committed records and the last chain
    /// values).
    #[must_use]
    pub const fn head(&self) -> ChainHead {
        self.head
    }

    /// Number of record rows read (up to the first unreadable one).
    #[must_use]
    pub const fn records(&self) -> usize {
        self.records.len()
    }

    fn record_bytes(&self) -> Result<Vec<(&[u8], &ChainValue)>> {
        self.records
            .iter()
            .map(|(start, end, chain)| {
                self.arena
                    .get(*start..*end)
                    .map(|enc| (enc, chain))
                    .ok_or(Error::Audit(hexvault_audit::Error::Internal(
                        "stored log index outside its arena",
                    )))
            })
            .collect()
    }

    /// Records in order, each followed by the checkpoints that name it; checkpoints past
    /// the last record at the end (the verifier rejects them). With an unreadable row,
    /// only the entries before it: records before an unreadable record, records up to the
    /// one an unreadable checkpoint follows, and checkpoints before either.
    fn entries(&self) -> Result<Vec<EntryRef<'_>>> {
        let (record_limit, checkpoint_limit) = Unreadable::limits(self.unreadable);
        let mut cps = self
            .checkpoints
            .iter()
            .map(|(_, cp)| cp)
            .filter(|cp| cp.sequence.get() < checkpoint_limit)
            .peekable();
        let mut entries = Vec::with_capacity(self.records.len() + self.checkpoints.len());
        for (seq, (encoded, chain)) in (0u64..).zip(self.record_bytes()?) {
            if seq >= record_limit {
                break;
            }
            entries.push(EntryRef::Record { encoded, chain });
            while let Some(cp) = cps.next_if(|c| c.sequence.get() <= seq) {
                entries.push(EntryRef::Checkpoint(cp));
            }
        }
        if self.unreadable.is_none() {
            entries.extend(cps.map(EntryRef::Checkpoint));
        }
        Ok(entries)
    }

    /// Verifies the log with `verifier` (the same verifier and rules as for a file), and
    /// the head row against the records: a head row that counts more records than the
    /// table holds means records were cut off the end ([`Damage::Truncated`]).
    ///
    /// # Errors
    /// The verifier's key errors ([`hexvault_audit::Error::WrongKey`], ...) as
    /// [`Error::Audit`]; [`Error::InconsistentHead`] if the records verify but the head
    /// row names fewer records or another chain value than they end with.
    pub fn verify(&self, verifier: &Verifier) -> Result<Report> {
        let report = verifier.verify_entries(&self.header, self.entries()?)?;
        judge(report, self.unreadable, &self.header, self.head)
    }

    /// Every readable entry decoded, UNVERIFIED, in order (for display), and the sequence
    /// of the first row that cannot be decoded, if any.
    ///
    /// # Errors
    /// [`Error::Audit`] with an internal error only (a bug).
    pub fn decoded(&self) -> Result<(Vec<LogEntry>, Option<Sequence>)> {
        let mut out = Vec::with_capacity(self.records.len() + self.checkpoints.len());
        for entry in self.entries()? {
            match entry {
                EntryRef::Record { encoded, chain } => match AuditRecord::decode(encoded) {
                    Ok(record) => out.push(LogEntry::Record {
                        record,
                        chain: *chain,
                    }),
                    Err(_) => {
                        let records = out
                            .iter()
                            .filter(|e| matches!(e, LogEntry::Record { .. }))
                            .count() as u64;
                        return Ok((out, Some(Sequence::new(records))));
                    }
                },
                EntryRef::Checkpoint(cp) => out.push(LogEntry::Checkpoint(cp.clone())),
            }
        }
        Ok((out, self.unreadable.map(Unreadable::sequence)))
    }

    /// The latest checkpoint of this read as an anchor to keep outside the database
    /// (UNVERIFIED here: a verifier checks its signature against the trusted key), handed out
    /// only once the server's WAL is flushed past it: `client` (a connection to the server
    /// this was read from) commits the flush barrier of [`crate::verify_and_anchor`] first
    /// (review round 49: a checkpoint a pipelined handle committed could be handed out before
    /// it was durable). `None` if the log has no checkpoint.
    ///
    /// # Errors
    /// [`Error::Audit`] ([`hexvault_audit::Error::BadAnchor`]) for a format-1 checkpoint;
    /// [`Error::Database`] if the barrier fails (as for `verify_and_anchor`: it needs the
    /// `TEMPORARY` privilege).
    pub fn latest_anchor(&self, client: &mut impl GenericClient) -> Result<Option<Anchor>> {
        let Some(anchor) = self
            .checkpoints
            .iter()
            .map(|(_, cp)| cp)
            .max_by_key(|cp| cp.sequence)
            .map(|cp| Anchor::new(cp.clone()).map_err(Error::from))
            .transpose()?
        else {
            return Ok(None);
        };
        wait_for_wal_flush(client, &Barrier::TemporaryTable)?;
        Ok(Some(anchor))
    }
}

/// Rows fetched per round trip by [`crate::PgLog::verify_with`], `PgLog::verify`,
/// `hexvault audit verify` and `hexvault audit export-anchor` on a PostgreSQL log (1,024).
pub const DEFAULT_PAGE_ROWS: NonZeroU16 = NonZeroU16::MIN.saturating_add(1023);

/// A table holds fewer rows than counted in the same snapshot.
const FEWER_ROWS: &str = "a table read in one snapshot held fewer rows than counted in it";

fn vanished(what: &'static str) -> Error {
    Error::Audit(hexvault_audit::Error::Internal(what))
}

/// The rows of one query, fetched a page at a time through a portal of the reading
/// transaction (the query runs once, in the transaction's snapshot).
struct Pages {
    portal: postgres::Portal,
    page: NonZeroU16,
    rows: std::vec::IntoIter<postgres::Row>,
    exhausted: bool,
}

impl Pages {
    fn bind(tx: &mut Transaction<'_>, query: &str, id: &[u8], page: NonZeroU16) -> Result<Self> {
        Ok(Self {
            portal: tx.bind(query, &[&id])?,
            page,
            rows: Vec::new().into_iter(),
            exhausted: false,
        })
    }

    fn next(&mut self, tx: &mut Transaction<'_>) -> Result<Option<postgres::Row>> {
        if let Some(row) = self.rows.next() {
            return Ok(Some(row));
        }
        if self.exhausted {
            return Ok(None);
        }
        let rows = tx.query_portal(&self.portal, i32::from(self.page.get()))?;
        // A short page is the last one.
        self.exhausted = rows.len() < usize::from(self.page.get());
        self.rows = rows.into_iter();
        Ok(self.rows.next())
    }
}

/// The record rows: `(position of the first one that cannot be read, number of rows
/// before it, or of all rows if none)`, counted by the server in the snapshot. A NULL
/// column in the first row that is not a record fails as it fails every reader.
fn record_rows(tx: &mut Transaction<'_>, id: &[u8]) -> Result<(Option<u64>, u64)> {
    let summary = tx.query_one(
        "SELECT count(*), min(seq) FILTER (WHERE record IS NULL OR chain IS NULL \
         OR octet_length(chain) <> 32) FROM hexvault_audit_records WHERE log_id = $1",
        &[&id],
    )?;
    let total = u64::try_from(summary.try_get::<_, i64>(0)?)
        .map_err(|_| vanished("a negative row count"))?;
    let Some(first_bad) = summary.try_get::<_, Option<i64>>(1)? else {
        return Ok((None, total));
    };
    let row = tx.query_one(
        "SELECT record, chain, (SELECT count(*) FROM hexvault_audit_records \
         WHERE log_id = $1 AND seq < $2) FROM hexvault_audit_records \
         WHERE log_id = $1 AND seq = $2",
        &[&id, &first_bad],
    )?;
    row.try_get::<_, &[u8]>(0)?;
    row.try_get::<_, &[u8]>(1)?;
    let position =
        u64::try_from(row.try_get::<_, i64>(2)?).map_err(|_| vanished("a negative row count"))?;
    Ok((Some(position), position))
}

/// The checkpoint rows read before the first one that cannot be read, and that one.
fn checkpoint_rows(
    tx: &mut Transaction<'_>,
    id: &[u8],
    page: NonZeroU16,
) -> Result<(u64, Option<BadCheckpoint>)> {
    let mut pages = Pages::bind(tx, CHECKPOINTS_SQL, id, page)?;
    let mut good = 0u64;
    while let Some(row) = pages.next(tx)? {
        if let Err(bad) = read_checkpoint(&row)? {
            return Ok((good, Some(bad)));
        }
        good = good.saturating_add(1);
    }
    Ok((good, None))
}

/// The checkpoints given to the verifier, read a page at a time: the readable rows in
/// `seq` order, without those naming a record at or past `limit`.
struct CheckpointFeed {
    pages: Pages,
    /// Readable rows not read yet.
    left: u64,
    limit: u64,
    peeked: Option<Checkpoint>,
    /// A row that read in the first pass and not in this one (see [`CheckpointFeed::next_if`]).
    bad: Option<BadCheckpoint>,
}

impl CheckpointFeed {
    /// The next checkpoint if `take` accepts it (else it stays next).
    fn next_if(
        &mut self,
        tx: &mut Transaction<'_>,
        take: impl FnOnce(&Checkpoint) -> bool,
    ) -> Result<Option<Checkpoint>> {
        while self.peeked.is_none() && self.left > 0 {
            let row = self.pages.next(tx)?.ok_or_else(|| vanished(FEWER_ROWS))?;
            self.left = self.left.saturating_sub(1);
            let cp = match read_checkpoint(&row)? {
                Ok((_, cp)) => cp,
                // Read in the first pass: only rows sharing a `seq` (the primary key
                // dropped) can come in another order now. This one is the first that
                // cannot be read.
                Err(bad) => {
                    self.bad = Some(bad);
                    self.left = 0;
                    break;
                }
            };
            if cp.sequence.get() < self.limit {
                self.peeked = Some(cp);
            }
        }
        Ok(self.peeked.take_if(|cp| take(cp)))
    }
}

/// Verifies the log `log_id` page by page: memory bounded by `page_rows` rows (records
/// and checkpoints), not by the log's length. Same snapshot, entries, rules and outcome as
/// [`StoredLog::read`] followed by [`StoredLog::verify`]: the head row, the records and
/// the checkpoints are read in one repeatable-read, read-only transaction; each record is
/// followed by the checkpoints that name it, checkpoints past the last record come at the
/// end (the verifier rejects them), and a row that cannot be read is damage at its
/// sequence. The server counts the record rows and finds the first one that cannot be read
/// first (one scan of the log's rows), and the checkpoint rows are read twice (to find the
/// first one that cannot be read, then for the verifier), all in the same snapshot.
///
/// # Errors
/// As [`StoredLog::read`] and [`StoredLog::verify`].
pub fn verify_paged(
    client: &mut impl GenericClient,
    log_id: LogId,
    verifier: &Verifier,
    page_rows: NonZeroU16,
) -> Result<Report> {
    verify_in_snapshot(client, log_id, verifier, page_rows).map(|(report, _)| report)
}

/// [`verify_paged`], and the last checkpoint the verifier accepted (its signature checked
/// under the verifier's trusted key, its chain values against the records before it) as an
/// anchor to keep outside the database. When the report has no failure it is the log's
/// latest checkpoint in the snapshot verified; with a failure, do not keep it. `None` if no
/// checkpoint was accepted. An anchor is returned only once the server's WAL is flushed past
/// everything the snapshot saw, so the checkpoint it names survives a server crash.
///
/// # Errors
/// As [`verify_paged`].
pub fn verify_and_anchor(
    client: &mut impl GenericClient,
    log_id: LogId,
    verifier: &Verifier,
    page_rows: NonZeroU16,
) -> Result<(Report, Option<Anchor>)> {
    let (report, accepted) = verify_in_snapshot(client, log_id, verifier, page_rows)?;
    if accepted.is_some() {
        wait_for_wal_flush(client, &Barrier::TemporaryTable)?;
    }
    Ok((report, accepted.map(Anchor::new).transpose()?))
}

/// How [`wait_for_wal_flush`] makes its transaction write WAL.
pub(crate) enum Barrier {
    /// Lock the record row at this sequence number of this log `FOR KEY SHARE` (a writer's
    /// connection: it holds `UPDATE` on the records, the flush wait of ADR 0068 does the same).
    RecordRow(LogId, u64),
    /// Create a temporary table the commit drops (a reader's connection: needs only the
    /// `TEMPORARY` privilege, which every role has unless it was revoked).
    TemporaryTable,
}

/// Returns once the server's WAL is flushed past everything this connection has seen
/// committed. A `PgLog` with a flush connection commits without waiting for the flush and
/// acknowledges only after it, but its commits are visible before: an anchor taken from a
/// checkpoint seen in that window could name a checkpoint a server crash then loses (a
/// carried LOW of review round 30). A transaction that writes WAL ([`Barrier`]) and commits
/// with `synchronous_commit = on` returns once the WAL is flushed past its commit record,
/// which lies past the commit of everything seen before it. It is opened `READ WRITE`, so a
/// session read-only by default can run it, and rolled back on any error, so the connection
/// stays usable (review round 48). (Review round 47: polling for the flush position to
/// reach the insert position waited forever while another session held a transaction open;
/// a transaction that writes no WAL before its commit is not made to wait for the flush.) On
/// a standby nothing is visible that the primary has not flushed: nothing to wait for.
///
/// # Errors
/// [`Error::Database`], also for a role refused the barrier's privilege.
pub(crate) fn wait_for_wal_flush(client: &mut impl GenericClient, barrier: &Barrier) -> Result<()> {
    let recovering: bool = client
        .query_one("SELECT pg_is_in_recovery()", &[])?
        .try_get(0)?;
    if recovering {
        return Ok(());
    }
    // Dropped without `commit` on any error: rolled back, the connection usable.
    let mut tx = client.transaction()?;
    tx.batch_execute("SET TRANSACTION READ WRITE; SET LOCAL synchronous_commit = on")?;
    match barrier {
        Barrier::RecordRow(log_id, sequence) => {
            let id: &[u8] = log_id.as_bytes();
            let seq = i64::try_from(*sequence).map_err(|_| Error::InconsistentHead {
                log_id: *log_id,
                what: "a sequence number beyond the database's bigint".to_owned(),
            })?;
            let locked = tx.execute(
                "SELECT 1 FROM hexvault_audit_records WHERE log_id = $1 AND seq = $2 \
                 FOR KEY SHARE",
                &[&id, &seq],
            )?;
            // No row locked, no WAL written, no wait: never hand the anchor out then.
            if locked != 1 {
                return Err(Error::InconsistentHead {
                    log_id: *log_id,
                    what: format!("no record row under the checkpoint at sequence {sequence}"),
                });
            }
        }
        Barrier::TemporaryTable => {
            tx.batch_execute("CREATE TEMPORARY TABLE hexvault_flush_barrier () ON COMMIT DROP")?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// [`verify_paged`] and the last checkpoint the verifier accepted.
fn verify_in_snapshot(
    client: &mut impl GenericClient,
    log_id: LogId,
    verifier: &Verifier,
    page_rows: NonZeroU16,
) -> Result<(Report, Option<Checkpoint>)> {
    let (mut tx, head) = snapshot(client, log_id)?;
    let id: &[u8] = log_id.as_bytes();
    let (bad_record, readable) = record_rows(&mut tx, id)?;
    let (good_checkpoints, bad_checkpoint) = checkpoint_rows(&mut tx, id, page_rows)?;
    let mut unreadable = Unreadable::charge(bad_record, readable, bad_checkpoint);
    let (record_limit, checkpoint_limit) = Unreadable::limits(unreadable);
    let mut checker = verifier.start(&head.header)?;
    let mut records = Pages::bind(&mut tx, RECORDS_SQL, id, page_rows)?;
    let mut checkpoints = CheckpointFeed {
        pages: Pages::bind(&mut tx, CHECKPOINTS_SQL, id, page_rows)?,
        left: good_checkpoints,
        limit: checkpoint_limit,
        peeked: None,
        bad: None,
    };
    let end = record_limit.min(readable);
    let mut position = 0u64;
    let mut accepted = None;
    'records: while position < end {
        let row = records.next(&mut tx)?.ok_or_else(|| vanished(FEWER_ROWS))?;
        let encoded: &[u8] = row.try_get(0)?;
        let Ok(chain) = <[u8; 32]>::try_from(row.try_get::<_, &[u8]>(1)?) else {
            // Only rows sharing a `seq` (the primary key dropped) can come in another order
            // than the count saw: this row is the first that cannot be read.
            unreadable = Some(Unreadable::Record(Sequence::new(position)));
            break;
        };
        let chain = ChainValue::from_bytes(chain);
        if !checker.push(EntryRef::Record {
            encoded,
            chain: &chain,
        }) {
            break;
        }
        while let Some(cp) = checkpoints.next_if(&mut tx, |c| c.sequence.get() <= position)? {
            if !checker.push(EntryRef::Checkpoint(&cp)) {
                break 'records;
            }
            accepted = Some(cp);
        }
        position = position.saturating_add(1);
    }
    if unreadable.is_none() {
        while !checker.failed()
            && let Some(cp) = checkpoints.next_if(&mut tx, |_| true)?
        {
            if checker.push(EntryRef::Checkpoint(&cp)) {
                accepted = Some(cp);
            }
        }
    }
    if let Some(bad) = checkpoints.bad {
        // The earlier of the two unreadable rows.
        let late = Unreadable::charge(bad_record, readable, Some(bad));
        unreadable = match (unreadable, late) {
            (Some(found), Some(other)) if found.sequence() <= other.sequence() => Some(found),
            (found, other) => other.or(found),
        };
    }
    let report = checker.finish();
    drop((records, checkpoints));
    tx.commit()?;
    Ok((
        judge(report, unreadable, &head.header, head.head)?,
        accepted,
    ))
}

/// The checkpoint row with the greatest `seq` of `log_id` as an anchor (UNVERIFIED), or
/// `None` if the log has no checkpoint row; reads that one row.
pub(crate) fn latest_anchor(
    client: &mut impl GenericClient,
    log_id: LogId,
) -> Result<Option<Anchor>> {
    let id: &[u8] = log_id.as_bytes();
    let Some(row) = client.query_opt(
        "SELECT seq, checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 \
         ORDER BY seq DESC LIMIT 1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let seq: i64 = row.try_get(0)?;
    let cp = Checkpoint::decode(row.try_get(1)?)?;
    // The row must be the checkpoint it holds: a genuine old checkpoint copied into a
    // higher row would otherwise be handed out as the latest (review round 61).
    if u64::try_from(seq).ok() != Some(cp.sequence.get()) || cp.log_id != log_id {
        return Err(Error::InconsistentHead {
            log_id,
            what: format!(
                "the checkpoint row at sequence {seq} holds the checkpoint of sequence {} \
                 of log {}: a row was copied or edited; verify the log",
                cp.sequence, cp.log_id
            ),
        });
    }
    wait_for_wal_flush(client, &Barrier::RecordRow(log_id, cp.sequence.get()))?;
    Ok(Some(Anchor::new(cp)?))
}
