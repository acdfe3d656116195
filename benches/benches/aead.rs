//! hexvault-aead beside the raw primitives: seal/open vs a bare ring `LessSafeKey`
//! (prebuilt key, same sizes, same run), the RustCrypto backend vs ring, and
//! `derive_key` vs a bare `hkdf` extract + expand, and the drop of an opened `Plaintext`
//! (one fast wipe) vs `Zeroizing<Vec<u8>>` (byte-by-byte volatile writes) vs a bare free,
//! and sealed streams vs bare ring over the same 64 KiB pieces; and a 64 KiB copy at the
//! placement ADR 0092 avoids, plain `memcpy` vs hexvault's 1 KiB pieces.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hexvault_aead::{
    Backend, DEFAULT_SEGMENT_LEN, HEADER_LEN, Key, KeyVersion, Plaintext, SealingKey, StreamOpener,
    StreamSealer, derive_key, sealed_len,
};
use hexvault_benches::filler;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];
const KEY: [u8; 32] = [0x42; 32];
const AAD: &[u8] = b"cell/partition/layer";

fn ours(backend: Backend) -> SealingKey {
    SealingKey::with_backend(Key::from_bytes(KEY), KeyVersion::new(1).unwrap(), backend).unwrap()
}

fn raw_ring() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap())
}

fn raw_nonce(counter: &mut u64) -> Nonce {
    *counter += 1;
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn batch(size: usize) -> BatchSize {
    if size >= 1024 * 1024 {
        BatchSize::LargeInput
    } else {
        BatchSize::SmallInput
    }
}

fn seal(c: &mut Criterion) {
    for size in SIZES {
        let mut g = c.benchmark_group(format!("aead_seal/{size}"));
        g.throughput(Throughput::Bytes(size as u64));
        if size >= 1024 * 1024 {
            g.sample_size(20);
        }
        let pt = filler(size);

        let key = ours(Backend::Ring);
        let mut buf = vec![0u8; sealed_len(size)];
        buf[HEADER_LEN..HEADER_LEN + size].copy_from_slice(&pt);
        g.bench_function("hexvault_ring_in_place", |b| {
            b.iter(|| {
                key.seal_in_place(black_box(AAD), black_box(&mut buf))
                    .unwrap()
            });
        });
        g.bench_function("hexvault_ring_vec", |b| {
            b.iter(|| key.seal(black_box(&pt), black_box(AAD)).unwrap());
        });

        let rc = ours(Backend::RustCrypto);
        let mut rbuf = buf.clone();
        g.bench_function("hexvault_rustcrypto_in_place", |b| {
            b.iter(|| {
                rc.seal_in_place(black_box(AAD), black_box(&mut rbuf))
                    .unwrap()
            });
        });

        let raw = raw_ring();
        let mut raw_buf = pt.clone();
        let mut counter = 0u64;
        g.bench_function("ring_raw_in_place", |b| {
            b.iter(|| {
                raw.seal_in_place_separate_tag(
                    raw_nonce(&mut counter),
                    Aad::from(black_box(AAD)),
                    black_box(&mut raw_buf),
                )
                .unwrap()
            });
        });
        // The same raw call on a plaintext that starts 21 bytes into its buffer, as it
        // does inside a sealed blob: isolates the cost of the unaligned position.
        let mut raw_at_offset = vec![0u8; sealed_len(size)];
        g.bench_function("ring_raw_in_place_offset21", |b| {
            b.iter(|| {
                raw.seal_in_place_separate_tag(
                    raw_nonce(&mut counter),
                    Aad::from(black_box(AAD)),
                    black_box(&mut raw_at_offset[HEADER_LEN..HEADER_LEN + size]),
                )
                .unwrap()
            });
        });
        g.finish();
    }
}

fn open(c: &mut Criterion) {
    for size in SIZES {
        let mut g = c.benchmark_group(format!("aead_open/{size}"));
        g.throughput(Throughput::Bytes(size as u64));
        if size >= 1024 * 1024 {
            g.sample_size(20);
        }
        let pt = filler(size);

        let key = ours(Backend::Ring);
        let blob = key.seal(&pt, AAD).unwrap();
        g.bench_function("hexvault_ring_in_place", |b| {
            b.iter_batched_ref(
                || blob.clone(),
                |buf| key.open_in_place(black_box(AAD), buf).unwrap().len(),
                batch(size),
            );
        });

        let rc = ours(Backend::RustCrypto);
        g.bench_function("hexvault_rustcrypto_in_place", |b| {
            b.iter_batched_ref(
                || blob.clone(),
                |buf| rc.open_in_place(black_box(AAD), buf).unwrap().len(),
                batch(size),
            );
        });

        let raw = raw_ring();
        let mut sealed = pt.clone();
        let nonce = [9u8; 12];
        raw.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(AAD),
            &mut sealed,
        )
        .unwrap();
        g.bench_function("ring_raw_in_place", |b| {
            b.iter_batched_ref(
                || sealed.clone(),
                |buf| {
                    raw.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), buf)
                        .unwrap()
                        .len()
                },
                batch(size),
            );
        });
        // The same raw call on a ciphertext that starts 21 bytes into its buffer, as it
        // does inside a sealed blob: isolates the cost of the unaligned position.
        let mut at_offset = vec![0u8; HEADER_LEN];
        at_offset.extend_from_slice(&sealed);
        g.bench_function("ring_raw_in_place_offset21", |b| {
            b.iter_batched_ref(
                || at_offset.clone(),
                |buf| {
                    let (body, tag) = buf[HEADER_LEN..].split_at_mut(size);
                    let tag = ring::aead::Tag::try_from(&*tag).unwrap();
                    raw.open_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(AAD),
                        tag,
                        body,
                        0..,
                    )
                    .unwrap()
                    .len()
                },
                batch(size),
            );
        });
        g.finish();
    }
}

fn kdf(c: &mut Criterion) {
    let mut g = c.benchmark_group("aead_derive_key");
    let parent = Key::from_bytes(KEY);
    g.bench_function("hexvault_derive_key", |b| {
        b.iter(|| derive_key(black_box(&parent), "hexvault/bench", &[b"tenant-0001"]).unwrap());
    });
    let info = hexvault_aead::encode_info("hexvault/bench", &[b"tenant-0001"]).unwrap();
    g.bench_function("hkdf_raw_extract_expand", |b| {
        b.iter(|| {
            let mut okm = [0u8; 32];
            hkdf::Hkdf::<sha2::Sha256>::new(None, black_box(&KEY))
                .expand(black_box(&info), &mut okm)
                .unwrap();
            okm
        });
    });
    g.finish();
}

/// Dropping an opened plaintext: `Plaintext` (one `memset`-speed wipe of the whole
/// allocation, then free) beside `Zeroizing<Vec<u8>>` (what `open` returned before: one
/// volatile byte at a time), a bare `fill(0)` + free, and a bare free (the floor). The
/// buffers are built outside the measurement (`iter_batched`); only the drop is timed.
fn plaintext_drop(c: &mut Criterion) {
    for size in [64, 1024, 64 * 1024, 1024 * 1024] {
        let mut g = c.benchmark_group(format!("aead_plaintext_drop/{size}"));
        g.throughput(Throughput::Bytes(size as u64));
        let pt = filler(size);
        g.bench_function("hexvault_plaintext", |b| {
            b.iter_batched(|| Plaintext::new(pt.clone()), drop, batch(size));
        });
        g.bench_function("zeroizing_vec", |b| {
            b.iter_batched(|| Zeroizing::new(pt.clone()), drop, batch(size));
        });
        g.bench_function("fill_zero_then_free", |b| {
            b.iter_batched(
                || pt.clone(),
                |mut v| {
                    v.fill(0);
                    black_box(&mut v);
                },
                batch(size),
            );
        });
        g.bench_function("free_only", |b| {
            b.iter_batched(|| pt.clone(), drop, batch(size));
        });
        g.finish();
    }
}

/// A sealed stream (64 KiB segments, one segment of memory) sealed and opened through
/// in-memory readers and writers, beside the floor: bare ring seal + open of the same bytes
/// in 64 KiB pieces with a prebuilt key and no I/O. The stream pays one HKDF and one key
/// schedule per stream, a tag per segment and the copies into and out of its buffer.
fn stream(c: &mut Criterion) {
    for size in [1024 * 1024, 16 * 1024 * 1024] {
        let mut g = c.benchmark_group(format!("aead_stream/{size}"));
        g.throughput(Throughput::Bytes(size as u64));
        let plaintext = filler(size);
        let key = Key::from_bytes(KEY);
        let mut sealed = Vec::with_capacity(size + size / 1000 + 100);
        let mut opened = Vec::with_capacity(size);
        g.bench_function("stream_seal_open", |b| {
            b.iter(|| {
                sealed.clear();
                let mut s = StreamSealer::new(&key, AAD, &mut sealed).unwrap();
                s.copy_from(&mut black_box(&plaintext[..])).unwrap();
                s.finish().unwrap();
                opened.clear();
                let mut o = StreamOpener::new(&key, AAD, &sealed[..]).unwrap();
                o.copy_to(&mut opened).unwrap();
                assert_eq!(opened.len(), size);
            });
        });
        let raw = raw_ring();
        let mut counter = 0u64;
        let mut buf = plaintext.clone();
        let mut tags = Vec::with_capacity(size / DEFAULT_SEGMENT_LEN as usize + 1);
        g.bench_function("raw_ring_seal_open_64k_pieces", |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(&plaintext));
                tags.clear();
                let first = counter;
                for piece in buf.chunks_mut(DEFAULT_SEGMENT_LEN as usize) {
                    tags.push(
                        raw.seal_in_place_separate_tag(
                            raw_nonce(&mut counter),
                            Aad::from(AAD),
                            piece,
                        )
                        .unwrap(),
                    );
                }
                let mut n = first;
                for (piece, tag) in buf.chunks_mut(DEFAULT_SEGMENT_LEN as usize).zip(&tags) {
                    raw.open_in_place_separate_tag(
                        raw_nonce(&mut n),
                        Aad::from(AAD),
                        *tag,
                        piece,
                        0..,
                    )
                    .unwrap();
                }
                black_box(&buf);
            });
        });
        g.finish();
    }
}

/// ADR 0092: a 64 KiB copy with the destination 16 bytes past the source modulo 4 KiB (where a
/// heap block allocated after another lands), one plain `copy_from_slice` (`memcpy`) against
/// hexvault's 1 KiB pieces, beside the plain copy at a distance of 0 (the floor). On AMD Zen
/// with glibc 2.36 the plain copy at 16 is about 17x the floor; the pieces stay near it.
fn copy_placement(c: &mut Criterion) {
    const LEN: usize = 64 * 1024;
    let mut arena = filler(4 * LEN + 8192);
    // Offsets from a page boundary inside the arena, so the distance is exact.
    let page = arena.as_ptr().align_offset(4096);
    let mut g = c.benchmark_group("copy_placement/65536");
    g.throughput(Throughput::Bytes(LEN as u64));
    for (name, distance, pieces) in [
        ("memcpy_distance_0", 0, false),
        ("memcpy_distance_16", 16, false),
        ("hexvault_pieces_distance_16", 16, true),
        ("hexvault_pieces_distance_0", 0, true),
    ] {
        let dst_at = page + 2 * LEN + distance;
        g.bench_function(name, |b| {
            b.iter(|| {
                let (head, tail) = arena.split_at_mut(dst_at);
                let (src, dst) = (&head[page..page + LEN], &mut tail[..LEN]);
                if pieces {
                    hexvault_aead::copy_from_slice(dst, black_box(src)).unwrap();
                } else {
                    dst.copy_from_slice(black_box(src));
                }
                black_box(dst.as_ptr())
            });
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    seal,
    open,
    kdf,
    plaintext_drop,
    stream,
    copy_placement
);
criterion_main!(benches);
