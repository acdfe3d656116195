//! Shared helpers of the edges integration tests: a token resolver, vaults, and logs that
//! fail on demand or count their calls.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use hexvault_audit::{
    Appended, AuditKey, AuditLog, AuditRecord, ChainValue, Checkpoint, Event, LogId, LogOptions,
    MemoryLog, Report,
};
use hexvault_cells::{
    AccessToken, ActorId, Cell, CellId, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, TokenResolver, Vault,
};

/// Tokens: `reader` → policy `readers` (secret 0x11, actor `alice`); `forged` → policy
/// `readers` with a wrong secret (0x99); `writer` → policy `writers` (secret 0x22).
pub(crate) struct Resolver;

impl TokenResolver for Resolver {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        let (policy, byte, actor) = match token.expose_secret() {
            b"reader" => ("readers", 0x11, Some("alice")),
            b"forged" => ("readers", 0x99, None),
            b"writer" => ("writers", 0x22, None),
            _ => return None,
        };
        let ctx = PolicyContext::new(
            PolicyId::new(policy).unwrap(),
            PolicySecret::from_bytes(&mut [byte; 32]),
        );
        Some(match actor {
            Some(a) => ctx.with_actor(ActorId::new(a).unwrap()),
            None => ctx,
        })
    }
}

/// A memory log that fails while `fail` is set and counts its single and batch appends.
pub(crate) struct TestLog {
    pub(crate) inner: MemoryLog,
    pub(crate) fail: AtomicBool,
    pub(crate) appends: AtomicUsize,
    pub(crate) batches: AtomicUsize,
}

impl TestLog {
    pub(crate) fn new() -> Self {
        Self {
            inner: memory_log(),
            fail: AtomicBool::new(false),
            appends: AtomicUsize::new(0),
            batches: AtomicUsize::new(0),
        }
    }

    pub(crate) fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// (single appends, batch appends) so far.
    pub(crate) fn calls(&self) -> (usize, usize) {
        (
            self.appends.load(Ordering::SeqCst),
            self.batches.load(Ordering::SeqCst),
        )
    }

    pub(crate) fn records(&self) -> Vec<AuditRecord> {
        self.inner.records().unwrap()
    }
}

impl AuditLog for TestLog {
    fn append(&self, event: Event) -> hexvault_audit::Result<Appended> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(hexvault_audit::Error::Failed);
        }
        self.inner.append(event)
    }
    fn append_batch(&self, events: Vec<Event>) -> hexvault_audit::Result<Vec<Appended>> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(hexvault_audit::Error::Failed);
        }
        self.inner.append_batch(events)
    }
    fn checkpoint(&self) -> hexvault_audit::Result<Option<Checkpoint>> {
        self.inner.checkpoint()
    }
    fn flush(&self) -> hexvault_audit::Result<()> {
        self.inner.flush()
    }
    fn verify(&self) -> hexvault_audit::Result<Report> {
        self.inner.verify()
    }
    fn log_id(&self) -> LogId {
        self.inner.log_id()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn head(&self) -> ChainValue {
        self.inner.head()
    }
}

pub(crate) fn memory_log() -> MemoryLog {
    MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap()
}

pub(crate) const MASTER: [u8; 32] = [0x42; 32];

/// A vault over `MASTER` with a fresh test log.
pub(crate) fn vault() -> (Vault, Arc<TestLog>) {
    let log = Arc::new(TestLog::new());
    (
        Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone()),
        log,
    )
}

pub(crate) fn cell(vault: &Vault, partition: &str, cell: &str) -> Cell {
    vault
        .partition(PartitionId::new(partition).unwrap())
        .cell(CellId::new(cell).unwrap())
}

pub(crate) fn oid(id: &str) -> ObjectId {
    ObjectId::new(id).unwrap()
}

pub(crate) fn token(t: &str) -> AccessToken {
    AccessToken::new(t.as_bytes().to_vec())
}
