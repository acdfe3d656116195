//! hexvault-cells beside the raw primitive: `Cell::seal` / `Cell::open` at layers 0, 1 and 2
//! vs a bare ring `LessSafeKey` with a prebuilt key (seal into a new `Vec`, open a copy),
//! same sizes, same run; plus the cold path (every operation a cache miss: HKDF tree, key
//! schedule and the HMAC-SHA256 key commitment), the commitment alone, and the nonce every
//! seal draws per layer.
//!
//! `cargo bench -p hexvault-benches --bench cells -- --ratios` prints instead the interleaved
//! ratio table of issue 11 (layer 0 at 100 B to 1 MiB, layers 1 and 2 at 100 B, each against
//! bare ring): blocks of ours and of ring timed in alternation, median of the per-round
//! ratios, so that a slow moment of a shared machine hits both sides of a round alike.
//! `-- --floors` prints, the same way, what associated data of each length costs bare ring
//! at layer 0 / 100 B beside our seal and open; `-- --profile SIDE N` runs one side alone
//! for a profiler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
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

/// Rounds per ratio; each round times one block of each side.
const ROUNDS: usize = 41;
/// Target length of one timed block of both sides.
const BLOCK: Duration = Duration::from_millis(10);

/// One side of a ratio: times a block of `n` calls (setup outside the timing).
type Side<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// Over [`ROUNDS`] rounds of blocks in alternating order: the median of the per-round
/// ratios time(ours) / time(theirs), and the ratio of the fastest blocks of each side (the
/// least disturbed by other load).
fn ratio(mut ours: Side<'_>, mut theirs: Side<'_>) -> (f64, f64) {
    let mut n = 1u64;
    while ours(n) + theirs(n) < BLOCK && n < 1 << 24 {
        n *= 2;
    }
    let mut pairs: Vec<(f64, f64)> = (0..ROUNDS)
        .map(|round| {
            if round % 2 == 0 {
                let a = ours(n);
                (a.as_secs_f64(), theirs(n).as_secs_f64())
            } else {
                let b = theirs(n);
                (ours(n).as_secs_f64(), b.as_secs_f64())
            }
        })
        .collect();
    let fastest = |side: fn(&(f64, f64)) -> f64| pairs.iter().map(side).fold(f64::MAX, f64::min);
    let min_ratio = fastest(|p| p.0) / fastest(|p| p.1);
    pairs.sort_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)));
    let (a, b) = pairs[ROUNDS / 2];
    (a / b, min_ratio)
}

/// Our seal at `layer`: a block on a vault built for it, warmed by one call (as [`timed`]).
fn ours_seal<'a>(pt: &'a [u8], layer: Layer, creds: &'a Credentials<'a>) -> Side<'a> {
    let object = ObjectId::new("object-1").unwrap();
    Box::new(move |n| {
        timed(n, |inbox| {
            black_box(inbox.seal(&object, black_box(pt), layer, creds).unwrap());
        })
    })
}

/// Our open of a blob sealed at `layer` (by another vault of the same master key).
fn ours_open<'a>(pt: &'a [u8], layer: Layer, creds: &'a Credentials<'a>) -> Side<'a> {
    let object = ObjectId::new("object-1").unwrap();
    let blob = cell(&vault(VaultOptions::default()), "inbox")
        .seal(&object, pt, layer, creds)
        .unwrap();
    Box::new(move |n| {
        timed(n, |inbox| {
            black_box(inbox.open(&object, black_box(&blob), creds).unwrap());
        })
    })
}

/// The `ring_raw_vec` seal of the criterion groups, with `aad` as associated data.
fn ring_seal<'a>(pt: &'a [u8], aad: &'a [u8]) -> Side<'a> {
    let raw = raw_key();
    let mut counter = 0u64;
    Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            let mut out = Vec::with_capacity(pt.len() + 16);
            out.extend_from_slice(black_box(pt));
            raw.seal_in_place_append_tag(raw_nonce(&mut counter), Aad::from(aad), &mut out)
                .unwrap();
            black_box(out);
        }
        start.elapsed()
    })
}

/// The `ring_raw_vec` open of the criterion groups, with `aad` as associated data.
fn ring_open<'a>(pt: &'a [u8], aad: &'a [u8]) -> Side<'a> {
    let raw = raw_key();
    let nonce = [9u8; 12];
    let mut sealed = pt.to_vec();
    raw.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut sealed,
    )
    .unwrap();
    Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            let mut buf = black_box(&sealed).clone();
            let len = raw
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut buf,
                )
                .unwrap()
                .len();
            buf.truncate(len);
            black_box(buf);
        }
        start.elapsed()
    })
}

/// Prints the interleaved ratio table (`-- --ratios`): ours against bare ring with the
/// 6-byte associated data of the criterion groups (the targets), and at layer 0
/// also bare ring against bare ring with the length of a cell blob's associated data (ring
/// hashes associated data one 16-byte block per call, so the header alone costs that much).
fn ratios() {
    let token = AccessToken::new(b"bench".to_vec());
    let session = bench_session();
    let creds = Credentials::none().token(&token).session(&session);
    let object = ObjectId::new("object-1").unwrap();
    let mut rows = Vec::new();
    for (layer, sizes) in [
        (Layer::Rest, &SIZES[..]),
        (Layer::Access, &SIZES[..1]),
        (Layer::Session, &SIZES[..1]),
    ] {
        for &size in sizes {
            let pt = filler(size);
            let seal = ratio(ours_seal(&pt, layer, &creds), ring_seal(&pt, b"header"));
            let open = ratio(ours_open(&pt, layer, &creds), ring_open(&pt, b"header"));
            let mut row = format!(
                "| {layer} | {size} | {:.2} ({:.2}) | {:.2} ({:.2}) |",
                seal.0, seal.1, open.0, open.1
            );
            if layer == Layer::Rest {
                let blob = cell(&vault(VaultOptions::default()), "inbox")
                    .seal(&object, &pt, layer, &creds)
                    .unwrap();
                // Format 2's associated data: the header without the layer-0 commitment
                // (32) and nonce (12).
                let header = vec![0x55; blob.len() - size - 16 - 32 - 12];
                let seal = ratio(ring_seal(&pt, &header), ring_seal(&pt, b"header"));
                let open = ratio(ring_open(&pt, &header), ring_open(&pt, b"header"));
                row.push_str(&format!(
                    " {:.2} ({:.2}) | {:.2} ({:.2}) |",
                    seal.0, seal.1, open.0, open.1
                ));
            } else {
                row.push_str(" | |");
            }
            rows.push(row);
        }
    }
    println!(
        "| layer | bytes | seal / bare ring seal | open / bare ring open | floor: ring seal, blob AAD / bare ring seal | floor: ring open, blob AAD / bare ring open |"
    );
    println!("|---|---|---|---|---|---|");
    println!("(each cell: median of per-round ratios, then fastest block / fastest block)");
    for row in rows {
        println!("{row}");
    }
}

/// Prints (`-- --floors`) where the time of a layer-0 seal and open of 100 B goes, in one
/// interleaved run: bare ring with the associated-data lengths a cell blob format could
/// choose (the header without the commitment and nonce, as format 2 authenticates it; the
/// bench blob's whole header, as format 1 did; the fixed part and the object id; one GHASH
/// block) and our seal/open, each against bare ring with the 6 bytes of the criterion groups. ring hashes
/// associated data one 16-byte block per call, so the rows show what each length costs.
fn floors() {
    let pt = filler(100);
    let none = Credentials::none();
    let object = ObjectId::new("object-1").unwrap();
    let blob = cell(&vault(VaultOptions::default()), "inbox")
        .seal(&object, &pt, Layer::Rest, &none)
        .unwrap();
    let header = blob.len() - pt.len() - 16;
    // Magic, version, layer, flags, two key versions; the object id with its length byte.
    let fixed_and_object = 15 + 1 + object.as_str().len();
    let rows = [
        ("ring, 6 B AAD", 6),
        ("ring, 16 B AAD (one block)", 16),
        ("ring, fixed part + object id", fixed_and_object),
        (
            "ring, header without commitment and nonce (format 2)",
            header - 32 - 12,
        ),
        ("ring, whole header (format 1)", header),
    ];
    println!("| layer 0, 100 B | AAD bytes | open / bare ring open | seal / bare ring seal |");
    println!("|---|---|---|---|");
    println!("(each cell: median of per-round ratios, then fastest block / fastest block)");
    for (name, len) in rows {
        let aad = vec![0x55u8; len];
        let open = ratio(ring_open(&pt, &aad), ring_open(&pt, b"header"));
        let seal = ratio(ring_seal(&pt, &aad), ring_seal(&pt, b"header"));
        println!(
            "| {name} | {len} | {:.2} ({:.2}) | {:.2} ({:.2}) |",
            open.0, open.1, seal.0, seal.1
        );
    }
    let open = ratio(
        ours_open(&pt, Layer::Rest, &none),
        ring_open(&pt, b"header"),
    );
    let seal = ratio(
        ours_seal(&pt, Layer::Rest, &none),
        ring_seal(&pt, b"header"),
    );
    println!(
        "| hexvault-cells (format {}) | {} | {:.2} ({:.2}) | {:.2} ({:.2}) |",
        hexvault_cells::FORMAT_VERSION,
        header - 32 - 12,
        open.0,
        open.1,
        seal.0,
        seal.1
    );
}

/// Runs one side alone (`-- --profile SIDE N [AAD]`), N calls at layer 0 on 100 B, and
/// prints the mean time per call: for `valgrind --tool=callgrind` or `perf record`. SIDE is
/// `ours-open`, `ours-seal`, `ring-open` or `ring-seal` (ring with AAD bytes of associated
/// data, 6 if not given). Subtract a run with a smaller N to remove the setup.
fn profile(args: &[String]) {
    let pt = filler(100);
    let none = Credentials::none();
    let n: u64 = args
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let aad = vec![0x55u8; args.get(2).and_then(|n| n.parse().ok()).unwrap_or(6)];
    let mut side = match args.first().map(String::as_str) {
        Some("ours-open") => ours_open(&pt, Layer::Rest, &none),
        Some("ours-seal") => ours_seal(&pt, Layer::Rest, &none),
        Some("ring-open") => ring_open(&pt, &aad),
        Some("ring-seal") => ring_seal(&pt, &aad),
        other => {
            eprintln!("--profile {other:?}: SIDE is ours-open, ours-seal, ring-open or ring-seal");
            return;
        }
    };
    let elapsed = side(n);
    println!("{:.1} ns per call", elapsed.as_secs_f64() * 1e9 / n as f64);
}

criterion_group!(benches, seal, open, cold);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        profile(args.get(at + 1..).unwrap_or_default());
        return;
    }
    if args.iter().any(|a| a == "--floors") {
        floors();
        return;
    }
    if args.iter().any(|a| a == "--ratios") {
        ratios();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
