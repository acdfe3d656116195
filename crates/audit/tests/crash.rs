//! Crash tests: a child process (this test binary, re-executed) appends and prints each
//! acknowledged sequence number; it is killed with SIGKILL at a random moment. Reopening must
//! keep every acknowledged record, and the chain must verify. Acknowledged means: the append
//! returned under [`Durability::EveryRecord`]; a `flush` begun after the append returned,
//! under group commit with threads sharing the flushes (ADR 0089).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{event, options};
use hexvault_audit::{Anchor, AuditLog, Durability, FileLog};

const CHILD_ENV: &str = "HEXVAULT_AUDIT_CRASH_CHILD";
const GROUP_CHILD_ENV: &str = "HEXVAULT_AUDIT_GROUP_CRASH_CHILD";
/// Threads of the group-commit child, each appending and flushing in turn.
const GROUP_THREADS: u64 = 4;

/// Group commit that never syncs on its own within a round (a buffer far larger than a round
/// writes, no delay flusher): only the threads' `flush` calls make records durable.
fn group_commit() -> Durability {
    Durability::GroupCommit {
        max_records: 1_000_000,
        max_delay: Duration::from_secs(3_600),
    }
}

/// In the child (env var set): append forever, printing each returned sequence number.
/// In a normal test run this test does nothing.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (log, _) = FileLog::open_or_create(&path, options(50, Durability::EveryRecord)).unwrap();
    let mut out = std::io::stdout().lock();
    let mut i = log.len();
    loop {
        let s = log.append(event(i)).unwrap().sequence.get();
        writeln!(out, "SEQ {s}").unwrap();
        out.flush().unwrap();
        i += 1;
    }
}

/// In the child (env var set): threads append and flush, each printing a sequence number
/// once the flush begun after its append returned (so the record is acknowledged).
#[test]
fn group_crash_child() {
    let Ok(path) = std::env::var(GROUP_CHILD_ENV) else {
        return;
    };
    let (log, _) = FileLog::open_or_create(&path, options(50, group_commit())).unwrap();
    let start = log.len();
    std::thread::scope(|scope| {
        for t in 0..GROUP_THREADS {
            let log = &log;
            scope.spawn(move || {
                let mut i = start + t;
                loop {
                    let s = log.append(event(i)).unwrap().sequence.get();
                    log.flush().unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "SEQ {s}").unwrap();
                    out.flush().unwrap();
                    i += GROUP_THREADS;
                }
            });
        }
    });
}

#[test]
fn sigkill_keeps_every_returned_append() {
    kill_rounds("crash_child", CHILD_ENV, Durability::EveryRecord, true);
}

/// ADR 0089: `flush` waits for a sync turn that began after its write, without the state
/// lock. A flush that returned before the buffer reached the file would lose its records
/// here; so would a sync turn that skipped a waiter's write.
#[test]
fn sigkill_keeps_every_flushed_append_of_threads_sharing_group_commits() {
    kill_rounds("group_crash_child", GROUP_CHILD_ENV, group_commit(), false);
}

/// Five rounds: run the child test `child` against one log, kill it at a random moment,
/// reopen, and check that every acknowledged sequence number is in the log, the log verifies,
/// and (with `in_order`, a single writer) the acknowledgements are gapless and continue the
/// previous round's log.
fn kill_rounds(child: &str, env: &str, durability: Durability, in_order: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.log");
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).unwrap();
    let mut rng = common::TestRng(u64::from_le_bytes(seed) | 1);
    let mut acknowledged: Option<u64> = None;
    for round in 0..5 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([child, "--exact", "--nocapture", "--test-threads=1"])
            .env(env, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_ack, acked) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut seqs = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest prints "test crash_child ... " without a newline before the first line.
                if let Some((_, s)) = line.split_once("SEQ ") {
                    seqs.push(s.parse::<u64>().unwrap());
                    if seqs.len() == 1 {
                        let _ = first_ack.send(());
                    }
                }
            }
            seqs
        });
        // The kill lands at a random moment once the child is appending: on a loaded machine
        // starting the child alone can take longer than any fixed delay.
        let _ = acked.recv_timeout(Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(rng.below(300)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let seqs = reader.join().unwrap();
        assert!(
            !seqs.is_empty(),
            "round {round}: child acknowledged nothing"
        );
        let first = acknowledged.map_or(0, |a| a + 1);
        if in_order {
            // The child continued exactly where the previous round's log ended.
            assert_eq!(
                seqs[0], first,
                "round {round}: the child did not continue after the last record"
            );
            assert!(
                seqs.windows(2).all(|w| w[1] == w[0] + 1),
                "round {round}: gap in acknowledged sequence numbers"
            );
        } else {
            assert!(
                seqs.iter().all(|s| *s >= first),
                "round {round}: a sequence number of an earlier round was given again"
            );
        }
        let last = *seqs.iter().max().unwrap();
        let (log, report) = FileLog::open(&path, options(50, durability)).unwrap();
        assert!(report.is_ok(), "round {round}: {report}");
        assert!(
            report.records > last,
            "round {round}: acknowledged record {last} lost ({report})"
        );
        assert!(log.verify().unwrap().is_ok());
        eprintln!(
            "round {round}: {} acknowledged, last {last}; reopened: {report}",
            seqs.len()
        );
        acknowledged = Some(report.records - 1);
        drop(log);
    }
}

/// Review round 7 (R7-6): under group commit an append that signs an interval checkpoint
/// returns it only once it and the records it covers are durable (and the anchor file is
/// written): shipped off-host and followed by a crash (no destructor runs), it still
/// matches the log on disk, so the honest log is not reported as cut.
#[test]
fn a_checkpoint_returned_under_group_commit_is_durable() {
    use hexvault_audit::{Anchor, Damage, Verifier};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.log");
    let log = FileLog::create(
        &path,
        options(
            2,
            Durability::GroupCommit {
                max_records: 100,
                max_delay: Duration::ZERO,
            },
        ),
    )
    .unwrap();
    log.append(event(0)).unwrap();
    let appended = log.append(event(1)).unwrap();
    // "Worth shipping off-host": the caller ships it.
    let shipped = Anchor::new(appended.checkpoint.expect("interval checkpoint")).unwrap();
    // A third record stays in the write buffer: it is what the crash may lose.
    log.append(event(2)).unwrap();
    // The process dies before the group is synced (no destructor runs).
    std::mem::forget(log);
    let report = Verifier::keyed(&hexvault_audit::AuditKey::from_bytes(common::KEY))
        .with_public_key(common::public_key())
        .with_anchor(shipped.clone())
        .verify_file(&path)
        .unwrap();
    assert!(
        !matches!(
            report.failure.as_ref().map(|f| &f.reason),
            Some(Damage::Truncated { .. })
        ),
        "an honest crash is reported as a cut against the shipped checkpoint: {report}"
    );
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 2);
    assert_eq!(
        Anchor::read(Anchor::path_for(&path)).unwrap(),
        shipped,
        "the anchor file holds the returned checkpoint"
    );
}

/// A copy of a closed log written without any sync: what a writer killed between `write`
/// and `fdatasync` leaves behind (its frames in the page cache only), as the next process
/// finds it.
fn unsynced_copy_of_a_log(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("src.log");
    let log = FileLog::create(&src, options(0, Durability::EveryRecord)).unwrap();
    for i in 0..5 {
        log.append(event(i)).unwrap();
    }
    log.close().unwrap();
    let path = dir.join("crashed.log");
    std::fs::write(&path, std::fs::read(&src).unwrap()).unwrap();
    path
}

/// Review round 16: `checkpoint_and_anchor` "makes it durable and writes it to
/// `<log>.anchor`". Right after an open, the checkpoint at the head may be one a crashed
/// writer never synced; an anchor written for it before a sync can be ahead of the log
/// after a power loss, and the log is then refused as cut.
#[test]
fn an_anchor_written_after_open_follows_a_sync_of_what_the_log_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = unsynced_copy_of_a_log(dir.path());
    let (log, _) = FileLog::open(&path, options(0, Durability::EveryRecord)).unwrap();
    let anchor = log.checkpoint_and_anchor().unwrap().unwrap();
    assert_eq!(anchor.sequence().get(), 4);
    assert!(Anchor::path_for(&path).exists());
    assert_eq!(
        log.sync_count(),
        1,
        "an anchor was written for a checkpoint that no fdatasync of this process covered"
    );
}

/// Review round 16: `flush` "returns `Ok` only when every record appended before the call
/// began is durable", also the records found on open; `checkpoint` likewise.
#[test]
fn flush_and_checkpoint_after_open_sync_what_a_crashed_writer_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = unsynced_copy_of_a_log(dir.path());
    let (log, _) = FileLog::open(&path, options(0, Durability::EveryRecord)).unwrap();
    log.flush().unwrap();
    assert_eq!(
        log.sync_count(),
        1,
        "flush returned Ok without any fdatasync"
    );
    let cp = log.checkpoint().unwrap().unwrap();
    assert_eq!(cp.sequence.get(), 4);
    // Once synced, a second flush has nothing new to sync.
    log.flush().unwrap();
    assert!(log.sync_count() >= 1);
}

/// Review round 51 LOW: a crash between a checkpoint's sync and its anchor's rename leaves
/// the anchor one checkpoint behind. `FileLog::open` verifies the log against it and then
/// brings it up to the log's last checkpoint; a missing anchor is not recreated.
#[test]
fn open_brings_an_anchor_left_behind_by_a_crash_up_to_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let anchor_path = Anchor::path_for(&path);
    let log = FileLog::create(&path, options(4, Durability::EveryRecord)).unwrap();
    for i in 0..4 {
        log.append(event(i)).unwrap();
    }
    let behind = std::fs::read(&anchor_path).unwrap();
    for i in 4..8 {
        log.append(event(i)).unwrap();
    }
    drop(log);
    assert_eq!(Anchor::read(&anchor_path).unwrap().sequence().get(), 7);
    // The crash image: the log with both checkpoints, the anchor of the first.
    std::fs::write(&anchor_path, &behind).unwrap();
    assert_eq!(Anchor::read(&anchor_path).unwrap().sequence().get(), 3);
    let (log, report) = open_when_unlocked(&path);
    assert!(report.is_ok());
    assert_eq!(Anchor::read(&anchor_path).unwrap().sequence().get(), 7);
    drop(log);
    // A deleted anchor stays deleted (whoever deleted it is for the caller to see).
    std::fs::remove_file(&anchor_path).unwrap();
    let (log, _) = open_when_unlocked(&path);
    drop(log);
    assert!(!anchor_path.exists());
}

/// Opens the log at `path`, waiting while it is `Locked`: the other tests of this binary
/// spawn children, and a child forked while this test's handle was open holds a copy of
/// its descriptor (and so its lock) until it execs.
fn open_when_unlocked(path: &std::path::Path) -> (FileLog, hexvault_audit::Report) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match FileLog::open(path, options(4, Durability::EveryRecord)) {
            Err(hexvault_audit::Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other.unwrap(),
        }
    }
}
