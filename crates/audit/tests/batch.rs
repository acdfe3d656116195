//! `AuditLog::append_batch`: one group commit that yields exactly the chain the same events
//! appended one by one would, all or nothing, durable when it returns, gapless under
//! concurrent batches.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::{event, options, public_key};
use hexvault_audit::{AuditLog, Durability, FileLog, LogId, MemoryLog, Verifier};

const LOG_ID: [u8; 16] = [0x5a; 16];

fn fixed(every: u64, durability: Durability) -> hexvault_audit::LogOptions {
    options(every, durability)
        .fixed_log_id(LogId::from_bytes(LOG_ID))
        .fixed_clock(1_700_000_000_000_000_000, 1_000)
}

/// Batches of uneven sizes, crossing checkpoint boundaries (every 4 records).
fn batched(log: &dyn AuditLog, total: u64) -> Vec<hexvault_audit::Appended> {
    let mut out = Vec::new();
    let mut i = 0;
    for size in [1_u64, 3, 0, 5, 8, 2].iter().cycle() {
        if i >= total {
            break;
        }
        let n = (*size).min(total - i);
        out.extend(log.append_batch((i..i + n).map(event).collect()).unwrap());
        i += n;
    }
    out
}

#[test]
fn batch_gives_the_chain_of_single_appends_in_memory_and_on_file() {
    let singles = MemoryLog::new(fixed(4, Durability::EveryRecord)).unwrap();
    let one_by_one: Vec<_> = (0..37).map(|i| singles.append(event(i)).unwrap()).collect();

    let memory = MemoryLog::new(fixed(4, Durability::EveryRecord)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file =
        FileLog::create(dir.path().join("b.log"), fixed(4, Durability::EveryRecord)).unwrap();
    for log in [&memory as &dyn AuditLog, &file] {
        let appended = batched(log, 37);
        assert_eq!(appended, one_by_one, "per-record results differ");
        assert_eq!(log.head(), singles.head());
        assert_eq!(log.len(), 37);
        let report = log.verify().unwrap();
        assert!(report.is_ok(), "{report}");
        assert_eq!((report.records, report.checkpoints), (37, 9));
    }
    assert_eq!(memory.checkpoints(), singles.checkpoints());
}

#[test]
fn a_returned_batch_is_on_disk_under_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.log");
    let log = FileLog::create(&path, options(1000, Durability::EveryRecord)).unwrap();
    log.append_batch((0..50).map(event).collect()).unwrap();
    // Read the file as another reader would, while the log is still open: all 50 are there.
    let report = Verifier::keyed(&hexvault_audit::AuditKey::from_bytes(common::KEY))
        .with_public_key(public_key())
        .verify_file(&path)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 50);
    drop(log);
    let (reopened, report) = FileLog::open(&path, options(1000, Durability::EveryRecord)).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(reopened.len(), 50);
}

#[test]
fn a_batch_that_fails_midway_appends_nothing() {
    // The fixed clock overflows at record 3: a batch of 5 from an empty log fails on its
    // fourth event.
    let near_end = u64::MAX - 10;
    let memory =
        MemoryLog::new(options(2, Durability::EveryRecord).fixed_clock(near_end, 5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.log");
    let file = FileLog::create(
        &path,
        options(2, Durability::EveryRecord).fixed_clock(near_end, 5),
    )
    .unwrap();
    for log in [&memory as &dyn AuditLog, &file] {
        let before = log.head();
        let err = log.append_batch((0..5).map(event).collect()).unwrap_err();
        assert!(matches!(err, hexvault_audit::Error::Clock), "{err:?}");
        assert_eq!(log.len(), 0, "a failed batch left records");
        assert_eq!(log.head(), before, "a failed batch moved the chain");
        // The log goes on from where it was: sequence 0 is still free.
        let ok = log.append_batch((0..3).map(event).collect()).unwrap();
        assert_eq!(
            ok.iter().map(|a| a.sequence.get()).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let report = log.verify().unwrap();
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.records, 3);
    }
    assert!(memory.append_batch(Vec::new()).unwrap().is_empty());
    assert_eq!(memory.len(), 3);
}

#[test]
fn concurrent_batches_on_a_file_log_are_gapless_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.log");
    let log: Arc<dyn AuditLog> =
        Arc::new(FileLog::create(&path, options(64, Durability::EveryRecord)).unwrap());
    let handles: Vec<_> = (0..4_u64)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for b in 0..25_u64 {
                    let base = (t * 25 + b) * 8;
                    let got = log
                        .append_batch((base..base + 8).map(event).collect())
                        .unwrap();
                    // One batch is consecutive: nothing interleaves inside it.
                    let first = got[0].sequence.get();
                    assert!(got.iter().map(|a| a.sequence.get()).eq(first..first + 8));
                    seqs.extend(got.into_iter().map(|a| a.sequence.get()));
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
    assert!(
        all.iter().copied().eq(0..800),
        "sequence numbers are not gapless"
    );
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 800);
}
