//! Reading a log file's contents without verifying them (for `hexvault audit show` and tools).

use ed25519_dalek::VerifyingKey;

use crate::format::{self, FileHeader, FrameRead};
use crate::verify::split_record_payload;
use crate::{AuditRecord, ChainMode, ChainValue, Checkpoint, Damage, LogId, Result, TornTail};

/// One entry of a log file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[expect(
    clippy::large_enum_variant,
    reason = "records are nearly every entry: boxing each would cost an allocation per record"
)]
pub enum LogEntry {
    /// A record and the chain value stored beside it.
    Record {
        /// The decoded record.
        record: AuditRecord,
        /// `chain[record.sequence]` as stored (unverified).
        chain: ChainValue,
    },
    /// A checkpoint (signature unverified).
    Checkpoint(Checkpoint),
}

/// The parsed, UNVERIFIED contents of a log file. Verify with [`crate::Verifier`] before
/// trusting anything here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogContents {
    /// The log's id.
    pub log_id: LogId,
    /// The log's chain mode.
    pub mode: ChainMode,
    /// The log file's format version (1, 2 or 3).
    pub format_version: u16,
    /// The checkpoint public key recorded in the header (information only, not a trust
    /// anchor: verifiers take the trusted key from the caller).
    pub public_key: Option<VerifyingKey>,
    /// The automatic checkpoint interval recorded in the header (0: on demand only).
    pub checkpoint_every: u32,
    /// Every readable entry, in file order, up to the first unreadable frame.
    pub entries: Vec<LogEntry>,
    /// A torn final frame, if any.
    pub torn_tail: Option<TornTail>,
    /// File offset and kind of the first unreadable frame, if any.
    pub unreadable: Option<(u64, Damage)>,
}

impl LogContents {
    /// Parses a log file image. Never panics on any input.
    ///
    /// # Errors
    /// [`crate::Error::NotAuditLog`], [`crate::Error::UnsupportedVersion`] or
    /// [`crate::Error::Malformed`] for a bad header.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let header = FileHeader::decode(bytes)?;
        let mut entries = Vec::new();
        let mut torn_tail = None;
        let mut unreadable = None;
        let mut pos = format::HEADER_LEN;
        while let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) {
            match format::read_frame(rest, pos as u64) {
                FrameRead::Torn
                    if format::torn_is_damage(rest, |kind, payload| {
                        let next = entries
                            .iter()
                            .filter(|e| matches!(e, LogEntry::Record { .. }))
                            .count() as u64;
                        crate::verify::continues_log(kind, payload, next, header.log_id)
                    }) =>
                {
                    unreadable = Some((pos as u64, Damage::ForgedTornTail));
                    break;
                }
                FrameRead::Torn => {
                    torn_tail = Some(TornTail {
                        offset: pos as u64,
                        len: rest.len() as u64,
                    });
                    break;
                }
                FrameRead::Corrupt(d, _) => {
                    unreadable = Some((pos as u64, d));
                    break;
                }
                FrameRead::Frame { kind, payload, len } => {
                    let entry = if kind == format::FRAME_RECORD {
                        split_record_payload(payload).and_then(|(enc, chain)| {
                            AuditRecord::decode(enc)
                                .ok()
                                .map(|record| LogEntry::Record { record, chain })
                        })
                    } else {
                        Checkpoint::decode(payload).ok().map(LogEntry::Checkpoint)
                    };
                    let Some(entry) = entry else {
                        unreadable = Some((pos as u64, Damage::Encoding));
                        break;
                    };
                    entries.push(entry);
                    pos = pos.saturating_add(len);
                }
            }
        }
        Ok(Self {
            log_id: header.log_id,
            mode: header.mode,
            format_version: header.version,
            public_key: header.public_key,
            checkpoint_every: header.checkpoint_every,
            entries,
            torn_tail,
            unreadable,
        })
    }

    /// The records among the entries, in file order (checkpoints left out). As unverified
    /// as the contents they come from.
    #[must_use]
    pub fn into_records(self) -> Vec<AuditRecord> {
        self.entries
            .into_iter()
            .filter_map(|entry| match entry {
                LogEntry::Record { record, .. } => Some(record),
                // Checkpoints (and any later kind of entry) are not records.
                LogEntry::Checkpoint(_) => None,
            })
            .collect()
    }

    /// Reads and parses a log file (without locking it).
    ///
    /// # Errors
    /// [`crate::Error::Io`] and the errors of [`LogContents::parse`].
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Self::parse(&std::fs::read(path)?)
    }
}
