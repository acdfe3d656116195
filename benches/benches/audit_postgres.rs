//! hexvault-audit-postgres beside the raw primitive: appends per second into one log with
//! 1, 4 and 16 concurrent writers, single appends and batches (`append_batch` of 64),
//! beside a bare autocommit `INSERT` of the same bytes (record encoding and chain value
//! into a table of the same shape) from as many connections, in the same run. Three
//! configurations of ours: the writers are threads sharing one `PgLog` (their appends are
//! group-committed), on one connection or pipelined with a flush connection
//! (`PgLog::with_flush_connection`); or each writer has its own handle and connection (as
//! separate processes would).
//!
//! Needs a PostgreSQL server: `cargo xtask bench audit_postgres` (and `bench --test`) run
//! it under a throwaway cluster; without `HEXVAULT_TEST_POSTGRES_URL` it prints that it
//! is SKIPPED and measures nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hexvault_audit::{
    AuditKey, AuditLog, BlobRef, CellId, ChainWriter, Endpoint, Event, EventKind, KeyVersion,
    Layer, LogId, LogOptions, PartitionId,
};
use hexvault_audit_postgres::PgLog;
use hexvault_audit_postgres::postgres::{Client, NoTls};

const URL_VAR: &str = "HEXVAULT_TEST_POSTGRES_URL";
const BATCH: u64 = 64;

fn options() -> LogOptions {
    LogOptions::keyed(&AuditKey::from_bytes([0x42; 32]))
        .signing_seed([0x24; 32])
        .checkpoint_every(1024)
}

/// A typical edge traversal (as in the audit bench).
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

/// The bytes one append stores: the record's encoding and its chain value.
fn record_bytes() -> (Vec<u8>, Vec<u8>) {
    let writer = ChainWriter::new(options()).unwrap();
    let mut encoded = Vec::new();
    let p = writer.prepare(&event(), &mut encoded).unwrap();
    (encoded, p.chain.as_bytes().to_vec())
}

fn connect(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap()
}

/// Runs `work(writer, count)` on `writers` threads, `total` operations in all; wall time.
fn concurrently(
    writers: u64,
    total: u64,
    work: impl Fn(u64, u64) + Send + Sync + 'static,
) -> Duration {
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(usize::try_from(writers).unwrap() + 1));
    let per = total.div_ceil(writers);
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let work = Arc::clone(&work);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                work(w, per);
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    started.elapsed()
}

/// One log, `writers` handles on it (each its own connection).
fn pg_handles(url: &str, writers: u64) -> Arc<Vec<PgLog>> {
    let first = PgLog::create(connect(url), options()).unwrap();
    let id = first.log_id();
    let mut handles = vec![first];
    for _ in 1..writers {
        handles.push(PgLog::open(connect(url), id, options()).unwrap());
    }
    Arc::new(handles)
}

/// Each writer its own handle and connection (like separate processes).
fn ours(url: &str, writers: u64, batch: u64, total: u64) -> Duration {
    appends(pg_handles(url, writers), writers, batch, total)
}

/// The writers are threads sharing one handle (one connection): group commit.
fn ours_shared(url: &str, writers: u64, batch: u64, total: u64) -> Duration {
    appends(pg_handles(url, 1), writers, batch, total)
}

/// The writers are threads sharing one handle with a flush connection: pipelined group
/// commit.
fn ours_pipelined(url: &str, writers: u64, batch: u64, total: u64) -> Duration {
    let log = PgLog::create(connect(url), options())
        .unwrap()
        .with_flush_connection(connect(url))
        .unwrap();
    appends(Arc::new(vec![log]), writers, batch, total)
}

/// `writers` threads append `total` events, thread `w` through `handles[w % len]`.
fn appends(handles: Arc<Vec<PgLog>>, writers: u64, batch: u64, total: u64) -> Duration {
    let event = event();
    concurrently(writers, total, move |w, count| {
        let log = &handles[usize::try_from(w).unwrap() % handles.len()];
        let mut done = 0;
        while done < count {
            if batch == 1 {
                black_box(log.append(event.clone()).unwrap());
            } else {
                black_box(
                    log.append_batch(vec![event.clone(); batch as usize])
                        .unwrap(),
                );
            }
            done += batch;
        }
    })
}

/// The bare baseline: the same bytes into a table of the same shape, autocommit. The table
/// is `hexvault_audit_records` under another name (the same columns, `CHECK`s and primary
/// key index); each row gets a record encoding and a chain value of the bench's event, sent
/// by the client as ours are. Single appends: one prepared `INSERT ... VALUES` per row. Batches:
/// one prepared `INSERT ... SELECT FROM unnest($2::bigint[], $3::bytea[], $4::bytea[])` per
/// batch whose arrays carry every row's sequence number, record and chain (each row's bytes
/// on the wire, the statement form of ours), one statement and one commit per batch.
/// No head row, no chaining: what ours adds over this is what the ratio measures.
fn bare(url: &str, writers: u64, batch: u64, total: u64) -> Duration {
    let mut setup = connect(url);
    setup
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS hexvault_bench_bare (
                 log_id bytea  NOT NULL,
                 seq    bigint NOT NULL CHECK (seq >= 0),
                 record bytea  NOT NULL,
                 chain  bytea  NOT NULL CHECK (length(chain) = 32),
                 PRIMARY KEY (log_id, seq))",
        )
        .unwrap();
    let id = LogId::random().unwrap().as_bytes().to_vec();
    let (record, chain) = record_bytes();
    // Connected and prepared before the clock starts, as ours are.
    let clients: Vec<_> = (0..writers)
        .map(|_| {
            let mut client = connect(url);
            let single = client
                .prepare(
                    "INSERT INTO hexvault_bench_bare (log_id, seq, record, chain)
                     VALUES ($1, $2, $3, $4)",
                )
                .unwrap();
            let many = client
                .prepare(
                    "INSERT INTO hexvault_bench_bare (log_id, seq, record, chain)
                     SELECT $1, r.seq, r.record, r.chain
                       FROM unnest($2::bigint[], $3::bytea[], $4::bytea[]) AS r(seq, record, chain)",
                )
                .unwrap();
            std::sync::Mutex::new((client, single, many))
        })
        .collect();
    let clients = Arc::new(clients);
    concurrently(writers, total, move |w, count| {
        let mut guard = clients[usize::try_from(w).unwrap()].lock().unwrap();
        let (client, single, many) = &mut *guard;
        let records: Vec<&[u8]> = (0..batch).map(|_| record.as_slice()).collect();
        let chains: Vec<&[u8]> = (0..batch).map(|_| chain.as_slice()).collect();
        let mut done = 0;
        while done < count {
            // Distinct keys per writer: seq = writer + k * writers.
            let seq = |k: u64| i64::try_from(w + (done + k) * writers).unwrap();
            if batch == 1 {
                client
                    .execute(&*single, &[&id, &seq(0), &record, &chain])
                    .unwrap();
            } else {
                let seqs: Vec<i64> = (0..batch).map(seq).collect();
                client
                    .execute(&*many, &[&id, &seqs, &records, &chains])
                    .unwrap();
            }
            done += batch;
        }
    })
}

type Runner = fn(&str, u64, u64, u64) -> Duration;

fn bench(c: &mut Criterion, url: &str) {
    let mut g = c.benchmark_group("audit_append_postgres");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    let cases: [(&str, Runner, u64); 8] = [
        ("hexvault_pg_shared_append", ours_shared, 1),
        ("hexvault_pg_pipelined_append", ours_pipelined, 1),
        ("hexvault_pg_append", ours, 1),
        ("bare_insert", bare, 1),
        ("hexvault_pg_shared_batch_64", ours_shared, BATCH),
        ("hexvault_pg_pipelined_batch_64", ours_pipelined, BATCH),
        ("hexvault_pg_batch_64", ours, BATCH),
        ("bare_insert_batch_64", bare, BATCH),
    ];
    for writers in [1, 4, 16] {
        for (name, run, batch) in cases {
            let url = url.to_owned();
            g.bench_function(format!("{name}/{writers}_writers"), move |b| {
                // Whole batches for every writer; the time is scaled back to `iters`.
                b.iter_custom(|iters| {
                    let ops = iters.div_ceil(writers * batch) * writers * batch;
                    run(&url, writers, batch, ops).mul_f64(iters as f64 / ops as f64)
                });
            });
        }
    }
    g.finish();
}

/// The table for the note: appends/s of each case and its ratio to the bare insert with
/// the same writers and batch, all measured back to back in each round (median of 3
/// rounds; the ratio is the median of the rounds' ratios).
fn table(url: &str) {
    const OPS: u64 = 3_200;
    eprintln!(
        "audit_postgres (appends/s, median of 3 rounds of {OPS} appends; contended machine):"
    );
    eprintln!(
        "  writers  batch  bare INSERT | shared handle   ratio | + flush conn.   ratio | handle per writer  ratio"
    );
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let runners: [Runner; 4] = [bare, ours_shared, ours_pipelined, ours];
    for writers in [1, 4, 16] {
        for batch in [1, BATCH] {
            let rounds: Vec<Vec<f64>> = (0..3)
                .map(|_| {
                    runners
                        .iter()
                        .map(|run| OPS as f64 / run(url, writers, batch, OPS).as_secs_f64())
                        .collect()
                })
                .collect();
            let rate = |i: usize| mid(rounds.iter().map(|r| r[i]).collect());
            let ratio = |i: usize| mid(rounds.iter().map(|r| r[i] / r[0]).collect());
            eprintln!(
                "  {writers:>7}  {batch:>5}  {:>11.0} | {:>13.0}  {:>5.2}x | {:>13.0}  {:>5.2}x | {:>17.0}  {:>5.2}x",
                rate(0),
                rate(1),
                ratio(1),
                rate(2),
                ratio(2),
                rate(3),
                ratio(3),
            );
        }
    }
}

fn main() {
    let Ok(url) = std::env::var(URL_VAR) else {
        eprintln!(
            "audit_postgres: SKIPPED, measured nothing: {URL_VAR} is not set; run \
             `cargo xtask bench audit_postgres` (or `bench --test`), which starts a throwaway \
             PostgreSQL cluster"
        );
        return;
    };
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &url);
    // Only under `cargo bench` (not `cargo test --benches`): the ratio table.
    if std::env::args().any(|a| a == "--bench") {
        table(&url);
    }
    c.final_summary();
}
