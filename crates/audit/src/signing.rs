//! `SigningKey`: the ed25519 key that signs checkpoints, opaque once built.
//!
//! ed25519-dalek's own `SigningKey` is `Clone` and hands out its secret (`to_bytes`). The
//! audit signer is a root-of-trust key (whoever holds it forges checkpoints and anchors), so
//! logs hold it behind this newtype: built from bytes or from a dalek key by move, never
//! cloned, never turned back into bytes, wiped on drop (the inner key zeroizes itself).

use core::fmt;

use ed25519_dalek::{Signature, Signer, VerifyingKey};
use zeroize::ZeroizeOnDrop;

/// An ed25519 checkpoint signing key with no way out: no `Clone`, no byte accessor, `Debug`
/// shows only the public key.
///
/// ```compile_fail
/// let key = hexvault_audit::SigningKey::from_bytes(&[1; 32]);
/// let _ = key.to_bytes();
/// ```
/// ```compile_fail
/// let key = hexvault_audit::SigningKey::from_bytes(&[1; 32]);
/// let _copy = key.clone();
/// ```
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// The key whose 32-byte secret (RFC 8032 seed) is `secret`.
    #[must_use]
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    /// The public key that verifies this key's checkpoints.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

/// Takes a dalek key by move (for example the SLIP-0010 node key the application keys
/// derive); from here on it cannot be read back.
impl From<ed25519_dalek::SigningKey> for SigningKey {
    fn from(key: ed25519_dalek::SigningKey) -> Self {
        Self(key)
    }
}

/// Constant-time comparison of the secrets (no byte accessor is needed for it).
impl subtle::ConstantTimeEq for SigningKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

/// The inner dalek key zeroizes its secret in its own `Drop`.
impl ZeroizeOnDrop for SigningKey {}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("verifying_key", &self.verifying_key())
            .finish_non_exhaustive()
    }
}
