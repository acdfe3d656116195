//! The "did you mean" hint: the wordlist entry closest to a word that is not in the list.
//!
//! Closeness is the optimal-string-alignment distance (insertions, deletions,
//! substitutions and swaps of two neighbours each cost 1) over Unicode scalar values of
//! the NFKD forms. A hint is given only when it is likely right: the typed word is the
//! start of a list word (BIP-39 lists are meant to be written with 4-letter prefixes),
//! or less than half of the longer word had to change. One-character words (the Chinese
//! lists) therefore never get a guess.

use zeroize::Zeroizing;

use crate::Language;

/// Longer typed words get no hint (no list word has more than 11 scalar values in NFKD);
/// this also bounds the work an adversarial input can cause.
const MAX_TYPED_CHARS: usize = 24;

/// Shortest typed prefix that is completed to a list word.
const MIN_PREFIX_CHARS: usize = 3;

/// The closest word of `language` to `typed` (NFKD), if it is close enough to be useful.
pub(crate) fn closest_word(language: Language, typed: &str) -> Option<&'static str> {
    let typed_chars = typed_chars(typed)?;
    let typed_len = typed_chars.len();
    let list = language.word_list();

    if typed_len >= MIN_PREFIX_CHARS
        && let Some(word) = list.iter().copied().find(|word| word.starts_with(typed))
    {
        return Some(word);
    }

    let mut best: Option<(usize, &'static str)> = None;
    let mut word_chars = Vec::with_capacity(16);
    for &word in list {
        word_chars.clear();
        word_chars.extend(word.chars());
        let distance = osa_distance(&typed_chars, &word_chars);
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, word));
        }
    }
    best.and_then(|(distance, word)| {
        let longer = typed_len.max(word.chars().count());
        (distance.saturating_mul(2) < longer).then_some(word)
    })
}

/// The scalar values of `typed` (a word of the secret phrase), in a buffer allocated once
/// at its final length (a growing buffer would leave unwiped copies behind each time it
/// moved) and wiped on drop; `None` for an empty word or one too long to get a hint.
fn typed_chars(typed: &str) -> Option<Zeroizing<Vec<char>>> {
    let count = typed.chars().count();
    if count == 0 || count > MAX_TYPED_CHARS {
        return None;
    }
    let mut chars = Zeroizing::new(Vec::with_capacity(count));
    chars.extend(typed.chars());
    Some(chars)
}

/// Optimal string alignment distance between `a` and `b`, in O(|a|·|b|) time and
/// O(|b|) memory (three rolling rows of the dynamic-programming table).
fn osa_distance(a: &[char], b: &[char]) -> usize {
    fn at(row: &[usize], k: usize) -> usize {
        row.get(k).copied().unwrap_or(usize::MAX)
    }
    let width = b.len() + 1;
    let mut two_back = vec![0_usize; width];
    let mut one_back: Vec<usize> = (0..width).collect();
    let mut row = vec![0_usize; width];
    for (i, &ac) in a.iter().enumerate() {
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, &bc) in b.iter().enumerate() {
            let cost = usize::from(ac != bc);
            let mut value = at(&one_back, j + 1)
                .saturating_add(1)
                .min(at(&row, j).saturating_add(1))
                .min(at(&one_back, j).saturating_add(cost));
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(&bc) && b.get(j - 1) == Some(&ac);
            if swapped {
                value = value.min(at(&two_back, j - 1).saturating_add(1));
            }
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
        // Rotate: the row just computed becomes `one_back`, the oldest is reused.
        core::mem::swap(&mut two_back, &mut one_back);
        core::mem::swap(&mut one_back, &mut row);
    }
    one_back.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa_distance(&a, &b)
    }

    #[test]
    fn distances() {
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("abandon", "abandon"), 0);
        assert_eq!(d("abandn", "abandon"), 1);
        assert_eq!(d("abnadon", "abandon"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ca", "abc"), 3);
    }

    #[test]
    fn hints() {
        assert_eq!(closest_word(Language::English, "abandn"), Some("abandon"));
        assert_eq!(closest_word(Language::English, "zooo"), Some("zoo"));
        assert_eq!(closest_word(Language::English, "aban"), Some("abandon"));
        assert_eq!(closest_word(Language::English, "qqqqqqqq"), None);
        assert_eq!(closest_word(Language::English, ""), None);
        assert_eq!(closest_word(Language::English, &"a".repeat(1000)), None);
        // Spanish "ábaco" typed without its accent.
        assert_eq!(
            closest_word(Language::Spanish, "abaco"),
            Some("a\u{301}baco")
        );
        // One-character lists never guess.
        assert_eq!(closest_word(Language::ChineseSimplified, "x"), None);
    }

    #[test]
    fn the_typed_word_is_copied_once_into_a_buffer_of_its_final_length() {
        // A buffer that grew while collecting would have moved (leaving unwiped copies)
        // and would end with spare capacity: this one is allocated at its length.
        for word in ["abandn", "a\u{301}baco", "zzzzzzzzzzzzzzzzzzzzzzzz", "x"] {
            let chars = typed_chars(word).unwrap();
            assert_eq!(chars.len(), word.chars().count());
            assert_eq!(chars.capacity(), chars.len(), "{word}");
        }
        assert!(typed_chars("").is_none());
        assert!(typed_chars(&"z".repeat(MAX_TYPED_CHARS + 1)).is_none());
    }
}
