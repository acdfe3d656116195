//! Serde helpers for the protocol's field encodings that are the service's own: paths.
//!
//! Binary formats (postcard) get a path as a sequence of BIP-32 child numbers (`u32`,
//! hardened bit included); human-readable formats (JSON) get a path string
//! (`m/74'/2'/0'/0'`). Byte fields (public, secret, redacted) use the workspace's shared
//! helpers, `hexvault_aead::serde_bytes` (`raw`, `secret`, `hex`, `redacted`).

use core::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;

/// `DerivationPath`: text in human-readable formats, child numbers in binary ones.
pub(crate) mod path {
    use hexvault_derivation::{ChildNumber, DerivationPath, MAX_DEPTH};

    use super::{SeqAccess, SerializeSeq, Visitor, de, fmt};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(path: &DerivationPath, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(path)
        } else {
            let mut seq = s.serialize_seq(Some(path.len()))?;
            for child in path {
                seq.serialize_element(&child.to_bits())?;
            }
            seq.end()
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DerivationPath, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(PathVisitor)
        } else {
            d.deserialize_seq(PathVisitor)
        }
    }

    struct PathVisitor;

    impl<'de> Visitor<'de> for PathVisitor {
        type Value = DerivationPath;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a derivation path such as m/74'/2'/0'/0' or a list of child numbers")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.parse().map_err(E::custom)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut steps = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_DEPTH));
            while let Some(bits) = seq.next_element::<u32>()? {
                if steps.len() >= MAX_DEPTH {
                    return Err(de::Error::custom("derivation path deeper than 255 levels"));
                }
                steps.push(ChildNumber::from_bits(bits));
            }
            DerivationPath::from_children(steps).map_err(de::Error::custom)
        }
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(&d) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(d));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_for_debug() {
        assert_eq!(to_hex(&[0x00, 0xAB, 0xFF]), "00abff");
    }
}
