//! Crash images a power loss leaves at the end of a file log: blocks the file system had
//! not written back read as zeros, and they start at block boundaries (or where the
//! previous write ended), not at frame boundaries. `FileLog::open` cuts them off as a
//! torn tail, keeps every complete record, and still refuses zeros that no crash leaves
//! (review round 51; docs/formats.md, "Audit log file", reading rule 1).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{FrameInfo, event, frames, options};
use hexvault_audit::{AuditLog, Damage, Durability, Error, FileLog};

/// A page of the page cache: what a file system writes back as one block.
const PAGE: usize = 4096;
/// A device sector: the smallest unit a device tears a write at.
const SECTOR: usize = 512;

const EVERY: u64 = 1_000_000;

fn group() -> Durability {
    Durability::GroupCommit {
        max_records: 10_000,
        max_delay: std::time::Duration::ZERO,
    }
}

/// The bytes of a closed log of `records` records (no interval checkpoint).
fn log_bytes(dir: &std::path::Path, records: u64) -> Vec<u8> {
    let path = dir.join("source.log");
    let log = FileLog::create(&path, options(EVERY, group())).unwrap();
    log.append_batch((0..records).map(event).collect()).unwrap();
    log.flush().unwrap();
    drop(log);
    std::fs::read(&path).unwrap()
}

/// The first record frame with a multiple of `align` at `from..to` bytes after its start.
fn frame_with_boundary(bytes: &[u8], align: usize, from: usize, to: usize) -> (FrameInfo, usize) {
    frames(bytes)
        .into_iter()
        .filter(|f| !f.is_checkpoint)
        .find_map(|f| {
            let boundary = (f.start + from).next_multiple_of(align);
            (boundary < f.start.saturating_add(to) && boundary < f.end).then_some((f, boundary))
        })
        .expect("no frame crosses such a boundary")
}

/// Writes `image` as a log file and opens it.
fn open_image(
    dir: &std::path::Path,
    image: &[u8],
) -> Result<(FileLog, hexvault_audit::Report), Error> {
    let path = dir.join("crashed.log");
    std::fs::write(&path, image).unwrap();
    FileLog::open(&path, options(EVERY, group()))
}

/// The last frame was being written back: its page before a page boundary is on the
/// device, the page after it is not (zeros up to the file's new length). The log reopens
/// with every frame before it; the torn frame is cut off (and quarantined).
#[test]
fn zeros_from_a_page_boundary_inside_the_last_frame_are_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = log_bytes(dir.path(), 400);
    // The boundary past the frame's head and some payload.
    let (last, boundary) = frame_with_boundary(&bytes, PAGE, 20, usize::MAX);
    let mut image = bytes[..boundary].to_vec();
    image.resize(last.end, 0);
    let (log, report) = open_image(dir.path(), &image).unwrap();
    assert_eq!(report.torn_tail.map(|t| t.offset), Some(last.start as u64));
    assert_eq!(report.records, last.seq);
    assert_eq!(log.len(), last.seq);
    // The quarantine holds the torn frame's bytes.
    let quarantine = dir.path().join(format!("crashed.log.torn-{}", last.start));
    assert_eq!(
        std::fs::read(quarantine).unwrap(),
        image[last.start..].to_vec()
    );
}

/// A device tore the write at a sector boundary inside the last frame's 9-byte head: the
/// head check fails, and what follows the boundary is zero. A torn tail too.
#[test]
fn zeros_from_a_sector_boundary_inside_the_last_frame_head_are_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = log_bytes(dir.path(), 2_000);
    let (last, boundary) = frame_with_boundary(&bytes, SECTOR, 1, hexvault_audit::FRAME_HEAD_LEN);
    let mut image = bytes[..boundary].to_vec();
    image.resize(last.end + 300, 0);
    let (log, report) = open_image(dir.path(), &image).unwrap();
    assert_eq!(report.torn_tail.map(|t| t.offset), Some(last.start as u64));
    assert_eq!(log.len(), last.seq);
}

/// One group-commit write of 590 records (far more than one maximal frame) that never
/// reached the device before the power loss: the file has its new length and the whole
/// write reads as zeros. Every acknowledged record is kept, the zeros are a torn tail.
#[test]
fn an_unsynced_group_commit_write_read_back_as_zeros_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.log");
    let log = FileLog::create(&path, options(EVERY, group())).unwrap();
    for i in 0..10 {
        log.append(event(i)).unwrap();
    }
    log.flush().unwrap();
    let acknowledged = std::fs::read(&path).unwrap();
    log.append_batch((10..600).map(event).collect()).unwrap();
    log.flush().unwrap();
    let full = std::fs::read(&path).unwrap();
    drop(log);
    assert!(full.len() - acknowledged.len() > hexvault_audit::MAX_FRAME_LEN);
    let mut image = acknowledged.clone();
    image.resize(full.len(), 0);
    let (log, report) = open_image(dir.path(), &image).unwrap();
    assert_eq!(
        report.torn_tail.map(|t| t.offset),
        Some(acknowledged.len() as u64)
    );
    assert_eq!(log.len(), 10);
}

/// What no crash leaves is still damage: zeros that start inside the last frame but past
/// its last block boundary (the bytes before them were written, so the frame's end was
/// written too), and zeros that start inside a frame with complete frames after it.
#[test]
fn zeros_no_crash_leaves_are_damage() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = log_bytes(dir.path(), 400);
    // A frame with no sector boundary in its last 40 bytes: zero those.
    let last = frames(&bytes)
        .into_iter()
        .find(|f| !f.is_checkpoint && (f.end - 40).next_multiple_of(SECTOR) >= f.end)
        .unwrap();
    let mut image = bytes[..last.end].to_vec();
    image[last.end - 40..].fill(0);
    match open_image(dir.path(), &image) {
        Err(Error::Damaged { sequence, reason }) => {
            assert_eq!((sequence.get(), reason), (last.seq, Damage::FrameChecksum));
        }
        other => panic!(
            "zeros inside a frame's last block opened: {:?}",
            other.map(|x| x.1)
        ),
    }
    // Zeros from a page boundary inside a frame, with the frames after it intact.
    let (f, boundary) = frame_with_boundary(&bytes, PAGE, 20, usize::MAX);
    let mut image = bytes.clone();
    image[boundary..f.end].fill(0);
    match open_image(dir.path(), &image) {
        Err(Error::Damaged { sequence, reason }) => {
            assert_eq!((sequence.get(), reason), (f.seq, Damage::FrameChecksum));
        }
        other => panic!(
            "a zeroed frame in the middle opened: {:?}",
            other.map(|x| x.1)
        ),
    }
}
