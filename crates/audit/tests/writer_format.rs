//! A chain writer continues a head in the format the head names (ADR 0080): a lying
//! format label cannot make a log verify; it fails closed at verification (review round 5).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use hexvault_audit::{
    AuditKey, ChainHead, ChainWriter, EntryRef, Event, EventKind, FILE_VERSION_V2, LogOptions,
    Verifier,
};

/// `ChainWriter::prepare` refuses only formats other than 2 and 3. A format-3 writer whose
/// storage hands it a head relabelled as format 2 (a PostgreSQL `chain_format` changed by
/// someone with database access: the database is not trusted) appends records in format 2;
/// the verifier, which takes the format from the log's header, refuses them from there on.
#[test]
fn a_writer_seeked_to_a_relabelled_head_writes_records_no_verifier_accepts() {
    let key = AuditKey::from_bytes([7; 32]);
    let mut writer = ChainWriter::new(LogOptions::keyed(&key)).unwrap();
    let header = writer.header().unwrap();
    let mut stored: Vec<(Vec<u8>, hexvault_audit::ChainValue)> = Vec::new();
    let mut append = |writer: &mut ChainWriter| -> hexvault_audit::Result<()> {
        let mut out = Vec::new();
        let prepared = writer.prepare(&Event::new(EventKind::Seal), &mut out)?;
        writer.commit(&prepared)?;
        stored.push((out, prepared.chain));
        Ok(())
    };
    for _ in 0..3 {
        append(&mut writer).unwrap();
    }
    // The storage's head row now says format 2 (same position and chain values).
    let head = writer.head();
    writer.seek(ChainHead {
        format_version: FILE_VERSION_V2,
        ..head
    });
    append(&mut writer).unwrap();
    let entries: Vec<EntryRef<'_>> = stored
        .iter()
        .map(|(encoded, chain)| EntryRef::Record { encoded, chain })
        .collect();
    let report = Verifier::keyed(&key)
        .verify_entries(&header, entries)
        .unwrap();
    let failure = report
        .failure
        .as_ref()
        .expect("a relabelled record verified");
    assert!(format!("{failure:?}").contains('3'), "{failure:?}");
}
