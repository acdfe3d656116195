//! The crate's one error enum: every way turning a seed into an application key can fail.

/// Everything that can go wrong in `hexvault-keys`.
///
/// Messages say what to do. No variant carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HD derivation failed (it cannot for the fixed hardened paths and a 64-byte seed;
    /// kept so that a future path change surfaces as an error, not a panic).
    #[error("deriving the key at its HD path failed: {0}")]
    Derivation(#[from] hexvault_derivation::Error),

    /// Building the symmetric key failed (HKDF input too long, or the OS CSPRNG did not
    /// answer while preparing a key's nonce source).
    #[error("building the key failed: {0}")]
    Aead(#[from] hexvault_aead::Error),

    /// `EncryptedData` key_version 1 (the legacy PBKDF2 scheme) has no HD key.
    #[error(
        "EncryptedData key_version 1 comes from the legacy PBKDF2 scheme, which hexvault does not \
         read; migrate it (decrypt with the old system, re-encrypt with hexvault as key_version 2)"
    )]
    LegacyKeyVersion,

    /// An `EncryptedData` key version that maps to no derivation path.
    #[error(
        "unsupported EncryptedData key_version {version}: this build reads key versions 2 to \
         {max}; upgrade hexvault if the data is newer"
    )]
    UnsupportedKeyVersion {
        /// The version asked for.
        version: u32,
        /// The largest version this build maps to a path.
        max: u32,
    },

    /// [`VaultMasterKey::derive_key`](crate::VaultMasterKey::derive_key) was asked for a label
    /// this crate reserves for a typed key.
    #[error(
        "the HKDF label {label:?} is reserved for a typed application key; use the typed method \
         (e.g. VaultMasterKey::audit_chain_key) or pick a label of your own component"
    )]
    ReservedLabel {
        /// The label asked for.
        label: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
