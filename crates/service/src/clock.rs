//! `Clock`: the time source of the derived-key cache, injectable so expiry can be tested.

use std::time::Instant;

/// A monotonic time source for the derived-key cache's time to live.
///
/// The service uses [`SystemClock`] unless another clock is given to
/// [`crate::VaultServiceBuilder::clock`]. A clock must never go backwards; an
/// implementation that does only makes entries look younger, never returns an entry
/// past a TTL measured on a correct clock later. Implementations are called on the
/// service thread, once per cache lookup or insertion.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The operating system's monotonic clock ([`Instant::now`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}
