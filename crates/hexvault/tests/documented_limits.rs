//! Limits the documents a user reads to choose the tool (docs/when-to-use.md) must name,
//! shown through the facade (review round 52: the page promised that the phrase re-creates
//! every key, and named two limits only).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::time::{Duration, SystemTime};

use common::{Fixed, PHRASE};
use hexvault::audit::Anchor;
use hexvault::cells::{
    AccessToken, CellId, Credentials, Error, Layer, ObjectId, PartitionId, Session, SessionExport,
};
use hexvault::{NoAccessTokens, Vault, VaultBuilder};

fn when_to_use() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/when-to-use.md"
    ))
    .unwrap()
}

/// The line of `doc` that starts with `prefix`.
fn line<'a>(doc: &'a str, prefix: &str) -> &'a str {
    doc.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"))
}

/// Layer-2 data does not survive its session: a vault rebuilt from the written phrase, with
/// every credential the application has and a new session, opens nothing of it (a session
/// mismatch; with the header rewritten to name the new session, an authentication failure),
/// and the recovery row of docs/when-to-use.md says so.
#[test]
fn layer_two_data_does_not_survive_its_session_as_when_to_use_says() {
    let o = ObjectId::new("payroll").unwrap();
    let token = AccessToken::new(b"t".to_vec());
    let (blob, old_id) = {
        let vault = Vault::from_mnemonic(PHRASE, "", Fixed).unwrap();
        let cell = vault
            .partition(PartitionId::new("p").unwrap())
            .cell(CellId::new("c").unwrap());
        let session = vault.start_session(Duration::from_secs(60)).unwrap();
        let creds = Credentials::none().token(&token).session(&session);
        let blob = cell.seal(&o, b"net=4200", Layer::Session, &creds).unwrap();
        (blob, *session.id())
    };
    // The operator rebuilds from the written phrase: every credential the application has,
    // a new session (the old one is gone with its process). Nothing opens the blob.
    let rebuilt = Vault::from_mnemonic(PHRASE, "", Fixed).unwrap();
    let cell = rebuilt
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let session = rebuilt.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&token).session(&session);
    let err = cell.open(&o, &blob, &creds).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Mismatch {
                field: "session",
                ..
            }
        ),
        "{err:?}"
    );
    // Even with the header rewritten to name the new session: another layer-2 key.
    let at = blob
        .windows(16)
        .position(|w| w == old_id.as_slice())
        .unwrap();
    let mut forged = blob.clone();
    forged[at..at + 16].copy_from_slice(session.id());
    let err = cell.open(&o, &forged, &creds).unwrap_err();
    assert!(matches!(err, Error::Authentication), "{err:?}");

    let doc = when_to_use();
    let row = line(&doc, "| recovery from a written backup |");
    assert!(
        row.contains("layer 2") || row.contains("layer-2") || row.contains("session"),
        "docs/when-to-use.md's recovery row no longer names layer-2 data: {row}"
    );
}

/// Whoever deletes the audit log and its anchor file resets every rotation and retirement
/// the log recorded: a blob under a retired cell key version opens again once the vault is
/// rebuilt (SECURITY.md, "Known limits"), and docs/when-to-use.md names that limit with the
/// advice to keep anchors off the host. If the facade ever refuses to start over (an
/// off-host anchor required), the test passes on that alone.
#[test]
fn deleting_the_log_and_its_anchor_resets_retirements_as_when_to_use_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let o = ObjectId::new("o").unwrap();
    let none = Credentials::none();
    let build = || {
        VaultBuilder::new()
            .audit_file(&path)
            .from_mnemonic(PHRASE, "", NoAccessTokens)
            .unwrap()
    };
    let old = {
        let vault = build();
        let cell = vault
            .partition(PartitionId::new("p").unwrap())
            .cell(CellId::new("c").unwrap());
        let old = cell.seal(&o, b"old", Layer::Rest, &none).unwrap();
        cell.rotate().unwrap();
        cell.retire_below(2).unwrap();
        assert!(matches!(
            cell.open(&o, &old, &none),
            Err(Error::KeyVersionRetired { .. })
        ));
        drop(cell);
        vault.close().unwrap();
        old
    };
    // The attacker of SECURITY.md's first paragraph: changes what hexvault writes.
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(Anchor::path_for(&path)).unwrap();
    let vault = build();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let reopened = cell.open(&o, &old, &none);
    if reopened.is_err() {
        return; // the facade refused to start over
    }
    assert_eq!(reopened.unwrap().expose_secret(), b"old");
    let doc = when_to_use();
    let tail = &doc[doc.find("What hexvault cannot protect against").unwrap()..];
    assert!(
        tail.contains("both the\naudit log and its anchor")
            || tail.contains("both the audit log and its anchor"),
        "a retired key version opens again after the log and its anchor were deleted, and \
         docs/when-to-use.md no longer names that limit: {tail}"
    );
}

/// A vault reopened over the file log of one that ended a session refuses that session at
/// layer 2 when resumed from an export taken before the end (the facade replays the log's
/// session ends as it opens it; review round 52 LOW), for opening and for sealing.
#[test]
fn a_reopened_vault_refuses_a_session_its_log_records_as_ended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let o = ObjectId::new("o").unwrap();
    let token = AccessToken::new(b"t".to_vec());
    let build = || {
        VaultBuilder::new()
            .audit_file(&path)
            .from_mnemonic(PHRASE, "", Fixed)
            .unwrap()
    };
    let (blob, export) = {
        let vault = build();
        let cell = vault
            .partition(PartitionId::new("p").unwrap())
            .cell(CellId::new("c").unwrap());
        let session = vault.start_session(Duration::from_secs(600)).unwrap();
        let creds = Credentials::none().token(&token).session(&session);
        let blob = cell.seal(&o, b"net=4200", Layer::Session, &creds).unwrap();
        let export = session.export().unwrap();
        vault.end_session(&session).unwrap();
        drop(cell);
        vault.close().unwrap();
        (blob, export)
    };
    let vault = build();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let resumed = Session::resume(&export).unwrap();
    let creds = Credentials::none().token(&token).session(&resumed);
    assert!(matches!(
        cell.open(&o, &blob, &creds),
        Err(Error::SessionEnded)
    ));
    assert!(matches!(
        cell.seal(&o, b"more", Layer::Session, &creds),
        Err(Error::SessionEnded)
    ));
}

/// Every vault but the one that started a session has only the export's word on its expiry:
/// one reopened later over the same file log (the start record holds no expiry) opens the
/// layer-2 blob with an export whose expiry field was moved an hour past the real one
/// (review round 54), and SECURITY.md ("Known limits") says so.
#[test]
fn a_reopened_vault_has_only_the_exports_word_on_the_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let o = ObjectId::new("o").unwrap();
    let token = AccessToken::new(b"t".to_vec());
    let build = || {
        VaultBuilder::new()
            .audit_file(&path)
            .from_mnemonic(PHRASE, "", Fixed)
            .unwrap()
    };
    let (blob, export) = {
        let vault = build();
        let cell = vault
            .partition(PartitionId::new("p").unwrap())
            .cell(CellId::new("c").unwrap());
        let session = vault.start_session(Duration::from_secs(1)).unwrap();
        let creds = Credentials::none().token(&token).session(&session);
        let blob = cell.seal(&o, b"net=4200", Layer::Session, &creds).unwrap();
        let export = session.export().unwrap();
        drop(cell);
        vault.close().unwrap();
        (blob, export)
    };
    std::thread::sleep(Duration::from_millis(1200));
    assert!(
        Session::resume(&export).is_err(),
        "setup: the real expiry passed"
    );
    let extended = SessionExport::new(
        *export.id(),
        *export.expose_secret(),
        SystemTime::now() + Duration::from_secs(3600),
    );
    let vault = build();
    let cell = vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap());
    let resumed = Session::resume(&extended).unwrap();
    let creds = Credentials::none().token(&token).session(&resumed);
    let opened = cell.open(&o, &blob, &creds).unwrap();
    assert_eq!(opened.expose_secret(), b"net=4200");
    let security =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../SECURITY.md")).unwrap();
    assert!(
        security
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("has only the export's word on the expiry"),
        "SECURITY.md no longer names the limit"
    );
}
