//! Peak memory of `seal`, `open`, `traverse` and `reseal` of a 64 MiB file (ADR 0073): each
//! child's peak resident set stays under 64 MiB (Linux: read from /proc).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};

const PHRASE: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const LIMIT_KIB: u64 = 64 * 1024;

/// Runs `hexvault ARGS --dir DIR` and returns its peak resident set in KiB: `VmHWM` of
/// /proc/PID/status (a high-water mark, so sampling it every millisecond until the child
/// exits misses at most the growth of its last millisecond).
fn run(dir: &std::path::Path, args: &[&str]) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(args)
        .args(["--dir", dir.to_str().unwrap()])
        .env_remove("HEXVAULT_MNEMONIC")
        .env("HEXVAULT_MNEMONIC", PHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .trim_start_matches("VmHWM:")
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap();
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    assert!(status.success(), "{args:?}");
    peak
}

#[test]
fn a_64_mib_file_is_sealed_opened_traversed_and_resealed_in_under_64_mib() {
    let temp = tempfile::tempdir().unwrap();
    let vault = temp.path().join("vault");
    common::vault::init_vault(&vault, &["p"], &["p/a", "p/b"], &[("p/a", "p/b")]);
    let input = temp.path().join("in.bin");
    let mut file = File::create(&input).unwrap();
    let chunk: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for _ in 0..64 {
        file.write_all(&chunk).unwrap();
    }
    drop(file);
    let out = temp.path().join("out.bin");
    let (input, out) = (input.to_str().unwrap(), out.to_str().unwrap());
    for args in [
        &["seal", "--cell", "p/a", "--id", "big", "--in", input][..],
        &["open", "--cell", "p/a", "--id", "big", "--out", out],
        &["open", "--cell", "p/a", "--id", "big"],
        &["traverse", "--from", "p/a", "--to", "p/b", "--id", "big"],
        &["rotate", "--cell", "p/b"],
        &["reseal", "--cell", "p/b"],
    ] {
        let peak = run(&vault, args);
        eprintln!("{:?}: peak resident set {peak} KiB", args[0]);
        // Sampled: a command too short to be sampled reports 0.
        assert!(
            peak < LIMIT_KIB,
            "{args:?} peaked at {peak} KiB, above {LIMIT_KIB} KiB"
        );
        if args.contains(&"--out") {
            assert!(std::fs::read(out).unwrap() == std::fs::read(input).unwrap());
            // 64 MiB less on disk for the steps that follow (CI machines can be short of it).
            std::fs::remove_file(out).unwrap();
        }
    }
}
