//! The SLIP-0039 word list (1024 English words, unique 4-letter prefixes) and word lookup.
//!
//! `wordlist.txt` is the list published with SLIP-0039 (satoshilabs/slips
//! `slip-0039/wordlist.txt`, python-shamir-mnemonic `shamir_mnemonic/wordlist.txt`), one
//! word per line, sorted; SHA-256 of the file
//! `bcc4555340332d169718aed8bf31dd9d5248cb7da6e5d355140ef4f1e601eec3`. The 45 published
//! vectors use 749 of its words and check their indices through their checksums.

/// The published list, one word per line.
const WORDLIST_TEXT: &str = include_str!("wordlist.txt");

/// Number of words in the list: one word carries 10 bits.
pub(crate) const RADIX: usize = 1024;

/// The words, in list order, split once.
fn words() -> &'static [&'static str; RADIX] {
    static WORDS: std::sync::OnceLock<[&'static str; RADIX]> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut words = [""; RADIX];
        for (slot, word) in words.iter_mut().zip(WORDLIST_TEXT.lines()) {
            *slot = word;
        }
        words
    })
}

/// The word of index `index` (taken modulo 1024: callers pass 10-bit values).
pub(crate) fn word(index: u16) -> &'static str {
    words()
        .get(usize::from(index) % RADIX)
        .copied()
        .unwrap_or_default()
}

/// The index of `word` (lowercase ASCII), if it is in the list.
pub(crate) fn index_of(word: &str) -> Option<u16> {
    let at = words().binary_search(&word).ok()?;
    u16::try_from(at).ok()
}

/// Typed words longer than this get no hint (list words have at most 8 letters); this also
/// bounds the work an adversarial input can cause.
const MAX_TYPED_CHARS: usize = 16;

/// A list word to suggest for a `typed` word that is not in the list: the word with the
/// same first four letters (the list's words are unique by their first four letters, so
/// that is the word a person who wrote four letters meant), else the closest word by
/// optimal-string-alignment distance when less than half of the longer word changes.
pub(crate) fn suggestion(typed: &str) -> Option<&'static str> {
    let typed_len = typed.chars().count();
    if typed_len == 0 || typed_len > MAX_TYPED_CHARS {
        return None;
    }
    if let Some(prefix) = typed.get(..4)
        && let Some(word) = words().iter().copied().find(|w| w.starts_with(prefix))
    {
        return Some(word);
    }
    // The typed word may be a share word mistyped: wiped when dropped.
    let typed: zeroize::Zeroizing<Vec<char>> = zeroize::Zeroizing::new(typed.chars().collect());
    let mut best: Option<(usize, &'static str)> = None;
    for &word in words() {
        let candidate: Vec<char> = word.chars().collect();
        let distance = osa_distance(&typed, &candidate);
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, word));
        }
    }
    best.and_then(|(distance, word)| {
        let longer = typed_len.max(word.len());
        (distance.saturating_mul(2) < longer).then_some(word)
    })
}

/// Optimal string alignment distance (insertions, deletions, substitutions and swaps of
/// neighbours each cost 1), with a full table: both words are at most 16 characters.
fn osa_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut table = vec![0_usize; (a.len() + 1) * width];
    let at = |table: &[usize], i: usize, j: usize| -> usize {
        table.get(i * width + j).copied().unwrap_or(usize::MAX)
    };
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            let value = if i == 0 {
                j
            } else if j == 0 {
                i
            } else {
                let cost = usize::from(a.get(i - 1) != b.get(j - 1));
                let mut value = at(&table, i - 1, j)
                    .saturating_add(1)
                    .min(at(&table, i, j - 1).saturating_add(1))
                    .min(at(&table, i - 1, j - 1).saturating_add(cost));
                if i > 1 && j > 1 && a.get(i - 1) == b.get(j - 2) && a.get(i - 2) == b.get(j - 1) {
                    value = value.min(at(&table, i - 2, j - 2).saturating_add(1));
                }
                value
            };
            if let Some(cell) = table.get_mut(i * width + j) {
                *cell = value;
            }
        }
    }
    at(&table, a.len(), b.len())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// The published properties of the list (SLIP-0039 §Wordlist).
    #[test]
    fn the_list_has_its_published_properties() {
        assert_eq!(WORDLIST_TEXT.lines().count(), RADIX);
        let list = words();
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicate");
        assert!(list.iter().all(|w| (4..=8).contains(&w.len())));
        assert!(
            list.iter()
                .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
        );
        let prefixes: HashSet<&str> = list.iter().map(|w| &w[..4]).collect();
        assert_eq!(prefixes.len(), RADIX, "unique 4-letter prefixes");
        assert_eq!((list[0], list[1023]), ("academic", "zero"));
        assert!(list.contains(&"satoshi"));
        // Minimum Damerau-Levenshtein (OSA) distance 2 between any two words.
        let chars: Vec<Vec<char>> = list.iter().map(|w| w.chars().collect()).collect();
        for (i, a) in chars.iter().enumerate() {
            for b in &chars[i + 1..] {
                assert!(osa_distance(a, b) >= 2);
            }
        }
    }

    #[test]
    fn lookup_round_trips() {
        for i in 0..1024_u16 {
            assert_eq!(index_of(word(i)), Some(i));
        }
        assert_eq!(index_of("abandon"), None);
        assert_eq!(index_of("Academic"), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggestion("acad"), Some("academic"));
        assert_eq!(suggestion("academc"), Some("academic"));
        assert_eq!(suggestion("zreo"), Some("zero"));
        assert_eq!(suggestion("qqqqqqqq"), None);
        assert_eq!(suggestion(""), None);
        assert_eq!(suggestion(&"a".repeat(100)), None);
    }
}
