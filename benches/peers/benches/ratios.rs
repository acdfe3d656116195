//! The ratio table of `cargo xtask bench --peers`: for each pair (ours, theirs) and size,
//! blocks of calls timed in alternation (A B, B A, ...) and the median of the per-round
//! ratios, so that a slow moment on a shared machine hits both sides of a round alike. The
//! calls are exactly those of the `peers` criterion bench (same inputs, same APIs).
//!
//! Run by `cargo bench --bench ratios` (prints the Markdown table); under `cargo test
//! --benches` every call runs once (a smoke run, no table).
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
use hexvault_envelope::{ByteStorage, Compression, Options};
use hexvault_peer_benches::{filler, json_like};
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
        "ring_bare" => Box::new(move || {
            p.counter.set(p.counter.get() + 1);
            let mut n = [0u8; 12];
            n[4..].copy_from_slice(&p.counter.get().to_be_bytes());
            let mut sealed = Vec::with_capacity(pt.len() + 16);
            sealed.extend_from_slice(black_box(pt));
            p.ring_key
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(AAD),
                    &mut sealed,
                )
                .unwrap();
            let mut opened = sealed.clone();
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
            let stored = pt.to_vec();
            let out = stored.clone();
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

const ROWS: [Row; 10] = [
    (
        "aead seal+open (Vec API) / bare ring, prebuilt key",
        filler,
        "hexvault_vec",
        "ring_bare",
        [Some(1.3), Some(1.3), Some(1.1), Some(1.1)],
    ),
    // At least 2.5x, 1.8x, 1.1x faster.
    (
        "aead seal+open (Vec API) / cachekit-core",
        filler,
        "hexvault_vec",
        "cachekit",
        [Some(0.4), Some(0.556), Some(0.909), Some(0.909)],
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
    // At least 1.5x faster at 64 B; never slower from 64 KiB.
    (
        "envelope store+retrieve, JSON / cachekit-core",
        json_like,
        "envelope_hexvault",
        "envelope_cachekit",
        [Some(0.667), None, Some(1.0), Some(1.0)],
    ),
    (
        "envelope store+retrieve, JSON / raw lz4_flex + xxh3",
        json_like,
        "envelope_hexvault",
        "raw_lz4_xxh3",
        [None, Some(1.1), Some(1.05), Some(1.05)],
    ),
    // Why cachekit-core is faster on compressible data from 64 KiB: its LZ4 encoder is
    // lz4_flex's `unsafe` one. The first row is the floor we build on beside the floor it
    // builds on; the second is our envelope beside the latter.
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
        println!("ratios: smoke run passed (measure with `cargo bench --bench ratios`)");
        return;
    }
    let mut out = String::from("| time ours / time theirs (median of per-round ratios) |");
    for (_, name) in SIZES {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|---|---|---|---|\n");
    for (label, input, ours, theirs, targets) in ROWS {
        out.push_str(&format!("| {label} |"));
        for ((size, _), target) in SIZES.iter().zip(targets) {
            let pt = input(*size);
            let r = ratio(call(&peers, ours, &pt), call(&peers, theirs, &pt));
            out.push_str(&format!(" {} |", cell(r, target)));
        }
        out.push('\n');
    }
    print!("\n{out}");
}
