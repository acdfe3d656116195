//! The one OS CSPRNG handle of the crate (ring's `SystemRandom`, i.e. `getrandom(2)`).

use ring::rand::{SecureRandom, SystemRandom};

use crate::{Error, Result};

/// The crate's single RNG handle. `SystemRandom` keeps no state: every call asks the OS,
/// so it stays correct across `fork()`.
static RNG: std::sync::LazyLock<SystemRandom> = std::sync::LazyLock::new(SystemRandom::new);

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    RNG.fill(buf).map_err(|_| Error::Rng)
}
