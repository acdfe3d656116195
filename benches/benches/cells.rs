//! hexvault-cells beside the raw primitive: `Cell::seal` / `Cell::open` at layers 0, 1 and 2
//! vs a bare ring `LessSafeKey` with a prebuilt key (seal into a new `Vec`, open a copy),
//! same sizes, same run; plus the cold path (every operation a cache miss: HKDF tree, key
//! schedule and the HMAC-SHA256 key commitment), the commitment alone, and the nonce every
//! seal draws per layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hexvault_audit::{AuditKey, LogOptions, MemoryLog};
use hexvault_benches::filler;
use hexvault_cells::{
    AccessToken, Cell, CellId, Credentials, Layer, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, Session, TokenResolver, Vault, VaultOptions,
};
use hmac::{Hmac, KeyInit, Mac};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

const SIZES: [usize; 4] = [100, 1024, 10 * 1024, 1024 * 1024];
const MASTER: [u8; 32] = [0x42; 32];
const LAYERS: [Layer; 3] = [Layer::Rest, Layer::Access, Layer::Session];

struct Resolver;

impl TokenResolver for Resolver {
    fn resolve(&self, _: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        Some(PolicyContext::new(
            PolicyId::new("bench").unwrap(),
            PolicySecret::from_bytes(&mut [7; 32]),
        ))
    }
}

/// A vault over a fresh memory log. Benches build a new one per timing sample, so the audit
/// records of layer-1/2 opens (part of their cost) do not pile up across samples.
fn vault(options: VaultOptions) -> Vault {
    let log = Arc::new(MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes([1; 32]))).unwrap());
    Vault::with_options(
        hexvault_cells::VaultMasterKey::from_kms_bytes(&mut MASTER.clone()),
        Resolver,
        log,
        options,
    )
}

fn cell(vault: &Vault, name: &str) -> Cell {
    vault
        .partition(PartitionId::new("tenant").unwrap())
        .cell(CellId::new(name).unwrap())
}

fn raw_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x42; 32]).unwrap())
}

fn raw_nonce(counter: &mut u64) -> Nonce {
    *counter += 1;
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn group_for(
    c: &mut Criterion,
    name: String,
    size: usize,
) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(size as u64));
    if size >= 1024 * 1024 {
        g.sample_size(10);
    }
    g
}

/// Times `iters` runs of `f` on cell `inbox` of a vault built fresh for the sample (warmed
/// by one run, so the layer keys are cached as in a long-running process).
fn timed(iters: u64, mut f: impl FnMut(&Cell)) -> Duration {
    let v = vault(VaultOptions::default());
    let inbox = cell(&v, "inbox");
    f(&inbox);
    let start = Instant::now();
    for _ in 0..iters {
        f(&inbox);
    }
    start.elapsed()
}

fn seal(c: &mut Criterion) {
    let token = AccessToken::new(b"bench".to_vec());
    let session = bench_session();
    let creds = Credentials::none().token(&token).session(&session);
    let object = ObjectId::new("object-1").unwrap();
    for size in SIZES {
        let mut g = group_for(c, format!("cells_seal/{size}"), size);
        let pt = filler(size);
        for layer in LAYERS {
            g.bench_function(format!("hexvault_layer{layer}"), |b| {
                b.iter_custom(|iters| {
                    timed(iters, |inbox| {
                        black_box(inbox.seal(&object, black_box(&pt), layer, &creds).unwrap());
                    })
                });
            });
        }
        let raw = raw_key();
        let mut counter = 0u64;
        g.bench_function("ring_raw_vec", |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(size + 16);
                out.extend_from_slice(black_box(&pt));
                raw.seal_in_place_append_tag(
                    raw_nonce(&mut counter),
                    Aad::from(b"header"),
                    &mut out,
                )
                .unwrap();
                black_box(out)
            });
        });
        g.finish();
    }
}

fn open(c: &mut Criterion) {
    let token = AccessToken::new(b"bench".to_vec());
    let session = bench_session();
    let creds = Credentials::none().token(&token).session(&session);
    let object = ObjectId::new("object-1").unwrap();
    for size in SIZES {
        let mut g = group_for(c, format!("cells_open/{size}"), size);
        let pt = filler(size);
        let sealer = vault(VaultOptions::default());
        for layer in LAYERS {
            let blob = cell(&sealer, "inbox")
                .seal(&object, &pt, layer, &creds)
                .unwrap();
            g.bench_function(format!("hexvault_layer{layer}"), |b| {
                b.iter_custom(|iters| {
                    timed(iters, |inbox| {
                        black_box(inbox.open(&object, black_box(&blob), &creds).unwrap());
                    })
                });
            });
        }
        let raw = raw_key();
        let nonce = [9u8; 12];
        let mut sealed = pt.clone();
        raw.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"header"),
            &mut sealed,
        )
        .unwrap();
        g.bench_function("ring_raw_vec", |b| {
            b.iter(|| {
                let mut buf = black_box(&sealed).clone();
                let len = raw
                    .open_in_place(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(b"header"),
                        &mut buf,
                    )
                    .unwrap()
                    .len();
                buf.truncate(len);
                black_box(buf)
            });
        });
        g.finish();
    }
}

/// The cost of a cache miss (partition, cell and layer HKDF, key schedule, commitment) and
/// of the commitment alone, which the hot path does not pay.
fn cold(c: &mut Criterion) {
    let mut g = c.benchmark_group("cells_cold/100");
    let object = ObjectId::new("object-1").unwrap();
    let pt = filler(100);
    let none = Credentials::none();
    g.bench_function("hexvault_layer0_seal_every_op_a_cache_miss", |b| {
        b.iter_custom(|iters| {
            let v = vault(VaultOptions::default().cache_capacity(1));
            let (a, z) = (cell(&v, "a"), cell(&v, "b"));
            let start = Instant::now();
            for i in 0..iters {
                let target = if i % 2 == 0 { &a } else { &z };
                black_box(target.seal(&object, &pt, Layer::Rest, &none).unwrap());
            }
            start.elapsed()
        });
    });
    let detached = hexvault_aead::DetachedKey::new(
        hexvault_aead::Key::from_bytes([7; 32]),
        hexvault_aead::KeyVersion::FIRST,
    )
    .unwrap();
    g.bench_function("aead_detached_fresh_nonce", |b| {
        b.iter(|| black_box(*detached.fresh_nonce().unwrap().bytes()));
    });
    g.bench_function("hmac_sha256_key_commitment", |b| {
        b.iter(|| {
            let mut mac =
                <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(black_box(&[7u8; 32])).unwrap();
            mac.update(b"hexvault/v2/cells/key-commitment");
            black_box(mac.finalize().into_bytes())
        });
    });
    g.finish();
}

fn bench_session() -> Session {
    vault(VaultOptions::default())
        .start_session(Duration::from_secs(86_400))
        .unwrap()
}

criterion_group!(benches, seal, open, cold);
criterion_main!(benches);
