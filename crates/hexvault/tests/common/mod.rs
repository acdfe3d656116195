//! Fixtures shared by the facade's tests of restarts and crashes (`version_replay.rs`,
//! `audit_log.rs`, `threat_model/reopen.rs`, `documented_limits.rs`,
//! `session_ends_survive_crashes.rs`): a vault over a file audit log opened (and reopened)
//! from one published phrase, the cell they use, a copy of a log as a crash leaves it on
//! disk, and a token resolver that makes layers 1 and 2 usable.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use hexvault::audit::Anchor;
use hexvault::cells::{
    AccessToken, Cell, CellId, PartitionId, PolicyContext, PolicyId, PolicySecret, TokenResolver,
};
use hexvault::{NoAccessTokens, Vault, VaultBuilder};

/// A published BIP-39 vector (never a real root).
pub(crate) const PHRASE: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

/// The vault over the audit file `path`, with what `builder` sets besides (checkpoint
/// interval, durability, ...), from [`PHRASE`] without a passphrase and with no access
/// tokens (so layers 1 and 2 refuse, and each refusal is recorded).
///
/// # Errors
/// Those of [`VaultBuilder::from_mnemonic`] (a refused reopen is what some tests expect).
pub(crate) fn open(path: &Path, builder: VaultBuilder) -> hexvault::Result<Vault> {
    builder
        .audit_file(path)
        .from_mnemonic(PHRASE, "", NoAccessTokens)
}

/// The cell `p/c` of `vault`.
pub(crate) fn cell(vault: &Vault) -> Cell {
    vault
        .partition(PartitionId::new("p").unwrap())
        .cell(CellId::new("c").unwrap())
}

/// Copies the log file `log` to `to`, and its anchor file (`Anchor::path_for`) beside `to` if
/// `log` has one: the files as a process that dies now leaves them. Returns `true` if an
/// anchor was copied.
pub(crate) fn crash_copy(log: &Path, to: &Path) -> bool {
    std::fs::copy(log, to).unwrap();
    let anchor = Anchor::path_for(log);
    let anchored = anchor.exists();
    if anchored {
        std::fs::copy(&anchor, Anchor::path_for(to)).unwrap();
    }
    anchored
}

/// Grants policy `readers` with a fixed secret for the token `t`, in every cell (layers 1
/// and 2 usable in tests).
pub(crate) struct Fixed;

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
