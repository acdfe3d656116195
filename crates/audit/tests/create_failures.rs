//! `FileLog::create` leaves nothing behind when it fails after making the file (review round
//! 51 LOW): here its header cannot be written (a file size limit of 0 bytes, set in a child
//! process that ignores `SIGXFSZ`, so the write fails with `EFBIG`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::options;
use hexvault_audit::{Durability, FileLog};

const CHILD_ENV: &str = "HEXVAULT_AUDIT_CREATE_CHILD";

/// In the child (env var set): try to create the log and print the outcome. In a normal
/// test run this test does nothing.
#[test]
fn create_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    match FileLog::create(&path, options(4, Durability::EveryRecord)) {
        Ok(_) => println!("CREATED"),
        Err(error) => println!("FAILED {error}"),
    }
}

#[test]
fn a_create_whose_header_cannot_be_written_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 0; exec \"$0\" --exact create_child --nocapture --test-threads 1",
        ])
        .arg(&exe)
        .env(CHILD_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(
        !path.exists(),
        "a failed create left {} behind",
        path.display()
    );
    // The path is free for the next create (in this process, without the limit).
    FileLog::create(&path, options(4, Durability::EveryRecord)).unwrap();
}
