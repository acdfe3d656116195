//! The facade's one error enum and its `Result` alias.

/// Everything the assembled API of the facade ([`crate::Vault`], [`crate::VaultBuilder`]) can
/// return, plus the errors of the cells and edges calls an application makes on the vault,
/// so that one error type carries them all with `?`. The crates keep their own errors; they
/// arrive here wrapped, unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The phrase is not a valid BIP-39 mnemonic (the wrapped error says which word or
    /// checksum failed, never the phrase).
    #[error(transparent)]
    Mnemonic(#[from] hexvault_mnemonic::Error),

    /// An application key could not be derived from the seed.
    #[error(transparent)]
    Keys(#[from] hexvault_keys::Error),

    /// A cell operation failed (not returned by the facade's own methods: converted from
    /// the cells calls of an application).
    #[error(transparent)]
    Cells(#[from] hexvault_cells::Error),

    /// An edge could not be declared or traversed (converted from the edges calls of an
    /// application).
    #[error(transparent)]
    Edges(#[from] hexvault_edges::Error),

    /// The audit log could not be created, opened, appended to or verified, or it is
    /// damaged (`hexvault_audit::Error::Damaged` names the first bad sequence number).
    #[error(transparent)]
    Audit(#[from] hexvault_audit::Error),

    /// The key-vault service refused to hand out a capability (locked, stopped).
    #[cfg(feature = "service")]
    #[error(transparent)]
    Service(#[from] hexvault_service::Error),
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
