//! `MemoryLog`: the in-memory audit log (tests, embedding, short-lived processes).

use std::sync::Mutex;

use crate::log::{ChainState, EntryRef};
use crate::{
    Appended, AuditLog, AuditRecord, ChainValue, Checkpoint, Error, Event, LogId, LogOptions,
    Report, Result, Verifier,
};

struct Inner {
    state: ChainState,
    /// Every record's canonical encoding, back to back (one allocation, no per-record copy).
    arena: Vec<u8>,
    /// `(end offset in arena, chain value)` per record, in sequence order.
    index: Vec<(usize, ChainValue)>,
    /// Checkpoints in order; each follows the record it names.
    checkpoints: Vec<Checkpoint>,
}

impl Inner {
    /// `(encoding, chain value)` of every record, in order.
    ///
    /// # Errors
    /// [`Error::Internal`] if the index does not fit the arena (a bug).
    fn records(&self) -> Result<Vec<(&[u8], &ChainValue)>> {
        let starts = core::iter::once(0).chain(self.index.iter().map(|(end, _)| *end));
        starts
            .zip(&self.index)
            .map(|(start, (end, chain))| {
                self.arena
                    .get(start..*end)
                    .map(|enc| (enc, chain))
                    .ok_or(Error::Internal("memory log index outside its arena"))
            })
            .collect()
    }
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
        let log_id = match options.fixed_log_id {
            Some(id) => id,
            None => LogId::random()?,
        };
        Ok(Self::with_log_id(log_id, options))
    }

    /// A new empty log with a given log id.
    #[must_use]
    pub fn with_log_id(log_id: LogId, options: LogOptions) -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: ChainState::new(log_id, options),
                arena: Vec::new(),
                index: Vec::new(),
                checkpoints: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every record, in sequence order.
    ///
    /// # Errors
    /// [`Error::Internal`] if a stored record does not decode (a bug: the log encoded it).
    pub fn records(&self) -> Result<Vec<AuditRecord>> {
        self.lock()
            .records()?
            .into_iter()
            .map(|(enc, _)| {
                AuditRecord::decode(enc)
                    .map_err(|_| Error::Internal("memory log holds an undecodable record"))
            })
            .collect()
    }

    /// Every checkpoint, in order.
    #[must_use]
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.lock().checkpoints.clone()
    }

    /// Verifies the log with an explicit verifier (for example public-key-only).
    ///
    /// # Errors
    /// [`crate::Error::ModeMismatch`] or [`crate::Error::WrongKey`]; damage is in the report.
    pub fn verify_with(&self, verifier: &Verifier) -> Result<Report> {
        let inner = self.lock();
        // Records in order, each followed by the checkpoints that name it.
        let mut cps = inner.checkpoints.iter().peekable();
        let mut entries = Vec::new();
        for (seq, (encoded, chain)) in inner.records()?.into_iter().enumerate() {
            entries.push(EntryRef::Record { encoded, chain });
            while let Some(cp) = cps.next_if(|c| c.sequence.get() <= seq as u64) {
                entries.push(EntryRef::Checkpoint(cp));
            }
        }
        entries.extend(cps.map(EntryRef::Checkpoint));
        let header = crate::StoredHeader {
            format_version: inner.state.format,
            log_id: inner.state.log_id,
            mode: inner.state.mode(),
            key_check: inner.state.key_check(),
            public_key: inner.state.verifying_key(),
            // A memory log's checkpoints are not checked against its interval.
            checkpoint_every: 0,
        };
        verifier.verify_entries(&header, entries)
    }
}

impl AuditLog for MemoryLog {
    fn append(&self, event: Event) -> Result<Appended> {
        let mut inner = self.lock();
        let Inner { state, arena, .. } = &mut *inner;
        let p = state.prepare(&event, arena)?;
        state.commit(&p);
        let sequence = p.sequence;
        let end = inner.arena.len();
        let checkpoint = p.checkpoint.clone();
        inner.index.push((end, p.chain));
        if let Some(cp) = &checkpoint {
            inner.checkpoints.push(cp.clone());
        }
        Ok(Appended {
            sequence,
            chain: p.chain,
            checkpoint,
        })
    }

    fn append_batch(&self, events: Vec<Event>) -> Result<Vec<Appended>> {
        let mut inner = self.lock();
        let saved = inner.state.position();
        let (arena_len, index_len, checkpoints_len) = (
            inner.arena.len(),
            inner.index.len(),
            inner.checkpoints.len(),
        );
        let mut appended = Vec::with_capacity(events.len());
        for event in &events {
            let Inner { state, arena, .. } = &mut *inner;
            let p = match state.prepare(event, arena) {
                Ok(p) => p,
                Err(e) => {
                    // All or nothing: back to the position before the batch.
                    inner.state.restore(saved);
                    inner.arena.truncate(arena_len);
                    inner.index.truncate(index_len);
                    inner.checkpoints.truncate(checkpoints_len);
                    return Err(e);
                }
            };
            state.commit(&p);
            let end = inner.arena.len();
            inner.index.push((end, p.chain));
            if let Some(cp) = &p.checkpoint {
                inner.checkpoints.push(cp.clone());
            }
            appended.push(Appended {
                sequence: p.sequence,
                chain: p.chain,
                checkpoint: p.checkpoint,
            });
        }
        Ok(appended)
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let mut inner = self.lock();
        match inner.state.new_checkpoint()? {
            Some(cp) => {
                inner.state.last_checkpoint = Some(cp.clone());
                inner.checkpoints.push(cp.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditKey, EventKind};

    #[test]
    fn poisoned_lock_is_recovered() {
        let log = std::sync::Arc::new(
            MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap(),
        );
        log.append(Event::new(EventKind::Seal)).unwrap();
        let l = std::sync::Arc::clone(&log);
        let r = std::thread::spawn(move || {
            let _guard = l.inner.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(r.is_err() && log.inner.is_poisoned());
        assert_eq!(
            log.append(Event::new(EventKind::Open))
                .unwrap()
                .sequence
                .get(),
            1
        );
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn options_debug_hides_keys() {
        let o = LogOptions::keyed(&AuditKey::from_bytes([0xAB; 32])).signing_seed([0xCD; 32]);
        let s = format!("{o:?}");
        // The secrets as Debug would print them (decimal arrays or hex runs); single numbers
        // are not checked: a random log id in the output may contain any digits.
        let leaks = |s: &str| {
            let s = s.to_lowercase();
            ["171, 171", "205, 205", "abababab", "cdcdcdcd"]
                .iter()
                .any(|pattern| s.contains(pattern))
        };
        assert!(s.contains("REDACTED") && !leaks(&s), "{s}");
        let log = MemoryLog::new(o).unwrap();
        let shown = format!("{log:?}");
        assert!(!leaks(&shown), "{shown}");
    }
}
