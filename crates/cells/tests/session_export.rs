//! `Session::export` / `Session::resume`: a session carried to another process (as the
//! command line's session file does) opens and seals layer 2 as the original, until its
//! wall-clock expiry; an ended or expired session neither exports nor resumes.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

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
