//! The `EncryptedData` key-version → derivation-path mapping (docs/adr/0040).

use hexvault_aead::{HD_KEY_VERSION, LEGACY_KEY_VERSION};
use hexvault_derivation::{ChildNumber, DerivationPath, PATHS};

use crate::{Error, Result};

/// The largest `EncryptedData` key version this build maps to a path: `2 + (2^31 - 1)`.
pub const MAX_KEY_VERSION: u32 = HD_KEY_VERSION + ChildNumber::MAX_INDEX;

/// The derivation path of the `EncryptedData` key of `key_version` (docs/adr/0040).
///
/// `key_version` v ≥ 2 lives at `m/74'/2'/0'/(v-2)'`: v2 is `m/74'/2'/0'/0'`
/// ([`PATHS::ENCRYPTION`]), v3 is `m/74'/2'/0'/1'`, and so on. Every version has its
/// own hardened node, so no two versions share a key.
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

/// Whether `path` lies in the subtree reserved for `EncryptedData` keys, `m/74'/2'/0'`
/// and below: such keys never leave the service. (Ancestors are not reserved: a
/// `DerivedKey` carries no chain code, so no child can be derived from it.)
pub(crate) fn is_reserved(path: &DerivationPath) -> bool {
    let encryption = PATHS::ENCRYPTION;
    let full = encryption.as_slice();
    let role = full.get(..full.len().saturating_sub(1)).unwrap_or(full);
    path.as_slice().starts_with(role)
}

#[cfg(test)]
mod tests {
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
        assert_eq!(encryption_path(1), Err(Error::LegacyKeyVersion));
        assert!(matches!(
            encryption_path(0),
            Err(Error::UnsupportedKeyVersion { version: 0, .. })
        ));
        assert!(matches!(
            encryption_path(MAX_KEY_VERSION + 1),
            Err(Error::UnsupportedKeyVersion { .. })
        ));
        assert!(matches!(
            encryption_path(u32::MAX),
            Err(Error::UnsupportedKeyVersion { .. })
        ));
    }

    #[test]
    fn reserved_subtree() {
        assert!(is_reserved(&PATHS::ENCRYPTION));
        assert!(is_reserved(&encryption_path(7).unwrap()));
        assert!(is_reserved(&"m/74'/2'/0'".parse().unwrap()));
        assert!(is_reserved(&"m/74'/2'/0'/5'/9'".parse().unwrap()));
        assert!(!is_reserved(&"m/74'/2'".parse().unwrap()));
        assert!(!is_reserved(&DerivationPath::MASTER));
        assert!(!is_reserved(&"m/74'/2'/1'/0'/0'".parse().unwrap()));
        assert!(!is_reserved(&PATHS::VAULT_MASTER));
        assert!(!is_reserved(&PATHS::AUDIT_SIGNING));
        assert!(!is_reserved(&"m/0'/1'".parse().unwrap()));
    }
}
