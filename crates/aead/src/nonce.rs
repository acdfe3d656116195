//! Nonce construction of `SealingKey`: a per-instance random 96-bit base plus the seal
//! counter, modulo 2^96 (ADR 0020, amended), and the seal counter every key instance keeps.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::Result;
use crate::backend::NONCE_LEN;

/// Seals after which a key reports [`UsageState::RotateSoon`] (2^31).
pub const SEAL_WARNING_THRESHOLD: u64 = 1 << 31;
/// Seals after which a key refuses to seal (2^32): rotate before this.
pub const SEAL_LIMIT: u64 = 1 << 32;

/// The nonce space: nonces are integers modulo 2^96, written big-endian in 12 bytes.
const NONCE_MODULUS_BITS: u32 = 96;

/// The exact seal count of one key instance, refusing past [`SEAL_LIMIT`].
///
/// One atomic: threads sharing the key each receive a distinct count without a lock. The
/// count never wraps: past [`SEAL_LIMIT`] no value is handed out.
pub(crate) struct SealCounter(AtomicU64);

impl SealCounter {
    /// A counter starting at `start` (0 outside tests).
    pub(crate) const fn starting_at(start: u64) -> Self {
        Self(AtomicU64::new(start))
    }

    /// Takes the next count, or `None` once [`SEAL_LIMIT`] counts have been handed out.
    #[inline]
    pub(crate) fn take(&self) -> Option<u32> {
        // Relaxed is enough: read-modify-write operations on one atomic are totally
        // ordered, so no two callers ever receive the same counter value.
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        if let Ok(v) = u32::try_from(n) {
            Some(v)
        } else {
            // Spent. Pull the counter back to the limit so it can never wrap.
            self.0.store(SEAL_LIMIT, Ordering::Relaxed);
            None
        }
    }

    /// How many counts were handed out (exact, capped at [`SEAL_LIMIT`]).
    pub(crate) fn used(&self) -> u64 {
        self.0.load(Ordering::Relaxed).min(SEAL_LIMIT)
    }
}

/// Hands out the 96-bit nonces of one key instance: `(base + counter) mod 2^96`, big-endian.
///
/// The base is drawn once from the OS CSPRNG (all 96 bits); the counter is a [`SealCounter`],
/// so it is also the exact count of seals. Nonces are unique within one instance (at most
/// 2^32 of them, far below 2^96). Two instances of one key repeat a nonce only if their
/// ranges `[base, base + q)` overlap: for `k` instances sealing `Q` messages in all, below
/// `k·Q / 2^96` — `k^2 / 2^96` when every instance seals once (ADR 0020).
pub(crate) struct NonceSequence {
    base: u128,
    counter: SealCounter,
}

impl NonceSequence {
    /// A new sequence with a fresh random 96-bit base and the counter at 0.
    pub(crate) fn new() -> Result<Self> {
        let mut base = [0u8; NONCE_LEN];
        crate::rng::fill(&mut base)?;
        Ok(Self {
            base: from_be_96(&base),
            counter: SealCounter::starting_at(0),
        })
    }

    /// A sequence with a chosen base and counter, for tests of the limits and of
    /// cross-backend equality. Never compiled outside tests.
    #[cfg(test)]
    pub(crate) const fn with_state(base: [u8; NONCE_LEN], counter: u64) -> Self {
        Self {
            base: from_be_96(&base),
            counter: SealCounter::starting_at(counter),
        }
    }

    /// The next nonce, or `None` once [`SEAL_LIMIT`] nonces have been handed out.
    #[inline]
    pub(crate) fn next(&self) -> Option<[u8; NONCE_LEN]> {
        let n = self.counter.take()?;
        let value = self.base.wrapping_add(u128::from(n)) & ((1u128 << NONCE_MODULUS_BITS) - 1);
        // The low 12 bytes of the 16-byte big-endian form (the value is below 2^96), as two
        // whole words rather than byte by byte (a byte loop here stalled the wider loads
        // that read the nonce back).
        // `value < 2^96`, so `value >> 64` fits 32 bits; both casts keep the low bits.
        let high = (value >> 64) as u32;
        let low = value as u64;
        let mut nonce = [0u8; NONCE_LEN];
        let (h, l) = nonce.split_at_mut(4);
        h.copy_from_slice(&high.to_be_bytes());
        l.copy_from_slice(&low.to_be_bytes());
        Some(nonce)
    }

    /// How many nonces were handed out (exact, capped at [`SEAL_LIMIT`]).
    pub(crate) fn used(&self) -> u64 {
        self.counter.used()
    }
}

/// The integer a 12-byte big-endian nonce encodes.
const fn from_be_96(bytes: &[u8; NONCE_LEN]) -> u128 {
    let [a, b, c, d, e, f, g, h, i, j, k, l] = *bytes;
    u128::from_be_bytes([0, 0, 0, 0, a, b, c, d, e, f, g, h, i, j, k, l])
}

/// How close a key is to its sealing limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UsageState {
    /// Fewer than 2^31 seals.
    Normal,
    /// At least 2^31 seals: rotate soon (the warning state).
    RotateSoon,
    /// 2^32 seals: sealing is refused with [`Error::KeyExhausted`](crate::Error::KeyExhausted).
    Exhausted,
}

/// The seal count of one key instance and the state it implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyUsage {
    sealed: u64,
}

impl KeyUsage {
    pub(crate) const fn new(sealed: u64) -> Self {
        Self { sealed }
    }

    /// Exact number of seals performed by this key instance (at most [`SEAL_LIMIT`]).
    #[must_use]
    pub const fn sealed(&self) -> u64 {
        self.sealed
    }

    /// Seals left before the key refuses.
    #[must_use]
    pub const fn remaining(&self) -> u64 {
        SEAL_LIMIT.saturating_sub(self.sealed)
    }

    /// Normal, rotate soon (from 2^31) or exhausted (at 2^32).
    #[must_use]
    pub const fn state(&self) -> UsageState {
        if self.sealed >= SEAL_LIMIT {
            UsageState::Exhausted
        } else if self.sealed >= SEAL_WARNING_THRESHOLD {
            UsageState::RotateSoon
        } else {
            UsageState::Normal
        }
    }
}
