//! A session past its expiry is wiped at the first call that touches it (review round 12): the
//! key is searched for in the process memory through /proc/self/mem, masked so the probe holds no copy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use hexvault_audit::{AuditKey, LogOptions, MemoryLog};
use hexvault_cells::{AccessToken, CellId, PartitionId, PolicyContext, TokenResolver, Vault};

struct NoTokens;
impl TokenResolver for NoTokens {
    fn resolve(&self, _: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        None
    }
}

const MASK: u8 = 0xA5;

/// How many times the 32 bytes whose XOR with `MASK` is `masked` occur in this process's
/// writable memory (read through /proc/self/mem: no unsafe code). The needle is kept masked
/// so that the probe itself holds no copy of the key.
fn occurrences(masked: &[u8; 32]) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut mem = File::open("/proc/self/mem").unwrap();
    let mut found = 0;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with("rw") || line.contains("[vvar") || line.contains("[vsyscall") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut buf = vec![0u8; usize::try_from(end - start).unwrap()];
        if mem.seek(SeekFrom::Start(start)).is_err() || mem.read_exact(&mut buf).is_err() {
            continue;
        }
        found += buf
            .windows(32)
            .filter(|w| w.iter().zip(masked).all(|(b, m)| b ^ MASK == *m))
            .count();
    }
    found
}

/// `Session` (src/session.rs): "Once it expires or ends (also on drop), its key and every
/// layer-2 key derived from it are dropped and the key bytes wiped"; docs/architecture.md:
/// "a session's key and its layer-2 keys are dropped and wiped when it ends or expires";
/// SECURITY.md: the session key "is wiped when it ends or expires". Expiry wipes nothing:
/// the key is dropped only by `end` (or drop) or by the next `layer_key` call after expiry;
/// `is_live()` reports the expiry and leaves the key in memory. The probe counts the key's
/// copies in process memory after expiry and after `end` on the same session: `end` must find
/// nothing left to wipe.
#[test]

fn an_expired_session_key_is_already_wiped_before_end() {
    let log = Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap());
    let vault = Vault::generate(NoTokens, log).unwrap();
    let session = vault.start_session(Duration::from_millis(200)).unwrap();
    let masked: [u8; 32] = {
        let export = session.export().unwrap();
        let mut m = [0u8; 32];
        for (d, s) in m.iter_mut().zip(export.expose_secret()) {
            *d = s ^ MASK;
        }
        m
    }; // the export is wiped here
    std::thread::sleep(Duration::from_millis(400));
    assert!(!session.is_live(), "the session has expired");
    let after_expiry = occurrences(&masked);
    session.end();
    let after_end = occurrences(&masked);
    assert_eq!(
        after_expiry, after_end,
        "the expired session still held its key in memory ({after_expiry} copies found after \
         expiry, {after_end} after end): expiry wiped nothing"
    );
}
