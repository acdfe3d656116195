//! `MemoryLog`: the in-memory audit log (tests, embedding, short-lived processes).

use std::sync::Mutex;

use crate::log::{ChainState, EntryRef};
use crate::{
    Appended, AuditLog, AuditRecord, ChainValue, Checkpoint, Event, LogId, LogOptions, Report,
    Result, Verifier,
};

enum Entry {
    Record { encoded: Vec<u8>, chain: ChainValue },
    Checkpoint(Checkpoint),
}

struct Inner {
    state: ChainState,
    entries: Vec<Entry>,
}

/// An audit log held in memory. Same chain, records and checkpoints as a file log; lost
/// when dropped.
pub struct MemoryLog {
    inner: Mutex<Inner>,
}

impl core::fmt::Debug for MemoryLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryLog")
            .field("log_id", &self.log_id())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryLog {
    /// A new empty log with a random log id.
    ///
    /// # Errors
    /// [`crate::Error::Random`] if the OS random generator fails.
    pub fn new(options: LogOptions) -> Result<Self> {
        Ok(Self::with_log_id(LogId::random()?, options))
    }

    /// A new empty log with a given log id.
    #[must_use]
    pub fn with_log_id(log_id: LogId, options: LogOptions) -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: ChainState::new(log_id, options),
                entries: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every record, decoded, in sequence order.
    #[must_use]
    pub fn records(&self) -> Vec<AuditRecord> {
        self.lock()
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Record { encoded, .. } => AuditRecord::decode(encoded).ok(),
                Entry::Checkpoint(_) => None,
            })
            .collect()
    }

    /// Every checkpoint, in order.
    #[must_use]
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.lock()
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Checkpoint(c) => Some(c.clone()),
                Entry::Record { .. } => None,
            })
            .collect()
    }

    /// Verifies the log with an explicit verifier (for example public-key-only).
    ///
    /// # Errors
    /// [`crate::Error::ModeMismatch`] or [`crate::Error::WrongKey`]; damage is in the report.
    pub fn verify_with(&self, verifier: &Verifier) -> Result<Report> {
        let inner = self.lock();
        let entries = inner.entries.iter().map(|e| match e {
            Entry::Record { encoded, chain } => EntryRef::Record { encoded, chain },
            Entry::Checkpoint(c) => EntryRef::Checkpoint(c),
        });
        verifier.verify_entries(
            inner.state.log_id,
            inner.state.mode(),
            inner.state.key_check(),
            inner.state.verifying_key(),
            entries,
        )
    }
}

impl AuditLog for MemoryLog {
    fn append(&self, event: Event) -> Result<Appended> {
        let mut inner = self.lock();
        let p = inner.state.prepare(event)?;
        inner.state.commit(&p);
        let checkpoint = p.checkpoint.clone();
        inner.entries.push(Entry::Record {
            encoded: p.encoded,
            chain: p.chain,
        });
        if let Some(cp) = &checkpoint {
            inner.entries.push(Entry::Checkpoint(cp.clone()));
        }
        Ok(Appended {
            sequence: p.sequence,
            chain: p.chain,
            checkpoint,
        })
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let mut inner = self.lock();
        match inner.state.new_checkpoint()? {
            Some(cp) => {
                inner.state.last_checkpoint = Some(cp.clone());
                inner.entries.push(Entry::Checkpoint(cp.clone()));
                Ok(Some(cp))
            }
            None => Ok(inner
                .state
                .last_checkpoint
                .clone()
                .filter(|c| c.sequence.get().saturating_add(1) == inner.state.next)),
        }
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn verify(&self) -> Result<Report> {
        let verifier = self.lock().state.own_verifier();
        self.verify_with(&verifier)
    }

    fn log_id(&self) -> LogId {
        self.lock().state.log_id
    }

    fn len(&self) -> u64 {
        self.lock().state.next
    }

    fn head(&self) -> ChainValue {
        self.lock().state.head
    }
}
