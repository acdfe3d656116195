//! `MasterSecret`: the secret that SLIP-0039 shares split and recover.

use core::fmt;

use hexvault_mnemonic::{Language, Mnemonic, Seed};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

/// Shortest master secret: 128 bits (SLIP-0039 requires at least that much entropy).
pub const MIN_SECRET_LEN: usize = 16;
/// Longest master secret: 512 bits, the longest BIP-32 seed.
pub const MAX_SECRET_LEN: usize = 64;

/// A SLIP-0039 master secret: an even number of bytes from 16 to 64 (16 or 32 in
/// practice).
///
/// Two readings of it exist, and the holder of the shares must know which one was split:
///
/// - **SLIP-0039** ([`MasterSecret::to_seed`]): the master secret *is* the BIP-32 master
///   seed. Shares made by Trezor and other SLIP-0039 wallets are of this kind.
/// - **BIP-39 entropy** ([`MasterSecret::from_mnemonic`], [`MasterSecret::to_mnemonic`]):
///   the master secret is the entropy of a BIP-39 phrase, and the seed is that phrase's
///   BIP-39 seed (PBKDF2 of the phrase and its BIP-39 passphrase). This is what splitting
///   an existing hexvault phrase gives: the phrase comes back whole.
///
/// Zeroized on drop, not `Clone`, `Debug` prints only the length, equality in constant
/// time. The bytes are reachable only through [`MasterSecret::expose_secret`].
#[derive(ZeroizeOnDrop)]
pub struct MasterSecret(Zeroizing<Vec<u8>>);

impl MasterSecret {
    /// Copies `bytes` into a master secret.
    ///
    /// # Errors
    ///
    /// [`Error::BadSecretLength`] unless `bytes` is an even number of bytes from 16 to 64.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        check_len(bytes.len())?;
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    pub(crate) fn from_zeroizing(bytes: Zeroizing<Vec<u8>>) -> Result<Self> {
        check_len(bytes.len())?;
        Ok(Self(bytes))
    }

    /// A new random master secret of `len` bytes from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::BadSecretLength`] as [`from_bytes`](Self::from_bytes); [`Error::Rng`].
    pub fn generate(len: usize) -> Result<Self> {
        check_len(len)?;
        let mut bytes = Zeroizing::new(vec![0_u8; len]);
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Rng)?;
        Ok(Self(bytes))
    }

    /// The entropy of an English BIP-39 phrase as a master secret (16, 20, 24, 28 or 32
    /// bytes for 12 to 24 words).
    ///
    /// Shares keep the entropy, not the word list, and a BIP-39 seed is PBKDF2 of the words:
    /// the same entropy written in Italian is another seed. Whoever reads the shares back
    /// (`hexvault shares combine`, the unlock of `hexvault_service::ShareSeed::Bip39Entropy`)
    /// writes the phrase in English, so a phrase in another word list is refused here rather
    /// than split into shares that would open another vault.
    ///
    /// # Errors
    ///
    /// [`Error::NonEnglishPhrase`] for a phrase of another BIP-39 word list;
    /// [`Error::BadSecretLength`] never in practice (every BIP-39 entropy length is valid).
    pub fn from_mnemonic(mnemonic: &Mnemonic) -> Result<Self> {
        if mnemonic.language() != Language::English {
            return Err(Error::NonEnglishPhrase {
                language: mnemonic.language(),
            });
        }
        Self::from_zeroizing(mnemonic.entropy())
    }

    /// The BIP-39 phrase whose entropy this master secret is (see the type's docs). Shares
    /// made by [`MasterSecret::from_mnemonic`] are of an English phrase: `language` other
    /// than [`Language::English`] gives a phrase of another BIP-39 seed (for shares another
    /// tool made from a phrase in that word list).
    ///
    /// # Errors
    ///
    /// [`Error::Mnemonic`] ([`hexvault_mnemonic::Error::BadEntropyLength`]) when the
    /// length is not 16, 20, 24, 28 or 32 bytes: then the shares were not made from a
    /// BIP-39 phrase.
    pub fn to_mnemonic(&self, language: Language) -> Result<Mnemonic> {
        Ok(Mnemonic::from_entropy(&self.0, language)?)
    }

    /// The BIP-32 master seed of a SLIP-0039 backup: the master secret itself.
    ///
    /// # Errors
    ///
    /// None in practice (every master secret's length is a valid seed length); the type
    /// says [`Error::Mnemonic`] for completeness.
    pub fn to_seed(&self) -> Result<Seed> {
        Ok(Seed::from_master_secret(&self.0)?)
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false` (a master secret has at least 16 bytes); here for the `len` lint.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The secret bytes: the one accessor to the secret.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

/// Refuses lengths that are not even or not 16 to 64 bytes.
fn check_len(len: usize) -> Result<()> {
    if (MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&len) && len.is_multiple_of(2) {
        Ok(())
    } else {
        Err(Error::BadSecretLength { len })
    }
}

impl ConstantTimeEq for MasterSecret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.as_slice().ct_eq(other.0.as_slice())
    }
}

impl PartialEq for MasterSecret {
    /// Constant-time comparison (the lengths are not secret).
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for MasterSecret {}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterSecret")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_equality_and_debug() {
        for len in [0, 14, 15, 17, 66] {
            assert_eq!(
                MasterSecret::from_bytes(&vec![1; len]).unwrap_err(),
                Error::BadSecretLength { len }
            );
        }
        let a = MasterSecret::from_bytes(&[1; 16]).unwrap();
        let b = MasterSecret::from_bytes(&[1; 16]).unwrap();
        let c = MasterSecret::from_bytes(&[2; 16]).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(format!("{a:?}"), "MasterSecret { len: 16, .. }");
        let g = MasterSecret::generate(32).unwrap();
        assert_eq!(g.len(), 32);
        assert_ne!(g, MasterSecret::generate(32).unwrap());
        assert_eq!(a.to_seed().unwrap().expose_secret(), &[1; 16]);
    }
}
