//! The cells vault (`hexvault_cells::Vault`) on a PostgreSQL audit log, two vaults ("nodes")
//! on one log, as a multi-node deployment runs it (review round 61): the two documented
//! limits of key versions on a shared log (SECURITY.md, "Known limits"), a failed change that
//! settles while another node appends, and `PgLog::anchor` refusing a copied checkpoint row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use hexvault_audit::{AuditLog as _, AuditRecord, LogEntry};
use hexvault_audit_postgres::{PgLog, StoredLog};
use hexvault_cells::{
    AccessToken, CellId, Credentials, Layer, ObjectId, PartitionId, PolicyContext, TokenResolver,
    Vault, VaultMasterKey,
};

struct NoTokens;

impl TokenResolver for NoTokens {
    fn resolve(&self, _: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        None
    }
}

/// A vault ("node") over its own handle on the log `log_id`, under the shared master.
fn node(log_id: hexvault_audit::LogId) -> Vault {
    let log = PgLog::open(common::client(), log_id, common::options(64)).unwrap();
    Vault::new(
        VaultMasterKey::from_kms_bytes(&mut [0x42; 32]),
        NoTokens,
        Arc::new(log),
    )
}

fn cell(vault: &Vault) -> hexvault_cells::Cell {
    vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap())
}

/// Every record of the log, verified, in sequence order (what a restarted node replays).
fn records(log_id: hexvault_audit::LogId) -> Vec<AuditRecord> {
    let stored = StoredLog::read(&mut common::client(), log_id).unwrap();
    assert!(stored.verify(&common::verifier()).unwrap().is_ok());
    let (entries, unreadable) = stored.decoded().unwrap();
    assert!(unreadable.is_none());
    entries
        .into_iter()
        .filter_map(|entry| match entry {
            LogEntry::Record { record, .. } => Some(record),
            _ => None,
        })
        .collect()
}

/// Claim (crates/cells/src/vault.rs:795-796, `Cell::rotate`: "Records the rotation first
/// (checkpointed or flushed: durable before it takes effect)", and vault.rs:369-370: a
/// key-version change is recorded "so that a replay of the log
/// ([`Vault::replay_versions`]) reaches the same versions"; SECURITY.md:129 "Key versions
/// and retirements live in the audit log (replayed when a vault reopens ...)").
///
/// Two nodes on one PostgreSQL log each rotate the same cell once (neither has replayed the
/// other's record: nothing tells a running vault to). The log then holds `rotate -> 2`
/// twice, which the replay rule (crates/cells/src/replay.rs:31-35) reads as a rotation and
/// then a RETIREMENT of version 1: a node restarted over the log refuses every blob sealed
/// under cell version 1, which both nodes still open and which nobody retired. The second
/// rotation's checkpoint succeeds (it signs over the other node's record too), so nothing
/// reports the divergence (the `versions_unsettled` guard of vault.rs:123-129 covers only
/// a change of this vault's own that failed).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn two_nodes_rotating_one_cell_replay_as_a_retirement_nobody_made() {
    let log = PgLog::create(common::client(), common::options(64)).unwrap();
    let log_id = hexvault_audit::AuditLog::log_id(&log);
    drop(log);
    let a = node(log_id);
    let b = node(log_id);
    let object = ObjectId::new("o").unwrap();
    let old = cell(&b)
        .seal(
            &object,
            b"sealed at cell v1",
            Layer::Rest,
            &Credentials::none(),
        )
        .unwrap();

    assert_eq!(cell(&a).rotate().unwrap(), 2);
    let b_rotated = cell(&b).rotate();

    // A node restarted over the log.
    let restarted = node(log_id);
    restarted.replay_versions(records(log_id).iter()).unwrap();
    let replayed = cell(&restarted).key_versions();
    let opens_after_restart = cell(&restarted)
        .open(&object, &old, &Credentials::none())
        .is_ok();

    // The documented limit (SECURITY.md, "Known limits"): the second node's rotation is
    // recorded as `rotate -> 2` again, which the replay reads as a retirement of version 1.
    assert_eq!(b_rotated.unwrap(), 2);
    assert_eq!(replayed, (2, 2));
    assert!(!opens_after_restart);
    assert!(
        security_md().contains("a second rotation to the same version reads as a retirement"),
        "SECURITY.md no longer names the limit"
    );
}

/// SECURITY.md, "Known limits", flattened to one line.
fn security_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../SECURITY.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Claim (crates/cells/src/vault.rs:827-829, `Cell::retire_below`: "Retires this cell's key
/// versions below `minimum`: their blobs no longer open ... Records the retirement first
/// (checkpointed or flushed: durable before it takes effect)"; SECURITY.md:129-131
/// "Rotations and retirements are checkpointed and anchored ... before they take effect").
///
/// On a log shared by two nodes the retirement takes effect on the node that made it only:
/// the other node, running meanwhile, still opens blobs under the retired version and,
/// worse, goes on SEALING new data under it (it never learned of the rotation either), data
/// that no longer opens once that node restarts and replays the log. Nothing in the docs says
/// a running vault must replay a shared log (SECURITY.md says so for session ends only, not
/// for key versions).
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_retirement_by_one_node_does_not_bind_the_other_running_node() {
    let log = PgLog::create(common::client(), common::options(64)).unwrap();
    let log_id = hexvault_audit::AuditLog::log_id(&log);
    drop(log);
    let a = node(log_id);
    let b = node(log_id);
    let object = ObjectId::new("o").unwrap();
    let old = cell(&a)
        .seal(
            &object,
            b"sealed at cell v1",
            Layer::Rest,
            &Credentials::none(),
        )
        .unwrap();
    assert_eq!(cell(&a).rotate().unwrap(), 2);
    cell(&a).retire_below(2).unwrap();
    assert!(cell(&a).open(&object, &old, &Credentials::none()).is_err());

    // Node b, running all along: the retired version still opens there...
    let still_opens = cell(&b).open(&object, &old, &Credentials::none()).is_ok();
    // ... and new data is sealed under it (if b seals at all).
    let sealed_by_b = cell(&b).seal(&object, b"new data", Layer::Rest, &Credentials::none());

    let restarted = node(log_id);
    restarted.replay_versions(records(log_id).iter()).unwrap();
    let lost = sealed_by_b.as_ref().is_ok_and(|blob| {
        cell(&restarted)
            .open(&object, blob, &Credentials::none())
            .is_err()
    });
    // The documented limit (SECURITY.md, "Known limits"): node b learns of the retirement
    // only when it replays the log.
    assert!(still_opens && lost);
    assert!(
        security_md().contains("does not learn of another vault's rotation or retirement"),
        "SECURITY.md no longer names the limit"
    );
    b.replay_versions(records(log_id).iter()).unwrap();
    assert!(cell(&b).open(&object, &old, &Credentials::none()).is_err());
}

/// `PgLog` whose next checkpoint fails (as a checkpoint whose connection drops, or whose
/// lock wait times out, fails), everything else forwarded.
struct CheckpointFailsOnce {
    pg: PgLog,
    fail: std::sync::atomic::AtomicBool,
}

impl hexvault_audit::AuditLog for CheckpointFailsOnce {
    fn append(
        &self,
        event: hexvault_audit::Event,
    ) -> hexvault_audit::Result<hexvault_audit::Appended> {
        self.pg.append(event)
    }
    fn append_batch(
        &self,
        events: Vec<hexvault_audit::Event>,
    ) -> hexvault_audit::Result<Vec<hexvault_audit::Appended>> {
        self.pg.append_batch(events)
    }
    fn checkpoint(&self) -> hexvault_audit::Result<Option<hexvault_audit::Checkpoint>> {
        if self.fail.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(hexvault_audit::Error::Failed);
        }
        self.pg.checkpoint()
    }
    fn flush(&self) -> hexvault_audit::Result<()> {
        self.pg.flush()
    }
    fn verify(&self) -> hexvault_audit::Result<hexvault_audit::Report> {
        hexvault_audit::AuditLog::verify(&self.pg)
    }
    fn log_id(&self) -> hexvault_audit::LogId {
        self.pg.log_id()
    }
    fn len(&self) -> u64 {
        self.pg.len()
    }
    fn stored_len(&self) -> hexvault_audit::Result<u64> {
        self.pg.stored_len()
    }
    fn head(&self) -> hexvault_audit::ChainValue {
        self.pg.head()
    }
}

/// Claim (crates/cells/src/vault.rs:460-464, `Vault::replay_versions`: "A replay whose
/// records reach the end of the vault's own log also settles a vault that refuses key-version
/// changes with [`Error::VersionsUnsettled`]: a change whose record reached the log is then
/// in force"; and the errors of every change, e.g. vault.rs:344-345 "replay the log first").
///
/// On a log shared with another node, "the end of the log" moves whenever the other node
/// appends: a replay read in full, with the failed change's own record in it, settles
/// nothing if one record of the other node (a session start, an open) lands between the
/// read and the replay's `stored_len()` check. On a busy multi-node log the node whose
/// checkpoint failed once can never rotate or retire again (every attempt is
/// `VersionsUnsettled`), although every record that could be its change is in the replay:
/// the settling rule needs only records up to the log's length at the failure.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn a_node_whose_checkpoint_failed_cannot_settle_while_another_node_appends() {
    let log = PgLog::create(common::client(), common::options(64)).unwrap();
    let log_id = hexvault_audit::AuditLog::log_id(&log);
    drop(log);
    let a_log = Arc::new(CheckpointFailsOnce {
        pg: PgLog::open(common::client(), log_id, common::options(64)).unwrap(),
        fail: std::sync::atomic::AtomicBool::new(true),
    });
    let a = Vault::new(
        VaultMasterKey::from_kms_bytes(&mut [0x42; 32]),
        NoTokens,
        a_log,
    );
    let b = node(log_id);

    // Node a's rotation: recorded, its checkpoint failed: reported, not in force, unsettled.
    assert!(cell(&a).rotate().is_err());
    assert_eq!(cell(&a).key_versions(), (1, 1));

    // Node a reads the whole log (its rotation record included) to replay it; node b goes
    // on working meanwhile (one session start: one record).
    let read = records(log_id);
    assert!(
        read.iter()
            .any(|r| r.event.kind == hexvault_audit::EventKind::Rotate)
    );
    let _session = b.start_session(std::time::Duration::from_secs(60)).unwrap();
    a.replay_versions(read.iter()).unwrap();
    assert_eq!(
        cell(&a).key_versions(),
        (2, 1),
        "the replay put the rotation in force"
    );

    let next = cell(&a).rotate();
    assert!(
        next.is_ok(),
        "the replay held the failed change's record, yet node a stays unsettled: {next:?}"
    );
}

/// Claim (crates/audit-postgres/src/log.rs:1055-1056, `PgLog::anchor`: "The latest
/// checkpoint in the database (the checkpoint row with the greatest sequence number ...)";
/// docs/formats.md:571-572; README: "export the latest checkpoint as an anchor
/// (`PgLog::anchor`) and keep it elsewhere").
///
/// The row's `seq` column is trusted to say which checkpoint is the latest, and the
/// checkpoint inside it is never compared with it: someone with database access copies an
/// old, genuine checkpoint into a row with a `seq` above every other. `anchor()` then hands
/// out that OLD checkpoint (its signature verifies: it is genuine), so the anchor kept
/// "elsewhere" protects nothing after it, and a later cut of the tail back to it (with the
/// head row rewritten) verifies as complete against the kept anchor.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn anchor_hands_out_an_old_checkpoint_copied_into_a_higher_row() {
    let log = PgLog::create(common::client(), common::options(4)).unwrap();
    for _ in 0..10 {
        log.append(hexvault_audit::Event::new(hexvault_audit::EventKind::Seal))
            .unwrap();
    }
    let latest = log.checkpoint().unwrap().unwrap();
    assert_eq!(latest.sequence.get(), 9);
    let id = hexvault_audit::AuditLog::log_id(&log);
    let id: &[u8] = id.as_bytes();
    let mut attacker = common::client();
    attacker
        .execute(
            "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) \
             SELECT log_id, 1000, checkpoint FROM hexvault_audit_checkpoints \
              WHERE log_id = $1 AND seq = 3",
            &[&id],
        )
        .unwrap();
    match log.anchor() {
        Err(_) => {}
        Ok(anchor) => {
            let sequence = anchor.map(|a| a.sequence().get());
            assert_eq!(
                sequence,
                Some(9),
                "the latest checkpoint covers record 9; anchor() handed out {sequence:?}"
            );
        }
    }
}
