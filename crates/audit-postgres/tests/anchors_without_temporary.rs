//! Anchors on a database that revoked `TEMPORARY` from `PUBLIC` (review round 48), against
//! a real PostgreSQL server (`cargo xtask postgres`): a reader without it exports no anchor,
//! says why and keeps a usable connection (and still verifies); a writer's `PgLog::anchor`
//! needs no `TEMPORARY` (it locks the record under the checkpoint) and the log goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use core::num::NonZeroU16;

use hexvault_audit::{Anchor, AuditLog, Event, EventKind};
use hexvault_audit_postgres::PgLog;
use hexvault_audit_postgres::postgres::{Client, NoTls};

mod common;

use common::{client, options, url, verifier};

/// A log with checkpoints, and a role with `SELECT`, `INSERT` and `UPDATE` on the
/// `hexvault_audit_*` tables (what crates/audit-postgres/README.md asks of writers), on a
/// database whose `TEMPORARY` was revoked from `PUBLIC` (a common hardening). Runs `f` with
/// the role's connection, then restores the database.
fn with_select_only_reader<T>(
    tag: &str,
    f: impl FnOnce(&mut Client, &PgLog, &hexvault_audit_postgres::postgres::Config) -> T,
) -> T {
    // Both tests revoke and grant `TEMPORARY` on the one database: one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut admin = client();
    let log = PgLog::create(client(), options(2)).unwrap();
    for _ in 0..4 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let db: String = admin
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    let role = format!("review48_{tag}_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; \
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role}; \
             REVOKE TEMPORARY ON DATABASE \"{db}\" FROM PUBLIC"
        ))
        .unwrap();
    let mut config: hexvault_audit_postgres::postgres::Config = url().parse().unwrap();
    config.user(&role);
    let mut reader = config.connect(NoTls).unwrap();
    let out = f(&mut reader, &log, &config);
    drop(reader);
    admin
        .batch_execute(&format!(
            "GRANT TEMPORARY ON DATABASE \"{db}\" TO PUBLIC; \
             REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; DROP ROLE {role}"
        ))
        .unwrap();
    out
}

fn anchor(reader: &mut Client, log: &PgLog) -> hexvault_audit_postgres::Result<Option<Anchor>> {
    hexvault_audit_postgres::verify_and_anchor(
        reader,
        log.log_id(),
        &verifier(),
        NonZeroU16::new(16).unwrap(),
    )
    .map(|(_, anchor)| anchor)
}

/// `verify_and_anchor` (what `export-anchor` runs) needs `TEMPORARY` for its flush barrier
/// (docs/cli.md, the crate README): without it, the error says so, and verifying alone
/// (`verify_paged`, what `audit verify` runs) needs `SELECT` only.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_reader_without_temporary_exports_no_anchor_and_says_why() {
    let (refused, verified) = with_select_only_reader("sel", |reader, log, _| {
        let refused = anchor(reader, log).unwrap_err().to_string();
        let verified = hexvault_audit_postgres::verify_paged(
            reader,
            log.log_id(),
            &verifier(),
            NonZeroU16::new(16).unwrap(),
        )
        .unwrap();
        (refused, verified)
    });
    assert!(refused.contains("temporary"), "{refused}");
    assert!(verified.is_ok(), "{verified}");
}

/// A refused flush barrier is rolled back: the caller's connection is not left inside an
/// aborted transaction block (it was, when the barrier was one simple query whose `COMMIT`
/// the failed `CREATE` skipped).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_refused_flush_barrier_leaves_the_connection_usable() {
    let (anchored, after) = with_select_only_reader("conn", |reader, log, _| {
        let anchored = anchor(reader, log).map(|_| ());
        let after = reader.query_one("SELECT 1::int4", &[]).map(|_| ());
        (anchored, after)
    });
    assert!(
        after.is_ok(),
        "after the anchor ({anchored:?}) the connection is left in an aborted transaction: {:?}",
        after.err()
    );
}

/// `PgLog::anchor` on a writer role without `TEMPORARY`: its barrier locks the record under
/// the checkpoint (writers hold `UPDATE`), so the anchor is exported, and the log's own
/// connection goes on appending (a refused barrier used to leave it in an aborted
/// transaction, and every later append failed).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_refused_anchor_does_not_break_the_log() {
    let (anchored, appended) = with_select_only_reader("log", |_, log, config| {
        let writer = PgLog::open(config.connect(NoTls).unwrap(), log.log_id(), options(2)).unwrap();
        let anchored = writer.anchor().map(|_| ());
        let appended = writer.append(Event::new(EventKind::Open)).map(|_| ());
        (anchored, appended)
    });
    assert!(anchored.is_ok(), "{anchored:?}");
    assert!(
        appended.is_ok(),
        "after the anchor ({anchored:?}) the log cannot append: {:?}",
        appended.err()
    );
}
