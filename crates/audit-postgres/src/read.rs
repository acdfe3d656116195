//! Reading a log back from the database (head row, records, checkpoints) for verification,
//! `hexvault audit show` and the anchor export. The database is not trusted: every row is
//! checked by the verifier, and a row that cannot even be read is damage at its sequence.

use hexvault_audit::{
    Anchor, AuditRecord, ChainHead, ChainMode, ChainValue, Checkpoint, Damage, EntryRef, Failure,
    LogEntry, LogId, Report, Sequence, StoredHeader, Verifier, VerifyingKey,
};
use postgres::GenericClient;

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
    /// repeatable-read, read-only transaction (a consistent snapshot while writers append).
    ///
    /// # Errors
    /// [`Error::NoSchema`] / [`Error::SchemaTooNew`], [`Error::UnknownLog`],
    /// [`Error::InconsistentHead`] for a head row that cannot be parsed, [`Error::Database`].
    pub fn read(client: &mut impl GenericClient, log_id: LogId) -> Result<Self> {
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
        let mut arena = Vec::new();
        let mut records = Vec::new();
        let mut unreadable = None;
        let rows = tx.query(
            "SELECT record, chain FROM hexvault_audit_records WHERE log_id = $1 ORDER BY seq",
            &[&id],
        )?;
        for (position, row) in (0u64..).zip(&rows) {
            let record: &[u8] = row.try_get(0)?;
            let chain: &[u8] = row.try_get(1)?;
            let Ok(chain) = <[u8; 32]>::try_from(chain) else {
                unreadable = Some(Unreadable::Record(Sequence::new(position)));
                break;
            };
            let start = arena.len();
            arena.extend_from_slice(record);
            records.push((start, arena.len(), ChainValue::from_bytes(chain)));
        }
        drop(rows);
        let mut checkpoints = Vec::new();
        for row in tx.query(
            "SELECT seq, checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 ORDER BY seq",
            &[&id],
        )? {
            let seq = u64::try_from(row.try_get::<_, i64>(0)?);
            match (seq, Checkpoint::decode(row.try_get(1)?)) {
                (Ok(seq), Ok(cp)) => checkpoints.push((seq, cp)),
                // A negative seq column (the table's CHECK dropped) is charged to the start.
                (Err(_), _) => {
                    unreadable = Some(Unreadable::Checkpoint(Sequence::new(0)));
                    break;
                }
                (Ok(seq), Err(_)) => {
                    // Charged to the record it claims to follow (as a file's bad frame).
                    let at = Sequence::new(seq.min(records.len() as u64));
                    let earlier = unreadable.is_some_and(|u: Unreadable| u.sequence() <= at);
                    if !earlier {
                        unreadable = Some(Unreadable::Checkpoint(at));
                    }
                    break;
                }
            }
        }
        tx.commit()?;
        Ok(Self {
            header: head.header,
            head: head.head,
            arena,
            records,
            checkpoints,
            unreadable,
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
        let (record_limit, checkpoint_limit) = match self.unreadable {
            None => (u64::MAX, u64::MAX),
            Some(Unreadable::Record(at)) => (at.get(), at.get()),
            Some(Unreadable::Checkpoint(at)) => (at.get().saturating_add(1), at.get()),
        };
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
        let mut report = verifier.verify_entries(&self.header, self.entries()?)?;
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
        if let Some(at) = self.unreadable {
            report.failure = Some(Failure {
                sequence: at.sequence(),
                reason: Damage::Encoding,
            });
        } else if report.records < self.head.next {
            report.failure = Some(Failure {
                sequence: Sequence::new(report.records),
                reason: Damage::Truncated {
                    missing: self.head.next.saturating_sub(report.records),
                },
            });
        } else if report.records > self.head.next
            || report.head.is_some_and(|h| h != self.head.chain)
        {
            return Err(Error::InconsistentHead {
                log_id: self.header.log_id,
                what: format!(
                    "it names {} records, the verified records are {}, or its chain value differs",
                    self.head.next, report.records
                ),
            });
        }
        Ok(report)
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

    /// The latest checkpoint in the database as an anchor to keep outside it
    /// (UNVERIFIED here: a verifier checks its signature against the trusted key).
    /// `None` if the log has no checkpoint.
    ///
    /// # Errors
    /// [`Error::Audit`] ([`hexvault_audit::Error::BadAnchor`]) for a format-1 checkpoint.
    pub fn latest_anchor(&self) -> Result<Option<Anchor>> {
        self.checkpoints
            .iter()
            .map(|(_, cp)| cp)
            .max_by_key(|cp| cp.sequence)
            .map(|cp| Anchor::new(cp.clone()).map_err(Error::from))
            .transpose()
    }
}
