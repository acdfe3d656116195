//! Batch traversal: one group commit (one `append_batch` call, no single appends), one
//! record per blob in order, per-blob failures, no blob from a batch whose append failed (a
//! refused batch leaves no record; a file log that failed after writing keeps a prefix).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use common::*;
use hexvault_audit::{AuditLog, ErrorClass, EventKind, Outcome};
use hexvault_cells::Error as CellsError;
use hexvault_edges::{Connect, Credentials, Error, Layer, ObjectId, RouteId};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hexvault_cells::{AccessToken, CellId, PartitionId, PolicyContext, Session, TokenResolver};

#[test]
fn a_batch_is_one_group_commit_with_one_record_per_blob() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "q", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let ids: Vec<ObjectId> = (0..10).map(|i| oid(&format!("o{i}"))).collect();
    let mut blobs: Vec<Vec<u8>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            a.seal(id, &vec![i as u8; 100 * i], Layer::Rest, &none)
                .unwrap()
        })
        .collect();
    let tampered = blobs[4].len() - 1;
    blobs[4][tampered] ^= 1;
    let items: Vec<(&ObjectId, &[u8])> = ids.iter().zip(&blobs).map(|(i, b)| (i, &b[..])).collect();
    let before = log.calls();
    let results = edge.traverse_batch(&items, &none, &none).unwrap();
    let after = log.calls();
    assert_eq!(after.0 - before.0, 0, "no single append");
    assert_eq!(after.1 - before.1, 1, "one append_batch for ten blobs");
    assert_eq!(results.len(), 10);
    for (i, r) in results.iter().enumerate() {
        if i == 4 {
            assert!(matches!(r, Err(Error::Cells(CellsError::Authentication))));
        } else {
            let moved = r.as_ref().unwrap();
            assert_eq!(
                b.open(&ids[i], moved, &none).unwrap().expose_secret(),
                &vec![i as u8; 100 * i][..]
            );
        }
    }
    let recs = log.records();
    assert_eq!(recs.len(), 10);
    for (i, r) in recs.iter().enumerate() {
        if i == 4 {
            assert_eq!(r.event.kind, EventKind::Denied);
            assert_eq!(
                r.event.outcome,
                Outcome::Failure(ErrorClass::Authentication)
            );
        } else {
            assert_eq!(r.event.kind, EventKind::Traverse);
        }
    }
    // Records are consecutive: one chain, verifiable.
    let seqs: Vec<u64> = recs.iter().map(|r| r.sequence.get()).collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn a_refused_group_commit_returns_no_blob_and_leaves_no_record() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    let o = oid("o");
    let items = [(&o, &blob[..]); 5];
    log.set_failing(true);
    assert!(matches!(
        edge.traverse_batch(&items, &none, &none),
        Err(Error::Cells(CellsError::Audit(_)))
    ));
    assert_eq!(log.len(), 0);
    log.set_failing(false);
    let ok = edge.traverse_batch(&items, &none, &none).unwrap();
    assert!(ok.iter().all(Result::is_ok));
    assert_eq!(log.len(), 5);
}

#[test]
fn an_undeclared_batch_is_refused_with_one_record_per_blob() {
    let (vault, log) = vault();
    let a = cell(&vault, "p", "a");
    let none = Credentials::none();
    let blob = a.seal(&oid("o"), b"x", Layer::Rest, &none).unwrap();
    let o = oid("o");
    let items = [(&o, &blob[..]); 3];
    assert!(matches!(
        vault.traverse_batch(
            &RouteId::new("nowhere").unwrap(),
            &items,
            &none,
            None,
            &none
        ),
        Err(CellsError::UndeclaredRoute { .. })
    ));
    assert_eq!(log.calls(), (0, 1));
    let recs = log.records();
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| r.event.kind == EventKind::Denied
        && r.event.outcome == Outcome::Failure(ErrorClass::PolicyDenied)));
    // An empty batch along a declared route does nothing; along an undeclared one it is
    // refused all the same (no item, so no record).
    let edge = vault.connect(&a, &a).unwrap();
    assert!(edge.traverse_batch(&[], &none, &none).unwrap().is_empty());
    assert!(matches!(
        vault.traverse_batch(&RouteId::new("nowhere").unwrap(), &[], &none, None, &none),
        Err(CellsError::UndeclaredRoute { .. })
    ));
    assert_eq!(log.len(), 3);
}

#[test]
fn a_batch_of_mixed_layers_and_versions_moves_each_blob() {
    let (vault, log) = vault();
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let reader = token("reader");
    let creds = Credentials::none().token(&reader);
    let none = Credentials::none();
    let o = oid("o");
    let v1_rest = a.seal(&o, b"r1", Layer::Rest, &none).unwrap();
    let v1_access = a.seal(&o, b"a1", Layer::Access, &creds).unwrap();
    a.rotate().unwrap();
    let v2_rest = a.seal(&o, b"r2", Layer::Rest, &none).unwrap();
    let items = [
        (&o, &v1_rest[..]),
        (&o, &v1_access[..]),
        (&o, &v2_rest[..]),
        (&o, &v1_rest[..]),
    ];
    let results = edge.traverse_batch(&items, &creds, &creds).unwrap();
    let opened: Vec<Vec<u8>> = results
        .iter()
        .map(|r| {
            b.open(&o, r.as_ref().unwrap(), &creds)
                .unwrap()
                .expose_secret()
                .to_vec()
        })
        .collect();
    assert_eq!(opened, [&b"r1"[..], b"a1", b"r2", b"r1"]);
    let layers: Vec<u8> = log
        .records()
        .iter()
        .filter(|r| r.event.kind == EventKind::Traverse)
        .map(|r| r.event.destination.as_ref().unwrap().layer.0)
        .collect();
    assert_eq!(layers, [0, 1, 0, 0]);
    // The whole batch at layer 1 with traverse_batch_to: the edge allows only the same layer.
    let refused = edge
        .traverse_batch_to(&items[..1], &creds, Layer::Access, &creds)
        .unwrap();
    assert!(matches!(
        refused[0],
        Err(Error::Cells(CellsError::LayerNotAllowed { .. }))
    ));
}

/// A resolver that ends a session on its `end_at`-th call (counting from 1), standing for
/// another thread ending it while a batch runs.
struct EndsSessionMidway {
    calls: AtomicUsize,
    end_at: AtomicUsize,
    session: Mutex<Option<Arc<Session>>>,
}

impl TokenResolver for EndsSessionMidway {
    fn resolve(&self, token: &AccessToken, p: &PartitionId, c: &CellId) -> Option<PolicyContext> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.end_at.load(Ordering::SeqCst)
            && let Some(s) = self.session.lock().unwrap().as_ref()
        {
            s.end();
        }
        Resolver.resolve(token, p, c)
    }
}

struct Shared(Arc<EndsSessionMidway>);

impl TokenResolver for Shared {
    fn resolve(&self, t: &AccessToken, p: &PartitionId, c: &CellId) -> Option<PolicyContext> {
        self.0.resolve(t, p, c)
    }
}

/// A session that ends in the middle of a layer-2 batch stops the batch's later items: the
/// batch never reuses a session key resolved for an earlier item.
#[test]
fn a_session_ended_mid_batch_stops_the_rest_of_the_batch() {
    let resolver = Arc::new(EndsSessionMidway {
        calls: AtomicUsize::new(0),
        end_at: AtomicUsize::new(usize::MAX),
        session: Mutex::new(None),
    });
    let vault = hexvault_cells::Vault::from_kms_bytes(
        &mut MASTER.clone(),
        Shared(resolver.clone()),
        Arc::new(memory_log()),
    );
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let reader = token("reader");
    let session = Arc::new(vault.start_session(Duration::from_secs(60)).unwrap());
    let creds = Credentials::none().token(&reader).session(&session);
    let ids: Vec<ObjectId> = (0..4).map(|i| oid(&format!("s{i}"))).collect();
    let blobs: Vec<Vec<u8>> = ids
        .iter()
        .map(|id| a.seal(id, b"session data", Layer::Session, &creds).unwrap())
        .collect();
    let items: Vec<(&ObjectId, &[u8])> = ids.iter().zip(&blobs).map(|(i, b)| (i, &b[..])).collect();
    // The first item resolves its source and its destination (two calls); the session ends
    // at the next call, while the second item is being resolved.
    *resolver.session.lock().unwrap() = Some(session.clone());
    let now = resolver.calls.load(Ordering::SeqCst);
    resolver.end_at.store(now + 3, Ordering::SeqCst);
    let results = edge.traverse_batch(&items, &creds, &creds).unwrap();
    assert!(results[0].is_ok(), "{:?}", results[0].as_ref().err());
    assert!(!session.is_live());
    for (i, r) in results.iter().enumerate().skip(1) {
        assert!(r.is_err(), "item {i} was traversed after the session ended");
    }
}

/// Review round 15: a file log that fails after writing a batch (here the anchor file cannot
/// be written after the interval checkpoint inside the batch was synced) returns
/// `Error::Audit` and no blob; the records it wrote stay, durable and verifying, and say the
/// traversals were performed. What must never happen is the other way round (a blob handed
/// out without its record), and the documents say a record is not proof of delivery.
#[test]
fn a_failed_file_log_batch_returns_no_blob_and_its_records_say_performed_not_delivered() {
    use hexvault_audit::{AuditKey, FileLog, LogContents, LogOptions, SigningKey};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let key = AuditKey::from_bytes([3; 32]);
    let options = || {
        LogOptions::keyed(&key)
            .signing_key(SigningKey::from_bytes(&[9; 32]))
            .checkpoint_every(4)
    };
    let log = Arc::new(FileLog::create(&path, options()).unwrap());
    let vault = hexvault_cells::Vault::from_kms_bytes(&mut MASTER.clone(), Resolver, log.clone());
    let (a, b) = (cell(&vault, "p", "a"), cell(&vault, "p", "b"));
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let o = oid("o");
    let blob = a.seal(&o, b"x", Layer::Rest, &none).unwrap();
    assert_eq!(log.len(), 0, "nothing recorded before the batch");
    // The anchor file cannot be written: a non-empty directory stands at its path.
    let anchor = hexvault_audit::Anchor::path_for(&path);
    std::fs::create_dir(&anchor).unwrap();
    std::fs::write(anchor.join("keep"), b"x").unwrap();

    let items = [(&o, &blob[..]); 5];
    let result = edge.traverse_batch(&items, &none, &none);
    assert!(
        matches!(result, Err(Error::Cells(CellsError::Audit(_)))),
        "the batch fails with an audit error and returns no blob: {result:?}"
    );
    // The log is poisoned: nothing more goes through it until it is reopened.
    assert!(edge.traverse(&o, &blob, &none, &none).is_err());

    drop((edge, a, b, vault, log));
    std::fs::remove_dir_all(&anchor).unwrap();
    let (reopened, report) = FileLog::open(&path, options()).unwrap();
    assert!(report.is_ok(), "{report}");
    drop(reopened);
    let kinds: Vec<EventKind> = LogContents::read(&path)
        .unwrap()
        .into_records()
        .into_iter()
        .map(|r| r.event.kind)
        .collect();
    // A gapless prefix of the batch, here all of it (synced before the anchor failed).
    assert_eq!(kinds, vec![EventKind::Traverse; 5]);
}

/// docs/formats.md: a refused traversal's record has "key version 0 where it was not
/// determined". In a batch, an item refused before its destination is looked up (a blob of
/// another cell) records destination key version 0, as a single traversal of it does, not
/// the version the previous item sealed under (review round 51 LOW).
#[test]
fn an_item_refused_before_its_destination_records_version_zero_in_a_batch_too() {
    let (vault, log) = vault();
    let (a, b, c) = (
        cell(&vault, "p", "a"),
        cell(&vault, "q", "b"),
        cell(&vault, "p", "c"),
    );
    b.rotate().unwrap(); // the destination seals under version 2
    let edge = vault.connect(&a, &b).unwrap();
    let none = Credentials::none();
    let (good, foreign) = (oid("good"), oid("foreign"));
    let good_blob = a.seal(&good, b"moves", Layer::Rest, &none).unwrap();
    let foreign_blob = c
        .seal(&foreign, b"another cell's", Layer::Rest, &none)
        .unwrap();
    let items: Vec<(&ObjectId, &[u8])> = vec![(&good, &good_blob), (&foreign, &foreign_blob)];
    let results = edge.traverse_batch(&items, &none, &none).unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(
        results[1],
        Err(Error::Cells(CellsError::RouteMismatch { .. }))
    ));
    assert!(
        edge.traverse(&foreign, &foreign_blob, &none, &none)
            .is_err()
    );
    let recs = log.records();
    let versions: Vec<(EventKind, u32)> = recs
        .iter()
        .filter(|r| matches!(r.event.kind, EventKind::Traverse | EventKind::Denied))
        .map(|r| {
            (
                r.event.kind,
                r.event.destination.as_ref().unwrap().key_version.0,
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            (EventKind::Traverse, 2),
            (EventKind::Denied, 0),
            (EventKind::Denied, 0)
        ]
    );
}
