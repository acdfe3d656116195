//! A checkpoint whose `COMMIT` failed without an answer but was stored (review round 35),
//! against a real PostgreSQL server (`cargo xtask postgres`). Its own test binary: it sets a
//! cluster-wide setting (`synchronous_standby_names`) that would stall the commits of tests
//! running beside it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::Duration;

use hexvault_audit::{AuditLog, Event, EventKind};
use hexvault_audit_postgres::PgLog;
use hexvault_audit_postgres::postgres::Client;

mod common;

use common::{client, options};

/// Sets `synchronous_standby_names` for the whole (throwaway) cluster and waits until a new
/// session sees it.
fn set_sync_standbys(admin: &mut Client, value: Option<&str>) {
    match value {
        Some(v) => admin
            .batch_execute(&format!(
                "ALTER SYSTEM SET synchronous_standby_names = '{v}'"
            ))
            .unwrap(),
        None => admin
            .batch_execute("ALTER SYSTEM RESET synchronous_standby_names")
            .unwrap(),
    }
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let want = value.unwrap_or("");
    for _ in 0..200 {
        let seen: String = client()
            .query_one("SHOW synchronous_standby_names", &[])
            .unwrap()
            .get(0);
        if seen == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("synchronous_standby_names did not become {want:?}");
}

/// Resets `synchronous_standby_names` when dropped (also while a failed test unwinds).
struct ResetSyncStandbys;

impl Drop for ResetSyncStandbys {
    fn drop(&mut self) {
        set_sync_standbys(&mut client(), None);
    }
}

/// `Error::Database`: "A checkpoint on demand whose `COMMIT` failed without an `ERROR`
/// answer may be stored or not: a new handle finds it". Here the `COMMIT` is held in the
/// synchronous-replication wait (a standby name nobody has) and the backend is terminated:
/// PostgreSQL has committed locally, warns and closes the connection. The handle whose call
/// failed is dead (its connection closed; a `PgLog` does not reconnect): its calls fail with
/// `Database`; a new handle returns the stored checkpoint.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_checkpoint_stored_despite_a_failed_commit_is_returned_by_a_new_handle() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    log.append(Event::new(EventKind::Open)).unwrap();
    let mut admin = client();
    set_sync_standbys(&mut admin, Some("hexvault_review35_nobody"));
    // Reset even if an assertion below fails: the setting would stall every later commit.
    let _reset = ResetSyncStandbys;
    // The handle's backend reloads its configuration between commands: one command first.
    std::thread::sleep(Duration::from_millis(200));
    log.refresh().unwrap();
    let first = std::thread::scope(|scope| {
        let checkpointing = scope.spawn(|| log.checkpoint());
        let mut pid = None;
        for _ in 0..400 {
            let row = admin
                .query_opt(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep'",
                    &[],
                )
                .unwrap();
            if let Some(row) = row {
                pid = Some(row.get::<_, i32>(0));
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let Some(pid) = pid else {
            set_sync_standbys(&mut admin, None);
            panic!("the checkpoint's COMMIT never waited for a synchronous standby");
        };
        let killed: bool = admin
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap()
            .get(0);
        assert!(killed);
        checkpointing.join().unwrap()
    });
    set_sync_standbys(&mut admin, None);
    let error = first.expect_err("the checkpoint's COMMIT failed (connection closed)");
    // The checkpoint is stored: the head row names it and a new handle returns it.
    let stored: Option<i64> = admin
        .query_one(
            "SELECT last_checkpoint FROM hexvault_audit_logs WHERE log_id = $1",
            &[&log.log_id().as_bytes().as_slice()],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, Some(1), "the checkpoint was committed ({error})");
    let other = PgLog::open(client(), log.log_id(), options(0)).unwrap();
    let from_new_handle = other.checkpoint().unwrap().expect("a checkpoint");
    assert_eq!(from_new_handle.sequence.get(), 1);
    // The handle whose call failed is dead: it says so, never "rolled back" for a stored
    // checkpoint it cannot see, and never returns a checkpoint of its own.
    let again = log.checkpoint();
    assert!(
        matches!(
            again.as_ref().err().and_then(storage_error),
            Some(hexvault_audit_postgres::Error::Database(db)) if db.is_closed()
        ),
        "{again:?} (first failure: {error})"
    );
}

/// The storage error inside an error, if it is one of this crate.
fn storage_error(error: &hexvault_audit::Error) -> Option<&hexvault_audit_postgres::Error> {
    let hexvault_audit::Error::Storage(inner) = error else {
        return None;
    };
    inner.downcast_ref::<hexvault_audit_postgres::Error>()
}
