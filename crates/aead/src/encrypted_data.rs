//! `EncryptedData`, the key vault's credential format, and its v2 `EncryptionKey`.

use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Plaintext;

use crate::backend::{self, AeadBackend, Backend, NONCE_LEN, TAG_LEN};
use crate::nonce::{KeyUsage, SealCounter};
use crate::sealing::with_joined_aad;
use crate::{Error, Key, KeyVersion, Result};

/// `key_version` of data from the legacy PBKDF2 scheme (refused: migrate it).
pub const LEGACY_KEY_VERSION: u32 = 1;
/// `key_version` of data sealed with the HD-derived key at `m/74'/2'/0'/0'`.
pub const HD_KEY_VERSION: u32 = 2;
/// HKDF label that turns the HD node's private key into the version key, the AES key of
/// credentials with an empty `salt` (ADR 0022).
pub const ENCRYPTION_KEY_LABEL: &str = "hexvault/v2/encrypted-data/aes-256-gcm";
/// Fixed prefix of the associated data of every `EncryptedData`.
pub const ENCRYPTED_DATA_AAD_LABEL: &[u8] = b"hexvault/EncryptedData";

/// HKDF label that turns the HD node's private key into the parent of the per-credential
/// subkeys (ADR 0022): every credential with a 32-byte `salt` is sealed under its own key.
pub const CREDENTIAL_SUBKEY_PARENT_LABEL: &str = "hexvault/v2/encrypted-data/subkey-parent";
/// HKDF label that turns the subkey parent and one credential's `salt` into that
/// credential's AES-256-GCM key (ADR 0022).
pub const CREDENTIAL_SUBKEY_LABEL: &str = "hexvault/v2/encrypted-data/credential-key";
/// Length of the random `salt` of every credential this build seals (0 is also read:
/// credentials sealed before per-credential subkeys).
pub const CREDENTIAL_SALT_LEN: usize = 32;

/// The keys of `EncryptedData` key_version 2 (or a later version).
///
/// Built from the 32-byte private key of a SLIP-0010 ed25519 node (for key_version 2 the
/// node at `m/74'/2'/0'/0'`) through HKDF-SHA256 (ADR 0022), so no AES key is ever the
/// same bytes as a signing key. Later versions use the same derivation on their own node
/// (which node belongs to which version is the caller's mapping, see ADR 0040).
///
/// * [`EncryptedData::encrypt`] draws a fresh 32-byte `salt` and a 12-byte `iv` from the OS
///   CSPRNG for every credential and seals it under its own subkey
///   `HKDF(subkey parent, CREDENTIAL_SUBKEY_LABEL, [salt])`, used for that one seal. Two
///   credentials share a (key, nonce) pair only if their salts are equal: for `q`
///   credentials per key version, from any number of processes or instances,
///   `P <= q^2 / 2^257` (ADR 0020, ADR 0022).
/// * Credentials with an empty `salt` (sealed before, under the version key
///   `HKDF(node, ENCRYPTION_KEY_LABEL)` with a 64-bit random nonce prefix) still open.
///
/// Holds the subkey parent and the prebuilt schedule of the version key: the subkey parent
/// is zeroized on drop; what ring's key schedules hold cannot be wiped (ADR 0021).
/// `Debug` prints no secret. One instance seals at most 2^32 credentials (then
/// [`Error::KeyExhausted`]), the count the design fixes per key; rotate then.
pub struct EncryptionKey {
    key_version: u32,
    backend: Backend,
    /// Schedule of `HKDF(node, ENCRYPTION_KEY_LABEL)`: opens credentials with an empty salt.
    unsalted: Box<dyn AeadBackend>,
    /// `HKDF(node, CREDENTIAL_SUBKEY_PARENT_LABEL)`: parent of the per-credential subkeys.
    subkey_parent: Key,
    seals: SealCounter,
}

impl EncryptionKey {
    /// Derives the key_version 2 keys from the HD node's private key (ring backend).
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] only if a backend refuses a 32-byte key (it does not).
    pub fn from_node_private_key(node_private_key: &[u8; 32]) -> Result<Self> {
        Self::for_key_version(node_private_key, HD_KEY_VERSION, Backend::Ring)
    }

    /// As [`EncryptionKey::from_node_private_key`] with a chosen backend.
    ///
    /// # Errors
    /// As [`EncryptionKey::from_node_private_key`].
    pub fn from_node_private_key_with_backend(
        node_private_key: &[u8; 32],
        backend: Backend,
    ) -> Result<Self> {
        Self::for_key_version(node_private_key, HD_KEY_VERSION, backend)
    }

    /// The keys of `key_version` (2 or later) from the private key of that version's node.
    ///
    /// # Errors
    /// [`Error::LegacyKeyVersion`] for 1, [`Error::UnsupportedEncryptedDataVersion`] for
    /// 0.
    pub fn for_key_version(
        node_private_key: &[u8; 32],
        key_version: u32,
        backend: Backend,
    ) -> Result<Self> {
        Self::with_seal_count(node_private_key, key_version, backend, 0)
    }

    fn with_seal_count(
        node_private_key: &[u8; 32],
        key_version: u32,
        backend: Backend,
        sealed: u64,
    ) -> Result<Self> {
        check_version(key_version)?;
        let node = Key::from_bytes(*node_private_key);
        let aes = crate::derive_key(&node, ENCRYPTION_KEY_LABEL, &[])?;
        let subkey_parent = crate::derive_key(&node, CREDENTIAL_SUBKEY_PARENT_LABEL, &[])?;
        Ok(Self {
            key_version,
            backend,
            unsalted: backend::build(backend, aes.expose_secret())?,
            subkey_parent,
            seals: SealCounter::starting_at(sealed),
        })
    }

    /// A key whose seal counter starts at `sealed`, for tests of the limit.
    #[cfg(test)]
    pub(crate) fn with_seal_count_for_tests(
        node_private_key: &[u8; 32],
        sealed: u64,
    ) -> Result<Self> {
        Self::with_seal_count(node_private_key, HD_KEY_VERSION, Backend::Ring, sealed)
    }

    /// The `key_version` this key writes and reads.
    #[must_use]
    pub const fn key_version(&self) -> u32 {
        self.key_version
    }

    /// Credentials sealed with this instance and the state they imply.
    #[must_use]
    pub fn usage(&self) -> KeyUsage {
        KeyUsage::new(self.seals.used())
    }

    /// The AES-256-GCM key schedule of one credential: the subkey of its 32-byte salt,
    /// or the version key for an empty salt; any other length is refused.
    fn schedule_for(&self, salt: &[u8]) -> Result<Schedule<'_>> {
        match salt.len() {
            0 => Ok(Schedule::Shared(self.unsalted.as_ref())),
            CREDENTIAL_SALT_LEN => {
                let subkey =
                    crate::derive_key(&self.subkey_parent, CREDENTIAL_SUBKEY_LABEL, &[salt])?;
                Ok(Schedule::Own(backend::build(
                    self.backend,
                    subkey.expose_secret(),
                )?))
            }
            len => Err(Error::InvalidSaltLength { len }),
        }
    }
}

/// A borrowed (version key) or owned (per-credential subkey) key schedule.
enum Schedule<'a> {
    Shared(&'a dyn AeadBackend),
    Own(Box<dyn AeadBackend>),
}

impl Schedule<'_> {
    fn get(&self) -> &dyn AeadBackend {
        match self {
            Self::Shared(s) => *s,
            Self::Own(s) => s.as_ref(),
        }
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
            .field("backend", &self.backend)
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

/// An encrypted credential: `key_version`, `salt`, `iv`, `data` (ciphertext || tag).
///
/// * `key_version` 2 (or later): AES-256-GCM under the [`EncryptionKey`] of that version;
///   1 (legacy PBKDF2) is refused with [`Error::LegacyKeyVersion`].
/// * `salt`: 32 random bytes drawn for every credential this build seals, selecting the
///   credential's own subkey (see [`EncryptionKey`]); empty in credentials sealed before
///   per-credential subkeys (opened under the version key); always authenticated.
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
    #[serde(with = "crate::serde_bytes::base64")]
    salt: Vec<u8>,
    #[serde(with = "crate::serde_bytes::base64")]
    iv: Vec<u8>,
    #[serde(with = "crate::serde_bytes::base64")]
    data: Vec<u8>,
}

impl EncryptedData {
    /// Encrypts `plaintext` under `key` (written with `key.key_version()`, 2 unless the
    /// key was built for a later version), binding `aad` (the caller's context, e.g. a
    /// credential name) as associated data.
    ///
    /// Draws a fresh 32-byte `salt` and 12-byte `iv` from the OS CSPRNG and seals under the
    /// salt's own subkey (see [`EncryptionKey`]). The plaintext is copied only into a
    /// zeroizing buffer, which is wiped on every path, also when sealing is refused.
    ///
    /// # Errors
    /// [`Error::KeyExhausted`] after 2^32 seals with this key instance;
    /// [`Error::Rng`] if the OS CSPRNG fails; [`Error::TooLong`] past the GCM limit.
    pub fn encrypt(key: &EncryptionKey, plaintext: &[u8], aad: &[u8]) -> Result<Self> {
        let version = KeyVersion::new(key.key_version)?;
        key.seals.take().ok_or(Error::KeyExhausted { version })?;
        let mut random = [0u8; CREDENTIAL_SALT_LEN + NONCE_LEN];
        crate::rng::fill(&mut random)?;
        let (salt, iv) = random.split_at(CREDENTIAL_SALT_LEN);
        let nonce: [u8; NONCE_LEN] = iv.try_into().map_err(|_| Error::Internal {
            what: "the credential iv is not 12 bytes",
        })?;
        let schedule = key.schedule_for(salt)?;
        let prefix = aad_prefix(key.key_version, salt)?;
        let mut data = Zeroizing::new(Vec::with_capacity(plaintext.len().saturating_add(TAG_LEN)));
        crate::plaintext::extend_from_slice(&mut data, plaintext);
        let tag = with_joined_aad(&prefix, aad, |full| {
            schedule.get().seal_in_place(nonce, full, &mut data)
        })?;
        data.extend_from_slice(&tag);
        Ok(Self {
            key_version: key.key_version,
            salt: salt.to_vec(),
            iv: nonce.to_vec(),
            // `data` now holds only ciphertext and tag; take it out, the empty shell is
            // zeroized. On an error above, the plaintext copy is wiped when `data` drops.
            data: core::mem::take(&mut *data),
        })
    }

    /// Checks the fields and decrypts with `key` and the same `aad` as at encryption.
    ///
    /// # Errors
    /// [`Error::LegacyKeyVersion`] for key_version 1,
    /// [`Error::UnsupportedEncryptedDataVersion`] for 0, [`Error::WrongKeyVersion`] when
    /// the data names another version than `key` (use the key of that version),
    /// [`Error::InvalidIvLength`], [`Error::InvalidSaltLength`] (a salt neither empty nor
    /// 32 bytes), [`Error::Truncated`] (data shorter than the tag),
    /// [`Error::Authentication`] for a wrong key, wrong `aad` or modified fields.
    pub fn decrypt(&self, key: &EncryptionKey, aad: &[u8]) -> Result<Plaintext> {
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
        let schedule = key.schedule_for(&self.salt)?;
        let (ct, tag) = self.data.split_at(ct_len);
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Internal {
            what: "the credential tag is not 16 bytes after the length check",
        })?;
        // Wiped on drop (one fast pass), also when authentication fails below.
        let mut buf = Plaintext::copy_of(ct);
        let prefix = aad_prefix(self.key_version, &self.salt)?;
        with_joined_aad(&prefix, aad, |full| {
            schedule
                .get()
                .open_in_place(nonce, full, buf.expose_secret_mut(), &tag)
        })?;
        Ok(buf)
    }

    /// The `key_version` field (the version of the key that encrypted it).
    #[must_use]
    pub const fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The `salt` field: 32 random bytes selecting the credential's subkey, or empty for
    /// credentials sealed under the version key (before per-credential subkeys).
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

    /// The JSON form: `{"key_version":2,"salt":"<base64>","iv":"<base64>","data":"<base64>"}`.
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
    /// [`Error::MalformedEncryptedData`] for invalid JSON, base64 or fields: its reason
    /// names the kind of fault only, never the input, its length or a position in it.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::MalformedEncryptedData {
            reason: json_error_reason(&e),
        })
    }
}

/// What is wrong with JSON that is not an `EncryptedData`, by kind only. serde_json's own
/// message quotes the input (`invalid type: string "..."`), and the text given where a
/// credential was expected may be a secret (a password piped to the wrong command: review
/// round 24), so it is never repeated; nor is the position serde_json reports, which for a
/// quoted string or an input cut short is its length.
fn json_error_reason(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "the JSON could not be read",
        Category::Syntax => "not JSON",
        Category::Data => {
            "JSON that is not an EncryptedData object (a field missing, unknown or of the wrong type)"
        }
        Category::Eof => "the JSON ends early",
    };
    format!("{what}; the input is not repeated here")
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
