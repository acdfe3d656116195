//! Validated identifiers (partition, cell, object, policy, route) and the `Layer` enum.

use core::fmt;
use core::str::FromStr;
use std::sync::Arc;

use crate::{Error, Result};

/// Longest identifier, in bytes (each is written with a one-byte length in the blob header).
pub const MAX_ID_LEN: usize = 128;

/// `true` for the identifier character set: ASCII letters, digits and `. _ - : / @`.
const fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'/' | b'@')
}

fn validate(kind: &'static str, s: &str) -> Result<()> {
    let err = |reason| Error::InvalidId {
        kind,
        value: s.escape_default().to_string(),
        reason,
    };
    if s.is_empty() {
        return Err(err("identifiers are not empty"));
    }
    if s.len() > MAX_ID_LEN {
        return Err(err("identifiers are at most 128 bytes"));
    }
    if !s.bytes().all(allowed) {
        return Err(err(
            "identifiers use only ASCII letters, digits and the characters . _ - : / @",
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Non-empty, at most [`MAX_ID_LEN`] bytes, only ASCII letters, digits and
        /// `. _ - : / @`. `Display` prints it as given and [`FromStr`] parses it back.
        /// Cloning is cheap (shared string).
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Checked constructor.
            ///
            /// # Errors
            /// [`Error::InvalidId`] for an empty or too long id or a character outside the set.
            pub fn new(id: &str) -> Result<Self> {
                validate($kind, id)?;
                Ok(Self(Arc::from(id)))
            }

            /// The identifier.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), &*self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// Identifier of a partition of a vault (a tenant, an application).
    PartitionId,
    "partition id"
);
id_type!(
    /// Identifier of a cell inside a partition.
    CellId,
    "cell id"
);
id_type!(
    /// Identifier of one object sealed in a cell; bound to its blob.
    ObjectId,
    "object id"
);
id_type!(
    /// Identifier of an access policy, as a `TokenResolver` names it (not secret).
    PolicyId,
    "policy id"
);
id_type!(
    /// Identifier of a declared route between two cells.
    RouteId,
    "route id"
);
id_type!(
    /// Who acts (a user, service or token holder), as a `TokenResolver` names it; written
    /// into audit records.
    ActorId,
    "actor id"
);

/// The layers of a cell. Sealing at a layer applies every layer from 0 up to it; opening
/// peels from the top down and needs each layer's credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Layer {
    /// Layer 0, at rest: the cell key alone (derived from the vault master).
    Rest,
    /// Layer 1, access: also needs the policy secret a `TokenResolver` returns for a token.
    Access,
    /// Layer 2, session: also needs a live `Session` (random key, held only in memory).
    Session,
}

impl Layer {
    /// The layer's number (0, 1, 2), as written in the blob header.
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::Rest => 0,
            Self::Access => 1,
            Self::Session => 2,
        }
    }

    /// The layer of a number.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a number above 2.
    pub const fn from_number(n: u8) -> Result<Self> {
        match n {
            0 => Ok(Self::Rest),
            1 => Ok(Self::Access),
            2 => Ok(Self::Session),
            _ => Err(Error::Malformed {
                what: "layer number above 2",
            }),
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_validate_and_round_trip() {
        for ok in [
            "a",
            "tenant-7",
            "inbox/2024.q1",
            "user@example.org",
            "x:y_z",
        ] {
            let id = CellId::new(ok).unwrap();
            assert_eq!(id.to_string().parse::<CellId>().unwrap(), id);
        }
        assert!(CellId::new(&"a".repeat(MAX_ID_LEN)).is_ok());
        for bad in ["", "a b", "é", "a\0", "tab\t", "semi;colon"] {
            assert!(
                matches!(PartitionId::new(bad), Err(Error::InvalidId { .. })),
                "{bad:?}"
            );
        }
        assert!(ObjectId::new(&"a".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn layers_number_and_order() {
        for l in [Layer::Rest, Layer::Access, Layer::Session] {
            assert_eq!(Layer::from_number(l.number()).unwrap(), l);
        }
        assert!(Layer::from_number(3).is_err());
        assert!(Layer::Rest < Layer::Access && Layer::Access < Layer::Session);
    }
}
