//! `Mnemonic`: generation, parsing with language detection and diagnosis, entropy and seed.

use core::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hint::closest_word;
use crate::normalize::nfkd_cow;
use crate::{Error, Language, Result, Seed, WordCount};

/// A valid BIP-39 mnemonic: a phrase whose checksum has been checked, in one known language.
///
/// Every value of this type is valid: the constructors ([`Mnemonic::generate`],
/// [`Mnemonic::parse`], [`Mnemonic::parse_in`], [`Mnemonic::from_entropy`]) are the only
/// ways to make one. It is zeroized on drop, is not `Clone`, and its `Debug` shows only
/// the language and the word count. The words are reachable through
/// [`Mnemonic::phrase`], the entropy through [`Mnemonic::entropy`], both in buffers that
/// are zeroized on drop.
///
/// It is wiped on drop, and only then: there is no public `zeroize()`, since a wiped
/// mnemonic would have to stay a valid one (every value is) and would then root keys
/// under a phrase known to everyone.
pub struct Mnemonic {
    inner: bip39::Mnemonic,
    language: Language,
    word_count: WordCount,
}

impl Drop for Mnemonic {
    fn drop(&mut self) {
        // `bip39::Mnemonic` also wipes itself on drop (its `zeroize` feature); this
        // makes the wipe explicit and independent of that feature.
        self.inner.zeroize();
    }
}

impl ZeroizeOnDrop for Mnemonic {}

impl Mnemonic {
    /// A new mnemonic of `word_count` words in `language`, from the operating system's
    /// CSPRNG (through `ring::rand::SystemRandom`, which asks the OS on every call).
    ///
    /// # Errors
    ///
    /// [`Error::Rng`] if the operating system's generator fails.
    pub fn generate(word_count: WordCount, language: Language) -> Result<Self> {
        let len = word_count.entropy_bytes();
        let mut buffer = Zeroizing::new([0_u8; 32]);
        let entropy = buffer
            .get_mut(..len)
            .ok_or(Error::BadEntropyLength { len })?;
        SystemRandom::new().fill(entropy).map_err(|_| Error::Rng)?;
        Self::from_entropy(entropy, language)
    }

    /// The mnemonic that encodes `entropy` (16, 20, 24, 28 or 32 bytes) in `language`.
    ///
    /// # Errors
    ///
    /// [`Error::BadEntropyLength`] for any other length.
    pub fn from_entropy(entropy: &[u8], language: Language) -> Result<Self> {
        let word_count = WordCount::from_entropy_len(entropy.len())?;
        let inner = bip39::Mnemonic::from_entropy_in(language.to_bip39(), entropy)
            .map_err(|_| Error::BadEntropyLength { len: entropy.len() })?;
        Ok(Self {
            inner,
            language,
            word_count,
        })
    }

    /// Parses a phrase in any of the ten languages, checking its checksum.
    ///
    /// The phrase is NFKD-normalised first (so composed and decomposed accents, and the
    /// Japanese ideographic space, are all accepted); words are separated by any
    /// Unicode whitespace. The language is the one wordlist that holds every word and
    /// whose checksum matches.
    ///
    /// 1275 words appear, at the same index, in both Chinese lists. A phrase made only
    /// of those words reads the same in both, with the same entropy and seed; it is
    /// reported as [`Language::ChineseSimplified`] (the first in [`Language::ALL`]).
    ///
    /// # Errors
    ///
    /// Checked in this order, each naming what to fix (positions are 1-based):
    /// - [`Error::BadWordCount`]: not 12, 15, 18, 21 or 24 words;
    /// - [`Error::UnknownWord`] or [`Error::MixedLanguages`], whichever word comes first: a
    ///   word in no list (with the closest word of the phrase's list as a hint), or a word
    ///   from another list than most of the phrase;
    /// - [`Error::InvalidChecksum`]: all words valid, checksum wrong;
    /// - [`Error::AmbiguousLanguage`]: valid with different meanings in two lists (only
    ///   possible for phrases made solely of the 100 words English and French share);
    ///   use [`Mnemonic::parse_in`].
    pub fn parse(phrase: &str) -> Result<Self> {
        let normalized = nfkd_cow(phrase);
        let words = checked_word_count(&normalized)?;
        let mut chosen: Option<Self> = None;
        let mut any_list_holds_all = false;
        for language in Language::ALL {
            if !normalized.split_whitespace().all(|w| language.contains(w)) {
                continue;
            }
            any_list_holds_all = true;
            let Ok(candidate) = parse_checked(language, words, &normalized) else {
                continue;
            };
            match &chosen {
                None => chosen = Some(candidate),
                Some(first)
                    if first
                        .inner
                        .word_indices()
                        .eq(candidate.inner.word_indices()) => {}
                Some(first) => {
                    return Err(Error::AmbiguousLanguage {
                        first: first.language,
                        second: language,
                    });
                }
            }
        }
        match chosen {
            Some(mnemonic) => Ok(mnemonic),
            None if any_list_holds_all => Err(Error::InvalidChecksum),
            None => Err(diagnose(&normalized, None)),
        }
    }

    /// Parses a phrase in the given language, checking its checksum.
    ///
    /// Normalisation and word splitting are as in [`Mnemonic::parse`].
    ///
    /// # Errors
    ///
    /// [`Error::BadWordCount`], then [`Error::UnknownWord`] (a word in no list) or
    /// [`Error::MixedLanguages`] (a word of another list), then
    /// [`Error::InvalidChecksum`]; positions are 1-based.
    pub fn parse_in(language: Language, phrase: &str) -> Result<Self> {
        let normalized = nfkd_cow(phrase);
        let words = checked_word_count(&normalized)?;
        if !normalized.split_whitespace().all(|w| language.contains(w)) {
            return Err(diagnose(&normalized, Some(language)));
        }
        parse_checked(language, words, &normalized)
    }

    /// The language of the phrase.
    #[must_use]
    pub const fn language(&self) -> Language {
        self.language
    }

    /// The number of words.
    #[must_use]
    pub const fn word_count(&self) -> WordCount {
        self.word_count
    }

    /// The phrase: the words in NFKD form, separated by single ASCII spaces.
    ///
    /// This is exactly the PBKDF2 password BIP-39 hashes into the seed. (Japanese
    /// phrases are often written with the ideographic space U+3000; [`Mnemonic::parse`]
    /// accepts both.) The buffer is allocated once at its final size and zeroized on drop.
    #[must_use]
    pub fn phrase(&self) -> Zeroizing<String> {
        let len = self
            .inner
            .words()
            .map(str::len)
            .sum::<usize>()
            .saturating_add(self.word_count.words().saturating_sub(1));
        let mut phrase = Zeroizing::new(String::with_capacity(len));
        for (i, word) in self.inner.words().enumerate() {
            if i > 0 {
                phrase.push(' ');
            }
            phrase.push_str(word);
        }
        phrase
    }

    /// The entropy the phrase encodes: 16, 20, 24, 28 or 32 bytes.
    #[must_use]
    pub fn entropy(&self) -> Zeroizing<Vec<u8>> {
        let (mut array, len) = self.inner.to_entropy_array();
        // `take(len)` has an exact size hint: one allocation at the final size, no fallback.
        let entropy: Zeroizing<Vec<u8>> = Zeroizing::new(array.iter().take(len).copied().collect());
        array.zeroize();
        entropy
    }

    /// The 64-byte BIP-39 seed for this phrase and `passphrase` (use `""` for none).
    ///
    /// PBKDF2-HMAC-SHA512 with 2048 iterations, password = the phrase (NFKD), salt =
    /// `"mnemonic"` + the passphrase in NFKD, so a passphrase typed in composed (NFC) or
    /// decomposed (NFD) form gives the same seed. A different passphrase gives a
    /// different, equally valid seed: there is no way to tell a wrong passphrase.
    #[must_use]
    pub fn to_seed(&self, passphrase: &str) -> Seed {
        Seed::derive(&self.phrase(), passphrase)
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mnemonic")
            .field("language", &self.language)
            .field("word_count", &self.word_count)
            .finish_non_exhaustive()
    }
}

/// The phrase's word count, or [`Error::BadWordCount`].
fn checked_word_count(normalized: &str) -> Result<WordCount> {
    WordCount::try_from(normalized.split_whitespace().count())
}

/// Checksum check of a phrase whose words are all in `language`.
fn parse_checked(language: Language, word_count: WordCount, normalized: &str) -> Result<Mnemonic> {
    match bip39::Mnemonic::parse_in_normalized(language.to_bip39(), normalized) {
        Ok(inner) => Ok(Mnemonic {
            inner,
            language,
            word_count,
        }),
        Err(bip39::Error::UnknownWord(index)) => Err(Error::UnknownWord {
            position: index.saturating_add(1),
            language,
            suggestion: None,
        }),
        Err(bip39::Error::BadWordCount(count)) => Err(Error::BadWordCount { count }),
        Err(_) => Err(Error::InvalidChecksum),
    }
}

/// Explains why no list holds every word (or why `fixed` does not): the first word
/// outside the phrase's main list is either in no list (unknown) or in another one
/// (mixed). The main list is `fixed`, or else the one holding the most words (ties go
/// to the first in [`Language::ALL`]).
fn diagnose(normalized: &str, fixed: Option<Language>) -> Error {
    let main = fixed.unwrap_or_else(|| {
        let mut best = (Language::English, 0_usize);
        for language in Language::ALL {
            let held = normalized
                .split_whitespace()
                .filter(|w| language.contains(w))
                .count();
            if held > best.1 {
                best = (language, held);
            }
        }
        best.0
    });
    let outside = normalized
        .split_whitespace()
        .enumerate()
        .find(|(_, word)| !main.contains(word));
    let Some((index, word)) = outside else {
        // Unreachable by construction (the caller saw a word outside `main`): an internal
        // error, never a made-up diagnosis.
        return Error::Internal {
            what: "a phrase diagnosed as holding a word outside its word list holds none",
        };
    };
    let position = index.saturating_add(1);
    let suggestion = closest_word(main, word);
    match Language::ALL.into_iter().find(|l| l.contains(word)) {
        Some(found) => Error::MixedLanguages {
            position,
            expected: main,
            found,
            suggestion,
        },
        None => Error::UnknownWord {
            position,
            language: main,
            suggestion,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_every_size_and_language() {
        for count in WordCount::ALL {
            for language in Language::ALL {
                let m = Mnemonic::generate(count, language).unwrap();
                assert_eq!(m.word_count(), count);
                assert_eq!(m.language(), language);
                assert_eq!(m.entropy().len(), count.entropy_bytes());
                assert_eq!(m.phrase().split(' ').count(), count.words());
            }
        }
        let a = Mnemonic::generate(WordCount::Words24, Language::English).unwrap();
        let b = Mnemonic::generate(WordCount::Words24, Language::English).unwrap();
        assert_ne!(
            a.entropy(),
            b.entropy(),
            "two generated mnemonics must differ"
        );
    }

    #[test]
    fn phrase_has_exact_capacity() {
        let m = Mnemonic::from_entropy(&[0x5A; 32], Language::Japanese).unwrap();
        let phrase = m.phrase();
        assert_eq!(phrase.capacity(), phrase.len());
    }
}
