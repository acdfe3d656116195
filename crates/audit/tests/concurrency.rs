//! Concurrency: 8 threads x 10,000 appends on the memory log, and group-commit appends
//! from 4 threads on the file log: gapless sequence numbers and a verifying chain.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{event, options};
use hexvault_audit::{AuditLog, Durability, FileLog, MemoryLog, Verifier};

fn hammer(log: &Arc<dyn AuditLog>, threads: u64, per_thread: u64) -> Vec<u64> {
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let log = Arc::clone(log);
            std::thread::spawn(move || {
                let mut seqs = Vec::with_capacity(per_thread as usize);
                let mut last = None;
                for i in 0..per_thread {
                    let s = log
                        .append(event(t * per_thread + i))
                        .unwrap()
                        .sequence
                        .get();
                    // Each thread sees its own appends in increasing order.
                    assert!(last.is_none_or(|l| s > l));
                    last = Some(s);
                    seqs.push(s);
                }
                seqs
            })
        })
        .collect();
    let mut all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    all
}

#[test]
fn memory_log_8_threads_x_10000() {
    let log: Arc<dyn AuditLog> =
        Arc::new(MemoryLog::new(options(1000, Durability::EveryRecord)).unwrap());
    let all = hammer(&log, 8, 10_000);
    assert!(
        all.iter().copied().eq(0..80_000),
        "sequence numbers are not gapless"
    );
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.checkpoints), (80_000, 80));
    assert_eq!(report.unanchored_records(), 0);
}

#[test]
fn memory_log_records_match_and_public_key_verifies() {
    let log = MemoryLog::new(options(4, Durability::EveryRecord)).unwrap();
    for i in 0..10 {
        log.append(event(i)).unwrap();
    }
    let records = log.records().unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(records[3].event, event(3));
    assert_eq!(
        records[0].prev_chain,
        hexvault_audit::ChainValue::from_bytes(*records[0].prev_chain.as_bytes())
    );
    assert_eq!(log.checkpoints().len(), 2);
    assert_eq!(log.checkpoint().unwrap().unwrap().sequence.get(), 9);
    // Asking again returns the same checkpoint, not a duplicate.
    assert_eq!(log.checkpoint().unwrap().unwrap().sequence.get(), 9);
    assert_eq!(log.checkpoints().len(), 3);
    let report = log
        .verify_with(&Verifier::public_key(common::public_key()).require_anchored_tail(true))
        .unwrap();
    assert!(report.is_ok(), "{report}");
}

#[test]
fn file_log_group_commit_4_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let opts = || {
        options(
            250,
            Durability::GroupCommit {
                max_records: 64,
                max_delay: Duration::from_millis(5),
            },
        )
    };
    let log = Arc::new(FileLog::create(&path, opts()).unwrap());
    let dyn_log: Arc<dyn AuditLog> = log.clone();
    let all = hammer(&dyn_log, 4, 1_000);
    assert!(all.iter().copied().eq(0..4_000));
    log.flush().unwrap();
    assert!(log.verify().unwrap().is_ok());
    drop(dyn_log);
    Arc::try_unwrap(log).unwrap().close().unwrap();
    let (log, report) = FileLog::open(&path, opts()).unwrap();
    assert!(report.is_ok() && report.torn_tail.is_none(), "{report}");
    assert_eq!((report.records, report.checkpoints), (4_000, 16));
    assert_eq!(log.len(), 4_000);
}

#[test]
fn group_commit_timer_flushes_without_further_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let opts = || {
        options(
            0,
            Durability::GroupCommit {
                max_records: 1_000,
                max_delay: Duration::from_millis(20),
            },
        )
    };
    let log = FileLog::create(&path, opts()).unwrap();
    log.append(event(0)).unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        before,
        hexvault_audit::HEADER_LEN as u64,
        "group commit wrote before N or T"
    );
    std::thread::sleep(Duration::from_millis(200));
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(
        after > before,
        "the background flusher did not write within 10 x max_delay"
    );
    // The file is readable by a verifier while the writer holds the lock.
    let report = Verifier::keyed(&hexvault_audit::AuditKey::from_bytes(common::KEY))
        .with_public_key(common::public_key())
        .verify_file(&path)
        .unwrap();
    assert_eq!(report.records, 1);
}

/// Review round 7 (R7-8): `FileLog::checkpoint_and_anchor` from two threads while two
/// others append with an interval checkpoint after every record: the log is the one writer
/// of its anchor file, so no call fails, the log is never poisoned, and the anchor file
/// ends at the last checkpoint.
#[test]
fn checkpoint_and_anchor_races_neither_appends_nor_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.log");
    let log = FileLog::create(&path, options(1, Durability::EveryRecord)).unwrap();
    assert!(log.checkpoint_and_anchor().unwrap().is_none(), "empty log");
    log.append(event(9999)).unwrap();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let log = &log;
            s.spawn(move || {
                for i in 0..150 {
                    log.append(event(t * 1000 + i)).unwrap();
                }
            });
            s.spawn(move || {
                for _ in 0..150 {
                    log.checkpoint_and_anchor().unwrap().unwrap();
                }
            });
        }
    });
    let last = log.checkpoint_and_anchor().unwrap().unwrap();
    assert_eq!(last.sequence().get(), 300);
    log.close().unwrap();
    let anchor = hexvault_audit::Anchor::read(hexvault_audit::Anchor::path_for(&path)).unwrap();
    assert_eq!(anchor, last);
    let report = Verifier::keyed(&hexvault_audit::AuditKey::from_bytes(common::KEY))
        .with_public_key(common::public_key())
        .with_anchor(anchor)
        .require_anchored_tail(true)
        .verify_file(&path)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 301);
}
