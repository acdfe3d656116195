//! The crate's one error type: what went wrong with a phrase, an entropy buffer, a name or the RNG.

use core::fmt;

use crate::Language;

/// Everything that can go wrong in `hexvault-mnemonic`.
///
/// Parse errors are specific and say how to fix the phrase. Word positions are
/// **1-based** (the first word of a phrase is word 1), the way a person counts the
/// words on a backup sheet.
///
/// # Secrecy
///
/// No variant contains the words of the phrase that was given. The `suggestion`
/// of [`Error::UnknownWord`] and [`Error::MixedLanguages`] is a word of the public
/// wordlist, but it is very likely the word the user meant to write, so it is a
/// word of their secret: show it to the user who typed the phrase, and do not log
/// it where the phrase itself must not go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A word is in none of the ten BIP-39 wordlists.
    #[error(
        "word {position} is not in the {language} BIP-39 word list{hint}: check its spelling against your backup",
        hint = Hint(*suggestion)
    )]
    UnknownWord {
        /// 1-based position of the word in the phrase.
        position: usize,
        /// The wordlist the rest of the phrase was matched against.
        language: Language,
        /// The closest word of that list, when one is close enough to be a useful hint.
        suggestion: Option<&'static str>,
    },

    /// A word belongs to another wordlist than the rest of the phrase.
    #[error(
        "word {position} is a {found} word but the phrase is {expected}: a BIP-39 phrase uses one word list, so replace word {position}{hint}",
        hint = Hint(*suggestion)
    )]
    MixedLanguages {
        /// 1-based position of the first word that is not in `expected`.
        position: usize,
        /// The wordlist that holds most of the phrase's words.
        expected: Language,
        /// A wordlist that holds the word at `position`.
        found: Language,
        /// The closest word of `expected`, when one is close enough to be a useful hint.
        suggestion: Option<&'static str>,
    },

    /// Every word is valid but the checksum carried by the last word does not match.
    #[error(
        "the phrase's checksum does not match: a word is wrong or two words are swapped; check every word and its order against your backup"
    )]
    InvalidChecksum,

    /// The phrase (or a requested word count) is not 12, 15, 18, 21 or 24 words.
    #[error(
        "a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words, not {count}: check for a missing or an extra word"
    )]
    BadWordCount {
        /// The number of words found (or requested).
        count: usize,
    },

    /// The phrase is valid, with different meanings, in two wordlists.
    ///
    /// Only English and French share words (100 of them, at different positions), so
    /// this needs a phrase written entirely with those shared words. Phrases that read
    /// the same in both Chinese lists have the same entropy and seed in both and are
    /// not ambiguous (see [`crate::Mnemonic::parse`]).
    #[error(
        "the phrase is valid both as {first} and as {second}: parse it with its language given explicitly"
    )]
    AmbiguousLanguage {
        /// The first matching wordlist, in [`Language::ALL`] order.
        first: Language,
        /// The second matching wordlist.
        second: Language,
    },

    /// Entropy is not 16, 20, 24, 28 or 32 bytes long.
    #[error("BIP-39 entropy is 16, 20, 24, 28 or 32 bytes (128 to 256 bits), not {len} bytes")]
    BadEntropyLength {
        /// The length given, in bytes.
        len: usize,
    },

    /// A seed is not 64 bytes long (or, for [`crate::Seed::from_master_secret`], not 16 to
    /// 64 bytes long).
    #[error(
        "a BIP-39 seed is exactly 64 bytes and a SLIP-0039 master secret 16 to 64 bytes, not {len} bytes"
    )]
    BadSeedLength {
        /// The length given, in bytes.
        len: usize,
    },

    /// A language name that is not one of [`Language::ALL`]'s names.
    #[error(
        "unknown BIP-39 language {name:?}: use one of english, chinese-simplified, chinese-traditional, czech, french, italian, japanese, korean, portuguese, spanish"
    )]
    UnknownLanguage {
        /// The name given (at most 64 characters of it).
        name: String,
    },

    /// An invariant of this crate did not hold (a bug): nothing was returned in its place.
    #[error("internal error in hexvault-mnemonic ({what}): please report it as a bug")]
    Internal {
        /// Which invariant did not hold.
        what: &'static str,
    },

    /// The operating system's random number generator failed.
    #[error(
        "the operating system's random number generator failed: no mnemonic was generated; retry, and check the system's entropy source"
    )]
    Rng,
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
