//! `PATHS`: the named derivation paths of hexvault's keys (see docs/adr/0015).
//!
//! Every hexvault key lives under `m/74'/2'`: purpose `74'` (hexvault's own tree, not a
//! BIP-43 coin purpose such as 44' or 84', so a wallet never walks into it), application
//! branch `2'` (this generation of the key layout), then one hardened role:
//!
//! | role | path | key |
//! |---|---|---|
//! | `0'` | `m/74'/2'/0'/0'` | `EncryptedData` v2 encryption key |
//! | `1'` | `m/74'/2'/1'/0'` | vault master key (root of the HKDF partition/cell/layer tree) |
//! | `2'` | `m/74'/2'/2'/0'` | audit checkpoint signing key (ed25519) |
//! | `3'` | `m/74'/2'/3'/n'` | device / identity number `n` |
//!
//! All steps are hardened, so the paths work for SLIP-0010 ed25519 as well as BIP-32, and
//! a leaked child key plus an xpub never reveals a sibling or a parent.

use crate::error::Result;
use crate::path::{ChildNumber, DerivationPath};

/// hexvault's purpose, `74'`.
const PURPOSE: ChildNumber = ChildNumber::hardened_const(74);
/// The application branch, `2'`.
const APPLICATION: ChildNumber = ChildNumber::hardened_const(2);
/// Role `0'`: data encryption.
const ROLE_ENCRYPTION: ChildNumber = ChildNumber::hardened_const(0);
/// Role `1'`: vault master.
const ROLE_VAULT_MASTER: ChildNumber = ChildNumber::hardened_const(1);
/// Role `2'`: audit signing.
const ROLE_AUDIT_SIGNING: ChildNumber = ChildNumber::hardened_const(2);
/// Role `3'`: numbered devices and identities.
const ROLE_DEVICE: ChildNumber = ChildNumber::hardened_const(3);
/// The first (and so far only) key of a role, `0'`.
const KEY_0: ChildNumber = ChildNumber::hardened_const(0);

/// The named derivation paths of hexvault's keys.
///
/// A namespace, used as `PATHS::ENCRYPTION`: each constant is a ready [`DerivationPath`]
/// backed by a `&'static` slice, so a typo is a compile error rather than a different
/// key. The string forms are in [`PATHS::NAMED`].
///
/// ```
/// use hexvault_derivation::PATHS;
/// assert_eq!(PATHS::ENCRYPTION.to_string(), "m/74'/2'/0'/0'");
/// assert_eq!(PATHS::device(7)?.to_string(), "m/74'/2'/3'/7'");
/// # Ok::<(), hexvault_derivation::Error>(())
/// ```
#[allow(non_camel_case_types)] // named like a constant on purpose: `PATHS::ENCRYPTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PATHS;

impl PATHS {
    /// `m/74'/2'`: the root of every hexvault key.
    pub const ROOT: DerivationPath = DerivationPath::from_static(&[PURPOSE, APPLICATION]);

    /// `m/74'/2'/0'/0'`: the `EncryptedData` key-version-2 encryption key.
    pub const ENCRYPTION: DerivationPath =
        DerivationPath::from_static(&[PURPOSE, APPLICATION, ROLE_ENCRYPTION, KEY_0]);

    /// `m/74'/2'/1'/0'`: the vault master key, root of the HKDF partition / cell / layer tree.
    pub const VAULT_MASTER: DerivationPath =
        DerivationPath::from_static(&[PURPOSE, APPLICATION, ROLE_VAULT_MASTER, KEY_0]);

    /// `m/74'/2'/2'/0'`: the ed25519 key that signs audit checkpoints.
    pub const AUDIT_SIGNING: DerivationPath =
        DerivationPath::from_static(&[PURPOSE, APPLICATION, ROLE_AUDIT_SIGNING, KEY_0]);

    /// The named paths with their names, for listings (`hexvault demo`).
    pub const NAMED: [(&'static str, DerivationPath); 3] = [
        ("encryption", Self::ENCRYPTION),
        ("vault-master", Self::VAULT_MASTER),
        ("audit-signing", Self::AUDIT_SIGNING),
    ];

    /// `m/74'/2'/3'/n'`: the key of device or identity number `n`.
    ///
    /// # Errors
    /// [`crate::Error::IndexOutOfRange`] if `n >= 2^31`.
    pub fn device(n: u32) -> Result<DerivationPath> {
        let device = ChildNumber::hardened(n)?;
        DerivationPath::from_children(vec![PURPOSE, APPLICATION, ROLE_DEVICE, device])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_paths_have_the_documented_strings() {
        assert_eq!(PATHS::ROOT.to_string(), "m/74'/2'");
        assert_eq!(PATHS::ENCRYPTION.to_string(), "m/74'/2'/0'/0'");
        assert_eq!(PATHS::VAULT_MASTER.to_string(), "m/74'/2'/1'/0'");
        assert_eq!(PATHS::AUDIT_SIGNING.to_string(), "m/74'/2'/2'/0'");
        for (name, path) in PATHS::NAMED {
            assert!(path.is_fully_hardened(), "{name}");
            assert_eq!(path.to_string().parse::<DerivationPath>().unwrap(), path);
            assert!(path.as_slice().starts_with(PATHS::ROOT.as_slice()));
        }
    }

    #[test]
    fn device_paths() {
        assert_eq!(PATHS::device(0).unwrap().to_string(), "m/74'/2'/3'/0'");
        assert_eq!(
            PATHS::device(ChildNumber::MAX_INDEX).unwrap().to_string(),
            "m/74'/2'/3'/2147483647'"
        );
        assert!(PATHS::device(1 << 31).is_err());
        assert!(PATHS::device(5).unwrap().is_fully_hardened());
    }
}
