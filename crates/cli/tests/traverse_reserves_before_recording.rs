//! `traverse` checks and allocates before the edge records the crossing: the room for what it
//! will write (the destination blob and, for a large object, its stream), so a disk without
//! that room, or a file size limit, fails with no traverse record (review round 56); and a
//! large object's source stream must authenticate first (review round 58).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::vault::Vault;
use common::{files_ending, stderr_of};

fn records_of_kind(vault: &Vault, kind: &str) -> usize {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    let needle = format!("\"kind\":\"{kind}\"");
    String::from_utf8_lossy(&shown.stdout)
        .lines()
        .filter(|line| line.contains(&needle))
        .count()
}

/// A large object (a data-key blob plus a ~1 MiB stream) under a file size limit that lets the
/// log and the data-key blob through but not the stream: the traverse fails, twice, with no
/// traverse record and no destination blob.
#[test]
fn a_large_traverse_whose_stream_cannot_be_written_records_no_traverse() {
    let vault = Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    vault.ok(
        &["seal", "--cell", "p/a", "--id", "big"],
        &vec![0x5a_u8; (1 << 20) + 100],
    );
    let before = records_of_kind(&vault, "traverse");
    let args = ["traverse", "--from", "p/a", "--to", "p/b", "--id", "big"];
    for _ in 0..2 {
        // 512 KiB: the log and the data-key blob fit, the ~1 MiB stream does not.
        let out = vault.run_with_file_size_limit(512, &args);
        assert_ne!(out.status.code(), Some(0), "{}", stderr_of(&out));
    }
    let destination = vault.dir.join("objects/70/62");
    let blobs = std::fs::read_dir(&destination)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".blob"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(blobs, 0, "setup: no destination blob was written");
    assert_eq!(
        records_of_kind(&vault, "traverse"),
        before,
        "traverse records naming a destination blob that was never written"
    );
}

/// A large object's source `.stream` edited on disk is authenticated before the edge records
/// the crossing (one read of the stream, review round 58): every attempt fails with no
/// traverse record and no destination blob.
#[test]
fn a_large_traverse_of_a_tampered_stream_records_no_traverse() {
    let vault = Vault::with(&["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    vault.ok(
        &["seal", "--cell", "p/a", "--id", "big"],
        &vec![0x5a_u8; (1 << 20) + 100],
    );
    let streams = files_ending(&vault.dir.join("objects"), ".stream");
    assert_eq!(streams.len(), 1, "setup: one stream file");
    let mut bytes = std::fs::read(&streams[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&streams[0], &bytes).unwrap();
    let before = records_of_kind(&vault, "traverse");
    for _ in 0..2 {
        let out = vault.run(
            &["traverse", "--from", "p/a", "--to", "p/b", "--id", "big"],
            b"",
        );
        assert_ne!(
            out.status.code(),
            Some(0),
            "setup: a tampered stream is refused"
        );
        assert!(
            stderr_of(&out).contains("did not authenticate"),
            "setup: {}",
            stderr_of(&out)
        );
    }
    assert!(
        !vault.dir.join("objects/70/62").exists()
            || files_ending(&vault.dir.join("objects/70/62"), ".blob").is_empty(),
        "setup: no destination blob"
    );
    assert_eq!(
        records_of_kind(&vault, "traverse"),
        before,
        "traverse records naming a destination blob that never appeared"
    );
}
