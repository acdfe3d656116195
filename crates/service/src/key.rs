//! `KeyType` and `DerivedKey`: what a derivation request asks for and what it hands back.

use core::fmt;
use core::str::FromStr;

use hexvault_derivation::DerivationPath;
use serde::de;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::wire;
use crate::{Error, Result};

/// What a JSON (or any human-readable) serialization writes instead of a private key.
pub const REDACTED: &str = hexvault_aead::serde_bytes::REDACTED;

/// HKDF label of [`KeyType::Aes256Gcm`] keys (see `docs/adr/0041`, amended by issue 9:
/// the input is the node's private key; the v1 label over the chain code is retired).
pub const AES_KEY_LABEL: &str = "hexvault/v2/service/aes-256-gcm";

/// The kind of key a derivation request asks for.
///
/// The derived-key cache is keyed by `(KeyType, path)`, so a key is only ever handed
/// out as the type it was derived for:
///
/// * [`KeyType::Ed25519`]: the SLIP-0010 ed25519 private key at the path (hardened
///   steps only) and its 32-byte public key.
/// * [`KeyType::Aes256Gcm`]: a 32-byte AES-256-GCM key,
///   `HKDF-SHA256(ikm = SLIP-0010 ed25519 private key at the path, info = encode_info(`[`AES_KEY_LABEL`]`, []))`.
///   Never derived from the chain code (chain codes are secrets that re-derive a subtree),
///   and never the raw node bytes; whoever holds the ed25519 key at a path can compute the
///   AES key at that path, so give different holders different paths. No public key.
/// * `KeyType::Secp256k1` (feature `secp256k1`): the BIP-32 secp256k1 private key at
///   the path and its 33-byte compressed public key.
///
/// Wire form: postcard variant index (0, 1, 2); JSON names `"ed25519"`,
/// `"aes-256-gcm"`, `"secp256k1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyType {
    /// SLIP-0010 ed25519 signing key.
    #[serde(rename = "ed25519")]
    Ed25519,
    /// AES-256-GCM symmetric key (HKDF of the SLIP-0010 node's private key).
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// BIP-32 secp256k1 key.
    #[cfg(feature = "secp256k1")]
    #[serde(rename = "secp256k1")]
    Secp256k1,
}

impl KeyType {
    /// The name used in text and JSON: `ed25519`, `aes-256-gcm`, `secp256k1`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::Aes256Gcm => "aes-256-gcm",
            #[cfg(feature = "secp256k1")]
            Self::Secp256k1 => "secp256k1",
        }
    }

    /// Length of the public key handed out with a key of this type (`None`: no public key).
    #[must_use]
    pub const fn public_key_len(self) -> Option<usize> {
        match self {
            Self::Ed25519 => Some(32),
            Self::Aes256Gcm => None,
            #[cfg(feature = "secp256k1")]
            Self::Secp256k1 => Some(33),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "aes-256-gcm" | "aes256gcm" => Ok(Self::Aes256Gcm),
            #[cfg(feature = "secp256k1")]
            "secp256k1" => Ok(Self::Secp256k1),
            other => Err(Error::Protocol {
                reason: format!(
                    "unknown key type {:?}: use ed25519, aes-256-gcm or secp256k1 (the latter \
                     needs the secp256k1 feature)",
                    other.chars().take(32).collect::<String>()
                ),
            }),
        }
    }
}

/// A key derived by the service: its type, its path, its public key (if the type has
/// one) and its 32-byte private key.
///
/// Zeroized on drop, not `Clone`, `Debug` prints no secret. The private key is reachable
/// only through [`DerivedKey::expose_secret`]. Equality is constant-time over the private
/// key (and plain over the public fields).
///
/// Serialization: binary formats (postcard, the protocol) carry the private key as
/// 32 raw bytes; human-readable formats (JSON) write `"[REDACTED]"` instead, and reading
/// a `DerivedKey` from a human-readable format is always an error, so a redacted key can
/// never turn into a key made of the bytes of `"[REDACTED]"`.
pub struct DerivedKey {
    key_type: KeyType,
    path: DerivationPath,
    public_key: Option<Vec<u8>>,
    /// Boxed so that moving a `DerivedKey` (into the cache, through a channel, to the
    /// caller) moves a pointer and leaves no copy of the secret behind.
    private_key: Box<[u8; 32]>,
}

impl DerivedKey {
    /// Builds a key after checking that the public key fits the key type.
    pub(crate) fn new(
        key_type: KeyType,
        path: DerivationPath,
        public_key: Option<Vec<u8>>,
        private_key: &[u8; 32],
    ) -> Result<Self> {
        if public_key.as_ref().map(Vec::len) != key_type.public_key_len() {
            return Err(Error::Protocol {
                reason: format!("a {key_type} key has a public key of the wrong length"),
            });
        }
        Ok(Self {
            key_type,
            path,
            public_key,
            private_key: Box::new(*private_key),
        })
    }

    /// A second copy, for handing a cached key to a caller (crate-private on purpose).
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            key_type: self.key_type,
            path: self.path.clone(),
            public_key: self.public_key.clone(),
            private_key: Box::new(*self.private_key),
        }
    }

    /// The type this key was derived as.
    #[must_use]
    pub const fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The derivation path.
    #[must_use]
    pub const fn path(&self) -> &DerivationPath {
        &self.path
    }

    /// The public key: 32 bytes (ed25519), 33 bytes compressed (secp256k1), `None` (AES).
    #[must_use]
    pub fn public_key(&self) -> Option<&[u8]> {
        self.public_key.as_deref()
    }

    /// The 32 secret bytes. Keep the borrow short; copies are the caller's to zeroize.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.private_key
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DerivedKey")
            .field("key_type", &self.key_type)
            .field("path", &self.path)
            .field("public_key", &self.public_key.as_deref().map(wire::to_hex))
            .field("private_key", &REDACTED)
            .finish_non_exhaustive()
    }
}

impl DerivedKey {
    /// Wipes the secret parts (private: a wiped key must never be used, so only `Drop`
    /// calls it).
    fn wipe(&mut self) {
        self.private_key.as_mut().zeroize();
    }
}

impl Drop for DerivedKey {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl ZeroizeOnDrop for DerivedKey {}

impl ConstantTimeEq for DerivedKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        let public = self.key_type == other.key_type
            && self.path == other.path
            && self.public_key == other.public_key;
        Choice::from(u8::from(public))
            & self
                .private_key
                .as_slice()
                .ct_eq(other.private_key.as_slice())
    }
}

impl PartialEq for DerivedKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for DerivedKey {}

impl Serialize for DerivedKey {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        struct PathRef<'a>(&'a DerivationPath);
        impl Serialize for PathRef<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                wire::path::serialize(self.0, s)
            }
        }
        struct PublicRef<'a>(&'a Option<Vec<u8>>);
        impl Serialize for PublicRef<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                hexvault_aead::serde_bytes::opt_hex::serialize(self.0, s)
            }
        }
        struct SecretRef<'a>(&'a [u8; 32]);
        impl Serialize for SecretRef<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                hexvault_aead::serde_bytes::redacted::serialize(self.0, s)
            }
        }

        let mut st = s.serialize_struct("DerivedKey", 4)?;
        st.serialize_field("key_type", &self.key_type)?;
        st.serialize_field("path", &PathRef(&self.path))?;
        st.serialize_field("public_key", &PublicRef(&self.public_key))?;
        st.serialize_field("private_key", &SecretRef(&self.private_key))?;
        st.end()
    }
}

/// The wire shape of a `DerivedKey`, checked before it becomes one.
#[derive(Deserialize)]
#[serde(rename = "DerivedKey", deny_unknown_fields)]
struct DerivedKeyWire {
    key_type: KeyType,
    #[serde(with = "wire::path")]
    path: DerivationPath,
    #[serde(with = "hexvault_aead::serde_bytes::opt_hex")]
    public_key: Option<Vec<u8>>,
    /// Never read from a human-readable format (it is `"[REDACTED]"` there).
    #[serde(with = "hexvault_aead::serde_bytes::redacted")]
    private_key: Zeroizing<Vec<u8>>,
}

impl<'de> Deserialize<'de> for DerivedKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let w = DerivedKeyWire::deserialize(d)?;
        let key: Zeroizing<[u8; 32]> =
            Zeroizing::new(w.private_key.as_slice().try_into().map_err(|_| {
                de::Error::custom(format!(
                    "DerivedKey private_key must be 32 bytes, found {}",
                    w.private_key.len()
                ))
            })?);
        Self::new(w.key_type, w.path, w.public_key, &key).map_err(de::Error::custom)
    }
}
