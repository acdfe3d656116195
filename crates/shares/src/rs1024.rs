//! RS1024, SLIP-0039's checksum: a Reed-Solomon code over GF(1024) with three check words.
//!
//! The code detects any error in at most three words. Its minimum distance is 4, so a
//! share with exactly one wrong word is at distance 1 from exactly one valid share (under
//! one customization string): [`locate_single_error`] finds that word's position (never
//! the right word, as SLIP-0039 §Combining asks).

/// The generator constants of SLIP-0039 §Checksum.
const GEN: [u32; 10] = [
    0x00E0_E040,
    0x01C1_C080,
    0x0383_8100,
    0x0707_0200,
    0x0E0E_0009,
    0x1C0C_2412,
    0x3808_6C24,
    0x3090_FC48,
    0x21B1_F890,
    0x03F3_F120,
];

/// Number of checksum words at the end of a share.
pub(crate) const CHECKSUM_WORDS: usize = 3;

/// The customization string of shares without the extendable flag.
pub(crate) const CUSTOMIZATION: &[u8] = b"shamir";
/// The customization string of extendable shares.
pub(crate) const CUSTOMIZATION_EXTENDABLE: &[u8] = b"shamir_extendable";

fn polymod(customization: &[u8], values: impl IntoIterator<Item = u16>) -> u32 {
    let mut chk: u32 = 1;
    let all = customization
        .iter()
        .map(|&b| u32::from(b))
        .chain(values.into_iter().map(u32::from));
    for v in all {
        let b = chk >> 20;
        chk = ((chk & 0x000F_FFFF) << 10) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Whether `words` (data then checksum, 10-bit values) carry a valid checksum.
pub(crate) fn verify(customization: &[u8], words: &[u16]) -> bool {
    polymod(customization, words.iter().copied()) == 1
}

/// The three checksum words for `data`.
pub(crate) fn checksum(customization: &[u8], data: &[u16]) -> [u16; CHECKSUM_WORDS] {
    let pm = polymod(customization, data.iter().copied().chain([0, 0, 0])) ^ 1;
    let word = |shift: u32| u16::try_from((pm >> shift) & 0x3FF).unwrap_or_default();
    [word(20), word(10), word(0)]
}

/// The 0-based position of the one word whose change would make `words` valid, if there is
/// exactly one such position.
///
/// Tries the 1023 other values of every word (about 34 000 checksum runs for a 33-word
/// share). The right value is found and dropped: only the position is returned.
///
/// `customization` gives the customization string of a candidate share (the extendable
/// flag, which selects it, is itself in the second word and may be the wrong one).
pub(crate) fn locate_single_error(
    customization: impl Fn(&[u16]) -> &'static [u8],
    words: &[u16],
) -> Option<usize> {
    let mut found = None;
    // The share's words (its secret value), and at the end the corrected share: wiped on
    // drop like every other copy of a share.
    let mut scratch = zeroize::Zeroizing::new(words.to_vec());
    for i in 0..words.len() {
        let original = *words.get(i)?;
        for candidate in 0..1024_u16 {
            if candidate == original {
                continue;
            }
            if let Some(slot) = scratch.get_mut(i) {
                *slot = candidate;
            }
            if verify(customization(&scratch), &scratch) {
                if found.is_some() {
                    return None;
                }
                found = Some(i);
                break;
            }
        }
        if let Some(slot) = scratch.get_mut(i) {
            *slot = original;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_verifies_and_any_single_change_is_located() {
        let data: Vec<u16> = (0..17).map(|i| (i * 97 + 13) % 1024).collect();
        for cs in [CUSTOMIZATION, CUSTOMIZATION_EXTENDABLE] {
            let mut words = data.clone();
            words.extend(checksum(cs, &data));
            assert!(verify(cs, &words));
            // The other customization string does not verify.
            let other = if cs == CUSTOMIZATION {
                CUSTOMIZATION_EXTENDABLE
            } else {
                CUSTOMIZATION
            };
            assert!(!verify(other, &words));
            for i in [0, 5, 19] {
                let mut bad = words.clone();
                bad[i] ^= 0x155;
                assert!(!verify(cs, &bad));
                assert_eq!(locate_single_error(|_| cs, &bad), Some(i));
            }
        }
    }
}
