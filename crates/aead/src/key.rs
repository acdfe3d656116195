//! `Key` (32 secret bytes) and `KeyVersion` (the number a ciphertext header names).

use core::fmt;
use core::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::ZeroizeOnDrop;

use crate::{Error, Result};

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

/// A 32-byte AES-256 key (or HKDF parent key).
///
/// Zeroized on drop, not `Clone`, `Debug` prints no byte, equality is constant time.
/// The bytes are reachable only through [`Key::expose_secret`]. To seal, turn it into a
/// [`SealingKey`](crate::SealingKey), which keeps only the expanded key schedule.
#[derive(ZeroizeOnDrop)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// Wraps 32 bytes of key material.
    ///
    /// The caller's array is copied; zeroize it yourself if it was not moved in.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Copies key material from a slice.
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] unless `bytes` is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKeyLength { len: bytes.len() })?;
        Ok(Self(array))
    }

    /// Draws a fresh key from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS random number generator fails.
    pub fn generate() -> Result<Self> {
        let mut key = Self([0; KEY_LEN]);
        crate::rng::fill(&mut key.0)?;
        Ok(key)
    }

    /// The secret bytes. The one accessor: every use of it is a place to audit.
    #[must_use]
    pub const fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Writable access for deriving straight into the key (HKDF output lands here).
    pub(crate) const fn bytes_mut(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.0
    }

    /// An all-zero key to be filled by a derivation before anyone sees it.
    pub(crate) const fn zeroed() -> Self {
        Self([0; KEY_LEN])
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for Key {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for Key {}

/// The version number of a key, written in every ciphertext header.
///
/// Versions start at 1; 0 is reserved and rejected. `Display` prints the bare number and
/// [`FromStr`] parses it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyVersion(u32);

impl KeyVersion {
    /// The first key version.
    pub const FIRST: Self = Self(1);

    /// Checked constructor.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] for 0, which is reserved.
    pub const fn new(version: u32) -> Result<Self> {
        if version == 0 {
            return Err(Error::InvalidKeyVersion {
                version,
                reason: "key versions start at 1",
            });
        }
        Ok(Self(version))
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The next version, for rotation.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] when the version space (`u32::MAX`) is spent.
    pub const fn next(self) -> Result<Self> {
        match self.0.checked_add(1) {
            Some(v) => Ok(Self(v)),
            None => Err(Error::InvalidKeyVersion {
                version: self.0,
                reason: "no key version after u32::MAX",
            }),
        }
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for KeyVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let n: u32 = s.parse().map_err(|_| Error::InvalidKeyVersion {
            version: 0,
            reason: "not a decimal number between 1 and 4294967295",
        })?;
        Self::new(n)
    }
}

impl TryFrom<u32> for KeyVersion {
    type Error = Error;

    fn try_from(v: u32) -> Result<Self> {
        Self::new(v)
    }
}

impl From<KeyVersion> for u32 {
    fn from(v: KeyVersion) -> Self {
        v.0
    }
}
