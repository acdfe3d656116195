//! Fuzz `hexvault-audit` log reading: arbitrary bytes, frames built around arbitrary payloads
//! (so they pass the checksums and reach the record decoder and the chain checks), and
//! mutated valid logs go through every verifier, `LogContents::parse` and `FileLog::open`:
//! errors or reports, never panics. Record, checkpoint and anchor decoders are canonical.
#![no_main]

use std::sync::LazyLock;

use hexvault_audit::{
    Anchor, AuditKey, AuditLog, AuditRecord, Checkpoint, Event, EventKind, FileLog, LogContents,
    LogOptions, SigningKey, Verifier, write_frame,
};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [0x5A; 32];
const SEED: [u8; 32] = [0x17; 32];

fn options() -> LogOptions {
    LogOptions::keyed(&AuditKey::from_bytes(KEY))
        .signing_seed(SEED)
        .checkpoint_every(3)
}

/// A valid 8-record log, written once.
static TEMPLATE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let path = std::env::temp_dir().join(format!("hexvault-audit-fuzz-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let log = FileLog::create(&path, options()).unwrap();
    for _ in 0..8 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    log.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(Anchor::path_for(&path));
    bytes
});

fn check(bytes: &[u8]) {
    let pk = SigningKey::from_bytes(&SEED).verifying_key();
    let _ = Verifier::keyed(&AuditKey::from_bytes(KEY))
        .with_public_key(pk)
        .require_anchored_tail(true)
        .verify_bytes(bytes);
    let _ = Verifier::unkeyed().with_public_key(pk).verify_bytes(bytes);
    let _ = Verifier::public_key(pk).verify_bytes(bytes);
    let _ = Verifier::public_key(pk)
        .min_sequence(hexvault_audit::Sequence::new(5))
        .verify_bytes(bytes);
    let _ = LogContents::parse(bytes);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = AuditRecord::decode(data) {
        assert_eq!(r.encode().unwrap(), data, "record decode is not canonical");
    }
    if let Ok(c) = Checkpoint::decode(data) {
        assert_eq!(c.encode(), data, "checkpoint decode is not canonical");
    }
    if let Ok(a) = Anchor::decode(data) {
        assert_eq!(a.encode(), data, "anchor decode is not canonical");
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let template = &*TEMPLATE;
    let header = &template[..hexvault_audit::HEADER_LEN];
    match mode % 4 {
        0 => check(rest),
        1 | 3 => {
            // The valid header, then frames with correct checksums around fuzzed payloads.
            let mut bytes = header.to_vec();
            let mut it = rest;
            while let [kind, len, tail @ ..] = it {
                let n = usize::from(*len).min(tail.len());
                let kind = if kind & 1 == 0 {
                    hexvault_audit::FRAME_RECORD
                } else {
                    hexvault_audit::FRAME_CHECKPOINT
                };
                // At most 255 bytes: always within the frame payload limit.
                write_frame(&mut bytes, kind, &tail[..n]).unwrap();
                it = &tail[n..];
            }
            bytes.extend_from_slice(it);
            check(&bytes);
            if mode % 4 == 3 {
                // Open (verify, repair a torn tail, append) on a real file.
                let path = std::env::temp_dir().join(format!(
                    "hexvault-audit-fuzz-open-{}.log",
                    std::process::id()
                ));
                std::fs::write(&path, &bytes).unwrap();
                if let Ok((log, report)) = FileLog::open(&path, options()) {
                    log.append(Event::new(EventKind::Seal)).unwrap();
                    assert!(log.verify().unwrap().is_ok());
                    if let Some(q) = report.torn_tail_saved_to {
                        let _ = std::fs::remove_file(q);
                    }
                }
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(Anchor::path_for(&path));
            }
        }
        _ => {
            // A valid log with fuzzed byte edits (offset u16, xor u8) and truncation.
            let mut bytes = template.clone();
            for edit in rest.chunks_exact(3) {
                let off = usize::from(u16::from_le_bytes([edit[0], edit[1]])) % bytes.len();
                bytes[off] ^= edit[2];
            }
            let cut = bytes.len() - rest.len() % 64;
            check(&bytes[..cut]);
        }
    }
});
