//! Review round 7 findings in `hexvault-audit`: each test fails today and is ignored until
//! the lead fixes the finding it names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hexvault_audit::{
    Anchor, AuditKey, AuditLog, Damage, Durability, Event, EventKind, FileLog, LogOptions,
    SigningKey, Verifier,
};

/// Finding R7-6. `Appended::checkpoint` (crates/audit/src/log.rs:53) is documented as "the
/// checkpoint this append triggered, if any (worth shipping off-host)", and an anchor
/// shipped off-host is what a verifier checks a cut against. Under
/// `Durability::GroupCommit` the append returns that checkpoint while it and the records it
/// covers are only in the write buffer (the anchor FILE is rightly written only after the
/// sync, "never ahead of the durable log"). A caller who ships it as told and then crashes
/// has an off-host anchor ahead of the durable log: the honest log is reported as cut
/// (`Truncated`), indistinguishable from an attack. Either return the checkpoint only once
/// it is durable, or document that it may be shipped only after `flush()`.
#[test]
#[ignore = "review7 finding"]
fn a_checkpoint_returned_under_group_commit_is_not_yet_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.log");
    let log = FileLog::create(
        &path,
        LogOptions::keyed(&AuditKey::from_bytes([7; 32]))
            .signing_seed([9; 32])
            .checkpoint_every(2)
            .durability(Durability::GroupCommit {
                max_records: 100,
                max_delay: Duration::ZERO,
            }),
    )
    .unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    let appended = log.append(Event::new(EventKind::Seal)).unwrap();
    // "Worth shipping off-host": the caller ships it.
    let shipped = Anchor::new(appended.checkpoint.expect("interval checkpoint")).unwrap();
    // The process dies before the group is synced (no destructor runs).
    std::mem::forget(log);
    let public = SigningKey::from_bytes(&[9; 32]).verifying_key();
    let report = Verifier::keyed(&AuditKey::from_bytes([7; 32]))
        .with_public_key(public)
        .with_anchor(shipped)
        .verify_file(&path)
        .unwrap();
    assert!(
        !matches!(
            report.failure.map(|f| f.reason),
            Some(Damage::Truncated { .. })
        ),
        "an honest crash is reported as a cut against the shipped checkpoint: {report}"
    );
}

/// Finding R7-7. SECURITY.md considers "an attacker who can write the log's directory"
/// (audit row). `Anchor::write_atomic` (crates/audit/src/anchor.rs:149-153) opens
/// `<log>.anchor.tmp` with `create(true).truncate(true)`, which follows a symbolic link that
/// such an attacker planted there: every checkpoint then truncates and overwrites a file of
/// the attacker's choosing that the vault process may write (a phrase file, a key, a
/// config), and the rename moves the link into place as `<log>.anchor`. The facade's own
/// `write_anchor` (crates/hexvault/src/vault.rs:317, `File::create`) does the same. Open the
/// temporary file with `create_new` (O_EXCL, refuses a link) after removing a leftover.
#[cfg(unix)]
#[test]
#[ignore = "review7 finding"]
fn a_planted_symlink_at_the_anchor_tmp_path_clobbers_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("phrase.txt");
    std::fs::write(&victim, b"abandon abandon ... about").unwrap();
    let path = dir.path().join("audit.log");
    std::os::unix::fs::symlink(&victim, dir.path().join("audit.log.anchor.tmp")).unwrap();
    let log = FileLog::create(
        &path,
        LogOptions::keyed(&AuditKey::from_bytes([7; 32]))
            .signing_seed([9; 32])
            .checkpoint_every(1),
    )
    .unwrap();
    // The first append signs an interval checkpoint and rewrites the anchor.
    let written = log.append(Event::new(EventKind::Seal));
    drop(log);
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"abandon abandon ... about",
        "the anchor write followed the planted link and overwrote another file (append: {:?})",
        written.map(|a| a.sequence)
    );
}
