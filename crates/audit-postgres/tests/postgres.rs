//! Tests against a real PostgreSQL server (no mock): many writer processes, kill -9, SQL
//! tampering, the same chain as the file log, schema migration.
//!
//! They need a server: `cargo xtask postgres` starts a throwaway cluster and runs them
//! with `--ignored`. Without `HEXVAULT_TEST_POSTGRES_URL` they fail (never skip).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use core::num::NonZeroU16;

use hexvault_audit::{
    Anchor, AuditKey, AuditLog, ChainValue, Damage, Event, EventKind, FileLog, LogId, LogOptions,
    MemoryLog, Report, Sequence, Verifier,
};
use hexvault_audit_postgres::postgres::{Client, NoTls};
use hexvault_audit_postgres::{DEFAULT_PAGE_ROWS, Error, PgLog, SCHEMA_VERSION, StoredLog};

mod common;

use common::{AUDIT_KEY, SIGNING_SEED, block_head_row, blocked_by, client, options, url, verifier};

/// Set in a child process: `<log id hex> <appends> <batch size>`.
const CHILD_VAR: &str = "HEXVAULT_TEST_PG_WRITER";

fn event(n: u64) -> Event {
    Event::new(match n % 4 {
        0 => EventKind::Seal,
        1 => EventKind::Open,
        2 => EventKind::Traverse,
        _ => EventKind::Rotate,
    })
}

/// Writer process (spawned by the tests below with `CHILD_VAR` set): appends to the given
/// log and prints `ack <seq> <chain>` for every acknowledged record. Run alone, it is a
/// test of its own: four threads sharing one handle, 50 appends each.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn writer_process() {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        let mut parts = spec.split(' ');
        let log_id: LogId = parts.next().unwrap().parse().unwrap();
        let appends: u64 = parts.next().unwrap().parse().unwrap();
        let batch: u64 = parts.next().unwrap().parse().unwrap();
        // The interval the log was created with: a writer never takes it from the database.
        let every: u64 = parts.next().unwrap().parse().unwrap();
        // Threads sharing the one handle (group commit), each `appends` / `threads`.
        let threads: u64 = parts.next().map_or(1, |t| t.parse().unwrap());
        let log = Arc::new(PgLog::open(client(), log_id, options(every)).unwrap());
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut done = 0;
                    while done < appends / threads {
                        let events = (0..batch).map(|i| event(done + i)).collect();
                        let appended = log.append_batch(events).unwrap();
                        // One line per batch: a thread's lines never interleave.
                        let lines: String = appended
                            .iter()
                            .map(|a| format!("ack {} {}\n", a.sequence, a.chain))
                            .collect();
                        print!("{lines}");
                        done += batch;
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        return;
    }
    let log = Arc::new(PgLog::create(client(), options(16)).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..50)
                    .map(|n| log.append(event(n)).unwrap().sequence.get())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.checkpoints), (200, 12));
}

fn spawn_writer(log_id: LogId, appends: u64, batch: u64, every: u64) -> Child {
    spawn_threaded_writer(log_id, appends, batch, every, 1)
}

/// A writer process whose `threads` threads share one handle.
fn spawn_threaded_writer(
    log_id: LogId,
    appends: u64,
    batch: u64,
    every: u64,
    threads: u64,
) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["writer_process", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(
            CHILD_VAR,
            format!("{log_id} {appends} {batch} {every} {threads}"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// `(sequence, chain)` of every `ack` line a writer printed.
fn acks(reader: impl BufRead) -> impl Iterator<Item = (u64, String)> {
    reader.lines().map_while(Result::ok).filter_map(|line| {
        // libtest may print "test writer_process ... " before the first line.
        let at = line.find("ack ")?;
        let mut words = line.get(at + 4..)?.split(' ');
        Some((words.next()?.parse().ok()?, words.next()?.to_owned()))
    })
}

/// Checks that every acknowledged record is in the log with the acknowledged chain value.
fn assert_acknowledged_present(log: &PgLog, acked: &[(u64, String)]) {
    let stored = log.read().unwrap();
    let (entries, unreadable) = stored.decoded().unwrap();
    assert!(unreadable.is_none());
    let chains: Vec<String> = entries
        .iter()
        .filter_map(|e| match e {
            hexvault_audit::LogEntry::Record { chain, .. } => Some(chain.to_string()),
            _ => None,
        })
        .collect();
    for (seq, chain) in acked {
        assert_eq!(
            chains.get(usize::try_from(*seq).unwrap()),
            Some(chain),
            "acknowledged record {seq} missing or different"
        );
    }
}

/// 4 processes × 2,000 appends into one log: gapless, verifies, nothing lost.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn four_processes_append_2000_each() {
    let log = PgLog::create(client(), options(100)).unwrap();
    let started = std::time::Instant::now();
    let children: Vec<Child> = (0..4)
        .map(|_| spawn_writer(log.log_id(), 2000, 1, 100))
        .collect();
    let mut acked = Vec::new();
    for mut child in children {
        let out = child.stdout.take().unwrap();
        let mine: Vec<_> = acks(BufReader::new(out)).collect();
        assert!(child.wait().unwrap().success());
        assert_eq!(mine.len(), 2000);
        acked.extend(mine);
    }
    eprintln!(
        "4 x 2000 appends from 4 processes in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..8000).collect::<Vec<_>>(), "gapless, no duplicate");
    let report = log
        .verify_with(&verifier().require_anchored_tail(true))
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.records, report.checkpoints), (8000, 80));
    assert_eq!(log.refresh().unwrap().next, 8000);
    assert_acknowledged_present(&log, &acked);
}

/// Writers killed with SIGKILL mid-append, again and again: every acknowledged record is
/// present and the chain verifies.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn killed_writers_lose_nothing_acknowledged() {
    let log = PgLog::create(client(), options(7)).unwrap();
    let mut acked = Vec::new();
    for round in 0..6u64 {
        let mut children: Vec<Child> = [1, 5]
            .iter()
            .map(|batch| spawn_writer(log.log_id(), u64::MAX / 2, *batch, 7))
            .collect();
        // Kill each as soon as it acknowledged a few records: it is then inside its next
        // append (preparing, in its transaction or waiting for COMMIT).
        for (i, child) in children.iter_mut().enumerate() {
            let out = child.stdout.take().unwrap();
            let want = 20 + round * 3 + i as u64;
            let mut reader = acks(BufReader::new(out));
            for _ in 0..want {
                acked.push(reader.next().unwrap());
            }
            child.kill().unwrap(); // SIGKILL
            // Acknowledgements printed before the signal landed count as well.
            acked.extend(reader);
            child.wait().unwrap();
        }
    }
    // A statement a killed client sent may still commit on its server backend (its
    // record was never acknowledged): wait until the head stops moving.
    let mut head = log.refresh().unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = log.refresh().unwrap();
        if now == head {
            break;
        }
        head = now;
    }
    let report = log.verify_with(&verifier()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(head.next, report.records);
    assert!(report.records >= acked.len() as u64);
    assert_acknowledged_present(&log, &acked);
    // The log goes on after the kills.
    assert_eq!(log.append(event(0)).unwrap().sequence.get(), report.records);
}

/// The same events under the same log id, keys and clock give the same chain head,
/// checkpoints and records in a file log, a memory log and PostgreSQL; single appends and
/// batches alike.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn same_chain_as_file_log() {
    // A fresh id per run (the database outlives a test), fixed within the run.
    let id = LogId::random().unwrap();
    let fixed = |o: LogOptions| {
        o.fixed_log_id(id)
            .fixed_clock(1_700_000_000_000_000_000, 1_000)
    };
    let dir = tempfile::tempdir().unwrap();
    let file = FileLog::create(dir.path().join("audit.log"), fixed(options(5))).unwrap();
    let memory = MemoryLog::new(fixed(options(5))).unwrap();
    let pg = PgLog::create(client(), fixed(options(5))).unwrap();
    assert_eq!(pg.log_id(), id);
    let logs: [&dyn AuditLog; 3] = [&file, &memory, &pg];
    for log in logs {
        for n in 0..7 {
            log.append(event(n)).unwrap();
        }
        log.append_batch((7..19).map(event).collect()).unwrap();
        log.append(event(19)).unwrap();
        log.checkpoint().unwrap();
        log.append(event(20)).unwrap();
    }
    assert_eq!(pg.head(), file.head());
    assert_eq!(pg.head(), memory.head());
    assert_eq!(pg.len(), 21);
    let stored = pg.read().unwrap();
    let (entries, _) = stored.decoded().unwrap();
    let file_entries = hexvault_audit::LogContents::read(dir.path().join("audit.log"))
        .unwrap()
        .entries;
    assert_eq!(entries, file_entries, "records and checkpoints, in order");
    let report = stored.verify(&verifier()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.head, Some(file.head()));
    // The anchor is the file log's anchor, byte for byte.
    let anchor = pg.anchor().unwrap().unwrap();
    assert_eq!(
        anchor.encode(),
        std::fs::read(Anchor::path_for(&dir.path().join("audit.log"))).unwrap()
    );
    // Checkpoint on demand is idempotent while no record follows.
    let again = pg.checkpoint().unwrap().unwrap();
    assert_eq!(again, pg.checkpoint().unwrap().unwrap());
    assert_eq!(again.sequence.get(), 20);
}

/// Two handles on one log, appending in turn: after the first append each finds the head
/// moved by the other, so every later append (single or batch, with the interval
/// checkpoints of every 5 records) goes through the locked path (`BEGIN` and its setting in
/// one message, the head row locked, the write, `COMMIT`; ADR 0068 amendment of round 6).
/// Each append returns what the file log's does for the same events, and the log holds,
/// byte for byte, the file log's records and checkpoints, and verifies.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn the_locked_path_writes_what_a_file_log_writes() {
    let id = LogId::random().unwrap();
    let fixed = |o: LogOptions| {
        o.fixed_log_id(id)
            .fixed_clock(1_700_000_000_000_000_000, 1_000)
    };
    let dir = tempfile::tempdir().unwrap();
    let file = FileLog::create(dir.path().join("audit.log"), fixed(options(5))).unwrap();
    let a = PgLog::create(client(), fixed(options(5))).unwrap();
    let b = PgLog::open(client(), id, fixed(options(5))).unwrap();
    let mut n = 0;
    for round in 0..12 {
        let pg = if round % 2 == 0 { &a } else { &b };
        let size = [1, 3, 1, 7, 64, 2][round % 6];
        let events: Vec<Event> = (n..n + size).map(event).collect();
        n += size;
        let from_pg = if size == 1 {
            vec![pg.append(events[0].clone()).unwrap()]
        } else {
            pg.append_batch(events.clone()).unwrap()
        };
        let from_file = file.append_batch(events).unwrap();
        assert_eq!(from_pg, from_file, "round {round}");
    }
    assert_eq!(b.head(), file.head());
    let stored = a.read().unwrap();
    let (entries, _) = stored.decoded().unwrap();
    let file_entries = hexvault_audit::LogContents::read(dir.path().join("audit.log"))
        .unwrap()
        .entries;
    assert_eq!(entries, file_entries, "records and checkpoints, in order");
    let report = stored.verify(&verifier()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, n);
}

/// A locked write the server refuses (a row already at the batch's first sequence, put
/// there through SQL) fails the batch: the transaction is rolled back, so the head row,
/// the records and the lock are as before; the other handle appends
/// at once (the lock was released), and once the row is gone the refused handle appends
/// again, gapless, and the log verifies.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_refused_locked_write_leaves_the_head_and_the_lock_as_before() {
    // A lock left held by b would fail a's appends after 5 s instead of hanging the test.
    let mut impatient = client();
    impatient.batch_execute("SET lock_timeout = '5s'").unwrap();
    let a = PgLog::create(impatient, options(0)).unwrap();
    let b = PgLog::open(client(), a.log_id(), options(0)).unwrap();
    a.append(event(0)).unwrap();
    b.append(event(1)).unwrap();
    a.append(event(2)).unwrap();
    // b is contended (a moved the head): its next batch takes the lock, then hits the row.
    let id = a.log_id().as_bytes().to_vec();
    sql(
        "INSERT INTO hexvault_audit_records (log_id, seq, record, chain) \
         VALUES ($1, 3, '\\x00', '\\x0000000000000000000000000000000000000000000000000000000000000000')",
        &id,
    );
    let err = b.append_batch((3..6).map(event).collect()).unwrap_err();
    let hexvault_audit::Error::Storage(inner) = &err else {
        panic!("not a storage error: {err}");
    };
    let Some(Error::Database(db)) = inner.downcast_ref::<Error>() else {
        panic!("not a database error: {err}");
    };
    assert_eq!(
        db.code(),
        Some(&hexvault_audit_postgres::postgres::error::SqlState::UNIQUE_VIOLATION),
        "{db:?}"
    );
    assert_eq!(a.refresh().unwrap().next, 3, "the head row did not move");
    sql(
        "DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq = 3",
        &id,
    );
    // The head row's lock was released: a's append does not wait for b's transaction.
    assert_eq!(a.append(event(3)).unwrap().sequence.get(), 3);
    let seqs: Vec<u64> = b
        .append_batch((4..7).map(event).collect())
        .unwrap()
        .iter()
        .map(|x| x.sequence.get())
        .collect();
    assert_eq!(seqs, [4, 5, 6]);
    let report = a.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 7);
}

/// A format-2 log (as every log created under schema 1 is) stays verifiable and is
/// continued in format 2 after reopening; its row's `chain_format` says so. A new log is
/// format 3, and its row says that too.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_format_2_log_keeps_its_format() {
    let id = LogId::random().unwrap();
    let legacy = || options(4).fixed_log_id(id).legacy_format_2();
    let log = PgLog::create(client(), legacy()).unwrap();
    // What migration 2 gives a log of schema 1.
    let mut c = client();
    c.execute(
        "UPDATE hexvault_audit_logs SET chain_format = 2 WHERE log_id = $1",
        &[&id.as_bytes().as_slice()],
    )
    .unwrap();
    for n in 0..6 {
        log.append(event(n)).unwrap();
    }
    drop(log);
    let log = PgLog::open(client(), id, options(4)).unwrap();
    log.append_batch((6..9).map(event).collect()).unwrap();
    let stored = log.read().unwrap();
    assert_eq!(stored.header().format_version, 2);
    let report = stored.verify(&verifier()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.format_version, report.records), (2, 9));
    // A new log is format 3.
    let fresh = PgLog::create(client(), options(4)).unwrap();
    fresh.append(event(0)).unwrap();
    let stored = fresh.read().unwrap();
    assert_eq!(stored.header().format_version, 3);
    assert_eq!(stored.verify(&verifier()).unwrap().format_version, 3);
    // A changed format in the row makes every record fail, in both directions.
    let mut c = client();
    c.execute(
        "UPDATE hexvault_audit_logs SET chain_format = 2 WHERE log_id = $1",
        &[&fresh.log_id().as_bytes().as_slice()],
    )
    .unwrap();
    let report = fresh.read().unwrap().verify(&verifier()).unwrap();
    assert_eq!(report.failure.unwrap().sequence, Sequence::ZERO, "{report}");
}

/// A batch that fails to encode appends nothing; appends go on at the same sequence.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn failed_batch_appends_nothing() {
    // Record 6 would be stamped past u64::MAX nanoseconds: the clock error comes mid-batch.
    let id = LogId::random().unwrap();
    let opts = || options(0).fixed_log_id(id).fixed_clock(u64::MAX - 5, 1);
    let log = PgLog::create(client(), opts()).unwrap();
    log.append_batch((0..3).map(event).collect()).unwrap();
    let err = log.append_batch((0..10).map(event).collect()).unwrap_err();
    assert!(matches!(err, hexvault_audit::Error::Clock), "{err}");
    assert_eq!(log.len(), 3);
    assert_eq!(log.refresh().unwrap().next, 3);
    assert_eq!(log.append(event(3)).unwrap().sequence.get(), 3);
    assert!(log.append_batch(Vec::new()).unwrap().is_empty());
    assert!(log.verify().unwrap().is_ok());
}

#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn open_checks_keys_and_log() {
    let log = PgLog::create(client(), options(10)).unwrap();
    log.append(event(0)).unwrap();
    let id = log.log_id();
    let other_key = LogOptions::keyed(&AuditKey::from_bytes([1; 32])).signing_seed(SIGNING_SEED);
    assert!(matches!(
        PgLog::open(client(), id, other_key),
        Err(Error::OptionsMismatch { .. })
    ));
    let other_signer = LogOptions::keyed(&AuditKey::from_bytes(AUDIT_KEY)).signing_seed([2; 32]);
    assert!(matches!(
        PgLog::open(client(), id, other_signer),
        Err(Error::OptionsMismatch { .. })
    ));
    assert!(matches!(
        PgLog::open(
            client(),
            id,
            LogOptions::unkeyed().signing_seed(SIGNING_SEED)
        ),
        Err(Error::OptionsMismatch { .. })
    ));
    let unknown = LogId::random().unwrap();
    assert!(matches!(
        PgLog::open(client(), unknown, options(10)),
        Err(Error::UnknownLog(u)) if u == unknown
    ));
    // The interval is never taken from the database: other options are refused.
    assert!(matches!(
        PgLog::open(client(), id, options(3)),
        Err(Error::OptionsMismatch { .. })
    ));
    let reopened = PgLog::open(client(), id, options(10)).unwrap();
    assert_eq!(reopened.len(), 1);
    for n in 1..10 {
        assert!(reopened.append(event(n)).unwrap().checkpoint.is_none() || n == 9);
    }
    // A wrong audit key is refused by the verifier before any record.
    let wrong = Verifier::keyed(&AuditKey::from_bytes([1; 32]));
    assert!(matches!(
        log.verify_with(&wrong),
        Err(Error::Audit(hexvault_audit::Error::WrongKey))
    ));
    // A signed log needs the trusted key.
    assert!(matches!(
        log.verify_with(&Verifier::keyed(&AuditKey::from_bytes(AUDIT_KEY))),
        Err(Error::Audit(hexvault_audit::Error::TrustedKeyRequired))
    ));
}

/// A log of 40 records with a checkpoint every 10, for one tampering case.
fn tamper_target() -> (PgLog, Vec<u8>) {
    let log = PgLog::create(client(), options(10)).unwrap();
    log.append_batch((0..25).map(event).collect()).unwrap();
    for n in 25..40 {
        log.append(event(n)).unwrap();
    }
    assert!(log.verify().unwrap().is_ok());
    let id = log.log_id().as_bytes().to_vec();
    (log, id)
}

/// Verifies `log` page by page with every page size from 1 to 42 (so a damaged row of the
/// 40-record tamper target is the first and the last row of a page) and the default, and
/// reads it whole ([`StoredLog::read`] then [`StoredLog::verify`]): every outcome must be
/// the same (report or error). Returns it.
fn verified(log: &PgLog, verifier: &Verifier) -> Result<Report, Error> {
    let whole = log.read().and_then(|stored| stored.verify(verifier));
    let pages = (1..=42).chain([DEFAULT_PAGE_ROWS.get()]);
    for page in pages {
        let paged = log.verify_paged(verifier, NonZeroU16::new(page).unwrap());
        assert_eq!(
            format!("{paged:?}"),
            format!("{whole:?}"),
            "page of {page} rows"
        );
    }
    let default = log.verify_with(verifier);
    assert_eq!(format!("{default:?}"), format!("{whole:?}"));
    whole
}

fn failure_of(log: &PgLog, verifier: &Verifier) -> (u64, Damage) {
    let report = verified(log, verifier).unwrap();
    let failure = report
        .failure
        .unwrap_or_else(|| panic!("undetected: {report}"));
    (failure.sequence.get(), failure.reason)
}

fn sql(statement: &str, id: &[u8]) {
    let rows = client().execute(statement, &[&id]).unwrap();
    assert!(rows > 0, "{statement} changed nothing");
}

/// Tampering through SQL, each case on a fresh log: detected, with its sequence number.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn sql_tampering_is_detected_with_its_sequence() {
    let cases: &[(&str, &[&str], u64)] = &[
        (
            "a record field updated",
            &[
                "UPDATE hexvault_audit_records SET record = set_byte(record, 9, get_byte(record, 9) # 255) WHERE log_id = $1 AND seq = 17",
            ],
            17,
        ),
        (
            "a stored chain value updated",
            &[
                "UPDATE hexvault_audit_records SET chain = sha256(chain) WHERE log_id = $1 AND seq = 23",
            ],
            23,
        ),
        (
            "a record deleted",
            &["DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq = 5"],
            5,
        ),
        (
            "two sequence numbers swapped",
            &[
                "UPDATE hexvault_audit_records SET seq = -1 WHERE log_id = $1 AND seq = 12",
                "UPDATE hexvault_audit_records SET seq = 12 WHERE log_id = $1 AND seq = 13",
                "UPDATE hexvault_audit_records SET seq = 13 WHERE log_id = $1 AND seq = -1",
            ],
            12,
        ),
        (
            "a checkpoint signature forged",
            &[
                "UPDATE hexvault_audit_checkpoints SET checkpoint = set_byte(checkpoint, 99, get_byte(checkpoint, 99) # 255) WHERE log_id = $1 AND seq = 19",
            ],
            19,
        ),
        (
            "a checkpoint row deleted",
            &["DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 29"],
            29,
        ),
        (
            "a checkpoint row truncated",
            &[
                "UPDATE hexvault_audit_checkpoints SET checkpoint = substring(checkpoint from 1 for 50) WHERE log_id = $1 AND seq = 9",
            ],
            9,
        ),
        (
            "the tail deleted (the head row still counts it)",
            &[
                "DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq >= 33",
                "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq >= 33",
            ],
            33,
        ),
    ];
    // The CHECK constraints stop some edits (a chain value of another length); an
    // attacker with database access drops them first, so the reader must cope.
    let mut admin = client();
    // The tables exist even when this test runs alone.
    hexvault_audit_postgres::migrate(&mut admin).unwrap();
    admin
        .batch_execute(
            "ALTER TABLE hexvault_audit_records DROP CONSTRAINT IF EXISTS hexvault_audit_records_seq_check",
        )
        .unwrap();
    for (what, statements, expected) in cases {
        let (log, id) = tamper_target();
        for statement in *statements {
            sql(statement, &id);
        }
        let (sequence, reason) = failure_of(&log, &verifier());
        assert_eq!(sequence, *expected, "{what}: {reason}");
        eprintln!("{what}: detected at sequence {sequence} ({reason})");
    }
    // A chain value of the wrong length (constraint dropped): unreadable at its sequence.
    admin
        .batch_execute(
            "ALTER TABLE hexvault_audit_records DROP CONSTRAINT IF EXISTS hexvault_audit_records_chain_check",
        )
        .unwrap();
    let (log, id) = tamper_target();
    sql(
        "UPDATE hexvault_audit_records SET chain = substring(chain from 1 for 31) WHERE log_id = $1 AND seq = 31",
        &id,
    );
    assert_eq!(failure_of(&log, &verifier()), (31, Damage::Encoding));
    // Unreadable rows together, and checkpoint rows out of place: the entries given to the
    // verifier (and so the outcome) depend on the first unreadable row of either table,
    // wherever it is; the paged reader finds it first, as the whole-log reader does.
    admin
        .batch_execute(
            "ALTER TABLE hexvault_audit_checkpoints DROP CONSTRAINT IF EXISTS hexvault_audit_checkpoints_seq_check",
        )
        .unwrap();
    let short_chain = |seq: u64| {
        format!(
            "UPDATE hexvault_audit_records SET chain = substring(chain from 1 for 31) WHERE log_id = $1 AND seq = {seq}"
        )
    };
    let short_checkpoint = |seq: u64| {
        format!(
            "UPDATE hexvault_audit_checkpoints SET checkpoint = substring(checkpoint from 1 for 50) WHERE log_id = $1 AND seq = {seq}"
        )
    };
    // The checkpoint of 39 copied into a row at seq 4 (before the checkpoint of 9).
    let early_copy = "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) \
         SELECT log_id, 4, checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 39";
    let unreadable: Vec<(&str, Vec<String>, (u64, Damage))> = vec![
        (
            "a checkpoint row with a negative seq (charged to the start)",
            vec!["UPDATE hexvault_audit_checkpoints SET seq = -5 WHERE log_id = $1 AND seq = 19".to_owned()],
            (0, Damage::Encoding),
        ),
        ("the last record's chain value cut short", vec![short_chain(39)], (39, Damage::Encoding)),
        ("the first record's chain value cut short", vec![short_chain(0)], (0, Damage::Encoding)),
        (
            "a record unreadable before an unreadable checkpoint",
            vec![short_chain(15), short_checkpoint(29)],
            (15, Damage::Encoding),
        ),
        (
            "a checkpoint unreadable before an unreadable record",
            vec![short_checkpoint(9), short_chain(31)],
            (9, Damage::Encoding),
        ),
        (
            "an unreadable checkpoint row past the last record",
            vec![
                "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) VALUES ($1, 45, '\\x01'::bytea)"
                    .to_owned(),
            ],
            (40, Damage::Encoding),
        ),
        (
            "a checkpoint row out of place (it holds up the checkpoints after it)",
            vec![early_copy.to_owned()],
            (9, Damage::MissingCheckpoint),
        ),
        (
            "a checkpoint row out of place naming a record past an unreadable one (left out)",
            vec![early_copy.to_owned(), short_chain(31)],
            (31, Damage::Encoding),
        ),
    ];
    for (what, statements, expected) in unreadable {
        let (log, id) = tamper_target();
        for statement in &statements {
            sql(statement, &id);
        }
        assert_eq!(failure_of(&log, &verifier()), expected, "{what}");
        eprintln!("{what}: detected at sequence {}", expected.0);
    }
    restore_constraints(&mut admin);
    admin
        .batch_execute(
            "ALTER TABLE hexvault_audit_checkpoints ADD CONSTRAINT hexvault_audit_checkpoints_seq_check CHECK (seq >= 0) NOT VALID;",
        )
        .unwrap();
}

/// A log of a few thousand records verifies page by page with pages of 1, 7 and the
/// default number of rows, with the same report as read whole; with a record changed in
/// the middle, the same failure.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_long_log_verifies_the_same_with_any_page_size() {
    let log = PgLog::create(client(), options(100)).unwrap();
    assert!(log.anchor().unwrap().is_none());
    for chunk in 0..30u64 {
        log.append_batch((chunk * 100..chunk * 100 + 100).map(event).collect())
            .unwrap();
    }
    for n in 3000..3050 {
        log.append(event(n)).unwrap();
    }
    let check = |expect_ok: bool| {
        let verifier = verifier();
        let whole = log.read().unwrap().verify(&verifier).unwrap();
        assert_eq!(whole.is_ok(), expect_ok, "{whole}");
        for page in [1, 7, DEFAULT_PAGE_ROWS.get()] {
            let paged = log
                .verify_paged(&verifier, NonZeroU16::new(page).unwrap())
                .unwrap();
            assert_eq!(paged, whole, "page of {page} rows");
        }
        whole
    };
    let report = check(true);
    assert_eq!(report.records, 3050);
    assert_eq!(report.checkpoints, 30);
    assert_eq!(report.unanchored_records(), 50);
    // The anchor of the verified snapshot is the latest checkpoint, as the one-row read
    // and the whole-log read give it.
    let latest = log.anchor().unwrap().unwrap();
    assert_eq!(latest.sequence().get(), 2999);
    assert_eq!(
        log.read()
            .unwrap()
            .latest_anchor(&mut client())
            .unwrap()
            .unwrap()
            .encode(),
        latest.encode()
    );
    for page in [1, 7, DEFAULT_PAGE_ROWS.get()] {
        let (paged, anchor) = hexvault_audit_postgres::verify_and_anchor(
            &mut client(),
            log.log_id(),
            &verifier(),
            NonZeroU16::new(page).unwrap(),
        )
        .unwrap();
        assert_eq!(paged, report);
        assert_eq!(anchor.unwrap().encode(), latest.encode());
    }
    let id = log.log_id().as_bytes().to_vec();
    sql(
        "UPDATE hexvault_audit_records SET record = set_byte(record, 9, get_byte(record, 9) # 255) WHERE log_id = $1 AND seq = 1777",
        &id,
    );
    let report = check(false);
    assert_eq!(report.failure.unwrap().sequence, Sequence::new(1777));
    // The latest checkpoint row cut short: no anchor from it.
    sql(
        "UPDATE hexvault_audit_checkpoints SET checkpoint = substring(checkpoint from 1 for 50) WHERE log_id = $1 AND seq = 2999",
        &id,
    );
    assert!(matches!(
        log.anchor(),
        Err(Error::Audit(hexvault_audit::Error::Malformed(_)))
    ));
}

fn restore_constraints(admin: &mut Client) {
    // Other tests run in parallel on the same tables: put the constraints back (NOT VALID:
    // the rows tampered above stay as they are).
    admin
        .batch_execute(
            "ALTER TABLE hexvault_audit_records ADD CONSTRAINT hexvault_audit_records_seq_check CHECK (seq >= 0) NOT VALID;
             ALTER TABLE hexvault_audit_records ADD CONSTRAINT hexvault_audit_records_chain_check CHECK (length(chain) = 32) NOT VALID;",
        )
        .unwrap();
}

/// A tail cut together with the head row (everything an attacker with database access can
/// change): the anchor exported before detects it, with the number of records missing.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn tail_cut_with_head_row_is_caught_by_the_anchor() {
    let (log, id) = tamper_target();
    let anchor = Anchor::decode(&log.anchor().unwrap().unwrap().encode()).unwrap();
    assert_eq!(anchor.sequence().get(), 39);
    let stored = log.read().unwrap();
    let (entries, _) = stored.decoded().unwrap();
    let chain_of = |seq: u64| -> ChainValue {
        entries
            .iter()
            .find_map(|e| match e {
                hexvault_audit::LogEntry::Record { record, chain }
                    if record.sequence.get() == seq =>
                {
                    Some(*chain)
                }
                _ => None,
            })
            .unwrap()
    };
    let head_at_29 = chain_of(29);
    let mut c = client();
    c.execute(
        "DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq >= 30",
        &[&id],
    )
    .unwrap();
    c.execute(
        "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq >= 30",
        &[&id],
    )
    .unwrap();
    // The public head cannot be recomputed without the records; the attacker copies the
    // checkpoint's (it is in the checkpoint row at 29).
    let cp29 = hexvault_audit::Checkpoint::decode(
        c.query_one(
            "SELECT checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 29",
            &[&id],
        )
        .unwrap()
        .get::<_, &[u8]>(0),
    )
    .unwrap();
    c.execute(
        "UPDATE hexvault_audit_logs SET next_seq = 30, head = $2, public_head = $3, last_checkpoint = 29 WHERE log_id = $1",
        &[&id, &head_at_29.as_bytes().as_slice(), &cp29.public_chain.unwrap().as_bytes().as_slice()],
    )
    .unwrap();
    // Without the anchor the cut is invisible: the log ends at a checkpoint.
    assert!(verified(&log, &verifier()).unwrap().is_ok());
    // With it: cut short, 10 records missing from sequence 30.
    let (sequence, reason) = failure_of(&log, &verifier().with_anchor(anchor));
    assert_eq!((sequence, reason), (30, Damage::Truncated { missing: 10 }));
}

/// A head row changed alone is reported (the records verify, the head does not fit).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn head_row_changed_is_reported() {
    let (log, id) = tamper_target();
    sql(
        "UPDATE hexvault_audit_logs SET head = sha256(head) WHERE log_id = $1",
        &id,
    );
    assert!(matches!(
        verified(&log, &verifier()),
        Err(Error::InconsistentHead { .. })
    ));
    sql(
        "UPDATE hexvault_audit_logs SET next_seq = 20 WHERE log_id = $1",
        &id,
    );
    assert!(matches!(
        verified(&log, &verifier()),
        Err(Error::InconsistentHead { .. })
    ));
}

/// `stored_len` reads the committed length from the head row, while `len` is what the handle
/// last saw: another writer's appends show in the first only (the cells crate's replay asks
/// the store whether it reached the end, review round 25).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn stored_len_reads_the_head_row() {
    let a = PgLog::create(client(), options(0)).unwrap();
    let b = PgLog::open(client(), a.log_id(), options(0)).unwrap();
    a.append(event(0)).unwrap();
    b.append(event(1)).unwrap();
    b.append(event(2)).unwrap();
    assert_eq!(a.len(), 1, "a saw its own append only");
    assert_eq!(a.stored_len().unwrap(), 3);
    assert_eq!(b.stored_len().unwrap(), 3);
}

/// Public-key-only verification reads the same rows and catches an edited record up to
/// the last checkpoint.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn public_key_only_verification() {
    let (log, id) = tamper_target();
    let public =
        Verifier::public_key(hexvault_audit::SigningKey::from_bytes(&SIGNING_SEED).verifying_key());
    let report = verified(&log, &public).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.level, hexvault_audit::VerifyLevel::PublicKeyOnly);
    // Change a record and recompute nothing: the public chain at checkpoint 29 fails,
    // charged to the first record after checkpoint 19.
    sql(
        "UPDATE hexvault_audit_records SET record = set_byte(record, 11, get_byte(record, 11) # 255) WHERE log_id = $1 AND seq = 24",
        &id,
    );
    let report = verified(&log, &public).unwrap();
    assert_eq!(report.failure.unwrap().sequence, Sequence::new(20));
}

/// The schema is created once, concurrent migrations wait for each other, and a newer
/// schema is refused.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn schema_is_versioned() {
    let db = format!("hexvault_schema_{}", std::process::id());
    let mut admin = client();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config.dbname(&db);
    let fresh = || config.connect(NoTls).unwrap();
    assert!(matches!(
        StoredLog::read(&mut fresh(), LogId::random().unwrap()),
        Err(Error::NoSchema)
    ));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut c = fresh();
            std::thread::spawn(move || hexvault_audit_postgres::migrate(&mut c).unwrap())
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), SCHEMA_VERSION);
    }
    let mut c = fresh();
    assert_eq!(hexvault_audit_postgres::check_schema(&mut c).unwrap(), 2);
    c.execute("UPDATE hexvault_audit_schema SET version = 99", &[])
        .unwrap();
    assert!(matches!(
        PgLog::create(fresh(), options(0)),
        Err(Error::SchemaTooNew {
            found: 99,
            supported: 2
        })
    ));
    drop(c);
    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .unwrap();
}

/// Once the schema exists, a writer role with only SELECT, INSERT and UPDATE (no CREATE)
/// creates logs, appends and verifies.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn writers_need_no_create_privilege() {
    let role = format!("hexvault_writer_{}", std::process::id());
    let mut admin = client();
    hexvault_audit_postgres::migrate(&mut admin).unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role};
             CREATE ROLE {role} LOGIN;
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT SELECT, INSERT, UPDATE ON hexvault_audit_logs, hexvault_audit_records,
                 hexvault_audit_checkpoints TO {role};
             GRANT SELECT ON hexvault_audit_schema TO {role};"
        ))
        .unwrap();
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config.user(&role);
    // The role really cannot create tables.
    assert!(
        config
            .connect(NoTls)
            .unwrap()
            .batch_execute("CREATE TABLE hexvault_denied (x int)")
            .is_err()
    );
    let log = PgLog::create(config.connect(NoTls).unwrap(), options(4)).unwrap();
    log.append_batch((0..9).map(event).collect()).unwrap();
    let other = PgLog::open(config.connect(NoTls).unwrap(), log.log_id(), options(4)).unwrap();
    other.append(event(9)).unwrap();
    assert!(log.verify().unwrap().is_ok());
    drop((log, other));
    admin
        .batch_execute(&format!(
            "REVOKE ALL ON hexvault_audit_logs, hexvault_audit_records,
                 hexvault_audit_checkpoints, hexvault_audit_schema FROM {role};
             DROP ROLE {role};"
        ))
        .unwrap();
}

/// The durability of a contended append: `PgLog` commits it asynchronously (releasing the
/// head row's lock at once), then runs a synchronous transaction that only locks the
/// batch's last record row. That lock writes WAL, so its commit returns after the WAL is
/// flushed past it, and so past the asynchronous commit before it.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_row_lock_commit_waits_for_the_wal_flush() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(event(0)).unwrap();
    let id = log.log_id().as_bytes().to_vec();
    let mut c = client();
    c.batch_execute("CREATE TABLE IF NOT EXISTS hexvault_test_async (x int)")
        .unwrap();
    for _ in 0..20 {
        c.batch_execute("SET synchronous_commit = off; INSERT INTO hexvault_test_async VALUES (1)")
            .unwrap();
        let after_async: String = c
            .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
            .unwrap()
            .get(0);
        c.batch_execute("SET synchronous_commit = on").unwrap();
        // The statement PgLog runs after an asynchronous commit.
        c.execute(
            "SELECT 1 FROM hexvault_audit_records WHERE log_id = $1 AND seq = 0 FOR KEY SHARE",
            &[&id],
        )
        .unwrap();
        let flushed: bool = c
            .query_one(
                "SELECT pg_current_wal_flush_lsn() >= $1::text::pg_lsn",
                &[&after_async],
            )
            .unwrap()
            .get(0);
        assert!(flushed, "the WAL is not flushed past {after_async}");
    }
}

/// Someone with database access sets the head row's checkpoint interval to 0 (which would
/// silence every later interval checkpoint and freeze the exported anchor): writers opened
/// with the real interval refuse the log instead of adopting the row's value.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn an_edited_checkpoint_interval_in_the_head_row_is_refused_by_writers() {
    let log = PgLog::create(client(), options(10)).unwrap();
    log.append(event(0)).unwrap();
    let id = log.log_id();
    sql(
        "UPDATE hexvault_audit_logs SET checkpoint_every = 0 WHERE log_id = $1",
        id.as_bytes(),
    );
    assert!(matches!(
        PgLog::open(client(), id, options(10)),
        Err(Error::OptionsMismatch { .. })
    ));
}

/// Transactions that wrote the log's records (distinct `xmin` of its rows).
fn transactions(log: &PgLog) -> i64 {
    client()
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM hexvault_audit_records WHERE log_id = $1",
            &[&log.log_id().as_bytes().as_slice()],
        )
        .unwrap()
        .get(0)
}

/// Checks that each outcome's sequences are consecutive and that all of them together are
/// exactly `0..n` (unique, gapless).
fn assert_consecutive_and_gapless(batches: &[Vec<u64>]) -> u64 {
    for b in batches {
        assert!(
            b.windows(2).all(|w| w[1] == w[0] + 1),
            "a batch's sequences are not consecutive: {b:?}"
        );
    }
    let mut all: Vec<u64> = batches.iter().flatten().copied().collect();
    all.sort_unstable();
    let n = all.len() as u64;
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "unique and gapless");
    n
}

/// A new log for threads to share; `pipelined`: with a flush connection.
fn shared_log(every: u64, pipelined: bool) -> Arc<PgLog> {
    let log = PgLog::create(client(), options(every)).unwrap();
    Arc::new(if pipelined {
        log.with_flush_connection(client()).unwrap()
    } else {
        log
    })
}

/// 16 threads x 120 calls (single appends and batches of 3) through one shared handle, on
/// one connection and pipelined: the calls are coalesced into group commits (fewer
/// transactions than calls), every returned sequence is unique, each batch's consecutive,
/// the log gapless, nothing lost, and it verifies.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn threads_sharing_one_log_are_group_committed() {
    for pipelined in [false, true] {
        threads_share_one_log(pipelined);
    }
}

/// 4 threads x 300 single appends through one shared handle, on one connection and
/// pipelined: gapless, and it verifies. On one connection the groups carry on average more
/// than two appends in at least one of five tries: the callers just acknowledged join
/// the next writer's group (ADR 0076; without that wait the groups alternated one writer
/// and the other three, two appends per transaction (600 or 601 transactions); the wait is
/// bounded, so a try on a machine too busy to wake them in time may miss).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn four_threads_rejoin_the_next_group() {
    const CALLS: i64 = 4 * 300;
    let mut fewest = i64::MAX;
    for _ in 0..5 {
        fewest = fewest.min(four_threads_append(false));
        if fewest * 2 < CALLS {
            break;
        }
    }
    assert!(
        fewest * 2 < CALLS,
        "{fewest} transactions for {CALLS} appends at best: the groups average two appends or fewer"
    );
    four_threads_append(true);
}

/// 4 threads x 300 single appends through one shared handle; checks that the log is
/// gapless and verifies; returns the number of transactions that wrote it.
fn four_threads_append(pipelined: bool) -> i64 {
    const THREADS: u64 = 4;
    const CALLS: u64 = 300;
    let log = shared_log(1024, pipelined);
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..CALLS)
                    .map(|n| vec![log.append(event(n)).unwrap().sequence.get()])
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let seqs: Vec<Vec<u64>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(assert_consecutive_and_gapless(&seqs), THREADS * CALLS);
    log.verify_with(&verifier()).unwrap();
    let tx = transactions(&log);
    eprintln!(
        "{} appends of {THREADS} threads in {tx} transactions (pipelined: {pipelined})",
        THREADS * CALLS
    );
    tx
}

fn threads_share_one_log(pipelined: bool) {
    const THREADS: u64 = 16;
    const CALLS: u64 = 120;
    // 3,840 records: the last one gets a checkpoint (the tail is anchored).
    let log = shared_log(64, pipelined);
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..CALLS)
                    .map(|n| {
                        let appended = if (n + t) % 2 == 0 {
                            vec![log.append(event(n)).unwrap()]
                        } else {
                            log.append_batch((0..3).map(event).collect()).unwrap()
                        };
                        appended
                            .into_iter()
                            .map(|a| (a.sequence.get(), a.chain))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let outcomes: Vec<Vec<(u64, ChainValue)>> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let seqs: Vec<Vec<u64>> = outcomes
        .iter()
        .map(|b| b.iter().map(|(s, _)| *s).collect())
        .collect();
    let n = assert_consecutive_and_gapless(&seqs);
    assert_eq!(n, THREADS * CALLS * 2);
    let tx = transactions(&log);
    eprintln!(
        "{n} records from {} calls of {THREADS} threads in {tx} transactions, {:.2} s \
         (pipelined: {pipelined})",
        THREADS * CALLS,
        started.elapsed().as_secs_f64()
    );
    assert!(
        tx < i64::try_from(THREADS * CALLS).unwrap(),
        "no call was coalesced"
    );
    let report = log
        .verify_with(&verifier().require_anchored_tail(true))
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, n);
    let acked: Vec<(u64, String)> = outcomes
        .iter()
        .flatten()
        .map(|(s, c)| (*s, c.to_string()))
        .collect();
    assert_acknowledged_present(&log, &acked);
}

/// `count` threads append once each to `log`; the first one leads while the head row is
/// locked, the others queue behind it. Returns the threads and the leader's backend pid.
fn queue_behind_a_blocked_leader(
    log: &Arc<PgLog>,
    admin: &mut Client,
    count: u64,
) -> (
    Vec<std::thread::JoinHandle<hexvault_audit::Result<u64>>>,
    i32,
) {
    let spawn = |n: u64| {
        let log = Arc::clone(log);
        std::thread::spawn(move || log.append(event(n)).map(|a| a.sequence.get()))
    };
    let mut threads = vec![spawn(0)];
    let leader = blocked_by(admin);
    threads.extend((1..count).map(spawn));
    // The followers only have to reach the in-process queue (no I/O on the way).
    std::thread::sleep(std::time::Duration::from_secs(1));
    (threads, leader)
}

/// While the leader waits, appends of other threads queue up and are then written by one
/// leader in one transaction (on one connection and pipelined).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn waiters_behind_a_leader_share_one_transaction() {
    for pipelined in [false, true] {
        let log = shared_log(0, pipelined);
        let mut admin = block_head_row(log.log_id());
        let (threads, _) = queue_behind_a_blocked_leader(&log, &mut admin, 8);
        admin.batch_execute("COMMIT").unwrap();
        let seqs: Vec<Vec<u64>> = threads
            .into_iter()
            .map(|t| vec![t.join().unwrap().unwrap()])
            .collect();
        assert_eq!(assert_consecutive_and_gapless(&seqs), 8);
        // The leader's own append, then the seven that queued behind it.
        assert_eq!(transactions(&log), 2, "pipelined: {pipelined}");
        assert!(log.verify().unwrap().is_ok());
    }
}

/// A writer returns once its own request has its outcome, leaving the next group to a
/// waiting caller: otherwise its caller could not queue again and every group it wrote
/// would lack it (4 threads with batches of 64 formed groups of about 2 of the 4 calls,
/// ADR 0076 amendment of round 6). The leader's own append commits first (seq 0); the 7
/// calls queued behind it go into a second group, held up by an uncommitted row at seq 1
/// from another connection; the leader's call must return while that group still waits.
/// Then all 8 are in the log in 2 transactions, gapless, verified.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_writer_returns_once_its_own_request_is_acknowledged() {
    let log = shared_log(0, false);
    let id = log.log_id().as_bytes().to_vec();
    let mut blocker = client();
    blocker.batch_execute("BEGIN").unwrap();
    blocker
        .execute(
            "INSERT INTO hexvault_audit_records (log_id, seq, record, chain) VALUES ($1, 1, '\\x00', $2)",
            &[&id, &vec![0_u8; 32]],
        )
        .unwrap();
    let mut admin = block_head_row(log.log_id());
    let (mut threads, _) = queue_behind_a_blocked_leader(&log, &mut admin, 8);
    let leader = threads.remove(0);
    admin.batch_execute("COMMIT").unwrap();
    // The second group waits for the blocker's uncommitted row with its key.
    blocked_by(&mut blocker);
    for _ in 0..600 {
        if leader.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        leader.is_finished(),
        "the leader's call did not return while the next group it could leave to others waited"
    );
    assert_eq!(leader.join().unwrap().unwrap(), 0);
    assert!(
        threads.iter().all(|t| !t.is_finished()),
        "the second group returned while its records could not be inserted"
    );
    blocker.batch_execute("ROLLBACK").unwrap();
    let mut seqs: Vec<Vec<u64>> = threads
        .into_iter()
        .map(|t| vec![t.join().unwrap().unwrap()])
        .collect();
    seqs.push(vec![0]);
    assert_eq!(assert_consecutive_and_gapless(&seqs), 8);
    assert_eq!(transactions(&log), 2);
    assert!(log.verify().unwrap().is_ok());
}

/// A pipelined handle whose flush connection is killed while 8 threads append: the
/// appends whose flush was deferred to it fail (never acknowledged without a flush wait;
/// an append with no other caller waiting may still commit synchronously); every
/// acknowledged record is in the log, the log has no gap and verifies, and another handle
/// appends right after its last record.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_killed_flush_connection_fails_appends_and_leaves_no_gap() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let mut flush = client();
    let flush_pid: i32 = flush
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let log = Arc::new(
        PgLog::create(client(), options(10))
            .unwrap()
            .with_flush_connection(flush)
            .unwrap(),
    );
    let acks = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (log, acks, failed, stop) = (
                Arc::clone(&log),
                Arc::clone(&acks),
                Arc::clone(&failed),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut n = t;
                while !stop.load(Ordering::SeqCst) {
                    match log.append(event(n)) {
                        Ok(a) => {
                            acked.push((a.sequence.get(), a.chain.to_string()));
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                    }
                    n += 1;
                }
                acked
            })
        })
        .collect();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let started = std::time::Instant::now();
        while !done() {
            assert!(started.elapsed().as_secs() < 60, "{what} within 60 s");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    wait_for("200 acknowledged appends", &|| {
        acks.load(Ordering::SeqCst) >= 200
    });
    let killed: bool = client()
        .query_one("SELECT pg_terminate_backend($1)", &[&flush_pid])
        .unwrap()
        .get(0);
    assert!(killed);
    wait_for("a failed append after the kill", &|| {
        failed.load(Ordering::SeqCst) > 0
    });
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<(u64, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let mut seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), acked.len(), "a sequence acknowledged twice");
    let other = PgLog::open(client(), log.log_id(), options(10)).unwrap();
    let report = other.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    // Committed records that were never acknowledged may be there; none is missing.
    assert!(report.records >= acked.len() as u64);
    assert_acknowledged_present(&other, &acked);
    assert_eq!(
        other.append(event(0)).unwrap().sequence.get(),
        report.records
    );
}

/// The error a follower of a failed group gets: `GroupCommit` naming its group's size.
fn group_failure(error: &hexvault_audit::Error) -> (usize, Arc<Error>) {
    let hexvault_audit::Error::Storage(inner) = error else {
        panic!("not a storage error: {error}");
    };
    match inner.downcast_ref::<Error>() {
        Some(Error::GroupCommit { requests, source }) => (*requests, Arc::clone(source)),
        other => panic!("not a group commit failure: {other:?}"),
    }
}

/// INSERT on the records table is revoked while appends queue behind a leader: the leader's
/// statement (started before, so allowed) commits; the group of the seven queued appends is
/// refused, every one of them gets the error, and none of their records is in the log; once
/// the privilege is back the log goes on without a gap.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_failed_group_commit_fails_every_waiter_and_leaves_no_gap() {
    let role = format!("hexvault_group_{}", std::process::id());
    let mut superuser = client();
    hexvault_audit_postgres::migrate(&mut superuser).unwrap();
    superuser
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role};
             CREATE ROLE {role} LOGIN;
             GRANT SELECT, INSERT, UPDATE ON hexvault_audit_logs, hexvault_audit_records,
                 hexvault_audit_checkpoints TO {role};
             GRANT SELECT ON hexvault_audit_schema TO {role};"
        ))
        .unwrap();
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config.user(&role);
    let log = Arc::new(PgLog::create(config.connect(NoTls).unwrap(), options(0)).unwrap());
    let mut admin = block_head_row(log.log_id());
    let (threads, _) = queue_behind_a_blocked_leader(&log, &mut admin, 8);
    superuser
        .batch_execute(&format!(
            "REVOKE INSERT ON hexvault_audit_records FROM {role}"
        ))
        .unwrap();
    admin.batch_execute("COMMIT").unwrap();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        outcomes[0].as_ref().unwrap(),
        &0,
        "the leader's own group commits"
    );
    for outcome in &outcomes[1..] {
        let (requests, source) = group_failure(outcome.as_ref().unwrap_err());
        assert_eq!(requests, 7, "the seven queued appends were one group");
        let Error::Database(db) = &*source else {
            panic!("not a database error: {source}");
        };
        assert_eq!(
            db.code(),
            Some(&hexvault_audit_postgres::postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{db:?}"
        );
    }
    assert_eq!(
        log.refresh().unwrap().next,
        1,
        "none of the group's records"
    );
    superuser
        .batch_execute(&format!("GRANT INSERT ON hexvault_audit_records TO {role}"))
        .unwrap();
    assert_eq!(log.append(event(1)).unwrap().sequence.get(), 1);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 2);
    drop(log);
    superuser
        .batch_execute(&format!(
            "REVOKE ALL ON hexvault_audit_logs, hexvault_audit_records,
                 hexvault_audit_checkpoints, hexvault_audit_schema FROM {role};
             DROP ROLE {role};"
        ))
        .unwrap();
}

/// The handle's connection is killed (pg_terminate_backend) while its leader waits and
/// seven appends queue behind it: all eight fail, none of their records is in the log, and
/// another handle appends at sequence 0.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_killed_connection_fails_the_whole_queue_and_writes_nothing() {
    let log = Arc::new(PgLog::create(client(), options(0)).unwrap());
    let mut admin = block_head_row(log.log_id());
    let (threads, leader) = queue_behind_a_blocked_leader(&log, &mut admin, 8);
    let killed: bool = client()
        .query_one("SELECT pg_terminate_backend($1)", &[&leader])
        .unwrap()
        .get(0);
    assert!(killed);
    admin.batch_execute("COMMIT").unwrap();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    // The seven queued appends failed as one group.
    let followers: Vec<_> = outcomes[1..]
        .iter()
        .map(|o| group_failure(o.as_ref().unwrap_err()).0)
        .collect();
    assert_eq!(followers, vec![7; 7]);
    let other = PgLog::open(client(), log.log_id(), options(0)).unwrap();
    assert_eq!(other.refresh().unwrap().next, 0);
    assert_eq!(other.append(event(0)).unwrap().sequence.get(), 0);
    assert!(other.verify().unwrap().is_ok());
}

/// Two processes of four threads each (one shared handle per process) and four threads of
/// this process on a third, pipelined handle, into one log: gapless, every acknowledged
/// record present, verifies.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn threads_and_processes_into_one_log() {
    let log = shared_log(80, true);
    let children: Vec<Child> = [1, 4]
        .iter()
        .map(|batch| spawn_threaded_writer(log.log_id(), 800, *batch, 80, 4))
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..200)
                    .map(|n| {
                        let a = log.append(event(n + t)).unwrap();
                        vec![(a.sequence.get(), a.chain.to_string())]
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut batches: Vec<Vec<(u64, String)>> = Vec::new();
    for mut child in children {
        let out = child.stdout.take().unwrap();
        let mine: Vec<_> = acks(BufReader::new(out)).collect();
        assert!(child.wait().unwrap().success());
        assert_eq!(mine.len(), 800);
        batches.extend(mine.into_iter().map(|a| vec![a]));
    }
    for t in threads {
        batches.extend(t.join().unwrap());
    }
    let seqs: Vec<Vec<u64>> = batches
        .iter()
        .map(|b| b.iter().map(|(s, _)| *s).collect())
        .collect();
    assert_eq!(assert_consecutive_and_gapless(&seqs), 2400);
    let report = log
        .verify_with(&verifier().require_anchored_tail(true))
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 2400);
    let acked: Vec<_> = batches.into_iter().flatten().collect();
    assert_acknowledged_present(&log, &acked);
}

/// A flush connection that does not see the log (another database) is refused: its flush
/// waits would lock nothing, write no WAL and wait for no flush.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_flush_connection_to_another_database_is_refused() {
    let other_db = format!("hexvault_other_{}", std::process::id());
    let mut admin = client();
    // One statement each: neither runs inside a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {other_db}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {other_db}"))
        .unwrap();
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config.dbname(&other_db);
    let mut elsewhere = config.connect(NoTls).unwrap();
    // The other database even holds the schema, just not this log.
    hexvault_audit_postgres::migrate(&mut elsewhere).unwrap();
    let log = PgLog::create(client(), options(0)).unwrap();
    let id = log.log_id();
    assert!(matches!(
        log.with_flush_connection(elsewhere),
        Err(Error::UnknownLog(unknown)) if unknown == id
    ));
    admin
        .batch_execute(&format!("DROP DATABASE {other_db}"))
        .unwrap();
}

/// An anchor is exported only once the server's WAL is flushed past what the reader saw (a
/// pipelined handle's commits are visible before they are flushed): a role read-only by
/// default, with SELECT only (and the default TEMPORARY), exports the anchor of a log
/// written by a pipelined handle (`verify_and_anchor`), and after it, and after
/// `PgLog::anchor`, the server's flush position has passed the insert position read before
/// the call (the barrier's own commit lies past it: it failed when the barrier was a
/// transaction that wrote no WAL, which PostgreSQL does not make wait).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_read_only_role_exports_anchors_after_the_wal_flush() {
    let role = format!("hexvault_auditor_{}", std::process::id());
    let mut admin = client();
    hexvault_audit_postgres::migrate(&mut admin).unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role};
             CREATE ROLE {role} LOGIN;
             GRANT SELECT ON hexvault_audit_logs, hexvault_audit_records,
                 hexvault_audit_checkpoints, hexvault_audit_schema TO {role};"
        ))
        .unwrap();
    let log = PgLog::create(client(), options(4))
        .unwrap()
        .with_flush_connection(client())
        .unwrap();
    log.append_batch((0..9).map(event).collect()).unwrap();
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config
        .user(&role)
        .options("-cdefault_transaction_read_only=on");
    let mut reader = config.connect(NoTls).unwrap();
    let insert_lsn = |admin: &mut Client| -> String {
        admin
            .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
            .unwrap()
            .get(0)
    };
    let flushed_past = |admin: &mut Client, lsn: &str| -> bool {
        admin
            .query_one(
                "SELECT pg_current_wal_flush_lsn() >= $1::text::pg_lsn",
                &[&lsn],
            )
            .unwrap()
            .get(0)
    };
    let before = insert_lsn(&mut admin);
    let (report, anchor) = hexvault_audit_postgres::verify_and_anchor(
        &mut reader,
        log.log_id(),
        &verifier(),
        DEFAULT_PAGE_ROWS,
    )
    .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(anchor.unwrap().sequence().get(), 7);
    assert!(flushed_past(&mut admin, &before));
    let before = insert_lsn(&mut admin);
    assert_eq!(log.anchor().unwrap().unwrap().sequence().get(), 7);
    assert!(flushed_past(&mut admin, &before));
    drop((log, reader));
    admin
        .batch_execute(&format!(
            "REVOKE ALL ON hexvault_audit_logs, hexvault_audit_records,
                 hexvault_audit_checkpoints, hexvault_audit_schema FROM {role};
             DROP ROLE {role};"
        ))
        .unwrap();
}
