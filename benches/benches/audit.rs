//! hexvault-audit beside the raw primitive: an in-memory chain append (log format 3: the
//! public SHA-256 chain over the record, the keyed chain an HMAC-SHA256 of the public value)
//! vs a bare HMAC-SHA256 of the same encoded record, vs the bare work of format 3 (one
//! SHA-256 over the record, one HMAC over 55 bytes) and vs the bare pair HMAC-SHA256 +
//! SHA-256 over the record that format 2 computed (same run), and file appends in
//! records/s with group commit N = 1, 64, 1024 and with fsync per record; and 1, 2, 4 and
//! 8 threads each doing append+flush on one group-committed file log (ADR 0089) beside the
//! floor of the old behaviour, one locked `write` + `fdatasync` of the same frame per append.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hexvault_audit::{
    AuditKey, AuditLog, BlobRef, CellId, Durability, Endpoint, Event, EventKind, FileLog,
    KeyVersion, Layer, LogOptions, MemoryLog, PartitionId,
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

const KEY: [u8; 32] = [0x42; 32];
/// Appends per fresh file log, so file sizes stay bounded however long criterion runs.
const CHUNK: u64 = 20_000;

/// A typical edge traversal: two endpoints, input and output blob references.
fn event() -> Event {
    let ep = |p: &str, c: &str| {
        Endpoint::new(
            PartitionId::new(p).unwrap(),
            CellId::new(c).unwrap(),
            Layer(0),
            KeyVersion(2),
        )
    };
    Event::new(EventKind::Traverse)
        .source(ep("tenant-0001", "inbox"))
        .destination(ep("tenant-0002", "archive"))
        .input(BlobRef::bind(&hexvault_benches::filler(40), &[1; 12], &[2; 16]).unwrap())
        .output(BlobRef::bind(&hexvault_benches::filler(41), &[3; 12], &[4; 16]).unwrap())
}

fn memory(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_append_memory");
    g.throughput(Throughput::Elements(1));
    // Steady state: the log is recreated every 1,000 appends, so its memory is recycled by
    // the allocator. The second variant grows each log to 100,000 records and so also pays
    // for first-touch page faults of fresh memory (what a long-lived log pays as it grows).
    for (name, chunk) in [
        ("hexvault_memory_log_append", 1_000),
        ("hexvault_memory_log_append_growing", 100_000),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(chunk);
                    let log =
                        MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes(KEY))).unwrap();
                    let events: Vec<Event> = (0..n).map(|_| event()).collect();
                    let t = Instant::now();
                    for e in events {
                        black_box(log.append(e).unwrap());
                    }
                    total += t.elapsed();
                    left -= n;
                }
                total
            });
        });
    }
    // The encoding of a typical record, as a log writes it.
    let one = MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes(KEY))).unwrap();
    one.append(event()).unwrap();
    let encoded = one.records().unwrap()[0].encode().unwrap();
    eprintln!("encoded record: {} bytes", encoded.len());
    let prev = [7u8; 32];
    g.bench_function("raw_hmac_sha256_same_record", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&KEY)).unwrap();
            mac.update(black_box(&prev));
            mac.update(black_box(&encoded));
            black_box(mac.finalize().into_bytes())
        });
    });
    let keyed = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();
    g.bench_function("raw_hmac_sha256_prekeyed_same_record", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&prev));
            mac.update(black_box(&encoded));
            black_box(mac.finalize().into_bytes())
        });
    });
    // Format 2 does two chains per record: the keyed HMAC and the public SHA-256 chain. This
    // baseline does the same two hashes bare, so the ratio shows our overhead, not the cost
    // of the second chain.
    g.bench_function("raw_hmac_sha256_plus_sha256_same_record", |b| {
        b.iter(|| black_box(both_chains(&encoded, &prev)));
    });
    // Format 3's bare work: SHA-256 over the record once, then HMAC (pre-keyed) of the
    // 32-byte public value behind a 23-byte domain (ADR 0080).
    let keyed = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();
    g.bench_function("raw_format3_sha256_plus_short_hmac_same_record", |b| {
        b.iter(|| black_box(one_pass(&keyed, &encoded, &prev)));
    });
    g.finish();
    paired_ratio(&encoded, &prev);
}

/// The bare work of one format-2 append: HMAC-SHA256 over `prev ‖ record` and SHA-256 over a
/// domain label, the previous public value, the length and the record.
fn both_chains(encoded: &[u8], prev: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&KEY)).unwrap();
    mac.update(black_box(prev));
    mac.update(black_box(encoded));
    let keyed: [u8; 32] = mac.finalize().into_bytes().into();
    let mut public = Sha256::new();
    public.update(b"hexvault-audit/v2/public-chain");
    public.update(black_box(prev));
    public.update((encoded.len() as u32).to_be_bytes());
    public.update(black_box(encoded));
    (keyed, public.finalize().into())
}

/// The bare work of one format-3 append (ADR 0080).
fn one_pass(keyed: &Hmac<Sha256>, encoded: &[u8], prev: &[u8; 32]) -> [u8; 32] {
    let public: [u8; 32] = Sha256::new()
        .chain_update(b"hexvault-audit/v3/public")
        .chain_update(black_box(prev))
        .chain_update((encoded.len() as u32).to_be_bytes())
        .chain_update(black_box(encoded))
        .finalize()
        .into();
    let mut mac = keyed.clone();
    mac.update(b"hexvault-audit/v3/chain");
    mac.update(&public);
    mac.finalize().into_bytes().into()
}

/// The machine this runs on is shared, so sequential criterion groups can see different
/// load. This interleaves 1,000-append blocks of ours with 1,000 bare HMACs of the same
/// encoded record, 41 times, and prints the median per-block ratio.
fn paired_ratio(encoded: &[u8], prev: &[u8; 32]) {
    let mut ratios = Vec::new();
    for _ in 0..41 {
        let log = MemoryLog::new(LogOptions::keyed(&AuditKey::from_bytes(KEY))).unwrap();
        let events: Vec<Event> = (0..1_000).map(|_| event()).collect();
        let t = Instant::now();
        for e in events {
            black_box(log.append(e).unwrap());
        }
        let ours = t.elapsed();
        let t = Instant::now();
        for _ in 0..1_000 {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&KEY)).unwrap();
            mac.update(black_box(prev));
            mac.update(black_box(encoded));
            black_box(mac.finalize().into_bytes());
        }
        let raw = t.elapsed();
        let keyed = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();
        let t = Instant::now();
        for _ in 0..1_000 {
            let mut mac = keyed.clone();
            mac.update(black_box(prev));
            mac.update(black_box(encoded));
            black_box(mac.finalize().into_bytes());
        }
        let prekeyed = t.elapsed();
        let t = Instant::now();
        for _ in 0..1_000 {
            black_box(both_chains(encoded, prev));
        }
        let both = t.elapsed();
        ratios.push((
            ours.as_secs_f64() / raw.as_secs_f64(),
            ours.as_secs_f64() / prekeyed.as_secs_f64(),
            ours.as_secs_f64() / both.as_secs_f64(),
        ));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    eprintln!(
        "audit paired (median of 41 interleaved 1,000-op blocks): memory append / bare HMAC-SHA256 = {:.2}x, / pre-keyed HMAC-SHA256 = {:.2}x, / bare HMAC-SHA256 + SHA-256 (both chains) = {:.2}x",
        median(ratios.iter().map(|r| r.0).collect()),
        median(ratios.iter().map(|r| r.1).collect()),
        median(ratios.iter().map(|r| r.2).collect()),
    );
}

fn file(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit_append_file");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    let policies = [
        ("fsync_every_record", Durability::EveryRecord),
        (
            "group_commit_1",
            Durability::GroupCommit {
                max_records: 1,
                max_delay: Duration::ZERO,
            },
        ),
        (
            "group_commit_64",
            Durability::GroupCommit {
                max_records: 64,
                max_delay: Duration::ZERO,
            },
        ),
        (
            "group_commit_1024",
            Durability::GroupCommit {
                max_records: 1024,
                max_delay: Duration::ZERO,
            },
        ),
    ];
    for (name, durability) in policies {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let dir = tempfile::tempdir().unwrap();
                let mut total = Duration::ZERO;
                let mut left = iters;
                let mut k = 0;
                while left > 0 {
                    let n = left.min(CHUNK);
                    let opts = LogOptions::keyed(&AuditKey::from_bytes(KEY)).durability(durability);
                    let log = FileLog::create(dir.path().join(format!("{k}.log")), opts).unwrap();
                    let events: Vec<Event> = (0..n).map(|_| event()).collect();
                    let t = Instant::now();
                    for e in events {
                        black_box(log.append(e).unwrap());
                    }
                    log.flush().unwrap();
                    total += t.elapsed();
                    drop(log);
                    std::fs::remove_file(dir.path().join(format!("{k}.log"))).unwrap();
                    left -= n;
                    k += 1;
                }
                total
            });
        });
    }
    g.finish();
}

/// Group commit without a count or a timer: only `flush` syncs.
const FLUSH_ONLY: Durability = Durability::GroupCommit {
    max_records: u32::MAX,
    max_delay: Duration::ZERO,
};

/// The frame of one typical record exactly as a file log writes it.
fn record_frame() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frame.log");
    let log = FileLog::create(&path, LogOptions::keyed(&AuditKey::from_bytes(KEY))).unwrap();
    log.append(event()).unwrap();
    log.close().unwrap();
    std::fs::read(&path).unwrap()[hexvault_audit::HEADER_LEN..].to_vec()
}

/// `threads` threads each append and flush `per_thread` records on one group-committed file
/// log; returns the wall time from the start barrier until the last thread is done.
fn group_flush_run(dir: &Path, k: usize, threads: usize, per_thread: u64) -> Duration {
    let path = dir.join(format!("g{k}.log"));
    let opts = LogOptions::keyed(&AuditKey::from_bytes(KEY)).durability(FLUSH_ONLY);
    let log = Arc::new(FileLog::create(&path, opts).unwrap());
    let elapsed = time_threads(threads, |_| {
        let log = Arc::clone(&log);
        let events: Vec<Event> = (0..per_thread).map(|_| event()).collect();
        move || {
            for e in events {
                black_box(log.append(e).unwrap());
                log.flush().unwrap();
            }
        }
    });
    drop(log);
    std::fs::remove_file(&path).unwrap();
    elapsed
}

/// Runs `threads` workers made by `worker` (setup outside the timing), released together
/// behind a barrier; the time from their release until the last one ends.
fn time_threads<W: FnOnce() + Send + 'static>(
    threads: usize,
    mut worker: impl FnMut(usize) -> W,
) -> Duration {
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (start, work) = (Arc::clone(&start), worker(i));
            std::thread::spawn(move || {
                start.wait();
                work();
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    t.elapsed()
}

/// The old behaviour's floor: the same threads each write the same frame and `fdatasync`
/// under one mutex per append (what `flush` did under the log's lock), without any chain
/// work.
fn fsync_per_append_run(
    dir: &Path,
    k: usize,
    threads: usize,
    per_thread: u64,
    frame: &Arc<Vec<u8>>,
) -> Duration {
    let path = dir.join(format!("f{k}.log"));
    let file: Arc<Mutex<File>> = Arc::new(Mutex::new(
        OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .unwrap(),
    ));
    let elapsed = time_threads(threads, |_| {
        let (file, frame) = (Arc::clone(&file), Arc::clone(frame));
        move || {
            for _ in 0..per_thread {
                let mut f = file.lock().unwrap();
                f.write_all(black_box(&frame)).unwrap();
                f.sync_data().unwrap();
            }
        }
    });
    drop(file);
    std::fs::remove_file(&path).unwrap();
    elapsed
}

/// Times `iters` appends split over `threads` threads, a fresh file every `CHUNK` appends,
/// scaled to exactly `iters` appends.
fn threaded_iters(
    iters: u64,
    threads: usize,
    mut run: impl FnMut(&Path, usize, usize, u64) -> Duration,
) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let per_chunk = (CHUNK / threads as u64).max(1);
    let mut per_thread_left = iters.div_ceil(threads as u64).max(1);
    let done = per_thread_left * threads as u64;
    let mut total = Duration::ZERO;
    let mut k = 0;
    while per_thread_left > 0 {
        let n = per_thread_left.min(per_chunk);
        total += run(dir.path(), k, threads, n);
        per_thread_left -= n;
        k += 1;
    }
    total.mul_f64(iters as f64 / done as f64)
}

fn file_flush_threads(c: &mut Criterion) {
    let frame = Arc::new(record_frame());
    eprintln!("record frame: {} bytes", frame.len());
    let mut g = c.benchmark_group("file_log_flush_threads");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    for threads in [1usize, 2, 4, 8] {
        g.bench_function(format!("group_commit_append_flush/{threads}"), |b| {
            b.iter_custom(|iters| threaded_iters(iters, threads, group_flush_run));
        });
        g.bench_function(format!("fsync_per_append_floor/{threads}"), |b| {
            b.iter_custom(|iters| {
                threaded_iters(iters, threads, |d, k, t, n| {
                    fsync_per_append_run(d, k, t, n, &frame)
                })
            });
        });
    }
    g.finish();
    // `cargo bench -- --test` runs each function once: skip the paired measurement there,
    // and when a filter names other benchmarks only (numbers are option values).
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args
        .iter()
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    let wanted = filters.is_empty()
        || filters.iter().any(|f| {
            "file_log_flush_threads".contains(f.as_str()) || f.contains("file_log_flush_threads")
        });
    if wanted && !args.iter().any(|a| a == "--test") {
        paired_flush_ratio(&frame);
    }
}

/// Interleaves blocks of ours and of the floor (64 appends per thread each), 7 rounds per
/// thread count, and prints appends/s of each and the median per-round ratio.
fn paired_flush_ratio(frame: &Arc<Vec<u8>>) {
    const PER_THREAD: u64 = 64;
    let dir = tempfile::tempdir().unwrap();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for threads in [1usize, 2, 4, 8] {
        let appends = (PER_THREAD * threads as u64) as f64;
        let (mut ours, mut floor, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..7 {
            let g = group_flush_run(dir.path(), round, threads, PER_THREAD).as_secs_f64();
            let f =
                fsync_per_append_run(dir.path(), round, threads, PER_THREAD, frame).as_secs_f64();
            ours.push(appends / g);
            floor.push(appends / f);
            ratio.push(f / g);
        }
        eprintln!(
            "file_log_flush_threads paired (median of 7 interleaved rounds, {threads} thread(s) x {PER_THREAD}): group commit {:.0} appends/s, fsync per append floor {:.0} appends/s, ratio {:.2}x",
            median(ours),
            median(floor),
            median(ratio),
        );
    }
}

criterion_group!(benches, memory, file, file_flush_threads);
criterion_main!(benches);
