//! The crate's one error enum and its `Result` alias.

use crate::Layer;

/// Everything that can go wrong in `hexvault-cells`.
///
/// A failed authentication is the single variant [`Error::Authentication`], with no detail.
/// A blob presented to the wrong partition, cell, object, policy or session is named
/// ([`Error::Mismatch`]) because the header shows it in the clear.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A layer did not authenticate or its key commitment did not match: wrong credentials
    /// or a modified blob. No plaintext was returned.
    #[error("cell blob did not authenticate: wrong credentials, or the blob was modified")]
    Authentication,

    /// An identifier is empty, too long or has a character outside the documented set.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidId {
        /// Which identifier (partition id, cell id, object id, policy id, route id, actor).
        kind: &'static str,
        /// The rejected value, escaped.
        value: String,
        /// What is required.
        reason: &'static str,
    },

    /// The bytes are not a cell blob of a format this build reads.
    #[error("malformed cell blob: {what}; pass the bytes Cell::seal returned")]
    Malformed {
        /// What is wrong.
        what: &'static str,
    },

    /// The blob was sealed for another partition, cell, object, policy or session.
    #[error("blob belongs to {field} {found:?}, not {expected:?}: open it there")]
    Mismatch {
        /// Which header field differs.
        field: &'static str,
        /// The value the caller presented.
        expected: String,
        /// The value the header names.
        found: String,
    },

    /// The operation needs a credential of a layer that was not given.
    #[error("layer {layer} needs {needed}; add it to the Credentials")]
    MissingCredential {
        /// The layer.
        layer: Layer,
        /// What to pass.
        needed: &'static str,
    },

    /// The token resolver refused the access token.
    #[error("the access token was refused by the token resolver; obtain a valid token")]
    Denied,

    /// The session has ended or expired: its key is gone and its data unreadable.
    #[error("the session has ended or expired; layer-2 data sealed in it cannot be opened")]
    SessionEnded,

    /// The header names a master or cell key version this vault does not hold.
    #[error("no {which} key version {version} in this vault; load or restore that version")]
    UnknownKeyVersion {
        /// `master` or `cell`.
        which: &'static str,
        /// The version named.
        version: u32,
    },

    /// The header names a retired key version.
    #[error(
        "{which} key version {version} is retired (minimum {minimum}); \
         reseal data before retiring its version"
    )]
    KeyVersionRetired {
        /// `master` or `cell`.
        which: &'static str,
        /// The version named.
        version: u32,
        /// The minimum version still opened.
        minimum: u32,
    },

    /// An earlier key-version change may be in the audit log without having taken effect in
    /// this vault (its append reported an error, or its checkpoint or flush failed); the log
    /// may name versions the vault does not hold. Replay the whole log first.
    #[error(
        "an earlier key-version change may be in the audit log without having taken effect (its append, checkpoint or flush failed): replay the whole log into the vault (Vault::replay_versions, or restart from the log) before changing key versions again"
    )]
    VersionsUnsettled,

    /// A version number that cannot be used (0, not above the current one, or exhausted).
    #[error("invalid key version {version}: {reason}")]
    InvalidKeyVersion {
        /// The version.
        version: u32,
        /// What is required.
        reason: &'static str,
    },

    /// A transfer along a route the vault does not declare.
    #[error("no declared route {route:?}; declare it with Vault::declare_route first")]
    UndeclaredRoute {
        /// The route id asked for.
        route: String,
    },

    /// A transfer whose source or destination is not the declared one.
    #[error("route {route:?} goes from {declared}, not {given}; use the route's own cells")]
    RouteMismatch {
        /// The route id.
        route: String,
        /// The declared endpoint.
        declared: String,
        /// The endpoint given.
        given: String,
    },

    /// A traversal asked for a destination layer its route does not allow.
    #[error(
        "route {route:?} does not allow layer {from} to layer {to}; \
         declare the route with RouteLayers that allow it"
    )]
    LayerNotAllowed {
        /// The route id.
        route: String,
        /// The blob's layer.
        from: Layer,
        /// The destination layer asked for.
        to: Layer,
    },

    /// A route was declared between cells of different vaults.
    #[error("cell {cell} belongs to another vault; declare routes between cells of one vault")]
    ForeignCell {
        /// The cell, as `partition/cell`.
        cell: String,
    },

    /// Compressing or decompressing the content of a `seal_compressed` blob failed (limits of
    /// the envelope crate), or the blob is compressed and this build lacks the `compression`
    /// feature.
    #[error("compressed content: {reason}")]
    Compression {
        /// What went wrong and what to do.
        reason: String,
    },

    /// The audit log refused the record; the operation did not happen.
    #[error("audit log append failed, operation refused: {0}")]
    Audit(#[from] hexvault_audit::Error),

    /// An AEAD or key derivation primitive failed (RNG, length limits, key exhaustion).
    #[error(transparent)]
    Aead(#[from] hexvault_aead::Error),

    /// The application-key crate refused a derivation.
    #[error(transparent)]
    Keys(#[from] hexvault_keys::Error),

    /// A case the code rules out happened: a bug in hexvault-cells.
    #[error("internal error in hexvault-cells ({what}); please report this bug")]
    Internal {
        /// Which invariant did not hold.
        what: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// [`Error::Internal`], built only on the failure path (an error value built eagerly and
/// dropped on success costs a call to its drop glue on the hot path).
#[cold]
pub(crate) const fn internal(what: &'static str) -> Error {
    Error::Internal { what }
}
