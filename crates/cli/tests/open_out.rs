//! `open --out FILE` (and every `--out` of a command that writes a result): the file appears
//! only once complete, an interruption leaves no plaintext, and a FILE that is a link, a
//! device or a FIFO is refused before anything is decrypted.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::vault::Vault;

/// An interrupted `open --out FILE` of a large object (Ctrl-C, SIGTERM, kill -9, an OOM
/// kill) leaves no file of plaintext behind: the output is written to an unnamed file
/// (O_TMPFILE) that gets FILE's name only once complete and durable.
#[test]
fn an_interrupted_open_out_leaves_no_plaintext_behind() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let v = Vault::new();
    let big: Vec<u8> = (0..(48 * 1024 * 1024)).map(|i| (i % 251) as u8).collect();
    v.ok(&["seal", "--cell", "billing/inbox", "--id", "big"], &big);
    let out_dir = v.temp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hexvault"))
        .args(["open", "--cell", "billing/inbox", "--id", "big", "--out"])
        .arg(out_dir.join("plain.bin"))
        .arg("--dir")
        .arg(&v.dir)
        .env("HEXVAULT_MNEMONIC", common::TREZOR_PHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt it once it has written some plaintext (into a file of `out`, named or not:
    // the process's descriptors show it), and before it finished.
    let start = Instant::now();
    let mut written = 0;
    while written == 0 && start.elapsed() < Duration::from_secs(60) {
        if let Ok(fds) = std::fs::read_dir(format!("/proc/{}/fd", child.id())) {
            for fd in fds.flatten() {
                let target = std::fs::read_link(fd.path()).unwrap_or_default();
                if target.starts_with(&out_dir) {
                    written = std::fs::metadata(fd.path()).map_or(0, |m| m.len());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        written > 0 && written < big.len() as u64 && !status.success(),
        "interrupted mid-write: {written} bytes written, {status}"
    );
    let left: Vec<(String, u64)> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    assert!(
        left.is_empty(),
        "killed after {written} bytes: left behind {left:?}"
    );
    // The next run writes the whole file.
    v.ok(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "big",
            "--out",
            out_dir.join("plain.bin").to_str().unwrap(),
        ],
        b"",
    );
    assert!(std::fs::read(out_dir.join("plain.bin")).unwrap() == big);
}

/// `--out FILE` that is a link to a device (`--out /dev/stdout` with `--json`,
/// `/dev/fd/1`, `/dev/tty`) is refused before anything is decrypted: the link is never
/// replaced by a regular file holding the plaintext. Reproduced harmlessly with a link to
/// /dev/null in a temporary directory.
#[test]
fn open_out_through_a_link_to_a_device_never_replaces_the_link_with_plaintext() {
    let v = Vault::new();
    v.ok(
        &["seal", "--cell", "billing/inbox", "--id", "x"],
        b"plaintext",
    );
    let link = v.temp.path().join("stdout-link");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    let refused = v.run(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "x",
            "--out",
            link.to_str().unwrap(),
            "--json",
        ],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("symbolic link"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link to /dev/null was replaced by a regular file holding {:?}",
        String::from_utf8_lossy(&std::fs::read(&link).unwrap())
    );
}

/// `--out` over an existing regular file replaces it (mode 0600) and leaves nothing else in
/// the directory; a FIFO or a directory given as FILE is refused like a link.
#[test]
fn open_out_replaces_a_regular_file_and_refuses_a_fifo_or_a_directory() {
    use std::os::unix::fs::PermissionsExt;
    let v = Vault::new();
    let big: Vec<u8> = (0..(1024 * 1024 + 3)).map(|i| (i % 241) as u8).collect();
    v.ok(
        &["seal", "--cell", "billing/inbox", "--id", "small"],
        b"small plaintext",
    );
    v.ok(&["seal", "--cell", "billing/inbox", "--id", "big"], &big);
    let out_dir = v.temp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let file = out_dir.join("plain.bin");
    for (id, expected) in [
        ("small", &b"small plaintext"[..]),
        ("big", &big),
        ("small", b"small plaintext"),
    ] {
        std::fs::write(&file, b"old contents").unwrap();
        v.ok(
            &[
                "open",
                "--cell",
                "billing/inbox",
                "--id",
                id,
                "--out",
                file.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(std::fs::read(&file).unwrap(), expected);
        let meta = std::fs::symlink_metadata(&file).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["plain.bin"], "nothing else is left");
    }
    let fifo = out_dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for target in [&fifo, &out_dir] {
        let refused = v.run(
            &[
                "open",
                "--cell",
                "billing/inbox",
                "--id",
                "small",
                "--out",
                target.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(refused.status.code(), Some(2), "{target:?}");
    }
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(&fifo).unwrap().file_type()
    ));
}

/// The `--out` link refusal is one sentence, with no run of spaces from a lost `\` line
/// continuation in its literal (review round 8, R8-5).
#[test]
fn the_out_link_refusal_has_no_run_of_spaces() {
    let v = Vault::new();
    v.ok(
        &["seal", "--cell", "billing/inbox", "--id", "x"],
        b"plaintext",
    );
    let target = v.temp.path().join("target");
    std::fs::write(&target, b"").unwrap();
    let link = v.temp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let refused = v.run(
        &[
            "open",
            "--cell",
            "billing/inbox",
            "--id",
            "x",
            "--out",
            link.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2));
    let text = common::stderr_of(&refused);
    assert!(text.contains("symbolic link"), "{text}");
    assert!(!text.contains("  "), "run of spaces in: {text}");
}

/// `decrypt --out LINK` and `envelope unpack --out LINK` refuse the link before decrypting
/// or unpacking (review round 8, R8-7): input that would fail to authenticate or to unpack
/// (exit 1 once the work ran) gives the usage error of the link (exit 2), and the link stays.
#[test]
fn decrypt_refuses_an_out_link_before_decrypting() {
    use common::{TREZOR_PHRASE, hexvault_bytes, stderr_of};
    let temp = tempfile::tempdir().unwrap();
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE)];
    let sealed = hexvault_bytes(
        &["encrypt", "--aad", "service=billing"],
        b"postgres://app:s3cret@db/app",
        &env,
    );
    assert!(sealed.status.success(), "{}", stderr_of(&sealed));
    let target = temp.path().join("target");
    std::fs::write(&target, b"").unwrap();
    let link = temp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = link.to_str().unwrap();
    // The wrong context: the decryption would fail (exit 1) if it ran first.
    let refused = hexvault_bytes(
        &["decrypt", "--aad", "service=reporting", "--out", out],
        &sealed.stdout,
        &env,
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "decrypt ran before the --out link was refused: {}",
        stderr_of(&refused)
    );
    assert!(stderr_of(&refused).contains("symbolic link"));
    // Not an envelope: unpacking would fail (exit 1) if it ran first.
    let refused = hexvault_bytes(
        &["envelope", "unpack", "--out", out],
        b"not an envelope",
        &[],
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "envelope unpack ran before the --out link was refused: {}",
        stderr_of(&refused)
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(&target).unwrap().is_empty());
}
