//! The versioned schema: created and migrated by [`migrate`], checked by readers.

use postgres::GenericClient;

use crate::{Error, Result};

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// Advisory lock key that serializes migrations between processes ("hxaudit" in ASCII).
const MIGRATION_LOCK: i64 = 0x0068_7861_7564_6974;

/// The migrations, in order: version `n` turns a version `n - 1` schema into version `n`.
/// Each runs once, in the transaction that records the new version.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "
    CREATE TABLE hexvault_audit_logs (
        log_id           bytea    PRIMARY KEY CHECK (length(log_id) = 16),
        chain_mode       smallint NOT NULL,
        key_check        bytea    NOT NULL CHECK (length(key_check) = 16),
        public_key       bytea             CHECK (length(public_key) = 32),
        checkpoint_every bigint   NOT NULL CHECK (checkpoint_every BETWEEN 0 AND 4294967295),
        next_seq         bigint   NOT NULL CHECK (next_seq >= 0),
        head             bytea    NOT NULL CHECK (length(head) = 32),
        public_head      bytea    NOT NULL CHECK (length(public_head) = 32),
        last_checkpoint  bigint,
        created_at       timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE hexvault_audit_records (
        log_id bytea  NOT NULL,
        seq    bigint NOT NULL CHECK (seq >= 0),
        record bytea  NOT NULL,
        chain  bytea  NOT NULL CHECK (length(chain) = 32),
        PRIMARY KEY (log_id, seq)
    );
    CREATE TABLE hexvault_audit_checkpoints (
        log_id     bytea  NOT NULL,
        seq        bigint NOT NULL CHECK (seq >= 0),
        checkpoint bytea  NOT NULL,
        PRIMARY KEY (log_id, seq)
    );
    ",
    ),
    // Audit log format 3 (ADR 0080): the chain construction of each log. Logs created
    // under schema 1 were written in format 2 and keep it; a log created from now on gets
    // the column's default, 3, the format `ChainWriter::new` writes (the head row's
    // INSERT names no format), and `HeadRow::parse` makes a writer continue a log in the
    // format of its row.
    (
        2,
        "
    ALTER TABLE hexvault_audit_logs
        ADD COLUMN chain_format smallint NOT NULL DEFAULT 2 CHECK (chain_format IN (2, 3));
    ALTER TABLE hexvault_audit_logs ALTER COLUMN chain_format SET DEFAULT 3;
    ",
    ),
];

/// Creates the tables, or brings them to [`SCHEMA_VERSION`], in one transaction under an
/// advisory lock (concurrent callers wait, then find nothing to do). Returns the version.
/// A database already at this version is only read, so writers need no `CREATE`
/// privilege once the schema exists.
///
/// # Errors
/// [`Error::SchemaTooNew`] if a newer build migrated the database; [`Error::Database`].
pub fn migrate(client: &mut impl GenericClient) -> Result<i32> {
    match check(client) {
        Ok(SCHEMA_VERSION) => return Ok(SCHEMA_VERSION),
        Ok(_) | Err(Error::NoSchema) => {}
        Err(e) => return Err(e),
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS hexvault_audit_schema (
             singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
             version   integer NOT NULL
         )",
    )?;
    let current = match tx.query_opt("SELECT version FROM hexvault_audit_schema", &[])? {
        Some(row) => row.try_get::<_, i32>(0)?,
        None => 0,
    };
    if current > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO hexvault_audit_schema (singleton, version) VALUES (true, $1)
             ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
            &[version],
        )?;
    }
    tx.commit()?;
    Ok(SCHEMA_VERSION)
}

/// Checks, without changing anything, that the database holds a schema this build reads.
///
/// # Errors
/// [`Error::NoSchema`], [`Error::SchemaTooNew`], [`Error::Database`].
pub fn check(client: &mut impl GenericClient) -> Result<i32> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('hexvault_audit_schema') IS NOT NULL",
            &[],
        )?
        .try_get(0)?;
    if !exists {
        return Err(Error::NoSchema);
    }
    let version = match client.query_opt("SELECT version FROM hexvault_audit_schema", &[])? {
        Some(row) => row.try_get::<_, i32>(0)?,
        None => return Err(Error::NoSchema),
    };
    if version > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(version)
}
