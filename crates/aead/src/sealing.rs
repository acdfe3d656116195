//! `SealingKey` and the self-describing ciphertext format (magic, versions, nonce, tag).

use core::fmt;

use crate::backend::{self, AeadBackend, Backend, NONCE_LEN, TAG_LEN};
use crate::nonce::{KeyUsage, NonceSequence};
use crate::plaintext::{extend_from_slice, wipe_vec};
use crate::{Error, Key, KeyVersion, Plaintext, Result};

/// The four bytes every hexvault AEAD ciphertext starts with.
pub const MAGIC: [u8; 4] = *b"HXVA";
/// The ciphertext format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Header length: magic (4) + format version (1) + key version (4) + nonce (12).
pub const HEADER_LEN: usize = 4 + 1 + 4 + NONCE_LEN;
/// Bytes a sealed blob adds to its plaintext: header and 16-byte tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// Length of the sealed blob for a plaintext of `plaintext_len` bytes.
#[must_use]
pub const fn sealed_len(plaintext_len: usize) -> usize {
    plaintext_len.saturating_add(OVERHEAD)
}

/// The parsed header of a sealed blob. Read it with [`Header::decode`], write it back
/// with [`Header::encode`]; the whole header is authenticated as associated data.
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    format_version: u8,
    key_version: KeyVersion,
    nonce: [u8; NONCE_LEN],
}

impl Header {
    /// Parses and checks the header of a sealed blob (without authenticating it).
    ///
    /// # Errors
    /// [`Error::UnknownMagic`], [`Error::UnsupportedFormatVersion`], [`Error::Truncated`]
    /// (shorter than header plus tag), [`Error::InvalidKeyVersion`] (version 0).
    pub fn decode(blob: &[u8]) -> Result<Self> {
        // A blob shorter than the magic is judged on the bytes it has: a prefix of the
        // magic is a truncated blob, anything else is not ours.
        if blob
            .iter()
            .zip(MAGIC.iter())
            .any(|(seen, want)| seen != want)
        {
            return Err(Error::UnknownMagic);
        }
        if let Some(&version) = blob.get(MAGIC.len())
            && version != FORMAT_VERSION
        {
            return Err(Error::UnsupportedFormatVersion { version });
        }
        let truncated = || Error::Truncated {
            len: blob.len(),
            min: OVERHEAD,
        };
        if blob.len() < OVERHEAD {
            return Err(truncated());
        }
        let (_, rest) = blob
            .split_at_checked(MAGIC.len() + 1)
            .ok_or_else(truncated)?;
        let (kv, rest) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        let (nonce, _) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or_else(truncated)?;
        Ok(Self {
            format_version: FORMAT_VERSION,
            key_version: KeyVersion::new(u32::from_be_bytes(*kv))?,
            nonce: *nonce,
        })
    }

    /// The header's bytes, as written at the start of the blob.
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        encode_header(self.key_version, &self.nonce)
    }

    /// The format version (always [`FORMAT_VERSION`] for a decoded header).
    #[must_use]
    pub const fn format_version(&self) -> u8 {
        self.format_version
    }

    /// The key version the blob was sealed under.
    #[must_use]
    pub const fn key_version(&self) -> KeyVersion {
        self.key_version
    }

    /// The 96-bit nonce (public: it travels in the clear).
    #[must_use]
    pub const fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }
}

fn encode_header(key_version: KeyVersion, nonce: &[u8; NONCE_LEN]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    let (magic, rest) = h.split_at_mut(MAGIC.len());
    magic.copy_from_slice(&MAGIC);
    let (fv, rest) = rest.split_at_mut(1);
    fv.copy_from_slice(&[FORMAT_VERSION]);
    let (kv, n) = rest.split_at_mut(4);
    kv.copy_from_slice(&key_version.get().to_be_bytes());
    n.copy_from_slice(nonce);
    h
}

/// Runs `f` on `prefix || aad`, on the stack when short, so small seals do not allocate.
///
/// # Errors
/// What `f` returns, or [`Error::Internal`] if the stack copy could not be laid out
/// (ruled out by the length check; never a silent fallback to shorter associated data).
#[inline]
pub(crate) fn with_joined_aad<R>(
    prefix: &[u8],
    aad: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<R> {
    const STACK: usize = 128;
    let total = prefix.len().saturating_add(aad.len());
    if total <= STACK {
        let internal = || Error::Internal {
            what: "associated data does not fit the stack buffer after the length check",
        };
        let mut buf = [0u8; STACK];
        let (p, rest) = buf
            .split_at_mut_checked(prefix.len())
            .ok_or_else(internal)?;
        p.copy_from_slice(prefix);
        rest.get_mut(..aad.len())
            .ok_or_else(internal)?
            .copy_from_slice(aad);
        return f(buf.get(..total).ok_or_else(internal)?);
    }
    let mut joined = Vec::with_capacity(total);
    joined.extend_from_slice(prefix);
    joined.extend_from_slice(aad);
    f(&joined)
}

/// An AES-256-GCM key ready to seal and open: the key schedule built once, bound to its
/// key version and to its own nonce sequence.
///
/// # Usage limits and what the nonces guarantee
/// One `SealingKey` seals at most **2^32 messages** ([`SEAL_LIMIT`](crate::SEAL_LIMIT));
/// from 2^31 its [`usage`](Self::usage) reports
/// [`UsageState::RotateSoon`](crate::UsageState::RotateSoon), and at 2^32 sealing fails
/// with [`Error::KeyExhausted`]: rotate to a new key version.
///
/// Nonces are `(random 96-bit base + seal counter) mod 2^96`, the base drawn from the OS
/// CSPRNG when the instance is built. Within one instance no nonce repeats. Across instances
/// built for the same key bytes, two repeat only if their ranges of nonces overlap: below
/// `k·Q / 2^96` for `k` instances sealing `Q` messages in all, so a short-lived instance (one
/// per CLI run, one per request, sealing once) has the collision bound of a fully random
/// 96-bit nonce: `k^2 / 2^96`, 2^-32 only after 2^32 instances (ADR 0020, amended). Still
/// prefer one long-lived instance per key version per process (as a
/// [`KeyRing`](crate::KeyRing) keeps): the counter then does the work and the bound stays at
/// its floor. [`EncryptedData`](crate::EncryptedData) goes further and seals every
/// credential under its own subkey (ADR 0022). Never keep using a `SealingKey` in a child
/// after `fork()`: build a new one there.
///
/// `Send + Sync`: share it between threads by reference or `Arc`; nonces stay unique.
pub struct SealingKey {
    version: KeyVersion,
    backend: Backend,
    schedule: Box<dyn AeadBackend>,
    nonces: NonceSequence,
}

impl SealingKey {
    /// Builds the key schedule (ring backend) and draws the random nonce base. The `Key` is
    /// consumed and zeroized.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn new(key: Key, version: KeyVersion) -> Result<Self> {
        Self::with_backend(key, version, Backend::Ring)
    }

    /// As [`SealingKey::new`], with a chosen backend.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails.
    pub fn with_backend(key: Key, version: KeyVersion, backend: Backend) -> Result<Self> {
        Ok(Self {
            version,
            backend,
            schedule: backend::build(backend, key.expose_secret())?,
            nonces: NonceSequence::new()?,
        })
    }

    /// A key whose nonce sequence starts at a chosen base and counter, for tests.
    #[cfg(test)]
    pub(crate) fn with_nonce_state(
        key: Key,
        version: KeyVersion,
        backend: Backend,
        base: [u8; crate::backend::NONCE_LEN],
        counter: u64,
    ) -> Result<Self> {
        Ok(Self {
            version,
            backend,
            schedule: backend::build(backend, key.expose_secret())?,
            nonces: NonceSequence::with_state(base, counter),
        })
    }

    /// The key version written into every header this key seals.
    #[must_use]
    pub const fn version(&self) -> KeyVersion {
        self.version
    }

    /// The backend in use.
    #[must_use]
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// Seals performed so far and the state they imply (normal, rotate soon, exhausted).
    #[must_use]
    pub fn usage(&self) -> KeyUsage {
        KeyUsage::new(self.nonces.used())
    }

    /// Seals `plaintext` with associated data `aad` into a new self-describing blob:
    /// `header || ciphertext || tag` ([`sealed_len`] bytes).
    ///
    /// # Errors
    /// [`Error::KeyExhausted`] after 2^32 seals; [`Error::TooLong`] past the GCM limit.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        // The nonce first: an exhausted key refuses before any copy of the plaintext exists.
        let nonce = self.next_nonce()?;
        let header = encode_header(self.version, &nonce);
        // One allocation of exactly the blob's length, filled in order (header, plaintext,
        // tag) without zero-filling it first.
        let mut out = Vec::with_capacity(sealed_len(plaintext.len()));
        out.extend_from_slice(&header);
        extend_from_slice(&mut out, plaintext);
        let sealed = match out.get_mut(HEADER_LEN..) {
            Some(body) => with_joined_aad(&header, aad, |full| {
                self.schedule.seal_in_place(nonce, full, body)
            }),
            None => Err(Error::Internal {
                what: "sealed buffer shorter than its header",
            }),
        };
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Err(e) => {
                // Refused (too long): the buffer still holds the plaintext copy.
                wipe_vec(&mut out);
                Err(e)
            }
        }
    }

    /// Seals in place (no allocation, except a buffer joining the header and `aad` when
    /// `aad` is longer than the stack room for it). `buf` is laid out as
    /// `[HEADER_LEN bytes of room | plaintext | TAG_LEN bytes of room]`
    /// (length [`sealed_len`]`(plaintext.len())`); on return it holds the sealed blob.
    ///
    /// # Errors
    /// [`Error::Truncated`] if `buf` is shorter than [`OVERHEAD`];
    /// [`Error::KeyExhausted`] after 2^32 seals; [`Error::TooLong`] past the GCM limit.
    pub fn seal_in_place(&self, aad: &[u8], buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let (header, rest) = buf
            .split_at_mut_checked(HEADER_LEN)
            .ok_or(Error::Truncated { len, min: OVERHEAD })?;
        let body_len = rest
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Truncated { len, min: OVERHEAD })?;
        let (body, tag_out) = rest.split_at_mut(body_len);
        let nonce = self.next_nonce()?;
        let header_bytes = encode_header(self.version, &nonce);
        header.copy_from_slice(&header_bytes);
        let tag = with_joined_aad(&header_bytes, aad, |full| {
            self.schedule.seal_in_place(nonce, full, body)
        })?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Opens a sealed blob into a new [`Plaintext`] (wiped at memory speed on drop).
    ///
    /// # Errors
    /// Header errors ([`Error::UnknownMagic`], [`Error::UnsupportedFormatVersion`],
    /// [`Error::Truncated`]), [`Error::WrongKeyVersion`] when the header names another key
    /// version, [`Error::Authentication`] for a wrong key, wrong `aad` or modified bytes.
    pub fn open(&self, blob: &[u8], aad: &[u8]) -> Result<Plaintext> {
        let header = self.check_header(blob)?;
        let internal = || Error::Internal {
            what: "blob shorter than header and tag after the header check",
        };
        // The header bytes as they are in the blob: `check_header` accepted them, and a
        // valid header re-encodes to exactly these bytes.
        let (header_bytes, body) = blob.split_at_checked(HEADER_LEN).ok_or_else(internal)?;
        let ct_len = body.len().checked_sub(TAG_LEN).ok_or_else(internal)?;
        let (ct, tag) = body.split_at_checked(ct_len).ok_or_else(internal)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| internal())?;
        // Only the ciphertext is copied (the plaintext's exact length); wiped on drop (one
        // fast pass), also when authentication fails below.
        let mut buf = Plaintext::copy_of(ct);
        with_joined_aad(header_bytes, aad, |full| {
            self.schedule
                .open_in_place(header.nonce, full, buf.expose_secret_mut(), tag)
        })?;
        Ok(buf)
    }

    /// Opens a sealed blob in place and returns the plaintext, a sub-slice of `blob`.
    /// When decryption fails (authentication), the ciphertext region of `blob` is zeroed,
    /// so no plaintext (nor partial decryption) is ever left in it; a blob refused on its
    /// header (magic, version, key version, length) is left as it was: nothing was
    /// decrypted.
    ///
    /// # Errors
    /// As [`SealingKey::open`].
    pub fn open_in_place<'a>(&self, aad: &[u8], blob: &'a mut [u8]) -> Result<&'a mut [u8]> {
        let header = self.check_header(blob)?;
        let len = blob.len();
        let (_, body) = blob
            .split_at_mut_checked(HEADER_LEN)
            .ok_or(Error::Truncated { len, min: OVERHEAD })?;
        let pt_len = self.open_body(&header, aad, body)?;
        body.get_mut(..pt_len).ok_or(Error::Authentication)
    }

    fn check_header(&self, blob: &[u8]) -> Result<Header> {
        let header = Header::decode(blob)?;
        if header.key_version != self.version {
            return Err(Error::WrongKeyVersion {
                expected: self.version,
                found: header.key_version,
            });
        }
        Ok(header)
    }

    /// Opens `ciphertext || tag` in `body`; returns the plaintext length.
    fn open_body(&self, header: &Header, aad: &[u8], body: &mut [u8]) -> Result<usize> {
        let ct_len = body.len().checked_sub(TAG_LEN).ok_or(Error::Truncated {
            len: body.len(),
            min: OVERHEAD,
        })?;
        let (ct, tag) = body.split_at_mut(ct_len);
        let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| Error::Authentication)?;
        let header_bytes = header.encode();
        with_joined_aad(&header_bytes, aad, |full| {
            self.schedule.open_in_place(header.nonce, full, ct, &tag)
        })?;
        Ok(ct_len)
    }

    fn next_nonce(&self) -> Result<[u8; NONCE_LEN]> {
        self.nonces.next().ok_or(Error::KeyExhausted {
            version: self.version,
        })
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("version", &self.version)
            .field("backend", &self.backend)
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}
