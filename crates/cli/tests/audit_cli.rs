//! End-to-end tests of `hexvault audit verify` and `hexvault audit show`: keyed and
//! public-key verification, strict by default (cut, torn or unanchored tail is exit 1 with
//! the records at risk), `--forensic`, `--anchor`, `--min-sequence`, the trusted key, and
//! readable output (RFC 3339 timestamps, the missing path named).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;

use common::*;

/// The JSON report of a command that exits 1.
fn failed_json(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Writes a 10-record audit log under the keys of the Trezor phrase with passphrase "TREZOR",
/// as the facade derives them, and returns its path.
fn trezor_audit_log(dir: &std::path::Path) -> std::path::PathBuf {
    use hexvault::audit::{AuditLog, Event, EventKind, FileLog, LogOptions};
    let seed = hexvault::mnemonic::Mnemonic::parse(TREZOR_PHRASE)
        .unwrap()
        .to_seed("TREZOR");
    let path = dir.join("audit.log");
    let log = FileLog::create(
        &path,
        LogOptions::keyed(&hexvault::keys::audit_chain_key(&seed).unwrap())
            .signing_key(hexvault::keys::audit_signer(&seed).unwrap())
            .checkpoint_every(4),
    )
    .unwrap();
    for _ in 0..10 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    log.close().unwrap();
    path
}

#[test]
fn audit_verify_checks_a_log_with_the_phrase_or_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path());
    let log_arg = log.to_str().unwrap();
    let env = [("HEXVAULT_MNEMONIC", TREZOR_PHRASE), ("PASS", "TREZOR")];

    let keyed = hexvault(
        &[
            "audit",
            "verify",
            log_arg,
            "--passphrase-env",
            "PASS",
            "--json",
        ],
        "",
        &env,
    );
    let report = json_of(&keyed);
    assert_eq!(report["ok"], true);
    assert_eq!(report["mode"], "keyed");
    assert_eq!(report["records"], 10);
    assert_eq!(report["unanchored_records"], 0);

    // The public key as `hexvault derive` prints it (SLIP-0010 form, 00 prefix).
    let derived = hexvault(
        &[
            "derive",
            "--curve",
            "ed25519",
            "--path",
            "m/74'/2'/2'/0'",
            "--passphrase-env",
            "PASS",
            "--json",
        ],
        "",
        &env,
    );
    let public_key = json_of(&derived)["public_key"].as_str().unwrap().to_owned();
    let public = hexvault(
        &[
            "audit",
            "verify",
            log_arg,
            "--public-key",
            &public_key,
            "--json",
        ],
        "",
        &[],
    );
    assert_eq!(json_of(&public)["ok"], true);
    assert_eq!(json_of(&public)["mode"], "public-key");

    // Another passphrase is another audit key: refused, not verified.
    let wrong = hexvault(
        &["audit", "verify", log_arg],
        "",
        &[("HEXVAULT_MNEMONIC", TREZOR_PHRASE)],
    );
    assert_eq!(wrong.status.code(), Some(1));

    // A changed byte near the end is reported with its sequence number, exit 1.
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() - 60;
    bytes[at] ^= 0x04;
    std::fs::write(&log, &bytes).unwrap();
    let damaged = hexvault(
        &[
            "audit",
            "verify",
            log_arg,
            "--passphrase-env",
            "PASS",
            "--json",
        ],
        "",
        &env,
    );
    assert_eq!(damaged.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&damaged.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["failure_sequence"].as_u64().is_some(), "{report}");
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert!(stderr.contains("damaged at sequence"), "{stderr}");

    let bad_key = hexvault(
        &["audit", "verify", log_arg, "--public-key", "abcd"],
        "",
        &[],
    );
    assert_eq!(bad_key.status.code(), Some(2));
}

#[test]
fn audit_show_prints_every_entry_as_text_or_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path());
    let log_arg = log.to_str().unwrap();

    let text = hexvault(&["audit", "show", log_arg], "", &[]);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = stdout_of(&text);
    assert!(text.contains("UNVERIFIED"));
    assert_eq!(text.matches("traverse").count(), 10);

    let json = hexvault(&["audit", "show", log_arg, "--json"], "", &[]);
    assert!(json.status.success());
    let lines: Vec<Value> = stdout_of(&json)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let records: Vec<&Value> = lines.iter().filter(|l| l["type"] == "record").collect();
    assert_eq!(records.len(), 10);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["sequence"], i);
        assert_eq!(record["kind"], "traverse");
        assert_eq!(record["outcome"], "success");
        assert_eq!(record["chain"].as_str().unwrap().len(), 64);
    }
    // Checkpoints every 4 records and one on close.
    assert!(lines.iter().filter(|l| l["type"] == "checkpoint").count() >= 2);

    let missing = hexvault(&["audit", "show", "/nonexistent/audit.log"], "", &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr_of(&missing).contains("/nonexistent/audit.log"),
        "{}",
        stderr_of(&missing)
    );
    let not_a_log = dir.path().join("not-a-log");
    std::fs::write(&not_a_log, b"hello").unwrap();
    let refused = hexvault(&["audit", "show", not_a_log.to_str().unwrap()], "", &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
}

fn verify_public(log: &Path, extra: &[&str]) -> Output {
    let key = trezor_public_key();
    let mut args = vec![
        "audit",
        "verify",
        log.to_str().unwrap(),
        "--public-key",
        &key,
        "--json",
    ];
    args.extend_from_slice(extra);
    hexvault(&args, "", &[])
}

/// A cut right after a checkpoint: the file alone looks complete, the anchor (found beside
/// the log, or given with --anchor) and --min-sequence report the records missing.
#[test]
fn audit_verify_reports_a_cut_after_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path());
    let anchor = PathBuf::from(format!("{}.anchor", log.display()));
    assert!(anchor.exists(), "the writer keeps an anchor beside the log");
    let bytes = std::fs::read(&log).unwrap();
    // Checkpoints after 3, 7 and (on close) 9: cut after the checkpoint over 7.
    let cps: Vec<_> = frames(&bytes).into_iter().filter(|f| f.2).collect();
    assert_eq!(cps.len(), 3);
    std::fs::write(&log, &bytes[..cps[1].1]).unwrap();

    let report = failed_json(&verify_public(&log, &[]));
    assert_eq!(report["ok"], false);
    assert_eq!(report["missing_records"], 2);
    assert_eq!(report["records"], 8);
    assert_eq!(report["anchor"], anchor.to_str().unwrap());
    let text = verify_public(&log, &[]);
    let stderr = stderr_of(&text);
    assert!(stderr.contains("2 records missing"), "{stderr}");

    // The anchor moved elsewhere, given explicitly.
    let kept = dir.path().join("kept.anchor");
    std::fs::rename(&anchor, &kept).unwrap();
    let report = failed_json(&verify_public(&log, &["--anchor", kept.to_str().unwrap()]));
    assert_eq!(report["missing_records"], 2);
    // Without any anchor the cut is invisible ...
    let report = json_of(&verify_public(&log, &[]));
    assert_eq!(
        (report["ok"].clone(), report["records"].clone()),
        (Value::Bool(true), Value::from(8))
    );
    // ... unless the operator knows how far the log went.
    let report = failed_json(&verify_public(&log, &["--min-sequence", "9"]));
    assert_eq!(report["missing_records"], 2);
    // --forensic reads it without failing, and still says what is missing.
    let report = json_of(&verify_public(
        &log,
        &["--anchor", kept.to_str().unwrap(), "--forensic"],
    ));
    assert_eq!(report["missing_records"], 2);
}

/// Strict by default: records after the last checkpoint and a torn final frame are exit 1
/// with the records at risk; --forensic reads such a log with exit 0.
#[test]
fn audit_verify_is_strict_about_unanchored_and_torn_tails() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path());
    std::fs::remove_file(format!("{}.anchor", log.display())).unwrap();
    let bytes = std::fs::read(&log).unwrap();
    let f = frames(&bytes);
    // Drop the final checkpoint (over 9): records 8 and 9 follow the checkpoint over 7.
    let last = f[f.len() - 1];
    assert!(last.2);
    std::fs::write(&log, &bytes[..last.0]).unwrap();
    let out = verify_public(&log, &[]);
    let report = failed_json(&out);
    assert_eq!(report["unanchored_records"], 2);
    assert!(
        stderr_of(&out).contains("2 records after the last checkpoint"),
        "{}",
        stderr_of(&out)
    );
    let report = json_of(&verify_public(&log, &["--forensic"]));
    assert_eq!(report["unanchored_records"], 2);
    // The hidden legacy flag keeps the strict meaning.
    assert_eq!(
        verify_public(&log, &["--require-anchored-tail"])
            .status
            .code(),
        Some(1)
    );

    // A torn final frame: the complete log plus half a frame.
    let mut torn = bytes.clone();
    torn.extend_from_slice(&bytes[f[0].0..f[0].0 + 20]);
    std::fs::write(&log, &torn).unwrap();
    let out = verify_public(&log, &[]);
    let report = failed_json(&out);
    assert_eq!(report["torn_tail_len"], 20);
    assert!(
        stderr_of(&out).contains("torn final frame"),
        "{}",
        stderr_of(&out)
    );
    let report = json_of(&verify_public(&log, &["--forensic"]));
    assert_eq!(report["torn_tail_len"], 20);
}

/// The trusted key comes from the operator: a log whose header names another key is
/// refused, whatever that key signed.
#[test]
fn audit_verify_never_trusts_the_key_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path());
    let other = hexvault::audit::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let out = hexvault(
        &[
            "audit",
            "verify",
            log.to_str().unwrap(),
            "--public-key",
            &hex::encode(other.as_bytes()),
        ],
        "",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("not the trusted key"),
        "{}",
        stderr_of(&out)
    );
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../audit/tests/data")
        .join(name)
}

/// The audit crate's golden logs: format 2 with its anchor verifies with the public key of
/// seed 17…17 (32-byte form), format 1 says what public-key verification cannot check.
#[test]
fn audit_verify_and_show_read_the_golden_logs() {
    let public = hexvault::audit::SigningKey::from_bytes(&[0x17; 32]).verifying_key();
    let key = hex::encode(public.as_bytes());
    let v2 = golden("golden-v2.log");
    let report = json_of(&hexvault(
        &[
            "audit",
            "verify",
            v2.to_str().unwrap(),
            "--public-key",
            &key,
            "--json",
        ],
        "",
        &[],
    ));
    assert_eq!(report["ok"], true);
    assert_eq!(report["format_version"], 2);
    assert_eq!(report["records"], 7);
    assert!(
        report["anchor"]
            .as_str()
            .unwrap()
            .ends_with("golden-v2.log.anchor")
    );
    let v1 = golden("golden-v1.log");
    let report = json_of(&hexvault(
        &[
            "audit",
            "verify",
            v1.to_str().unwrap(),
            "--public-key",
            &key,
            "--json",
        ],
        "",
        &[],
    ));
    assert_eq!(report["format_version"], 1);
    assert!(
        report["level"].as_str().unwrap().contains("v1 log"),
        "{report}"
    );
    // In text, a warning says what was not checked, also under --quiet (review round 53).
    let text = hexvault(
        &[
            "audit",
            "verify",
            v1.to_str().unwrap(),
            "--public-key",
            &key,
            "--quiet",
        ],
        "",
        &[],
    );
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(
        stderr.contains("hexvault: warning: a format-1 log checked with the public key only"),
        "{stderr}"
    );

    // Timestamps are RFC 3339 (UTC, nanoseconds), in text and JSON.
    let text = stdout_of(&hexvault(&["audit", "show", v2.to_str().unwrap()], "", &[]));
    assert!(text.contains("2026-11-30T04:37:26.123456789Z"), "{text}");
    assert!(text.contains("2026-11-30T04:37:32.123456789Z"), "{text}");
    let json = stdout_of(&hexvault(
        &["audit", "show", v2.to_str().unwrap(), "--json"],
        "",
        &[],
    ));
    let first: Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["timestamp"], "2026-11-30T04:37:26.123456789Z");
    assert_eq!(first["timestamp_unix_nanos"], 1_796_013_446_123_456_789u64);
}

/// `--quiet` drops the note about a missing anchor, and nothing else: the report still
/// prints, and failures still print their error.
#[test]
fn quiet_silences_notes_but_not_results_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = trezor_audit_log(dir.path());
    std::fs::remove_file(format!("{}.anchor", log.display())).unwrap();
    let key = trezor_public_key();
    let args = [
        "audit",
        "verify",
        log.to_str().unwrap(),
        "--public-key",
        &key,
    ];
    let loud = hexvault(&args, "", &[]);
    assert!(loud.status.success(), "{}", stderr_of(&loud));
    assert!(
        stderr_of(&loud).contains("hexvault: note: no anchor"),
        "{}",
        stderr_of(&loud)
    );
    let mut quiet_args = vec!["--quiet"];
    quiet_args.extend_from_slice(&args);
    let quiet = hexvault(&quiet_args, "", &[]);
    assert!(quiet.status.success());
    assert_eq!(stderr_of(&quiet), "", "a note printed under --quiet");
    assert_eq!(
        stdout_of(&quiet),
        stdout_of(&loud),
        "--quiet changed the result"
    );
    let missing = dir.path().join("missing.log");
    let failed = hexvault(
        &[
            "-q",
            "audit",
            "verify",
            missing.to_str().unwrap(),
            "--public-key",
            &key,
        ],
        "",
        &[],
    );
    assert_eq!(failed.status.code(), Some(1));
    assert!(stderr_of(&failed).contains("hexvault: error:"));
}
