//! A session end survives a crash and a cut of the log (review round 59): `end_session`
//! checkpoints and anchors its record before it returns, as a key-version change does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::time::Duration;

use common::{Fixed, PHRASE, crash_copy};
use hexvault::VaultBuilder;
use hexvault::cells::{AccessToken, Credentials, Error, Layer, ObjectId, Session};

/// A session ended, then the process dies without closing the vault (no destructor), and
/// whoever can write the log cuts it back to its anchor: the anchor covers the end's record,
/// so the cut is refused as one, or (uncut) the reopened vault refuses the session resumed
/// from an export taken before the end.
#[test]
fn an_ended_session_survives_a_crash_and_a_cut_back_to_the_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("audit.log");
    let o = ObjectId::new("o").unwrap();
    let token = AccessToken::new(b"t".to_vec());
    let build = |path: &std::path::Path| {
        VaultBuilder::new()
            .audit_file(path)
            .from_mnemonic(PHRASE, "", Fixed)
    };

    let vault = build(&live).unwrap();
    let cell = common::cell(&vault);
    let session = vault.start_session(Duration::from_secs(600)).unwrap();
    let creds = Credentials::none().token(&token).session(&session);
    let blob = cell.seal(&o, b"net=4200", Layer::Session, &creds).unwrap();
    let export = session.export().unwrap();
    // Some earlier activity was anchored (an interval checkpoint, `checkpoint()`, ...).
    vault.checkpoint().unwrap().unwrap();
    let anchored_len = std::fs::metadata(&live).unwrap().len();
    vault.end_session(&session).unwrap();
    let resumed = Session::resume(&export).unwrap();
    let in_process = cell.open(
        &o,
        &blob,
        &Credentials::none().token(&token).session(&resumed),
    );
    assert!(
        matches!(in_process, Err(Error::SessionEnded)),
        "ended in process"
    );

    // The process dies here: the files as it leaves them.
    let crashed = dir.path().join("crashed.log");
    assert!(crash_copy(&live, &crashed));
    drop(cell);
    drop(vault);

    // Sanity: without the attacker, the reopened vault refuses the ended session.
    {
        let copy = dir.path().join("copy.log");
        assert!(crash_copy(&crashed, &copy));
        let vault = build(&copy).unwrap();
        let resumed = Session::resume(&export).unwrap();
        let creds = Credentials::none().token(&token).session(&resumed);
        assert!(matches!(
            common::cell(&vault).open(&o, &blob, &creds),
            Err(Error::SessionEnded)
        ));
    }

    // The attacker cuts the log back to its earlier anchored length (the session-end record
    // and its checkpoint).
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&crashed)
        .unwrap();
    file.set_len(anchored_len).unwrap();
    drop(file);

    let Ok(vault) = build(&crashed) else {
        return; // refused: the promise holds
    };
    let resumed = Session::resume(&export).unwrap();
    let creds = Credentials::none().token(&token).session(&resumed);
    let opened = common::cell(&vault).open(&o, &blob, &creds);
    assert!(
        opened.is_err(),
        "the log cut back to its anchor reopens silently and the ended session's export \
         opens its layer-2 data again"
    );
}
