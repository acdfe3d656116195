//! Shared fixtures of the threat-model suite: the root phrase, a token resolver that scopes
//! tokens to cells, and shorthands for ids.
#![allow(dead_code)]

use hexvault::cells::{
    AccessToken, ActorId, Cell, CellId, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, RouteId, TokenResolver,
};
use hexvault::{Vault, VaultBuilder};

/// The Trezor BIP-39 phrase of entropy 00..00 (a published test vector: never a real root).
pub(crate) const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                          abandon abandon abandon about";
/// The passphrase of the suite's vault.
pub(crate) const PASSPHRASE: &str = "threat-model";

/// Tokens, each valid for one cell only (as a real resolver scopes them):
/// - `token:<partition>/<cell>` → policy `readers` with that cell's own secret;
/// - `impostor:<partition>/<cell>` → the same policy id `readers` with another secret
///   (a resolver bug or a stolen policy id without its secret).
///
/// Anything else, and any token presented to another cell, is refused.
pub(crate) struct CellScoped;

fn secret_for(partition: &PartitionId, cell: &CellId, impostor: bool) -> PolicySecret {
    let mut bytes = [0u8; 32];
    for (i, b) in format!("{partition}/{cell}").bytes().enumerate() {
        bytes[i % 32] ^= b.rotate_left(i as u32 % 8);
    }
    if impostor {
        bytes[0] ^= 0xff;
    }
    PolicySecret::from_bytes(&mut bytes)
}

impl TokenResolver for CellScoped {
    fn resolve(
        &self,
        token: &AccessToken,
        partition: &PartitionId,
        cell: &CellId,
    ) -> Option<PolicyContext> {
        let token = core::str::from_utf8(token.expose_secret()).ok()?;
        let (kind, target) = token.split_once(':')?;
        if target != format!("{partition}/{cell}") {
            return None;
        }
        let impostor = match kind {
            "token" => false,
            "impostor" => true,
            _ => return None,
        };
        Some(
            PolicyContext::new(
                PolicyId::new("readers").ok()?,
                secret_for(partition, cell, impostor),
            )
            .with_actor(ActorId::new("suite").ok()?),
        )
    }
}

/// The suite's vault (in-memory audit log).
pub(crate) fn vault() -> Vault {
    Vault::from_mnemonic(PHRASE, PASSPHRASE, CellScoped).unwrap()
}

/// A vault with its audit log in `dir/audit.log`, checkpointed every `every` records.
pub(crate) fn file_vault(dir: &std::path::Path, every: u64) -> Vault {
    VaultBuilder::new()
        .audit_file(dir.join("audit.log"))
        .checkpoint_every(every)
        .from_mnemonic(PHRASE, PASSPHRASE, CellScoped)
        .unwrap()
}

/// The cell `partition/cell` of `vault`.
pub(crate) fn cell(vault: &Vault, partition: &str, cell: &str) -> Cell {
    vault
        .partition(PartitionId::new(partition).unwrap())
        .cell(CellId::new(cell).unwrap())
}

/// The access token scoped to `cell`.
pub(crate) fn token_for(cell: &Cell) -> AccessToken {
    AccessToken::new(format!("token:{}/{}", cell.partition_id(), cell.id()).into_bytes())
}

/// An object id.
pub(crate) fn object(id: &str) -> ObjectId {
    ObjectId::new(id).unwrap()
}

/// A route id.
pub(crate) fn route(id: &str) -> RouteId {
    RouteId::new(id).unwrap()
}
