//! HKDF-SHA256 of two secrets: a parent key and a 32-byte mix-in in the input key material.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, KEY_LEN, Key, Result, encode_info};

/// Derives a child [`Key`] from two secrets: HKDF-SHA256 with no salt,
/// `ikm = parent || mix_in` (64 bytes) and `info = encode_info(label, parts)`.
///
/// Both secrets are input key material, so the child cannot be computed without either:
/// the mix-in is not a label in `info` that anyone could guess. Use it where a key must
/// need a second credential (the cells crate's layer 1 mixes in a policy secret).
///
/// # Errors
/// [`Error::TooLong`] if an item exceeds `u32::MAX` bytes.
pub fn derive_key_mixed(parent: &Key, mix_in: &Key, label: &str, parts: &[&[u8]]) -> Result<Key> {
    let mut ikm = Zeroizing::new([0u8; 2 * KEY_LEN]);
    let (a, b) = ikm.split_at_mut(KEY_LEN);
    a.copy_from_slice(parent.expose_secret());
    b.copy_from_slice(mix_in.expose_secret());
    let info = encode_info(label, parts)?;
    let mut child = Key::zeroed();
    Hkdf::<Sha256>::new(None, &ikm[..])
        .expand(&info, child.bytes_mut())
        .map_err(|_| Error::TooLong {
            what: "HKDF-SHA256 output is limited to 255 * 32 = 8160 bytes",
        })?;
    Ok(child)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Equals plain RFC 5869 HKDF over the concatenated secrets.
    #[test]
    fn is_hkdf_of_the_concatenation() {
        let (p, m) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
        let got = derive_key_mixed(&p, &m, "l", &[b"x"]).unwrap();
        let mut ikm = [1u8; 64];
        ikm[32..].fill(2);
        let mut want = [0u8; 32];
        crate::kdf::hkdf_sha256(None, &ikm, &encode_info("l", &[b"x"]).unwrap(), &mut want)
            .unwrap();
        assert_eq!(got.expose_secret(), &want);
    }

    #[test]
    fn each_secret_changes_the_child() {
        let (p, m) = (Key::from_bytes([1; 32]), Key::from_bytes([2; 32]));
        let base = derive_key_mixed(&p, &m, "l", &[]).unwrap();
        assert_ne!(
            base,
            derive_key_mixed(&p, &Key::from_bytes([3; 32]), "l", &[]).unwrap()
        );
        assert_ne!(
            base,
            derive_key_mixed(&Key::from_bytes([3; 32]), &m, "l", &[]).unwrap()
        );
        assert_ne!(base, crate::derive_key(&p, "l", &[]).unwrap());
    }
}
