//! The database is not trusted (review round 10, against a real PostgreSQL server): a writer
//! never signs over records it cannot authenticate, `checkpoint()` never hands out a
//! checkpoint that does not cover the last record, and a deleted interval checkpoint row is
//! reported whatever the head row says of the interval or the key. Run through
//! `cargo xtask postgres` (a throwaway cluster; the tests are `#[ignore]`d without one).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_audit::{
    AuditKey, AuditLog, ChainWriter, Damage, Event, EventKind, LogOptions, Sequence, Verifier,
};
use hexvault_audit_postgres::PgLog;

mod common;

use common::{client, options, public_key, verifier};

/// SECURITY.md (audit row, inherited by the PostgreSQL row): forging records is detected
/// "also with only the public key up to the last checkpoint". `ChainWriter` (writer.rs):
/// "if someone changed [the head], the next records chain onto a wrong value and the
/// verifier reports that sequence".
///
/// An attacker with database access (no audit key, no signing key) appends records of
/// their own (public chain computed with public information only, chain values under a
/// key of their own) and moves the head row onto them. The next honest append chains onto
/// the head row without checking it, and its interval checkpoint signs the attacker's
/// public chain: a public-key-only verifier then accepts the forged records as covered by
/// a valid signed checkpoint.
#[test]
#[ignore = "needs PostgreSQL: cargo xtask postgres"]
fn forged_records_under_a_forged_head_row_are_not_signed_by_the_next_writer() {
    let log = PgLog::create(client(), options(4)).unwrap();
    for _ in 0..4 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let id = log.log_id();
    let idb: &[u8] = id.as_bytes();

    // The attacker: reads the head row, chains two forged records onto it with a key of
    // their own (the public chain needs no key), writes them and moves the head row.
    let head = log.read().unwrap().head();
    let mut forger =
        ChainWriter::with_log_id(id, LogOptions::keyed(&AuditKey::from_bytes([0x66; 32])));
    forger.seek(head);
    let mut db = client();
    for _ in 0..2 {
        let mut encoded = Vec::new();
        let p = forger
            .prepare(&Event::new(EventKind::Rotate), &mut encoded)
            .unwrap();
        forger.commit(&p).unwrap();
        db.execute(
            "INSERT INTO hexvault_audit_records (log_id, seq, record, chain) VALUES ($1, $2, $3, $4)",
            &[
                &idb,
                &i64::try_from(p.sequence.get()).unwrap(),
                &encoded,
                &p.chain.as_bytes().as_slice(),
            ],
        )
        .unwrap();
    }
    let forged = forger.head();
    db.execute(
        "UPDATE hexvault_audit_logs SET next_seq = $2, head = $3, public_head = $4 WHERE log_id = $1",
        &[
            &idb,
            &i64::try_from(forged.next).unwrap(),
            &forged.chain.as_bytes().as_slice(),
            &forged.public_chain.as_bytes().as_slice(),
        ],
    )
    .unwrap();

    // The keyed verifier sees the forgery at sequence 4.
    let keyed_report = log.verify_with(&verifier()).unwrap();
    assert_eq!(
        keyed_report.failure.map(|f| f.sequence),
        Some(Sequence::new(4)),
        "{keyed_report}"
    );

    // An honest writer appends on: either it refuses the head row it cannot authenticate,
    // or (if it appends) a public-key-only verifier must still report the forgery.
    let appended = log
        .append(Event::new(EventKind::Open))
        .and_then(|_| log.append(Event::new(EventKind::Open)));
    if appended.is_ok() {
        let public = Verifier::public_key(public_key());
        let report = log.verify_with(&public).unwrap();
        assert_eq!(
            report.failure.map(|f| f.sequence),
            Some(Sequence::new(4)),
            "a public-key-only verifier accepts records forged by someone without any key, \
             signed by the next honest checkpoint: {report}"
        );
    }
}

/// SECURITY.md (PostgreSQL row): "a checkpoint row forged, changed or deleted ... reported
/// with its sequence number". The head row says whether interval checkpoints are mandatory
/// (`public_key` not NULL) and how often (`checkpoint_every`), and whoever deletes an
/// interval checkpoint row can edit it too. A verifier that trusts a signing key makes
/// interval checkpoints mandatory whatever the row says of the key; the log's own verifier
/// (and any verifier told the interval, `Verifier::expect_checkpoint_every`) refuses a row
/// naming another interval.
#[test]
#[ignore = "needs PostgreSQL: cargo xtask postgres"]
fn a_deleted_checkpoint_row_is_reported_whatever_the_head_row_says_of_the_interval() {
    let deleted = |edit: &str| {
        let log = PgLog::create(client(), options(10)).unwrap();
        log.append_batch((0..40).map(|_| Event::new(EventKind::Seal)).collect())
            .unwrap();
        assert!(log.verify().unwrap().is_ok());
        let id = log.log_id();
        let idb: &[u8] = id.as_bytes();
        let mut db = client();
        assert_eq!(
            db.execute(
                "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 29",
                &[&idb],
            )
            .unwrap(),
            1
        );
        assert_eq!(db.execute(edit, &[&idb]).unwrap(), 1);
        log
    };
    // The row drops the key: a verifier that trusts one still requires the checkpoint.
    let log = deleted("UPDATE hexvault_audit_logs SET public_key = NULL WHERE log_id = $1");
    let report = log.verify_with(&verifier()).unwrap();
    assert_eq!(
        report.failure.map(|f| (f.sequence, f.reason)),
        Some((Sequence::new(29), Damage::MissingCheckpoint)),
        "{report}"
    );
    // The row says "no interval": refused by the log's own verifier and by one told the
    // interval, naming both intervals.
    let log = deleted("UPDATE hexvault_audit_logs SET checkpoint_every = 0 WHERE log_id = $1");
    for refused in [
        log.verify().map_err(hexvault_audit_postgres::Error::Audit),
        log.verify_with(&verifier().expect_checkpoint_every(10)),
    ] {
        match refused {
            Err(hexvault_audit_postgres::Error::Audit(
                hexvault_audit::Error::CheckpointIntervalMismatch {
                    header: 0,
                    options: 10,
                },
            )) => {}
            other => panic!("an edited interval was not refused: {other:?}"),
        }
    }
}

/// `AuditLog::checkpoint`: "Signs a checkpoint over the last record now (and makes it
/// durable). Returns the existing checkpoint if the last record already has one". On
/// PostgreSQL, "already has one" is the head row's `last_checkpoint` column, and the row
/// at that sequence is returned without a check: someone with database access makes the
/// writer hand out an older checkpoint (a caller shipping it off the database as the
/// anchor keeps an anchor that no longer covers the newer records).
#[test]
#[ignore = "needs PostgreSQL: cargo xtask postgres"]
fn checkpoint_returns_a_checkpoint_over_the_last_record() {
    let log = PgLog::create(client(), options(0)).unwrap();
    for _ in 0..5 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let old = log.checkpoint().unwrap().unwrap();
    assert_eq!(old.sequence, Sequence::new(4));
    for _ in 0..3 {
        log.append(Event::new(EventKind::Seal)).unwrap();
    }
    let idb: Vec<u8> = log.log_id().as_bytes().to_vec();
    let mut db = client();
    db.execute(
        "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) VALUES ($1, 7, $2)",
        &[&idb, &old.encode()],
    )
    .unwrap();
    db.execute(
        "UPDATE hexvault_audit_logs SET last_checkpoint = 7 WHERE log_id = $1",
        &[&idb],
    )
    .unwrap();
    // Either refused (the row does not fit the head), or a checkpoint over record 7 that
    // verifies under the log's key.
    if let Ok(returned) = log.checkpoint() {
        let returned = returned.unwrap();
        assert_eq!(
            returned.sequence,
            Sequence::new(7),
            "checkpoint() returned a checkpoint over record {} for a log of 8 records",
            returned.sequence
        );
        assert!(returned.verify(&public_key()).is_ok());
    }
}
