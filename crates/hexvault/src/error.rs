//! The facade's one error enum and its `Result` alias.

/// Everything the assembled API of the facade ([`crate::Vault`], [`crate::VaultBuilder`]) can
/// return, plus the errors of the cells and edges calls an application makes on the vault,
/// so that one error type carries them all with `?`. The crates keep their own errors; they
/// arrive here wrapped, unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The phrase is not a valid BIP-39 mnemonic. The wrapped error says which word (by
    /// position) or the checksum failed, never a word: the mnemonic crate's "did you mean"
    /// suggestion, very likely the word of the phrase the user meant, is dropped on the way
    /// in (as the service does), since errors get logged.
    #[error(transparent)]
    Mnemonic(hexvault_mnemonic::Error),

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

    /// An existing file audit log holds records (anything past its header, also a torn
    /// frame) but the anchor file beside it is missing:
    /// whoever cut the log could have deleted the anchor too, so the vault does not open
    /// it (ADR 0060; SECURITY.md, audit row). A vault anchors its log at the first record,
    /// so an honest log is in this state only after a crash during that first anchor write
    /// (or a crash in its first append, leaving a torn frame), or if the anchor was lost.
    #[error(
        "the audit log {log} holds records but its anchor file {anchor} is missing, so a cut \
         of the log could not be detected: restore the anchor from its backup (or the copy \
         shipped elsewhere); if there is none (the anchor was lost, or the process crashed \
         during the log's first append or first anchor write), check the log against what you \
         know of it and open once with VaultBuilder::reanchor_missing_anchor to sign a new \
         anchor at the log's current head"
    )]
    AnchorMissing {
        /// The log file.
        log: std::path::PathBuf,
        /// Where its anchor was expected (`<log>.anchor`).
        anchor: std::path::PathBuf,
    },

    /// The key-vault service refused to hand out a capability (locked, stopped).
    #[cfg(feature = "service")]
    #[error(transparent)]
    Service(#[from] hexvault_service::Error),
}

impl From<hexvault_mnemonic::Error> for Error {
    /// Keeps positions, counts and languages; drops the wordlist suggestion (a word the
    /// user very likely meant, so a word of the secret phrase).
    fn from(e: hexvault_mnemonic::Error) -> Self {
        use hexvault_mnemonic::Error as M;
        Self::Mnemonic(match e {
            M::UnknownWord {
                position, language, ..
            } => M::UnknownWord {
                position,
                language,
                suggestion: None,
            },
            M::MixedLanguages {
                position,
                expected,
                found,
                ..
            } => M::MixedLanguages {
                position,
                expected,
                found,
                suggestion: None,
            },
            other => other,
        })
    }
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
