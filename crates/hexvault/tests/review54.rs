//! Review round 54: a `hexvault::Vault` reopened over the file log of the vault that started
//! a session knows nothing of that session's real expiry, so an export whose expiry field
//! was moved later opens layer-2 data after the real expiry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::time::{Duration, SystemTime};

use hexvault::cells::{
    AccessToken, CellId, Credentials, Error, Layer, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, Session, SessionExport, TokenResolver,
};
use hexvault::VaultBuilder;

/// A published BIP-39 vector (never a real root).
const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

struct Fixed;

impl TokenResolver for Fixed {
    fn resolve(
        &self,
        token: &AccessToken,
        _partition: &PartitionId,
        _cell: &CellId,
    ) -> Option<PolicyContext> {
        (token.expose_secret() == b"t").then(|| {
            PolicyContext::new(
                PolicyId::new("readers").unwrap(),
                PolicySecret::from_bytes(&mut [7u8; 32]),
            )
        })
    }
}

/// SECURITY.md:85-95 (changed this session): "the vault that ended the session refuses it
/// at layer 2 once resumed ..., and so does a `hexvault::Vault` opened later over the same
/// file log (it replays the log's session ends ...), but another vault running meanwhile
/// (another process, or one on another log) opens that session's layer-2 data ... and with
/// no time limit of its own: the export's expiry is a field its holder can change (the vault
/// that started the session refuses it after the real expiry ...)". The unlimited case is
/// now confined to a vault "running meanwhile"; a vault opened later over the same file log
/// is also one with no time limit: it replays session ends, not session expiries (the
/// `SessionStart` record carries none), so an export whose expiry was moved an hour later
/// opens the layer-2 blob after the real expiry once the vault restarted.
#[test]
#[ignore = "review54 finding"]
fn a_reopened_vault_refuses_an_export_with_an_edited_expiry_after_the_real_expiry() {
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
    assert!(Session::resume(&export).is_err(), "setup: the real expiry passed");
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
    let opened = cell.open(&o, &blob, &creds);
    assert!(
        matches!(opened, Err(Error::SessionEnded)),
        "a vault reopened over the same file log opened layer-2 data with an export past its \
         real expiry: {:?}",
        opened.map(|p| p.expose_secret().to_vec())
    );
}
