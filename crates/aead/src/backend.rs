//! The AES-256-GCM backends (ring, RustCrypto `aes-gcm`) behind one sealed internal trait.
//!
//! Everything here takes a raw nonce: it is the layer the nonce discipline of
//! [`SealingKey`](crate::SealingKey) sits on, and nothing in it is public.

use core::fmt;

use crate::{Error, Result};

/// AES-GCM nonce length (96 bits).
pub(crate) const NONCE_LEN: usize = 12;
/// AES-GCM tag length (128 bits).
pub(crate) const TAG_LEN: usize = 16;

/// Which AES-256-GCM implementation a [`SealingKey`](crate::SealingKey) uses.
///
/// Both produce byte-identical ciphertexts for the same key, nonce and associated data
/// (a test checks it), so data sealed by one opens with the other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// ring (BoringSSL assembly, AES-NI/CLMUL or ARMv8 crypto). Always compiled; the default.
    #[default]
    Ring,
    /// RustCrypto `aes-gcm` 0.11, pure Rust (feature `rustcrypto`).
    #[cfg(feature = "rustcrypto")]
    RustCrypto,
}

mod sealed {
    /// Only this crate implements [`super::AeadBackend`].
    pub(crate) trait Sealed {}
}

/// A prebuilt AES-256-GCM key schedule. Sealed: implemented only for the two backends.
pub(crate) trait AeadBackend: sealed::Sealed + Send + Sync {
    /// Encrypts `in_out` in place under a caller-chosen nonce; returns the tag.
    fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN]>;

    /// Verifies `tag` and decrypts `in_out` in place. On failure `in_out` is zeroed.
    fn open_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()>;
}

/// Builds the key schedule of `backend` from 32 key bytes.
pub(crate) fn build(backend: Backend, key: &[u8; 32]) -> Result<Box<dyn AeadBackend>> {
    match backend {
        Backend::Ring => Ok(Box::new(RingKey::new(key)?)),
        #[cfg(feature = "rustcrypto")]
        Backend::RustCrypto => Ok(Box::new(RustCryptoKey::new(key)?)),
    }
}

/// ring's `LessSafeKey`: the expanded AES key and GHASH table, built once.
struct RingKey(ring::aead::LessSafeKey);

impl RingKey {
    fn new(key: &[u8; 32]) -> Result<Self> {
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key)
            .map_err(|_| Error::InvalidKeyLength { len: key.len() })?;
        Ok(Self(ring::aead::LessSafeKey::new(unbound)))
    }
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingKey").finish_non_exhaustive()
    }
}

impl sealed::Sealed for RingKey {}

impl AeadBackend for RingKey {
    fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        let tag = self
            .0
            .seal_in_place_separate_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad),
                in_out,
            )
            .map_err(|_| Error::TooLong {
                what: "AES-GCM plaintext is limited to 2^36 - 32 bytes",
            })?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        let res = self.0.open_in_place_separate_tag(
            ring::aead::Nonce::assume_unique_for_key(nonce),
            ring::aead::Aad::from(aad),
            ring::aead::Tag::from(*tag),
            in_out,
            0..,
        );
        match res {
            Ok(_) => Ok(()),
            Err(_) => {
                zeroize::Zeroize::zeroize(in_out);
                Err(Error::Authentication)
            }
        }
    }
}

/// RustCrypto `Aes256Gcm`: AES round keys and GHASH key, zeroized on drop.
#[cfg(feature = "rustcrypto")]
struct RustCryptoKey(aes_gcm::Aes256Gcm);

#[cfg(feature = "rustcrypto")]
impl RustCryptoKey {
    fn new(key: &[u8; 32]) -> Result<Self> {
        use aes_gcm::KeyInit;
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(key)
            .map_err(|_| Error::InvalidKeyLength { len: key.len() })?;
        Ok(Self(cipher))
    }
}

#[cfg(feature = "rustcrypto")]
impl sealed::Sealed for RustCryptoKey {}

#[cfg(feature = "rustcrypto")]
impl AeadBackend for RustCryptoKey {
    fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN]> {
        use aes_gcm::AeadInOut;
        let nonce = aes_gcm::Nonce::from(nonce);
        let tag = self
            .0
            .encrypt_inout_detached(&nonce, aad, in_out.into())
            .map_err(|_| Error::TooLong {
                what: "AES-GCM plaintext is limited to 2^36 - 32 bytes",
            })?;
        Ok(tag.into())
    }

    fn open_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        use aes_gcm::AeadInOut;
        let nonce = aes_gcm::Nonce::from(nonce);
        let tag = aes_gcm::Tag::from(*tag);
        match self
            .0
            .decrypt_inout_detached(&nonce, aad, (&mut *in_out).into(), &tag)
        {
            Ok(()) => Ok(()),
            Err(_) => {
                zeroize::Zeroize::zeroize(in_out);
                Err(Error::Authentication)
            }
        }
    }
}
