//! Review round 5: failing tests (ignored) against the format-3 writer (ADR 0080).
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

/// ADR 0080 (API): "`ChainWriter::prepare` refuses a head of another format
/// (`UnsupportedVersion`)". It refuses only formats other than 2 and 3: a format-3 writer
/// whose storage hands it a head relabelled as format 2 (a PostgreSQL head row whose
/// `chain_format` was changed: the row is not trusted) switches construction in the middle
/// of the log and keeps appending and signing records that no verifier accepts, without a
/// word; the damage shows only at the next verification.
#[test]
#[ignore = "review5 finding"]
fn a_writer_does_not_switch_format_in_the_middle_of_a_log() {
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
    let refused = append(&mut writer).is_err();
    let entries: Vec<EntryRef<'_>> = stored
        .iter()
        .map(|(encoded, chain)| EntryRef::Record { encoded, chain })
        .collect();
    let report = Verifier::keyed(&key)
        .verify_entries(&header, entries)
        .unwrap();
    assert!(
        refused,
        "the writer appended in another format than the log's first records: {report}"
    );
}
