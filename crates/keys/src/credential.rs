//! The `EncryptedData` credential keys: key version → derivation path → `EncryptionKey` (ADR 0040).

use hexvault_aead::{Backend, EncryptionKey, HD_KEY_VERSION, LEGACY_KEY_VERSION};
use hexvault_derivation::{ChildNumber, DerivationPath, PATHS, ed25519::PrivateKey};
use hexvault_mnemonic::Seed;

use crate::{Error, Result};

/// The largest `EncryptedData` key version this build maps to a path: `2 + (2^31 - 1)`.
pub const MAX_KEY_VERSION: u32 = HD_KEY_VERSION + ChildNumber::MAX_INDEX;

/// The derivation path of the `EncryptedData` key of `key_version` (ADR 0040).
///
/// `key_version` v ≥ 2 lives at `m/74'/2'/0'/(v-2)'`: v2 is `m/74'/2'/0'/0'`
/// ([`PATHS::ENCRYPTION`]), v3 is `m/74'/2'/0'/1'`, and so on. Every version has its own
/// hardened node, so no two versions share a key. This is the one implementation of the
/// mapping.
///
/// # Errors
/// [`Error::LegacyKeyVersion`] for 1 (legacy PBKDF2 data: migrate it);
/// [`Error::UnsupportedKeyVersion`] for 0 or above [`MAX_KEY_VERSION`].
pub fn encryption_path(key_version: u32) -> Result<DerivationPath> {
    if key_version == LEGACY_KEY_VERSION {
        return Err(Error::LegacyKeyVersion);
    }
    let unsupported = || Error::UnsupportedKeyVersion {
        version: key_version,
        max: MAX_KEY_VERSION,
    };
    let index = key_version
        .checked_sub(HD_KEY_VERSION)
        .ok_or_else(unsupported)?;
    let child = ChildNumber::hardened(index).map_err(|_| unsupported())?;
    let mut steps = PATHS::ENCRYPTION.as_slice().to_vec();
    // Replace the last step (`0'`) of PATHS::ENCRYPTION with the version's index.
    steps.pop();
    steps.push(child);
    Ok(DerivationPath::from_children(steps)?)
}

/// The `EncryptedData` key_version 2 key of `seed`: the node at [`PATHS::ENCRYPTION`], through
/// ADR 0022's HKDF (ring backend).
///
/// # Errors
/// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails (neither does for the
/// fixed hardened path; building the key draws no randomness: each credential draws its own
/// salt and nonce when it is sealed).
pub fn encryption_key(seed: &Seed) -> Result<EncryptionKey> {
    encryption_key_for_version(seed, HD_KEY_VERSION)
}

/// The `EncryptedData` key of `key_version` (2 or later) of `seed`: the node at
/// [`encryption_path`]`(key_version)`, through ADR 0022's HKDF (ring backend). The key writes
/// `key_version` into what it seals and opens only data of that version.
///
/// # Errors
/// [`Error::LegacyKeyVersion`], [`Error::UnsupportedKeyVersion`] as [`encryption_path`];
/// [`Error::Derivation`] or [`Error::Aead`] if a derivation step fails.
pub fn encryption_key_for_version(seed: &Seed, key_version: u32) -> Result<EncryptionKey> {
    let path = encryption_path(key_version)?;
    let node = PrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
    Ok(EncryptionKey::for_key_version(
        node.expose_secret(),
        key_version,
        Backend::Ring,
    )?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn version_2_is_paths_encryption_and_versions_do_not_collide() {
        assert_eq!(encryption_path(2).unwrap(), PATHS::ENCRYPTION);
        assert_eq!(encryption_path(3).unwrap().to_string(), "m/74'/2'/0'/1'");
        assert_eq!(encryption_path(10).unwrap().to_string(), "m/74'/2'/0'/8'");
        let mut seen = std::collections::HashSet::new();
        for v in 2..200 {
            assert!(seen.insert(encryption_path(v).unwrap()), "v{v} collides");
        }
        assert_eq!(
            encryption_path(MAX_KEY_VERSION).unwrap().to_string(),
            "m/74'/2'/0'/2147483647'"
        );
    }

    #[test]
    fn version_1_0_and_overflow_are_refused() {
        assert!(matches!(encryption_path(1), Err(Error::LegacyKeyVersion)));
        for v in [0, MAX_KEY_VERSION + 1, u32::MAX] {
            assert!(matches!(
                encryption_path(v),
                Err(Error::UnsupportedKeyVersion { version, max: MAX_KEY_VERSION }) if version == v
            ));
        }
    }
}
