//! `AuditSigner`: the ed25519 key that signs audit checkpoints, as a capability.

use core::fmt;

use hexvault_audit::{SigningKey, VerifyingKey};
use hexvault_derivation::{PATHS, ed25519::PrivateKey};
use hexvault_mnemonic::Seed;
use subtle::{Choice, ConstantTimeEq};
use zeroize::ZeroizeOnDrop;

use crate::Result;

/// The audit checkpoint signer: the SLIP-0010 ed25519 key at `m/74'/2'/2'/0'`.
///
/// It exposes its verifying (public) key freely. The signing key leaves it only by moving
/// into the audit log that signs with it: `LogOptions::signing_key(signer)` takes the signer
/// through `From<AuditSigner> for SigningKey`, the one crate-boundary conversion, so no caller
/// ever sees key bytes and no copy is left behind. Zeroized on drop (the inner key wipes
/// itself), not `Clone`, `Debug` prints only the public key, equality is constant-time.
///
/// The key it moves into is opaque too: no byte accessor, no `Clone`.
/// ```compile_fail
/// fn steal(signer: hexvault_keys::AuditSigner) -> [u8; 32] {
///     hexvault_keys::SigningKey::from(signer).to_bytes()
/// }
/// ```
/// ```compile_fail
/// fn copy(signer: hexvault_keys::AuditSigner) {
///     let key = hexvault_keys::SigningKey::from(signer);
///     let _twice = (key.clone(), key);
/// }
/// ```
pub struct AuditSigner(SigningKey);

impl AuditSigner {
    /// The audit signer of `seed`: the ed25519 key whose 32-byte secret is the SLIP-0010
    /// private key at [`PATHS::AUDIT_SIGNING`].
    ///
    /// # Errors
    /// [`crate::Error::Derivation`] if the derivation fails.
    pub fn from_seed(seed: &Seed) -> Result<Self> {
        let node = PrivateKey::derive_from_seed(seed.expose_secret(), &PATHS::AUDIT_SIGNING)?;
        // Through the one accessor into the audit crate's opaque key (`node` wipes its copy
        // on drop): from here on it cannot be read back.
        Ok(Self(SigningKey::from_bytes(node.expose_secret())))
    }

    /// The public key that verifies this signer's checkpoints (give it to verifiers).
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }
}

/// Moves the key into what signs with it (`hexvault_audit::LogOptions::signing_key`): the
/// one way the secret crosses a crate boundary, by move, never as bytes.
impl From<AuditSigner> for SigningKey {
    fn from(signer: AuditSigner) -> Self {
        signer.0
    }
}

/// `SigningKey` wipes its secret in its own `Drop`.
impl ZeroizeOnDrop for AuditSigner {}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigner")
            .field("verifying_key", &self.verifying_key())
            .finish_non_exhaustive()
    }
}

impl ConstantTimeEq for AuditSigner {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for AuditSigner {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for AuditSigner {}

/// The audit signer of `seed` ([`AuditSigner::from_seed`]).
///
/// # Errors
/// [`crate::Error::Derivation`] if the derivation fails.
pub fn audit_signer(seed: &Seed) -> Result<AuditSigner> {
    AuditSigner::from_seed(seed)
}
