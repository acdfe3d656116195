//! Unlock with SLIP-0039 shares handed in one at a time: configuration, progress, and the
//! partial set the service thread holds (ADR 0067).

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hexvault_mnemonic::{Language, Seed};
use hexvault_shares::Recovery;
use serde::{Deserialize, Serialize};

use crate::{Clock, Error, Result};

/// How a recovered SLIP-0039 master secret becomes the seed (ADR 0066).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ShareSeed {
    /// SLIP-0039: the master secret is the BIP-32 seed; the passphrase given with the
    /// completing share is the SLIP-0039 passphrase. Shares of Trezor and other SLIP-0039
    /// wallets are of this kind.
    #[default]
    Slip39,
    /// The master secret is the entropy of an English BIP-39 phrase (what `hexvault shares
    /// split` makes, with SLIP-0039 passphrase ""; it splits only English phrases, and
    /// `hexvault_shares::MasterSecret::from_mnemonic` refuses others); the seed is that
    /// English phrase's BIP-39 seed under the passphrase given with the completing share, so
    /// the vault unlocks exactly as `unlock(phrase, passphrase)` would. The shares do not
    /// record a word list: shares another tool made from the entropy of a phrase in another
    /// language give the English phrase's seed, another vault.
    Bip39Entropy,
}

/// Share unlock, as configured with [`crate::VaultServiceBuilder::shares`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct SharesConfig {
    seed: ShareSeed,
    timeout: Duration,
    max_iteration_exponent: u8,
}

impl SharesConfig {
    /// The longest a partial set is held by default: ten minutes from its first share.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

    /// The largest iteration exponent read by default: 10000 x 2^5 PBKDF2 iterations, tens
    /// of milliseconds of the service thread. `hexvault shares split` writes exponent 1
    /// unless told otherwise.
    pub const DEFAULT_MAX_ITERATION_EXPONENT: u8 = 5;

    /// Shares read as `seed`, a partial set dropped `timeout` after its first share, shares
    /// of an iteration exponent up to [`SharesConfig::DEFAULT_MAX_ITERATION_EXPONENT`].
    pub const fn new(seed: ShareSeed, timeout: Duration) -> Self {
        Self {
            seed,
            timeout,
            max_iteration_exponent: Self::DEFAULT_MAX_ITERATION_EXPONENT,
        }
    }

    /// Reads shares of an iteration exponent up to `exponent`, refusing larger ones when
    /// they are handed in (a share can declare 0 to 15, so any `exponent` of 15 or more
    /// accepts them all). The decryption of a completed set runs 10000 x 2^e
    /// PBKDF2 iterations on the service thread, which answers no other request meanwhile,
    /// and a 1-of-1 share has no digest (SLIP-0039): anyone can write one that completes a
    /// set on its own and declares exponent 15 (about a minute of work). Raise the bound
    /// only for backups made with a larger exponent.
    pub const fn with_max_iteration_exponent(mut self, exponent: u8) -> Self {
        self.max_iteration_exponent = exponent;
        self
    }

    /// The largest iteration exponent read.
    #[must_use]
    pub const fn max_iteration_exponent(&self) -> u8 {
        self.max_iteration_exponent
    }

    /// How the master secret becomes the seed.
    #[must_use]
    pub const fn seed(&self) -> ShareSeed {
        self.seed
    }

    /// How long a partial set is held after its first share.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl Default for SharesConfig {
    fn default() -> Self {
        Self::new(ShareSeed::Slip39, Self::DEFAULT_TIMEOUT)
    }
}

/// The answer to a share: how far the set is, and whether it unlocked the vault.
///
/// `have` / `need` count shares for a backup of one group ("2 of 3"), and complete groups
/// for a backup of several; `groups` gives every group shares were handed in for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShareProgress {
    /// Shares held (one group) or complete groups (several).
    pub have: u8,
    /// Shares needed (one group) or the group threshold (several).
    pub need: u8,
    /// Per group (1-based number): shares held and needed.
    pub groups: Vec<GroupProgress>,
    /// Whether this share completed the set and the vault is now unlocked (the partial set
    /// is then wiped).
    pub unlocked: bool,
}

/// One group's part of a [`ShareProgress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupProgress {
    /// 1-based group number.
    pub group: u8,
    /// Shares held.
    pub have: u8,
    /// The group's member threshold.
    pub need: u8,
}

impl ShareProgress {
    fn from_recovery(progress: &hexvault_shares::Progress, unlocked: bool) -> Self {
        let groups: Vec<GroupProgress> = progress
            .groups
            .iter()
            .map(|g| GroupProgress {
                group: g.group,
                have: g.have,
                need: g.need,
            })
            .collect();
        let (have, need) = match (progress.group_threshold, groups.as_slice()) {
            (1, [only]) => (only.have, only.need),
            _ => (progress.groups_complete, progress.group_threshold),
        };
        Self {
            have,
            need,
            groups,
            unlocked,
        }
    }
}

impl fmt::Display for ShareProgress {
    /// `2 of 3`, or `group 1: 2 of 2, group 3: 1 of 3 (1 of 2 groups)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.groups.as_slice()
            && self.need == only.need
            && self.have == only.have
        {
            return write!(f, "{} of {}", self.have, self.need);
        }
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "group {}: {} of {}", g.group, g.have, g.need)?;
        }
        write!(f, " ({} of {} groups)", self.have, self.need)
    }
}

/// The partial set on the service thread: the shares so far and when the first came.
pub(crate) struct PartialShares {
    config: SharesConfig,
    clock: Arc<dyn Clock>,
    recovery: Recovery,
    started: Option<Instant>,
}

impl PartialShares {
    pub(crate) fn new(config: SharesConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            recovery: Recovery::new(),
            started: None,
        }
    }

    /// Drops (zeroizes) every share held.
    pub(crate) fn clear(&mut self) {
        self.recovery.clear();
        self.started = None;
    }

    /// Drops the partial set if it is older than the timeout; whether it did.
    pub(crate) fn expire(&mut self) -> bool {
        match self.started {
            Some(started)
                if self.clock.now().saturating_duration_since(started) >= self.config.timeout =>
            {
                self.clear();
                true
            }
            _ => false,
        }
    }

    /// How long until the partial set expires (None when there is none).
    pub(crate) fn until_expiry(&self) -> Option<Duration> {
        let started = self.started?;
        let age = self.clock.now().saturating_duration_since(started);
        Some(self.config.timeout.saturating_sub(age))
    }

    /// Adds one share; on completion returns the seed (the partial set is then wiped). Any
    /// error wipes the partial set too.
    pub(crate) fn submit(
        &mut self,
        text: &str,
        passphrase: &str,
    ) -> Result<(ShareProgress, Option<Seed>)> {
        self.expire();
        match self.try_submit(text, passphrase) {
            Ok(done) => Ok(done),
            Err(e) => {
                self.clear();
                Err(e)
            }
        }
    }

    fn try_submit(
        &mut self,
        text: &str,
        passphrase: &str,
    ) -> Result<(ShareProgress, Option<Seed>)> {
        let share = hexvault_shares::Share::parse(text)?;
        let exponent = share.iteration_exponent();
        if exponent > self.config.max_iteration_exponent {
            return Err(Error::InvalidShare {
                reason: format!(
                    "the share asks for 10000 x 2^{exponent} PBKDF2 iterations (iteration \
                     exponent {exponent}); this service reads shares up to exponent {} \
                     (SharesConfig::with_max_iteration_exponent), since the work runs on the \
                     service thread",
                    self.config.max_iteration_exponent
                ),
            });
        }
        let progress = self.recovery.add(share)?;
        if self.started.is_none() {
            self.started = Some(self.clock.now());
        }
        if !progress.is_complete() {
            return Ok((ShareProgress::from_recovery(&progress, false), None));
        }
        let seed = match self.config.seed {
            ShareSeed::Slip39 => self.recovery.recover(passphrase)?.to_seed()?,
            ShareSeed::Bip39Entropy => self
                .recovery
                .recover("")?
                .to_mnemonic(Language::English)?
                .to_seed(passphrase),
        };
        self.clear();
        Ok((ShareProgress::from_recovery(&progress, true), Some(seed)))
    }
}

impl From<hexvault_shares::Error> for Error {
    fn from(e: hexvault_shares::Error) -> Self {
        use hexvault_shares::Error as S;
        let reason = match e.root() {
            // The suggestion is very likely a word of the secret share: not in a response
            // that may be logged.
            S::UnknownWord { position, .. } => format!(
                "word {position} is not in the SLIP-0039 word list: check its spelling against \
                 the share"
            ),
            other => other.to_string(),
        };
        Self::InvalidShare { reason }
    }
}
