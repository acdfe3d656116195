//! `DetachedKey`: AES-256-GCM under a caller's own header, with nonces the key chooses.
//!
//! For formats that own their header (the cells crate's blob): the caller asks the key for
//! a [`FreshNonce`], writes its bytes into its header, then seals with the header as
//! associated data, consuming the nonce. A `FreshNonce` has no public constructor, is not
//! `Clone`, and is refused by every key but the one that issued it, so no caller can seal
//! under a nonce of its choice or use one twice.
//!
//! Each instance draws a uniformly random 96-bit base from the OS CSPRNG when it is built, and
//! its `n`-th nonce is `base + n mod 2^96` (ADR 0050): every nonce is uniform over 2^96 values,
//! the nonces of one instance never repeat (at most 2^32 of them), and two instances of one
//! key collide only if their ranges `[base, base + n)` overlap. For `k` instances (process
//! restarts, cache evictions) sealing `q` messages in all, a repeat has probability below
//! `k * q / 2^96 <= q^2 / 2^96`, within a factor of two of independent random nonces, at the
//! cost of an addition.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::backend::{self, AeadBackend, Backend, NONCE_LEN, TAG_LEN};
use crate::nonce::{KeyUsage, SealCounter};
use crate::{Error, Key, KeyVersion, Result};

/// Source of instance ids, so a nonce is only accepted by the key that issued it.
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// A nonce issued by one [`DetachedKey`] for one seal: read its bytes into your header,
/// then hand it back to [`DetachedKey::seal_detached`], which consumes it.
pub struct FreshNonce {
    instance: u64,
    bytes: [u8; NONCE_LEN],
}

impl FreshNonce {
    /// The 12 nonce bytes, to be written into the caller's header (nonces are public).
    #[must_use]
    pub const fn bytes(&self) -> &[u8; NONCE_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for FreshNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshNonce").finish_non_exhaustive()
    }
}

/// An AES-256-GCM key schedule for callers that write their own header.
///
/// Sealing takes a [`FreshNonce`] the key issued ([`fresh_nonce`](Self::fresh_nonce));
/// opening takes the nonce read back from the caller's header. One instance seals at most
/// 2^32 messages ([`SEAL_LIMIT`](crate::SEAL_LIMIT)); across all instances of one key,
/// rotate it before `k * q / 2^96` (`k` instances, `q` seals in all; at most `q^2 / 2^96`,
/// 2^-32 at `q = 2^32`) becomes a risk you do not accept.
///
/// `Send + Sync`: share it between threads; nonces stay distinct.
pub struct DetachedKey {
    version: KeyVersion,
    instance: u64,
    schedule: Box<dyn AeadBackend>,
    /// Random 96-bit base of this instance's nonces (the top 32 bits are zero).
    base: u128,
    counter: SealCounter,
}

/// Nonces are taken modulo 2^96.
const NONCE_MASK: u128 = (1 << 96) - 1;

impl DetachedKey {
    /// Builds the key schedule (ring backend) and draws the instance's random nonce key.
    /// The `Key` is consumed and zeroized.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn new(key: Key, version: KeyVersion) -> Result<Self> {
        Self::with_backend(key, version, Backend::Ring)
    }

    /// As [`DetachedKey::new`], with a chosen backend (with
    /// [`Backend::RustCrypto`](crate::Backend) the expanded schedules are wiped on drop).
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn with_backend(key: Key, version: KeyVersion, backend: Backend) -> Result<Self> {
        let mut base = [0u8; 16];
        if let Some(low) = base.get_mut(16 - NONCE_LEN..) {
            crate::rng::fill(low)?;
        }
        Ok(Self {
            version,
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            schedule: backend::build(backend, key.expose_secret())?,
            base: u128::from_be_bytes(base),
            counter: SealCounter::starting_at(0),
        })
    }

    /// The key version this key was built for.
    #[must_use]
    pub const fn version(&self) -> KeyVersion {
        self.version
    }

    /// Seals issued so far and the state they imply.
    #[must_use]
    pub fn usage(&self) -> KeyUsage {
        KeyUsage::new(self.counter.used())
    }

    /// Issues the nonce of the next seal.
    ///
    /// # Errors
    /// [`Error::KeyExhausted`] after 2^32 nonces.
    pub fn fresh_nonce(&self) -> Result<FreshNonce> {
        let n = self.counter.take().ok_or(Error::KeyExhausted {
            version: self.version,
        })?;
        let value = self.base.wrapping_add(u128::from(n)) & NONCE_MASK;
        let wide = value.to_be_bytes();
        let mut bytes = [0u8; NONCE_LEN];
        bytes.copy_from_slice(wide.get(16 - NONCE_LEN..).ok_or(Error::Internal {
            what: "a u128 has 16 bytes",
        })?);
        Ok(FreshNonce {
            instance: self.instance,
            bytes,
        })
    }

    /// Encrypts `in_out` in place under `nonce` (issued by this key) and `aad`; returns the
    /// 16-byte tag.
    ///
    /// # Errors
    /// [`Error::Internal`] for a nonce issued by another key instance; [`Error::TooLong`]
    /// past the GCM limit.
    pub fn seal_detached(
        &self,
        nonce: FreshNonce,
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        if nonce.instance != self.instance {
            return Err(Error::Internal {
                what: "a FreshNonce was handed to a key that did not issue it",
            });
        }
        self.schedule.seal_in_place(nonce.bytes, aad, in_out)
    }

    /// Verifies `tag` over `aad` and `in_out` under `nonce` (read from the caller's header)
    /// and decrypts in place. On failure `in_out` is zeroed.
    ///
    /// # Errors
    /// [`Error::Authentication`] for a wrong key, nonce, `aad`, ciphertext or tag.
    pub fn open_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        self.schedule.open_in_place(*nonce, aad, in_out, tag)
    }
}

impl fmt::Debug for DetachedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetachedKey")
            .field("version", &self.version)
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn key(byte: u8) -> DetachedKey {
        DetachedKey::new(Key::from_bytes([byte; 32]), KeyVersion::FIRST).unwrap()
    }

    #[test]
    fn round_trip_and_tamper() {
        let k = key(1);
        let nonce = k.fresh_nonce().unwrap();
        let n = *nonce.bytes();
        let mut buf = *b"hello world";
        let tag = k.seal_detached(nonce, b"hdr", &mut buf).unwrap();
        assert_ne!(&buf, b"hello world");
        let sealed = buf;
        k.open_detached(&n, b"hdr", &mut buf, &tag).unwrap();
        assert_eq!(&buf, b"hello world");
        let mut wrong = sealed;
        assert!(k.open_detached(&n, b"hdx", &mut wrong, &tag).is_err());
        assert_eq!(wrong, [0; 11]);
        let mut flipped = sealed;
        flipped[0] ^= 1;
        assert!(k.open_detached(&n, b"hdr", &mut flipped, &tag).is_err());
        let other = key(2);
        let mut again = sealed;
        assert!(other.open_detached(&n, b"hdr", &mut again, &tag).is_err());
    }

    #[test]
    fn a_nonce_is_refused_by_another_instance() {
        let (a, b) = (key(1), key(1));
        let nonce = a.fresh_nonce().unwrap();
        assert!(matches!(
            b.seal_detached(nonce, b"", &mut [0u8; 4]),
            Err(Error::Internal { .. })
        ));
    }

    #[test]
    fn nonces_are_distinct_within_and_across_instances() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..4 {
            let k = key(3);
            for _ in 0..5000 {
                assert!(seen.insert(*k.fresh_nonce().unwrap().bytes()));
            }
        }
        assert_eq!(key(3).usage().sealed(), 0);
    }

    #[test]
    fn nonces_count_up_from_a_random_96_bit_base_and_wrap() {
        let mut k = key(4);
        let first = u128::from_be_bytes({
            let mut w = [0u8; 16];
            w[4..].copy_from_slice(k.fresh_nonce().unwrap().bytes());
            w
        });
        assert_eq!(first, k.base);
        assert_eq!(k.base >> 96, 0);
        // A base at the top of the range wraps to 0 instead of spilling into bit 96.
        k.base = NONCE_MASK;
        let mut wrapped = [0u8; 16];
        wrapped[4..].copy_from_slice(k.fresh_nonce().unwrap().bytes());
        assert_eq!(u128::from_be_bytes(wrapped), 0);
        // Two instances of one key draw different bases.
        assert_ne!(key(4).base, key(4).base);
    }

    #[test]
    fn debug_prints_no_key() {
        let k = key(9);
        assert!(format!("{k:?}").starts_with("DetachedKey {"));
        assert_eq!(
            format!("{:?}", k.fresh_nonce().unwrap()),
            "FreshNonce { .. }"
        );
    }
}
