//! Fuzz the verification of audit logs kept outside a file (`hexvault-audit-postgres` rows):
//! `Verifier::verify_entries` over records and checkpoints cut from arbitrary bytes, and over
//! a valid `ChainWriter` log with fuzzed edits; and the log id parser (`LogId: FromStr`,
//! whose `Display` must round-trip). Errors or reports, never panics.
#![no_main]

use std::sync::LazyLock;

use hexvault_audit::{
    AuditKey, ChainValue, ChainWriter, Checkpoint, EntryRef, Event, EventKind, LogId, LogOptions,
    SigningKey, Verifier,
};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [0x5A; 32];
const SEED: [u8; 32] = [0x17; 32];

fn writer() -> ChainWriter {
    ChainWriter::with_log_id(
        LogId::from_bytes([3; 16]),
        LogOptions::keyed(&AuditKey::from_bytes(KEY))
            .signing_seed(SEED)
            .checkpoint_every(3),
    )
}

/// A valid 8-record stored log: (encoding, chain) per record, checkpoints.
static TEMPLATE: LazyLock<(Vec<(Vec<u8>, ChainValue)>, Vec<Checkpoint>)> = LazyLock::new(|| {
    let mut w = writer();
    let mut records = Vec::new();
    let mut checkpoints = Vec::new();
    for _ in 0..8 {
        let mut out = Vec::new();
        let p = w
            .prepare(&Event::new(EventKind::Traverse), &mut out)
            .unwrap();
        w.commit(&p).unwrap();
        records.push((out, p.chain));
        checkpoints.extend(p.checkpoint);
    }
    (records, checkpoints)
});

fn check(entries: &[EntryRef<'_>]) {
    let w = writer();
    let header = w.header().unwrap();
    let pk = SigningKey::from_bytes(&SEED).verifying_key();
    let _ = Verifier::keyed(&AuditKey::from_bytes(KEY))
        .with_public_key(pk)
        .require_anchored_tail(true)
        .verify_entries(&header, entries.iter().copied());
    let _ = Verifier::public_key(pk).verify_entries(&header, entries.iter().copied());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(id) = text.parse::<LogId>()
    {
        assert_eq!(
            id.to_string(),
            text.to_lowercase(),
            "log id does not round-trip"
        );
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        // Entries cut from the input: [kind, len, bytes...] each; a record's last 32 bytes
        // (zero-padded) are its stored chain value.
        let mut owned: Vec<(Vec<u8>, ChainValue)> = Vec::new();
        let mut cps: Vec<(usize, Checkpoint)> = Vec::new();
        let mut it = rest;
        while let [kind, len, tail @ ..] = it {
            let n = usize::from(*len).min(tail.len());
            let (chunk, next) = tail.split_at(n);
            if kind & 1 == 0 {
                let mut chain = [0u8; 32];
                let split = chunk.len().saturating_sub(32);
                for (d, s) in chain.iter_mut().zip(&chunk[split..]) {
                    *d = *s;
                }
                owned.push((chunk[..split].to_vec(), ChainValue::from_bytes(chain)));
            } else if let Ok(cp) = Checkpoint::decode(chunk) {
                cps.push((owned.len(), cp));
            }
            it = next;
        }
        let mut entries = Vec::new();
        let mut cps_it = cps.iter().peekable();
        for (i, (enc, chain)) in owned.iter().enumerate() {
            while let Some((_, cp)) = cps_it.next_if(|(at, _)| *at <= i) {
                entries.push(EntryRef::Checkpoint(cp));
            }
            entries.push(EntryRef::Record {
                encoded: enc,
                chain,
            });
        }
        entries.extend(cps_it.map(|(_, cp)| EntryRef::Checkpoint(cp)));
        check(&entries);
    } else {
        // The valid log with fuzzed byte edits (record u8, offset u8, xor u8) and a cut.
        let (records, checkpoints) = &*TEMPLATE;
        let mut records = records.clone();
        for edit in rest.chunks_exact(3) {
            let n = records.len();
            let (enc, _) = &mut records[usize::from(edit[0]) % n];
            let off = usize::from(edit[1]) % enc.len();
            enc[off] ^= edit[2];
        }
        let keep = records.len() - rest.len() % 4;
        let mut entries = Vec::new();
        for (i, (enc, chain)) in records[..keep].iter().enumerate() {
            entries.push(EntryRef::Record {
                encoded: enc,
                chain,
            });
            entries.extend(
                checkpoints
                    .iter()
                    .filter(|c| c.sequence.get() == i as u64)
                    .map(EntryRef::Checkpoint),
            );
        }
        check(&entries);
    }
});
