//! The crate's error enum and `Result`.

use std::sync::Arc;

use hexvault_audit::LogId;

/// Everything that can go wrong in `hexvault-audit-postgres`.
///
/// Damage found while verifying a log (a row changed, removed, reordered or forged) is not
/// an `Error`: it is reported in [`hexvault_audit::Report::failure`] with its sequence
/// number.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection or a statement failed. For an append: before its `COMMIT` was sent,
    /// or with an `ERROR` answer to the statement that carried the commit (`COMMIT`, or a
    /// one-statement transaction): the transaction was rolled back (or never began); any
    /// other failure once an append's `COMMIT` was sent is [`Error::CommitUnconfirmed`] (or
    /// [`Error::FlushUnconfirmed`] when the flush wait found no row to lock). A
    /// checkpoint on demand whose `COMMIT` failed without an `ERROR` answer may be stored or
    /// not: a new handle ([`crate::PgLog::open`] with a new `Client`) returns it from
    /// `checkpoint()` if it is (the failed handle's connection is closed). Every call on a
    /// handle whose client has seen its connection close fails with this error: nothing is
    /// sent.
    #[error(
        "PostgreSQL failed: {}; check that the server runs, the connection string and the server log",
        describe(.0)
    )]
    Database(#[from] postgres::Error),

    /// An append's `COMMIT` was sent (or its one-statement transaction) and then the
    /// connection failed without an answer (lost or reset), the server answered `FATAL` or
    /// `PANIC` (its backend terminated: an administrator, a shutdown, a crash, possibly after
    /// the commit was done), or the wait for the WAL flush failed: its records
    /// may be in the log, committed and perhaps not yet durable, or not. Not acknowledged;
    /// appending the same events again may log them twice: verify the log, or refresh a
    /// handle, first (review round 30); when this handle's connection is closed (it does not
    /// reconnect), through a new handle ([`crate::PgLog::open`] with a new `Client`).
    #[error(
        "PostgreSQL failed after this append's commit was sent: {}; its records may be in the log: verify the log (or refresh a handle, a new one if this one's connection is closed) before appending them again",
        describe(.0)
    )]
    CommitUnconfirmed(postgres::Error),

    /// The audit library refused (keys, encoding, clock, sequence numbers).
    #[error(transparent)]
    Audit(#[from] hexvault_audit::Error),

    /// The database holds no hexvault audit schema (nothing was ever created in it).
    #[error(
        "this database holds no hexvault audit log tables; check the connection string (database name), or create a log first"
    )]
    NoSchema,

    /// The database's schema is newer than this build knows.
    #[error(
        "the database holds hexvault audit schema version {found}, this build knows versions up to {supported}; upgrade hexvault"
    )]
    SchemaTooNew {
        /// The version in the database.
        found: i32,
        /// The newest version this build knows.
        supported: i32,
    },

    /// No log with this id in the database.
    #[error("no audit log {0} in this database; check the log id and the database")]
    UnknownLog(LogId),

    /// The log exists and its stored keys or mode differ from the options it was opened
    /// with.
    #[error(
        "audit log {log_id} was created with another {what}; open it with the keys and chain mode it was created with"
    )]
    OptionsMismatch {
        /// The log.
        log_id: LogId,
        /// What differs.
        what: &'static str,
    },

    /// An append's records were committed, but the wait for the WAL flush past them found
    /// no row for the batch's last record (removed by someone with database access, or a
    /// flush connection to a copy of the database): their durability is not confirmed. Not
    /// acknowledged; as [`Error::CommitUnconfirmed`], the records may be in the log: verify
    /// it before appending them again.
    #[error(
        "the records of this append up to sequence {last} of audit log {log_id} were committed, but the wait for their flush found no row for record {last} (removed, or the flush connection sees a copy of the database); they may be in the log: verify the log before appending them again"
    )]
    FlushUnconfirmed {
        /// The log.
        log_id: LogId,
        /// The batch's last sequence number.
        last: u64,
    },

    /// The connection given to [`crate::PgLog::with_flush_connection`] is to another server
    /// than the handle's own (another start time): its WAL flushes say nothing of the
    /// server that takes the handle's commits.
    #[error(
        "the flush connection is to another server than the log handle's (a replica or a copy): give it a connection to the same server"
    )]
    FlushConnectionElsewhere,

    /// The log's head row does not fit its records: changed in the database, or records
    /// were written around this crate.
    #[error(
        "the head row of audit log {log_id} is inconsistent: {what}; keep the database as evidence and verify the log"
    )]
    InconsistentHead {
        /// The log.
        log_id: LogId,
        /// What does not fit.
        what: String,
    },

    /// The group commit that carried this append together with appends of other threads
    /// on the same [`crate::PgLog`] failed: every one of them gets this error and none is
    /// acknowledged. A group is one transaction, so its records are all committed or none;
    /// none when the failure came before `COMMIT` (see `source`: a refused statement, a
    /// lost connection). On a pipelined handle a failed flush wait fails every append it
    /// covered: committed, possibly in several groups, never acknowledged.
    #[error(
        "the group commit of {requests} appends that carried this one failed: {source}; \
         the appends of one group are committed all or none: verify the log before appending them again"
    )]
    GroupCommit {
        /// How many appends (`append` or `append_batch` calls) the group carried.
        requests: usize,
        /// The failure, shared by every append of the group.
        source: Arc<Error>,
    },
}

/// `error` for a message: the server's own message and SQLSTATE when the server answered
/// with an error (the client library's `Display` says only "db error"), else the client's
/// description. Never the error's detail, hint or the statement's parameters, which may
/// quote row values.
fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!(
            "{} (server said: {}, SQLSTATE {})",
            error,
            db.message(),
            db.code().code()
        ),
        None => error.to_string(),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl From<Error> for hexvault_audit::Error {
    /// For the [`hexvault_audit::AuditLog`] trait: audit errors stay themselves, everything
    /// else becomes [`hexvault_audit::Error::Storage`].
    fn from(error: Error) -> Self {
        match error {
            Error::Audit(inner) => inner,
            other => Self::Storage(Box::new(other)),
        }
    }
}
