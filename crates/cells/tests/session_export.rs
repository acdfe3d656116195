//! `Session::export` / `Session::resume`: a session carried to another process (as the
//! command line's session file does) opens and seals layer 2 as the original, until its
//! wall-clock expiry; an ended or expired session neither exports nor resumes; a session
//! used in two vaults seals each vault's layer 2 under that vault's own cell key.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use hexvault_cells::*;

#[test]
fn a_resumed_session_opens_what_the_original_sealed_and_the_other_way() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(60)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c.seal(&oid("o"), b"l2", Layer::Session, &creds).unwrap();

    let export = session.export().unwrap();
    assert_eq!(export.id(), session.id());
    assert_eq!(export.expires_at(), session.expires_at());
    // Rebuilt from its parts, as from a file.
    let rebuilt = SessionExport::new(*export.id(), *export.expose_secret(), export.expires_at());
    let resumed = Session::resume(&rebuilt).unwrap();
    assert_eq!(resumed.id(), session.id());
    assert!(resumed.is_live());
    let resumed_creds = Credentials::none().token(&reader).session(&resumed);
    assert_eq!(
        c.open(&oid("o"), &blob, &resumed_creds)
            .unwrap()
            .expose_secret(),
        b"l2"
    );
    let back = c
        .seal(&oid("p"), b"back", Layer::Session, &resumed_creds)
        .unwrap();
    assert_eq!(
        c.open(&oid("p"), &back, &creds).unwrap().expose_secret(),
        b"back"
    );

    // Another key under the same id and expiry opens nothing.
    let mut wrong = *export.expose_secret();
    wrong[0] ^= 1;
    let forged = Session::resume(&SessionExport::new(
        *export.id(),
        wrong,
        export.expires_at(),
    ))
    .unwrap();
    assert!(
        c.open(
            &oid("o"),
            &blob,
            &Credentials::none().token(&reader).session(&forged)
        )
        .is_err()
    );

    // Debug never shows the key.
    let shown = format!("{export:?}");
    let key_hex: String = export
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!shown.contains(&key_hex));
    assert!(shown.contains("SessionExport"));

    // An ended session no longer exports.
    vault.end_session(&session).unwrap();
    assert!(matches!(session.export(), Err(Error::SessionEnded)));
}

#[test]
fn an_expired_export_does_not_resume_and_a_resumed_session_expires_on_time() {
    let past = SystemTime::now() - Duration::from_secs(1);
    assert!(matches!(
        Session::resume(&SessionExport::new([1; SESSION_ID_LEN], [2; 32], past)),
        Err(Error::SessionEnded)
    ));
    let soon = SystemTime::now() + Duration::from_millis(200);
    let session = Session::resume(&SessionExport::new([1; SESSION_ID_LEN], [2; 32], soon)).unwrap();
    assert!(session.is_live());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!session.is_live());
    assert!(matches!(session.export(), Err(Error::SessionEnded)));
}

/// Review round 7, finding 5 (R7-1). A session is not tied to the vault that started it, and
/// its layer-2 key cache is shared by every vault it is used in: the key tree of
/// docs/formats.md (`layer2 = hkdf(ikm = cell ‖ session key, …)`) must hold in each, with that
/// vault's cell key. Vault B (another master, same ids and versions) used to seal under the key
/// cached for vault A: the blob then never opened under the same session resumed from its
/// export.
#[test]
fn a_session_shared_by_two_vaults_seals_each_under_its_own_cell_key() {
    let (vault_a, _) = vault();
    let log_b = Arc::new(memory_log());
    let vault_b = Vault::from_kms_bytes(&mut [0x77; 32], Resolver, log_b);
    let session = vault_a.start_session(Duration::from_secs(600)).unwrap();
    let reader = token("reader");
    let creds = Credentials::none().token(&reader).session(&session);
    let (a, b) = (cell(&vault_a, "p", "c"), cell(&vault_b, "p", "c"));
    // Used in vault A first (fills its cache for p/c, versions 1/1), then in vault B.
    let blob_a = a.seal(&oid("o"), b"in A", Layer::Session, &creds).unwrap();
    let blob_b = b.seal(&oid("o"), b"in B", Layer::Session, &creds).unwrap();
    // Each opens in its own vault under the session itself...
    assert_eq!(
        a.open(&oid("o"), &blob_a, &creds).unwrap().expose_secret(),
        b"in A"
    );
    assert_eq!(
        b.open(&oid("o"), &blob_b, &creds).unwrap().expose_secret(),
        b"in B"
    );
    // ...and under the same session resumed from its export (an empty cache: every key
    // derived afresh from the key tree), vault B first this time.
    let resumed = Session::resume(&session.export().unwrap()).unwrap();
    let creds2 = Credentials::none().token(&reader).session(&resumed);
    assert_eq!(
        b.open(&oid("o"), &blob_b, &creds2).unwrap().expose_secret(),
        b"in B"
    );
    assert_eq!(
        a.open(&oid("o"), &blob_a, &creds2).unwrap().expose_secret(),
        b"in A"
    );
    // Neither vault opens the other's blob, with either session.
    for creds in [&creds, &creds2] {
        assert!(matches!(
            a.open(&oid("o"), &blob_b, creds),
            Err(Error::Authentication)
        ));
        assert!(matches!(
            b.open(&oid("o"), &blob_a, creds),
            Err(Error::Authentication)
        ));
    }
    // Before the fix, vault B's blob committed to vault A's layer-2 key.
    assert_ne!(layer2_commitment(&blob_a), layer2_commitment(&blob_b));
}

/// The layer-2 key commitment of a 4-byte plaintext's layer-2 blob: the header ends with
/// the layer params (commitment 32 ‖ nonce 12) of layers 0, 1, 2; then ciphertext and tags.
fn layer2_commitment(blob: &[u8]) -> Vec<u8> {
    let header_end = blob.len() - 4 - 3 * 16;
    blob[header_end - 44..header_end - 12].to_vec()
}

/// A session ended in a vault stays ended there, also when it comes back from an export
/// taken before the end (review round 36): the vault remembers the ids it ended and refuses
/// them at layer 2, for opening and for sealing. (Another vault learns of the end only from
/// the log, which the command line checks before it resumes a session file.)
#[test]
fn an_ended_session_resumed_from_an_earlier_export_opens_nothing() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(600)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c
        .seal(&oid("o"), b"layer two", Layer::Session, &creds)
        .unwrap();
    let export = session.export().unwrap();
    vault.end_session(&session).unwrap();
    assert!(matches!(
        c.open(&oid("o"), &blob, &creds),
        Err(Error::SessionEnded)
    ));
    refused_when_resumed(&c, &reader, &blob, &export);
    // Another session of the same vault is not affected.
    let other = vault.start_session(Duration::from_secs(600)).unwrap();
    let other_creds = Credentials::none().token(&reader).session(&other);
    let sealed = c
        .seal(&oid("o3"), b"fine", Layer::Session, &other_creds)
        .unwrap();
    assert_eq!(
        c.open(&oid("o3"), &sealed, &other_creds)
            .unwrap()
            .expose_secret(),
        b"fine"
    );
}

/// A library export's expiry is a field its holder can change (`SessionExport::new` is
/// public; the command line binds it to the key, ADR 0083). The vault that started the
/// session remembers the real expiry (review round 37): a session resumed from an export
/// with a later expiry opens nothing there after the real one, and seals nothing.
#[test]
fn an_export_with_an_edited_expiry_opens_nothing_after_the_real_expiry() {
    let (vault, _log) = vault();
    let c = cell(&vault, "p", "c");
    let reader = token("reader");
    let session = vault.start_session(Duration::from_secs(1)).unwrap();
    let creds = Credentials::none().token(&reader).session(&session);
    let blob = c
        .seal(&oid("o"), b"layer two", Layer::Session, &creds)
        .unwrap();
    let export = session.export().unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    assert!(!session.is_live(), "setup: the session expired");
    assert!(
        Session::resume(&export).is_err(),
        "setup: the export expired"
    );
    let extended = SessionExport::new(
        *export.id(),
        *export.expose_secret(),
        SystemTime::now() + Duration::from_secs(3600),
    );
    refused_when_resumed(&c, &reader, &blob, &extended);
}

/// A session resumed from `export` neither opens `blob` (object `o` of `c`) nor seals
/// anything at layer 2 in `c`: `SessionEnded` both times.
fn refused_when_resumed(c: &Cell, reader: &AccessToken, blob: &[u8], export: &SessionExport) {
    let revived = Session::resume(export).unwrap();
    let revived_creds = Credentials::none().token(reader).session(&revived);
    assert!(matches!(
        c.open(&oid("o"), blob, &revived_creds),
        Err(Error::SessionEnded)
    ));
    assert!(matches!(
        c.seal(&oid("o2"), b"new", Layer::Session, &revived_creds),
        Err(Error::SessionEnded)
    ));
}
