//! Review round 30 findings (against a real PostgreSQL server; run through
//! `scripts/pg-test-cluster.sh cargo test -p hexvault-audit-postgres --test review30 -- --ignored`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_audit::{AuditLog, Event, EventKind};
use hexvault_audit_postgres::postgres::{Client, NoTls};
use hexvault_audit_postgres::{Error, PgLog};

mod common;

use common::{client, options, url};

/// `crates/audit-postgres/src/error.rs:14`: `Error::Database` is "The connection or a
/// statement failed; the transaction was rolled back." (and `hexvault_audit::Error::Storage`,
/// which it becomes through `AuditLog`, says "then retry").
///
/// On the locked path (`log.rs`, `write_group`) the flush wait runs after `COMMIT`: when it
/// fails with a database error (here: the writer's role may not lock record rows; equally a
/// connection lost right after `COMMIT`), the append returns `Error::Database` although its
/// record IS committed. A caller that believes the documented "rolled back" and retries
/// logs the event twice. A failure after `COMMIT` needs its own variant (or at least a doc
/// that says "may be committed"), never the one that promises a rollback.
#[test]
#[ignore = "review30 finding"]
fn a_database_error_after_commit_is_not_reported_as_rolled_back() {
    let mut admin = client();
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    // A writer role that may insert records but not lock them (FOR KEY SHARE needs UPDATE).
    admin
        .batch_execute(
            "CREATE ROLE review30_writer LOGIN;
             GRANT SELECT, INSERT, UPDATE ON hexvault_audit_logs, hexvault_audit_checkpoints
                TO review30_writer;
             GRANT SELECT, INSERT ON hexvault_audit_records TO review30_writer;
             GRANT SELECT ON hexvault_audit_schema TO review30_writer;",
        )
        .unwrap();
    let writer_client = Client::connect(&format!("{} user=review30_writer", url()), NoTls).unwrap();
    let writer = PgLog::open(writer_client, log.log_id(), options(0)).unwrap();
    // Another handle moves the head: the writer's next append takes the locked path.
    log.append(Event::new(EventKind::Seal)).unwrap();
    let error = writer.append(Event::new(EventKind::Open)).unwrap_err();
    let committed = log.refresh().unwrap().next == 3;
    let said_rolled_back = match &error {
        hexvault_audit::Error::Storage(inner) => {
            matches!(inner.downcast_ref::<Error>(), Some(Error::Database(_)))
        }
        _ => false,
    };
    assert!(
        committed,
        "setup: the record was expected to be committed ({error})"
    );
    assert!(
        !said_rolled_back,
        "the append's record is committed, yet it failed with Error::Database, documented as \
         'the transaction was rolled back': {error}"
    );
}

/// SECURITY.md:25 (PostgreSQL row) and the house rule "every tampering (edit, truncate,
/// ...) rejected"; `log.rs:79` (`PgLog`): "An append returns only after its records are
/// committed and the server's WAL is flushed past them ... so a returned record survives".
///
/// Someone with database access cuts the tail (records 4 and 5, both appended AND
/// acknowledged by this very handle) and moves the head row back onto record 3. The handle
/// knows better: it committed and returned sequence 5 itself. Yet its next append finds the
/// head row behind its own acknowledged head (`write_group`, locked path: `inner.writer.seek
/// (head)`; `authenticate` even drops the known head with `k.next <= head.next`), silently
/// chains onto the cut head and hands out sequence 4 a second time, for another event; the
/// handle's own `verify()` then calls the log intact. The writer has first-hand evidence of
/// the cut and launders it: `checkpoint()` then signs the rewritten history (it drops the
/// known head, now past the head row, and authenticates from the checkpoint at 3).
#[test]
#[ignore = "review30 finding"]
fn a_head_row_moved_behind_acknowledged_records_is_refused_by_the_writer() {
    let log = PgLog::create(client(), options(4)).unwrap();
    for _ in 0..4 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let cut_to = log.read().unwrap().head();
    assert_eq!(cut_to.next, 4);
    let acknowledged = log.append(Event::new(EventKind::Seal)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    assert_eq!(acknowledged.sequence.get(), 4);

    let id = log.log_id();
    let idb: &[u8] = id.as_bytes();
    let mut db = client();
    db.execute(
        "DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq >= 4",
        &[&idb],
    )
    .unwrap();
    db.execute(
        "UPDATE hexvault_audit_logs SET next_seq = 4, head = $2, public_head = $3 \
         WHERE log_id = $1",
        &[
            &idb,
            &cut_to.chain.as_bytes().as_slice(),
            &cut_to.public_chain.as_bytes().as_slice(),
        ],
    )
    .unwrap();

    let next = log.append(Event::new(EventKind::Open));
    let signed = log.checkpoint();
    let report = log.verify().unwrap();
    assert!(
        next.is_err(),
        "the writer acknowledged records 4 and 5, found the head row cut back to 4, and \
         appended anyway at sequence {}, then signed {:?} over it (its own verify: {report})",
        next.as_ref().map(|a| a.sequence.get()).unwrap_or(u64::MAX),
        signed
            .as_ref()
            .map(|c| c.as_ref().map(|c| c.sequence.get()))
    );
}

/// SECURITY.md:25 (PostgreSQL row): "a checkpoint row forged, changed or deleted ...:
/// reported with its sequence number by the file log's verifier"; docs/formats.md (PostgreSQL
/// section): "With the trusted key and a checkpoint interval, a missing interval checkpoint
/// is `MissingCheckpoint`".
///
/// In the database an interval checkpoint is inserted in the same statement and transaction
/// as the record it follows (`WRITE_SQL`), so a log whose last record is due one and has
/// none lost it to someone with database access. The verifier only notices a missing
/// interval checkpoint when a later record arrives (`verify.rs`, `checkpoint_missing` at
/// the next record push); `judge` (read.rs) does not ask at the end. Deleting the LAST
/// interval checkpoint row therefore verifies OK with the log's own verifier (which knows
/// the interval), keyed, paged or whole, and strips the public-key-verified prefix back
/// to the previous checkpoint.
#[test]
#[ignore = "review30 finding"]
fn a_deleted_final_interval_checkpoint_row_is_reported() {
    let log = PgLog::create(client(), options(4)).unwrap();
    for _ in 0..8 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let id = log.log_id();
    let idb: &[u8] = id.as_bytes();
    let deleted = client()
        .execute(
            "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 7",
            &[&idb],
        )
        .unwrap();
    assert_eq!(deleted, 1);
    let own = log.verify().unwrap();
    let trusted = common::verifier().expect_checkpoint_every(4);
    let paged = log.verify_with(&trusted).unwrap();
    let whole = log.read().unwrap().verify(&trusted).unwrap();
    for report in [&own, &paged, &whole] {
        assert!(
            report.failure.is_some(),
            "the interval checkpoint after record 7 was deleted, yet: {report}"
        );
    }
}
