//! Review round 47 findings against a real PostgreSQL server
//! (`scripts/pg-test-cluster.sh cargo test ... -- --ignored`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use hexvault_audit::{AuditLog, Event, EventKind};
use hexvault_audit_postgres::postgres::NoTls;
use hexvault_audit_postgres::{Error, PgLog};

mod common;

use common::{client, options, url};

/// crates/audit-postgres/src/log.rs:514-516 ("Servers are told apart by their start time
/// (readable without any privilege; a copy in another database of the same server shares
/// its WAL and passes, rightly)") and log.rs:504-509 (a flush connection may be another
/// role): the start time is compared as `::text`, which PostgreSQL renders in the session's
/// `TimeZone` (and `DateStyle`). A flush connection to the very same server whose session has
/// another time zone (a role with `ALTER ROLE ... SET timezone`, `PGTZ`, a driver setting)
/// is refused as `FlushConnectionElsewhere`.
#[test]
#[ignore = "review47 finding"]
fn a_flush_connection_to_the_same_server_in_another_time_zone_is_accepted() {
    let mut probe = client();
    let server_tz: String = probe.query_one("SHOW TimeZone", &[]).unwrap().get(0);
    let other_tz = if server_tz == "Pacific/Auckland" {
        "America/Los_Angeles"
    } else {
        "Pacific/Auckland"
    };
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config.options(&format!("-cTimeZone={other_tz}"));
    let flush = config.connect(NoTls).unwrap();
    let log = PgLog::create(client(), options(4)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    match log.with_flush_connection(flush) {
        Ok(log) => {
            log.append(Event::new(EventKind::Open)).unwrap();
        }
        Err(error) => panic!("same server ({server_tz} vs {other_tz}) refused: {error}"),
    }
}

/// crates/audit-postgres/src/read.rs:638-639 ("the server's WAL writer flushes commits made
/// without waiting within three `wal_writer_delay`s") and log.rs:1053-1059 (`anchor` returns
/// the anchor once the WAL is flushed past its row; `WalNotFlushed` "if the flush does not get
/// there within 10 s"): the wait targets `pg_current_wal_insert_lsn()`, which includes WAL of
/// other sessions' transactions still open. The WAL writer flushes only completed pages and
/// commit records, so an unrelated session idle in a transaction that inserted one row keeps
/// the flush position below the target: a log whose every record and checkpoint was
/// committed synchronously (flushed long ago) gets no anchor, after 10 s, as long as that
/// session stays open (and the handle's lock is held meanwhile, stalling its appends).
#[test]
#[ignore = "review47 finding"]
fn an_open_transaction_elsewhere_does_not_deny_the_anchor_of_a_flushed_log() {
    let mut admin = client();
    let table = format!("review47_scratch_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE TABLE {table} (x bigint)"))
        .unwrap();
    // No flush connection: every commit waits for its flush.
    let log = PgLog::create(client(), options(4)).unwrap();
    for n in 0..9_u64 {
        log.append(Event::new(if n % 2 == 0 {
            EventKind::Seal
        } else {
            EventKind::Open
        }))
        .unwrap();
    }
    // Let the WAL writer settle, then leave a transaction open elsewhere.
    std::thread::sleep(Duration::from_millis(800));
    let mut other = client();
    other
        .batch_execute(&format!("BEGIN; INSERT INTO {table} VALUES (1)"))
        .unwrap();
    let started = Instant::now();
    let anchor = log.anchor();
    let waited = started.elapsed();
    other.batch_execute("ROLLBACK").unwrap();
    admin
        .batch_execute(&format!("DROP TABLE {table}"))
        .unwrap();
    match anchor {
        Ok(Some(anchor)) => assert_eq!(anchor.sequence().get(), 7),
        Ok(None) => panic!("no checkpoint"),
        Err(error @ Error::WalNotFlushed { .. }) => {
            panic!("refused after {waited:?}: {error}")
        }
        Err(error) => panic!("{error}"),
    }
}
