//! The crate's one error type: what is wrong with a share, a set of shares or a split request.

use core::fmt;

/// A value that two shares of one set must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parameter {
    /// The random identifier (the first 15 bits of the first two words).
    Identifier,
    /// The extendable-backup flag (bit 16 of the first two words).
    Extendable,
    /// The PBKDF2 iteration exponent (the last 4 bits of the second word).
    IterationExponent,
    /// The group threshold (third word).
    GroupThreshold,
    /// The group count (third and fourth words).
    GroupCount,
    /// The length of the share value (the number of words).
    Length,
    /// The member threshold of shares of the same group (fourth word).
    MemberThreshold,
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Identifier => "identifier",
            Self::Extendable => "extendable-backup flag",
            Self::IterationExponent => "iteration exponent",
            Self::GroupThreshold => "group threshold",
            Self::GroupCount => "group count",
            Self::Length => "length",
            Self::MemberThreshold => "member threshold",
        })
    }
}

/// Everything that can go wrong in `hexvault-shares`.
///
/// Word positions and share numbers are **1-based**, the way a person counts words on a
/// share sheet and sheets in a pile. Groups are numbered 1 to 16 as well.
///
/// # Secrecy
///
/// No variant contains the words that were given. The `suggestion` of
/// [`Error::UnknownWord`] is a word of the public list, but very likely the word the user
/// meant to write, so it is a word of their secret share: show it to the user who typed
/// the share and do not log it where shares must not go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A word is not in the SLIP-0039 word list.
    #[error(
        "word {position} is not in the SLIP-0039 word list{hint}: check its spelling against the share",
        hint = Hint(*suggestion)
    )]
    UnknownWord {
        /// 1-based position of the word in the share.
        position: usize,
        /// The list word with the same first four letters, or the closest one when it is
        /// close enough to be a useful hint.
        suggestion: Option<&'static str>,
    },

    /// A share has a number of words that no SLIP-0039 share has.
    #[error(
        "a SLIP-0039 share has 20 words (128-bit secret), 33 (256-bit secret) or another count from 20 to 59 whose words carry a secret of an even number of bytes, and {count} does not: check for a missing or an extra word"
    )]
    BadWordCount {
        /// The number of words found.
        count: usize,
    },

    /// The RS1024 checksum (the last three words) does not match the share.
    #[error(
        "the share's checksum does not match{at}: a word is wrong; check every word and its order against the share",
        at = Position(*position)
    )]
    InvalidChecksum {
        /// 1-based position of the wrong word when changing exactly one position can make
        /// the share valid, as it can when a single word is wrong (RS1024 has minimum
        /// distance 4). The right word is never suggested, as SLIP-0039 asks.
        position: Option<usize>,
    },

    /// The share value's padding bits are not zero.
    #[error(
        "the share's value has non-zero padding bits: it was not written by a SLIP-0039 implementation or a word is wrong"
    )]
    InvalidPadding,

    /// A share says its group threshold is larger than its group count.
    #[error(
        "the share's group threshold is larger than its group count: the share is corrupt or was not written by a SLIP-0039 implementation"
    )]
    GroupThresholdAboveCount,

    /// The share's group index is not below its group count (no split writes such a share).
    #[error(
        "the share names group {group} of {count}: the share is corrupt or was not written by a SLIP-0039 implementation"
    )]
    GroupIndexAboveCount {
        /// The share's group number, 1-based.
        group: u8,
        /// The group count the share declares.
        count: u8,
    },

    /// A share disagrees with the first share of the set on a value all must share.
    #[error(
        "share {share} has another {parameter} than share {first}: it belongs to another backup (or another group); remove it"
    )]
    Mismatch {
        /// 1-based number of the share that disagrees.
        share: usize,
        /// 1-based number of the share it was compared with.
        first: usize,
        /// The value they disagree on.
        parameter: Parameter,
    },

    /// Two shares of one group have the same member index.
    #[error(
        "shares {first} and {share} are the same member (member {member}) of group {group}: give each share once, and another member of the group instead"
    )]
    DuplicateMember {
        /// 1-based number of the later share.
        share: usize,
        /// 1-based number of the earlier share with the same member index.
        first: usize,
        /// 1-based group number.
        group: u8,
        /// 1-based member number.
        member: u8,
    },

    /// A group has fewer shares than its threshold.
    #[error(
        "group {group} has {have} of the {need} shares it needs: add {missing} more share(s) of that group",
        missing = need.saturating_sub(*have)
    )]
    TooFewShares {
        /// 1-based group number.
        group: u8,
        /// Shares given for the group.
        have: u8,
        /// The group's member threshold.
        need: u8,
    },

    /// A group has more shares than its threshold (SLIP-0039 asks for exactly the threshold).
    #[error(
        "group {group} has {have} shares but takes exactly {need}: remove {extra} share(s) of that group",
        extra = have.saturating_sub(*need)
    )]
    TooManyShares {
        /// 1-based group number.
        group: u8,
        /// Shares given for the group.
        have: u8,
        /// The group's member threshold.
        need: u8,
    },

    /// Fewer groups are present than the group threshold.
    #[error(
        "shares of {have} group(s) were given, the backup needs {need}: add shares of {missing} more group(s)",
        missing = need.saturating_sub(*have)
    )]
    TooFewGroups {
        /// Distinct groups among the shares.
        have: u8,
        /// The group threshold.
        need: u8,
    },

    /// More groups are present than the group threshold (SLIP-0039 asks for exactly the threshold).
    #[error(
        "shares of {have} groups were given, the backup takes exactly {need}: remove the shares of {extra} group(s)",
        extra = have.saturating_sub(*need)
    )]
    TooManyGroups {
        /// Distinct groups among the shares.
        have: u8,
        /// The group threshold.
        need: u8,
    },

    /// No share was given.
    #[error("no share was given: give the shares of the backup")]
    NoShares,

    /// The recovered secret does not match its digest: a share was altered or forged.
    #[error(
        "the shares do not combine to a consistent secret (digest mismatch): one of them was altered or does not belong to this backup"
    )]
    InvalidDigest,

    /// A split was asked with thresholds or counts SLIP-0039 does not allow.
    #[error("invalid share scheme: {reason}")]
    InvalidScheme {
        /// What is wrong and how to fix it.
        reason: &'static str,
    },

    /// A master secret is not an even number of bytes between 16 and 64.
    #[error(
        "a SLIP-0039 master secret is 16 to 64 bytes long and an even number of bytes (16 or 32 usually), not {len}"
    )]
    BadSecretLength {
        /// The length given, in bytes.
        len: usize,
    },

    /// The iteration exponent does not fit the share format's 4 bits.
    #[error("the iteration exponent is 0 to 15 (10000 x 2^e PBKDF2 iterations), not {exponent}")]
    BadIterationExponent {
        /// The exponent given.
        exponent: u8,
    },

    /// The passphrase has a character outside printable ASCII.
    #[error(
        "a SLIP-0039 passphrase uses printable ASCII only (space to '~'): retype it without other characters"
    )]
    InvalidPassphrase,

    /// A recovered master secret is not the entropy of a BIP-39 phrase.
    #[error(transparent)]
    Mnemonic(#[from] hexvault_mnemonic::Error),

    /// A phrase of another word list than English was given to split: its shares would be
    /// read back as the English phrase of the same entropy, another BIP-39 seed.
    #[error(
        "the phrase is in {language}: shares keep only its entropy and are read back as an English phrase, which is another BIP-39 seed; only English phrases are split"
    )]
    NonEnglishPhrase {
        /// The phrase's word list.
        language: hexvault_mnemonic::Language,
    },

    /// The operating system's random number generator failed.
    #[error(
        "the operating system's random number generator failed: no share was generated; retry, and check the system's entropy source"
    )]
    Rng,

    /// An error of one share of a set, with the share's 1-based number.
    #[error("share {share}: {source}")]
    InShare {
        /// 1-based number of the share in the order given.
        share: usize,
        /// What is wrong with it.
        source: Box<Error>,
    },
}

impl Error {
    /// The error without its [`Error::InShare`] wrapper (the error of the share itself).
    #[must_use]
    pub fn root(&self) -> &Self {
        match self {
            Self::InShare { source, .. } => source.root(),
            other => other,
        }
    }

    pub(crate) fn in_share(self, share: usize) -> Self {
        Self::InShare {
            share,
            source: Box::new(self),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Formats an optional hint as ` (did you mean "word"?)`, or nothing.
struct Hint(Option<&'static str>);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(word) => write!(f, " (did you mean \"{word}\"?)"),
            None => Ok(()),
        }
    }
}

/// Formats an optional word position as ` (word N is wrong)`, or nothing.
struct Position(Option<usize>);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(position) => write!(f, " (word {position} is wrong)"),
            None => Ok(()),
        }
    }
}
