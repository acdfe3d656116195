//! The error of the command line and of its file parsers, and its mapping to exit codes.

use std::process::ExitCode;

/// Why a command stopped. Usage errors exit with 2, everything else with 1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line or its inputs are malformed: fix the invocation.
    #[error("{0}")]
    Usage(String),
    /// A mnemonic was rejected.
    #[error(transparent)]
    Mnemonic(#[from] hexvault::mnemonic::Error),
    /// A derivation failed.
    #[error(transparent)]
    Derivation(#[from] hexvault::derivation::Error),
    /// Encryption or decryption failed.
    #[error(transparent)]
    Aead(#[from] hexvault::aead::Error),
    /// An audit log could not be read or verified.
    #[error(transparent)]
    Audit(#[from] hexvault::audit::Error),
    /// A key could not be derived from the seed.
    #[error(transparent)]
    Keys(#[from] hexvault::keys::Error),
    /// The key-vault service refused or failed a request.
    #[error(transparent)]
    Service(#[from] hexvault::service::Error),
    /// An envelope was rejected.
    #[error(transparent)]
    Envelope(#[from] hexvault::envelope::Error),
    /// A cell refused a seal or an open.
    #[error(transparent)]
    Cells(#[from] hexvault::cells::Error),
    /// A SLIP-0039 share or set of shares was refused.
    #[error(transparent)]
    Shares(#[from] hexvault::shares::Error),
    /// An edge could not be declared or traversed.
    #[error(transparent)]
    Edges(#[from] hexvault::edges::Error),
    /// The assembled vault (keys, cells and audit log) could not be built or verified.
    #[error(transparent)]
    Vault(#[from] hexvault::Error),
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being read or written.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Any other failed operation.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// A failed read or write, with what was being read or written.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// The exit code: 2 for usage errors, 1 for the rest.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    }

    /// A stable one-word class of the error, the `kind` of `--json` errors on stderr.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::Mnemonic(_) => "mnemonic",
            Self::Derivation(_) => "derivation",
            Self::Aead(_) => "aead",
            Self::Audit(_) => "audit",
            Self::Keys(_) => "keys",
            Self::Service(_) => "service",
            Self::Envelope(_) => "envelope",
            Self::Cells(_) => "cells",
            Self::Shares(_) => "shares",
            Self::Edges(_) => "edges",
            Self::Vault(_) => "vault",
            Self::Io { .. } => "io",
            Self::Failed(_) => "failed",
        }
    }
}

/// Prints `message` on standard error: `hexvault: error: ...`, or under `--json` one JSON
/// object `{"error": message, "kind": kind}` so that scripts parse failures as they parse
/// results.
pub fn report(message: &str, kind: &str, json: bool) {
    if json {
        let object = serde_json::json!({ "error": message, "kind": kind });
        eprintln!("{object}");
    } else {
        eprintln!("hexvault: error: {message}");
    }
}

/// The result of a command or parser.
pub type CliResult<T = ()> = Result<T, CliError>;
