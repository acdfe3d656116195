//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_audit::{
    AuditKey, BlobRef, CellId, Durability, Endpoint, ErrorClass, Event, EventKind, FRAME_HEAD_LEN,
    FRAME_TAIL_LEN, HEADER_LEN, KeyVersion, Layer, LogOptions, Outcome, PartitionId,
};

pub(crate) const KEY: [u8; 32] = [0x42; 32];
pub(crate) const SEED: [u8; 32] = [0x17; 32];

pub(crate) fn options(every: u64, durability: Durability) -> LogOptions {
    LogOptions::keyed(&AuditKey::from_bytes(KEY))
        .signing_seed(SEED)
        .checkpoint_every(every)
        .durability(durability)
}

pub(crate) fn public_key() -> hexvault_audit::VerifyingKey {
    hexvault_audit::SigningKey::from_bytes(&SEED).verifying_key()
}

/// A varied event for record `i`.
pub(crate) fn event(i: u64) -> Event {
    let ep = |p: &str, c: u64| {
        Endpoint::new(
            PartitionId::new(p).unwrap(),
            CellId::new(format!("cell-{c}")).unwrap(),
            Layer((c % 3) as u8),
            KeyVersion((c % 5) as u32),
        )
    };
    let kind = [
        EventKind::Traverse,
        EventKind::Seal,
        EventKind::Open,
        EventKind::Denied,
    ][(i % 4) as usize];
    let mut e = Event::new(kind)
        .source(ep("part-a", i))
        .destination(ep("part-b", i + 1))
        .input(BlobRef::bind(&i.to_be_bytes(), b"nonce", b"tag").unwrap());
    if i.is_multiple_of(7) {
        e = e.output(
            BlobRef::bind(b"out", &i.to_le_bytes(), b"t")
                .unwrap()
                .with_payload_digest(b"payload"),
        );
    }
    if kind == EventKind::Denied {
        e = e.outcome(Outcome::Failure(ErrorClass::PolicyDenied));
    }
    e
}

/// One frame of a log file: byte range, type and the sequence number damage there is charged to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameInfo {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) is_checkpoint: bool,
    pub(crate) seq: u64,
}

/// Splits a well-formed log file into frames, independently of the library's reader.
pub(crate) fn frames(bytes: &[u8]) -> Vec<FrameInfo> {
    let mut out = Vec::new();
    let mut pos = HEADER_LEN;
    let mut next = 0u64;
    while pos < bytes.len() {
        let kind = bytes[pos];
        let len = u32::from_be_bytes(bytes[pos + 1..pos + 5].try_into().unwrap()) as usize;
        let end = pos + FRAME_HEAD_LEN + len + FRAME_TAIL_LEN;
        let is_checkpoint = kind == 2;
        let seq = if is_checkpoint { next - 1 } else { next };
        if !is_checkpoint {
            next += 1;
        }
        out.push(FrameInfo {
            start: pos,
            end,
            is_checkpoint,
            seq,
        });
        pos = end;
    }
    assert_eq!(pos, bytes.len());
    out
}

/// Deterministic xorshift64* generator for choosing test positions (not for keys).
pub(crate) struct TestRng(pub u64);

impl TestRng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A keyed, signed log of `n` records with a checkpoint every `every`, closed, in `dir`.
pub(crate) fn build(dir: &std::path::Path, n: u64, every: u64) -> std::path::PathBuf {
    use hexvault_audit::AuditLog as _;
    let path = dir.join("a.log");
    let log =
        hexvault_audit::FileLog::create(&path, options(every, Durability::EveryRecord)).unwrap();
    for i in 0..n {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    path
}

/// The verifier with the audit key and the trusted public key.
pub(crate) fn keyed() -> hexvault_audit::Verifier {
    hexvault_audit::Verifier::keyed(&AuditKey::from_bytes(KEY)).with_public_key(public_key())
}

/// Recomputes the head check of the frame at `start`, as anyone can (it is not keyed).
pub(crate) fn reseal_head(bytes: &mut [u8], start: usize) {
    use sha2::{Digest, Sha256};
    let check = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame-header")
        .chain_update(&bytes[start..start + 5])
        .finalize();
    bytes[start + 5..start + 9].copy_from_slice(&check[..4]);
}

/// Recomputes the checksum of the frame `start..end`, as anyone can (it is not keyed).
pub(crate) fn reseal_checksum(bytes: &mut [u8], start: usize, end: usize) {
    use sha2::{Digest, Sha256};
    let sum = Sha256::new()
        .chain_update(b"hexvault-audit/v1/frame")
        .chain_update(&bytes[start..start + 5])
        .chain_update(&bytes[start + 9..end - 8])
        .finalize();
    bytes[end - 8..end].copy_from_slice(&sum[..8]);
}

/// Recomputes a frame's head check and, when the frame is whole in `bytes`, its checksum.
pub(crate) fn reseal(bytes: &mut [u8], start: usize, end: usize) {
    reseal_head(bytes, start);
    if end <= bytes.len() {
        reseal_checksum(bytes, start, end);
    }
}
