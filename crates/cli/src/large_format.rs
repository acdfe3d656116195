//! The formats of a large object of the vault directory (ADR 0073, docs/formats.md "Large
//! object"): the plaintext of its data-key blob, the associated data of its sealed stream and
//! the name of its `.stream` file.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::vault_format::CellRef;
use hexvault::aead::{KEY_LEN, Key};
use hexvault::cells::ObjectId;

/// Payloads longer than this (1 MiB) are sealed as large objects.
pub const THRESHOLD: usize = 1024 * 1024;
/// The start of the plaintext of a large object's data-key blob: `HXLO`, version 1.
pub const MARKER: [u8; 5] = *b"HXLO\x01";
/// The plaintext of a data-key blob: [`MARKER`] then the 32-byte data key.
pub const RECORD_LEN: usize = MARKER.len() + KEY_LEN;
/// The extension of a stream file.
const STREAM_EXT: &str = "stream";
/// Domain of the stream's associated data.
const AAD_LABEL: &[u8] = b"hexvault/cli/large-object/v1";
/// Bytes of the blob's SHA-256 in the stream file's name (16 hex digits).
const NAME_HASH_LEN: usize = 8;

/// Whether a payload of which `head` is the start (at most [`THRESHOLD`] + 1 bytes) is
/// sealed as a large object: longer than [`THRESHOLD`], or starting with [`MARKER`] (so that
/// an ordinary blob never opens to something that reads as a data key).
pub fn is_large(head: &[u8]) -> bool {
    head.len() > THRESHOLD || head.starts_with(&MARKER)
}

/// The plaintext of the data-key blob of `key`.
pub fn key_record(key: &Key) -> Zeroizing<Vec<u8>> {
    let mut record = Zeroizing::new(Vec::with_capacity(RECORD_LEN));
    record.extend_from_slice(&MARKER);
    record.extend_from_slice(key.expose_secret());
    record
}

/// The data key in an opened blob's plaintext: `None` for an ordinary object (no
/// [`MARKER`]); an error for a marked plaintext of the wrong length.
///
/// # Errors
/// Fails for a marked plaintext that does not hold exactly one 32-byte key.
pub fn data_key(plaintext: &[u8]) -> CliResult<Option<Key>> {
    let Some(key) = plaintext.strip_prefix(&MARKER) else {
        return Ok(None);
    };
    Key::from_slice(key).map(Some).map_err(|_| {
        CliError::Failed(
            "the object's blob names a large object but holds no valid data key: restore the \
             blob from a backup"
                .into(),
        )
    })
}

fn push_field(aad: &mut Vec<u8>, field: &[u8]) {
    // Ids are at most 128 bytes; a u16 length prefix makes the fields unambiguous.
    let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
    aad.extend_from_slice(&len.to_be_bytes());
    aad.extend_from_slice(field);
}

/// The stream's associated data: the label, then partition, cell and object id (each
/// u16-length-prefixed), then SHA-256 of the data-key blob.
pub fn aad(cell: &CellRef, object: &ObjectId, blob: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 3 * 130 + 32);
    aad.extend_from_slice(AAD_LABEL);
    push_field(&mut aad, cell.partition.as_str().as_bytes());
    push_field(&mut aad, cell.cell.as_str().as_bytes());
    push_field(&mut aad, object.as_str().as_bytes());
    aad.extend_from_slice(&Sha256::digest(blob));
    aad
}

/// The name of the stream file of `object` whose data-key blob is `blob` (see
/// `stream_path` of the command line): `HEX(object).HASH16.stream`.
pub fn stream_name(object: &str, blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    let short = digest.get(..NAME_HASH_LEN).unwrap_or_default();
    format!(
        "{}.{}.{STREAM_EXT}",
        hex::encode(object),
        hex::encode(short)
    )
}

/// The hex object part of a stream file's name, `HEX.HASH.stream`: `None` for a name that
/// does not end in `.stream` or has no `.` before it.
pub fn stream_file_object_hex(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(STREAM_EXT)?.strip_suffix('.')?;
    stem.split_once('.').map(|(object_hex, _)| object_hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_decides_and_is_checked() {
        assert!(!is_large(b"hello"));
        assert!(!is_large(&vec![0u8; THRESHOLD]));
        assert!(is_large(&vec![0u8; THRESHOLD + 1]));
        assert!(is_large(b"HXLO\x01 short"));
        let key = Key::from_bytes([7; KEY_LEN]);
        let record = key_record(&key);
        assert_eq!(record.len(), RECORD_LEN);
        let back = data_key(&record).ok().flatten();
        assert_eq!(back.map(|k| *k.expose_secret()), Some([7; KEY_LEN]));
        assert!(matches!(data_key(b"plain"), Ok(None)));
        assert!(data_key(record.get(..RECORD_LEN - 1).unwrap_or_default()).is_err());
    }

    #[test]
    fn the_aad_binds_every_field() {
        let cell = CellRef::parse("p/c", "t").ok();
        let other = CellRef::parse("p/d", "t").ok();
        let object = ObjectId::new("o").ok();
        let (Some(cell), Some(other), Some(object)) = (cell, other, object) else {
            unreachable!("valid ids")
        };
        let base = aad(&cell, &object, b"blob");
        assert_ne!(base, aad(&other, &object, b"blob"));
        assert_ne!(base, aad(&cell, &object, b"blob2"));
        let other_object = ObjectId::new("o2").ok();
        if let Some(o2) = other_object {
            assert_ne!(base, aad(&cell, &o2, b"blob"));
        }
        assert!(base.starts_with(AAD_LABEL));
        assert_eq!(stream_name("ab", b"x").len(), 4 + 1 + 16 + 7);
    }

    #[test]
    fn stream_file_names_give_their_object_part() {
        assert_eq!(stream_file_object_hex("6f.0011.stream"), Some("6f"));
        assert_eq!(stream_file_object_hex(&stream_name("o", b"x")), Some("6f"));
        for name in [
            "6f.stream",
            "6f.0011.streams",
            "6f.0011stream",
            "6f.0011.blob",
        ] {
            assert_eq!(stream_file_object_hex(name), None, "{name}");
        }
    }
}
