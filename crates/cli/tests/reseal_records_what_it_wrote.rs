//! `reseal` records no rotation for a blob there is no room for (review round 55): the room
//! for an object's new blob is allocated before its rotation is recorded, so a disk without
//! it (here a file size limit) leaves no record behind; a large object's rotate record names
//! the policy, actor and session that opened its data key, as an ordinary object's does.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::stderr_of;
use common::vault::Vault;

/// The `rotate` records of the vault's audit log (`audit show --json`, one record a line).
fn rotate_records(vault: &Vault) -> Vec<String> {
    let shown = vault.ok(&["audit", "show", "--json"], b"");
    String::from_utf8_lossy(&shown.stdout)
        .lines()
        .filter(|line| line.contains("\"kind\":\"rotate\""))
        .map(str::to_owned)
        .collect()
}

/// A blob that cannot be written (here a file size limit; a full disk fails alike) fails the
/// reseal before its record: the object stays under key version 1, the log holds no rotation
/// of it, and a retry adds none either.
#[test]
fn a_reseal_whose_blob_cannot_be_written_records_no_rotation() {
    let vault = Vault::with(&["p"], &["p/a"], &[]);
    // An ordinary object (below the 1 MiB large-object threshold) larger than the limit.
    let payload = vec![0x5a_u8; 900 * 1024];
    vault.ok(&["seal", "--cell", "p/a", "--id", "obj"], &payload);
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let before = rotate_records(&vault);
    assert_eq!(before.len(), 1, "the cell rotation: {before:?}");
    let blob = vault.dir.join("objects/70/61/6f626a.blob");
    let old_blob = std::fs::read(&blob).unwrap();

    // 200 KiB: the audit log (a few KiB) grows freely, the ~900 KiB blob cannot be written.
    let out = vault.run_with_file_size_limit(200, &["reseal", "--cell", "p/a"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("reserving room for a blob"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        std::fs::read(&blob).unwrap(),
        old_blob,
        "the blob is still the v1 one"
    );

    // A retry under the same limit fails the same way.
    let again = vault.run_with_file_size_limit(200, &["reseal", "--cell", "p/a"]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr_of(&again));
    let after = rotate_records(&vault);
    assert_eq!(
        after.len(),
        before.len(),
        "a rotate record (a reseal to key version 2) without the blob it names: {:?}",
        after.last()
    );
    // Without the limit the reseal goes through, with one record.
    vault.ok(&["reseal", "--cell", "p/a"], b"");
    assert_eq!(rotate_records(&vault).len(), before.len() + 1);
    assert_ne!(std::fs::read(&blob).unwrap(), old_blob);
}

/// The records of the vault's audit log, decoded from the file (unverified: the test only
/// reads what the command wrote).
fn log_records(vault: &Vault) -> Vec<hexvault::audit::AuditRecord> {
    use hexvault::audit::{LogContents, LogEntry};
    let bytes = std::fs::read(vault.dir.join("audit.log")).unwrap();
    LogContents::parse(&bytes)
        .unwrap()
        .entries
        .into_iter()
        .filter_map(|entry| match entry {
            LogEntry::Record { record, .. } => Some(record),
            _ => None,
        })
        .collect()
}

/// docs/formats.md: "a reseal's `rotate` record also has a source, and for a layer-1 or 2 blob
/// the policy, actor and session that opened it". The command line's own record for a
/// large object (over 1 MiB, a data key and a stream) at layer 1 names the policy too.
#[test]
fn the_reseal_record_of_a_layer_one_large_object_names_the_policy_that_opened_it() {
    let mut vault = Vault::with(&["p"], &["p/a"], &[]);
    let tokens = common::token_file(vault.temp.path());
    vault.env.push((
        "HEXVAULT_TOKENS".into(),
        tokens.to_str().unwrap().to_owned(),
    ));
    vault.env.push(("TOK".into(), "tok".into()));
    let seal = |id: &str, payload: &[u8]| {
        vault.ok(
            &[
                "seal",
                "--cell",
                "p/a",
                "--id",
                id,
                "--layer",
                "1",
                "--token-env",
                "TOK",
            ],
            payload,
        );
    };
    seal("big", &vec![0x5a_u8; (1 << 20) + 100]);
    seal("small", b"a small layer-1 object");
    vault.ok(&["rotate", "--cell", "p/a"], b"");
    let before = log_records(&vault).len();
    vault.ok(&["reseal", "--cell", "p/a", "--token-env", "TOK"], b"");
    let added: Vec<_> = log_records(&vault).into_iter().skip(before).collect();
    let reseals: Vec<_> = added
        .iter()
        .filter(|r| r.event.kind == hexvault::audit::EventKind::Rotate)
        .collect();
    assert_eq!(reseals.len(), 2, "one reseal record per object: {added:?}");
    for record in reseals {
        let policy = record
            .event
            .context
            .as_ref()
            .and_then(|context| context.policy.as_ref());
        assert!(
            policy.is_some_and(|p| p.as_bytes() == b"pol"),
            "a layer-1 reseal record without the policy that opened the blob: {record:?}"
        );
    }
}
