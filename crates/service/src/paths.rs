//! Which paths `derive` serves (an allow-list, ADR 0046), and the `EncryptedData` key-version
//! → derivation-path mapping (ADR 0040, implemented once in `hexvault-keys`).

use hexvault_derivation::{ChildNumber, DerivationPath, PATHS};

use crate::Result;

/// The largest `EncryptedData` key version this build maps to a path: `2 + (2^31 - 1)`.
pub const MAX_KEY_VERSION: u32 = hexvault_keys::MAX_KEY_VERSION;

/// The role under the application branch whose subtree `derive` serves: devices, `3'`.
const DEVICE_ROLE: ChildNumber = ChildNumber::from_bits(0x8000_0000 | 3);

/// The derivation path of the `EncryptedData` key of `key_version` (docs/adr/0040):
/// `hexvault_keys::encryption_path` with this crate's error.
///
/// `key_version` v ≥ 2 lives at `m/74'/2'/0'/(v-2)'`: v2 is `m/74'/2'/0'/0'`
/// ([`PATHS::ENCRYPTION`]), v3 is `m/74'/2'/0'/1'`, and so on. Every version has its
/// own hardened node, so no two versions share a key.
///
/// # Errors
/// [`crate::Error::LegacyKeyVersion`] for 1 (legacy PBKDF2 data: migrate it);
/// [`crate::Error::UnsupportedKeyVersion`] for 0 or above [`MAX_KEY_VERSION`].
pub fn encryption_path(key_version: u32) -> Result<DerivationPath> {
    Ok(hexvault_keys::encryption_path(key_version)?)
}

/// Whether `derive` may hand out a key at `path` (the allow-list of ADR 0046).
///
/// Inside hexvault's purpose `m/74'` only the device subtree `m/74'/2'/3'` and everything
/// below it is served; `m/74'` itself and every other path under it are refused: the
/// application branch `m/74'/2'` ([`PATHS::ROOT`]) with its `EncryptedData` keys `0'`, vault
/// master `1'`, audit signer `2'` and roles not assigned yet, the reserved branches `0'` and
/// `1'`, and the branches a future layout will take (`3'` and up, ADR 0015). Outside
/// `m/74'`, every path but `m` is served (other purposes, such as BIP-44's `m/44'`). A path
/// is compared step by step, hardened bit included: `m/74/2/1` (normal steps) is outside
/// the purpose.
pub(crate) fn is_served(path: &DerivationPath) -> bool {
    let root = PATHS::ROOT;
    let root = root.as_slice();
    let steps = path.as_slice();
    let (Some(purpose), Some(first)) = (root.first(), steps.first()) else {
        // `m` (or a root layout without a purpose, which this build does not have).
        return false;
    };
    if first != purpose {
        return true;
    }
    match steps.strip_prefix(root) {
        Some([role, ..]) => *role == DEVICE_ROLE,
        // `m/74'/2'` itself, or another branch of `m/74'`.
        Some([]) | None => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::Error;
    use proptest::prelude::*;

    fn p(s: &str) -> DerivationPath {
        s.parse().unwrap()
    }

    #[test]
    fn version_mapping_is_the_keys_crate_one_with_service_errors() {
        assert_eq!(encryption_path(2).unwrap(), PATHS::ENCRYPTION);
        assert_eq!(encryption_path(3).unwrap().to_string(), "m/74'/2'/0'/1'");
        assert_eq!(encryption_path(1), Err(Error::LegacyKeyVersion));
        for v in [0, MAX_KEY_VERSION + 1, u32::MAX] {
            assert_eq!(
                encryption_path(v),
                Err(Error::UnsupportedKeyVersion {
                    version: v,
                    max: MAX_KEY_VERSION
                })
            );
        }
    }

    /// The root-of-trust paths and the branch's ancestors are refused (the old block-list
    /// served all of these but the first row).
    #[test]
    fn root_of_trust_paths_and_ancestors_are_refused() {
        for s in [
            "m/74'/2'/0'/0'",
            "m/74'/2'/0'/5'/9'",
            "m/74'/2'/1'/0'",
            "m/74'/2'/1'/0'/0'",
            "m/74'/2'/1'",
            "m/74'/2'/2'/0'",
            "m/74'/2'/2'",
            "m/74'/2'/4'/0'",
            "m/74'/2'/3/0'",
            "m/74'/2'",
            "m/74'",
            "m",
            // The reserved branches and the next layout's (review round 22).
            "m/74'/0'/0'/0'",
            "m/74'/1'/1'/0'",
            "m/74'/3'",
            "m/74'/3'/1'/0'",
            "m/74'/2",
            "m/74'/0",
        ] {
            assert!(!is_served(&p(s)), "{s} must be refused");
        }
        assert!(!is_served(&PATHS::VAULT_MASTER));
        assert!(!is_served(&PATHS::AUDIT_SIGNING));
        assert!(!is_served(&DerivationPath::MASTER));
    }

    #[test]
    fn devices_and_paths_outside_the_branch_are_served() {
        for s in [
            "m/74'/2'/3'",
            "m/74'/2'/3'/0'",
            "m/74'/2'/3'/7'/1'",
            "m/74/2/1/0",
            "m/44'/0'/0'",
            "m/0'/1",
            "m/75'",
        ] {
            assert!(is_served(&p(s)), "{s} must be served");
        }
        assert!(is_served(&PATHS::device(0).unwrap()));
        assert_eq!(PATHS::device(0).unwrap().as_slice()[2], DEVICE_ROLE);
    }

    fn child() -> impl Strategy<Value = ChildNumber> {
        (0u32..8, any::<bool>()).prop_map(|(i, hardened)| {
            if hardened {
                ChildNumber::hardened(i).unwrap()
            } else {
                ChildNumber::normal(i).unwrap()
            }
        })
    }

    fn path_from(steps: Vec<ChildNumber>) -> DerivationPath {
        DerivationPath::from_children(steps).unwrap()
    }

    proptest! {
        /// Inside `m/74'/2'`: served exactly when the role step is `3'`.
        #[test]
        fn inside_the_branch_only_devices_are_served(
            role in child(),
            rest in proptest::collection::vec(child(), 0..4),
        ) {
            let mut steps = PATHS::ROOT.as_slice().to_vec();
            steps.push(role);
            steps.extend(rest);
            let path = path_from(steps);
            prop_assert_eq!(is_served(&path), role == DEVICE_ROLE, "{}", path);
        }

        /// Outside the purpose `m/74'`: always served (but `m`).
        #[test]
        fn outside_the_purpose_everything_is_served(
            steps in proptest::collection::vec(child(), 1..6),
        ) {
            let path = path_from(steps);
            prop_assume!(path.as_slice().first() != PATHS::ROOT.as_slice().first());
            prop_assert!(is_served(&path), "{}", path);
        }

        /// Inside the purpose `m/74'` but outside the device subtree: always refused.
        #[test]
        fn inside_the_purpose_only_the_device_subtree_is_served(
            branch in child(),
            rest in proptest::collection::vec(child(), 0..4),
        ) {
            let mut steps = vec![PATHS::ROOT.as_slice()[0], branch];
            steps.extend(rest);
            let path = path_from(steps);
            let devices: Vec<ChildNumber> =
                PATHS::ROOT.as_slice().iter().copied().chain([DEVICE_ROLE]).collect();
            prop_assert_eq!(is_served(&path), path.as_slice().starts_with(&devices), "{}", path);
        }

        /// Every ancestor of the branch, and the branch itself, is refused.
        #[test]
        fn ancestors_are_refused(len in 0usize..=2) {
            let path = path_from(PATHS::ROOT.as_slice().get(..len).unwrap().to_vec());
            prop_assert!(!is_served(&path), "{}", path);
        }
    }
}
