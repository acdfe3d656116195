//! Review round 25 findings (cells).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::{memory_log, oid};
use hexvault_audit::AuditLog as _;
use hexvault_cells::*;

/// A memory log with `PgLog`'s `len()`: "`len()` and `head()` of [`AuditLog`] are what this
/// handle saw at its last append, checkpoint or [`PgLog::refresh`]: other writers may have
/// appended since" (crates/audit-postgres/src/log.rs:102-103), and "When the connection
/// fails during `COMMIT` or the flush wait, the append returns an error and the records may
/// or may not be committed; ... the next append finds the head in the database"
/// (log.rs:97-100): an append whose acknowledgement was lost stores its record, returns an
/// error and leaves the handle's length where it was.
struct LastSeenLenLog {
    inner: hexvault_audit::MemoryLog,
    seen: AtomicU64,
    lose_ack: AtomicBool,
}

impl LastSeenLenLog {
    fn new() -> Self {
        Self {
            inner: memory_log(),
            seen: AtomicU64::new(0),
            lose_ack: AtomicBool::new(false),
        }
    }
    fn saw(&self) {
        self.seen.store(self.inner.len(), Ordering::SeqCst);
    }
}

impl hexvault_audit::AuditLog for LastSeenLenLog {
    fn append(
        &self,
        event: hexvault_audit::Event,
    ) -> hexvault_audit::Result<hexvault_audit::Appended> {
        let appended = self.inner.append(event)?;
        if self.lose_ack.swap(false, Ordering::SeqCst) {
            // Committed, but the handle never learned it.
            return Err(hexvault_audit::Error::Failed);
        }
        self.saw();
        Ok(appended)
    }
    fn append_batch(
        &self,
        events: Vec<hexvault_audit::Event>,
    ) -> hexvault_audit::Result<Vec<hexvault_audit::Appended>> {
        let appended = self.inner.append_batch(events)?;
        self.saw();
        Ok(appended)
    }
    fn checkpoint(&self) -> hexvault_audit::Result<Option<hexvault_audit::Checkpoint>> {
        self.inner.checkpoint()
    }
    fn flush(&self) -> hexvault_audit::Result<()> {
        self.inner.flush()
    }
    fn verify(&self) -> hexvault_audit::Result<hexvault_audit::Report> {
        self.inner.verify()
    }
    fn log_id(&self) -> hexvault_audit::LogId {
        self.inner.log_id()
    }
    fn len(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }
    fn head(&self) -> hexvault_audit::ChainValue {
        self.inner.head()
    }
}

/// `Vault::replay_versions` (crates/cells/src/vault.rs:400-403): "A replay whose records
/// reach the end of the vault's own log also settles a vault that refuses key-version
/// changes ...; a shorter replay leaves it unsettled", and CHANGELOG.md:37-40 (round 23
/// extended the refusal "to an append that reports an error (a database may have committed
/// it) and to replays that stop short of the log's end").
///
/// The end of the log is taken as `self.inner.log.len()` (vault.rs:445), which for `PgLog`
/// is the length the handle last saw, not the database's: an append whose COMMIT
/// acknowledgement was lost (the very case round 23 added) does not advance it. A replay of
/// records read before that append (a stale copy) "reaches" the stale length and settles
/// the vault; the next rotation records the same version a second time, which a replay
/// after a restart reads as a retirement, so blobs the live vault opens no longer open.
#[test]
#[ignore = "review25 finding"]
fn a_stale_replay_does_not_settle_a_vault_whose_log_len_is_the_last_seen_length() {
    let log = Arc::new(LastSeenLenLog::new());
    let vault = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, log.clone());
    let a = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("a").unwrap());
    let none = Credentials::none();
    assert_eq!(a.rotate().unwrap(), 2);
    let blob = a
        .seal(&oid("o"), b"sealed under v2", Layer::Rest, &none)
        .unwrap();
    // Records read now: a copy that will be stale.
    let stale = log.inner.records().unwrap();

    log.lose_ack.store(true, Ordering::SeqCst);
    assert!(
        a.rotate().is_err(),
        "the rotation's COMMIT acknowledgement was lost"
    );
    assert!(matches!(a.rotate(), Err(Error::VersionsUnsettled)));
    assert_eq!(
        log.inner.len(),
        stale.len() as u64 + 1,
        "the record is in the log"
    );

    if vault.replay_versions(&stale).is_err() {
        return; // refusing a stale replay is a fix too
    }
    let settled = !matches!(a.rotate(), Err(Error::VersionsUnsettled));
    // What follows from settling: a restart replays a retirement of version 2.
    let again = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, Arc::new(memory_log()));
    again
        .replay_versions(&log.inner.records().unwrap())
        .unwrap();
    let a2 = again
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("a").unwrap());
    assert!(
        !settled,
        "a replay of records that do not hold the unsettled rotation settled the vault; live \
         versions {:?}, after a restart {:?}, the v2 blob opens after the restart: {:?}",
        a.key_versions(),
        a2.key_versions(),
        a2.open(&oid("o"), &blob, &none).map(|_| ()),
    );
}
