//! `Seed`, the 64-byte BIP-39 seed, and the PBKDF2 computation that produces it.

use core::fmt;
use core::num::NonZeroU32;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::normalize::nfkd;
use crate::{Error, Result};

/// BIP-39: PBKDF2 with HMAC-SHA512 and 2048 iterations.
const PBKDF2_ROUNDS: NonZeroU32 = match NonZeroU32::new(2048) {
    Some(rounds) => rounds,
    None => NonZeroU32::MIN,
};

/// BIP-39: the salt is `"mnemonic"` followed by the NFKD passphrase.
const SALT_PREFIX: &[u8] = b"mnemonic";

/// The 64-byte BIP-39 seed, the root of every hexvault key.
///
/// Zeroized on drop, not `Clone`, `Debug` prints no byte, and equality runs in
/// constant time. The bytes are reachable only through [`Seed::expose_secret`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; Seed::LEN]);

impl Seed {
    /// Length of a seed in bytes.
    pub const LEN: usize = 64;

    /// Wraps 64 seed bytes (for example a seed read back from storage).
    ///
    /// The array is moved in; a copy the caller still holds elsewhere is the
    /// caller's to zeroize.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// Copies a 64-byte slice into a seed.
    ///
    /// # Errors
    ///
    /// [`Error::BadSeedLength`] unless `bytes` is exactly 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let mut seed = Self([0; Self::LEN]);
        if bytes.len() != Self::LEN {
            return Err(Error::BadSeedLength { len: bytes.len() });
        }
        seed.0.copy_from_slice(bytes);
        Ok(seed)
    }

    /// The 64 seed bytes: the one accessor to the secret.
    #[must_use]
    pub const fn expose_secret(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// BIP-39 seed: PBKDF2-HMAC-SHA512, 2048 rounds, password = `phrase` (already NFKD),
    /// salt = `"mnemonic"` + NFKD(`passphrase`). Computed with `ring` (see ADR 0010).
    pub(crate) fn derive(normalized_phrase: &str, passphrase: &str) -> Self {
        let passphrase = nfkd(passphrase);
        let mut salt = Zeroizing::new(Vec::with_capacity(SALT_PREFIX.len() + passphrase.len()));
        salt.extend_from_slice(SALT_PREFIX);
        salt.extend_from_slice(passphrase.as_bytes());
        let mut seed = Self([0; Self::LEN]);
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA512,
            PBKDF2_ROUNDS,
            &salt,
            normalized_phrase.as_bytes(),
            &mut seed.0,
        );
        seed
    }
}

impl ConstantTimeEq for Seed {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Seed {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Seed {}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seed").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_lengths() {
        let a = Seed::from_bytes([7; 64]);
        let b = Seed::from_slice(&[7; 64]).unwrap();
        let mut other = [7; 64];
        other[63] = 8;
        let c = Seed::from_bytes(other);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.expose_secret(), &[7; 64]);
        for len in [0, 32, 63, 65] {
            assert_eq!(
                Seed::from_slice(&vec![0; len]).unwrap_err(),
                Error::BadSeedLength { len }
            );
        }
    }

    #[test]
    fn zeroize_wipes() {
        let mut seed = Seed::from_bytes([0xA5; 64]);
        seed.zeroize();
        assert_eq!(seed.expose_secret(), &[0; 64]);
    }
}
