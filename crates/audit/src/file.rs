//! `FileLog`: the durable, append-only, locked audit log file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::anchor::sync_parent;
use crate::format::{self, FileHeader};
use crate::log::{ChainState, Prepared};
use crate::verify::walk;
use crate::{
    Anchor, Appended, AuditLog, AuditRecord, ChainValue, Checkpoint, Durability, Error, Event,
    LogContents, LogId, LogOptions, Report, Result,
};

/// A file log as [`FileLog::open_with_records`] opened it: the log, the report of the
/// verification it passed, and the records that verification covered, in sequence order.
#[derive(Debug)]
#[non_exhaustive]
pub struct OpenedFileLog {
    /// The opened, locked log.
    pub log: FileLog,
    /// The verification report (a torn final frame cut off and quarantined shows here).
    pub report: Report,
    /// Every record of the log, decoded from the bytes the verification covered.
    pub records: Vec<AuditRecord>,
}

/// The log's sync turn, held ([`FileLog::hold_syncs`]); released on drop. Test support
/// only (feature `test-support`, not for production use).
#[cfg(any(test, feature = "test-support"))]
pub struct SyncHold<'a> {
    _turn: Turn<'a>,
}

#[cfg(any(test, feature = "test-support"))]
impl core::fmt::Debug for SyncHold<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SyncHold").finish_non_exhaustive()
    }
}

/// The records of a log image that has just verified in full (no torn or unreadable frame
/// is left in it: a verified prefix ends at a frame boundary).
fn records_of(verified: &[u8]) -> Result<Vec<AuditRecord>> {
    let contents = LogContents::parse(verified)?;
    if contents.torn_tail.is_some() || contents.unreadable.is_some() {
        return Err(Error::Internal(
            "a verified log image did not parse to its end",
        ));
    }
    Ok(contents.into_records())
}

/// The group-commit side of a file log (ADR 0089): the write generations and the turn
/// every `fdatasync` of the log takes.
///
/// Every write of buffered bytes to the file happens under the state lock and gets the next
/// write generation (`written`). At most one sync runs at a time (`syncing`, a turn taken
/// under a small mutex that is not held during the sync): it notes the newest written
/// generation first, then `fdatasync`s, and on success marks the log synced up to that
/// generation (`synced`), so one sync covers every write that completed before it began,
/// including writes of other threads. Threads that need a sync while one runs wait on
/// `done` and are woken together when it ends; those it did not cover take the next turn.
/// A failed sync sets `failed` before its turn ends: no later sync can then report success
/// over pages the kernel may have dropped. Lock order: the state lock, then `syncing`;
/// never the other way round.
struct Syncer {
    /// A clone of the log's descriptor (`File::try_clone`), synced without the state lock.
    file: File,
    /// `true` while a sync runs (one turn at a time).
    syncing: Mutex<bool>,
    /// Signalled when a turn ends.
    done: Condvar,
    /// Generation of the newest completed write (stored under the state lock).
    written: AtomicU64,
    /// Every write up to this generation is durable (stored during a turn).
    synced: AtomicU64,
    /// The log is poisoned: a write or sync failed (or the anchor of a durable checkpoint
    /// could not be written by the locked flush).
    failed: AtomicBool,
    /// Test support: `fdatasync` calls made through this syncer that have returned.
    #[cfg(any(test, feature = "test-support"))]
    syncs: AtomicU64,
    /// Test support: the next sync fails with an injected error instead of calling
    /// `fdatasync`.
    #[cfg(any(test, feature = "test-support"))]
    fail_next_sync: AtomicBool,
}

/// The sync turn, held; ending it (on drop) wakes every waiter.
struct Turn<'a>(&'a Syncer);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.lock_syncing() = false;
        self.0.done.notify_all();
    }
}

impl Syncer {
    /// A syncer for `file`, all of whose bytes are durable: a log just created (its header
    /// synced) or just repaired (synced after the cut).
    fn new(file: &File) -> Result<Self> {
        Self::starting_at(file, 0)
    }

    /// A syncer for a log found on disk: its bytes count as one write (generation 1) that
    /// no sync of this process has covered. A writer killed between `write` and `fdatasync`
    /// leaves frames in the page cache only; the first flush, checkpoint or anchor of the
    /// next process must sync them before it reports them durable (review round 16).
    fn for_found_bytes(file: &File) -> Result<Self> {
        Self::starting_at(file, 1)
    }

    fn starting_at(file: &File, written: u64) -> Result<Self> {
        Ok(Self {
            file: file.try_clone()?,
            syncing: Mutex::new(false),
            done: Condvar::new(),
            written: AtomicU64::new(written),
            synced: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            #[cfg(any(test, feature = "test-support"))]
            syncs: AtomicU64::new(0),
            #[cfg(any(test, feature = "test-support"))]
            fail_next_sync: AtomicBool::new(false),
        })
    }

    fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    fn poison(&self) {
        self.failed.store(true, Ordering::Release);
    }

    fn lock_syncing(&self) -> MutexGuard<'_, bool> {
        self.syncing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_synced_through(&self, target: u64) -> bool {
        self.synced.load(Ordering::Acquire) >= target
    }

    /// Notes a completed write of buffered bytes: returns its generation. Called under the
    /// state lock only (the one writer of `written`).
    fn note_write(&self) -> Result<u64> {
        let generation = self
            .written
            .load(Ordering::Acquire)
            .checked_add(1)
            .ok_or(Error::Internal("write generation exhausted"))?;
        self.written.store(generation, Ordering::Release);
        Ok(generation)
    }

    /// Waits until no sync runs, then takes the turn. `Err` if the log is poisoned, `Ok(None)`
    /// if a sync covered generation `target` meanwhile (`0`: never).
    fn take_turn(&self, target: u64) -> Result<Option<Turn<'_>>> {
        let mut syncing = self.lock_syncing();
        loop {
            // A write that a completed sync covered is durable, whatever failed since.
            if target > 0 && self.is_synced_through(target) {
                return Ok(None);
            }
            if self.is_failed() {
                return Err(Error::Failed);
            }
            if !*syncing {
                break;
            }
            syncing = self
                .done
                .wait(syncing)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *syncing = true;
        Ok(Some(Turn(self)))
    }

    /// Returns once every write up to generation `target` is durable: at once if an
    /// earlier sync covered it, else after one `fdatasync` that began after that write
    /// (this thread's, or another thread's that covered it). A failed sync poisons the
    /// log; after that only a sync that completed before the failure counts.
    fn sync_through(&self, target: u64) -> Result<()> {
        if self.is_synced_through(target) {
            return Ok(());
        }
        let Some(turn) = self.take_turn(target)? else {
            return Ok(());
        };
        // Every write up to `newest` completed before this load: the sync below covers it.
        let newest = self.written.load(Ordering::Acquire);
        let res = self.sync_data();
        match res {
            Ok(()) => self.synced.store(newest, Ordering::Release),
            Err(_) => self.poison(),
        }
        drop(turn);
        res.map_err(Error::Io)
    }

    #[cfg(not(any(test, feature = "test-support")))]
    fn sync_data(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    #[cfg(any(test, feature = "test-support"))]
    fn sync_data(&self) -> std::io::Result<()> {
        if self.fail_next_sync.swap(false, Ordering::AcqRel) {
            return Err(std::io::Error::other(
                "injected sync failure (test support)",
            ));
        }
        let res = self.file.sync_data();
        // Counted once the call returned: a count read after a flush returns includes
        // every sync that flush waited for.
        self.syncs.fetch_add(1, Ordering::AcqRel);
        res
    }
}

struct FileState {
    chain: ChainState,
    file: File,
    pending: Vec<u8>,
    pending_records: u32,
    oldest_pending: Option<Instant>,
    durability: Durability,
    /// Write generations, the sync turn and the poison flag, shared with group flushes.
    syncer: Arc<Syncer>,
    /// Encoding of the record being appended (reused: no allocation per append).
    scratch: Vec<u8>,
    /// `<log>.anchor`, kept when the log signs checkpoints.
    anchor_path: Option<PathBuf>,
    /// The newest checkpoint in `pending`: it becomes the anchor once it is durable.
    anchor_due: Option<Checkpoint>,
}

impl FileState {
    fn is_failed(&self) -> bool {
        self.syncer.is_failed()
    }

    /// Writes the write buffer to the file (no sync) and returns the generation of that
    /// write, or of the newest earlier write if the buffer is empty. A failed write poisons
    /// the log.
    fn write_pending(&mut self) -> Result<u64> {
        if self.pending.is_empty() {
            return Ok(self.syncer.written.load(Ordering::Acquire));
        }
        if let Err(e) = self.file.write_all(&self.pending) {
            self.syncer.poison();
            return Err(Error::Io(e));
        }
        self.pending.clear();
        self.pending_records = 0;
        self.oldest_pending = None;
        self.syncer.note_write()
    }

    /// Writes and syncs the write buffer (and syncs any bytes an unfinished group flush
    /// wrote), then (if a checkpoint was in it) replaces the anchor file, so the anchor is
    /// never ahead of the durable log. All of it under the state lock. Any failure poisons
    /// the log: the file tail is then unknown and only a reopen (which verifies and
    /// repairs) may continue.
    fn flush(&mut self) -> Result<()> {
        if self.is_failed() {
            return Err(Error::Failed);
        }
        let generation = self.write_pending()?;
        self.syncer.sync_through(generation)?;
        if let (Some(cp), Some(path)) = (self.anchor_due.take(), &self.anchor_path) {
            let written = Anchor::new(cp).and_then(|a| a.write_atomic(path));
            if let Err(e) = written {
                self.syncer.poison();
                return Err(e);
            }
        }
        Ok(())
    }

    fn push_checkpoint(&mut self, cp: &Checkpoint) -> Result<()> {
        format::write_frame_parts(&mut self.pending, format::FRAME_CHECKPOINT, &[&cp.encode()])?;
        self.chain.last_checkpoint = Some(cp.clone());
        self.anchor_due = Some(cp.clone());
        Ok(())
    }

    /// Checkpoints the tail if there is a signing key and unanchored records, then syncs.
    fn close(&mut self) -> Result<()> {
        if self.chain.signing_key.is_some()
            && let Some(cp) = self.chain.new_checkpoint()?
        {
            self.push_checkpoint(&cp)?;
        }
        self.flush()
    }
}

struct Shared {
    state: Mutex<FileState>,
    /// The same syncer as the state's, reachable without the state lock.
    syncer: Arc<Syncer>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FileState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Group commit (ADR 0089): under the state lock, writes the write buffer (in chain
    /// order) and notes its write generation; then, without the state lock, waits for one
    /// sync that covers that generation (running it unless another thread's sync already
    /// did). Threads that write while one sync runs are covered together by the next one.
    /// A checkpoint whose anchor is due takes the locked path ([`FileState::flush`]), so
    /// the anchor is never ahead of the durable log.
    fn group_flush(&self) -> Result<()> {
        let target = {
            let mut st = self.lock();
            if st.is_failed() {
                return Err(Error::Failed);
            }
            if st.anchor_due.is_some() {
                return st.flush();
            }
            st.write_pending()?
        };
        self.syncer.sync_through(target)
    }
}

/// An append-only audit log file with an advisory lock, verified on open.
///
/// Layout: a header, then one frame per record and per checkpoint (see `docs/formats.md`).
/// With a signing key, each checkpoint, once durable in the log, is also written
/// atomically to `<log>.anchor` ([`Anchor`]); ship that file elsewhere to detect a cut.
/// Open verifies everything (against the anchor file when there is one), moves a torn
/// final frame to a quarantine file `<log>.torn-<offset>` before cutting it off (both
/// reported in the returned [`Report`]), and refuses any other damage, including a cut
/// behind the anchor, with [`Error::Damaged`] naming the first bad sequence number. It
/// never deletes a complete record. Dropping the log checkpoints the tail (with a signing
/// key) and syncs, ignoring errors; call [`FileLog::close`] to see them.
pub struct FileLog {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl core::fmt::Debug for FileLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileLog")
            .field("path", &self.path)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn lock_file(file: &File, path: &Path) -> Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(Error::Io(e)),
    }
}

/// Saves the torn bytes to a new file `<log>.torn-<offset>` (or `….<n>` if that exists),
/// synced, before the log is cut back. Returns its path.
fn quarantine(path: &Path, offset: u64, bytes: &[u8]) -> Result<PathBuf> {
    for n in 0u32..1000 {
        let mut name = std::ffi::OsString::from(path.as_os_str());
        name.push(format!(".torn-{offset}"));
        if n > 0 {
            name.push(format!(".{n}"));
        }
        let q = PathBuf::from(name);
        match OpenOptions::new().write(true).create_new(true).open(&q) {
            Ok(mut f) => {
                f.write_all(bytes)?;
                f.sync_all()?;
                sync_parent(&q)?;
                return Ok(q);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "1000 quarantine files for this offset already exist; move them away",
    )))
}

impl FileLog {
    /// Creates a new, empty log file (fails if it exists) with a random log id, and locks it.
    /// With a signing key, `<log>.anchor` must not exist yet either.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`], [`Error::Locked`], [`Error::Io`] (also for a leftover
    /// anchor file), [`Error::Random`], [`Error::InvalidOption`] for a checkpoint interval
    /// above `u32::MAX`.
    pub fn create(path: impl AsRef<Path>, options: LogOptions) -> Result<Self> {
        let path = path.as_ref();
        if options.signing_key.is_some() {
            let anchor = Anchor::path_for(path);
            if anchor.exists() {
                // The anchor of an earlier log at this path: keep it (it is evidence) and
                // refuse, rather than open a new log beside an anchor it would contradict.
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!(
                        "{} already exists (the anchor of an earlier log?); move it away before creating {}",
                        anchor.display(),
                        path.display()
                    ),
                )));
            }
        }
        // Everything that can be refused without the file is decided first, so a refused
        // creation leaves no empty file behind (review round 28, LOW).
        let log_id = match options.fixed_log_id {
            Some(id) => id,
            None => LogId::random()?,
        };
        let checkpoint_every = match options.checkpoint_every {
            None => 0,
            Some(n) => u32::try_from(n.get()).map_err(|_| {
                Error::InvalidOption("the checkpoint interval of a file log is at most 2^32 - 1")
            })?,
        };
        let file = match OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::Io(e)),
        };
        let created = Self::start_created(file, path, log_id, checkpoint_every, options);
        if created.is_err() {
            // This call made the file and could not make it a log (locked by a racing
            // `open`, the header not written or not synced): nothing half-made stays behind
            // to make every later `create` fail with `AlreadyExists` and `open` with
            // `NotAuditLog` (review round 51 LOW). A power loss before the header was synced
            // can still leave an empty file: remove it by hand.
            let _ = std::fs::remove_file(path);
            let _ = sync_parent(path);
        }
        created
    }

    /// Locks the file `create` just made, writes and syncs its header, and starts the log.
    fn start_created(
        file: std::fs::File,
        path: &Path,
        log_id: LogId,
        checkpoint_every: u32,
        options: LogOptions,
    ) -> Result<Self> {
        lock_file(&file, path)?;
        let header = FileHeader {
            version: options.format,
            mode: options.chainer.mode(),
            log_id,
            key_check: options.chainer.key_check(&log_id),
            public_key: options.verifying_key(),
            checkpoint_every,
        };
        let durability = options.durability;
        let anchor_path = options.signing_key.as_ref().map(|_| Anchor::path_for(path));
        let syncer = Arc::new(Syncer::new(&file)?);
        let mut state = FileState {
            chain: ChainState::new(log_id, options),
            file,
            pending: header.encode(),
            pending_records: 0,
            oldest_pending: None,
            durability,
            syncer,
            scratch: Vec::new(),
            anchor_path,
            anchor_due: None,
        };
        state.flush()?;
        state.file.sync_all()?;
        sync_parent(path)?;
        Self::start(state, path)
    }

    /// Opens an existing log, locks it, verifies it with the options' keys (and against
    /// `<log>.anchor` when the log signs checkpoints and that file exists) and repairs a
    /// torn final frame: its bytes are saved to `<log>.torn-<offset>` (synced) before the
    /// log is cut back to its last complete frame. If the interval checkpoint after the
    /// last record is missing (a crash between the two frames), it is signed and written
    /// now. An anchor older than the log's last checkpoint (a crash between the checkpoint's
    /// sync and the anchor's rename) is rewritten from that checkpoint once the log verified
    /// against it; a missing anchor is not recreated. The options must name the checkpoint
    /// interval recorded in the file's header
    /// (else [`Error::CheckpointIntervalMismatch`]: the writer never takes it from the
    /// file). Returns the log and the verification report ([`Report::torn_tail`],
    /// [`Report::torn_tail_saved_to`]).
    ///
    /// # Errors
    /// [`Error::Locked`] if another handle holds it; [`Error::Damaged`] for any damage other
    /// than a genuine torn final frame (including a forged one and a cut behind the
    /// anchor); [`Error::ReadOnlyFormat`] for a format-1 log; [`Error::WrongKey`],
    /// [`Error::ModeMismatch`], [`Error::SigningKeyMismatch`], [`Error::NoSigningKey`] (the
    /// log has checkpoints but no signing key was given); [`Error::BadAnchor`];
    /// [`Error::CheckpointIntervalMismatch`] when the options' checkpoint interval is not the
    /// one in the header (the writer never takes it from the file, whose header only a
    /// public checksum protects); header and I/O errors.
    pub fn open(path: impl AsRef<Path>, options: LogOptions) -> Result<(Self, Report)> {
        let opened = Self::open_inner(path.as_ref(), options, false)?;
        Ok((opened.log, opened.report))
    }

    /// As [`FileLog::open`], and also returns the log's records as that verification read
    /// them: decoded from the very bytes verified, under the lock this log now holds, so a
    /// caller that needs the log's contents (to replay key versions, say) reads and verifies
    /// the file once, and no writer can slip a record between the check and the read.
    ///
    /// # Errors
    /// As [`FileLog::open`].
    pub fn open_with_records(path: impl AsRef<Path>, options: LogOptions) -> Result<OpenedFileLog> {
        Self::open_inner(path.as_ref(), options, true)
    }

    /// As [`FileLog::open_or_create`], returning the verified records as
    /// [`FileLog::open_with_records`] does (none for a log it creates).
    ///
    /// # Errors
    /// As [`FileLog::open`] and [`FileLog::create`].
    pub fn open_or_create_with_records(
        path: impl AsRef<Path>,
        options: LogOptions,
    ) -> Result<OpenedFileLog> {
        let path = path.as_ref();
        if path.exists() {
            Self::open_with_records(path, options)
        } else {
            // `create` itself, never `open_or_create`: a log another process creates
            // between the check and here is refused (`AlreadyExists`), not opened without
            // its records.
            let log = Self::create(path, options)?;
            let report = log.verify()?;
            Ok(OpenedFileLog {
                log,
                report,
                records: Vec::new(),
            })
        }
    }

    fn open_inner(path: &Path, options: LogOptions, keep_records: bool) -> Result<OpenedFileLog> {
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        lock_file(&file, path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let header = FileHeader::decode(&bytes)?;
        // Format 2 and 3 logs are continued in their own format; format 1 is read-only.
        if header.version == format::FILE_VERSION_V1 {
            return Err(Error::ReadOnlyFormat(header.version));
        }
        if header.mode != options.chainer.mode() {
            return Err(Error::ModeMismatch {
                expected: options.chainer.mode(),
                found: header.mode,
            });
        }
        match (header.public_key, options.verifying_key()) {
            (Some(a), Some(b)) if a != b => return Err(Error::SigningKeyMismatch),
            (None, Some(_)) => return Err(Error::SigningKeyMismatch),
            (Some(_), None) => return Err(Error::NoSigningKey),
            _ => {}
        }
        let durability = options.durability;
        let anchor_path = options.signing_key.as_ref().map(|_| Anchor::path_for(path));
        let from_options = options
            .checkpoint_every
            .map_or(0, core::num::NonZeroU64::get);
        let mut chain = ChainState::new(header.log_id, options);
        chain.set_format(header.version);
        let mut verifier = chain.stored_verifier();
        let mut kept_anchor = None;
        if let Some(ap) = anchor_path.as_ref().filter(|p| p.exists()) {
            let anchor = Anchor::read(ap)?;
            kept_anchor = Some(anchor.sequence());
            verifier = verifier.with_anchor(anchor);
        }
        // Keys first (a wrong key is reported as such), then the interval.
        let check = verifier.checker(&header)?;
        // The header's interval is covered only by a public checksum: an attacker who edits
        // it (to 0, say) and recomputes the checksum would stop the writer's interval
        // checkpoints, freeze the anchor and make later cuts invisible. So the writer never
        // takes the interval from the file: the caller's options must say the same.
        if from_options != u64::from(header.checkpoint_every) {
            return Err(Error::CheckpointIntervalMismatch {
                header: u64::from(header.checkpoint_every),
                options: from_options,
            });
        }
        let w = walk(&bytes, check);
        let mut report = verifier.finish(w.report);
        if let Some(f) = report.failure {
            return Err(Error::Damaged {
                sequence: f.sequence,
                reason: f.reason,
            });
        }
        let records = if keep_records {
            let verified = usize::try_from(w.valid_len)
                .ok()
                .and_then(|end| bytes.get(..end))
                .ok_or(Error::Internal("verified length outside the file"))?;
            records_of(verified)?
        } else {
            Vec::new()
        };
        if let Some(t) = report.torn_tail {
            let torn = usize::try_from(t.offset)
                .ok()
                .and_then(|o| bytes.get(o..))
                .ok_or(Error::Internal("torn tail offset outside the file"))?;
            report.torn_tail_saved_to = Some(quarantine(path, t.offset, torn)?);
            file.set_len(w.valid_len)?;
            file.sync_all()?;
        }
        // A crash between the sync of a checkpoint and the rename of its anchor leaves the
        // anchor behind the log. The log verified against that anchor, so its last
        // checkpoint (signed under the trusted key, checked above) becomes the anchor, once
        // the file is durable up to it: the anchor is never ahead of the durable log (review
        // round 51 LOW). A missing anchor is never made here: that is for the caller to see.
        if let (Some(ap), Some(kept), Some(cp)) = (&anchor_path, kept_anchor, &w.last_checkpoint)
            && cp.sequence > kept
        {
            file.sync_all()?;
            Anchor::new(cp.clone())?.write_atomic(ap)?;
        }
        chain.next = w.check.next();
        if let Some(h) = w.check.head() {
            chain.head = h;
        }
        chain.public_head = w.check.public_head();
        chain.last_checkpoint = w.last_checkpoint;
        let syncer = Arc::new(if report.torn_tail.is_some() {
            // Cut back and synced above.
            Syncer::new(&file)?
        } else {
            Syncer::for_found_bytes(&file)?
        });
        let mut state = FileState {
            chain,
            file,
            pending: Vec::new(),
            pending_records: 0,
            oldest_pending: None,
            durability,
            syncer,
            scratch: Vec::new(),
            anchor_path,
            anchor_due: None,
        };
        // A crash (or cut) between a record and the interval checkpoint after it: sign it
        // now, before any further record, so the interval rule holds for the whole file.
        let due = state
            .chain
            .checkpoint_every
            .is_some_and(|n| state.chain.next != 0 && state.chain.next.is_multiple_of(n.get()));
        // Only a log that signs has interval checkpoints: an unsigned log created with an
        // interval has none to add (review round 28: its reopen failed with NoSigningKey).
        if due
            && state.chain.signing_key.is_some()
            && let Some(cp) = state.chain.new_checkpoint()?
        {
            state.push_checkpoint(&cp)?;
            state.flush()?;
        }
        Ok(OpenedFileLog {
            log: Self::start(state, path)?,
            report,
            records,
        })
    }

    /// Opens `path` if it exists, creates it otherwise.
    ///
    /// # Errors
    /// As [`FileLog::open`] and [`FileLog::create`].
    pub fn open_or_create(path: impl AsRef<Path>, options: LogOptions) -> Result<(Self, Report)> {
        let path = path.as_ref();
        if path.exists() {
            Self::open(path, options)
        } else {
            let log = Self::create(path, options)?;
            let report = log.verify()?;
            Ok((log, report))
        }
    }

    fn start(state: FileState, path: &Path) -> Result<Self> {
        let delay = match state.durability {
            Durability::GroupCommit { max_delay, .. } if !max_delay.is_zero() => Some(max_delay),
            _ => None,
        };
        let shared = Arc::new(Shared {
            syncer: Arc::clone(&state.syncer),
            state: Mutex::new(state),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        // The time bound of group commit needs the flusher: failing to start it is an
        // error, not a silently weaker durability policy.
        let flusher = match delay {
            None => None,
            Some(d) => {
                let s = Arc::clone(&shared);
                Some(
                    std::thread::Builder::new()
                        .name("hexvault-audit-flush".into())
                        .spawn(move || flusher(&s, d))?,
                )
            }
        };
        Ok(Self {
            shared,
            flusher,
            path: path.to_path_buf(),
        })
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of `fdatasync` calls of this log's write path (appends, flushes, checkpoints,
    /// the background flusher, close) that have returned since it was created or opened;
    /// the `sync_all` of creation and of a torn-tail repair are not counted, nor is an
    /// injected failure ([`FileLog::fail_next_sync`]). Test support only (feature
    /// `test-support`, not for production use).
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub fn sync_count(&self) -> u64 {
        self.shared.syncer.syncs.load(Ordering::Acquire)
    }

    /// Makes the next sync of this log fail with an injected I/O error instead of calling
    /// `fdatasync` (the error handling after a failed sync runs as for a real one). Test
    /// support only (feature `test-support`, not for production use).
    #[cfg(any(test, feature = "test-support"))]
    pub fn fail_next_sync(&self) {
        self.shared
            .syncer
            .fail_next_sync
            .store(true, Ordering::Release);
    }

    /// Takes the log's sync turn (waiting for a running sync to end) and holds it until
    /// the returned guard is dropped, as if a sync were running: flushes then write their
    /// bytes and wait, so a test can force flushes to overlap one sync. Calling a method
    /// of this log that syncs (a flush, an append that syncs, a checkpoint, `verify`,
    /// `close`) from the thread holding the guard deadlocks. Test support only (feature
    /// `test-support`, not for production use).
    ///
    /// # Errors
    /// [`Error::Failed`] if the log is poisoned.
    #[cfg(any(test, feature = "test-support"))]
    pub fn hold_syncs(&self) -> Result<SyncHold<'_>> {
        match self.shared.syncer.take_turn(0)? {
            Some(turn) => Ok(SyncHold { _turn: turn }),
            None => Err(Error::Internal("a sync turn for generation 0 was refused")),
        }
    }

    /// Signs a checkpoint over the last record (or takes the one the log already ends
    /// with), makes it durable and writes it to `<log>.anchor`, all under the log's lock:
    /// the log is the one writer of its anchor file, so a caller that wants an anchor to
    /// ship elsewhere never races the log's own interval anchors (and two callers at once
    /// are serialized). The anchor file is (re)written every time, so the file beside the
    /// log is the anchor returned. `None` for an empty log (its anchor file is left as it
    /// is). A failure to write the anchor file of an already durable checkpoint is
    /// returned without poisoning the log (the log itself is intact).
    ///
    /// # Errors
    /// [`Error::NoSigningKey`]; [`Error::Failed`] after an earlier failure; write and sync
    /// failures.
    pub fn checkpoint_and_anchor(&self) -> Result<Option<Anchor>> {
        let mut st = self.shared.lock();
        if st.is_failed() {
            return Err(Error::Failed);
        }
        let fresh = st.chain.new_checkpoint()?;
        let Some(path) = st.anchor_path.clone() else {
            return Err(Error::NoSigningKey);
        };
        if let Some(cp) = fresh {
            st.push_checkpoint(&cp)?;
            // The checkpoint frame is written and synced first (a failure there poisons the
            // log, as any write failure does); the anchor file is written here rather than
            // by `flush`, so that failing to write it leaves the durable log usable. An
            // interval anchor still due is superseded by this newer one.
            st.anchor_due = None;
            st.flush()?;
            let anchor = Anchor::new(cp)?;
            anchor.write_atomic(&path)?;
            return Ok(Some(anchor));
        }
        st.flush()?;
        let next = st.chain.next;
        let Some(cp) = st
            .chain
            .last_checkpoint
            .clone()
            .filter(|c| c.sequence.get().saturating_add(1) == next)
        else {
            return if next == 0 {
                Ok(None)
            } else {
                Err(Error::Internal(
                    "a non-empty log without a new checkpoint has none at its head",
                ))
            };
        };
        let anchor = Anchor::new(cp)?;
        anchor.write_atomic(&path)?;
        Ok(Some(anchor))
    }

    /// Checkpoints the tail (with a signing key), syncs and releases the lock.
    ///
    /// # Errors
    /// Write or sync failures; [`Error::Failed`] after an earlier failure.
    pub fn close(mut self) -> Result<()> {
        self.stop_flusher();
        self.shared.lock().close()
    }

    fn stop_flusher(&mut self) {
        if let Some(h) = self.flusher.take() {
            *self
                .shared
                .stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = true;
            self.shared.wake.notify_all();
            let _ = h.join();
        }
    }
}

fn flusher(shared: &Shared, delay: Duration) {
    let mut stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        stop = match shared.wake.wait_timeout(stop, delay) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
        if *stop {
            return;
        }
        drop(stop);
        {
            // Under the state lock, as an append that fills the buffer: appends wait, so the
            // records not yet synced without a flush call stay below `max_records`
            // (ADR 0089). A failure poisons the log; the next append or flush reports it.
            let mut st = shared.lock();
            if st.oldest_pending.is_some_and(|t| t.elapsed() >= delay) {
                let _ = st.flush();
            }
        }
        stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
    }
}

impl Drop for FileLog {
    fn drop(&mut self) {
        self.stop_flusher();
        let mut st = self.shared.lock();
        if !st.is_failed() {
            let _ = st.close();
        }
    }
}

impl FileState {
    /// Prepares `event` as the next record and writes its frame (and any checkpoint frame)
    /// into the write buffer, without committing the chain position. On error nothing of
    /// it stays in the buffer.
    fn stage(&mut self, event: &Event) -> Result<Prepared> {
        let Self {
            chain,
            pending,
            scratch,
            ..
        } = self;
        scratch.clear();
        let p = chain.prepare(event, scratch)?;
        let start = pending.len();
        let framed = format::write_frame_parts(
            pending,
            format::FRAME_RECORD,
            &[scratch, p.chain.as_bytes()],
        )
        .and_then(|()| match &p.checkpoint {
            Some(cp) => {
                format::write_frame_parts(pending, format::FRAME_CHECKPOINT, &[&cp.encode()])
            }
            None => Ok(()),
        });
        if let Err(e) = framed {
            pending.truncate(start);
            return Err(e);
        }
        Ok(p)
    }

    /// Counts `records` newly buffered records and says whether the durability policy
    /// wants the buffer synced before the append returns.
    fn note_buffered(&mut self, records: u32) -> bool {
        self.pending_records = self.pending_records.saturating_add(records);
        let oldest = *self.oldest_pending.get_or_insert_with(Instant::now);
        match self.durability {
            Durability::EveryRecord => true,
            Durability::GroupCommit {
                max_records,
                max_delay,
            } => {
                self.pending_records >= max_records
                    || (!max_delay.is_zero() && oldest.elapsed() >= max_delay)
            }
        }
    }
}

impl AuditLog for FileLog {
    fn append(&self, event: Event) -> Result<Appended> {
        let mut st = self.shared.lock();
        if st.is_failed() {
            return Err(Error::Failed);
        }
        let p = st.stage(&event)?;
        if let Some(cp) = &p.checkpoint {
            st.anchor_due = Some(cp.clone());
        }
        // A signed checkpoint is returned only once it (and every record it covers) is
        // durable and its anchor written, whatever the durability policy.
        if st.note_buffered(1) || p.checkpoint.is_some() {
            // Under EveryRecord a failed write leaves the state uncommitted and poisoned.
            st.flush()?;
        }
        st.chain.commit(&p);
        Ok(Appended {
            sequence: p.sequence,
            chain: p.chain,
            checkpoint: p.checkpoint,
        })
    }

    fn append_batch(&self, events: Vec<Event>) -> Result<Vec<Appended>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let count = u32::try_from(events.len()).map_err(|_| Error::Internal("batch too large"))?;
        let mut st = self.shared.lock();
        if st.is_failed() {
            return Err(Error::Failed);
        }
        let saved = st.chain.position();
        let start = st.pending.len();
        let mut appended = Vec::with_capacity(events.len());
        let mut due = None;
        for event in &events {
            match st.stage(event) {
                Ok(p) => {
                    st.chain.commit(&p);
                    if let Some(cp) = &p.checkpoint {
                        due = Some(cp.clone());
                    }
                    appended.push(Appended {
                        sequence: p.sequence,
                        chain: p.chain,
                        checkpoint: p.checkpoint,
                    });
                }
                Err(e) => {
                    // All or nothing: the buffer and the chain go back to before the batch.
                    st.pending.truncate(start);
                    st.chain.restore(saved);
                    return Err(e);
                }
            }
        }
        let checkpointed = due.is_some();
        if let Some(cp) = due {
            st.anchor_due = Some(cp);
        }
        if (st.note_buffered(count) || checkpointed)
            && let Err(e) = st.flush()
        {
            // The log is poisoned; the in-memory position must not claim the batch.
            st.chain.restore(saved);
            return Err(e);
        }
        Ok(appended)
    }

    fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let mut st = self.shared.lock();
        if st.is_failed() {
            return Err(Error::Failed);
        }
        match st.chain.new_checkpoint()? {
            Some(cp) => {
                st.push_checkpoint(&cp)?;
                st.flush()?;
                Ok(Some(cp))
            }
            None => {
                st.flush()?;
                let next = st.chain.next;
                Ok(st
                    .chain
                    .last_checkpoint
                    .clone()
                    .filter(|c| c.sequence.get().saturating_add(1) == next))
            }
        }
    }

    /// Returns `Ok` only when every record appended before the call began is durable
    /// (written and `fdatasync`ed), with every checkpoint among them and its anchor file.
    /// Concurrent calls are group-committed (ADR 0089): each writes what is buffered under
    /// the log's lock, then waits without the lock for one `fdatasync` that covers its
    /// write, its own or another thread's, so threads flushing at once share syncs (at most
    /// one per call) and the log's lock is held only for the write. A checkpoint whose anchor is
    /// due is written, synced and anchored under the lock.
    ///
    /// # Errors
    /// [`Error::Failed`] after an earlier failure, including a failed sync of another
    /// thread that this call was waiting for; [`Error::Io`] for this call's own write or
    /// sync failure (which poisons the log).
    fn flush(&self) -> Result<()> {
        self.shared.group_flush()
    }

    fn verify(&self) -> Result<Report> {
        let mut st = self.shared.lock();
        st.flush()?;
        let mut verifier = st.chain.stored_verifier();
        if let Some(ap) = st.anchor_path.as_ref().filter(|p| p.exists()) {
            verifier = verifier.with_anchor(Anchor::read(ap)?);
        }
        verifier.verify_file(&self.path)
    }

    fn log_id(&self) -> LogId {
        self.shared.lock().chain.log_id
    }

    fn len(&self) -> u64 {
        self.shared.lock().chain.next
    }

    fn head(&self) -> ChainValue {
        self.shared.lock().chain.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditKey, EventKind};

    #[test]
    fn poisoned_lock_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.log");
        let log = std::sync::Arc::new(
            FileLog::create(&path, LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap(),
        );
        log.append(Event::new(EventKind::Seal)).unwrap();
        let l = std::sync::Arc::clone(&log);
        let r = std::thread::spawn(move || {
            let _guard = l.shared.state.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(r.is_err() && log.shared.state.is_poisoned());
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
    fn every_record_is_on_disk_when_append_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        let log =
            FileLog::create(&path, LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap();
        for i in 0..5u64 {
            log.append(Event::new(EventKind::Seal)).unwrap();
            let report = crate::Verifier::keyed(&AuditKey::from_bytes([1; 32]))
                .verify_file(&path)
                .unwrap();
            assert_eq!(report.records, i + 1);
        }
    }

    #[test]
    fn failed_log_refuses_appends() {
        let dir = tempfile::tempdir().unwrap();
        let log = FileLog::create(dir.path().join("f.log"), LogOptions::unkeyed()).unwrap();
        log.shared.syncer.poison();
        assert!(matches!(
            log.append(Event::new(EventKind::Seal)),
            Err(Error::Failed)
        ));
        assert!(matches!(log.flush(), Err(Error::Failed)));
    }
}
