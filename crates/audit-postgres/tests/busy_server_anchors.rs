//! Anchors and flush connections on a busy server (review round 47), against a real
//! PostgreSQL server (`cargo xtask postgres`): a flush connection to the same server in
//! another time zone is accepted; a transaction left open by another session does not keep
//! an anchor from being exported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::{Duration, Instant};

use hexvault_audit::{AuditLog, Event, EventKind};
use hexvault_audit_postgres::PgLog;
use hexvault_audit_postgres::postgres::NoTls;

mod common;

use common::{client, options, url};

/// Servers are told apart by their start time, compared as a number: a flush connection to
/// the same server whose session has another time zone (a role with `ALTER ROLE ... SET
/// timezone`, `PGTZ`, a driver setting) is accepted (compared as text, it was refused as
/// `FlushConnectionElsewhere`).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
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

/// An anchor's wait for the WAL flush is one synchronous commit of its own, not a poll of the
/// flush position against the insert position: that poll also waited for the WAL of other
/// sessions' open transactions, which the WAL writer does not flush, and refused the anchor
/// of a log long flushed while an unrelated session sat in a transaction. The export takes
/// well under the 10 s the poll gave up after.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
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
    admin.batch_execute(&format!("DROP TABLE {table}")).unwrap();
    assert_eq!(anchor.unwrap().unwrap().sequence().get(), 7);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

/// `PgLog::anchor`'s barrier locks the record row under the checkpoint (docs/formats.md): a
/// row deleted by someone with database access is locked by nothing, so no WAL is written
/// and nothing waits for the flush; the anchor is refused (`InconsistentHead`), never handed
/// out unconfirmed.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn an_anchor_whose_record_row_was_deleted_is_refused() {
    let log = PgLog::create(client(), options(2)).unwrap();
    for _ in 0..4 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    assert_eq!(log.anchor().unwrap().unwrap().sequence().get(), 3);
    let log_id = log.log_id();
    let id: &[u8] = log_id.as_bytes();
    let deleted = client()
        .execute(
            "DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq = 3",
            &[&id],
        )
        .unwrap();
    assert_eq!(deleted, 1);
    let refused = log.anchor();
    assert!(
        matches!(
            refused,
            Err(hexvault_audit_postgres::Error::InconsistentHead { .. })
        ),
        "{refused:?}"
    );
}
