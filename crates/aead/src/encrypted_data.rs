//! `EncryptedData`, the key vault's credential format, and its v2 `EncryptionKey`.

use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::backend::{Backend, NONCE_LEN, TAG_LEN};
use crate::nonce::KeyUsage;
use crate::sealing::with_joined_aad;
use crate::{Error, Key, KeyVersion, Result, SealingKey};

/// `key_version` of data from the legacy PBKDF2 scheme (refused: migrate it).
pub const LEGACY_KEY_VERSION: u32 = 1;
/// `key_version` of data sealed with the HD-derived key at `m/74'/2'/0'/0'`.
pub const HD_KEY_VERSION: u32 = 2;
/// HKDF label that turns the HD node's private key into the AES key (ADR 0022).
pub const ENCRYPTION_KEY_LABEL: &str = "hexvault/v2/encrypted-data/aes-256-gcm";
/// Fixed prefix of the associated data of every `EncryptedData`.
pub const ENCRYPTED_DATA_AAD_LABEL: &[u8] = b"hexvault/EncryptedData";

/// The AES-256-GCM key of `EncryptedData` key_version 2 (or a later version).
///
/// Built from the 32-byte private key of a SLIP-0010 ed25519 node (for key_version 2 the
/// node at `m/74'/2'/0'/0'`) through HKDF-SHA256 with the fixed label
/// [`ENCRYPTION_KEY_LABEL`], so the AES key is never the same bytes as a signing key.
/// Later versions use the same derivation on their own node (which node belongs to which
/// version is the caller's mapping, see ADR 0040). Holds the prebuilt key schedule and its
/// nonce sequence; zeroizes what it owns, `Debug` prints no secret.
///
/// One instance seals at most 2^32 credentials (then [`Error::KeyExhausted`]).
pub struct EncryptionKey {
    key_version: u32,
    inner: SealingKey,
}

impl EncryptionKey {
    /// Derives the key_version 2 key from the HD node's private key (ring backend).
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails while drawing the nonce prefix.
    pub fn from_node_private_key(node_private_key: &[u8; 32]) -> Result<Self> {
        Self::for_key_version(node_private_key, HD_KEY_VERSION, Backend::Ring)
    }

    /// As [`EncryptionKey::from_node_private_key`] with a chosen backend.
    ///
    /// # Errors
    /// [`Error::Rng`] if the OS CSPRNG fails while drawing the nonce prefix.
    pub fn from_node_private_key_with_backend(
        node_private_key: &[u8; 32],
        backend: Backend,
    ) -> Result<Self> {
        Self::for_key_version(node_private_key, HD_KEY_VERSION, backend)
    }

    /// The key of `key_version` (2 or later) from the private key of that version's node.
    ///
    /// # Errors
    /// [`Error::LegacyKeyVersion`] for 1, [`Error::UnsupportedEncryptedDataVersion`] for
    /// 0, [`Error::Rng`] if the OS CSPRNG fails.
    pub fn for_key_version(
        node_private_key: &[u8; 32],
        key_version: u32,
        backend: Backend,
    ) -> Result<Self> {
        check_version(key_version)?;
        let node = Key::from_bytes(*node_private_key);
        let aes = crate::derive_key(&node, ENCRYPTION_KEY_LABEL, &[])?;
        let version = KeyVersion::new(key_version)?;
        Ok(Self {
            key_version,
            inner: SealingKey::with_backend(aes, version, backend)?,
        })
    }

    /// The `key_version` this key writes and reads.
    #[must_use]
    pub const fn key_version(&self) -> u32 {
        self.key_version
    }

    /// Seals performed with this instance and the state they imply.
    #[must_use]
    pub fn usage(&self) -> KeyUsage {
        self.inner.usage()
    }
}

/// 1 is legacy (migrate), 0 is not a version; 2 and later are HD-derived keys.
const fn check_version(key_version: u32) -> Result<()> {
    match key_version {
        LEGACY_KEY_VERSION => Err(Error::LegacyKeyVersion),
        0 => Err(Error::UnsupportedEncryptedDataVersion {
            version: key_version,
        }),
        _ => Ok(()),
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("key_version", &self.key_version)
            .field("usage", &self.inner.usage())
            .finish_non_exhaustive()
    }
}

/// An encrypted credential: `key_version`, `salt`, `iv`, `data` (ciphertext || tag).
///
/// * `key_version` 2 (or later): AES-256-GCM under the [`EncryptionKey`] of that version;
///   1 (legacy PBKDF2) is refused with [`Error::LegacyKeyVersion`].
/// * `salt`: kept for wire compatibility; empty and unused in v2 (but authenticated).
/// * `iv`: the 12-byte GCM nonce.
/// * `data`: ciphertext followed by the 16-byte tag.
///
/// The associated data binds the key version, the salt and the caller's context; see
/// `docs/formats.md`. Serialized as postcard ([`to_bytes`](Self::to_bytes)) or JSON with
/// base64 strings ([`to_json`](Self::to_json)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedData {
    key_version: u32,
    #[serde(with = "bytes_field")]
    salt: Vec<u8>,
    #[serde(with = "bytes_field")]
    iv: Vec<u8>,
    #[serde(with = "bytes_field")]
    data: Vec<u8>,
}

impl EncryptedData {
    /// Encrypts `plaintext` under `key` (written with `key.key_version()`, 2 unless the
    /// key was built for a later version), binding `aad` (the caller's context, e.g. a
    /// credential name) as associated data.
    ///
    /// # Errors
    /// [`Error::KeyExhausted`] after 2^32 seals with this key instance;
    /// [`Error::TooLong`] past the GCM limit.
    pub fn encrypt(key: &EncryptionKey, plaintext: &[u8], aad: &[u8]) -> Result<Self> {
        let salt = Vec::new();
        let prefix = aad_prefix(key.key_version, &salt)?;
        let mut data = Vec::with_capacity(plaintext.len().saturating_add(TAG_LEN));
        data.extend_from_slice(plaintext);
        let (nonce, tag) = with_joined_aad(&prefix, aad, |full| {
            key.inner.seal_detached(full, &mut data)
        })?;
        data.extend_from_slice(&tag);
        Ok(Self {
            key_version: key.key_version,
            salt,
            iv: nonce.to_vec(),
            data,
        })
    }

    /// Checks the fields and decrypts with `key` and the same `aad` as at encryption.
    ///
    /// # Errors
    /// [`Error::LegacyKeyVersion`] for key_version 1,
    /// [`Error::UnsupportedEncryptedDataVersion`] for 0, [`Error::WrongKeyVersion`] when
    /// the data names another version than `key` (use the key of that version),
    /// [`Error::InvalidIvLength`], [`Error::Truncated`] (data shorter than the tag),
    /// [`Error::Authentication`] for a wrong key, wrong `aad` or modified fields.
    pub fn decrypt(&self, key: &EncryptionKey, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        check_version(self.key_version)?;
        if self.key_version != key.key_version {
            return Err(Error::WrongKeyVersion {
                expected: KeyVersion::new(key.key_version)?,
                found: KeyVersion::new(self.key_version)?,
            });
        }
        let nonce: [u8; NONCE_LEN] = self
            .iv
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidIvLength { len: self.iv.len() })?;
        let ct_len = self
            .data
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Truncated {
                len: self.data.len(),
                min: TAG_LEN,
            })?;
        let (ct, tag) = self.data.split_at(ct_len);
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Authentication)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let prefix = aad_prefix(self.key_version, &self.salt)?;
        with_joined_aad(&prefix, aad, |full| {
            key.inner.open_detached(nonce, full, &mut buf, &tag)
        })?;
        Ok(buf)
    }

    /// The `key_version` field (the version of the key that encrypted it).
    #[must_use]
    pub const fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The `salt` field (empty in v2).
    #[must_use]
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The `iv` field (12 bytes in v2).
    #[must_use]
    pub fn iv(&self) -> &[u8] {
        &self.iv
    }

    /// The `data` field: ciphertext || 16-byte tag.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The postcard encoding (see `docs/formats.md`).
    ///
    /// # Errors
    /// [`Error::MalformedEncryptedData`] if postcard fails (it does not for this type).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        postcard::to_stdvec(self).map_err(|e| Error::MalformedEncryptedData {
            reason: e.to_string(),
        })
    }

    /// Decodes the postcard form; trailing bytes are an error.
    ///
    /// # Errors
    /// [`Error::MalformedEncryptedData`] for anything that is not exactly one record.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (value, rest) = postcard::take_from_bytes::<Self>(bytes).map_err(|e| {
            Error::MalformedEncryptedData {
                reason: e.to_string(),
            }
        })?;
        if !rest.is_empty() {
            return Err(Error::MalformedEncryptedData {
                reason: format!("{} trailing bytes after the record", rest.len()),
            });
        }
        Ok(value)
    }

    /// The JSON form: `{"key_version":2,"salt":"","iv":"<base64>","data":"<base64>"}`.
    ///
    /// # Errors
    /// [`Error::MalformedEncryptedData`] if serde_json fails (it does not for this type).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::MalformedEncryptedData {
            reason: e.to_string(),
        })
    }

    /// Decodes the JSON form (standard base64 with padding; unknown fields refused).
    ///
    /// # Errors
    /// [`Error::MalformedEncryptedData`] for invalid JSON, base64 or fields.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::MalformedEncryptedData {
            reason: e.to_string(),
        })
    }
}

/// `label || u32be(key_version) || u32be(len(salt)) || salt`; the caller's AAD follows.
fn aad_prefix(key_version: u32, salt: &[u8]) -> Result<Vec<u8>> {
    let salt_len = u32::try_from(salt.len()).map_err(|_| Error::TooLong {
        what: "EncryptedData salt is limited to u32::MAX bytes",
    })?;
    let mut p = Vec::with_capacity(ENCRYPTED_DATA_AAD_LABEL.len() + 8 + salt.len());
    p.extend_from_slice(ENCRYPTED_DATA_AAD_LABEL);
    p.extend_from_slice(&key_version.to_be_bytes());
    p.extend_from_slice(&salt_len.to_be_bytes());
    p.extend_from_slice(salt);
    Ok(p)
}

/// Byte fields: base64 strings in human-readable formats, raw bytes in binary ones.
mod bytes_field {
    use core::fmt;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&STANDARD.encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(Base64Visitor)
        } else {
            d.deserialize_bytes(BytesVisitor)
        }
    }

    struct Base64Visitor;

    impl Visitor<'_> for Base64Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a standard base64 string")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            STANDARD
                .decode(v)
                .map_err(|e| E::custom(format!("invalid base64: {e}")))
        }
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }
}
