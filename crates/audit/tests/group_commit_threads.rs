//! Group commit of `FileLog::flush` from many threads (ADR 0089): every record survives a
//! reopen with a verifying chain, a flush returns only once every earlier append is in the
//! file and covered by a sync that began after it was written, overlapping flushes share one
//! sync, and a failed sync (injected through test support) poisons the log for every waiter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{event, options};
use hexvault_audit::{
    AuditLog, Durability, Error, FileLog, LogContents, LogEntry, LogOptions, Verifier,
};

/// Group commit with neither a count nor a timer: only `flush` (and checkpoints) sync.
const FLUSH_ONLY: Durability = Durability::GroupCommit {
    max_records: u32::MAX,
    max_delay: Duration::ZERO,
};

/// Sequence numbers of the complete records in the file now, read through a handle of its own.
fn records_on_disk(path: &Path) -> BTreeSet<u64> {
    let bytes = std::fs::read(path).unwrap();
    LogContents::parse(&bytes)
        .unwrap()
        .entries
        .iter()
        .filter_map(|e| match e {
            LogEntry::Record { record, .. } => Some(record.sequence.get()),
            _ => None,
        })
        .collect()
}

/// Waits until the file holds `n` complete records (written by flushes that now wait for
/// the held sync turn). Polls; the bound only turns a bug into a failure instead of a hang.
fn wait_for_records_on_disk(path: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while records_on_disk(path).len() < n {
        assert!(
            Instant::now() < deadline,
            "{n} records never reached the file"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// (a) 8 threads x 500 append+flush on one group-committed log with interval checkpoints
/// (which take the locked path): reopened, every record is there with the event its thread
/// appended, sequences are gapless, the chain and checkpoints verify against the anchor, and
/// no flush paid more than one sync.
#[test]
fn eight_threads_x_500_append_flush_reopen_complete_and_verified() {
    const THREADS: u64 = 8;
    const PER_THREAD: u64 = 500;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.log");
    let opts = || options(100, FLUSH_ONLY);
    let log = Arc::new(FileLog::create(&path, opts()).unwrap());
    let syncs_before = log.sync_count();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut checkpoints = 0u64;
                for i in 0..PER_THREAD {
                    let id = t * PER_THREAD + i;
                    let appended = log.append(event(id)).unwrap();
                    checkpoints += u64::from(appended.checkpoint.is_some());
                    log.flush().unwrap();
                    mine.push((appended.sequence.get(), id));
                }
                (mine, checkpoints)
            })
        })
        .collect();
    let mut by_sequence = Vec::new();
    let mut checkpoint_appends = 0;
    for h in handles {
        let (mine, c) = h.join().unwrap();
        by_sequence.extend(mine);
        checkpoint_appends += c;
    }
    by_sequence.sort_unstable();
    let total = THREADS * PER_THREAD;
    assert!(
        by_sequence.iter().map(|&(s, _)| s).eq(0..total),
        "sequence numbers are not gapless"
    );
    assert_eq!(checkpoint_appends, total / 100);
    // Each flush syncs at most once, each checkpoint append once more.
    let syncs = log.sync_count() - syncs_before;
    assert!(
        syncs <= total + checkpoint_appends,
        "{syncs} syncs for {total} flushes and {checkpoint_appends} checkpoints"
    );
    eprintln!("8 x 500 append+flush: {syncs} syncs for {total} flushes");
    Arc::try_unwrap(log).unwrap().close().unwrap();

    let opened = FileLog::open_with_records(&path, opts()).unwrap();
    let report = opened.report;
    assert!(report.is_ok() && report.torn_tail.is_none(), "{report}");
    assert_eq!((report.records, report.checkpoints), (total, total / 100));
    assert_eq!(report.unanchored_records(), 0);
    assert_eq!(opened.records.len() as u64, total);
    for (record, &(sequence, id)) in opened.records.iter().zip(&by_sequence) {
        assert_eq!(record.sequence.get(), sequence);
        assert_eq!(
            record.event,
            event(id),
            "record {sequence} is not its event"
        );
    }
    // The public key alone, with the anchor file, also vouches for the whole log.
    drop(opened.log);
    let anchor = hexvault_audit::Anchor::read(hexvault_audit::Anchor::path_for(&path)).unwrap();
    let public = Verifier::public_key(common::public_key())
        .with_anchor(anchor)
        .require_anchored_tail(true)
        .verify_file(&path)
        .unwrap();
    assert!(public.is_ok(), "{public}");
}

/// (b) A flush returns only once every record whose append returned before the flush began
/// (in any thread) is in the file: each thread snapshots the appends completed so far, flushes,
/// and reads the file through a handle of its own.
#[test]
fn a_flush_returns_only_once_every_earlier_append_is_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.log");
    let log = Arc::new(FileLog::create(&path, options(0, FLUSH_ONLY)).unwrap());
    let completed = Arc::new(Mutex::new(BTreeSet::new()));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let (log, completed, path) = (Arc::clone(&log), Arc::clone(&completed), path.clone());
            std::thread::spawn(move || {
                for i in 0..60 {
                    let s = log.append(event(t * 60 + i)).unwrap().sequence.get();
                    let before = {
                        let mut c = completed.lock().unwrap();
                        c.insert(s);
                        c.clone()
                    };
                    log.flush().unwrap();
                    let on_disk = records_on_disk(&path);
                    let missing: Vec<_> = before.difference(&on_disk).collect();
                    assert!(
                        missing.is_empty(),
                        "flush returned before {missing:?} were written"
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// (b) Thread A's flush has written A's record and waits for the sync turn; thread B's
/// flush, which has nothing left to write, must not return before a sync that began after
/// A's write has returned. The sync turn is held by the test, so no sync runs until it is
/// released: no timing is involved.
#[test]
fn a_flush_waits_for_a_sync_that_covers_another_threads_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.log");
    let log = Arc::new(FileLog::create(&path, options(0, FLUSH_ONLY)).unwrap());
    log.append(event(0)).unwrap();
    let hold = log.hold_syncs().unwrap();
    let a = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || log.flush())
    };
    wait_for_records_on_disk(&path, 1);
    let syncs_after_write = log.sync_count();
    let b = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let r = log.flush();
            (r, log.sync_count())
        })
    };
    drop(hold);
    a.join().unwrap().unwrap();
    let (r, syncs_seen_by_b) = b.join().unwrap();
    r.unwrap();
    assert!(
        syncs_seen_by_b > syncs_after_write,
        "B's flush returned before any sync covered A's write"
    );
}

/// `threads` threads that each append one event (ids 0..threads) and then flush; each
/// handle gives back its flush's result.
fn append_and_flush_in_threads(
    log: &Arc<FileLog>,
    threads: u64,
) -> Vec<std::thread::JoinHandle<hexvault_audit::Result<()>>> {
    (0..threads)
        .map(|t| {
            let log = Arc::clone(log);
            std::thread::spawn(move || {
                log.append(event(t)).unwrap();
                log.flush()
            })
        })
        .collect()
}

/// (d) Eight threads append and flush while the sync turn is held: once it is released,
/// exactly one sync covers all eight flushes (those that wrote and waited, and those that
/// found their record already written and synced).
#[test]
fn overlapping_flushes_share_one_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.log");
    let log = Arc::new(FileLog::create(&path, options(0, FLUSH_ONLY)).unwrap());
    let hold = log.hold_syncs().unwrap();
    let handles = append_and_flush_in_threads(&log, 8);
    wait_for_records_on_disk(&path, 8);
    let syncs_before = log.sync_count();
    drop(hold);
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(log.sync_count() - syncs_before, 1, "8 flushes, one sync");
    // Nothing is left to sync: a further flush returns without one.
    log.flush().unwrap();
    assert_eq!(log.sync_count() - syncs_before, 1);
}

/// (c) A failed group sync poisons the log: the flush whose sync failed gets the I/O error,
/// the flush that waited for the same sync gets `Error::Failed`, and so does every later
/// call. The failure is injected at the `fdatasync` call (feature `test-support`): what it
/// tests is the log's handling of a failed sync, not the kernel's. A reopen verifies
/// whatever the file holds.
#[test]
fn a_failed_group_sync_poisons_the_log_and_every_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.log");
    let log = Arc::new(FileLog::create(&path, options(0, FLUSH_ONLY)).unwrap());
    log.fail_next_sync();
    let hold = log.hold_syncs().unwrap();
    let flushers = append_and_flush_in_threads(&log, 2);
    wait_for_records_on_disk(&path, 2);
    drop(hold);
    let results: Vec<_> = flushers.into_iter().map(|h| h.join().unwrap()).collect();
    let io = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Io(_))))
        .count();
    let failed = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Failed)))
        .count();
    // Either one thread wrote both records and the other found nothing newer, or each
    // wrote its own: in both cases one sync ran and failed, and neither flush succeeded.
    assert_eq!((io, failed), (1, 1), "{results:?}");
    assert!(matches!(log.append(event(9)), Err(Error::Failed)));
    assert!(matches!(log.flush(), Err(Error::Failed)));
    assert!(matches!(log.checkpoint(), Err(Error::Failed)));
    let log = Arc::try_unwrap(log).unwrap();
    assert!(matches!(log.close(), Err(Error::Failed)));
    let (reopened, report) = FileLog::open(&path, options(0, FLUSH_ONLY)).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(reopened.len(), 2);
}

/// (c) Under `EveryRecord` the append whose sync fails returns the I/O error, does not
/// advance the log, and every later call gets `Error::Failed`.
#[test]
fn a_failed_sync_under_every_record_poisons_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.log");
    let log = FileLog::create(&path, LogOptions::unkeyed()).unwrap();
    log.append(event(0)).unwrap();
    log.fail_next_sync();
    assert!(matches!(log.append(event(1)), Err(Error::Io(_))));
    assert_eq!(log.len(), 1);
    assert!(matches!(log.append(event(2)), Err(Error::Failed)));
    assert!(matches!(log.flush(), Err(Error::Failed)));
}
