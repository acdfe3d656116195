//! The application keys at the fixed paths of [`PATHS`], derived from a BIP-39 seed.
//!
//! Each function walks SLIP-0010 ed25519 (hardened only) from the seed to one named path and
//! turns that node into the one key type it is for; the node's private key never leaves this
//! module, and no key is ever handed out as another type.
//!
//! | function | path | key |
//! |---|---|---|
//! | [`encryption_key`] | `m/74'/2'/0'/0'` | `EncryptedData` v2 AES-256-GCM key (HKDF, ADR 0022) |
//! | [`vault_master_key`] | `m/74'/2'/1'/0'` | master of the HKDF tree of partitions, cells and layers |
//! | [`audit_chain_key`] | `m/74'/2'/1'/0'` | HMAC key of the audit chain (HKDF of the vault master key) |
//! | [`audit_signing_key`] | `m/74'/2'/2'/0'` | ed25519 key that signs audit checkpoints |

use crate::aead::{EncryptionKey, Key};
use crate::audit::AuditKey;
use crate::derivation::{PATHS, ed25519::ExtendedPrivateKey};
use crate::mnemonic::Seed;

/// HKDF label that turns the vault-master node into the vault master key.
pub const VAULT_MASTER_LABEL: &str = "hexvault/v2/vault-master";
/// HKDF label that turns the vault master key into the audit chain's HMAC key.
pub const AUDIT_CHAIN_LABEL: &str = "hexvault/v2/audit-chain";

/// Why a key could not be derived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HD derivation failed (it cannot for the fixed hardened paths and a 64-byte seed;
    /// kept so that a future path change surfaces as an error, not a panic).
    #[error("deriving the key at its HD path failed: {0}")]
    Derivation(#[from] crate::derivation::Error),
    /// Building the symmetric key failed (the OS CSPRNG did not answer).
    #[error("building the key failed: {0}")]
    Aead(#[from] crate::aead::Error),
}

/// The `EncryptedData` v2 key of `seed`: the node at [`PATHS::ENCRYPTION`], through HKDF.
///
/// # Errors
/// [`Error::Aead`] if the OS CSPRNG fails while preparing the key's nonce source.
pub fn encryption_key(seed: &Seed) -> Result<EncryptionKey, Error> {
    let node = ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::ENCRYPTION)?;
    Ok(EncryptionKey::from_node_private_key(node.expose_secret())?)
}

/// The vault master key of `seed`: the node at [`PATHS::VAULT_MASTER`], through HKDF with
/// [`VAULT_MASTER_LABEL`]. Partition, cell, layer and audit keys descend from it.
///
/// # Errors
/// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails.
pub fn vault_master_key(seed: &Seed) -> Result<Key, Error> {
    let node = ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::VAULT_MASTER)?;
    let node_key = Key::from_slice(node.expose_secret())?;
    Ok(crate::aead::derive_key(&node_key, VAULT_MASTER_LABEL, &[])?)
}

/// The HMAC-SHA256 key of the audit chain: [`vault_master_key`] through HKDF with
/// [`AUDIT_CHAIN_LABEL`], so whoever holds the vault can verify its logs and nobody without
/// it can forge a consistent chain.
///
/// # Errors
/// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails.
pub fn audit_chain_key(seed: &Seed) -> Result<AuditKey, Error> {
    let master = vault_master_key(seed)?;
    let chain = crate::aead::derive_key(&master, AUDIT_CHAIN_LABEL, &[])?;
    Ok(AuditKey::from_bytes(*chain.expose_secret()))
}

/// The audit checkpoint signing key of `seed`: the ed25519 key at [`PATHS::AUDIT_SIGNING`].
///
/// # Errors
/// [`Error::Derivation`] if the derivation fails.
pub fn audit_signing_key(seed: &Seed) -> Result<ed25519_dalek::SigningKey, Error> {
    let node = ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::AUDIT_SIGNING)?;
    Ok(node.signing_key())
}
