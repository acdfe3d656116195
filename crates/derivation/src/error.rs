//! The crate's one error type: every way a path, a seed, a derivation or an extended key can fail.

use core::fmt;

/// Everything that can go wrong in `hexvault-derivation`.
///
/// Messages say what to do. None of them carries secret bytes: a rejected extended key
/// is described by the field that is wrong, never echoed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A derivation path string could not be parsed.
    #[error(
        "invalid derivation path (component {component}): {reason}; write it like m/74'/2'/0'/0'"
    )]
    InvalidPath {
        /// 1-based position of the offending `/`-separated component (0 for the root).
        component: usize,
        /// What is wrong with it.
        reason: PathErrorKind,
    },

    /// A child index was outside `0..2^31`.
    #[error(
        "child index {index} is out of range: indices go from 0 to 2147483647; mark a hardened index with ' instead of adding 2^31"
    )]
    IndexOutOfRange {
        /// The index that was given.
        index: u32,
    },

    /// A path or key would be deeper than BIP-32's 255 levels.
    #[error(
        "derivation depth would exceed 255 levels (BIP-32 stores depth in one byte); use a shorter path"
    )]
    DepthOverflow,

    /// The seed has a length BIP-32 / SLIP-0010 does not accept.
    #[error("seed is {len} bytes; a seed must be {min} to {max} bytes (a BIP-39 seed is 64 bytes)")]
    InvalidSeedLength {
        /// Length that was given.
        len: usize,
        /// Smallest accepted length.
        min: usize,
        /// Largest accepted length.
        max: usize,
    },

    /// SLIP-0010 ed25519 was asked for a non-hardened step.
    #[error(
        "SLIP-0010 ed25519 supports only hardened derivation: write {index}' instead of {index}"
    )]
    HardenedOnly {
        /// The non-hardened index that was requested.
        index: u32,
    },

    /// A public extended key was asked for a hardened child.
    #[error(
        "a hardened child ({index}') cannot be derived from a public key; derive it from the extended private key"
    )]
    HardenedFromPublic {
        /// The hardened index that was requested.
        index: u32,
    },

    /// The seed produced an invalid BIP-32 master key (IL = 0 or IL >= n).
    #[error(
        "this seed gives an invalid BIP-32 master key (probability about 2^-127); use a different seed"
    )]
    InvalidMasterKey,

    /// BIP-32's "invalid child" case: IL >= n or the child key is zero / the point at infinity.
    #[error(
        "child {child} is invalid under BIP-32 (probability about 2^-127); skip to the next index"
    )]
    InvalidChildKey {
        /// Display form of the child number (`5` or `5'`).
        child: String,
    },

    /// The extended key string is not valid Base58.
    #[error(
        "extended key is not valid Base58 (bad character at position {position}); check for a copy/paste error"
    )]
    InvalidBase58 {
        /// Byte offset of the first bad character.
        position: usize,
    },

    /// The Base58Check checksum does not match.
    #[error("extended key checksum does not match: the key was mistyped or truncated")]
    InvalidChecksum,

    /// The decoded extended key does not have 78 bytes.
    #[error(
        "extended key decodes to {len} bytes, not 78: the key is truncated or is not a BIP-32 key"
    )]
    InvalidLength {
        /// Decoded length without the checksum (0 when the text is far too long).
        len: usize,
    },

    /// The version bytes are neither mainnet xprv nor xpub.
    #[error(
        "unsupported extended key version 0x{version:08x}: only mainnet xprv (0x0488ade4) and xpub (0x0488b21e) are supported, not testnet or SLIP-132 (ypub/zpub) keys"
    )]
    UnknownVersion {
        /// The 4 version bytes, big-endian.
        version: u32,
    },

    /// The version says one kind of key and the string was parsed as the other.
    #[error(
        "this is an {found} but an {expected} was expected; parse it with the matching type (ExtendedPrivateKey or ExtendedPublicKey)"
    )]
    WrongKeyKind {
        /// What the caller asked for (`xprv` or `xpub`).
        expected: KeyKind,
        /// What the version bytes say.
        found: KeyKind,
    },

    /// The version bytes and the key data disagree (an xpub carrying a private key or the reverse).
    #[error(
        "extended key version says {version} but its key field holds the other kind of key (data: {data}): the key is corrupt"
    )]
    VersionKeyMismatch {
        /// Kind named by the version bytes.
        version: KeyKind,
        /// Kind of the 33-byte key field.
        data: KeyKind,
    },

    /// Depth 0 with a non-zero parent fingerprint.
    #[error("extended key has depth 0 but a non-zero parent fingerprint: the key is corrupt")]
    ZeroDepthParentFingerprint,

    /// Depth 0 with a non-zero child number.
    #[error("extended key has depth 0 but a non-zero child number: the key is corrupt")]
    ZeroDepthChildNumber,

    /// The private key field does not start with 0x00.
    #[error("extended private key field starts with 0x{prefix:02x}, not 0x00: the key is corrupt")]
    InvalidPrivateKeyPrefix {
        /// The first byte of the key field.
        prefix: u8,
    },

    /// The public key field does not start with 0x02 or 0x03.
    #[error(
        "extended public key field starts with 0x{prefix:02x}, not 0x02 or 0x03 (compressed SEC1): the key is corrupt"
    )]
    InvalidPublicKeyPrefix {
        /// The first byte of the key field.
        prefix: u8,
    },

    /// The private key is 0 or not below the curve order n.
    #[error("extended private key is 0 or not below the secp256k1 order: the key is corrupt")]
    InvalidPrivateKey,

    /// The public key is not a point on secp256k1.
    #[error("extended public key is not a point on secp256k1: the key is corrupt")]
    InvalidPublicKey,
}

/// What is wrong with a derivation path component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathErrorKind {
    /// The string is empty.
    Empty,
    /// The string does not start with `m`.
    MissingRoot,
    /// Two slashes in a row, or a slash at the start or end.
    EmptyComponent,
    /// A character that is not a digit or a hardened marker.
    InvalidCharacter(char),
    /// A hardened marker with no digits before it.
    MissingIndex,
    /// More than one hardened marker, or a marker in the middle.
    MisplacedMarker,
    /// A number written with leading zeros (`01`).
    LeadingZero,
    /// The index is 2^31 or larger.
    IndexTooLarge,
    /// More than 255 components.
    TooDeep,
}

impl fmt::Display for PathErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the path is empty (the master key is `m`)"),
            Self::MissingRoot => f.write_str("a path starts with `m`"),
            Self::EmptyComponent => {
                f.write_str("empty component (a leading, trailing or doubled `/`)")
            }
            Self::InvalidCharacter(c) => write!(
                f,
                "unexpected character {c:?} (only digits and a final ', h or H are allowed)"
            ),
            Self::MissingIndex => f.write_str("a hardened marker needs a number before it"),
            Self::MisplacedMarker => {
                f.write_str("the hardened marker (', h or H) may appear once, at the end")
            }
            Self::LeadingZero => f.write_str("numbers are written without leading zeros"),
            Self::IndexTooLarge => f.write_str(
                "the index must be below 2^31 (2147483648), with or without a hardened marker",
            ),
            Self::TooDeep => f.write_str("a path has at most 255 components"),
        }
    }
}

/// The two kinds of extended key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// An extended private key (`xprv`).
    Private,
    /// An extended public key (`xpub`).
    Public,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Private => f.write_str("xprv"),
            Self::Public => f.write_str("xpub"),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
