//! Connections that die under a handle (review round 37), against a real PostgreSQL server
//! (`cargo xtask postgres`): an idle contended handle, a flush connection killed in the
//! middle of a wait, a flush connection that cannot lock rows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hexvault_audit::{AuditLog, Event, EventKind};
use hexvault_audit_postgres::postgres::{Client, NoTls};
use hexvault_audit_postgres::{Error, PgLog};

mod common;

use common::{client, client_with_pid, options, storage_error, terminate, url};

/// A contended handle (it takes the head row's lock first) whose backend was terminated
/// while it was idle reads the server's `FATAL` as the answer to `BEGIN`: nothing was
/// committed, and it says `Database` (the `PgLog` docs).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn an_idle_contended_handle_whose_backend_was_terminated_says_database() {
    let (c, pid) = client_with_pid();
    let a = PgLog::create(c, options(0)).unwrap();
    a.append(Event::new(EventKind::Seal)).unwrap();
    let b = PgLog::open(client(), a.log_id(), options(0)).unwrap();
    b.append(Event::new(EventKind::Seal)).unwrap();
    // `a` finds the head moved by `b`: it goes through the locked path, and stays there.
    a.append(Event::new(EventKind::Open)).unwrap();
    terminate(pid);
    let first = a.append(Event::new(EventKind::Open)).unwrap_err();
    assert!(
        matches!(storage_error(&first), Error::Database(_)),
        "{first}"
    );
    let other = PgLog::open(client(), a.log_id(), options(0)).unwrap();
    assert_eq!(
        other.refresh().unwrap().next,
        3,
        "nothing more was committed"
    );
}

/// An uncontended handle whose backend was terminated while it was idle: `anchor` reads the
/// server's `FATAL` (or the closed connection) and fails; the next append on the handle
/// then sends nothing that could commit, and says `Database`, not an unknown commit.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn an_anchor_on_a_terminated_backend_leaves_no_unknown_commit_behind() {
    let (c, pid) = client_with_pid();
    let a = PgLog::create(c, options(0)).unwrap();
    a.append(Event::new(EventKind::Seal)).unwrap();
    terminate(pid);
    let anchored = a.anchor().unwrap_err();
    assert!(matches!(anchored, Error::Database(_)), "{anchored}");
    let next = a.append(Event::new(EventKind::Open)).unwrap_err();
    assert!(matches!(storage_error(&next), Error::Database(_)), "{next}");
    let other = PgLog::open(client(), a.log_id(), options(0)).unwrap();
    assert_eq!(
        other.refresh().unwrap().next,
        1,
        "nothing more was committed"
    );
}

/// A pipelined handle under 8 appending threads whose flush backend is terminated in the
/// middle of the run, often in the middle of a wait (the server answers `FATAL` before the
/// client sees the close): once a failure was reported, no append that starts afterwards
/// fails (the handle commits synchronously from then on), in each of 5 trials.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_flush_backend_terminated_mid_wait_downgrades_the_handle() {
    for trial in 0..5 {
        assert_eq!(late_failure_after_flush_kill(), None, "trial {trial}");
    }
}

/// One trial; returns the first append that started after a failure was reported and
/// failed itself, if any.
fn late_failure_after_flush_kill() -> Option<String> {
    let (flush, pid) = client_with_pid();
    let log = PgLog::create(client(), options(0))
        .unwrap()
        .with_flush_connection(flush)
        .unwrap();
    let failure_seen = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let acks = AtomicUsize::new(0);
    let late = std::sync::Mutex::new(None::<String>);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let after = failure_seen.load(Ordering::SeqCst);
                    match log.append(Event::new(EventKind::Open)) {
                        Ok(_) => {
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            if after {
                                late.lock().unwrap().get_or_insert_with(|| e.to_string());
                            }
                            failure_seen.store(true, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
        let started = Instant::now();
        while acks.load(Ordering::SeqCst) < 300 {
            assert!(
                started.elapsed().as_secs() < 60,
                "no progress before the kill"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let killed: bool = client()
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap()
            .get(0);
        assert!(killed);
        let started = Instant::now();
        while !failure_seen.load(Ordering::SeqCst) {
            assert!(
                started.elapsed().as_secs() < 60,
                "no failure after the kill"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let after = acks.load(Ordering::SeqCst);
        while acks.load(Ordering::SeqCst) < after + 300 {
            assert!(
                started.elapsed().as_secs() < 60,
                "no progress after the failure"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        stop.store(true, Ordering::SeqCst);
    });
    late.into_inner().unwrap()
}

/// A flush connection whose role may read the log but not lock its record rows (the flush
/// wait's `FOR KEY SHARE` needs UPDATE) could never confirm a flush: every deferred group
/// would be committed and reported failed. `with_flush_connection` refuses it up front.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_flush_connection_that_cannot_lock_rows_is_refused() {
    let log = PgLog::create(client(), options(0)).unwrap();
    client()
        .batch_execute(
            "DROP ROLE IF EXISTS flush_without_row_locks;
             CREATE ROLE flush_without_row_locks LOGIN;
             GRANT SELECT ON hexvault_audit_logs, hexvault_audit_records,
                hexvault_audit_checkpoints, hexvault_audit_schema
                TO flush_without_row_locks;",
        )
        .unwrap();
    let flush = Client::connect(&format!("{} user=flush_without_row_locks", url()), NoTls).unwrap();
    let refused = log.with_flush_connection(flush);
    let Err(Error::Database(db)) = &refused else {
        panic!("accepted, or another error: {:?}", refused.err());
    };
    assert!(
        db.to_string().contains("permission denied") || format!("{db:?}").contains("42501"),
        "{db:?}"
    );
}

/// A flush connection to a copy of the database (a restored backup, a logical subscriber:
/// here a schema copy reached through `search_path`) that holds the handle's last record
/// passes `with_flush_connection`'s probe, and then finds no row for any record committed
/// after the copy (review round 38): the first flush wait that fails switches the handle to
/// synchronous commits, so no append that starts after a reported failure fails; the
/// appends that failed say `FlushUnconfirmed` (committed, flush not confirmed), never
/// `InconsistentHead` (review round 39).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_flush_connection_to_a_copy_is_refused_or_downgrades_the_handle() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    copy_the_log_tables("flush_copy");
    let flush = connect_to_the_copy("flush_copy");
    let Ok(log) = log.with_flush_connection(flush) else {
        return; // refused up front: fixed
    };
    let stop = AtomicBool::new(false);
    let failure_seen = AtomicBool::new(false);
    let acks = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let late = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let after = failure_seen.load(Ordering::SeqCst);
                    match log.append(Event::new(EventKind::Open)) {
                        Ok(_) => {
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            failures.fetch_add(1, Ordering::SeqCst);
                            // Committed, flush not confirmed: says so (review round 39).
                            let flush_unconfirmed = match storage_error(&e) {
                                Error::FlushUnconfirmed { .. } => true,
                                Error::GroupCommit { source, .. } => {
                                    matches!(**source, Error::FlushUnconfirmed { .. })
                                }
                                _ => false,
                            };
                            if after || !flush_unconfirmed {
                                late.lock()
                                    .unwrap()
                                    .push(format!("{:?}", storage_error(&e)));
                            }
                            failure_seen.store(true, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::SeqCst);
    });
    let committed: i64 = client()
        .query_one(
            "SELECT count(*) FROM public.hexvault_audit_records WHERE log_id = $1",
            &[&log.log_id().as_bytes().as_slice()],
        )
        .unwrap()
        .get(0);
    let late = late.into_inner().unwrap();
    assert!(
        late.is_empty(),
        "{} appends failed after a failure was reported ({} failures, {} acks, {} records \
         committed: {} committed appends reported failed); first: {}",
        late.len(),
        failures.load(Ordering::SeqCst),
        acks.load(Ordering::SeqCst),
        committed,
        committed as usize - 1 - acks.load(Ordering::SeqCst),
        late.first().map_or("", String::as_str)
    );
}

/// A flush connection that does not see the last record the handle knows (a copy taken
/// before it) is refused up front: `UnknownLog` (review round 38).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_flush_connection_to_a_stale_copy_is_refused() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    copy_the_log_tables("flush_stale_copy");
    log.append(Event::new(EventKind::Open)).unwrap();
    let flush = connect_to_the_copy("flush_stale_copy");
    assert!(matches!(
        log.with_flush_connection(flush),
        Err(Error::UnknownLog(_))
    ));
}

/// Copies the log tables as they are now into schema `schema` (a stand-in for a restored
/// backup or a logical subscriber of the database).
fn copy_the_log_tables(schema: &str) {
    client()
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE;
             CREATE SCHEMA {schema};
             CREATE TABLE {schema}.hexvault_audit_logs
                AS SELECT * FROM public.hexvault_audit_logs;
             CREATE TABLE {schema}.hexvault_audit_records
                (LIKE public.hexvault_audit_records INCLUDING ALL);
             INSERT INTO {schema}.hexvault_audit_records
                SELECT * FROM public.hexvault_audit_records;"
        ))
        .unwrap();
}

/// A connection that sees the copy in `schema` in place of the log tables.
fn connect_to_the_copy(schema: &str) -> Client {
    Client::connect(
        &format!("{} options='-csearch_path={schema}'", url()),
        NoTls,
    )
    .unwrap()
}

/// A flush connection in a read-only session (as on a standby, or with
/// `default_transaction_read_only`) cannot take the flush wait's row lock: refused up front
/// (`with_flush_connection` docs), never accepted to fail every flush.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_read_only_flush_connection_is_refused() {
    let log = PgLog::create(client(), options(0)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    let flush = Client::connect(
        &format!("{} options='-cdefault_transaction_read_only=on'", url()),
        NoTls,
    )
    .unwrap();
    let refused = log.with_flush_connection(flush);
    assert!(
        matches!(&refused, Err(Error::Database(db)) if format!("{db:?}").contains("read-only")),
        "{:?}",
        refused.err()
    );
}

/// A second throwaway server (the project's own script, nested), alive until dropped.
struct OtherServer {
    child: std::process::Child,
    url: String,
}

impl OtherServer {
    fn start() -> Self {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/pg-test-cluster.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .args([
                "sh",
                "-c",
                "echo \"$HEXVAULT_TEST_POSTGRES_URL\"; read -r done",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut url = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut url)
            .unwrap();
        Self {
            child,
            url: url.trim().to_owned(),
        }
    }
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A flush connection to another server that holds a copy of the log (as a restored backup
/// or a replica would: every row, the last record this handle knows included) would confirm
/// flushes of its own WAL, not of the server that takes the handle's commits: refused with
/// `FlushConnectionElsewhere` (carried review-round-30 LOW). A second connection to the
/// handle's own server is accepted.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_flush_connection_to_a_copy_on_another_server_is_refused() {
    use std::io::{Read, Write};
    let log = PgLog::create(client(), options(4)).unwrap();
    log.append_batch((0..6).map(|_| Event::new(EventKind::Seal)).collect())
        .unwrap();
    let other = OtherServer::start();
    let mut copy = Client::connect(&other.url, NoTls).unwrap();
    hexvault_audit_postgres::migrate(&mut copy).unwrap();
    let mut source = client();
    let hex: String = log
        .log_id()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let id = format!("\\x{hex}");
    for table in [
        "hexvault_audit_logs",
        "hexvault_audit_records",
        "hexvault_audit_checkpoints",
    ] {
        let mut rows = Vec::new();
        source
            .copy_out(&format!(
                "COPY (SELECT * FROM {table} WHERE log_id = '{id}') TO STDOUT (FORMAT binary)"
            ))
            .unwrap()
            .read_to_end(&mut rows)
            .unwrap();
        let mut writer = copy
            .copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
            .unwrap();
        writer.write_all(&rows).unwrap();
        writer.finish().unwrap();
    }
    let copied: i64 = copy
        .query_one("SELECT count(*) FROM hexvault_audit_records", &[])
        .unwrap()
        .get(0);
    assert_eq!(copied, 6, "the copy holds every record");
    let refused = PgLog::open(client(), log.log_id(), options(4))
        .unwrap()
        .with_flush_connection(Client::connect(&other.url, NoTls).unwrap());
    assert!(
        matches!(refused, Err(Error::FlushConnectionElsewhere)),
        "{:?}",
        refused.err()
    );
    drop(copy);
    let same = PgLog::open(client(), log.log_id(), options(4))
        .unwrap()
        .with_flush_connection(client());
    assert!(same.is_ok(), "{:?}", same.err());
}
