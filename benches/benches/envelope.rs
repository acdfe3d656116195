//! hexvault-envelope beside the raw primitives: `store`/`retrieve` vs bare `lz4_flex` block
//! compress/decompress plus bare `xxh3_64` of the same bytes (and, for incompressible
//! input, bare `xxh3_64` plus one memcpy), same inputs, same run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hexvault_benches::filler;
use hexvault_envelope::{ByteStorage, Compression, Header, Options};
use xxhash_rust::xxh3::xxh3_64;

const SIZES: [usize; 3] = [1024, 64 * 1024, 1024 * 1024];

/// JSON-like text: what the envelope compresses in practice.
fn json_like(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"user\":\"user-{}\",\"active\":{},\"roles\":[\"reader\",\"writer\"],\"score\":{}}},\n",
                i % 97,
                i % 3 == 1,
                (i * 7919) % 1000
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

fn inputs() -> Vec<(&'static str, usize, Vec<u8>)> {
    let mut v = Vec::new();
    for size in SIZES {
        v.push(("json", size, json_like(size)));
        v.push(("noise", size, filler(size)));
    }
    v
}

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, size: usize) {
    g.throughput(Throughput::Bytes(size as u64));
    if size >= 1024 * 1024 {
        g.sample_size(20);
    }
}

fn store(c: &mut Criterion) {
    let storage = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    for (kind, size, data) in inputs() {
        let mut g = c.benchmark_group(format!("envelope_store/{kind}/{size}"));
        configure(&mut g, size);
        let mut out = Vec::new();
        g.bench_function("ours", |b| {
            b.iter(|| {
                storage.store_into(black_box(&data), &mut out).unwrap();
                black_box(out.len())
            });
        });
        let mut buf = vec![0u8; lz4_flex::block::get_maximum_output_size(size)];
        g.bench_function("raw_lz4_xxh3", |b| {
            b.iter(|| {
                let n = lz4_flex::block::compress_into(black_box(&data), &mut buf).unwrap();
                black_box((n, xxh3_64(black_box(&data))))
            });
        });
        let mut copy = Vec::with_capacity(size);
        g.bench_function("raw_xxh3_memcpy", |b| {
            b.iter(|| {
                copy.clear();
                copy.extend_from_slice(black_box(&data));
                black_box((copy.len(), xxh3_64(black_box(&data))))
            });
        });
        g.finish();
    }
}

fn retrieve(c: &mut Criterion) {
    let storage = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    for (kind, size, data) in inputs() {
        let envelope = storage.store(&data).unwrap();
        let (header, payload) = Header::parse(&envelope).unwrap();
        let mut g = c.benchmark_group(format!("envelope_retrieve/{kind}/{size}"));
        configure(&mut g, size);
        let mut out = Vec::new();
        g.bench_function("ours", |b| {
            b.iter(|| {
                storage
                    .retrieve_into(black_box(&envelope), &mut out)
                    .unwrap();
                black_box(out.len())
            });
        });
        let mut buf = vec![0u8; size];
        if header.compressed() {
            g.bench_function("raw_lz4_xxh3", |b| {
                b.iter(|| {
                    let n = lz4_flex::block::decompress_into(black_box(payload), &mut buf).unwrap();
                    black_box((n, xxh3_64(&buf)))
                });
            });
            // The same plus the one extra pass our format makes: the xxh3 of the compressed
            // payload, which rejects payload bit flips that decode to identical bytes
            // (ADR 0030). The gap between this and `ours` is our whole overhead.
            g.bench_function("raw_lz4_xxh3_payload_xxh3", |b| {
                b.iter(|| {
                    let check = xxh3_64(black_box(payload));
                    let n = lz4_flex::block::decompress_into(black_box(payload), &mut buf).unwrap();
                    black_box((n, check, xxh3_64(&buf)))
                });
            });
        } else {
            g.bench_function("raw_xxh3_memcpy", |b| {
                b.iter(|| {
                    buf.copy_from_slice(black_box(payload));
                    black_box(xxh3_64(&buf))
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, store, retrieve);
criterion_main!(benches);
