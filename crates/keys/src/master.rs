//! `VaultMasterKey`: the typed root of the vault's HKDF tree, and the audit chain key below it.

use core::fmt;

use hexvault_aead::Key;
use hexvault_audit::AuditKey;
use hexvault_derivation::{PATHS, ed25519::PrivateKey};
use hexvault_mnemonic::Seed;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, Result};

/// HKDF label that turns the vault-master node's private key into the vault master key.
pub const VAULT_MASTER_LABEL: &str = "hexvault/v2/vault-master";
/// HKDF label that turns the vault master key into the audit chain's HMAC key.
pub const AUDIT_CHAIN_LABEL: &str = "hexvault/v2/audit-chain";

/// Labels [`VaultMasterKey::derive_key`] refuses: each belongs to a typed key of this crate.
const RESERVED_LABELS: [&str; 2] = [VAULT_MASTER_LABEL, AUDIT_CHAIN_LABEL];

/// The vault master key: the 32-byte root of the HKDF tree of partitions, cells and layers,
/// and of the audit chain key.
///
/// A capability, not a byte string: it has no byte accessor. Components take it and derive
/// their own typed child keys with [`derive_key`](Self::derive_key) (HKDF-SHA256 with the
/// length-prefixed info of `hexvault_aead::encode_info`), so the master's bytes never leave
/// this type. Zeroized on drop, not `Clone`, `Debug` prints no byte, equality is constant-time.
/// It has no public `zeroize()`: a wiped master would go on deriving, silently, the children
/// of the all-zero key, which anybody can compute; it is wiped when dropped, and only then:
///
/// ```compile_fail
/// use zeroize::Zeroize;
/// let mut master = hexvault_keys::VaultMasterKey::generate().unwrap();
/// master.zeroize(); // no such method: drop it instead
/// ```
///
/// Three ways to get one: [`from_seed`](Self::from_seed) (the mnemonic's key at
/// `m/74'/2'/1'/0'`), [`from_kms_bytes`](Self::from_kms_bytes) (32 bytes a KMS unwrapped) and
/// [`generate`](Self::generate) (fresh from the OS CSPRNG).
#[derive(ZeroizeOnDrop)]
pub struct VaultMasterKey(Key);

impl VaultMasterKey {
    /// The vault master key of `seed`: `HKDF(slip10(seed, m/74'/2'/1'/0'),`
    /// [`VAULT_MASTER_LABEL`]`)` (docs/formats.md, "Application keys").
    ///
    /// # Errors
    /// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails.
    pub fn from_seed(seed: &Seed) -> Result<Self> {
        let node = PrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::VAULT_MASTER)?;
        let node_key = Key::from_bytes(*node.expose_secret());
        Ok(Self(hexvault_aead::derive_key(
            &node_key,
            VAULT_MASTER_LABEL,
            &[],
        )?))
    }

    /// A vault master key supplied by a KMS (or any other key store): copies the 32 bytes and
    /// wipes `bytes`, so the caller's buffer holds no copy afterwards.
    #[must_use]
    pub fn from_kms_bytes(bytes: &mut [u8; 32]) -> Self {
        let key = Key::from_bytes(*bytes);
        bytes.zeroize();
        Self(key)
    }

    /// A fresh random vault master key from the operating system's CSPRNG (for a vault that
    /// is not rooted in a mnemonic; keep it in a KMS, it cannot be re-derived).
    ///
    /// # Errors
    /// [`Error::Aead`] if the OS random number generator fails.
    pub fn generate() -> Result<Self> {
        Ok(Self(Key::generate()?))
    }

    /// A child key of this master: `HKDF-SHA256(ikm = master, info = encode_info(label,
    /// info_parts))`, 32 bytes (`hexvault_aead::derive_key`). Use one fixed label per purpose
    /// (e.g. `"hexvault/v2/cells/partition"`) and put ids in `info_parts`; the encoding is
    /// injective, so different (label, parts) lists never give the same key.
    ///
    /// # Errors
    /// [`Error::ReservedLabel`] for [`VAULT_MASTER_LABEL`] and [`AUDIT_CHAIN_LABEL`] (the
    /// audit chain key comes out only as an [`AuditKey`], through
    /// [`audit_chain_key`](Self::audit_chain_key)); [`Error::Aead`] if an item is longer than
    /// `u32::MAX` bytes.
    pub fn derive_key(&self, label: &str, info_parts: &[&[u8]]) -> Result<Key> {
        if let Some(reserved) = RESERVED_LABELS.iter().find(|r| **r == label) {
            return Err(Error::ReservedLabel { label: reserved });
        }
        Ok(hexvault_aead::derive_key(&self.0, label, info_parts)?)
    }

    /// The HMAC-SHA256 key of the audit chain: `HKDF(master,` [`AUDIT_CHAIN_LABEL`]`)`, so
    /// whoever holds the vault can verify its logs and nobody without it can forge a
    /// consistent chain.
    ///
    /// # Errors
    /// [`Error::Aead`] if the derivation fails (it cannot for a fixed label).
    pub fn audit_chain_key(&self) -> Result<AuditKey> {
        let chain = hexvault_aead::derive_key(&self.0, AUDIT_CHAIN_LABEL, &[])?;
        Ok(AuditKey::from_bytes(*chain.expose_secret()))
    }
}

impl fmt::Debug for VaultMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultMasterKey").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for VaultMasterKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for VaultMasterKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for VaultMasterKey {}

/// The vault master key of `seed` ([`VaultMasterKey::from_seed`]).
///
/// # Errors
/// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails.
pub fn vault_master_key(seed: &Seed) -> Result<VaultMasterKey> {
    VaultMasterKey::from_seed(seed)
}

/// The audit chain key of `seed`: [`vault_master_key`] then
/// [`VaultMasterKey::audit_chain_key`].
///
/// # Errors
/// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails.
pub fn audit_chain_key(seed: &Seed) -> Result<AuditKey> {
    VaultMasterKey::from_seed(seed)?.audit_chain_key()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The golden master of docs/formats.md, checked here against the private bytes (the
    /// public API has no byte accessor; `tests/schedule.rs` pins it through HKDF outputs).
    #[test]
    fn trezor_master_equals_the_documented_bytes() {
        let seed = hexvault_mnemonic::Mnemonic::parse(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about",
        )
        .unwrap()
        .to_seed("TREZOR");
        let master = VaultMasterKey::from_seed(&seed).unwrap();
        let expected: [u8; 32] = [
            0x2c, 0x91, 0x9f, 0x06, 0xfb, 0xe8, 0x3f, 0x0c, 0x6a, 0x1b, 0x46, 0x7c, 0x31, 0xa4,
            0x68, 0x4d, 0xab, 0x8c, 0x91, 0xc8, 0x1d, 0xae, 0xb4, 0xb9, 0x60, 0x3b, 0xbf, 0x51,
            0x67, 0x81, 0x10, 0xb8,
        ];
        assert_eq!(master.0.expose_secret(), &expected);
    }

    #[test]
    fn kms_bytes_are_wiped_and_taken() {
        let mut bytes = [7u8; 32];
        let key = VaultMasterKey::from_kms_bytes(&mut bytes);
        assert_eq!(bytes, [0; 32]);
        assert_eq!(key.0.expose_secret(), &[7u8; 32]);
    }
}
