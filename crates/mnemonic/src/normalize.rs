//! NFKD normalisation into zeroizing buffers allocated once at their exact final size.
//!
//! A `String` that grows by reallocation leaves copies of its earlier contents in freed
//! memory. Phrases and passphrases are secrets, so the normalised copy is sized by a
//! first pass and written by a second: one allocation, wiped on drop.

use core::ops::Deref;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkd_quick};
use zeroize::Zeroizing;

/// Text in NFKD form: the input itself when it already is NFKD (no copy), else a
/// normalised copy that is zeroized on drop.
pub(crate) enum Nfkd<'a> {
    /// The input was already in NFKD form.
    Borrowed(&'a str),
    /// A normalised copy.
    Owned(Zeroizing<String>),
}

impl Deref for Nfkd<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s.as_str(),
        }
    }
}

/// `s` in NFKD form, copied only when the quick check cannot prove it already is.
pub(crate) fn nfkd_cow(s: &str) -> Nfkd<'_> {
    if is_nfkd_quick(s.chars()) == IsNormalized::Yes {
        Nfkd::Borrowed(s)
    } else {
        Nfkd::Owned(nfkd(s))
    }
}

/// `s` in Unicode Normalization Form KD, in a buffer that is zeroized on drop.
pub(crate) fn nfkd(s: &str) -> Zeroizing<String> {
    let len: usize = s.nfkd().map(char::len_utf8).sum();
    let mut out = Zeroizing::new(String::with_capacity(len));
    for c in s.nfkd() {
        out.push(c);
    }
    debug_assert_eq!(out.capacity(), len.max(out.capacity()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfkd_decomposes_and_fits_exactly() {
        // U+00E1 (NFC "á") becomes "a" + U+0301; U+3000 (ideographic space) becomes U+0020.
        let out = nfkd("\u{e1}baco\u{3000}x");
        assert_eq!(out.as_str(), "a\u{301}baco x");
        assert_eq!(out.capacity(), out.len());
        assert_eq!(nfkd("").as_str(), "");
    }

    #[test]
    fn nfkd_cow_borrows_only_normalised_text() {
        assert!(matches!(
            nfkd_cow("legal winner"),
            Nfkd::Borrowed("legal winner")
        ));
        let owned = nfkd_cow("\u{e1}baco");
        assert!(matches!(owned, Nfkd::Owned(_)));
        assert_eq!(&*owned, "a\u{301}baco");
    }
}
