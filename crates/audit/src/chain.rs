//! The audit key, log ids, chain values, the chain step (keyed HMAC-SHA256 or unkeyed
//! SHA-256) and the public SHA-256 chain that checkpoints sign, in the constructions of log
//! formats 1 and 2 (two hashes over each record) and 3 (one hash over each record).

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

const GENESIS_DOMAIN: &[u8] = b"hexvault-audit/v1/genesis";
const KEY_CHECK_DOMAIN: &[u8] = b"hexvault-audit/v1/key-check";
const PUBLIC_GENESIS_DOMAIN: &[u8] = b"hexvault-audit/v2/public-genesis";
const PUBLIC_STEP_DOMAIN: &[u8] = b"hexvault-audit/v2/public-chain";
const PUBLIC_GENESIS_DOMAIN_V3: &[u8] = b"hexvault-audit/v3/public-genesis";
const PUBLIC_STEP_DOMAIN_V3: &[u8] = b"hexvault-audit/v3/public";
/// 23 bytes: with the 32-byte public value, 55 bytes, so the keyed step of format 3 is one
/// SHA-256 block inside HMAC plus the outer block.
const CHAIN_DOMAIN_V3: &[u8] = b"hexvault-audit/v3/chain";

/// The chain construction of a log format: formats 1 and 2 hash every record twice (keyed
/// chain and public chain over the record), format 3 once (the keyed chain value is a MAC
/// of the public chain value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Construction {
    /// Formats 1 and 2: `chain[n] = F(chain[n-1] ‖ rec)`,
    /// `public[n] = SHA-256(v2 domain ‖ public[n-1] ‖ len ‖ rec)`.
    TwoPass,
    /// Format 3: `public[n] = SHA-256(v3 domain ‖ public[n-1] ‖ len ‖ rec)`,
    /// `chain[n] = F("hexvault-audit/v3/chain" ‖ public[n])`.
    OnePass,
}

impl Construction {
    /// The construction of log format `version` (1, 2 or 3; the file header was checked).
    pub(crate) const fn of(version: u16) -> Self {
        if version >= 3 {
            Self::OnePass
        } else {
            Self::TwoPass
        }
    }
}

/// SHA-256 block size: HMAC pads a shorter key with zero bytes to this length (RFC 2104).
const HMAC_BLOCK: usize = 64;

/// The 32-byte HMAC-SHA256 key of a keyed chain.
///
/// The facade derives it from the vault master with HKDF; this crate only takes the bytes.
/// Zeroized on drop, not `Clone`, `Debug` prints no byte, equality is constant-time.
#[derive(ZeroizeOnDrop)]
pub struct AuditKey([u8; 32]);

impl AuditKey {
    /// Takes ownership of 32 key bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Copies 32 key bytes from a slice.
    ///
    /// # Errors
    /// [`Error::Malformed`] if the slice is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Malformed("audit key must be 32 bytes"))?;
        Ok(Self(arr))
    }

    /// The secret key bytes. The only accessor; do not log or copy them.
    #[must_use]
    pub const fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditKey").finish_non_exhaustive()
    }
}

impl ConstantTimeEq for AuditKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for AuditKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for AuditKey {}

/// A log's 16-byte random identifier; the chain's genesis is bound to it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogId([u8; 16]);

impl LogId {
    /// A fresh id from the OS random number generator.
    ///
    /// # Errors
    /// [`Error::Random`] if the OS generator fails.
    pub fn random() -> Result<Self> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|_| Error::Random)?;
        Ok(Self(b))
    }

    /// Wraps known id bytes. Test support only (feature `test-support`, not for
    /// production use): a real log id comes from [`LogId::random`].
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Wraps the id of an existing log as its storage keeps it (a database row): the id
    /// was drawn by [`LogId::random`] when the log was created.
    #[must_use]
    pub const fn from_stored(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// Wraps id bytes read from a log file, a checkpoint or an anchor.
    pub(crate) const fn from_array(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The id bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Parses the 32 lowercase or uppercase hex digits that [`LogId`]'s `Display` prints.
impl core::str::FromStr for LogId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        const BAD: Error = Error::Malformed("a log id is 32 hex digits");
        let digit = |b: u8| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        if s.len() != 32 {
            return Err(BAD);
        }
        let mut out = [0u8; 16];
        for (dst, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let [hi, lo] = pair else { return Err(BAD) };
            *dst = (digit(*hi).ok_or(BAD)? << 4) | digit(*lo).ok_or(BAD)?;
        }
        Ok(Self(out))
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogId({self})")
    }
}

/// A 32-byte chain value: `chain[n]`, or the genesis value that precedes record 0.
///
/// Not secret: an HMAC output reveals nothing about the key. But it is a MAC a verifier
/// compares with a value an attacker may have written, so equality is constant-time: a
/// verifier's timing must not tell how many leading bytes of a forged value were right.
#[derive(Clone, Copy)]
pub struct ChainValue([u8; 32]);

impl core::hash::Hash for ChainValue {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for ChainValue {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for ChainValue {}

impl ChainValue {
    /// Wraps 32 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ChainValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ChainValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainValue({self})")
    }
}

/// How chain values are computed. Stored in the file header and signed in checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChainMode {
    /// HMAC-SHA256 under the audit key (code 1, the default): of
    /// `"hexvault-audit/v3/chain" ‖ public[n]` in log format 3, of
    /// `chain[n-1] ‖ encode(record[n])` in formats 1 and 2.
    Keyed,
    /// SHA-256 of the same input: anyone can verify, anyone can recompute (only
    /// checkpoints stop a rewrite) (code 2).
    Unkeyed,
}

impl ChainMode {
    /// The stable wire code.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Keyed => 1,
            Self::Unkeyed => 2,
        }
    }

    /// The mode for a wire code.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Keyed),
            2 => Some(Self::Unkeyed),
            _ => None,
        }
    }
}

impl fmt::Display for ChainMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keyed => "keyed (HMAC-SHA256)",
            Self::Unkeyed => "unkeyed (SHA-256)",
        })
    }
}

/// The chain function with its key schedule computed once.
///
/// The keyed state is an `Hmac<Sha256>` of hmac 0.13. With this crate's `sha2/zeroize` and
/// `hmac/zeroize` features, dropping it wipes its buffer and both SHA-256 states (inner
/// and outer, which are functions of the key); every per-record clone is dropped, and so
/// wiped, after its step. The 64-byte padded key block that hmac XORs with ipad/opad on
/// its own stack while keying is not wiped by hmac 0.13, and this crate cannot reach it.
#[derive(Clone)]
pub(crate) enum Chainer {
    Keyed(HmacSha256),
    Unkeyed,
}

impl Chainer {
    /// The keyed chain function. Infallible: the 32-byte key is zero-padded to the
    /// 64-byte block exactly as HMAC itself pads it (RFC 2104), and a full block is a key
    /// of the type's own size, so there is no error path and no fallback to another mode.
    pub(crate) fn keyed(key: &AuditKey) -> Self {
        let mut block = Zeroizing::new([0u8; HMAC_BLOCK]);
        for (dst, src) in block.iter_mut().zip(key.expose_secret()) {
            *dst = *src;
        }
        let block_ref: &[u8; HMAC_BLOCK] = &block;
        Self::Keyed(<HmacSha256 as KeyInit>::new(block_ref.into()))
    }

    pub(crate) const fn mode(&self) -> ChainMode {
        match self {
            Self::Keyed(_) => ChainMode::Keyed,
            Self::Unkeyed => ChainMode::Unkeyed,
        }
    }

    /// The value that precedes record 0: `F(domain ‖ log_id)`.
    pub(crate) fn genesis(&self, log_id: &LogId) -> ChainValue {
        self.compute(&[GENESIS_DOMAIN, log_id.as_bytes()])
    }

    /// `chain[n] = F(chain[n-1] ‖ encode(record[n]))` (formats 1 and 2; [`Chainer::link`]).
    pub(crate) fn step(&self, prev: &ChainValue, encoded_record: &[u8]) -> ChainValue {
        self.compute(&[prev.as_bytes(), encoded_record])
    }

    /// `chain[n]` in construction `c`, given the previous chain value, the record's public
    /// chain value `public[n]` (computed first, by [`public_step`]) and its encoding.
    pub(crate) fn link(
        &self,
        c: Construction,
        prev: &ChainValue,
        public: &ChainValue,
        encoded_record: &[u8],
    ) -> ChainValue {
        match c {
            Construction::TwoPass => self.step(prev, encoded_record),
            Construction::OnePass => self.compute(&[CHAIN_DOMAIN_V3, public.as_bytes()]),
        }
    }

    /// First 16 bytes of `HMAC(key, "hexvault-audit/v1/key-check" ‖ log_id)`; zeros unkeyed.
    pub(crate) fn key_check(&self, log_id: &LogId) -> [u8; 16] {
        match self {
            Self::Unkeyed => [0; 16],
            Self::Keyed(_) => {
                let full = self.compute(&[KEY_CHECK_DOMAIN, log_id.as_bytes()]);
                let mut out = [0u8; 16];
                // `out` is shorter than `full`: zip copies exactly its 16 bytes.
                for (dst, src) in out.iter_mut().zip(full.as_bytes()) {
                    *dst = *src;
                }
                out
            }
        }
    }

    fn compute(&self, parts: &[&[u8]]) -> ChainValue {
        match self {
            Self::Keyed(mac) => {
                // A clone of the keyed state; it is wiped when `finalize` consumes it.
                let mut mac = mac.clone();
                for p in parts {
                    mac.update(p);
                }
                ChainValue(mac.finalize().into_bytes().into())
            }
            Self::Unkeyed => sha256(parts),
        }
    }
}

fn sha256(parts: &[&[u8]]) -> ChainValue {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    ChainValue(h.finalize().into())
}

/// The public chain: SHA-256, recomputable by anyone, signed in checkpoints so that a
/// verifier with only the public key authenticates every record up to the last checkpoint.
///
/// Formats 1 and 2: `public[-1] = SHA-256("hexvault-audit/v2/public-genesis" ‖ log_id)`,
/// `public[n] = SHA-256("hexvault-audit/v2/public-chain" ‖ public[n-1] ‖ u32be len ‖ encode(record[n]))`.
/// Format 3: the same with `"hexvault-audit/v3/public-genesis"` and `"hexvault-audit/v3/public"`.
pub(crate) fn public_genesis(c: Construction, log_id: &LogId) -> ChainValue {
    let domain = match c {
        Construction::TwoPass => PUBLIC_GENESIS_DOMAIN,
        Construction::OnePass => PUBLIC_GENESIS_DOMAIN_V3,
    };
    sha256(&[domain, log_id.as_bytes()])
}

/// One step of the public chain (see [`public_genesis`]). Records are at most
/// `MAX_FRAME_PAYLOAD` bytes, so the length always fits; a longer input (never built by
/// this crate) is refused as an internal error.
pub(crate) fn public_step(
    c: Construction,
    prev: &ChainValue,
    encoded_record: &[u8],
) -> Result<ChainValue> {
    let len = u32::try_from(encoded_record.len())
        .map_err(|_| Error::Internal("record encoding longer than u32::MAX bytes"))?;
    let domain = match c {
        Construction::TwoPass => PUBLIC_STEP_DOMAIN,
        Construction::OnePass => PUBLIC_STEP_DOMAIN_V3,
    };
    Ok(sha256(&[
        domain,
        prev.as_bytes(),
        &len.to_be_bytes(),
        encoded_record,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_key_debug_hides_bytes_and_eq_is_by_value() {
        let k = AuditKey::from_bytes([0xA5; 32]);
        let dbg = format!("{k:?}");
        assert!(
            !dbg.contains("165") && !dbg.to_lowercase().contains("a5"),
            "{dbg}"
        );
        assert_eq!(k, AuditKey::from_bytes([0xA5; 32]));
        assert_ne!(k, AuditKey::from_bytes([0xA4; 32]));
        assert!(AuditKey::from_slice(&[0; 31]).is_err());
    }

    #[test]
    fn keyed_step_is_rfc2104_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        // Our key is 32 bytes, so check against the same construction computed independently:
        // HMAC(K, m) = H((K ^ opad) ‖ H((K ^ ipad) ‖ m)).
        let key = [7u8; 32];
        let c = Chainer::keyed(&AuditKey::from_bytes(key));
        let prev = ChainValue::from_bytes([1; 32]);
        let got = c.step(&prev, b"record");
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, k) in key.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        let inner = Sha256::new()
            .chain_update(ipad)
            .chain_update([1u8; 32])
            .chain_update(b"record")
            .finalize();
        let outer: [u8; 32] = Sha256::new()
            .chain_update(opad)
            .chain_update(inner)
            .finalize()
            .into();
        assert_eq!(got.as_bytes(), &outer);
    }

    #[test]
    fn log_id_display_round_trips() {
        let id = LogId::from_array([0xA5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xFF]);
        let text = id.to_string();
        assert_eq!(text, "a50102030405060708090a0b0c0d0eff");
        assert_eq!(text.parse::<LogId>().unwrap(), id);
        assert_eq!(text.to_uppercase().parse::<LogId>().unwrap(), id);
        for bad in [
            "",
            "a5",
            &text[1..],
            &format!("{text}0"),
            &text.replacen('a', "g", 1),
            "+5010203040506070809 0a0b0c0d0eff",
        ] {
            assert!(bad.parse::<LogId>().is_err(), "{bad}");
        }
        assert_eq!(LogId::from_stored(*id.as_bytes()), id);
    }

    #[test]
    fn genesis_depends_on_log_id_and_key() {
        let a = Chainer::keyed(&AuditKey::from_bytes([1; 32]));
        let b = Chainer::keyed(&AuditKey::from_bytes([2; 32]));
        let id1 = LogId::from_array([1; 16]);
        let id2 = LogId::from_array([2; 16]);
        assert_ne!(a.genesis(&id1), a.genesis(&id2));
        assert_ne!(a.genesis(&id1), b.genesis(&id1));
        assert_ne!(a.genesis(&id1), Chainer::Unkeyed.genesis(&id1));
        assert_ne!(a.key_check(&id1), b.key_check(&id1));
        let two = Construction::TwoPass;
        assert_ne!(public_genesis(two, &id1), public_genesis(two, &id2));
        assert_ne!(
            public_genesis(two, &id1),
            public_genesis(Construction::OnePass, &id1)
        );
    }

    /// The keyed chainer is always keyed: whatever the key, `Chainer::keyed` is HMAC and
    /// never the unkeyed SHA-256 chain (the v1 code fell back to it on a keying error).
    #[test]
    fn keyed_chainer_never_falls_back_to_unkeyed() {
        for key in [[0u8; 32], [0xFF; 32], [7; 32]] {
            let c = Chainer::keyed(&AuditKey::from_bytes(key));
            assert!(matches!(c, Chainer::Keyed(_)));
            assert_eq!(c.mode(), ChainMode::Keyed);
            let id = LogId::from_array([3; 16]);
            assert_ne!(c.genesis(&id), Chainer::Unkeyed.genesis(&id));
            let mac = HmacSha256::new_from_slice(&key).unwrap();
            let Chainer::Keyed(ours) = &c else {
                unreachable!("checked above")
            };
            assert_eq!(
                ours.clone().chain_update(b"x").finalize().into_bytes(),
                mac.chain_update(b"x").finalize().into_bytes(),
                "zero-padding the key block is HMAC's own padding"
            );
        }
    }

    /// Every state the keyed chain holds is wiped on drop: the SHA-256 cores inside HMAC
    /// and the block buffer implement `ZeroizeOnDrop` (compile-time check; fails to build
    /// without the `sha2/zeroize` and `hmac/zeroize` features).
    #[test]
    fn hmac_states_are_zeroize_on_drop() {
        fn wiped<T: ZeroizeOnDrop>() {}
        wiped::<Sha256>();
        wiped::<<Sha256 as hmac::digest::block_api::CoreProxy>::Core>();
        wiped::<
            hmac::digest::block_api::Buffer<
                <HmacSha256 as hmac::digest::block_api::CoreProxy>::Core,
            >,
        >();
    }

    #[test]
    fn public_chain_is_length_prefixed_sha256() {
        let id = LogId::from_array([9; 16]);
        let g = public_genesis(Construction::TwoPass, &id);
        let expect: [u8; 32] = Sha256::new()
            .chain_update(b"hexvault-audit/v2/public-genesis")
            .chain_update([9u8; 16])
            .finalize()
            .into();
        assert_eq!(g.as_bytes(), &expect);
        let s = public_step(Construction::TwoPass, &g, b"rec").unwrap();
        let expect: [u8; 32] = Sha256::new()
            .chain_update(b"hexvault-audit/v2/public-chain")
            .chain_update(g.as_bytes())
            .chain_update(3u32.to_be_bytes())
            .chain_update(b"rec")
            .finalize()
            .into();
        assert_eq!(s.as_bytes(), &expect);
    }

    /// Format 3: the public step with the v3 domains, and the keyed step an HMAC of the
    /// public value alone (23 + 32 bytes: one inner block), checked against independent
    /// SHA-256 / HMAC computations.
    #[test]
    fn one_pass_chain_is_hmac_of_the_public_value() {
        let id = LogId::from_array([9; 16]);
        let c = Construction::OnePass;
        let g = public_genesis(c, &id);
        let expect: [u8; 32] = Sha256::new()
            .chain_update(b"hexvault-audit/v3/public-genesis")
            .chain_update([9u8; 16])
            .finalize()
            .into();
        assert_eq!(g.as_bytes(), &expect);
        let public = public_step(c, &g, b"rec").unwrap();
        let expect: [u8; 32] = Sha256::new()
            .chain_update(b"hexvault-audit/v3/public")
            .chain_update(g.as_bytes())
            .chain_update(3u32.to_be_bytes())
            .chain_update(b"rec")
            .finalize()
            .into();
        assert_eq!(public.as_bytes(), &expect);
        let key = [7u8; 32];
        let chainer = Chainer::keyed(&AuditKey::from_bytes(key));
        let prev = ChainValue::from_bytes([1; 32]);
        let got = chainer.link(c, &prev, &public, b"rec");
        let mac = HmacSha256::new_from_slice(&key)
            .unwrap()
            .chain_update(b"hexvault-audit/v3/chain")
            .chain_update(public.as_bytes())
            .finalize()
            .into_bytes();
        assert_eq!(got.as_bytes()[..], mac[..]);
        assert_eq!(
            CHAIN_DOMAIN_V3.len() + 32,
            55,
            "one SHA-256 block with padding"
        );
        // The previous chain value and the encoding enter only through `public`.
        assert_eq!(
            chainer.link(c, &ChainValue::from_bytes([2; 32]), &public, b"other"),
            got
        );
        assert_ne!(
            chainer.link(c, &prev, &ChainValue::from_bytes([0; 32]), b"rec"),
            got
        );
        let unkeyed: [u8; 32] = Sha256::new()
            .chain_update(b"hexvault-audit/v3/chain")
            .chain_update(public.as_bytes())
            .finalize()
            .into();
        assert_eq!(
            Chainer::Unkeyed.link(c, &prev, &public, b"rec").as_bytes(),
            &unkeyed
        );
        assert_eq!(
            chainer.link(Construction::TwoPass, &prev, &public, b"rec"),
            chainer.step(&prev, b"rec")
        );
    }
}
