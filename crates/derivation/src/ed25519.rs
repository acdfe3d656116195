//! SLIP-0010 ed25519: hardened-only HD keys from HMAC-SHA512 with key `"ed25519 seed"`.
//!
//! This is SLIP-0010 proper: the child private key is `IL` itself (no clamping, no scalar
//! addition), every step is hardened, and the public key is the RFC 8032 ed25519 key of
//! that 32-byte secret. It is **not** BIP32-Ed25519 (Khovratovich–Law), whose clamped
//! scalars and non-hardened steps give different, wallet-incompatible keys.

use core::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::common::{NodeMeta, check_seed, fingerprint, hmac_sha512, node_meta_accessors};
use crate::error::{Error, Result};
use crate::path::{ChildNumber, DerivationPath, MAX_DEPTH};

/// SLIP-0010's HMAC key for the ed25519 master key.
const SEED_KEY: &[u8] = b"ed25519 seed";

/// A SLIP-0010 ed25519 extended private key: secret key, chain code and position in the tree.
///
/// Secret: zeroized on drop, not `Clone`, `Debug` shows only the public position. The key
/// bytes are reachable through [`ExtendedPrivateKey::expose_secret`] only; it signs with
/// [`ExtendedPrivateKey::sign`] without handing them out. Deriving a child costs one
/// HMAC-SHA512 plus one public key (the parent's, for the child's parent fingerprint);
/// the child's own public key is computed only when asked for.
pub struct ExtendedPrivateKey {
    private_key: [u8; 32],
    meta: NodeMeta,
}

impl ExtendedPrivateKey {
    /// The master key of a seed: `I = HMAC-SHA512("ed25519 seed", seed)`.
    ///
    /// # Errors
    /// [`Error::InvalidSeedLength`] unless the seed has 16 to 64 bytes.
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        check_seed(seed)?;
        let i = hmac_sha512(SEED_KEY, &[seed]);
        Ok(Self {
            private_key: i.left(),
            meta: NodeMeta::master(i.right()),
        })
    }

    /// The key at `path` below the master key of `seed`.
    ///
    /// # Errors
    /// As [`ExtendedPrivateKey::from_seed`] and [`ExtendedPrivateKey::derive_path`].
    pub fn derive_from_seed(seed: &[u8], path: &DerivationPath) -> Result<Self> {
        Self::from_seed(seed)?.derive_path(path)
    }

    /// The hardened child `child` of this key.
    ///
    /// # Errors
    /// [`Error::HardenedOnly`] for a non-hardened `child`; [`Error::DepthOverflow`] below depth 255.
    pub fn derive_child(&self, child: ChildNumber) -> Result<Self> {
        if !child.is_hardened() {
            return Err(Error::HardenedOnly {
                index: child.index(),
            });
        }
        if self.meta.at_max_depth() {
            return Err(Error::DepthOverflow);
        }
        Ok(self.child_unchecked(child, self.fingerprint()))
    }

    /// The key reached by applying every step of `path` below this key; on a master key,
    /// the key at `path`.
    ///
    /// The whole path is checked before anything is computed; intermediate levels cost one
    /// HMAC each, and only the last parent's public key is computed (for the fingerprint).
    ///
    /// # Errors
    /// [`Error::HardenedOnly`] if any step is not hardened; [`Error::DepthOverflow`] past depth 255.
    pub fn derive_path(&self, path: &DerivationPath) -> Result<Self> {
        self.check_path(path)?;
        Ok(self.walk_unchecked(path, Self::fingerprint))
    }

    /// The key at `path` below this key, whose path the caller has checked (hardened steps,
    /// depth). Intermediate keys are never returned, so their fingerprint is not computed;
    /// the last step's parent fingerprint is `parent_fingerprint(parent)`.
    fn walk_unchecked(
        &self,
        path: &DerivationPath,
        parent_fingerprint: impl FnOnce(&Self) -> [u8; 4],
    ) -> Self {
        let Some((last, init)) = path.as_slice().split_last() else {
            return self.duplicate();
        };
        let mut current: Option<Self> = None;
        for step in init {
            let parent = current.as_ref().unwrap_or(self);
            current = Some(parent.child_unchecked(*step, [0; 4]));
        }
        let parent = current.as_ref().unwrap_or(self);
        parent.child_unchecked(*last, parent_fingerprint(parent))
    }

    /// Checks that every step of `path` is hardened and that it stays within
    /// [`MAX_DEPTH`] below this key.
    fn check_path(&self, path: &DerivationPath) -> Result<()> {
        if let Some(step) = path.iter().find(|c| !c.is_hardened()) {
            return Err(Error::HardenedOnly {
                index: step.index(),
            });
        }
        if usize::from(self.meta.depth).saturating_add(path.len()) > MAX_DEPTH {
            return Err(Error::DepthOverflow);
        }
        Ok(())
    }

    /// One hardened SLIP-0010 step; the caller has checked hardening and depth.
    fn child_unchecked(&self, child: ChildNumber, parent_fingerprint: [u8; 4]) -> Self {
        let i = hmac_sha512(
            self.meta.chain_code.expose_secret(),
            &[&[0u8], &self.private_key, &child.to_be_bytes()],
        );
        Self {
            private_key: i.left(),
            meta: self.meta.child(i.right(), child, parent_fingerprint),
        }
    }

    /// A copy, for `derive_path(m)`; deliberately not `Clone`.
    fn duplicate(&self) -> Self {
        Self {
            private_key: self.private_key,
            meta: self.meta.duplicate(),
        }
    }

    node_meta_accessors!(
        parent_fingerprint = "First 4 bytes of HASH160 of the parent's `0x00 ‖ public key` (zero for the master key)."
    );

    /// The 32-byte ed25519 secret key (RFC 8032 "seed"): the one accessor to the key bytes.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.private_key
    }

    /// The RFC 8032 ed25519 signature of `message` under this key. The key bytes stay in
    /// this type (a transient `ed25519-dalek` key, wiped on drop, signs): a caller that
    /// needs a signer of its own takes the bytes through
    /// [`expose_secret`](Self::expose_secret), the one accessor.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Signature {
        SigningKey::from_bytes(&self.private_key).sign(message)
    }

    /// The ed25519 verifying key.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        SigningKey::from_bytes(&self.private_key).verifying_key()
    }

    /// The 32-byte ed25519 public key (computed on each call).
    ///
    /// SLIP-0010's vectors print it as 33 bytes with a `0x00` prefix; that form is
    /// [`ExtendedPrivateKey::slip10_public_key`].
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        self.verifying_key().to_bytes()
    }

    /// The public key in SLIP-0010's 33-byte form, `0x00 ‖ public_key()`, as in the vectors.
    #[must_use]
    pub fn slip10_public_key(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        let public = self.public_key();
        if let Some(dst) = out.get_mut(1..) {
            dst.copy_from_slice(&public);
        }
        out
    }

    /// This key's own fingerprint: first 4 bytes of HASH160(`0x00 ‖ public key`).
    #[must_use]
    pub fn fingerprint(&self) -> [u8; 4] {
        fingerprint(&self.slip10_public_key())
    }
}

/// The SLIP-0010 ed25519 private key at a path, without the chain code and position of an
/// [`ExtendedPrivateKey`]: what a signer or a key derivation needs.
///
/// The same key bytes as [`ExtendedPrivateKey::derive_from_seed`] at the same path (test
/// `private_key_equals_the_extended_key`), one public key cheaper: an extended key carries
/// its parent's fingerprint, which costs the parent's public key (about half of a
/// derivation); this type has no fingerprint, so none is computed.
///
/// Secret: zeroized on drop, not `Clone`, `Debug` shows nothing of it; the key bytes are
/// reachable through [`PrivateKey::expose_secret`] only.
pub struct PrivateKey([u8; 32]);

impl PrivateKey {
    /// The private key at `path` below the master key of `seed`.
    ///
    /// # Errors
    /// As [`ExtendedPrivateKey::derive_from_seed`]: [`Error::InvalidSeedLength`],
    /// [`Error::HardenedOnly`], [`Error::DepthOverflow`].
    pub fn derive_from_seed(seed: &[u8], path: &DerivationPath) -> Result<Self> {
        let master = ExtendedPrivateKey::from_seed(seed)?;
        master.check_path(path)?;
        // The node's meta (with a zero parent fingerprint) is dropped here, wiped, unread.
        let node = master.walk_unchecked(path, |_| [0; 4]);
        Ok(Self(node.private_key))
    }

    /// The 32-byte ed25519 secret key (RFC 8032 "seed"): the one accessor to the key bytes.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 32-byte ed25519 public key (computed on each call).
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        SigningKey::from_bytes(&self.0).verifying_key().to_bytes()
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ed25519::PrivateKey(..)")
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for PrivateKey {}

impl fmt::Debug for ExtendedPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ed25519::ExtendedPrivateKey")
            .field("depth", &self.meta.depth)
            .field("child_number", &self.meta.child_number)
            .finish_non_exhaustive()
    }
}

impl ExtendedPrivateKey {
    /// Wipes the secret parts (private: a wiped key must never be used, so only `Drop`
    /// calls it).
    fn wipe(&mut self) {
        self.private_key.zeroize();
        self.meta.zeroize();
    }
}

impl Drop for ExtendedPrivateKey {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl ZeroizeOnDrop for ExtendedPrivateKey {}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn rejects_normal_steps_and_bad_seeds() {
        let master = ExtendedPrivateKey::from_seed(&SEED).unwrap();
        assert_eq!(
            master
                .derive_child(ChildNumber::normal(3).unwrap())
                .unwrap_err(),
            Error::HardenedOnly { index: 3 }
        );
        let path: DerivationPath = "m/0'/1/2'".parse().unwrap();
        assert_eq!(
            master.derive_path(&path).unwrap_err(),
            Error::HardenedOnly { index: 1 }
        );
        assert!(ExtendedPrivateKey::from_seed(&[0; 15]).is_err());
        assert!(ExtendedPrivateKey::from_seed(&[0; 65]).is_err());
    }

    #[test]
    fn derive_path_equals_step_by_step() {
        let master = ExtendedPrivateKey::from_seed(&SEED).unwrap();
        let path: DerivationPath = "m/74'/2'/0'/0'".parse().unwrap();
        let by_path = master.derive_path(&path).unwrap();
        let mut key = master.derive_path(&DerivationPath::MASTER).unwrap();
        for step in &path {
            key = key.derive_child(step).unwrap();
        }
        assert_eq!(by_path.expose_secret(), key.expose_secret());
        assert_eq!(by_path.chain_code(), key.chain_code());
        assert_eq!(by_path.parent_fingerprint(), key.parent_fingerprint());
        assert_eq!(by_path.depth(), 4);
        assert_eq!(by_path.child_number(), ChildNumber::hardened(0).unwrap());
    }

    #[test]
    fn private_key_equals_the_extended_key() {
        for path in ["m", "m/0'", "m/74'/2'/0'/0'", "m/0'/1'/2'/2'/1000000000'"] {
            let path: DerivationPath = path.parse().unwrap();
            let extended = ExtendedPrivateKey::derive_from_seed(&SEED, &path).unwrap();
            let key = PrivateKey::derive_from_seed(&SEED, &path).unwrap();
            assert_eq!(key.expose_secret(), extended.expose_secret());
            assert_eq!(key.public_key(), extended.public_key());
        }
        let normal: DerivationPath = "m/0'/1/2'".parse().unwrap();
        assert_eq!(
            PrivateKey::derive_from_seed(&SEED, &normal).unwrap_err(),
            Error::HardenedOnly { index: 1 }
        );
        assert!(PrivateKey::derive_from_seed(&[0; 15], &DerivationPath::MASTER).is_err());
        let key = PrivateKey::derive_from_seed(&SEED, &DerivationPath::MASTER).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "ed25519::PrivateKey(..)");
    }

    #[test]
    fn depth_is_capped() {
        let master = ExtendedPrivateKey::from_seed(&SEED).unwrap();
        let deep: DerivationPath = format!("m{}", "/1'".repeat(255)).parse().unwrap();
        let key = master.derive_path(&deep).unwrap();
        assert_eq!(key.depth(), 255);
        assert_eq!(
            key.derive_child(ChildNumber::hardened(0).unwrap())
                .unwrap_err(),
            Error::DepthOverflow
        );
        let one: DerivationPath = "m/0'".parse().unwrap();
        assert_eq!(key.derive_path(&one).unwrap_err(), Error::DepthOverflow);
    }
}
