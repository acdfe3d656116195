//! The ratio table of `cargo xtask bench --peers`: for each pair (ours, theirs) and size,
//! blocks of calls timed in alternation (A B, B A, ...) and the median of the per-round
//! ratios, so that a slow moment on a shared machine hits both sides of a round alike. The
//! calls are exactly those of the `peers` criterion bench (same inputs, same APIs).
//!
//! Run by `cargo bench --bench ratios` (prints the Markdown table; `-- WORD` keeps only the
//! rows whose label contains WORD); under `cargo test --benches` every call runs once (a
//! smoke run, no table).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::panic,
    missing_docs
)]

use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use cachekit_core::{ByteStorage as CkStorage, ZeroKnowledgeEncryptor};
use hexvault_aead::{HEADER_LEN, Key, KeyVersion, SealingKey, sealed_len};
use hexvault_cells::{Credentials, Layer as CellLayer};
use hexvault_envelope::{ByteStorage, Compression, Options};
use hexvault_peer_benches::cells::{LAYERS, Ours, RingPair, Theirs};
use hexvault_peer_benches::{copy_to_vec, filler, json_like};
use hexvault_v1::stack::{self, Layer, LayerContext};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use xxhash_rust::xxh3::xxh3_64;

const SIZES: [(usize, &str); 4] = [
    (64, "64 B"),
    (1024, "1 KiB"),
    (64 * 1024, "64 KiB"),
    (1024 * 1024, "1 MiB"),
];
const KEY: [u8; 32] = [0x42; 32];
const AAD: &[u8] = b"cell/partition/layer";
/// Rounds per cell; each round times one block of each side.
const ROUNDS: usize = 31;
/// Target length of one timed block.
const BLOCK: Duration = Duration::from_millis(10);

type Call<'a> = Box<dyn FnMut() -> usize + 'a>;

/// Calls per block so that the slower side's block lasts about [`BLOCK`].
fn calibrate(a: &mut Call<'_>, b: &mut Call<'_>) -> u32 {
    let mut n = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(a());
            black_box(b());
        }
        if start.elapsed() >= BLOCK || n >= 1 << 24 {
            return n;
        }
        n *= 2;
    }
}

fn block(call: &mut Call<'_>, n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        black_box(call());
    }
    start.elapsed().as_secs_f64()
}

/// Median over [`ROUNDS`] of time(ours) / time(theirs), blocks in alternating order.
fn ratio(mut ours: Call<'_>, mut theirs: Call<'_>) -> f64 {
    let n = calibrate(&mut ours, &mut theirs);
    // One untimed round first: caches, allocator state and clock frequency settle.
    block(&mut ours, n);
    block(&mut theirs, n);
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            if round % 2 == 0 {
                let a = block(&mut ours, n);
                a / block(&mut theirs, n)
            } else {
                let b = block(&mut theirs, n);
                block(&mut ours, n) / b
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ROUNDS / 2]
}

struct Peers {
    ours: SealingKey,
    ring_key: LessSafeKey,
    /// ring's nonce counter, shared by every cell (a nonce never repeats in the run).
    counter: Cell<u64>,
    cachekit: ZeroKnowledgeEncryptor,
    partition: hexvault_v1::keys::PartitionKey,
    context: LayerContext,
    storage: ByteStorage,
    ck_storage: CkStorage,
}

impl Peers {
    fn new() -> Self {
        Self {
            ours: SealingKey::new(Key::from_bytes(KEY), KeyVersion::new(1).unwrap()).unwrap(),
            ring_key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap()),
            counter: Cell::new(0),
            cachekit: ZeroKnowledgeEncryptor::new().unwrap(),
            partition: hexvault_v1::keys::derive_partition_key(
                &hexvault_v1::keys::MasterKey::from_bytes(KEY),
                "bench",
            )
            .unwrap(),
            context: LayerContext::empty(),
            storage: ByteStorage::new(Options::default().with_compression(Compression::Auto)),
            ck_storage: CkStorage::new(None),
        }
    }
}

/// One side of a comparison, by name, on `pt` (the calls of `benches/peers.rs`).
fn call<'a>(p: &'a Peers, name: &str, pt: &'a [u8]) -> Call<'a> {
    match name {
        "hexvault_vec" => Box::new(move || {
            let blob = p.ours.seal(black_box(pt), AAD).unwrap();
            p.ours.open(black_box(&blob), AAD).unwrap().len()
        }),
        "hexvault_in_place" => {
            let mut buf = vec![0u8; sealed_len(pt.len())];
            Box::new(move || {
                buf[HEADER_LEN..HEADER_LEN + pt.len()].copy_from_slice(black_box(pt));
                p.ours.seal_in_place(AAD, &mut buf).unwrap();
                p.ours
                    .open_in_place(AAD, black_box(&mut buf))
                    .unwrap()
                    .len()
            })
        }
        // The floor of the Vec API, checked to be fair: exactly the work a seal-into-a-new-Vec
        // plus open-into-a-new-Vec cannot avoid with ring — two allocations (the sealed blob
        // with room for its tag, so `append_tag` never reallocates; the opened copy) and two
        // copies (plaintext in, sealed bytes out), one key schedule built once, a counter
        // nonce. It does less than ours by construction: no header (ours authenticates its
        // 21-byte header with the caller's 20 bytes: 41 bytes of associated data, three
        // GHASH blocks instead of two), no shared atomic counter (ours is `Sync`), no wipe
        // of the opened copy. Ours allocates the same two blocks (`seal`: one of exactly
        // the blob's length; `open`: one of exactly the plaintext's length).
        "ring_bare" => Box::new(move || {
            p.counter.set(p.counter.get() + 1);
            let mut n = [0u8; 12];
            n[4..].copy_from_slice(&p.counter.get().to_be_bytes());
            let mut sealed = copy_to_vec(black_box(pt), 16);
            p.ring_key
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(AAD),
                    &mut sealed,
                )
                .unwrap();
            let mut opened = copy_to_vec(&sealed, 0);
            let len = p
                .ring_key
                .open_in_place(Nonce::assume_unique_for_key(n), Aad::from(AAD), &mut opened)
                .unwrap()
                .len();
            opened.truncate(len);
            opened.len()
        }),
        // A key schedule per call: cachekit-core takes the raw key bytes (see peers.rs).
        "cachekit" => Box::new(move || {
            let ct = p
                .cachekit
                .encrypt_aes_gcm(black_box(pt), &KEY, AAD)
                .unwrap();
            p.cachekit
                .decrypt_aes_gcm(black_box(&ct), &KEY, AAD)
                .unwrap()
                .len()
        }),
        "hexvault_1_1_2" => Box::new(move || {
            let ct = stack::seal(
                &p.partition,
                "cell",
                Layer::AtRest,
                &p.context,
                black_box(pt),
            )
            .unwrap();
            stack::peel(
                &p.partition,
                "cell",
                Layer::AtRest,
                &p.context,
                black_box(&ct),
            )
            .unwrap()
            .len()
        }),
        "envelope_hexvault" => Box::new(move || {
            let env = p.storage.store(black_box(pt)).unwrap();
            p.storage.retrieve(black_box(&env)).unwrap().len()
        }),
        // Each call returns the input's length (the smoke run checks it).
        "envelope_store" => Box::new(move || {
            black_box(p.storage.store(black_box(pt)).unwrap());
            pt.len()
        }),
        "envelope_cachekit_store" => Box::new(move || {
            black_box(p.ck_storage.store(black_box(pt), None).unwrap());
            pt.len()
        }),
        "envelope_retrieve" => {
            let env = p.storage.store(pt).unwrap();
            Box::new(move || p.storage.retrieve(black_box(&env)).unwrap().len())
        }
        "envelope_cachekit_retrieve" => {
            let env = p.ck_storage.store(pt, None).unwrap();
            Box::new(move || p.ck_storage.retrieve(black_box(&env)).unwrap().0.len())
        }
        "envelope_cachekit" => Box::new(move || {
            let env = p.ck_storage.store(black_box(pt), None).unwrap();
            p.ck_storage.retrieve(black_box(&env)).unwrap().0.len()
        }),
        "raw_lz4_xxh3" => Box::new(move || {
            let compressed = lz4_flex::block::compress(black_box(pt));
            let check = xxh3_64(pt);
            let mut out = vec![0u8; pt.len()];
            let n = lz4_flex::block::decompress_into(&compressed, &mut out).unwrap();
            assert_eq!(xxh3_64(&out), check);
            n
        }),
        // cachekit-core's LZ4: lz4_flex 0.13 with the `unsafe` block encoder (see Cargo.toml).
        "raw_lz4_013_unsafe_xxh3" => Box::new(move || {
            let compressed = lz4_flex_013_unsafe_encoder::block::compress(black_box(pt));
            let check = xxh3_64(pt);
            let mut out = vec![0u8; pt.len()];
            let n =
                lz4_flex_013_unsafe_encoder::block::decompress_into(&compressed, &mut out).unwrap();
            assert_eq!(xxh3_64(&out), check);
            n
        }),
        "raw_xxh3_copy" => Box::new(move || {
            let check = xxh3_64(black_box(pt));
            let stored = copy_to_vec(pt, 0);
            let out = copy_to_vec(&stored, 0);
            assert_eq!(xxh3_64(&out), check);
            out.len()
        }),
        other => panic!("no call named {other}"),
    }
}

/// (label, input, ours, theirs, most the ratio may be per size).
type Row = (
    &'static str,
    fn(usize) -> Vec<u8>,
    &'static str,
    &'static str,
    [Option<f64>; 4],
);

const ROWS: [Row; 13] = [
    (
        "aead seal+open (Vec API) / bare ring, prebuilt key",
        filler,
        "hexvault_vec",
        "ring_bare",
        [Some(1.3), Some(1.3), Some(1.1), Some(1.1)],
    ),
    // At least 2.5x, 1.8x, 1.1x faster: what issue 10 expects the floor targets above to
    // give, from its own measurement of the floor against cachekit-core. The next row
    // measures that premise in the same run: where the floor itself is not that much faster
    // than cachekit-core, no implementation at the floor can be.
    (
        "aead seal+open (Vec API) / cachekit-core",
        filler,
        "hexvault_vec",
        "cachekit",
        [Some(0.4), Some(0.556), Some(0.909), Some(0.909)],
    ),
    (
        "bare ring, prebuilt key (the floor) / cachekit-core",
        filler,
        "ring_bare",
        "cachekit",
        [None; 4],
    ),
    (
        "aead seal_in_place+open_in_place / cachekit-core",
        filler,
        "hexvault_in_place",
        "cachekit",
        [None; 4],
    ),
    (
        "aead seal+open (Vec API) / HexVault 1.1.2 one-layer seal+peel",
        filler,
        "hexvault_vec",
        "hexvault_1_1_2",
        [None; 4],
    ),
    // At least 1.5x faster at 64 B. From 64 KiB, issue 10: "never slower than cachekit
    // (JSON there is bound by LZ4 itself: show ours <= 1.05x raw)": the next row carries
    // the JSON target from 64 KiB; the random-bytes row below keeps "never slower".
    (
        "envelope store+retrieve, JSON / cachekit-core",
        json_like,
        "envelope_hexvault",
        "envelope_cachekit",
        [Some(0.667), None, None, None],
    ),
    (
        "envelope store+retrieve, JSON / raw lz4_flex + xxh3",
        json_like,
        "envelope_hexvault",
        "raw_lz4_xxh3",
        [None, Some(1.1), Some(1.05), Some(1.05)],
    ),
    // Where the JSON round trip's time goes: store (LZ4 encoder, content and payload
    // checks) and retrieve (payload check, decoder, content check, the wipe of what it
    // returns) beside cachekit-core's, separately.
    (
        "envelope store, JSON / cachekit-core store",
        json_like,
        "envelope_store",
        "envelope_cachekit_store",
        [None; 4],
    ),
    (
        "envelope retrieve, JSON / cachekit-core retrieve",
        json_like,
        "envelope_retrieve",
        "envelope_cachekit_retrieve",
        [None; 4],
    ),
    // Part of why cachekit-core is faster on compressible data from 64 KiB: its LZ4 encoder
    // is lz4_flex's `unsafe` one (about 6 % of our round trip; the rest is the payload check,
    // the plaintext wipe and the compression policy's sample: ADR 0032, amendment). The
    // first row is the floor we build on beside the floor it builds on; the second is our
    // envelope beside the latter.
    (
        "raw lz4_flex 0.14 safe encoder + xxh3, JSON / raw lz4_flex 0.13 unsafe encoder (cachekit's)",
        json_like,
        "raw_lz4_xxh3",
        "raw_lz4_013_unsafe_xxh3",
        [None; 4],
    ),
    (
        "envelope store+retrieve, JSON / raw lz4_flex 0.13 unsafe encoder (cachekit's)",
        json_like,
        "envelope_hexvault",
        "raw_lz4_013_unsafe_xxh3",
        [None; 4],
    ),
    (
        "envelope store+retrieve, random bytes / cachekit-core",
        filler,
        "envelope_hexvault",
        "envelope_cachekit",
        [Some(0.667), None, Some(1.0), Some(1.0)],
    ),
    (
        "envelope store+retrieve, random bytes / raw xxh3 + copies",
        filler,
        "envelope_hexvault",
        "raw_xxh3_copy",
        [None; 4],
    ),
];

/// Sizes of the cells and edges table (issues 11 and 12).
const CELL_SIZES: [(usize, &str); 4] = [
    (100, "100 B"),
    (1024, "1 KiB"),
    (10 * 1024, "10 KiB"),
    (64 * 1024, "64 KiB"),
];

/// One side of the cells and edges table, by name, on `pt` (the calls of the `peers_cells_*`
/// and `peers_traverse` groups of `benches/peers.rs`). Each returns `pt.len()`.
fn cells_call<'a>(name: &str, pt: &'a [u8]) -> Call<'a> {
    let layer = |n: usize| LAYERS[n];
    match name {
        "cells_l0" | "cells_l1" | "cells_l2" => {
            let (ours_layer, _) = layer(usize::from(name.as_bytes()[7] - b'0'));
            let ours = Ours::new();
            Box::new(move || {
                let creds = ours.credentials();
                let blob = ours
                    .cell
                    .seal(&ours.object, black_box(pt), ours_layer, &creds)
                    .unwrap();
                ours.cell
                    .open(&ours.object, black_box(&blob), &creds)
                    .unwrap()
                    .len()
            })
        }
        "v1_l0" | "v1_l1" | "v1_l2" => {
            let (_, their_layer) = layer(usize::from(name.as_bytes()[4] - b'0'));
            let mut t = Theirs::new();
            Box::new(move || {
                t.partition
                    .seal(&mut t.cell, "object-1", black_box(pt), their_layer, "bench")
                    .unwrap();
                t.partition
                    .open(&t.cell, "object-1", "bench")
                    .unwrap()
                    .len()
            })
        }
        "edge_traverse" => {
            let ours = Ours::new();
            let none = Credentials::none();
            let blob = ours
                .cell
                .seal(&ours.object, pt, CellLayer::Rest, &none)
                .unwrap();
            Box::new(move || {
                let moved = ours
                    .edge
                    .traverse(&ours.object, black_box(&blob), &none, &none)
                    .unwrap();
                black_box(moved);
                pt.len()
            })
        }
        "v1_traverse" => {
            let mut t = Theirs::new();
            t.partition
                .seal(&mut t.cell, "object-1", pt, layer(0).1, "bench")
                .unwrap();
            Box::new(move || {
                t.vault
                    .traverse(
                        &t.partition,
                        &t.cell,
                        &t.other,
                        &mut t.dest,
                        "object-1",
                        layer(0).1,
                        "bench",
                        "bench",
                    )
                    .unwrap();
                pt.len()
            })
        }
        "cells_seal_l0" => {
            let ours = Ours::new();
            let none = Credentials::none();
            Box::new(move || {
                let blob = ours
                    .cell
                    .seal(&ours.object, black_box(pt), CellLayer::Rest, &none)
                    .unwrap();
                black_box(blob);
                pt.len()
            })
        }
        "cells_open_l0" => {
            let ours = Ours::new();
            let none = Credentials::none();
            let blob = ours
                .cell
                .seal(&ours.object, pt, CellLayer::Rest, &none)
                .unwrap();
            Box::new(move || {
                ours.cell
                    .open(&ours.object, black_box(&blob), &none)
                    .unwrap()
                    .len()
            })
        }
        // As the cells bench's `ring_raw_vec`: a prebuilt key, into a new Vec / a copy.
        "ring_seal" => {
            let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
            let mut counter = 0u64;
            Box::new(move || {
                counter += 1;
                let mut n = [0u8; 12];
                n[4..].copy_from_slice(&counter.to_be_bytes());
                let mut out = copy_to_vec(black_box(pt), 16);
                key.seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(b"header"),
                    &mut out,
                )
                .unwrap();
                black_box(out).len() - 16
            })
        }
        "ring_open" => {
            let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
            let mut sealed = pt.to_vec();
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key([9; 12]),
                Aad::from(b"header"),
                &mut sealed,
            )
            .unwrap();
            Box::new(move || {
                let mut buf = copy_to_vec(black_box(&sealed), 0);
                let len = key
                    .open_in_place(
                        Nonce::assume_unique_for_key([9; 12]),
                        Aad::from(b"header"),
                        &mut buf,
                    )
                    .unwrap()
                    .len();
                buf.truncate(len);
                black_box(buf).len()
            })
        }
        "ring_open_seal" => {
            let mut floor = RingPair::new(pt.len());
            Box::new(move || {
                floor.run();
                pt.len()
            })
        }
        other => panic!("no call named {other}"),
    }
}

/// (label, ours, theirs, most the ratio may be per size) of the cells and edges table.
type CellRow = (&'static str, &'static str, &'static str, [Option<f64>; 4]);

const CELL_ROWS: [CellRow; 8] = [
    // Issue 11: at most 1.5x the bare latency at 100 B, at least 0.85x its throughput
    // (at most 1/0.85 = 1.18x its time) from 10 KiB.
    (
        "cells seal layer 0 / bare ring seal (prebuilt key, into a new Vec)",
        "cells_seal_l0",
        "ring_seal",
        [Some(1.5), None, Some(1.18), Some(1.18)],
    ),
    (
        "cells open layer 0 / bare ring open (prebuilt key, a copy)",
        "cells_open_l0",
        "ring_open",
        [Some(1.5), None, Some(1.18), Some(1.18)],
    ),
    (
        "cells seal+open layer 0 / HexVault 1.1.2 partition seal+open layer 0",
        "cells_l0",
        "v1_l0",
        [None; 4],
    ),
    (
        "cells seal+open layer 1 / HexVault 1.1.2 partition seal+open layer 1",
        "cells_l1",
        "v1_l1",
        [None; 4],
    ),
    (
        "cells seal+open layer 2 / HexVault 1.1.2 partition seal+open layer 2",
        "cells_l2",
        "v1_l2",
        [None; 4],
    ),
    // Issue 12: at least 5x faster than HexVault 1.1.2 at 100 B.
    (
        "edge traverse, layer 0, memory audit log / HexVault 1.1.2 Vault::traverse",
        "edge_traverse",
        "v1_traverse",
        [Some(0.2), None, None, None],
    ),
    // Issue 12: within 1.2x of the bare open + seal floor from 10 KiB up.
    (
        "edge traverse, layer 0, memory audit log / bare ring open+seal (two keys, one copy)",
        "edge_traverse",
        "ring_open_seal",
        [None, None, Some(1.2), Some(1.2)],
    ),
    (
        "HexVault 1.1.2 Vault::traverse / bare ring open+seal (two keys, one copy)",
        "v1_traverse",
        "ring_open_seal",
        [None; 4],
    ),
];

fn cell(r: f64, target: Option<f64>) -> String {
    match target {
        Some(max) if r <= max => format!("{r:.2} ok (<= {max:.2})"),
        Some(max) => format!("{r:.2} MISS (<= {max:.2})"),
        None => format!("{r:.2}"),
    }
}

fn main() {
    let measure = std::env::args().any(|a| a == "--bench");
    let peers = Peers::new();
    if !measure {
        // Smoke run: every call once, on every size.
        for (label, input, ours, theirs, _) in ROWS {
            for (size, _) in SIZES {
                let pt = input(size);
                assert_eq!(call(&peers, ours, &pt)(), size, "{label}: {ours}");
                assert_eq!(call(&peers, theirs, &pt)(), size, "{label}: {theirs}");
            }
        }
        for (label, ours, theirs, _) in CELL_ROWS {
            for (size, _) in CELL_SIZES {
                let pt = filler(size);
                assert_eq!(cells_call(ours, &pt)(), size, "{label}: {ours}");
                assert_eq!(cells_call(theirs, &pt)(), size, "{label}: {theirs}");
            }
        }
        println!("ratios: smoke run passed (measure with `cargo bench --bench ratios`)");
        return;
    }
    // `cargo bench --bench ratios -- WORD`: only the rows whose label contains WORD.
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--") && !a.is_empty());
    let wanted = |label: &str| only.as_deref().is_none_or(|w| label.contains(w));
    let mut out = String::from("| time ours / time theirs (median of per-round ratios) |");
    for (_, name) in SIZES {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|---|---|---|---|\n");
    for (label, input, ours, theirs, targets) in ROWS {
        if !wanted(label) {
            continue;
        }
        out.push_str(&format!("| {label} |"));
        for ((size, _), target) in SIZES.iter().zip(targets) {
            let pt = input(*size);
            let r = ratio(call(&peers, ours, &pt), call(&peers, theirs, &pt));
            out.push_str(&format!(" {} |", cell(r, target)));
        }
        out.push('\n');
    }
    out.push_str("\n| cells and edges: time ours / time theirs (median of per-round ratios) |");
    for (_, name) in CELL_SIZES {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|---|---|---|---|\n");
    for (label, ours, theirs, targets) in CELL_ROWS {
        if !wanted(label) {
            continue;
        }
        out.push_str(&format!("| {label} |"));
        for ((size, _), target) in CELL_SIZES.iter().zip(targets) {
            let pt = filler(*size);
            let r = ratio(cells_call(ours, &pt), cells_call(theirs, &pt));
            out.push_str(&format!(" {} |", cell(r, target)));
        }
        out.push('\n');
    }
    print!("\n{out}");
}
