//! `hexvault-keys`: the one place that turns a BIP-39 [`Seed`] into hexvault's typed application keys.
//!
//! # What this crate owns
//!
//! The key schedule below the fixed paths of [`PATHS`] (ADR 0015), and the types that carry
//! its results across crate boundaries:
//!
//! | function / type | path | key |
//! |---|---|---|
//! | [`encryption_key`], [`encryption_key_for_version`] | `m/74'/2'/0'/(v-2)'` ([`encryption_path`]) | `EncryptedData` AES-256-GCM key of key_version `v` (HKDF, ADRs 0022, 0040) |
//! | [`vault_master_key`] → [`VaultMasterKey`] | `m/74'/2'/1'/0'` | master of the HKDF tree of partitions, cells and layers |
//! | [`audit_chain_key`] / [`VaultMasterKey::audit_chain_key`] | (from the vault master) | HMAC key of the audit chain |
//! | [`audit_signer`] → [`AuditSigner`] | `m/74'/2'/2'/0'` | ed25519 key that signs audit checkpoints |
//!
//! The service (`hexvault-service`), the cells crate and the facade (`hexvault::keys`)
//! all call this crate, so each key has exactly one derivation (ADR 0045).
//!
//! # Invariants
//!
//! - Each key comes from exactly one named path and is converted to exactly one key type; the
//!   AES and master keys pass through HKDF with a fixed label, so no two purposes share key
//!   bytes. The schedule is pinned by golden values (`tests/schedule.rs`) and must never change.
//! - A node's raw private key never leaves this crate. [`VaultMasterKey`] has no byte accessor
//!   at all (child keys come out of [`VaultMasterKey::derive_key`]); [`AuditSigner`] gives up
//!   its ed25519 key only by moving into the audit log that signs with it
//!   (`From<AuditSigner> for SigningKey`, taken by `LogOptions::signing_key`).
//! - Every secret type here is zeroized on drop, not `Clone`, compares in constant time and
//!   has a `Debug` that prints no secret.
//!
//! ```
//! use hexvault_keys::{VaultMasterKey, audit_signer, vault_master_key};
//! use hexvault_mnemonic::Mnemonic;
//!
//! let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
//!               abandon abandon about";
//! let seed = Mnemonic::parse(phrase)?.to_seed("TREZOR");
//! let master = vault_master_key(&seed)?;
//! // A component key under its own label; the master's bytes never leave the type.
//! let partition = master.derive_key("hexvault/v2/example/partition", &[b"tenant-7"])?;
//! assert_ne!(partition, master.derive_key("hexvault/v2/example/partition", &[b"tenant-8"])?);
//! let signer = audit_signer(&seed)?;
//! assert_eq!(signer.verifying_key().as_bytes().len(), 32);
//! assert_eq!(format!("{master:?}"), "VaultMasterKey { .. }");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod credential;
mod error;
mod master;
mod signer;

pub use credential::{
    MAX_KEY_VERSION, encryption_key, encryption_key_for_version, encryption_path,
};
pub use error::{Error, Result};
pub use master::{
    AUDIT_CHAIN_LABEL, VAULT_MASTER_LABEL, VaultMasterKey, audit_chain_key, vault_master_key,
};
pub use signer::{AuditSigner, audit_signer};

// Re-exported so callers can name what this crate hands out without depending on the
// primitive crates themselves.
pub use hexvault_aead::{EncryptionKey, Key};
pub use hexvault_audit::{AuditKey, SigningKey, VerifyingKey};
pub use hexvault_derivation::PATHS;
pub use hexvault_mnemonic::Seed;
