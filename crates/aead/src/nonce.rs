//! Nonce construction: a per-instance random 64-bit prefix plus a 32-bit counter (ADR 0020).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::Result;
use crate::backend::NONCE_LEN;

/// Seals after which a key reports [`UsageState::RotateSoon`] (2^31).
pub const SEAL_WARNING_THRESHOLD: u64 = 1 << 31;
/// Seals after which a key refuses to seal (2^32): rotate before this.
pub const SEAL_LIMIT: u64 = 1 << 32;

/// Length of the random prefix drawn from the OS CSPRNG when a key instance is built.
const PREFIX_LEN: usize = 8;

/// Hands out the 96-bit nonces of one key instance: `prefix (8 bytes) || counter (u32 BE)`.
///
/// The prefix is drawn once from the OS CSPRNG; the counter is one atomic, so threads
/// sharing the key get distinct nonces without a lock, and it is also the exact count of
/// seals. The counter never wraps: past [`SEAL_LIMIT`] no nonce is handed out.
pub(crate) struct NonceSequence {
    prefix: [u8; PREFIX_LEN],
    counter: AtomicU64,
}

impl NonceSequence {
    /// A new sequence with a fresh random prefix and the counter at 0.
    pub(crate) fn new() -> Result<Self> {
        let mut prefix = [0u8; PREFIX_LEN];
        crate::rng::fill(&mut prefix)?;
        Ok(Self {
            prefix,
            counter: AtomicU64::new(0),
        })
    }

    /// A sequence with a chosen prefix and counter, for tests of the limits and of
    /// cross-backend equality. Never compiled outside tests.
    #[cfg(test)]
    pub(crate) const fn with_state(prefix: [u8; PREFIX_LEN], counter: u64) -> Self {
        Self {
            prefix,
            counter: AtomicU64::new(counter),
        }
    }

    /// The next nonce, or `None` once [`SEAL_LIMIT`] nonces have been handed out.
    #[inline]
    pub(crate) fn next(&self) -> Option<[u8; NONCE_LEN]> {
        // Relaxed is enough: read-modify-write operations on one atomic are totally
        // ordered, so no two callers ever receive the same counter value.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let n32 = match u32::try_from(n) {
            Ok(v) => v,
            Err(_) => {
                // Spent. Pull the counter back to the limit so it can never wrap.
                self.counter.store(SEAL_LIMIT, Ordering::Relaxed);
                return None;
            }
        };
        let mut nonce = [0u8; NONCE_LEN];
        let (head, tail) = nonce.split_at_mut(PREFIX_LEN);
        head.copy_from_slice(&self.prefix);
        tail.copy_from_slice(&n32.to_be_bytes());
        Some(nonce)
    }

    /// How many nonces were handed out (exact, capped at [`SEAL_LIMIT`]).
    pub(crate) fn used(&self) -> u64 {
        self.counter.load(Ordering::Relaxed).min(SEAL_LIMIT)
    }
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
