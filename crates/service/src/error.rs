//! The crate's one error enum: every way a service request can fail, in a form that crosses the protocol.

use serde::{Deserialize, Serialize};

/// Everything that can go wrong in `hexvault-service`.
///
/// Errors travel inside [`crate::Response::Error`], so every variant is plain data
/// (serde, `Clone`, `PartialEq`) rather than a wrapped source error. Messages say what to
/// do. No variant carries secret material: a rejected phrase is described by position,
/// never echoed, and a failed decryption is the single variant [`Error::Authentication`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Error {
    /// The vault is locked: the request needs the seed.
    #[error("the vault is locked; unlock it with unlock(phrase, passphrase) first")]
    Locked,

    /// `unlock` or `unlock_new` on a vault that is already unlocked.
    #[error("the vault is already unlocked; call lock() first to unlock it with another mnemonic")]
    AlreadyUnlocked,

    /// The service thread has stopped (shutdown, or every handle was dropped).
    #[error("the vault service has stopped; start a new VaultService to continue")]
    Stopped,

    /// The mnemonic phrase (or requested word count) was refused.
    #[error("invalid mnemonic: {reason}")]
    InvalidMnemonic {
        /// What is wrong, without the words of the phrase.
        reason: String,
    },

    /// A derivation path or a derivation step was refused.
    #[error("key derivation failed: {reason}")]
    Derivation {
        /// What the derivation crate reported.
        reason: String,
    },

    /// The path is `m` or inside hexvault's purpose `m/74'` but outside the device subtree
    /// `m/74'/2'/3'` (ADR 0046): its keys never leave the service.
    #[error(
        "{path} is reserved: derive serves only the device subtree m/74'/2'/3'/... and paths \
         outside m/74' (and not m); credentials go through encrypt/decrypt, the vault master \
         and audit keys through vault_master_key(), audit_chain_key() and audit_signer()"
    )]
    ReservedPath {
        /// The requested path.
        path: String,
    },

    /// `EncryptedData` key_version 1 (legacy PBKDF2 scheme).
    #[error(
        "EncryptedData key_version 1 comes from the legacy PBKDF2 scheme, which hexvault does not \
         read; migrate it (decrypt with the old system, re-encrypt with hexvault as key_version 2)"
    )]
    LegacyKeyVersion,

    /// An `EncryptedData` key version this service has no key path for.
    #[error(
        "unsupported EncryptedData key_version {version}: this build reads key versions 2 to \
         {max}; upgrade hexvault if the data is newer"
    )]
    UnsupportedKeyVersion {
        /// The version asked for or found.
        version: u32,
        /// The largest version this build maps to a path.
        max: u32,
    },

    /// `rotate` to a version that is not newer than the data's.
    #[error(
        "cannot rotate EncryptedData from key_version {from} to {to}: rotation only moves to a \
         newer key version"
    )]
    InvalidRotation {
        /// The data's current key version.
        from: u32,
        /// The requested target version.
        to: u32,
    },

    /// Decryption failed: wrong key, wrong associated data, or modified data.
    #[error("decryption failed: wrong key, wrong associated data, or the data was modified")]
    Authentication,

    /// Any other encryption-layer failure (malformed `EncryptedData`, an input too long).
    #[error("encryption failed: {reason}")]
    Encryption {
        /// What the AEAD crate reported.
        reason: String,
    },

    /// A protocol frame names a version this build does not speak.
    #[error(
        "unsupported VaultProtocol version {version}; this build speaks version {supported}, \
         upgrade the older side"
    )]
    UnsupportedProtocolVersion {
        /// The version byte found.
        version: u8,
        /// The version this build speaks.
        supported: u8,
    },

    /// A protocol frame that does not decode, or a response that does not fit the request.
    #[error("malformed VaultProtocol message: {reason}")]
    Protocol {
        /// What is wrong with it.
        reason: String,
    },

    /// A request panicked inside the service; the service keeps serving.
    #[error(
        "the request failed inside the vault service (a bug: please report it); the derived-key \
         cache was cleared and the service is still running"
    )]
    Internal,

    /// The service thread could not be started.
    #[error("could not start the vault service thread: {reason}")]
    Spawn {
        /// What the operating system reported.
        reason: String,
    },

    /// The key of this `EncryptedData` key version has sealed 2^32 credentials in this
    /// service: the AES-GCM limit of one key instance (`hexvault_aead::Error::KeyExhausted`).
    #[error(
        "EncryptedData key_version {version} has sealed 2^32 credentials, the AES-GCM limit; \
         rotate: encrypt new data with encrypt_with_version(.., {version} + 1) and move old data \
         with rotate()"
    )]
    KeyExhausted {
        /// The exhausted key version.
        version: u32,
    },

    /// The operating system's random number generator failed (`hexvault_aead::Error::Rng`).
    #[error(
        "the operating system random number generator failed; retry, or check the OS entropy \
         source"
    )]
    Random,

    /// A share was refused, or the shares combine to no secret; every share handed in so far
    /// was discarded (zeroized).
    #[error(
        "invalid share: {reason}; the shares handed in so far were discarded, start again \
         with the first share"
    )]
    InvalidShare {
        /// What is wrong (never a word of the share).
        reason: String,
    },

    /// `submit_share` on a service that was not built for share unlock.
    #[error(
        "this vault service does not unlock with shares: build it with \
         VaultServiceBuilder::shares(SharesConfig)"
    )]
    SharesNotEnabled,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl From<hexvault_derivation::Error> for Error {
    fn from(e: hexvault_derivation::Error) -> Self {
        Self::Derivation {
            reason: e.to_string(),
        }
    }
}

impl From<hexvault_aead::Error> for Error {
    /// Keeps the kinds a caller acts on: authentication, legacy data, key exhausted (rotate),
    /// RNG failure (retry), an unsupported `EncryptedData` version; every other variant
    /// (those the service's calls can return and those they cannot, such as stream errors,
    /// and any a newer aead adds: the enum is `#[non_exhaustive]`) becomes
    /// [`Error::Encryption`] with the aead's message.
    fn from(e: hexvault_aead::Error) -> Self {
        use hexvault_aead::Error as A;
        match e {
            A::Authentication => Self::Authentication,
            A::LegacyKeyVersion => Self::LegacyKeyVersion,
            A::KeyExhausted { version } => Self::KeyExhausted {
                version: version.get(),
            },
            A::Rng => Self::Random,
            A::UnsupportedEncryptedDataVersion { version } => Self::UnsupportedKeyVersion {
                version,
                max: crate::MAX_KEY_VERSION,
            },
            other @ (A::UnknownMagic
            | A::UnsupportedFormatVersion { .. }
            | A::Truncated { .. }
            | A::WrongKeyVersion { .. }
            | A::UnknownKeyVersion { .. }
            | A::KeyVersionRetired { .. }
            | A::InvalidKeyVersion { .. }
            | A::InvalidKeyLength { .. }
            | A::InvalidIvLength { .. }
            | A::MalformedEncryptedData { .. }
            | A::TooLong { .. }) => Self::Encryption {
                reason: other.to_string(),
            },
            other => Self::Encryption {
                reason: other.to_string(),
            },
        }
    }
}

impl From<hexvault_keys::Error> for Error {
    fn from(e: hexvault_keys::Error) -> Self {
        use hexvault_keys::Error as K;
        match e {
            K::Derivation(e) => e.into(),
            K::Aead(e) => e.into(),
            K::LegacyKeyVersion => Self::LegacyKeyVersion,
            K::UnsupportedKeyVersion { version, max } => {
                Self::UnsupportedKeyVersion { version, max }
            }
            other => Self::Derivation {
                reason: other.to_string(),
            },
        }
    }
}

impl From<hexvault_mnemonic::Error> for Error {
    /// Keeps positions and counts, drops the wordlist suggestion: a suggested word is very
    /// likely a word of the user's secret, and errors may be logged.
    fn from(e: hexvault_mnemonic::Error) -> Self {
        use hexvault_mnemonic::Error as M;
        let reason = match e {
            M::UnknownWord {
                position, language, ..
            } => format!(
                "word {position} is not in the {language} BIP-39 word list: check its spelling \
                 against your backup"
            ),
            M::MixedLanguages {
                position, expected, ..
            } => format!(
                "word {position} is not a {expected} word like the rest of the phrase: a BIP-39 \
                 phrase uses one word list, so replace word {position}"
            ),
            other => other.to_string(),
        };
        Self::InvalidMnemonic { reason }
    }
}

impl From<postcard::Error> for Error {
    fn from(e: postcard::Error) -> Self {
        Self::Protocol {
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexvault_aead::KeyVersion;

    /// A caller can match "key exhausted, rotate" and "RNG failed, retry" (the old mapping
    /// flattened both into `Encryption { reason }`).
    #[test]
    fn aead_error_kinds_survive() -> core::result::Result<(), hexvault_aead::Error> {
        let version = KeyVersion::new(7)?;
        assert_eq!(
            Error::from(hexvault_aead::Error::KeyExhausted { version }),
            Error::KeyExhausted { version: 7 }
        );
        assert_eq!(Error::from(hexvault_aead::Error::Rng), Error::Random);
        assert_eq!(
            Error::from(hexvault_aead::Error::Authentication),
            Error::Authentication
        );
        assert_eq!(
            Error::from(hexvault_aead::Error::LegacyKeyVersion),
            Error::LegacyKeyVersion
        );
        assert!(matches!(
            Error::from(hexvault_aead::Error::UnsupportedEncryptedDataVersion { version: 0 }),
            Error::UnsupportedKeyVersion { version: 0, .. }
        ));
        assert!(
            Error::KeyExhausted { version: 7 }
                .to_string()
                .contains("rotate")
        );
        Ok(())
    }
}
