//! hexvault's public APIs beside the libraries users would pick instead, in one run:
//! cachekit-core 0.7.4 (AES-256-GCM on ring; LZ4 + xxHash3 envelope in MessagePack) and
//! the published HexVault 1.1.2 (one-layer seal/peel: HKDF + AES-256-GCM on ring), with bare ring (prebuilt key) and
//! bare `lz4_flex` + `xxh3` as the floors. Every measurement is a full round trip through
//! the everyday allocating API (seal then open, store then retrieve) on the same bytes.
//!
//! Each peer is used the way its README shows. Where its API forces per-call work, the
//! comment at the call says so: it is part of what a user of that API pays.
//!
//! Cells and edges (`peers_cells_*`, `peers_traverse`): our `Cell::seal`/`open` at layers
//! 0, 1 and 2 beside HexVault 1.1.2's `Partition::seal`/`open` at the same layers, and our
//! `Edge::traverse` (memory audit log, every check on) beside HexVault 1.1.2's
//! `Vault::traverse` and the bare ring open + seal floor (two prebuilt keys, one copy); the
//! calls are in `src/cells.rs`, shared with the ratio table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::time::Instant;

use cachekit_core::{ByteStorage as CkStorage, ZeroKnowledgeEncryptor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hexvault_aead::{HEADER_LEN, Key, KeyVersion, SealingKey, sealed_len};
use hexvault_cells::{Credentials, Layer as CellLayer};
use hexvault_envelope::{ByteStorage, Compression, Options};
use hexvault_peer_benches::cells::{LAYERS, Ours, RingPair, Theirs};
use hexvault_peer_benches::{copy_to_vec, filler, json_like};
use hexvault_v1::stack::{self, Layer, LayerContext};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use xxhash_rust::xxh3::xxh3_64;

const SIZES: [usize; 4] = [64, 1024, 64 * 1024, 1024 * 1024];
const KEY: [u8; 32] = [0x42; 32];
const AAD: &[u8] = b"cell/partition/layer";

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, size: usize) {
    g.throughput(Throughput::Bytes(size as u64));
    if size >= 1024 * 1024 {
        g.sample_size(20);
    }
}

/// Bare ring, prebuilt key, counter nonce: copy in, seal, copy out, open. The same two
/// allocations and two copies as an allocating seal + open, and nothing else (fair as a
/// floor: ours allocates the same two blocks; what it adds is its format's and safety's
/// work, listed beside `ring_bare` in `ratios.rs`).
fn ring_round_trip(key: &LessSafeKey, counter: &mut u64, pt: &[u8]) -> Vec<u8> {
    *counter += 1;
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    let mut sealed = copy_to_vec(pt, 16);
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(n), Aad::from(AAD), &mut sealed)
        .unwrap();
    let mut opened = copy_to_vec(&sealed, 0);
    let len = key
        .open_in_place(Nonce::assume_unique_for_key(n), Aad::from(AAD), &mut opened)
        .unwrap()
        .len();
    opened.truncate(len);
    opened
}

fn aead(c: &mut Criterion) {
    let ours = SealingKey::new(Key::from_bytes(KEY), KeyVersion::new(1).unwrap()).unwrap();
    let ring_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
    let cachekit = ZeroKnowledgeEncryptor::new().unwrap();
    for size in SIZES {
        let pt = filler(size);
        let mut g = c.benchmark_group(format!("peers_aead/{size}"));
        configure(&mut g, size);

        g.bench_function("hexvault_vec", |b| {
            b.iter(|| {
                let blob = ours.seal(black_box(&pt), AAD).unwrap();
                let opened = ours.open(black_box(&blob), AAD).unwrap();
                black_box(opened.len())
            });
        });

        let mut buf = vec![0u8; sealed_len(size)];
        g.bench_function("hexvault_in_place", |b| {
            b.iter(|| {
                buf[HEADER_LEN..HEADER_LEN + size].copy_from_slice(black_box(&pt));
                ours.seal_in_place(AAD, &mut buf).unwrap();
                let opened = ours.open_in_place(AAD, black_box(&mut buf)).unwrap();
                black_box(opened.len())
            });
        });

        let mut counter = 0u64;
        g.bench_function("ring_bare", |b| {
            b.iter(|| black_box(ring_round_trip(&ring_key, &mut counter, black_box(&pt)).len()));
        });

        // cachekit-core takes the raw key bytes per call, so every encrypt and every
        // decrypt builds a new AES key schedule (README: `encrypt_aes_gcm(plaintext,
        // key, aad)`); its encryptor keeps the nonce counter.
        g.bench_function("cachekit", |b| {
            b.iter(|| {
                let ct = cachekit.encrypt_aes_gcm(black_box(&pt), &KEY, AAD).unwrap();
                let opened = cachekit.decrypt_aes_gcm(black_box(&ct), &KEY, AAD).unwrap();
                black_box(opened.len())
            });
        });

        // HexVault 1.1.2's public one-layer seal/peel (`stack::seal`/`peel` at
        // `Layer::AtRest`, what its cells call): per call it derives the layer key with
        // HKDF from the partition key, builds the AES key schedule and draws a
        // `SystemRandom` nonce. Its cells (token resolution, per-cell maps) are not
        // measured here; they are compared with ours once `hexvault-cells` exists.
        let partition = hexvault_v1::keys::derive_partition_key(
            &hexvault_v1::keys::MasterKey::from_bytes(KEY),
            "bench",
        )
        .unwrap();
        let context = LayerContext::empty();
        g.bench_function("hexvault_1_1_2", |b| {
            b.iter(|| {
                let ct = stack::seal(&partition, "cell", Layer::AtRest, &context, black_box(&pt))
                    .unwrap();
                let opened =
                    stack::peel(&partition, "cell", Layer::AtRest, &context, black_box(&ct))
                        .unwrap();
                black_box(opened.len())
            });
        });
        g.finish();
    }
}

/// Bare LZ4 block + xxh3 of the content both ways, into fresh buffers as an allocating API
/// does: the floor of a compressing, checksumming envelope.
fn raw_lz4_round_trip(data: &[u8]) -> usize {
    let compressed = lz4_flex::block::compress(data);
    let check = xxh3_64(data);
    let mut out = vec![0u8; data.len()];
    let n = lz4_flex::block::decompress_into(&compressed, &mut out).unwrap();
    assert_eq!(xxh3_64(&out), check);
    n
}

/// Bare xxh3 of the content both ways plus the two copies a stored envelope needs: the
/// floor for incompressible bytes, which are stored as they are.
fn raw_copy_round_trip(data: &[u8]) -> usize {
    let check = xxh3_64(data);
    let stored = copy_to_vec(data, 0);
    let out = copy_to_vec(&stored, 0);
    assert_eq!(xxh3_64(&out), check);
    out.len()
}

fn envelope(c: &mut Criterion) {
    // Compression opt-in, as a user storing compressible, non-secret data sets it.
    let ours = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    // cachekit-core's README: `ByteStorage::new(None)`, `store(data, None)`; it always
    // compresses and frames in MessagePack.
    let cachekit = CkStorage::new(None);
    for (kind, make) in [
        ("json", json_like as fn(usize) -> Vec<u8>),
        ("noise", filler),
    ] {
        for size in SIZES {
            let data = make(size);
            let mut g = c.benchmark_group(format!("peers_envelope_{kind}/{size}"));
            configure(&mut g, size);
            g.bench_function("hexvault", |b| {
                b.iter(|| {
                    let env = ours.store(black_box(&data)).unwrap();
                    let back = ours.retrieve(black_box(&env)).unwrap();
                    black_box(back.len())
                });
            });
            g.bench_function("cachekit", |b| {
                b.iter(|| {
                    let env = cachekit.store(black_box(&data), None).unwrap();
                    let (back, _format) = cachekit.retrieve(black_box(&env)).unwrap();
                    black_box(back.len())
                });
            });
            g.bench_function("raw_lz4_xxh3", |b| {
                b.iter(|| black_box(raw_lz4_round_trip(black_box(&data))));
            });
            g.bench_function("raw_xxh3_copy", |b| {
                b.iter(|| black_box(raw_copy_round_trip(black_box(&data))));
            });
            g.finish();
        }
    }
}

/// Sizes of the cells and traversal groups (issues 11 and 12).
const CELL_SIZES: [usize; 5] = [100, 1024, 10 * 1024, 64 * 1024, 1024 * 1024];

fn cells(c: &mut Criterion) {
    for size in CELL_SIZES {
        let pt = filler(size);
        for (ours_layer, their_layer) in LAYERS {
            let n = ours_layer.number();
            let mut g = c.benchmark_group(format!("peers_cells_layer{n}/{size}"));
            configure(&mut g, size);
            let ours = Ours::new();
            let creds = ours.credentials();
            g.bench_function("hexvault_seal", |b| {
                b.iter(|| {
                    black_box(
                        ours.cell
                            .seal(&ours.object, black_box(&pt), ours_layer, &creds)
                            .unwrap(),
                    )
                });
            });
            let blob = ours
                .cell
                .seal(&ours.object, &pt, ours_layer, &creds)
                .unwrap();
            g.bench_function("hexvault_open", |b| {
                b.iter(|| {
                    black_box(
                        ours.cell
                            .open(&ours.object, black_box(&blob), &creds)
                            .unwrap(),
                    )
                });
            });
            // HexVault 1.1.2: `Partition::seal` resolves the token, derives every layer key
            // with HKDF and stores the blob in the cell's map; `open` peels it back.
            let mut theirs = Theirs::new();
            g.bench_function("hexvault_1_1_2_partition_seal", |b| {
                b.iter(|| {
                    theirs
                        .partition
                        .seal(
                            &mut theirs.cell,
                            "object-1",
                            black_box(&pt),
                            their_layer,
                            "bench",
                        )
                        .unwrap();
                });
            });
            g.bench_function("hexvault_1_1_2_partition_open", |b| {
                b.iter(|| {
                    black_box(
                        theirs
                            .partition
                            .open(&theirs.cell, "object-1", "bench")
                            .unwrap(),
                    )
                });
            });
            g.finish();
        }
    }
}

fn traverse(c: &mut Criterion) {
    for size in CELL_SIZES {
        let pt = filler(size);
        let mut g = c.benchmark_group(format!("peers_traverse/{size}"));
        configure(&mut g, size);
        // A fresh vault per sample keeps the memory audit log from growing across samples.
        g.bench_function("hexvault_edge_traverse", |b| {
            b.iter_custom(|iters| {
                let ours = Ours::new();
                let none = Credentials::none();
                let blob = ours
                    .cell
                    .seal(&ours.object, &pt, CellLayer::Rest, &none)
                    .unwrap();
                ours.edge
                    .traverse(&ours.object, &blob, &none, &none)
                    .unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(
                        ours.edge
                            .traverse(&ours.object, black_box(&blob), &none, &none)
                            .unwrap(),
                    );
                }
                start.elapsed()
            });
        });
        g.bench_function("hexvault_1_1_2_vault_traverse", |b| {
            b.iter_custom(|iters| {
                let mut t = Theirs::new();
                t.partition
                    .seal(&mut t.cell, "object-1", &pt, LAYERS[0].1, "bench")
                    .unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    t.vault
                        .traverse(
                            &t.partition,
                            &t.cell,
                            &t.other,
                            &mut t.dest,
                            "object-1",
                            LAYERS[0].1,
                            "bench",
                            "bench",
                        )
                        .unwrap();
                }
                start.elapsed()
            });
        });
        let mut floor = RingPair::new(size);
        g.bench_function("ring_open_seal", |b| b.iter(|| black_box(floor.run())));
        g.finish();
    }
}

criterion_group!(benches, aead, envelope, cells, traverse);
criterion_main!(benches);
