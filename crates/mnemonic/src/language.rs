//! `Language` (the ten BIP-39 wordlists) and `WordCount` (the five phrase lengths).

use core::fmt;
use core::str::FromStr;
use std::sync::OnceLock;

use crate::{Error, Result};

/// One of the ten BIP-39 wordlists.
///
/// [`Language::name`] gives the stable lowercase name (`"english"`,
/// `"chinese-simplified"`, ...) that [`FromStr`] reads back and [`fmt::Display`]
/// writes, so `lang.to_string().parse()` always returns `lang`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// English.
    English,
    /// Chinese, simplified characters.
    ChineseSimplified,
    /// Chinese, traditional characters.
    ChineseTraditional,
    /// Czech.
    Czech,
    /// French.
    French,
    /// Italian.
    Italian,
    /// Japanese.
    Japanese,
    /// Korean.
    Korean,
    /// Portuguese.
    Portuguese,
    /// Spanish.
    Spanish,
}

impl Language {
    /// Every language, in the order language detection prefers them.
    pub const ALL: [Self; 10] = [
        Self::English,
        Self::ChineseSimplified,
        Self::ChineseTraditional,
        Self::Czech,
        Self::French,
        Self::Italian,
        Self::Japanese,
        Self::Korean,
        Self::Portuguese,
        Self::Spanish,
    ];

    /// The stable lowercase name: `english`, `chinese-simplified`,
    /// `chinese-traditional`, `czech`, `french`, `italian`, `japanese`, `korean`,
    /// `portuguese`, `spanish`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::English => "english",
            Self::ChineseSimplified => "chinese-simplified",
            Self::ChineseTraditional => "chinese-traditional",
            Self::Czech => "czech",
            Self::French => "french",
            Self::Italian => "italian",
            Self::Japanese => "japanese",
            Self::Korean => "korean",
            Self::Portuguese => "portuguese",
            Self::Spanish => "spanish",
        }
    }

    /// The 2048 words of this list, in BIP-39 index order and in NFKD form.
    #[must_use]
    pub fn word_list(self) -> &'static [&'static str; 2048] {
        self.to_bip39().word_list()
    }

    /// Whether `word` (NFKD form) is in this list.
    ///
    /// Binary search in a sorted copy of the list, built once per language on first
    /// use: half the lists are not in byte order, and a linear scan of 2048 words per
    /// word and language made detection several times slower than the checksum.
    pub(crate) fn contains(self, word: &str) -> bool {
        static SORTED: [OnceLock<Box<[&'static str]>>; 10] = [const { OnceLock::new() }; 10];
        let Some(cell) = SORTED.get(self as usize) else {
            return self.to_bip39().find_word(word).is_some();
        };
        let sorted = cell.get_or_init(|| {
            let mut words: Box<[&'static str]> = Box::new(*self.word_list());
            words.sort_unstable();
            words
        });
        sorted.binary_search(&word).is_ok()
    }

    pub(crate) const fn to_bip39(self) -> bip39::Language {
        match self {
            Self::English => bip39::Language::English,
            Self::ChineseSimplified => bip39::Language::SimplifiedChinese,
            Self::ChineseTraditional => bip39::Language::TraditionalChinese,
            Self::Czech => bip39::Language::Czech,
            Self::French => bip39::Language::French,
            Self::Italian => bip39::Language::Italian,
            Self::Japanese => bip39::Language::Japanese,
            Self::Korean => bip39::Language::Korean,
            Self::Portuguese => bip39::Language::Portuguese,
            Self::Spanish => bip39::Language::Spanish,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Language {
    type Err = Error;

    /// Reads a [`Language::name`]. ASCII case is ignored and `_` may stand for `-`
    /// (`Chinese_Simplified` reads as `chinese-simplified`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownLanguage`] for any other name; the message lists the names.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|lang| {
                let name = lang.name().as_bytes();
                s.len() == name.len()
                    && s.bytes().zip(name).all(|(given, &want)| {
                        let given = if given == b'_' { b'-' } else { given };
                        given.eq_ignore_ascii_case(&want)
                    })
            })
            .ok_or_else(|| Error::UnknownLanguage {
                name: s.chars().take(64).collect(),
            })
    }
}

/// The number of words of a BIP-39 phrase, which fixes its entropy size.
///
/// | words | entropy bits | checksum bits |
/// |---|---|---|
/// | 12 | 128 | 4 |
/// | 15 | 160 | 5 |
/// | 18 | 192 | 6 |
/// | 21 | 224 | 7 |
/// | 24 | 256 | 8 |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WordCount {
    /// 12 words, 128 bits of entropy.
    Words12,
    /// 15 words, 160 bits of entropy.
    Words15,
    /// 18 words, 192 bits of entropy.
    Words18,
    /// 21 words, 224 bits of entropy.
    Words21,
    /// 24 words, 256 bits of entropy.
    Words24,
}

impl WordCount {
    /// Every word count, shortest first.
    pub const ALL: [Self; 5] = [
        Self::Words12,
        Self::Words15,
        Self::Words18,
        Self::Words21,
        Self::Words24,
    ];

    /// The number of words: 12, 15, 18, 21 or 24.
    #[must_use]
    pub const fn words(self) -> usize {
        match self {
            Self::Words12 => 12,
            Self::Words15 => 15,
            Self::Words18 => 18,
            Self::Words21 => 21,
            Self::Words24 => 24,
        }
    }

    /// The entropy size in bytes: 16, 20, 24, 28 or 32 (`words / 3 * 4`).
    #[must_use]
    pub const fn entropy_bytes(self) -> usize {
        self.words() / 3 * 4
    }

    /// The checksum size in bits: 4 to 8 (`words / 3`).
    #[must_use]
    pub const fn checksum_bits(self) -> usize {
        self.words() / 3
    }

    /// The word count whose entropy is `len` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::BadEntropyLength`] unless `len` is 16, 20, 24, 28 or 32.
    pub fn from_entropy_len(len: usize) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|count| count.entropy_bytes() == len)
            .ok_or(Error::BadEntropyLength { len })
    }
}

impl TryFrom<usize> for WordCount {
    type Error = Error;

    /// # Errors
    ///
    /// [`Error::BadWordCount`] unless `words` is 12, 15, 18, 21 or 24.
    fn try_from(words: usize) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|count| count.words() == words)
            .ok_or(Error::BadWordCount { count: words })
    }
}

impl From<WordCount> for usize {
    fn from(count: WordCount) -> Self {
        count.words()
    }
}

impl fmt::Display for WordCount {
    /// Writes the number of words (`12`), which [`TryFrom<usize>`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.words())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        for lang in Language::ALL {
            assert_eq!(lang.to_string().parse::<Language>().unwrap(), lang);
            assert_eq!(lang.name().parse::<Language>().unwrap(), lang);
        }
        let mut names: Vec<_> = Language::ALL.iter().map(|l| l.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 10);
    }

    #[test]
    fn lenient_names_and_unknown_name() {
        assert_eq!(
            "Chinese_Simplified".parse::<Language>().unwrap(),
            Language::ChineseSimplified
        );
        assert_eq!("ENGLISH".parse::<Language>().unwrap(), Language::English);
        let err = "klingon".parse::<Language>().unwrap_err();
        assert_eq!(
            err,
            Error::UnknownLanguage {
                name: "klingon".into()
            }
        );
        assert!(err.to_string().contains("chinese-traditional"));
        assert!("englis".parse::<Language>().is_err());
        assert!("englishh".parse::<Language>().is_err());
        assert!("".parse::<Language>().is_err());
    }

    #[test]
    fn contains_agrees_with_the_word_lists() {
        for lang in Language::ALL {
            assert_eq!(Language::ALL[lang as usize], lang);
            for word in lang.word_list() {
                assert!(lang.contains(word), "{lang}: {word}");
            }
            for other in Language::ALL {
                for word in other.word_list().iter().step_by(7) {
                    assert_eq!(
                        lang.contains(word),
                        lang.to_bip39().find_word(word).is_some(),
                        "{lang}: {word}"
                    );
                }
            }
            for not_a_word in ["", " ", "abandonx", "ABANDON", "zzzz", "\u{e1}baco"] {
                assert!(!lang.contains(not_a_word), "{lang}: {not_a_word}");
            }
        }
    }

    #[test]
    fn word_counts() {
        let sizes: Vec<_> = WordCount::ALL
            .iter()
            .map(|c| (c.words(), c.entropy_bytes(), c.checksum_bits()))
            .collect();
        assert_eq!(
            sizes,
            [
                (12, 16, 4),
                (15, 20, 5),
                (18, 24, 6),
                (21, 28, 7),
                (24, 32, 8)
            ]
        );
        for count in WordCount::ALL {
            assert_eq!(WordCount::try_from(count.words()).unwrap(), count);
            assert_eq!(
                WordCount::from_entropy_len(count.entropy_bytes()).unwrap(),
                count
            );
            assert_eq!(count.to_string(), count.words().to_string());
        }
        for bad in [0, 1, 11, 13, 23, 25, 27, usize::MAX] {
            let err = WordCount::try_from(bad).unwrap_err();
            assert_eq!(err, Error::BadWordCount { count: bad });
            assert!(err.to_string().contains("12, 15, 18, 21 or 24"));
        }
        for bad in [0, 15, 17, 33, 64] {
            assert_eq!(
                WordCount::from_entropy_len(bad).unwrap_err(),
                Error::BadEntropyLength { len: bad }
            );
        }
    }
}
