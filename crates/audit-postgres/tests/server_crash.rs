//! The PostgreSQL server crashes (immediate stop: no shutdown checkpoint, crash recovery at
//! the next start) while threads append through group-committing handles: every
//! acknowledged record is there after the restart and the chain verifies.
//!
//! A test binary of its own: cargo runs test binaries one after another, so restarting
//! the server here never breaks the tests of `postgres.rs`. It needs the throwaway
//! cluster's restart script: `cargo xtask postgres` sets `HEXVAULT_TEST_PG_RESTART`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::{Arc, Mutex};

use hexvault_audit::{AuditLog, Event, EventKind, LogEntry};
use hexvault_audit_postgres::PgLog;

mod common;

use common::{client, options};

/// The interval checkpoint of the crashed log.
const CHECKPOINT_EVERY: u64 = 25;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the throwaway PostgreSQL cluster; run it with \
             `cargo xtask postgres`"
        )
    })
}

/// Stops the server as a crash would and starts it again.
fn crash_and_restart() {
    let status = std::process::Command::new(var("HEXVAULT_TEST_PG_RESTART"))
        .status()
        .unwrap();
    assert!(status.success(), "the restart script failed: {status}");
}

/// `threads` threads append through `log` until an append fails; every acknowledged
/// `(sequence, chain)` goes into `acked`.
fn appenders(
    log: &Arc<PgLog>,
    threads: u64,
    acked: &Arc<Mutex<Vec<(u64, String)>>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|_| {
            let log = Arc::clone(log);
            let acked = Arc::clone(acked);
            std::thread::spawn(move || {
                for n in 0..1_000_000u64 {
                    let result = if n % 3 == 0 {
                        log.append_batch(vec![Event::new(EventKind::Seal); 3])
                    } else {
                        log.append(Event::new(EventKind::Traverse)).map(|a| vec![a])
                    };
                    let Ok(appended) = result else { return };
                    let mut acked = acked.lock().unwrap();
                    acked.extend(
                        appended
                            .into_iter()
                            .map(|a| (a.sequence.get(), a.chain.to_string())),
                    );
                }
            })
        })
        .collect()
}

/// Two rounds: 6 threads on a pipelined handle and 3 threads on a second handle (one
/// connection) append to one log; the server is stopped immediately once 150 more records
/// are acknowledged, then started again. Every acknowledged record is present with its
/// chain value, the log verifies, and appends go on right after its last record.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_server_crash_loses_no_acknowledged_record() {
    let id = PgLog::create(client(), options(CHECKPOINT_EVERY))
        .unwrap()
        .log_id();
    let acked = Arc::new(Mutex::new(Vec::new()));
    for round in 1..=2 {
        let pipelined = Arc::new(
            PgLog::open(client(), id, options(CHECKPOINT_EVERY))
                .unwrap()
                .with_flush_connection(client())
                .unwrap(),
        );
        let single = Arc::new(PgLog::open(client(), id, options(CHECKPOINT_EVERY)).unwrap());
        let before = acked.lock().unwrap().len();
        let mut threads = appenders(&pipelined, 6, &acked);
        threads.extend(appenders(&single, 3, &acked));
        let started = std::time::Instant::now();
        while acked.lock().unwrap().len() < before + 150 {
            assert!(
                started.elapsed().as_secs() < 120,
                "round {round}: 150 appends not acknowledged within 2 minutes"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        crash_and_restart();
        for t in threads {
            t.join().unwrap();
        }
        let log = PgLog::open(client(), id, options(CHECKPOINT_EVERY)).unwrap();
        let report = log.verify().unwrap();
        assert!(report.is_ok(), "round {round}: {report}");
        let acked = acked.lock().unwrap();
        assert!(report.records >= acked.len() as u64);
        let stored = log.read().unwrap();
        let (entries, unreadable) = stored.decoded().unwrap();
        assert!(unreadable.is_none());
        let chains: Vec<String> = entries
            .iter()
            .filter_map(|e| match e {
                LogEntry::Record { chain, .. } => Some(chain.to_string()),
                _ => None,
            })
            .collect();
        for (seq, chain) in acked.iter() {
            assert_eq!(
                chains.get(usize::try_from(*seq).unwrap()),
                Some(chain),
                "round {round}: acknowledged record {seq} lost or changed by the crash"
            );
        }
        eprintln!(
            "round {round}: {} acknowledged, {} in the log after the restart",
            acked.len(),
            report.records
        );
        assert_eq!(
            log.append(Event::new(EventKind::Open))
                .unwrap()
                .sequence
                .get(),
            report.records
        );
    }
}
