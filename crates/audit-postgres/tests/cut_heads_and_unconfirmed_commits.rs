//! What a writer says when its commit's outcome is unknown, a head row cut back behind
//! records the writer acknowledged, and a deleted final interval checkpoint (review round
//! 30; against a real PostgreSQL server: `cargo xtask postgres`).
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

use common::{
    block_head_row, blocked_by, client, client_with_pid, options, storage_error, terminate, url,
};

/// A failure after an append's `COMMIT` was sent (here the flush wait after the locked
/// path's asynchronous commit: the writer's role may not lock record rows) is
/// `Error::CommitUnconfirmed` ("its records may be in the log: verify ... before appending
/// them again"), never `Error::Database`, which says the transaction was rolled back: here
/// the record is committed, and a caller retrying on "rolled back" would log it twice.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_database_error_after_commit_is_not_reported_as_rolled_back() {
    let mut admin = client();
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    // A writer role that may insert records but not lock them (FOR KEY SHARE needs UPDATE).
    admin
        .batch_execute(
            "CREATE ROLE writer_without_row_locks LOGIN;
             GRANT SELECT, INSERT, UPDATE ON hexvault_audit_logs, hexvault_audit_checkpoints
                TO writer_without_row_locks;
             GRANT SELECT, INSERT ON hexvault_audit_records TO writer_without_row_locks;
             GRANT SELECT ON hexvault_audit_schema TO writer_without_row_locks;",
        )
        .unwrap();
    let writer_client =
        Client::connect(&format!("{} user=writer_without_row_locks", url()), NoTls).unwrap();
    let writer = PgLog::open(writer_client, log.log_id(), options(0)).unwrap();
    // Another handle moves the head: the writer's next append takes the locked path.
    log.append(Event::new(EventKind::Seal)).unwrap();
    let error = writer.append(Event::new(EventKind::Open)).unwrap_err();
    let committed = log.refresh().unwrap().next == 3;
    let unconfirmed = match &error {
        hexvault_audit::Error::Storage(inner) => {
            matches!(
                inner.downcast_ref::<Error>(),
                Some(Error::CommitUnconfirmed(_))
            )
        }
        _ => false,
    };
    assert!(
        committed,
        "setup: the record was expected to be committed ({error})"
    );
    assert!(
        unconfirmed,
        "the append's record is committed: the error must say it may be ({error})"
    );
    assert!(error.to_string().contains("may be in the log"), "{error}");
    // The server's own reason, not just the client library's "db error".
    assert!(
        error.to_string().contains("permission denied")
            && error.to_string().contains("SQLSTATE 42501"),
        "{error}"
    );
}

/// Someone with database access cuts the tail (records 4 and 5, appended and acknowledged by
/// this very handle) and moves the head row back onto record 3. The handle has first-hand
/// evidence of the cut: its next append and its checkpoint are refused with
/// `InconsistentHead` (before the fix the append handed out sequence 4 a second time and the
/// checkpoint signed the rewritten history), and so is `refresh`.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
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

    let cut = |e: &hexvault_audit::Error| match e {
        hexvault_audit::Error::Storage(inner) => matches!(
            inner.downcast_ref::<Error>(),
            Some(Error::InconsistentHead { what, .. }) if what.contains("acknowledged")
        ),
        _ => false,
    };
    let next = log.append(Event::new(EventKind::Open)).unwrap_err();
    assert!(cut(&next), "{next}");
    let signed = log.checkpoint().unwrap_err();
    assert!(cut(&signed), "{signed}");
    assert!(matches!(log.refresh(), Err(Error::InconsistentHead { .. })));
    // Nothing was written over the cut: the head row still names 4 records.
    let head = log.read().unwrap().head();
    assert_eq!(head.next, 4);
}

/// An interval checkpoint is inserted in the same statement and transaction as the record
/// it follows, so a log whose last record is due one and has none lost it in the database:
/// `MissingCheckpoint` (SECURITY.md, PostgreSQL row; docs/formats.md), from the log's own
/// verifier, the paged one and the whole-log one alike. Before the fix the verifier noticed a
/// missing interval checkpoint only when a later record arrived, so deleting the last one
/// verified OK.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
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
        let failure = report.failure.unwrap();
        assert_eq!(
            (failure.sequence.get(), failure.reason),
            (7, hexvault_audit::Damage::MissingCheckpoint),
            "{report}"
        );
    }
}

/// A one-statement first try (the handle saw the head last: no lock taken first) whose
/// backend is terminated while the statement waits for the head row: the server answers
/// `FATAL`, which it may also send after a commit was done. That is
/// `Error::CommitUnconfirmed`, never `Database` ("rolled back", before session 12: any
/// answer from the server counted as a rollback). Here nothing was committed; the handle
/// is dead (its next calls say `Database`), and a new one continues the chain gaplessly.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_terminated_first_try_is_unconfirmed() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    let mut admin = block_head_row(log.log_id());
    let error = std::thread::scope(|scope| {
        let appending = scope.spawn(|| log.append(Event::new(EventKind::Open)));
        let blocked = blocked_by(&mut admin);
        let killed: bool = client()
            .query_one("SELECT pg_terminate_backend($1)", &[&blocked])
            .unwrap()
            .get(0);
        assert!(killed);
        appending.join().unwrap().unwrap_err()
    });
    admin.batch_execute("COMMIT").unwrap();
    assert!(
        matches!(storage_error(&error), Error::CommitUnconfirmed(_)),
        "{error}"
    );
    assert!(error.to_string().contains("may be in the log"), "{error}");
    // The handle is dead (its connection gone; it does not reconnect): its next calls commit
    // nothing, so they say `Database`, never again "its commit was sent" (review rounds 35
    // and 37: the append right after, before the client has seen the close, included).
    let next = log.append(Event::new(EventKind::Open)).unwrap_err();
    assert!(matches!(storage_error(&next), Error::Database(_)), "{next}");
    let refreshed = log.refresh().unwrap_err();
    assert!(matches!(&refreshed, Error::Database(_)), "{refreshed}");
    let other = PgLog::open(client(), log.log_id(), options(0)).unwrap();
    assert_eq!(other.refresh().unwrap().next, 1, "nothing was committed");
    assert_eq!(
        other
            .append(Event::new(EventKind::Open))
            .unwrap()
            .sequence
            .get(),
        1
    );
    assert!(other.verify().unwrap().is_ok());
}

/// A `COMMIT` the server refuses with an `ERROR` (here a deferred constraint trigger on this
/// log's records) rolled the transaction back: the locked path reports `Error::Database`
/// with the server's reason (before session 12 it said "may be in the log"), as does a
/// one-statement first try refused the same way; nothing was committed, and once the
/// trigger is gone both handles append gaplessly.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_commit_refused_with_an_error_is_rolled_back() {
    let a = PgLog::create(client(), options(0)).unwrap();
    let b = PgLog::open(client(), a.log_id(), options(0)).unwrap();
    a.append(Event::new(EventKind::Seal)).unwrap();
    // b moves the head: a's next append takes the locked path, b's tries first.
    b.append(Event::new(EventKind::Seal)).unwrap();
    let id = a.log_id().to_string();
    let trigger = format!("refuse_at_commit_{id}");
    let mut admin = client();
    admin
        .batch_execute(&format!(
            "CREATE OR REPLACE FUNCTION hexvault_test_refuse_at_commit() RETURNS trigger
                 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
             CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT ON hexvault_audit_records
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                 WHEN (NEW.log_id = decode('{id}', 'hex'))
                 EXECUTE FUNCTION hexvault_test_refuse_at_commit();"
        ))
        .unwrap();
    for (handle, path) in [(&a, "locked"), (&b, "first try")] {
        let error = handle.append(Event::new(EventKind::Open)).unwrap_err();
        let Error::Database(db) = storage_error(&error) else {
            panic!("{path}: not reported as rolled back: {error}");
        };
        assert_eq!(
            db.code(),
            Some(&hexvault_audit_postgres::postgres::error::SqlState::RAISE_EXCEPTION),
            "{path}: {db:?}"
        );
        assert!(
            error.to_string().contains("refused at commit"),
            "{path}: {error}"
        );
        assert_eq!(
            a.refresh().unwrap().next,
            2,
            "{path}: nothing was committed"
        );
    }
    admin
        .batch_execute(&format!("DROP TRIGGER {trigger} ON hexvault_audit_records"))
        .unwrap();
    assert_eq!(
        a.append(Event::new(EventKind::Open))
            .unwrap()
            .sequence
            .get(),
        2
    );
    assert_eq!(
        b.append(Event::new(EventKind::Open))
            .unwrap()
            .sequence
            .get(),
        3
    );
    let report = a.verify().unwrap();
    assert!(report.is_ok() && report.records == 4, "{report}");
}

/// A backend terminated while its handle was idle (review round 36): the client has not
/// seen the close, so the next append sends its statement and reads the server's `FATAL`,
/// which cannot say whether it came before or after a commit: `CommitUnconfirmed`, as the
/// docs say. From then on the client knows: the next append says `Database`, and the log
/// holds only the acknowledged record.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn an_idle_handle_whose_backend_was_terminated_says_so() {
    let (c, pid) = client_with_pid();
    let log = PgLog::create(c, options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    terminate(pid);
    let first = log.append(Event::new(EventKind::Open)).unwrap_err();
    assert!(
        matches!(storage_error(&first), Error::CommitUnconfirmed(_)),
        "{first}"
    );
    let next = log.append(Event::new(EventKind::Open)).unwrap_err();
    assert!(
        matches!(storage_error(&next), Error::Database(db) if db.is_closed()),
        "{next}"
    );
    let other = PgLog::open(client(), log.log_id(), options(0)).unwrap();
    assert_eq!(other.refresh().unwrap().next, 1);
}

/// A pipelined handle (ADR 0076) whose flush connection's backend is terminated (review
/// round 36): the groups whose flush wait failed are `CommitUnconfirmed` (committed, not
/// confirmed durable); from then on the handle commits every group synchronously on its
/// own connection, so no later append is committed and reported as failed: the log holds
/// exactly the acknowledged appends plus the unconfirmed ones.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_closed_flush_connection_downgrades_the_handle_to_synchronous_commits() {
    let log = PgLog::create(client(), options(0)).unwrap();
    let (flush, pid) = client_with_pid();
    let log = log.with_flush_connection(flush).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    terminate(pid);
    let (mut acknowledged, mut unconfirmed, mut rounds_after) = (1u64, 0u64, 0);
    for _ in 0..50 {
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..6)
                .map(|_| {
                    scope.spawn(|| {
                        (0..10)
                            .map(|_| log.append(Event::new(EventKind::Open)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let seen_close = unconfirmed > 0;
        for outcome in outcomes {
            match outcome {
                Ok(_) => acknowledged += 1,
                Err(e) => {
                    assert!(
                        !seen_close,
                        "an append failed after the flush connection was known closed: {e}"
                    );
                    let unconfirmed_here = match storage_error(&e) {
                        Error::CommitUnconfirmed(_) => true,
                        Error::GroupCommit { source, .. } => {
                            matches!(**source, Error::CommitUnconfirmed(_))
                        }
                        _ => false,
                    };
                    assert!(unconfirmed_here, "{e}");
                    unconfirmed += 1;
                }
            }
        }
        if seen_close {
            rounds_after += 1;
            if rounds_after == 3 {
                break;
            }
        }
    }
    assert!(
        unconfirmed > 0,
        "no group was deferred to the closed flush connection"
    );
    assert_eq!(rounds_after, 3);
    let stored = PgLog::open(client(), log.log_id(), options(0))
        .unwrap()
        .refresh()
        .unwrap()
        .next;
    assert_eq!(stored, acknowledged + unconfirmed);
}

/// A writer whose role may insert records but not lock them (the flush wait after a
/// locked-path commit needs UPDATE) commits its first contended append and cannot confirm
/// its flush (`CommitUnconfirmed`, as `a_database_error_after_commit_is_not_reported_as_rolled_back`
/// shows); from then on it commits synchronously (review round 39), so no later append is
/// committed and reported failed.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_writer_that_cannot_lock_records_does_not_keep_committing_failed_appends() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    client()
        .batch_execute(
            "DROP ROLE IF EXISTS writer_without_record_locks;
             CREATE ROLE writer_without_record_locks LOGIN;
             GRANT SELECT, INSERT, UPDATE ON hexvault_audit_logs, hexvault_audit_checkpoints
                TO writer_without_record_locks;
             GRANT SELECT, INSERT ON hexvault_audit_records TO writer_without_record_locks;
             GRANT SELECT ON hexvault_audit_schema TO writer_without_record_locks;",
        )
        .unwrap();
    let writer_client = Client::connect(
        &format!("{} user=writer_without_record_locks", url()),
        NoTls,
    )
    .unwrap();
    let writer = PgLog::open(writer_client, log.log_id(), options(0)).unwrap();
    // One other append moves the head once; from then on only `writer` appends.
    log.append(Event::new(EventKind::Seal)).unwrap();
    let mut committed_and_failed = 0;
    for _ in 0..5 {
        let before = log.refresh().unwrap().next;
        let result = writer.append(Event::new(EventKind::Open));
        let after = log.refresh().unwrap().next;
        if result.is_err() && after > before {
            committed_and_failed += 1;
        }
    }
    assert_eq!(
        committed_and_failed, 1,
        "only the first append, whose flush wait failed"
    );
    assert!(log.verify().unwrap().is_ok());
}
