//! `hexvault-audit-postgres`: the hexvault audit log on PostgreSQL, for many writers on
//! many nodes.
#![doc = include_str!("../README.md")]
//!
//! # Invariants
//!
//! - One chain per log: every append (or batch) is one transaction that moves the log's
//!   head row from the head it chained onto; no two transactions can both do that, so the
//!   sequence stays gapless and the chain single whatever the number of writers.
//! - Threads sharing one `PgLog` are group-committed: one caller writes every queued call
//!   in one transaction; each call's records are consecutive, and a call is acknowledged
//!   only with its whole group (ADR 0076).
//! - An append returns only after its transaction committed and the server's WAL is
//!   flushed past it; a writer that dies before commit leaves nothing behind (the server
//!   rolls back).
//! - Records, chain values and checkpoints are byte for byte those of the file log
//!   ([`hexvault_audit::ChainWriter`]); verification is [`hexvault_audit::Verifier`]'s.
//! - The database is not trusted: every row read back is verified, and a row that cannot
//!   even be parsed is damage at its sequence, never a panic.
//! - No network code of its own: the caller brings the [`postgres::Client`] (and its TLS).

mod error;
mod log;
mod read;
mod schema;

pub use error::{Error, Result};
pub use log::PgLog;
pub use postgres;
pub use read::{DEFAULT_PAGE_ROWS, StoredLog, verify_and_anchor, verify_paged};
pub use schema::{SCHEMA_VERSION, check as check_schema, migrate};
