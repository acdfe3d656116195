//! Serde helpers for byte fields: raw bytes in binary formats, text in human-readable ones.
//!
//! One home for the rule every hexvault format follows: binary formats (postcard, the
//! service protocol) carry a byte field as a length-prefixed byte string; human-readable
//! formats (JSON) carry text. Which text depends on what the bytes are:
//!
//! | module | type | binary formats | human-readable formats |
//! |---|---|---|---|
//! | [`base64`] | `Vec<u8>` | byte string | standard base64 with padding (RFC 4648 §4) |
//! | [`hex`] | `Vec<u8>` | byte string | lowercase hex (either case is read) |
//! | [`opt_hex`] | `Option<Vec<u8>>` | `None` or byte string | `null` or hex |
//! | [`redacted`] | secret bytes | byte string | the string [`REDACTED`]; never read back |
//! | [`raw`] | `Vec<u8>` | byte string | array of numbers (for protocol frames) |
//! | [`secret`] | `Zeroizing<Vec<u8>>` | byte string | array of numbers (protocol frames between trusted ends only) |
//! | [`redacted_text`] | `Zeroizing<String>` (phrases, passphrases) | string | the string [`REDACTED`]; never read back |
//!
//! Use them with `#[serde(with = "hexvault_aead::serde_bytes::base64")]`. Every binary read
//! lands in a zeroizing buffer, also when a hostile length prefix makes it grow (the old
//! allocation is wiped), so the same code serves public and secret fields.

use core::fmt;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};
use zeroize::{Zeroize, Zeroizing};

/// What a [`redacted`] field is written as in human-readable formats.
pub const REDACTED: &str = "[REDACTED]";

/// Upper bound on the preallocation a length prefix can ask for (bytes); larger inputs grow.
const MAX_PREALLOC: usize = 64 * 1024;

/// Reads a byte string (or a sequence of `u8`) into a zeroizing buffer.
struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Zeroizing<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Zeroizing::new(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
        Ok(Zeroizing::new(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Bounded preallocation: a hostile length prefix must not allocate gigabytes.
        let cap = seq.size_hint().unwrap_or(0).min(MAX_PREALLOC);
        let mut out = Zeroizing::new(Vec::with_capacity(cap));
        while let Some(b) = seq.next_element::<u8>()? {
            if out.len() == out.capacity() {
                // Grow by hand so the old allocation is wiped, not left behind.
                let mut bigger = Vec::with_capacity(out.capacity().saturating_mul(2).max(32));
                bigger.extend_from_slice(&out);
                out.zeroize();
                *out = bigger;
            }
            out.push(b);
        }
        Ok(out)
    }
}

/// A byte string from a binary format, into a zeroizing buffer.
fn binary_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
    d.deserialize_bytes(BytesVisitor)
}

/// Takes the bytes out of a zeroizing buffer (for public fields); the shell is wiped.
fn take(mut z: Zeroizing<Vec<u8>>) -> Vec<u8> {
    core::mem::take(&mut *z)
}

/// Public bytes as a byte string in every format (binary protocol frames; an array of numbers
/// in JSON), read through the same bounded, wiping visitor as secrets.
pub mod raw {
    use serde::{Deserializer, Serializer};

    use super::{binary_bytes, take};

    /// Serializes `bytes` as a byte string.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    /// Reads a byte string (or a sequence of `u8`).
    ///
    /// # Errors
    /// Whatever the deserializer reports for input that is not bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        binary_bytes(d).map(take)
    }
}

/// Secret bytes (`Zeroizing<Vec<u8>>`) as a byte string in every format, read straight into a
/// zeroizing buffer (no intermediate copy is left unwiped). For protocol frames between
/// trusted ends; for anything a person may read, use [`redacted`].
pub mod secret {
    use serde::{Deserializer, Serializer};

    use super::{Zeroizing, binary_bytes};

    /// Serializes the secret as a byte string.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(bytes: &Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    /// Reads a byte string (or a sequence of `u8`) into a zeroizing buffer.
    ///
    /// # Errors
    /// Whatever the deserializer reports for input that is not bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        binary_bytes(d)
    }
}

/// Public bytes: standard base64 (with padding) in human-readable formats.
pub mod base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserializer, Serializer, de};

    use super::{Visitor, fmt};

    /// Writes `bytes` as base64 text or a byte string.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&STANDARD.encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    /// Reads base64 text or a byte string.
    ///
    /// # Errors
    /// Invalid base64, or not a string / byte string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(Base64Visitor)
        } else {
            super::binary_bytes(d).map(super::take)
        }
    }

    struct Base64Visitor;

    impl Visitor<'_> for Base64Visitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a standard base64 string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            STANDARD
                .decode(v)
                .map_err(|e| E::custom(format!("invalid base64: {e}")))
        }
    }
}

/// Public bytes: lowercase hex in human-readable formats (either case is read).
pub mod hex {
    use serde::{Deserializer, Serializer, de};

    use super::{Visitor, fmt};

    /// Lowercase hex of `bytes`.
    fn encode(bytes: &[u8]) -> String {
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

    /// Parses hex of either case; `None` for an odd length or a non-hex character.
    fn decode(s: &str) -> Option<Vec<u8>> {
        fn val(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let bytes = s.as_bytes();
        if !bytes.len().is_multiple_of(2) {
            return None;
        }
        bytes
            .chunks_exact(2)
            .map(|pair| match pair {
                [hi, lo] => Some((val(*hi)? << 4) | val(*lo)?),
                _ => None,
            })
            .collect()
    }

    /// Writes `bytes` as lowercase hex or a byte string.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    /// Reads hex text or a byte string.
    ///
    /// # Errors
    /// Invalid hex, or not a string / byte string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(HexVisitor)
        } else {
            super::binary_bytes(d).map(super::take)
        }
    }

    struct HexVisitor;

    impl Visitor<'_> for HexVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a hex string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            decode(v).ok_or_else(|| E::custom("invalid hex string"))
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn hex_round_trip_and_rejects() {
            assert_eq!(super::encode(&[0x00, 0xAB, 0xFF]), "00abff");
            assert_eq!(super::decode("00abFF"), Some(vec![0x00, 0xAB, 0xFF]));
            assert_eq!(super::decode(""), Some(vec![]));
            assert_eq!(super::decode("abc"), None);
            assert_eq!(super::decode("zz"), None);
            let all: Vec<u8> = (0..=255).collect();
            assert_eq!(super::decode(&super::encode(&all)), Some(all));
        }
    }
}

/// `Option` of public bytes: `null` or hex in human-readable formats, as [`hex`].
pub mod opt_hex {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    struct Ref<'a>(&'a [u8]);

    impl Serialize for Ref<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::hex::serialize(self.0, s)
        }
    }

    struct Owned(Vec<u8>);

    impl<'de> Deserialize<'de> for Owned {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::hex::deserialize(d).map(Owned)
        }
    }

    /// Writes `None`, or the bytes as [`hex`](super::hex) does.
    ///
    /// # Errors
    /// Whatever the serializer reports.
    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`.
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_deref().map(Ref).serialize(s)
    }

    /// Reads `None`, or bytes as [`hex`](super::hex) does.
    ///
    /// # Errors
    /// As [`hex::deserialize`](super::hex::deserialize).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Owned>::deserialize(d)?.map(|o| o.0))
    }
}

/// Secret bytes: a byte string in binary formats; in human-readable formats the string
/// [`REDACTED`] is written and **nothing is ever read**.
///
/// Reading a human-readable value is always an error (saying so when the value is the
/// redaction marker), so a redacted record can never turn into a key made of the bytes of
/// `"[REDACTED]"` or of whatever an editor put there. Binary reads land in a zeroizing
/// buffer; check the length where the field is used.
pub mod redacted {
    use serde::{Deserializer, Serializer, de};
    use zeroize::Zeroizing;

    use super::{REDACTED, Visitor, fmt};

    /// Writes the bytes (binary formats) or [`REDACTED`] (human-readable formats).
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(secret: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(REDACTED)
        } else {
            s.serialize_bytes(secret)
        }
    }

    /// Reads the bytes from a binary format into a zeroizing buffer.
    ///
    /// # Errors
    /// Always for a human-readable format; in a binary one, anything but a byte string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(RefuseHumanReadable)
        } else {
            super::binary_bytes(d)
        }
    }

    struct RefuseHumanReadable;

    fn refuse<E: de::Error>(redacted: bool) -> E {
        if redacted {
            E::custom(
                "this secret field is redacted (\"[REDACTED]\"): a human-readable serialization \
                 never carries secret bytes; get the value from its source (for a key, the vault \
                 service) or read the binary form (postcard)",
            )
        } else {
            E::custom(
                "a secret field is never read from a human-readable format; use the binary form \
                 (postcard)",
            )
        }
    }

    impl<'de> Visitor<'de> for RefuseHumanReadable {
        type Value = Zeroizing<Vec<u8>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("no secret bytes (human-readable forms are redacted)")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Err(refuse(v == REDACTED))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            let v = Zeroizing::new(v);
            Err(refuse(v.as_str() == REDACTED))
        }

        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Err(refuse(false))
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(refuse(false))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(refuse(false))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(refuse(false))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(refuse(false))
        }

        fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(refuse(false))
        }
    }
}

/// Secret text (`Zeroizing<String>`: phrases, passphrases): a string in binary formats; in
/// human-readable formats the string [`REDACTED`] is written and **nothing is ever read**, as
/// [`redacted`] does for bytes. Binary reads land in a zeroizing string of exactly the read
/// length.
pub mod redacted_text {
    use serde::{Deserializer, Serializer, de};
    use zeroize::Zeroizing;

    use super::{REDACTED, fmt};

    /// Writes the text (binary formats) or [`REDACTED`] (human-readable formats).
    ///
    /// # Errors
    /// Whatever the serializer reports.
    pub fn serialize<S: Serializer>(secret: &str, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(REDACTED)
        } else {
            s.serialize_str(secret)
        }
    }

    /// Reads the text from a binary format into a zeroizing string.
    ///
    /// # Errors
    /// Always for a human-readable format; in a binary one, anything but UTF-8 text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<String>, D::Error> {
        if d.is_human_readable() {
            return Err(de::Error::custom(
                "a secret text field (phrase, passphrase) is never read from a human-readable \
                 format; use the binary form (postcard)",
            ));
        }
        d.deserialize_str(SecretText)
    }

    struct SecretText;

    impl de::Visitor<'_> for SecretText {
        type Value = Zeroizing<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("secret UTF-8 text")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let mut out = Zeroizing::new(String::with_capacity(v.len()));
            out.push_str(v);
            Ok(out)
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Zeroizing::new(v))
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            core::str::from_utf8(v)
                .map_err(|_| E::custom("secret text is not UTF-8"))
                .and_then(|t| self.visit_str(t))
        }
    }
}
