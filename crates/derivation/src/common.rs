//! Pieces shared by both curves: the chain code, HMAC-SHA512, HASH160 fingerprints, seed checks.

use core::fmt;

use bitcoin_hashes::Hash as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::path::ChildNumber;

/// Shortest seed accepted (128 bits, BIP-32 and the SLIP-0010 vectors).
pub const MIN_SEED_LEN: usize = 16;
/// Longest seed accepted (512 bits, a BIP-39 seed).
pub const MAX_SEED_LEN: usize = 64;

/// A 32-byte BIP-32 / SLIP-0010 chain code.
///
/// Treated as a secret: with a chain code and a public key anyone can derive every
/// non-hardened child public key, and with one non-hardened child private key as well,
/// the parent private key. Zeroized on drop, not `Clone`, `Debug` redacted, compared in
/// constant time; the bytes are reachable only through [`ChainCode::expose_secret`].
pub struct ChainCode([u8; 32]);

impl ChainCode {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 chain code bytes.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ChainCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainCode").finish_non_exhaustive()
    }
}

impl PartialEq for ChainCode {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ChainCode {}

impl Zeroize for ChainCode {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for ChainCode {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for ChainCode {}

/// The 64 bytes `I = IL ‖ IR` of one HMAC-SHA512 step, zeroized on drop.
pub(crate) struct Hmac512Output(Zeroizing<[u8; 64]>);

impl Hmac512Output {
    /// `IL`, the key half.
    pub(crate) fn left(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Some(src) = self.0.get(..32) {
            out.copy_from_slice(src);
        }
        out
    }

    /// `IR`, the chain code half.
    pub(crate) fn right(&self) -> ChainCode {
        let mut out = [0u8; 32];
        if let Some(src) = self.0.get(32..) {
            out.copy_from_slice(src);
        }
        ChainCode::new(out)
    }
}

/// HMAC-SHA512(key, parts[0] ‖ parts[1] ‖ …) for a key of at most 128 bytes.
///
/// A key shorter than SHA-512's 128-byte block is zero-padded by HMAC itself, so padding it
/// here and using the infallible constructor gives the same MAC with no error path.
pub(crate) fn hmac_sha512(key: &[u8], parts: &[&[u8]]) -> Hmac512Output {
    let mut block = hmac::digest::Key::<Hmac<Sha512>>::default();
    if let Some(dst) = block.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha512> as KeyInit>::new(&block);
    block.as_mut_slice().zeroize();
    for part in parts {
        mac.update(part);
    }
    let mut tag = mac.finalize().into_bytes();
    let mut out = Zeroizing::new([0u8; 64]);
    out.copy_from_slice(tag.as_slice());
    tag.as_mut_slice().zeroize();
    Hmac512Output(out)
}

/// Where an extended key sits in its tree, and its chain code: the fields the three extended
/// key types (SLIP-0010 ed25519, BIP-32 secp256k1 private and public) share, with one set of
/// accessors ([`node_meta_accessors`]). The chain code is secret and zeroizes itself on drop.
pub(crate) struct NodeMeta {
    pub(crate) chain_code: ChainCode,
    pub(crate) depth: u8,
    pub(crate) parent_fingerprint: [u8; 4],
    pub(crate) child_number: ChildNumber,
}

impl NodeMeta {
    /// A master key's position: depth 0, no parent fingerprint, child number 0.
    pub(crate) fn master(chain_code: ChainCode) -> Self {
        Self {
            chain_code,
            depth: 0,
            parent_fingerprint: [0; 4],
            child_number: ChildNumber::from_bits(0),
        }
    }

    /// The position of `child`, one level below this one (the caller checked the depth).
    pub(crate) fn child(
        &self,
        chain_code: ChainCode,
        child: ChildNumber,
        parent_fingerprint: [u8; 4],
    ) -> Self {
        Self {
            chain_code,
            depth: self.depth.saturating_add(1),
            parent_fingerprint,
            child_number: child,
        }
    }

    /// True at depth 255, where no child can be derived.
    pub(crate) const fn at_max_depth(&self) -> bool {
        self.depth == u8::MAX
    }

    /// A copy (with its own copy of the chain code); deliberately not `Clone`.
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            chain_code: ChainCode::new(*self.chain_code.expose_secret()),
            depth: self.depth,
            parent_fingerprint: self.parent_fingerprint,
            child_number: self.child_number,
        }
    }
}

impl Zeroize for NodeMeta {
    fn zeroize(&mut self) {
        self.chain_code.zeroize();
        self.depth.zeroize();
        self.parent_fingerprint.zeroize();
        self.child_number = ChildNumber::from_bits(0);
    }
}

/// The public accessors of a type's `meta: NodeMeta` field: `depth`, `parent_fingerprint`
/// (documented per type, since the hashed public key form differs), `child_number` and
/// `chain_code`. Used inside `impl` blocks.
macro_rules! node_meta_accessors {
    (parent_fingerprint = $parent_fingerprint_doc:literal) => {
        /// Depth in the tree (0 for the master key).
        #[must_use]
        pub fn depth(&self) -> u8 {
            self.meta.depth
        }

        #[doc = $parent_fingerprint_doc]
        #[must_use]
        pub fn parent_fingerprint(&self) -> [u8; 4] {
            self.meta.parent_fingerprint
        }

        /// The step that led here (`0` with no hardened bit for the master key).
        #[must_use]
        pub fn child_number(&self) -> $crate::path::ChildNumber {
            self.meta.child_number
        }

        /// The chain code (secret: see [`ChainCode`](crate::ChainCode)).
        #[must_use]
        pub fn chain_code(&self) -> &$crate::common::ChainCode {
            &self.meta.chain_code
        }
    };
}
pub(crate) use node_meta_accessors;

/// The first 4 bytes of HASH160 (RIPEMD-160 of SHA-256) of a 33-byte public key.
pub(crate) fn fingerprint(public_key: &[u8; 33]) -> [u8; 4] {
    let hash = bitcoin_hashes::hash160::Hash::hash(public_key).to_byte_array();
    let mut out = [0u8; 4];
    if let Some(src) = hash.get(..4) {
        out.copy_from_slice(src);
    }
    out
}

/// Checks a seed's length.
pub(crate) fn check_seed(seed: &[u8]) -> Result<()> {
    if (MIN_SEED_LEN..=MAX_SEED_LEN).contains(&seed.len()) {
        Ok(())
    } else {
        Err(Error::InvalidSeedLength {
            len: seed.len(),
            min: MIN_SEED_LEN,
            max: MAX_SEED_LEN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_code_debug_is_redacted_and_eq_works() {
        let a = ChainCode::new([0xAB; 32]);
        let b = ChainCode::new([0xAB; 32]);
        let c = ChainCode::new([0xAC; 32]);
        let dbg = format!("{a:?}");
        assert!(
            !dbg.contains("171") && !dbg.to_lowercase().contains("ab"),
            "{dbg}"
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let out = hmac_sha512(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        let expected = "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";
        let mut all = out.left().to_vec();
        all.extend_from_slice(out.right().expose_secret());
        assert_eq!(hex::encode(all), expected);
    }

    #[test]
    fn seed_lengths() {
        assert!(check_seed(&[0; 15]).is_err());
        assert!(check_seed(&[0; 16]).is_ok());
        assert!(check_seed(&[0; 64]).is_ok());
        assert_eq!(
            check_seed(&[0; 65]),
            Err(Error::InvalidSeedLength {
                len: 65,
                min: 16,
                max: 64
            })
        );
    }
}
