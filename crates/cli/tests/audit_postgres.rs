//! End-to-end tests of `hexvault audit verify|show|export-anchor` on a log kept in
//! PostgreSQL: the same verifier and reporting as for a file, the connection string never
//! as an argument when it carries a password, tampering through SQL reported with its
//! sequence number, the exported anchor catching a cut.
//!
//! They need a server: `cargo xtask postgres` starts a throwaway cluster and runs them
//! with `--ignored`. Without `HEXVAULT_TEST_POSTGRES_URL` they fail (never skip).
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hexvault::audit::{AuditLog, Event, EventKind, LogOptions};
use hexvault_audit_postgres::PgLog;
use hexvault_audit_postgres::postgres::{Client, NoTls};

mod common;

use common::*;

const URL_VAR: &str = "HEXVAULT_TEST_POSTGRES_URL";

fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set: these tests need a PostgreSQL server; run them with \
             `cargo xtask postgres`, which starts a throwaway cluster and sets it"
        )
    })
}

/// A 10-record log under the keys of the Trezor phrase with passphrase "TREZOR" (as the
/// facade derives them), checkpoint every 4 and one on demand at the end.
fn trezor_pg_log() -> PgLog {
    let seed = hexvault::mnemonic::Mnemonic::parse(TREZOR_PHRASE)
        .unwrap()
        .to_seed("TREZOR");
    let log = PgLog::create(
        Client::connect(&url(), NoTls).unwrap(),
        LogOptions::keyed(&hexvault::keys::audit_chain_key(&seed).unwrap())
            .signing_key(hexvault::keys::audit_signer(&seed).unwrap())
            .checkpoint_every(4),
    )
    .unwrap();
    for _ in 0..10 {
        log.append(Event::new(EventKind::Traverse)).unwrap();
    }
    log.checkpoint().unwrap();
    log
}

fn keyed_env() -> Vec<(&'static str, String)> {
    vec![
        ("HEXVAULT_MNEMONIC", TREZOR_PHRASE.to_owned()),
        ("PASS", "TREZOR".to_owned()),
        ("AUDIT_DB", url()),
    ]
}

fn run(args: &[&str], env: &[(&'static str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    hexvault(args, "", &env)
}

/// The connection string from the variable `AUDIT_DB` of [`keyed_env`].
const FROM_ENV: [&str; 2] = ["--postgres-url-env", "AUDIT_DB"];

/// `hexvault audit verify` of log `id` in the database that `source` (a connection option
/// and its value) names, under the keys of the Trezor phrase (passphrase from `PASS`, as
/// [`keyed_env`] sets it), with `extra` options.
fn keyed_verify(
    source: [&str; 2],
    id: &str,
    extra: &[&str],
    env: &[(&'static str, String)],
) -> std::process::Output {
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(&source);
    args.extend_from_slice(&["--log-id", id, "--passphrase-env", "PASS"]);
    args.extend_from_slice(extra);
    run(&args, env)
}

#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn verify_and_show_a_log_in_postgres() {
    let log = trezor_pg_log();
    let id = log.log_id().to_string();
    let env = keyed_env();
    let verify = || keyed_verify(FROM_ENV, &id, &["--json"], &env);
    let report = json_of(&verify());
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["mode"], "keyed");
    assert_eq!(report["records"], 10);
    assert_eq!(report["checkpoints"], 3);
    assert_eq!(report["log_id"], id.as_str());

    // The connection string from a file, and as an argument when it has no password.
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("url");
    std::fs::write(&url_file, format!("{}\n", url())).unwrap();
    let from_file = keyed_verify(
        ["--postgres-url-file", url_file.to_str().unwrap()],
        &id,
        &["--json"],
        &env,
    );
    assert_eq!(json_of(&from_file)["ok"], true);
    let url = url();
    let as_argument = keyed_verify(["--postgres", &url], &id, &["--json"], &env);
    assert_eq!(json_of(&as_argument)["ok"], true);

    // show: 10 records and 3 checkpoints, one JSON object per line.
    let show = run(
        &[
            "audit",
            "show",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            &id,
            "--json",
        ],
        &env,
    );
    assert!(show.status.success(), "{}", stderr_of(&show));
    let lines: Vec<serde_json::Value> = stdout_of(&show)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|l| l["type"] == "record").count(), 10);
    assert_eq!(
        lines.iter().filter(|l| l["type"] == "checkpoint").count(),
        3
    );
    let text = run(
        &[
            "audit",
            "show",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            &id,
        ],
        &env,
    );
    assert!(
        stdout_of(&text).contains("PostgreSQL"),
        "{}",
        stdout_of(&text)
    );
    assert!(stdout_of(&text).contains("UNVERIFIED"));

    // A record changed through SQL: exit 1, named by its sequence number.
    let mut client = Client::connect(&url, NoTls).unwrap();
    client
        .execute(
            "UPDATE hexvault_audit_records SET record = set_byte(record, 11, get_byte(record, 11) # 255) \
             WHERE log_id = $1 AND seq = 6",
            &[&log.log_id().as_bytes().as_slice()],
        )
        .unwrap();
    let damaged = verify();
    assert_eq!(damaged.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&damaged.stdout).unwrap();
    assert_eq!(report["failure_sequence"], 6);
    assert!(
        stderr_of(&damaged).contains("damaged at sequence 6"),
        "{}",
        stderr_of(&damaged)
    );
}

#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn connection_strings_with_passwords_stay_off_the_command_line() {
    let id = "00112233445566778899aabbccddeeff";
    let refused = run(
        &[
            "audit",
            "verify",
            "--postgres",
            "host=/tmp user=x password=hunter2 dbname=y",
            "--log-id",
            id,
            "--public-key",
            &"11".repeat(32),
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2));
    let err = stderr_of(&refused);
    assert!(err.contains("--postgres-url-env"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let url_refused = run(
        &[
            "audit",
            "show",
            "--postgres",
            "postgresql://u:hunter2@localhost/db",
            "--log-id",
            id,
        ],
        &[],
    );
    assert_eq!(url_refused.status.code(), Some(2));
    assert!(!stderr_of(&url_refused).contains("hunter2"));
    // --log-id is required, and checked.
    let env = keyed_env();
    let no_id = run(&["audit", "show", "--postgres-url-env", "AUDIT_DB"], &env);
    assert_eq!(no_id.status.code(), Some(2), "{}", stderr_of(&no_id));
    let bad_id = run(
        &[
            "audit",
            "show",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            "xyz",
        ],
        &env,
    );
    assert_eq!(bad_id.status.code(), Some(2));
    // A log that is not there (in a database that holds the tables).
    hexvault_audit_postgres::migrate(&mut Client::connect(&url(), NoTls).unwrap()).unwrap();
    let unknown = run(
        &[
            "audit",
            "show",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            id,
        ],
        &env,
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr_of(&unknown).contains("no audit log"),
        "{}",
        stderr_of(&unknown)
    );
    // A file and a database at once: refused.
    let both = run(
        &[
            "audit",
            "show",
            "some.log",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            id,
        ],
        &env,
    );
    assert_eq!(both.status.code(), Some(2));
}

#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn exported_anchor_catches_a_cut() {
    let log = trezor_pg_log();
    let id = log.log_id().to_string();
    let env = keyed_env();
    let dir = tempfile::tempdir().unwrap();
    let anchor = dir.path().join("audit.anchor");
    let anchor_arg = anchor.to_str().unwrap();
    let export = run(
        &[
            "audit",
            "export-anchor",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            &id,
            "--out",
            anchor_arg,
            "--passphrase-env",
            "PASS",
            "--json",
        ],
        &env,
    );
    assert_eq!(json_of(&export)["sequence"], 9);
    // Cut the last 3 records, their checkpoints and fix the head row to match.
    let mut client = Client::connect(&url(), NoTls).unwrap();
    let raw = log.log_id().as_bytes().to_vec();
    let stored = log.read().unwrap();
    let (entries, _) = stored.decoded().unwrap();
    let chain6 = entries
        .iter()
        .find_map(|e| match e {
            hexvault::audit::LogEntry::Record { record, chain } if record.sequence.get() == 6 => {
                Some(*chain)
            }
            _ => None,
        })
        .unwrap();
    client
        .execute(
            "DELETE FROM hexvault_audit_records WHERE log_id = $1 AND seq >= 7",
            &[&raw],
        )
        .unwrap();
    client
        .execute(
            "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq >= 7",
            &[&raw],
        )
        .unwrap();
    client
        .execute(
            "UPDATE hexvault_audit_logs SET next_seq = 7, head = $2 WHERE log_id = $1",
            &[&raw, &chain6.as_bytes().as_slice()],
        )
        .unwrap();
    let verify = keyed_verify(FROM_ENV, &id, &["--anchor", anchor_arg, "--json"], &env);
    assert_eq!(verify.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["missing_records"], 3, "{report}");
    assert!(stderr_of(&verify).contains("cut short: 3 records missing from sequence 7"));
    // Exporting again would replace the anchor with an older one: refused.
    let kept = std::fs::read(&anchor).unwrap();
    client
        .execute(
            "INSERT INTO hexvault_audit_checkpoints SELECT log_id, 3, checkpoint FROM \
             hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 3 ON CONFLICT DO NOTHING",
            &[&raw],
        )
        .unwrap();
    let again = run(
        &[
            "audit",
            "export-anchor",
            "--postgres-url-env",
            "AUDIT_DB",
            "--log-id",
            &id,
            "--out",
            anchor_arg,
            "--passphrase-env",
            "PASS",
        ],
        &env,
    );
    assert_eq!(again.status.code(), Some(1));
    // The log is verified against the kept anchor before anything is exported: the cut
    // behind it fails the export, and the kept anchor stays.
    assert!(
        stderr_of(&again).contains("does not verify"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(
        std::fs::read(&anchor).unwrap(),
        kept,
        "the kept anchor was replaced"
    );
}

/// Someone with database access inserts a checkpoint row that names another log (or carries
/// a forged signature) with a higher sequence, hoping the next export overwrites the good
/// anchor kept outside the database: the export verifies the log first and writes nothing.
/// An anchor file of another log is never replaced either.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn export_anchor_refuses_forged_rows_and_foreign_anchors() {
    let log = trezor_pg_log();
    let other = trezor_pg_log();
    let id = log.log_id().to_string();
    let env = keyed_env();
    let dir = tempfile::tempdir().unwrap();
    let anchor = dir.path().join("audit.anchor");
    let export = |out: &std::path::Path, id: &str| {
        run(
            &[
                "audit",
                "export-anchor",
                "--postgres-url-env",
                "AUDIT_DB",
                "--log-id",
                id,
                "--out",
                out.to_str().unwrap(),
                "--passphrase-env",
                "PASS",
            ],
            &env,
        )
    };
    assert!(export(&anchor, &id).status.success());
    let kept = std::fs::read(&anchor).unwrap();
    // A checkpoint row of the other log, copied into this log at a higher sequence.
    let mut client = Client::connect(&url(), NoTls).unwrap();
    let rows = client
        .execute(
            "INSERT INTO hexvault_audit_checkpoints (log_id, seq, checkpoint) \
             SELECT $1, 50, checkpoint FROM hexvault_audit_checkpoints \
             WHERE log_id = $2 ORDER BY seq DESC LIMIT 1",
            &[
                &log.log_id().as_bytes().as_slice(),
                &other.log_id().as_bytes().as_slice(),
            ],
        )
        .unwrap();
    assert_eq!(rows, 1);
    let forged = export(&anchor, &id);
    assert_eq!(forged.status.code(), Some(1), "{}", stderr_of(&forged));
    assert!(
        stderr_of(&forged).contains("does not verify"),
        "{}",
        stderr_of(&forged)
    );
    assert_eq!(
        std::fs::read(&anchor).unwrap(),
        kept,
        "the kept anchor was replaced"
    );
    // The other log's export never replaces this log's anchor file.
    let foreign = export(&anchor, &other.log_id().to_string());
    assert_eq!(foreign.status.code(), Some(1));
    assert!(
        stderr_of(&foreign).contains("another log"),
        "{}",
        stderr_of(&foreign)
    );
    assert_eq!(std::fs::read(&anchor).unwrap(), kept);
}

/// Review round 10: an interval checkpoint row deleted together with the head row's interval
/// set to 0 verified clean, since the verifier took the interval from the row. With
/// `--checkpoint-every`, the interval the writer was given, the edited row is refused (exit
/// 1, naming both intervals); the same log verifies with the right interval before the edit.
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn checkpoint_every_refuses_a_head_row_that_names_another_interval() {
    let log = trezor_pg_log();
    let id = log.log_id().to_string();
    let env = keyed_env();
    let verify = |every: &str| keyed_verify(FROM_ENV, &id, &["--checkpoint-every", every], &env);
    assert!(verify("4").status.success(), "{}", stderr_of(&verify("4")));
    let wrong = verify("5");
    assert_eq!(wrong.status.code(), Some(1));
    let idb = log.log_id().as_bytes().to_vec();
    let mut db = Client::connect(&url(), NoTls).unwrap();
    db.execute(
        "DELETE FROM hexvault_audit_checkpoints WHERE log_id = $1 AND seq = 3",
        &[&idb],
    )
    .unwrap();
    db.execute(
        "UPDATE hexvault_audit_logs SET checkpoint_every = 0 WHERE log_id = $1",
        &[&idb],
    )
    .unwrap();
    let refused = verify("4");
    assert_eq!(refused.status.code(), Some(1), "{}", stderr_of(&refused));
    let err = stderr_of(&refused);
    assert!(err.contains("interval") && err.contains('4'), "{err}");
}

/// Review round 53: the `chain` column of row 5 changed. Keyed verification names 5;
/// `--public-key` verification, which checks a stored chain value only through the next
/// record's link, charges the first record after the previous checkpoint (4), never the
/// unchanged record 6 (docs/formats.md, "Damage is charged").
#[test]
#[ignore = "needs PostgreSQL: run through `cargo xtask postgres`"]
fn public_key_verify_charges_an_edited_chain_row_no_later_than_its_row() {
    let log = trezor_pg_log();
    let id = log.log_id().to_string();
    let raw = log.log_id().as_bytes().to_vec();
    Client::connect(&url(), NoTls)
        .unwrap()
        .execute(
            "UPDATE hexvault_audit_records SET chain = set_byte(chain, 31, get_byte(chain, 31) # 1) \
             WHERE log_id = $1 AND seq = 5",
            &[&raw],
        )
        .unwrap();
    let env = keyed_env();
    let keyed = keyed_verify(FROM_ENV, &id, &["--json"], &env);
    assert_eq!(keyed.status.code(), Some(1));
    let keyed: serde_json::Value = serde_json::from_slice(&keyed.stdout).unwrap();
    assert_eq!(keyed["failure_sequence"], 5, "{keyed}");
    let seed = hexvault::mnemonic::Mnemonic::parse(TREZOR_PHRASE)
        .unwrap()
        .to_seed("TREZOR");
    let public_key: String = hexvault::keys::audit_signer(&seed)
        .unwrap()
        .verifying_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut args = vec!["audit", "verify"];
    args.extend_from_slice(&FROM_ENV);
    args.extend_from_slice(&["--log-id", &id, "--public-key", &public_key, "--json"]);
    let public = run(&args, &env);
    assert_eq!(public.status.code(), Some(1));
    let public: serde_json::Value = serde_json::from_slice(&public.stdout).unwrap();
    assert_eq!(public["failure_sequence"], 4, "{public}");
    assert_eq!(public["records"], 4, "{public}");
}
