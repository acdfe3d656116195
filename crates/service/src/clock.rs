//! `Clock`: the time source of the derived-key cache, injectable so expiry can be tested.

use std::time::Instant;

/// A monotonic time source for the derived-key cache's time to live.
///
/// The service uses [`SystemClock`] unless another clock is given to
/// [`crate::VaultServiceBuilder::clock`]. A clock must never go backwards: one that does
/// makes entries look younger than they are, and the cache serves them past the TTL
/// (an entry whose insertion instant lies ahead of `now` counts as just inserted).
/// Implementations are called on the service thread, once per cache lookup or insertion.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The operating system's monotonic clock ([`Instant::now`]). It does not advance while
/// the machine is suspended: time spent suspended does not count toward the TTL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}
