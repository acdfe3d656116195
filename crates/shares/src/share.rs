//! `Share`: one SLIP-0039 share mnemonic, parsed into its fields, and written back.
//!
//! Layout (SLIP-0039 §Format of the share mnemonic, big-endian bits, 10 bits a word):
//!
//! | field | bits |
//! |---|---|
//! | identifier | 15 |
//! | extendable-backup flag | 1 |
//! | iteration exponent | 4 |
//! | group index | 4 |
//! | group threshold − 1 | 4 |
//! | group count − 1 | 4 |
//! | member index | 4 |
//! | member threshold − 1 | 4 |
//! | share value, left-padded with zero bits to a multiple of 10 | 8n + padding |
//! | RS1024 checksum | 30 |

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::rs1024::{self, CHECKSUM_WORDS, CUSTOMIZATION, CUSTOMIZATION_EXTENDABLE};
use crate::wordlist;
use crate::{Error, Result};

/// Words of the header (identifier, flag, exponent, group and member parameters).
const HEADER_WORDS: usize = 4;
/// Words that are not the share value.
const METADATA_WORDS: usize = HEADER_WORDS + CHECKSUM_WORDS;
/// The shortest share: a 128-bit value (13 words) and the metadata.
pub(crate) const MIN_WORDS: usize = METADATA_WORDS + 13;
/// The longest share accepted: a 512-bit value (52 words) and the metadata.
pub(crate) const MAX_WORDS: usize = METADATA_WORDS + 52;

/// One SLIP-0039 share: its public parameters and its secret value.
///
/// Made by [`Share::parse`] (checksum, padding and parameters checked) or by
/// [`crate::split`]. The value is secret (a share of the master secret): it is zeroized
/// on drop, the type is not `Clone`, `Debug` shows only the public parameters, and the
/// words are reachable through [`Share::to_words`] in a zeroizing buffer.
#[derive(ZeroizeOnDrop)]
pub struct Share {
    identifier: u16,
    extendable: bool,
    iteration_exponent: u8,
    /// 0-based, as in the share.
    group_index: u8,
    group_threshold: u8,
    group_count: u8,
    /// 0-based, as in the share.
    member_index: u8,
    member_threshold: u8,
    value: Zeroizing<Vec<u8>>,
}

/// The public parameters of a share (everything but its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Header {
    pub(crate) identifier: u16,
    pub(crate) extendable: bool,
    pub(crate) iteration_exponent: u8,
    pub(crate) group_index: u8,
    pub(crate) group_threshold: u8,
    pub(crate) group_count: u8,
    pub(crate) member_index: u8,
    pub(crate) member_threshold: u8,
}

impl Share {
    pub(crate) fn new(header: Header, value: Zeroizing<Vec<u8>>) -> Self {
        Self {
            identifier: header.identifier,
            extendable: header.extendable,
            iteration_exponent: header.iteration_exponent,
            group_index: header.group_index,
            group_threshold: header.group_threshold,
            group_count: header.group_count,
            member_index: header.member_index,
            member_threshold: header.member_threshold,
            value,
        }
    }

    /// Parses a share mnemonic: words separated by whitespace, ASCII case ignored.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] (with its 1-based position and a suggestion, never the typed
    /// word), [`Error::BadWordCount`], [`Error::InvalidChecksum`] (with the position of
    /// the wrong word when exactly one is wrong), [`Error::InvalidPadding`],
    /// [`Error::GroupThresholdAboveCount`], [`Error::GroupIndexAboveCount`].
    pub fn parse(text: &str) -> Result<Self> {
        let mut indices: Zeroizing<Vec<u16>> = Zeroizing::new(Vec::with_capacity(MAX_WORDS));
        // Allocated once at the longest word's length: lowercasing keeps a word's length,
        // so the buffer never grows (growing would leave unwiped copies behind).
        let longest = text.split_whitespace().map(str::len).max().unwrap_or(0);
        let mut lower = Zeroizing::new(String::with_capacity(longest));
        for (position, word) in (1..).zip(text.split_whitespace()) {
            if indices.len() >= MAX_WORDS {
                return Err(Error::BadWordCount {
                    count: text.split_whitespace().count(),
                });
            }
            lowercase_into(&mut lower, word);
            match wordlist::index_of(&lower) {
                Some(index) => indices.push(index),
                None => {
                    return Err(Error::UnknownWord {
                        position,
                        suggestion: wordlist::suggestion(&lower),
                    });
                }
            }
        }
        Self::from_indices(&indices)
    }

    /// A share from its 10-bit word values.
    fn from_indices(words: &[u16]) -> Result<Self> {
        let count = words.len();
        if !(MIN_WORDS..=MAX_WORDS).contains(&count) {
            return Err(Error::BadWordCount { count });
        }
        let value_words = count - METADATA_WORDS;
        let padding = (value_words * 10) % 16;
        if padding > 8 {
            return Err(Error::BadWordCount { count });
        }
        let id_exp = word_bits(words, 0, 2);
        let extendable = (id_exp >> 4) & 1 == 1;
        if !rs1024::verify(customization(words), words) {
            return Err(Error::InvalidChecksum {
                position: rs1024::locate_single_error(customization, words).map(|i| i + 1),
            });
        }
        let params = word_bits(words, 2, 2);
        let nibble = |shift: u32| u8::try_from((params >> shift) & 0xF).unwrap_or_default();
        let header = Header {
            identifier: u16::try_from(id_exp >> 5).unwrap_or_default(),
            extendable,
            iteration_exponent: u8::try_from(id_exp & 0xF).unwrap_or_default(),
            group_index: nibble(16),
            group_threshold: nibble(12) + 1,
            group_count: nibble(8) + 1,
            member_index: nibble(4),
            member_threshold: nibble(0) + 1,
        };
        if header.group_threshold > header.group_count {
            return Err(Error::GroupThresholdAboveCount);
        }
        // A split numbers groups 0..count: a share naming a group past its own count is
        // refused here rather than carried into a combination (fail closed).
        if header.group_index >= header.group_count {
            return Err(Error::GroupIndexAboveCount {
                group: header.group_index.saturating_add(1),
                count: header.group_count,
            });
        }
        let value_slice = words
            .get(HEADER_WORDS..count - CHECKSUM_WORDS)
            .ok_or(Error::BadWordCount { count })?;
        let value = unpack(value_slice, padding)?;
        Ok(Self::new(header, value))
    }

    pub(crate) fn header(&self) -> Header {
        Header {
            identifier: self.identifier,
            extendable: self.extendable,
            iteration_exponent: self.iteration_exponent,
            group_index: self.group_index,
            group_threshold: self.group_threshold,
            group_count: self.group_count,
            member_index: self.member_index,
            member_threshold: self.member_threshold,
        }
    }

    /// The share's mnemonic: its words joined by single spaces, in a zeroizing buffer.
    #[must_use]
    pub fn to_words(&self) -> Zeroizing<String> {
        let words = self.indices();
        let mut text = Zeroizing::new(String::with_capacity(words.len() * 9));
        for (i, &index) in words.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(wordlist::word(index));
        }
        text
    }

    /// The share's 10-bit word values, checksum included.
    fn indices(&self) -> Zeroizing<Vec<u16>> {
        let value_words = (self.value.len() * 8).div_ceil(10);
        let mut words = Zeroizing::new(Vec::with_capacity(METADATA_WORDS + value_words));
        let id_exp = (u32::from(self.identifier) << 5)
            | (u32::from(self.extendable) << 4)
            | u32::from(self.iteration_exponent & 0xF);
        words.extend([to_word(id_exp >> 10), to_word(id_exp)]);
        let params = (u32::from(self.group_index & 0xF) << 16)
            | (u32::from(self.group_threshold.saturating_sub(1) & 0xF) << 12)
            | (u32::from(self.group_count.saturating_sub(1) & 0xF) << 8)
            | (u32::from(self.member_index & 0xF) << 4)
            | u32::from(self.member_threshold.saturating_sub(1) & 0xF);
        words.extend([to_word(params >> 10), to_word(params)]);
        pack(&self.value, value_words, &mut words);
        let checksum = rs1024::checksum(customization(&words), &words);
        words.extend(checksum);
        words
    }

    /// The random identifier shared by every share of a backup (15 bits).
    #[must_use]
    pub const fn identifier(&self) -> u16 {
        self.identifier
    }

    /// Whether the backup is extendable (more shares can be made for the same master
    /// secret and passphrase with another identifier).
    #[must_use]
    pub const fn extendable(&self) -> bool {
        self.extendable
    }

    /// The iteration exponent e: the passphrase encryption runs 10000 x 2^e PBKDF2
    /// iterations.
    #[must_use]
    pub const fn iteration_exponent(&self) -> u8 {
        self.iteration_exponent
    }

    /// The 1-based number of the share's group.
    #[must_use]
    pub const fn group(&self) -> u8 {
        self.group_index + 1
    }

    /// How many groups must be present to recover the secret.
    #[must_use]
    pub const fn group_threshold(&self) -> u8 {
        self.group_threshold
    }

    /// How many groups the backup has.
    #[must_use]
    pub const fn group_count(&self) -> u8 {
        self.group_count
    }

    /// The 1-based number of the share within its group.
    #[must_use]
    pub const fn member(&self) -> u8 {
        self.member_index + 1
    }

    /// How many shares of this group recover the group's share.
    #[must_use]
    pub const fn member_threshold(&self) -> u8 {
        self.member_threshold
    }

    /// Length of the share value in bytes (the length of the master secret).
    #[must_use]
    pub fn value_len(&self) -> usize {
        self.value.len()
    }

    /// The share value: the one accessor to the secret part of the share.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.value
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("identifier", &self.identifier)
            .field("extendable", &self.extendable)
            .field("iteration_exponent", &self.iteration_exponent)
            .field("group", &self.group())
            .field("group_threshold", &self.group_threshold)
            .field("group_count", &self.group_count)
            .field("member", &self.member())
            .field("member_threshold", &self.member_threshold)
            .finish_non_exhaustive()
    }
}

/// The RS1024 customization string of a share: chosen by its extendable flag (bit 4 of the
/// second word).
/// Replaces `buffer`'s contents with `word` in ASCII lowercase (other characters unchanged,
/// so the length is the word's: a buffer with that capacity never reallocates).
fn lowercase_into(buffer: &mut String, word: &str) {
    buffer.clear();
    buffer.extend(word.chars().map(|c| c.to_ascii_lowercase()));
}

fn customization(words: &[u16]) -> &'static [u8] {
    if words.get(1).is_some_and(|w| (w >> 4) & 1 == 1) {
        CUSTOMIZATION_EXTENDABLE
    } else {
        CUSTOMIZATION
    }
}

/// The low 10 bits of `value` as a word index.
fn to_word(value: u32) -> u16 {
    u16::try_from(value & 0x3FF).unwrap_or_default()
}

/// `n` words from `start` read as one big-endian integer (n ≤ 3).
fn word_bits(words: &[u16], start: usize, n: usize) -> u32 {
    words
        .iter()
        .skip(start)
        .take(n)
        .fold(0_u32, |acc, &w| (acc << 10) | u32::from(w & 0x3FF))
}

/// Unpacks 10-bit words into bytes, after `padding` leading bits that must be zero.
fn unpack(words: &[u16], padding: usize) -> Result<Zeroizing<Vec<u8>>> {
    let total_bits = words.len() * 10;
    let mut out = Zeroizing::new(Vec::with_capacity((total_bits - padding) / 8));
    let mut acc: u32 = 0;
    let mut bits: usize = 0;
    let mut to_skip = padding;
    for &w in words {
        acc = (acc << 10) | u32::from(w & 0x3FF);
        bits += 10;
        if to_skip > 0 {
            let skip = to_skip.min(bits);
            // The skipped (top) bits must be zero.
            if (acc >> (bits - skip)) != 0 {
                acc.zeroize();
                return Err(Error::InvalidPadding);
            }
            bits -= skip;
            to_skip -= skip;
            acc &= (1_u32 << bits) - 1;
        }
        while bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xFF).unwrap_or_default());
            acc &= (1_u32 << bits) - 1;
        }
    }
    acc.zeroize();
    Ok(out)
}

/// Packs `value` into `count` 10-bit words, left-padded with zero bits, appended to `out`.
fn pack(value: &[u8], count: usize, out: &mut Vec<u16>) {
    let padding = count * 10 - value.len() * 8;
    let mut acc: u32 = 0;
    let mut bits: usize = padding;
    for &b in value {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 10 {
            bits -= 10;
            out.push(to_word(acc >> bits));
            acc &= (1_u32 << bits) - 1;
        }
    }
    acc.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_unpack_round_trip() {
        for len in [16_usize, 18, 32, 64] {
            let value: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let count = (len * 8).div_ceil(10);
            let mut words = Vec::new();
            pack(&value, count, &mut words);
            assert_eq!(words.len(), count);
            let padding = count * 10 - len * 8;
            assert_eq!(&**unpack(&words, padding).unwrap(), &value[..]);
            words[0] |= 0x200;
            assert_eq!(unpack(&words, padding).unwrap_err(), Error::InvalidPadding);
        }
    }

    #[test]
    fn the_lowercase_buffer_never_grows_past_the_longest_word() {
        // Words longer than 16 bytes (the old fixed capacity), multi-byte characters.
        let text = "Academic ACID\tthisisaverylongtypedwordindeed  Ümlaut\u{301}ÉCOLE x";
        let longest = text.split_whitespace().map(str::len).max().unwrap();
        let mut buffer = String::with_capacity(longest);
        let start = buffer.as_ptr();
        for word in text.split_whitespace() {
            lowercase_into(&mut buffer, word);
            assert_eq!(buffer.len(), word.len());
            assert_eq!(buffer, word.to_ascii_lowercase());
            assert_eq!(buffer.as_ptr(), start, "the buffer moved for {word:?}");
            assert_eq!(buffer.capacity(), longest);
        }
    }
}
