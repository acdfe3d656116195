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

/// The BIP-32 master seed, the root of every hexvault key: the 64-byte BIP-39 seed, or
/// (through [`Seed::from_master_secret`]) a SLIP-0039 master secret of 16 to 64 bytes,
/// which SLIP-0039 uses as the BIP-32 seed directly.
///
/// Zeroized on drop, not `Clone`, `Debug` prints no byte, and equality runs in
/// constant time. The bytes are reachable only through [`Seed::expose_secret`].
pub struct Seed {
    bytes: [u8; Seed::LEN],
    /// How many of `bytes` are the seed: 64 for BIP-39, 16 to 64 for SLIP-0039.
    len: u8,
}

impl Seed {
    /// Length of a BIP-39 seed in bytes (and the longest BIP-32 seed).
    pub const LEN: usize = 64;

    /// Shortest BIP-32 seed accepted by [`Seed::from_master_secret`]: 128 bits.
    pub const MIN_MASTER_SECRET_LEN: usize = 16;

    /// Wraps 64 seed bytes (for example a seed read back from storage).
    ///
    /// The array is moved in; a copy the caller still holds elsewhere is the
    /// caller's to zeroize.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self { bytes, len: 64 }
    }

    /// Copies a 64-byte slice into a seed.
    ///
    /// # Errors
    ///
    /// [`Error::BadSeedLength`] unless `bytes` is exactly 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != Self::LEN {
            return Err(Error::BadSeedLength { len: bytes.len() });
        }
        Self::from_master_secret(bytes)
    }

    /// Copies a SLIP-0039 master secret (16 to 64 bytes) into a seed: SLIP-0039 uses the
    /// master secret itself as the BIP-32 master seed.
    ///
    /// # Errors
    ///
    /// [`Error::BadSeedLength`] unless `bytes` is 16 to 64 bytes long.
    pub fn from_master_secret(bytes: &[u8]) -> Result<Self> {
        let len = bytes.len();
        let mut seed = Self {
            bytes: [0; Self::LEN],
            len: 0,
        };
        match (seed.bytes.get_mut(..len), u8::try_from(len)) {
            (Some(head), Ok(len8)) if len >= Self::MIN_MASTER_SECRET_LEN => {
                head.copy_from_slice(bytes);
                seed.len = len8;
                Ok(seed)
            }
            _ => Err(Error::BadSeedLength { len }),
        }
    }

    /// The seed bytes (64 for a BIP-39 seed): the one accessor to the secret.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.bytes
            .get(..usize::from(self.len))
            .unwrap_or(&self.bytes)
    }

    /// BIP-39 seed: PBKDF2-HMAC-SHA512, 2048 rounds, password = `phrase` (already NFKD),
    /// salt = `"mnemonic"` + NFKD(`passphrase`). Computed with `ring` (see ADR 0010).
    pub(crate) fn derive(normalized_phrase: &str, passphrase: &str) -> Self {
        let passphrase = nfkd(passphrase);
        let mut salt = Zeroizing::new(Vec::with_capacity(SALT_PREFIX.len() + passphrase.len()));
        salt.extend_from_slice(SALT_PREFIX);
        salt.extend_from_slice(passphrase.as_bytes());
        let mut seed = Self::from_bytes([0; Self::LEN]);
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA512,
            PBKDF2_ROUNDS,
            &salt,
            normalized_phrase.as_bytes(),
            &mut seed.bytes,
        );
        seed
    }
}

/// Wiped on drop, and only then: there is no public `zeroize()`, since a wiped seed (all
/// zeros) would still root keys, the all-zero seed's, which anybody can compute.
impl Drop for Seed {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl ZeroizeOnDrop for Seed {}

impl ConstantTimeEq for Seed {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        // Lengths are public (64, or a SLIP-0039 master secret's 16 to 64).
        self.expose_secret().ct_eq(other.expose_secret())
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
        let short = Seed::from_master_secret(&[7; 16]).unwrap();
        assert_eq!(short.expose_secret(), &[7; 16]);
        assert_ne!(short, a);
        assert_eq!(Seed::from_master_secret(&[7; 64]).unwrap(), a);
        for len in [0, 15, 65] {
            assert_eq!(
                Seed::from_master_secret(&vec![0; len]).unwrap_err(),
                Error::BadSeedLength { len }
            );
        }
        for len in [0, 32, 63, 65] {
            assert_eq!(
                Seed::from_slice(&vec![0; len]).unwrap_err(),
                Error::BadSeedLength { len }
            );
        }
    }
}
