//! Helpers shared by the tests against a real PostgreSQL server: the connection to the
//! throwaway cluster (`cargo xtask postgres` sets its URL) and the keys every log is made
//! with.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use hexvault_audit::{AuditKey, LogId, LogOptions, SigningKey, Verifier, VerifyingKey};
use hexvault_audit_postgres::postgres::{Client, NoTls};

/// The variable holding the throwaway cluster's connection URL.
pub const URL_VAR: &str = "HEXVAULT_TEST_POSTGRES_URL";

/// The audit key of every log made through [`options`].
pub const AUDIT_KEY: [u8; 32] = [7; 32];
/// The signing seed of every log made through [`options`].
pub const SIGNING_SEED: [u8; 32] = [9; 32];

/// The throwaway cluster's connection URL; fails (never skips) when it is not set.
pub fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: these tests need a PostgreSQL server; run them with \
             `cargo xtask postgres`, which starts a throwaway cluster and sets it"
        )
    })
}

/// A new connection to the throwaway cluster.
pub fn client() -> Client {
    Client::connect(&url(), NoTls).unwrap()
}

/// Keyed and signed log options with an interval checkpoint every `every` records.
pub fn options(every: u64) -> LogOptions {
    LogOptions::keyed(&AuditKey::from_bytes(AUDIT_KEY))
        .signing_seed(SIGNING_SEED)
        .checkpoint_every(every)
}

/// The public key of [`SIGNING_SEED`].
pub fn public_key() -> VerifyingKey {
    SigningKey::from_bytes(&SIGNING_SEED).verifying_key()
}

/// A verifier with the audit key and the public key of [`options`].
pub fn verifier() -> Verifier {
    Verifier::keyed(&AuditKey::from_bytes(AUDIT_KEY)).with_public_key(public_key())
}

/// Holds the log's head row locked (`SELECT ... FOR UPDATE`) from another connection;
/// returns the locking transaction's client (commit or drop it to release).
pub fn block_head_row(log_id: LogId) -> Client {
    let mut admin = client();
    admin.batch_execute("BEGIN").unwrap();
    admin
        .execute(
            "SELECT 1 FROM hexvault_audit_logs WHERE log_id = $1 FOR UPDATE",
            &[&log_id.as_bytes().as_slice()],
        )
        .unwrap();
    admin
}

/// Waits until a backend waits for a lock `admin`'s transaction holds; returns that
/// backend's pid.
pub fn blocked_by(admin: &mut Client) -> i32 {
    for _ in 0..600 {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))",
                &[],
            )
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no backend waited for a lock of the admin transaction within 30 s");
}

/// The storage error of this crate inside an audit error.
pub fn storage_error(error: &hexvault_audit::Error) -> &hexvault_audit_postgres::Error {
    let hexvault_audit::Error::Storage(inner) = error else {
        panic!("not a storage error: {error}");
    };
    inner
        .downcast_ref::<hexvault_audit_postgres::Error>()
        .unwrap_or_else(|| panic!("not a PostgreSQL error: {error}"))
}

/// A new connection and its backend's pid.
pub fn client_with_pid() -> (Client, i32) {
    let mut c = client();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    (c, pid)
}

/// Terminates backend `pid` and lets it exit.
pub fn terminate(pid: i32) {
    let killed: bool = client()
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap()
        .get(0);
    assert!(killed);
    std::thread::sleep(std::time::Duration::from_millis(500));
}
