//! `KeyRing`: key versions, one primary for sealing, opening by header version, rotation,
//! retirement and re-encryption without exposing plaintext.

use core::fmt;
use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::backend::Backend;
use crate::nonce::KeyUsage;
use crate::sealing::Header;
use crate::{Error, Key, KeyVersion, Plaintext, Result, SealingKey};

/// A set of key versions with one primary.
///
/// * [`seal`](Self::seal) always uses the primary.
/// * [`open`](Self::open) reads the key version from the header and uses that key: one
///   lookup, one authentication, never trial decryption.
/// * [`rotate`](Self::rotate) adds a new primary; older versions stay for opening (the
///   dual-key period) until [`retire_below`](Self::retire_below) drops them.
/// * [`needs_rewrap`](Self::needs_rewrap) and [`rewrap`](Self::rewrap) implement lazy
///   re-encryption: re-seal under the primary when data is read.
///
/// The primary seals at most 2^32 messages; watch [`usage`](Self::usage) and rotate
/// when it reports [`UsageState::RotateSoon`](crate::UsageState::RotateSoon).
/// Mutation (`rotate`, `retire_below`, `add_key`) takes `&mut self`; share a ring
/// between threads behind an `RwLock` if it must rotate while in use.
pub struct KeyRing {
    keys: BTreeMap<KeyVersion, SealingKey>,
    primary: KeyVersion,
    /// The highest minimum ever set by `retire_below`: versions below it never return.
    retired_below: Option<KeyVersion>,
    backend: Backend,
}

impl KeyRing {
    /// A ring with one key, which is the primary (ring backend).
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn new(version: KeyVersion, key: Key) -> Result<Self> {
        Self::with_backend(version, key, Backend::Ring)
    }

    /// As [`KeyRing::new`] with a chosen backend for every key of the ring.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn with_backend(version: KeyVersion, key: Key, backend: Backend) -> Result<Self> {
        let mut keys = BTreeMap::new();
        keys.insert(version, SealingKey::with_backend(key, version, backend)?);
        Ok(Self {
            keys,
            primary: version,
            retired_below: None,
            backend,
        })
    }

    /// Loads an older key version for opening (e.g. at start-up during a dual-key period).
    /// It does not become primary. Lowers the minimum decryption version if needed.
    ///
    /// A version below a minimum set by [`retire_below`](Self::retire_below) is refused:
    /// retirement is final for this ring (build a new ring to read such data again).
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] if the version is already present, not below the
    /// primary, or retired; [`Error::Rng`] if the OS CSPRNG fails.
    pub fn add_key(&mut self, version: KeyVersion, key: Key) -> Result<()> {
        if self.retired_below.is_some_and(|floor| version < floor) {
            return Err(Error::InvalidKeyVersion {
                version: version.get(),
                reason: "this version was retired with retire_below and cannot come back into \
                         this ring; build a new KeyRing if old data must be read again",
            });
        }
        if version >= self.primary || self.keys.contains_key(&version) {
            return Err(Error::InvalidKeyVersion {
                version: version.get(),
                reason: "add_key takes a version below the primary that is not in the ring yet; \
                         use rotate to add a new primary",
            });
        }
        self.keys.insert(
            version,
            SealingKey::with_backend(key, version, self.backend)?,
        );
        Ok(())
    }

    /// Adds `key` as the new primary with version `primary + 1` and returns that version.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] if the version space is spent; [`Error::Rng`].
    pub fn rotate(&mut self, key: Key) -> Result<KeyVersion> {
        let version = self.primary.next()?;
        self.rotate_to(version, key)?;
        Ok(version)
    }

    /// Adds `key` as the new primary with an explicit version, greater than the current.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] if `version` is not greater than the primary;
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn rotate_to(&mut self, version: KeyVersion, key: Key) -> Result<()> {
        if version <= self.primary {
            return Err(Error::InvalidKeyVersion {
                version: version.get(),
                reason: "a new primary must have a version greater than the current primary",
            });
        }
        self.keys.insert(
            version,
            SealingKey::with_backend(key, version, self.backend)?,
        );
        self.primary = version;
        Ok(())
    }

    /// Retires every version below `minimum` (the retirement floor: opening them fails with
    /// [`Error::KeyVersionRetired`], and `add_key` refuses them) and drops their keys:
    /// `min_decrypt_version` becomes the lowest version still held. A dropped key's [`Key`] bytes are
    /// zeroized; its expanded AES key schedule is wiped only with the RustCrypto backend
    /// (ring's prepared key cannot be wiped and is freed as it is, ADR 0021; see the crate
    /// docs). Opening data below it then fails with [`Error::KeyVersionRetired`].
    ///
    /// Re-encrypt first: every blob for which [`needs_rewrap`](Self::needs_rewrap) is
    /// true and whose version is below `minimum` becomes unreadable.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] if `minimum` is above the primary.
    pub fn retire_below(&mut self, minimum: KeyVersion) -> Result<()> {
        if minimum > self.primary {
            return Err(Error::InvalidKeyVersion {
                version: minimum.get(),
                reason: "the minimum decryption version cannot exceed the primary version",
            });
        }
        self.keys.retain(|v, _| *v >= minimum);
        self.retired_below = Some(self.retired_below.map_or(minimum, |f| f.max(minimum)));
        Ok(())
    }

    /// The version new data is sealed under.
    #[must_use]
    pub const fn primary_version(&self) -> KeyVersion {
        self.primary
    }

    /// The lowest version this ring holds a key for: it opens no version below it. Those
    /// below the floor set by [`retire_below`](Self::retire_below) fail with
    /// [`Error::KeyVersionRetired`], the others (never loaded) with
    /// [`Error::UnknownKeyVersion`].
    #[must_use]
    pub fn min_decrypt_version(&self) -> KeyVersion {
        // Derived, not kept: the lowest key held (the primary always is held), whatever
        // `add_key` and `retire_below` did (review round 48: a kept value drifted).
        self.keys.keys().next().copied().unwrap_or(self.primary)
    }

    /// Every version the ring can open, ascending.
    #[must_use]
    pub fn versions(&self) -> Vec<KeyVersion> {
        self.keys.keys().copied().collect()
    }

    /// Usage of the primary key (seal count and state).
    #[must_use]
    pub fn usage(&self) -> KeyUsage {
        self.primary_key()
            .map_or(KeyUsage::new(0), SealingKey::usage)
    }

    /// Seals under the primary key.
    ///
    /// # Errors
    /// [`Error::KeyExhausted`] after 2^32 seals under the primary: rotate.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        self.primary_key()?.seal(plaintext, aad)
    }

    /// Opens with the key the header names.
    ///
    /// # Errors
    /// Header errors, [`Error::KeyVersionRetired`], [`Error::UnknownKeyVersion`],
    /// [`Error::Authentication`].
    pub fn open(&self, blob: &[u8], aad: &[u8]) -> Result<Plaintext> {
        let header = Header::decode(blob)?;
        self.key_for(header.key_version())?.open(blob, aad)
    }

    /// True when `blob` was sealed under a version other than the primary, i.e. a lazy
    /// re-encryption with [`rewrap`](Self::rewrap) is due.
    ///
    /// # Errors
    /// Header errors ([`Error::UnknownMagic`], [`Error::Truncated`], ...).
    pub fn needs_rewrap(&self, blob: &[u8]) -> Result<bool> {
        Ok(Header::decode(blob)?.key_version() != self.primary)
    }

    /// Re-encrypts `blob` under the primary key with the same `aad`, without returning
    /// the plaintext: it lives only in a zeroizing buffer inside this call.
    ///
    /// # Errors
    /// As [`open`](Self::open), then as [`seal`](Self::seal).
    pub fn rewrap(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let header = Header::decode(blob)?;
        let old = self.key_for(header.key_version())?;
        let primary = self.primary_key()?;
        // The sealed layout [header | plaintext | tag] is exactly what seal_in_place
        // expects, so the plaintext never leaves this zeroizing buffer.
        let mut buf = Zeroizing::new(Vec::with_capacity(blob.len()));
        crate::plaintext::extend_from_slice(&mut buf, blob);
        old.open_in_place(aad, &mut buf)?;
        primary.seal_in_place(aad, &mut buf)?;
        // `buf` now holds only ciphertext; take it out, the empty shell is zeroized.
        Ok(core::mem::take(&mut *buf))
    }

    fn primary_key(&self) -> Result<&SealingKey> {
        self.keys
            .get(&self.primary)
            .ok_or(Error::UnknownKeyVersion {
                version: self.primary,
            })
    }

    fn key_for(&self, version: KeyVersion) -> Result<&SealingKey> {
        // Retired only below what `retire_below` set: a version below the lowest ever loaded
        // was never retired, only never loaded (review round 46: it was called retired).
        if let Some(floor) = self.retired_below
            && version < floor
        {
            return Err(Error::KeyVersionRetired {
                version,
                minimum: floor,
            });
        }
        self.keys
            .get(&version)
            .ok_or(Error::UnknownKeyVersion { version })
    }

    /// A ring whose primary starts its nonce counter at `counter`, for limit tests.
    #[cfg(test)]
    pub(crate) fn with_primary_counter(
        version: KeyVersion,
        key: Key,
        counter: u64,
    ) -> Result<Self> {
        let mut keys = BTreeMap::new();
        keys.insert(
            version,
            SealingKey::with_nonce_state(key, version, Backend::Ring, [7; 12], counter)?,
        );
        Ok(Self {
            keys,
            primary: version,
            retired_below: None,
            backend: Backend::Ring,
        })
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("versions", &self.versions())
            .field("primary", &self.primary)
            .field("min_decrypt", &self.min_decrypt_version())
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}
