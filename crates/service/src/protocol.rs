//! `VaultProtocol`: the request and response messages, framed as a version byte + postcard.
//!
//! This is the service's real interface: [`crate::VaultServiceHandle`] encodes a
//! [`Request`] into a frame, the service thread decodes it, dispatches it, and encodes a
//! [`Response`] frame back. The byte-level layout is in `docs/formats.md`.

use core::fmt;

use hexvault_aead::{EncryptedData, Plaintext};
use hexvault_derivation::DerivationPath;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{CacheStats, DerivedKey, Error, KeyType, Result, ShareProgress, wire};

/// The protocol version this build speaks: the first byte of every frame.
pub const PROTOCOL_VERSION: u8 = 1;

/// Whether the vault holds a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum VaultState {
    /// No seed in memory; only `unlock`, `unlock_new`, `lock`, `status` and `shutdown` work.
    Locked,
    /// A seed is held by the service thread.
    Unlocked,
}

/// What `status()` reports: the state and the service's own accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Status {
    /// Locked or unlocked.
    pub state: VaultState,
    /// The derived-key cache's size and counters.
    pub cache: CacheStats,
    /// `EncryptedData` keys currently kept (one per recently used key version, at most
    /// [`crate::MAX_ENCRYPTION_KEYS`]; 0 when locked).
    pub encryption_keys: u64,
    /// Seeds zeroized so far (each `lock` of an unlocked vault, and the final stop).
    pub seeds_zeroized: u64,
    /// Requests served, including failed ones.
    pub requests: u64,
    /// Requests that panicked inside the service (caught, reported as [`Error::Internal`]).
    pub panics: u64,
}

/// A request to the vault service.
///
/// `Debug` prints no phrase, passphrase or plaintext, and neither does a human-readable
/// serialization (JSON): those fields are `"[REDACTED]"` there and never read back; the
/// binary protocol frame (postcard) carries them.
#[derive(Serialize, Deserialize)]
#[non_exhaustive]
pub enum Request {
    /// Unlock with an existing BIP-39 phrase and its passphrase (may be empty).
    Unlock {
        /// The mnemonic phrase.
        #[serde(with = "hexvault_aead::serde_bytes::redacted_text")]
        phrase: Zeroizing<String>,
        /// The BIP-39 passphrase ("" for none).
        #[serde(with = "hexvault_aead::serde_bytes::redacted_text")]
        passphrase: Zeroizing<String>,
    },
    /// Generate a new English mnemonic of `words` words, unlock with it, return the phrase.
    UnlockNew {
        /// 12, 15, 18, 21 or 24.
        words: u8,
        /// The BIP-39 passphrase ("" for none).
        #[serde(with = "hexvault_aead::serde_bytes::redacted_text")]
        passphrase: Zeroizing<String>,
    },
    /// Zeroize the seed and the derived-key cache, drop the encryption keys.
    Lock,
    /// Report [`Status`].
    Status,
    /// Derive (or fetch from the cache) the key of `key_type` at `path`.
    Derive {
        /// The key type asked for.
        key_type: KeyType,
        /// The derivation path.
        #[serde(with = "wire::path")]
        path: DerivationPath,
    },
    /// Encrypt `plaintext` as `EncryptedData` under the key of `key_version`.
    Encrypt {
        /// The `EncryptedData` key version (2 is `PATHS::ENCRYPTION`).
        key_version: u32,
        /// The bytes to encrypt.
        #[serde(with = "hexvault_aead::serde_bytes::redacted")]
        plaintext: Zeroizing<Vec<u8>>,
        /// The caller's context, bound as associated data.
        #[serde(with = "hexvault_aead::serde_bytes::raw")]
        aad: Vec<u8>,
    },
    /// Decrypt `data` (its `key_version` selects the key).
    Decrypt {
        /// The credential.
        data: EncryptedData,
        /// The associated data given at encryption.
        #[serde(with = "hexvault_aead::serde_bytes::raw")]
        aad: Vec<u8>,
    },
    /// Re-encrypt `data` under a newer key version; the plaintext never leaves the service.
    Rotate {
        /// The credential.
        data: EncryptedData,
        /// The associated data given at encryption (bound again to the new one).
        #[serde(with = "hexvault_aead::serde_bytes::raw")]
        aad: Vec<u8>,
        /// The target key version (greater than the data's).
        to_version: u32,
    },
    /// Stop the service: as `Lock`, then end; later requests fail with [`Error::Stopped`].
    Shutdown,
    /// Hand in one SLIP-0039 share (services built with
    /// [`crate::VaultServiceBuilder::shares`]). Appended last: the earlier variants keep
    /// their postcard tags.
    SubmitShare {
        /// The share's words.
        #[serde(with = "hexvault_aead::serde_bytes::redacted_text")]
        share: Zeroizing<String>,
        /// The passphrase, used if this share completes the set ("" for none; see
        /// [`crate::ShareSeed`] for which passphrase it is).
        #[serde(with = "hexvault_aead::serde_bytes::redacted_text")]
        passphrase: Zeroizing<String>,
    },
}

/// A response of the vault service, one per request.
///
/// `Debug` prints no phrase, plaintext or private key, and neither does a human-readable
/// serialization (JSON): those fields are `"[REDACTED]"` there and never read back.
#[derive(Serialize, Deserialize)]
#[non_exhaustive]
pub enum Response {
    /// `Unlock` succeeded.
    Unlocked,
    /// `UnlockNew` succeeded; the new phrase, to be shown once.
    UnlockedNew {
        /// The generated mnemonic phrase.
        #[serde(with = "hexvault_aead::serde_bytes::redacted_text")]
        phrase: Zeroizing<String>,
    },
    /// `Lock` succeeded (also when already locked).
    Locked,
    /// The answer to `Status`.
    Status(Status),
    /// The answer to `Derive`.
    Derived(DerivedKey),
    /// The answer to `Encrypt`.
    Encrypted(EncryptedData),
    /// The answer to `Decrypt`.
    Decrypted {
        /// The plaintext, wiped at memory speed when dropped (the aead's `Plaintext`).
        #[serde(with = "plaintext_field")]
        plaintext: Plaintext,
    },
    /// The answer to `Rotate`.
    Rotated(EncryptedData),
    /// `Shutdown` accepted: the service stops after this response.
    Stopping,
    /// The request failed.
    Error(Error),
    /// The answer to `SubmitShare` (appended last: the earlier variants keep their tags).
    ShareProgress(ShareProgress),
}

impl Request {
    /// Encodes the request as a frame: [`PROTOCOL_VERSION`] then postcard.
    ///
    /// The frame is allocated once at its exact size and zeroized on drop (it may hold a
    /// phrase or a plaintext).
    ///
    /// # Errors
    /// [`Error::Protocol`] if postcard fails (it does not for these types).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        encode(self)
    }

    /// Decodes a frame; refuses other versions and trailing bytes.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocolVersion`], [`Error::Protocol`].
    pub fn from_bytes(frame: &[u8]) -> Result<Self> {
        decode(frame)
    }

    /// The request's name, for logs.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Unlock { .. } => "unlock",
            Self::UnlockNew { .. } => "unlock_new",
            Self::Lock => "lock",
            Self::Status => "status",
            Self::Derive { .. } => "derive",
            Self::Encrypt { .. } => "encrypt",
            Self::Decrypt { .. } => "decrypt",
            Self::Rotate { .. } => "rotate",
            Self::Shutdown => "shutdown",
            Self::SubmitShare { .. } => "submit_share",
        }
    }
}

impl Response {
    /// Encodes the response as a frame: [`PROTOCOL_VERSION`] then postcard.
    ///
    /// # Errors
    /// [`Error::Protocol`] if postcard fails (it does not for these types).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        encode(self)
    }

    /// Decodes a frame; refuses other versions and trailing bytes.
    ///
    /// # Errors
    /// [`Error::UnsupportedProtocolVersion`], [`Error::Protocol`].
    pub fn from_bytes(frame: &[u8]) -> Result<Self> {
        decode(frame)
    }

    /// The response's name, for logs.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Unlocked => "unlocked",
            Self::UnlockedNew { .. } => "unlocked_new",
            Self::Locked => "locked",
            Self::Status(_) => "status",
            Self::Derived(_) => "derived",
            Self::Encrypted(_) => "encrypted",
            Self::Decrypted { .. } => "decrypted",
            Self::Rotated(_) => "rotated",
            Self::Stopping => "stopping",
            Self::Error(_) => "error",
            Self::ShareProgress(_) => "share_progress",
        }
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>> {
    let len = postcard::experimental::serialized_size(value)?;
    let mut frame = Zeroizing::new(vec![0u8; len.saturating_add(1)]);
    let (version, body) = frame.split_first_mut().ok_or_else(|| Error::Protocol {
        reason: "empty frame buffer".into(),
    })?;
    *version = PROTOCOL_VERSION;
    postcard::to_slice(value, body)?;
    Ok(frame)
}

fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T> {
    let (&version, body) = frame.split_first().ok_or_else(|| Error::Protocol {
        reason: "empty frame: a VaultProtocol frame starts with its version byte".into(),
    })?;
    if version != PROTOCOL_VERSION {
        return Err(Error::UnsupportedProtocolVersion {
            version,
            supported: PROTOCOL_VERSION,
        });
    }
    let (value, rest) = postcard::take_from_bytes::<T>(body)?;
    if !rest.is_empty() {
        return Err(Error::Protocol {
            reason: format!("{} trailing bytes after the message", rest.len()),
        });
    }
    Ok(value)
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlock { .. } => f.debug_struct("Unlock").finish_non_exhaustive(),
            Self::UnlockNew { words, .. } => f
                .debug_struct("UnlockNew")
                .field("words", words)
                .finish_non_exhaustive(),
            Self::Lock => f.write_str("Lock"),
            Self::Status => f.write_str("Status"),
            Self::Derive { key_type, path } => f
                .debug_struct("Derive")
                .field("key_type", key_type)
                .field("path", path)
                .finish(),
            Self::Encrypt {
                key_version,
                plaintext,
                aad,
            } => f
                .debug_struct("Encrypt")
                .field("key_version", key_version)
                .field("plaintext_len", &plaintext.len())
                .field("aad_len", &aad.len())
                .finish_non_exhaustive(),
            Self::Decrypt { data, aad } => f
                .debug_struct("Decrypt")
                .field("key_version", &data.key_version())
                .field("aad_len", &aad.len())
                .finish_non_exhaustive(),
            Self::Rotate {
                data,
                aad,
                to_version,
            } => f
                .debug_struct("Rotate")
                .field("key_version", &data.key_version())
                .field("aad_len", &aad.len())
                .field("to_version", to_version)
                .finish_non_exhaustive(),
            Self::Shutdown => f.write_str("Shutdown"),
            Self::SubmitShare { .. } => f.debug_struct("SubmitShare").finish_non_exhaustive(),
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unlocked => f.write_str("Unlocked"),
            Self::UnlockedNew { .. } => f.debug_struct("UnlockedNew").finish_non_exhaustive(),
            Self::Locked => f.write_str("Locked"),
            Self::Status(s) => f.debug_tuple("Status").field(s).finish(),
            Self::Derived(k) => f.debug_tuple("Derived").field(k).finish(),
            Self::Encrypted(d) => f.debug_tuple("Encrypted").field(d).finish(),
            Self::Decrypted { plaintext } => f
                .debug_struct("Decrypted")
                .field("plaintext_len", &plaintext.len())
                .finish_non_exhaustive(),
            Self::Rotated(d) => f.debug_tuple("Rotated").field(d).finish(),
            Self::Stopping => f.write_str("Stopping"),
            Self::Error(e) => f.debug_tuple("Error").field(e).finish(),
            Self::ShareProgress(p) => f.debug_tuple("ShareProgress").field(p).finish(),
        }
    }
}

/// The `Decrypted` response's plaintext on the wire: as [`hexvault_aead::serde_bytes::redacted`]
/// (bytes in postcard frames, `[REDACTED]` in JSON and never read back from it), read into an
/// aead [`Plaintext`] without a copy, so the caller's plaintext is wiped in one pass.
mod plaintext_field {
    use hexvault_aead::Plaintext;
    use hexvault_aead::serde_bytes::redacted;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(plaintext: &Plaintext, s: S) -> Result<S::Ok, S::Error> {
        redacted::serialize(plaintext.expose_secret(), s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Plaintext, D::Error> {
        let mut bytes = redacted::deserialize(d)?;
        Ok(Plaintext::new(core::mem::take(&mut *bytes)))
    }
}
