//! HKDF-SHA256 key derivation with an injective, length-prefixed `info` encoding.
//!
//! `info = item(label) || item(part_1) || ... || item(part_n)` where
//! `item(x) = u32be(len(x)) || x`. Each item says where it ends, so two different
//! (label, parts) lists can never encode to the same bytes (see `docs/formats.md`).

use hkdf::Hkdf;
use sha2::Sha256;

use crate::{Error, Key, Result};

/// Label of [`derive_domain_key`].
pub const DOMAIN_KEY_LABEL: &str = "hexvault/v1/domain-key";

/// Encodes `label` and `parts` into the HKDF `info` bytes (length-prefixed, injective).
///
/// # Errors
/// [`Error::TooLong`] if an item is longer than `u32::MAX` bytes.
pub fn encode_info(label: &str, parts: &[&[u8]]) -> Result<Vec<u8>> {
    let total = parts
        .iter()
        .fold(4 + label.len(), |acc, p| acc.saturating_add(4 + p.len()));
    let mut info = Vec::with_capacity(total);
    push_item(&mut info, label.as_bytes())?;
    for part in parts {
        push_item(&mut info, part)?;
    }
    Ok(info)
}

fn push_item(info: &mut Vec<u8>, item: &[u8]) -> Result<()> {
    let len = item_len(item)?;
    info.extend_from_slice(&len.to_be_bytes());
    info.extend_from_slice(item);
    Ok(())
}

/// Derives a child [`Key`] from `parent` with HKDF-SHA256: no salt (RFC 5869 §2.2 zero
/// salt), `ikm = parent`, `info = encode_info(label, parts)`, 32 bytes of output written
/// straight into the new key.
///
/// Use a distinct, fixed `label` per purpose; put ids (tenant, cell, ...) in `parts`.
///
/// # Errors
/// [`Error::TooLong`] if an item exceeds `u32::MAX` bytes.
pub fn derive_key(parent: &Key, label: &str, parts: &[&[u8]]) -> Result<Key> {
    let mut child = Key::zeroed();
    let hkdf = Hkdf::<Sha256>::new(None, parent.expose_secret());
    if parts.len() < STACK_ITEMS {
        // Feed the encoded info as (length, item) pieces from the stack: the same bytes
        // as `encode_info`, without allocating.
        let items = core::iter::once(label.as_bytes()).chain(parts.iter().copied());
        let mut lens = [[0u8; 4]; STACK_ITEMS];
        for (slot, item) in lens.iter_mut().zip(items.clone()) {
            *slot = item_len(item)?.to_be_bytes();
        }
        let mut pieces: [&[u8]; 2 * STACK_ITEMS] = [&[]; 2 * STACK_ITEMS];
        for ((pair, len), item) in pieces.chunks_exact_mut(2).zip(lens.iter()).zip(items) {
            if let [len_slot, item_slot] = pair {
                *len_slot = len;
                *item_slot = item;
            }
        }
        let used = pieces.get(..2 * (parts.len() + 1)).ok_or(Error::Internal {
            what: "HKDF info pieces exceed the stack array after the count check",
        })?;
        hkdf.expand_multi_info(used, child.bytes_mut())
            .map_err(|_| too_long_okm())?;
    } else {
        let info = encode_info(label, parts)?;
        hkdf.expand(&info, child.bytes_mut())
            .map_err(|_| too_long_okm())?;
    }
    Ok(child)
}

/// Label plus parts up to this many items are encoded on the stack.
const STACK_ITEMS: usize = 8;

fn item_len(item: &[u8]) -> Result<u32> {
    u32::try_from(item.len()).map_err(|_| Error::TooLong {
        what: "an HKDF info item is limited to u32::MAX bytes",
    })
}

const fn too_long_okm() -> Error {
    Error::TooLong {
        what: "HKDF-SHA256 output is limited to 255 * 32 = 8160 bytes",
    }
}

/// A tenant-isolated key: [`derive_key`]`(master, DOMAIN_KEY_LABEL, [domain, tenant])`.
///
/// The tenant goes into `info`, not the salt, so every (domain, tenant) pair is a
/// distinct, injectively encoded HKDF context under the same extracted key.
///
/// # Errors
/// [`Error::TooLong`] if `domain` or `tenant` exceeds `u32::MAX` bytes.
pub fn derive_domain_key(master: &Key, domain: &str, tenant: &str) -> Result<Key> {
    derive_key(
        master,
        DOMAIN_KEY_LABEL,
        &[domain.as_bytes(), tenant.as_bytes()],
    )
}

/// Plain RFC 5869 HKDF-SHA256 (extract then expand), for the derivations above and
/// for the published vectors.
#[cfg(test)]
pub(crate) fn hkdf_sha256(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
    okm: &mut [u8],
) -> Result<()> {
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, okm)
        .map_err(|_| too_long_okm())
}
