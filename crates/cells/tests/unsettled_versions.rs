//! Key-version changes whose record may be in the log without having taken effect (review
//! rounds 21 and 23): the vault refuses further changes until a replay of the whole log, so
//! a replay never reads a change recorded twice as a retirement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::{memory_log, oid};
use hexvault_audit::AuditLog as _;
use hexvault_cells::*;

fn cell(vault: &Vault, c: &str) -> Cell {
    vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new(c).unwrap())
}

/// A memory log that behaves as `PgLog` documents (crates/audit-postgres/src/log.rs): when
/// the connection fails during `COMMIT`, "the append returns an error and the records may or
/// may not be committed" (not poisoned; `flush` is a no-op), and `len()` is what the handle
/// saw at its last acknowledged append, while `stored_len()` reads the store. Its next
/// `append` can store the record and report an error (`lose_ack`), or its next
/// `checkpoint` fail (`fail_checkpoint`).
struct AppendAckLost {
    inner: hexvault_audit::MemoryLog,
    seen: AtomicU64,
    lose_ack: AtomicBool,
    fail_checkpoint: AtomicBool,
}

impl AppendAckLost {
    fn new() -> Self {
        Self {
            inner: memory_log(),
            seen: AtomicU64::new(0),
            lose_ack: AtomicBool::new(false),
            fail_checkpoint: AtomicBool::new(false),
        }
    }

    fn saw(&self) {
        self.seen.store(self.inner.len(), Ordering::SeqCst);
    }
}

impl hexvault_audit::AuditLog for AppendAckLost {
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
        if self.fail_checkpoint.swap(false, Ordering::SeqCst) {
            return Err(hexvault_audit::Error::Failed);
        }
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
    fn stored_len(&self) -> hexvault_audit::Result<u64> {
        Ok(self.inner.len())
    }
    fn head(&self) -> hexvault_audit::ChainValue {
        self.inner.head()
    }
}

/// `State::versions_unsettled` (crates/cells/src/vault.rs:123-129) and
/// `Error::VersionsUnsettled` (crates/cells/src/error.rs:87-89) exist so that "a second
/// change written over the first" is never "read wrongly (review round 21: a rotation
/// recorded twice replayed as a retirement)"; the facade promises (crates/hexvault/src/
/// vault.rs:196-199) that after a restart "every cell and the master resume at the current
/// and retired-minimum versions they had".
///
/// `Inner::record_version_change` (crates/cells/src/vault.rs:928-942) sets the flag only
/// when the checkpoint or flush after the append fails. An `append` that fails after its
/// record reached the log (PgLog: a connection lost during `COMMIT`; the outcome of a
/// failed append is unknown to the caller) leaves the vault settled: the next `Cell::rotate` records the same version a second time, and a
/// replay of the log reads it as a retirement: blobs sealed under version 1, which the live
/// vault still opens, no longer open after a restart.
#[test]

fn a_rotation_whose_append_reported_an_error_is_not_replayed_as_a_retirement() {
    let log = Arc::new(AppendAckLost::new());
    let vault = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, log.clone());
    let a = cell(&vault, "a");
    let none = Credentials::none();
    let blob = a
        .seal(&oid("o"), b"sealed under v1", Layer::Rest, &none)
        .unwrap();

    log.lose_ack.store(true, Ordering::SeqCst);
    assert!(
        a.rotate().is_err(),
        "the rotation's append reported an error"
    );
    assert_eq!(a.key_versions(), (1, 1), "the vault stays at version 1");

    // The caller retries. With the fix, the vault refuses until the log is replayed.
    match a.rotate() {
        Err(Error::VersionsUnsettled) => {
            vault
                .replay_versions(&log.inner.records().unwrap())
                .unwrap();
        }
        other => {
            other.unwrap();
        }
    }
    assert!(
        a.open(&oid("o"), &blob, &none).is_ok(),
        "the live vault opens v1"
    );

    // A restart: a new vault under the same master replays the log.
    let records = log.inner.records().unwrap();
    let again = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, Arc::new(memory_log()));
    again.replay_versions(&records).unwrap();
    let a2 = cell(&again, "a");
    assert_eq!(
        a2.key_versions(),
        a.key_versions(),
        "the replayed vault has the versions the live vault had"
    );
    assert!(
        a2.open(&oid("o"), &blob, &none).is_ok(),
        "a blob the live vault opened no longer opens after the restart: {:?}",
        a2.open(&oid("o"), &blob, &none).err()
    );
}

/// `Vault::replay_versions` (crates/cells/src/vault.rs:398-401): "A replay also settles a
/// vault that refuses key-version changes with [`Error::VersionsUnsettled`]: a change whose
/// record reached the log is then in force".
///
/// The flag is cleared by any replay (crates/cells/src/vault.rs:434-436), also one whose
/// records stop before the unsettled change (records read before it, a stale copy of the
/// log): the change that reached the log is not in force, yet the vault accepts the next
/// change, which records the same version again, replayed as a retirement. The vault knows
/// its log (`log.len()`) and could settle only when the records reach the unsettled one.
#[test]

fn a_replay_that_stops_before_the_unsettled_change_does_not_settle_the_vault() {
    let log = Arc::new(AppendAckLost::new());
    let vault = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, log.clone());
    let a = cell(&vault, "a");
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"v1", Layer::Rest, &none).unwrap();
    let before = log.inner.records().unwrap();
    // The unsettled state of the round-21 fix: a rotation whose checkpoint failed.
    log.fail_checkpoint.store(true, Ordering::SeqCst);
    assert!(a.rotate().is_err());
    assert!(matches!(a.rotate(), Err(Error::VersionsUnsettled)));
    // A replay of records read before the change (or of none at all). A replay that
    // refuses such records (they stop short of the log's length) is a fix too.
    if vault.replay_versions(&before).is_err() {
        return;
    }
    assert!(
        matches!(a.rotate(), Err(Error::VersionsUnsettled)),
        "a replay of records that do not hold the unsettled change settled the vault"
    );
    let _ = blob;
}

/// As `a_rotation_whose_append_reported_an_error_is_not_replayed_as_a_retirement`, for the
/// master (`Vault::rotate_master`, crates/cells/src/vault.rs:302-324): the second rotation
/// records the same master version again, and a replay retires every older master version.
#[test]

fn a_master_rotation_whose_append_reported_an_error_is_not_replayed_as_a_retirement() {
    let log = Arc::new(AppendAckLost::new());
    let vault = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, log.clone());
    log.lose_ack.store(true, Ordering::SeqCst);
    assert!(
        vault
            .rotate_master(VaultMasterKey::from_kms_bytes(&mut [7; 32]))
            .is_err()
    );
    match vault.rotate_master(VaultMasterKey::from_kms_bytes(&mut [7; 32])) {
        Err(Error::VersionsUnsettled) => {
            vault
                .replay_versions(&log.inner.records().unwrap())
                .unwrap();
        }
        other => {
            other.unwrap();
        }
    }
    let again = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, Arc::new(memory_log()));
    again
        .replay_versions(&log.inner.records().unwrap())
        .unwrap();
    assert_eq!(
        again.master_versions(),
        vault.master_versions(),
        "the replayed vault has the master versions the live vault had"
    );
}

/// `Vault::replay_versions` (crates/cells/src/vault.rs:365-366) restores "the master's and
/// every cell's key versions from the rotation and retirement records of an audit log";
/// the facade (crates/hexvault/src/vault.rs:196-197, `VaultBuilder::audit_file`) promises that "every
/// cell and the master resume at the current and retired-minimum versions they had".
///
/// A rotation and a retirement write the same record (a `rotate` record naming a version);
/// the replay tells them apart only by comparing with the versions replayed so far. When a
/// rotation's record is appended but the checkpoint that must follow it fails,
/// `Cell::rotate` returns the error and the vault stays at the old version, while the record
/// stays in the log. The next `rotate` recorded the same version again, and a replay read
/// that second record as a retirement (review round 21). Now the vault refuses key-version
/// changes (`Error::VersionsUnsettled`) until the log is replayed into it.
#[test]

fn a_rotation_whose_checkpoint_failed_is_not_replayed_as_a_retirement() {
    let log = Arc::new(AppendAckLost::new());
    let vault = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, log.clone());
    let a = cell(&vault, "a");
    let none = Credentials::none();
    log.fail_checkpoint.store(true, Ordering::SeqCst);
    assert!(a.rotate().is_err(), "the rotation's checkpoint failed");
    assert_eq!(a.key_versions(), (1, 1), "the vault stays at version 1");
    let blob = a
        .seal(&oid("o"), b"sealed under v1", Layer::Rest, &none)
        .unwrap();
    // The log names version 2, the vault holds 1: no second change is written over the
    // first (the replay would read it as a retirement) until the log is replayed.
    assert!(matches!(a.rotate(), Err(Error::VersionsUnsettled)));
    assert!(matches!(a.retire_below(1), Err(Error::VersionsUnsettled)));
    assert!(matches!(
        vault.rotate_master(hexvault_cells::VaultMasterKey::from_kms_bytes(&mut [7; 32])),
        Err(Error::VersionsUnsettled)
    ));
    assert!(
        a.open(&oid("o"), &blob, &none).is_ok(),
        "data keeps working"
    );
    vault
        .replay_versions(&log.inner.records().unwrap())
        .unwrap();
    assert_eq!(
        a.key_versions(),
        (2, 1),
        "the recorded rotation is in force"
    );
    assert_eq!(a.rotate().unwrap(), 3);
    assert!(a.open(&oid("o"), &blob, &none).is_ok());

    // A restart: a new vault under the same master replays the log.
    let records = log.inner.records().unwrap();
    let again = Vault::from_kms_bytes(&mut [0x42; 32], common::Resolver, Arc::new(memory_log()));
    again.replay_versions(&records).unwrap();
    let a2 = cell(&again, "a");
    assert_eq!(
        a2.key_versions(),
        (3, 1),
        "the replay reaches the vault's versions and invents no retirement"
    );
    assert!(a2.open(&oid("o"), &blob, &none).is_ok());
}

/// `Vault::replay_versions` (crates/cells/src/vault.rs:400-403): "A replay whose records
/// reach the end of the vault's own log also settles a vault that refuses key-version
/// changes ...; a shorter replay leaves it unsettled", and CHANGELOG.md:37-40 (round 23
/// extended the refusal "to an append that reports an error (a database may have committed
/// it) and to replays that stop short of the log's end").
///
/// The end of the log was taken as the log's `len()`, which for `PgLog` is the length the
/// handle last saw, not the database's (review round 25; now `stored_len()`): an append whose COMMIT
/// acknowledgement was lost (the very case round 23 added) does not advance it. A replay of
/// records read before that append (a stale copy) "reaches" the stale length and settles
/// the vault; the next rotation records the same version a second time, which a replay
/// after a restart reads as a retirement, so blobs the live vault opens no longer open.
#[test]
fn a_stale_replay_does_not_settle_a_vault_whose_log_len_is_the_last_seen_length() {
    let log = Arc::new(AppendAckLost::new());
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
