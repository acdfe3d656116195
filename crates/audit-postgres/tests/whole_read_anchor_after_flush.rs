//! The whole-log read's anchor (`StoredLog::latest_anchor`) waits for the WAL flush as
//! `verify_and_anchor` and `PgLog::anchor` do (review round 49), against a real PostgreSQL
//! server (`cargo xtask postgres`), with the WAL writer slowed down cluster-wide (its own
//! binary: no other test runs meanwhile; the settings are reset by a drop guard).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use hexvault_audit::{AuditLog, Event, EventKind};
use hexvault_audit_postgres::postgres::Client;
use hexvault_audit_postgres::{PgLog, StoredLog};

mod common;

use common::{client, options};

/// An LSN as a number (bytes since 0/0).
fn lsn(c: &mut Client, expr: &str) -> i64 {
    c.query_one(
        &format!("SELECT pg_wal_lsn_diff({expr}, '0/0')::bigint"),
        &[],
    )
    .unwrap()
    .get(0)
}

/// Restores the WAL writer and background writer settings when dropped.
struct SlowWalWriter;

impl SlowWalWriter {
    fn start() -> Self {
        let mut admin = client();
        // The WAL writer flushes asynchronous commits only every 10 s, and the background
        // writer writes no buffer (which would flush the WAL up to its page first).
        admin
            .batch_execute("ALTER SYSTEM SET wal_writer_delay = '10s'")
            .unwrap();
        admin
            .batch_execute("ALTER SYSTEM SET bgwriter_lru_maxpages = 0")
            .unwrap();
        admin.batch_execute("SELECT pg_reload_conf()").unwrap();
        std::thread::sleep(Duration::from_millis(500));
        Self
    }
}

impl Drop for SlowWalWriter {
    fn drop(&mut self) {
        let mut admin = client();
        let _ = admin.batch_execute("ALTER SYSTEM RESET wal_writer_delay");
        let _ = admin.batch_execute("ALTER SYSTEM RESET bgwriter_lru_maxpages");
        let _ = admin.batch_execute("SELECT pg_reload_conf()");
    }
}

/// docs/formats.md: "an anchor never names a checkpoint a pipelined handle committed and a
/// server crash could still lose". The checkpoint row here is committed asynchronously (as
/// a pipelined handle commits: visible at once, flushed later); the whole-log read's anchor
/// (`PgLog::read().latest_anchor(..)`, `StoredLog::read(..).latest_anchor(..)`) is handed out
/// only once the WAL is flushed past that commit (it was handed out at once).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn an_anchor_from_the_whole_log_read_is_handed_out_only_after_the_wal_flush() {
    let log = PgLog::create(client(), options(4)).unwrap();
    for _ in 0..4 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let log_id = log.log_id();
    let id: &[u8] = log_id.as_bytes();
    let _slow = SlowWalWriter::start();
    // The checkpoint row, committed again without waiting for the flush (a pipelined
    // handle's commit, modelled by a session with `synchronous_commit = off`).
    let mut writer = client();
    let row = writer
        .query_one(
            "SELECT seq, checkpoint FROM hexvault_audit_checkpoints WHERE log_id = $1 \
             ORDER BY seq DESC LIMIT 1",
            &[&id],
        )
        .unwrap();
    let (seq, bytes): (i64, Vec<u8>) = (row.get(0), row.get(1));
    let mut tx = writer.transaction().unwrap();
    tx.batch_execute("SET LOCAL synchronous_commit = off")
        .unwrap();
    tx.execute(
        "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = $2",
        &[&id, &seq],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) VALUES ($1, $2, $3)",
        &[&id, &seq, &bytes],
    )
    .unwrap();
    tx.commit().unwrap();
    let committed = lsn(&mut writer, "pg_current_wal_insert_lsn()");
    let mut reader = client();
    assert!(
        lsn(&mut reader, "pg_current_wal_flush_lsn()") < committed,
        "setup: the WAL was flushed before the read (rerun)"
    );
    for (name, anchor) in [
        (
            "PgLog::read",
            log.read().unwrap().latest_anchor(&mut client()).unwrap(),
        ),
        (
            "StoredLog::read",
            StoredLog::read(&mut reader, log_id)
                .unwrap()
                .latest_anchor(&mut client())
                .unwrap(),
        ),
    ] {
        let anchor = anchor.expect("the log has a checkpoint");
        assert_eq!(anchor.sequence().get(), u64::try_from(seq).unwrap());
        let flushed = lsn(&mut reader, "pg_current_wal_flush_lsn()");
        assert!(
            flushed >= committed,
            "{name}: anchor at {seq} handed out with the WAL flushed to {flushed}, before the \
             checkpoint's commit (WAL up to {committed})"
        );
    }
}
