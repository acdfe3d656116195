//! The crate's one error enum and its `Result` alias.

/// Everything that can go wrong in `hexvault-edges`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cells crate refused the declaration or the traversal (undeclared route, blob of
    /// another cell, layer the edge does not allow, wrong credentials, modified blob, audit
    /// append failure, ...). Match on the inner error for the reason; every refused
    /// traversal is also in the audit log.
    #[error(transparent)]
    Cells(#[from] hexvault_cells::Error),

    /// The default route name of an edge (`partition/cell@partition/cell`, or
    /// `reseal@partition/cell`) is longer than a route id may be.
    #[error(
        "the default route name {name:?} is longer than 128 bytes; \
         name the edge with EdgeRule::named"
    )]
    RouteName {
        /// The name that did not fit.
        name: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// The cells error inside, if this is one.
    #[must_use]
    pub const fn cells(&self) -> Option<&hexvault_cells::Error> {
        match self {
            Self::Cells(e) => Some(e),
            Self::RouteName { .. } => None,
        }
    }
}
