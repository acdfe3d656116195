//! The two-level scheme: splitting a master secret into groups of member shares, and
//! recovering it from a set of shares, at once ([`combine`]) or one share at a time
//! ([`Recovery`]).

use std::collections::BTreeMap;

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::cipher;
use crate::shamir::{self, Point};
use crate::share::{Header, Share};
use crate::{Error, MasterSecret, Parameter, Result};

/// The highest iteration exponent the share format carries (4 bits).
pub const MAX_ITERATION_EXPONENT: u8 = 15;
/// The iteration exponent used unless another is asked for: 20000 PBKDF2 iterations, the
/// reference implementation's default.
pub const DEFAULT_ITERATION_EXPONENT: u8 = 1;
/// The most groups, and the most members of a group.
pub const MAX_SHARE_COUNT: u8 = 16;

/// One group of a split: `threshold` of its `count` member shares recover the group share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSpec {
    /// Member shares needed (1 to `count`; 1 only with `count` 1).
    pub threshold: u8,
    /// Member shares made (1 to 16).
    pub count: u8,
}

/// How to split: the groups, how many of them are needed, and the format options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct SplitConfig {
    group_threshold: u8,
    groups: Vec<GroupSpec>,
    iteration_exponent: u8,
    extendable: bool,
}

impl SplitConfig {
    /// A single group: any `threshold` of `count` shares recover the secret (SLIP-0039's
    /// recommended form of a single-level scheme).
    pub fn single(threshold: u8, count: u8) -> Self {
        Self::groups(1, vec![GroupSpec { threshold, count }])
    }

    /// `group_threshold` of the `groups` must be recovered, each from `threshold` of its
    /// `count` member shares.
    pub fn groups(group_threshold: u8, groups: Vec<GroupSpec>) -> Self {
        Self {
            group_threshold,
            groups,
            iteration_exponent: DEFAULT_ITERATION_EXPONENT,
            extendable: false,
        }
    }

    /// The iteration exponent e (0 to 15): 10000 x 2^e PBKDF2-HMAC-SHA256 iterations
    /// protect the passphrase, at split and at every recovery.
    pub const fn iteration_exponent(mut self, exponent: u8) -> Self {
        self.iteration_exponent = exponent;
        self
    }

    /// Whether the backup is extendable (default `false`: shares every SLIP-0039
    /// implementation reads, including those that predate the flag).
    pub const fn extendable(mut self, extendable: bool) -> Self {
        self.extendable = extendable;
        self
    }

    /// The groups.
    #[must_use]
    pub fn group_specs(&self) -> &[GroupSpec] {
        &self.groups
    }

    /// Checks the scheme as [`split`] does first, without a secret: a caller can refuse an
    /// invalid one before reading the secret.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScheme`] saying what is out of range; [`Error::BadIterationExponent`].
    pub fn check(&self) -> Result<()> {
        let invalid = |reason| Err(Error::InvalidScheme { reason });
        let group_count = self.groups.len();
        if group_count == 0 || group_count > usize::from(MAX_SHARE_COUNT) {
            return invalid("give 1 to 16 groups");
        }
        if self.group_threshold == 0 || usize::from(self.group_threshold) > group_count {
            return invalid("the group threshold is 1 to the number of groups");
        }
        for group in &self.groups {
            if group.count == 0 || group.count > MAX_SHARE_COUNT {
                return invalid("a group has 1 to 16 shares");
            }
            if group.threshold == 0 || group.threshold > group.count {
                return invalid("a group's threshold is 1 to its number of shares");
            }
            if group.threshold == 1 && group.count > 1 {
                return invalid(
                    "a group with threshold 1 has one share (SLIP-0039: copies of it would differ only in their member number); make one share and copy it",
                );
            }
        }
        if self.iteration_exponent > MAX_ITERATION_EXPONENT {
            return Err(Error::BadIterationExponent {
                exponent: self.iteration_exponent,
            });
        }
        Ok(())
    }
}

/// Splits `secret` under `passphrase` (printable ASCII, "" for none) into the groups of
/// `config`: one `Vec<Share>` per group, in group order, members in member order.
///
/// # Errors
///
/// [`Error::InvalidScheme`], [`Error::BadIterationExponent`], [`Error::InvalidPassphrase`],
/// [`Error::Rng`].
pub fn split(
    secret: &MasterSecret,
    passphrase: &str,
    config: &SplitConfig,
) -> Result<Vec<Vec<Share>>> {
    config.check()?;
    cipher::check_passphrase(passphrase)?;
    let rng = SystemRandom::new();
    let mut id_bytes = [0_u8; 2];
    rng.fill(&mut id_bytes).map_err(|_| Error::Rng)?;
    let identifier = u16::from_be_bytes(id_bytes) & 0x7FFF;
    let encrypted = cipher::encrypt(
        secret.expose_secret(),
        passphrase,
        config.iteration_exponent,
        identifier,
        config.extendable,
    )?;
    let group_count = u8::try_from(config.groups.len()).map_err(|_| Error::InvalidScheme {
        reason: "give 1 to 16 groups",
    })?;
    let group_shares = shamir::split_secret(&rng, config.group_threshold, group_count, &encrypted)?;
    let mut out = Vec::with_capacity(config.groups.len());
    for ((group_index, spec), group_share) in (0_u8..).zip(&config.groups).zip(&group_shares) {
        let members = shamir::split_secret(&rng, spec.threshold, spec.count, group_share)?;
        let shares = (0_u8..)
            .zip(members)
            .map(|(member_index, value)| {
                Share::new(
                    Header {
                        identifier,
                        extendable: config.extendable,
                        iteration_exponent: config.iteration_exponent,
                        group_index,
                        group_threshold: config.group_threshold,
                        group_count,
                        member_index,
                        member_threshold: spec.threshold,
                    },
                    value,
                )
            })
            .collect();
        out.push(shares);
    }
    Ok(out)
}

/// Recovers the master secret from `shares` under `passphrase`, as SLIP-0039 §Combining
/// the shares: exactly the group threshold's number of groups, each with exactly its
/// member threshold's number of shares.
///
/// A wrong passphrase is not detected (SLIP-0039 has no way to): it gives another master
/// secret, by design.
///
/// # Errors
///
/// [`Error::NoShares`]; [`Error::Mismatch`] and [`Error::DuplicateMember`] naming the
/// share; [`Error::TooFewGroups`], [`Error::TooManyGroups`], [`Error::TooFewShares`],
/// [`Error::TooManyShares`]; [`Error::InvalidDigest`]; [`Error::InvalidPassphrase`].
pub fn combine(shares: &[Share], passphrase: &str) -> Result<MasterSecret> {
    cipher::check_passphrase(passphrase)?;
    let first = shares.first().ok_or(Error::NoShares)?.header();
    let groups = group_shares(shares)?;
    let have = u8::try_from(groups.len()).unwrap_or(u8::MAX);
    if have < first.group_threshold {
        return Err(Error::TooFewGroups {
            have,
            need: first.group_threshold,
        });
    }
    if have > first.group_threshold {
        return Err(Error::TooManyGroups {
            have,
            need: first.group_threshold,
        });
    }
    for (&group_index, members) in &groups {
        let need = members.first().map_or(0, |s| s.header().member_threshold);
        let count = u8::try_from(members.len()).unwrap_or(u8::MAX);
        let group = group_index + 1;
        if count < need {
            return Err(Error::TooFewShares {
                group,
                have: count,
                need,
            });
        }
        if count > need {
            return Err(Error::TooManyShares {
                group,
                have: count,
                need,
            });
        }
    }
    recover(first, &groups, passphrase)
}

/// Parses every text of `texts` as a share and [`combine`]s them; a parse error names its
/// share ([`Error::InShare`], 1-based).
///
/// # Errors
///
/// [`Error::InShare`] around a [`Share::parse`] error, and as [`combine`].
pub fn combine_mnemonics<S: AsRef<str>>(texts: &[S], passphrase: &str) -> Result<MasterSecret> {
    let shares = parse_all(texts)?;
    combine(&shares, passphrase)
}

/// Parses every text as a share, naming the first that fails.
///
/// # Errors
///
/// [`Error::InShare`] around the [`Share::parse`] error of the first bad share.
pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Share>> {
    (1..)
        .zip(texts)
        .map(|(n, t)| Share::parse(t.as_ref()).map_err(|e| e.in_share(n)))
        .collect()
}

/// Checks that `shares` belong to one backup and groups them by group index, refusing
/// mismatched parameters and duplicate members (naming the shares, 1-based).
fn group_shares(shares: &[Share]) -> Result<BTreeMap<u8, Vec<&Share>>> {
    let first = shares.first().ok_or(Error::NoShares)?;
    let mut groups: BTreeMap<u8, Vec<(usize, &Share)>> = BTreeMap::new();
    for (n, share) in (1..).zip(shares) {
        check_same_backup(first, 1, share, n)?;
        let members = groups.entry(share.header().group_index).or_default();
        if let Some(&(m, group_first)) = members.first()
            && group_first.member_threshold() != share.member_threshold()
        {
            return Err(Error::Mismatch {
                share: n,
                first: m,
                parameter: Parameter::MemberThreshold,
            });
        }
        if let Some(&(m, _)) = members.iter().find(|(_, s)| s.member() == share.member()) {
            return Err(Error::DuplicateMember {
                share: n,
                first: m,
                group: share.group(),
                member: share.member(),
            });
        }
        members.push((n, share));
    }
    Ok(groups
        .into_iter()
        .map(|(g, members)| (g, members.into_iter().map(|(_, s)| s).collect()))
        .collect())
}

/// Refuses `share` (number `n`) unless it has the backup-wide parameters of `first`.
fn check_same_backup(first: &Share, first_n: usize, share: &Share, n: usize) -> Result<()> {
    let (a, b) = (first.header(), share.header());
    let checks = [
        (a.identifier == b.identifier, Parameter::Identifier),
        (a.extendable == b.extendable, Parameter::Extendable),
        (
            a.iteration_exponent == b.iteration_exponent,
            Parameter::IterationExponent,
        ),
        (
            a.group_threshold == b.group_threshold,
            Parameter::GroupThreshold,
        ),
        (a.group_count == b.group_count, Parameter::GroupCount),
        (first.value_len() == share.value_len(), Parameter::Length),
    ];
    match checks.iter().find(|(same, _)| !same) {
        Some(&(_, parameter)) => Err(Error::Mismatch {
            share: n,
            first: first_n,
            parameter,
        }),
        None => Ok(()),
    }
}

/// Recovers each group share, then the encrypted master secret, then decrypts it. The
/// groups are complete (each has its member threshold's number of shares) and their
/// number is the group threshold.
fn recover(
    first: Header,
    groups: &BTreeMap<u8, Vec<&Share>>,
    passphrase: &str,
) -> Result<MasterSecret> {
    let mut group_secrets: Vec<(u8, Zeroizing<Vec<u8>>)> = Vec::with_capacity(groups.len());
    for (&group_index, members) in groups {
        let threshold = members.first().map_or(1, |s| s.member_threshold());
        let points: Vec<Point<'_>> = members
            .iter()
            .map(|s| Point {
                x: s.header().member_index,
                y: s.expose_secret(),
            })
            .collect();
        group_secrets.push((group_index, shamir::recover_secret(threshold, &points)?));
    }
    let points: Vec<Point<'_>> = group_secrets
        .iter()
        .map(|(x, y)| Point { x: *x, y })
        .collect();
    let encrypted = shamir::recover_secret(first.group_threshold, &points)?;
    let secret = cipher::decrypt(
        &encrypted,
        passphrase,
        first.iteration_exponent,
        first.identifier,
        first.extendable,
    )?;
    MasterSecret::from_zeroizing(secret)
}

/// How far a [`Recovery`] is: per group, shares held and needed; groups complete and needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The groups shares were given for, in group order.
    pub groups: Vec<GroupProgress>,
    /// Groups with all the shares they need.
    pub groups_complete: u8,
    /// Groups needed (the group threshold); 0 before the first share.
    pub group_threshold: u8,
}

/// One group's part of a [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupProgress {
    /// 1-based group number.
    pub group: u8,
    /// Shares held.
    pub have: u8,
    /// Shares needed (the member threshold).
    pub need: u8,
}

impl Progress {
    /// Whether enough shares are held to recover the secret.
    #[must_use]
    pub const fn is_complete(&self) -> bool {
        self.group_threshold > 0 && self.groups_complete >= self.group_threshold
    }
}

impl core::fmt::Display for Progress {
    /// `2 of 3` for a single group; `group 1: 2 of 2, group 3: 1 of 3 (1 of 2 groups)`
    /// otherwise.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match (self.group_threshold, self.groups.as_slice()) {
            (0, _) => f.write_str("no share yet"),
            (1, [only]) => write!(f, "{} of {}", only.have, only.need),
            _ => {
                for (i, g) in self.groups.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "group {}: {} of {}", g.group, g.have, g.need)?;
                }
                write!(
                    f,
                    " ({} of {} groups)",
                    self.groups_complete, self.group_threshold
                )
            }
        }
    }
}

/// Recovery one share at a time (as an operator hands shares in one by one).
///
/// Each [`add`](Self::add) checks the share against those already held (same backup, no
/// duplicate member, no share beyond its group's threshold) and reports the
/// [`Progress`]. Once the group threshold's number of groups are complete,
/// [`recover`](Self::recover) returns the master secret from exactly those groups. The
/// shares held are zeroized on drop and by [`clear`](Self::clear).
#[derive(Debug, Default)]
pub struct Recovery {
    shares: Vec<Share>,
}

impl Recovery {
    /// An empty recovery.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `share`, or refuses it (then nothing changes and the share is dropped,
    /// zeroized). The share is numbered by its arrival (1-based) in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Mismatch`], [`Error::DuplicateMember`], [`Error::TooManyShares`] (a group
    /// already complete), [`Error::TooManyGroups`] (the group threshold's number of groups
    /// already complete).
    pub fn add(&mut self, share: Share) -> Result<Progress> {
        let n = self.shares.len() + 1;
        if let Some(first) = self.shares.first() {
            check_same_backup(first, 1, &share, n)?;
        }
        let progress = self.progress();
        if progress.is_complete() {
            return Err(Error::TooManyGroups {
                have: progress.groups_complete.saturating_add(1),
                need: progress.group_threshold,
            });
        }
        for (m, held) in (1..).zip(&self.shares) {
            if held.group() != share.group() {
                continue;
            }
            if held.member_threshold() != share.member_threshold() {
                return Err(Error::Mismatch {
                    share: n,
                    first: m,
                    parameter: Parameter::MemberThreshold,
                });
            }
            if held.member() == share.member() {
                return Err(Error::DuplicateMember {
                    share: n,
                    first: m,
                    group: share.group(),
                    member: share.member(),
                });
            }
        }
        if let Some(g) = progress.groups.iter().find(|g| g.group == share.group())
            && g.have >= g.need
        {
            return Err(Error::TooManyShares {
                group: g.group,
                have: g.have.saturating_add(1),
                need: g.need,
            });
        }
        self.shares.push(share);
        Ok(self.progress())
    }

    /// Parses `text` as a share and [`add`](Self::add)s it.
    ///
    /// # Errors
    ///
    /// As [`Share::parse`] and [`add`](Self::add).
    pub fn add_text(&mut self, text: &str) -> Result<Progress> {
        self.add(Share::parse(text)?)
    }

    /// The progress so far.
    #[must_use]
    pub fn progress(&self) -> Progress {
        let mut groups: BTreeMap<u8, GroupProgress> = BTreeMap::new();
        for share in &self.shares {
            let entry = groups.entry(share.group()).or_insert(GroupProgress {
                group: share.group(),
                have: 0,
                need: share.member_threshold(),
            });
            entry.have = entry.have.saturating_add(1);
        }
        let groups: Vec<GroupProgress> = groups.into_values().collect();
        let complete = groups.iter().filter(|g| g.have >= g.need).count();
        Progress {
            groups_complete: u8::try_from(complete).unwrap_or(u8::MAX),
            group_threshold: self.shares.first().map_or(0, Share::group_threshold),
            groups,
        }
    }

    /// Shares held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shares.len()
    }

    /// Whether no share is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }

    /// Drops (and so zeroizes) every share held.
    pub fn clear(&mut self) {
        self.shares.clear();
    }

    /// The master secret, from the complete groups (the first group-threshold's number of
    /// them, by group number); shares of incomplete groups are not used.
    ///
    /// # Errors
    ///
    /// [`Error::NoShares`]; [`Error::TooFewGroups`] while not complete;
    /// [`Error::InvalidDigest`]; [`Error::InvalidPassphrase`].
    pub fn recover(&self, passphrase: &str) -> Result<MasterSecret> {
        cipher::check_passphrase(passphrase)?;
        let first = self.shares.first().ok_or(Error::NoShares)?.header();
        let progress = self.progress();
        if !progress.is_complete() {
            return Err(Error::TooFewGroups {
                have: progress.groups_complete,
                need: progress.group_threshold,
            });
        }
        let mut groups: BTreeMap<u8, Vec<&Share>> = BTreeMap::new();
        for share in &self.shares {
            groups
                .entry(share.header().group_index)
                .or_default()
                .push(share);
        }
        let complete: BTreeMap<u8, Vec<&Share>> = groups
            .into_iter()
            .filter(|(_, members)| {
                members
                    .first()
                    .is_some_and(|s| members.len() >= usize::from(s.member_threshold()))
            })
            .take(usize::from(first.group_threshold))
            .collect();
        recover(first, &complete, passphrase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            identifier: 7,
            extendable: false,
            iteration_exponent: 0,
            group_index: 0,
            group_threshold: 1,
            group_count: 1,
            member_index: 0,
            member_threshold: 2,
        }
    }

    fn share(header: Header, len: usize) -> Share {
        Share::new(header, Zeroizing::new(vec![header.member_index; len]))
    }

    /// Every backup-wide parameter, changed alone in the second share, is named.
    #[test]
    fn each_mismatched_parameter_is_named() {
        let base = header();
        let second = Header {
            member_index: 1,
            ..base
        };
        let cases: [(Header, usize, Parameter); 7] = [
            (
                Header {
                    identifier: 8,
                    ..second
                },
                16,
                Parameter::Identifier,
            ),
            (
                Header {
                    extendable: true,
                    ..second
                },
                16,
                Parameter::Extendable,
            ),
            (
                Header {
                    iteration_exponent: 1,
                    ..second
                },
                16,
                Parameter::IterationExponent,
            ),
            (
                Header {
                    group_threshold: 2,
                    group_count: 2,
                    ..second
                },
                16,
                Parameter::GroupThreshold,
            ),
            (
                Header {
                    group_count: 2,
                    ..second
                },
                16,
                Parameter::GroupCount,
            ),
            (second, 32, Parameter::Length),
            (
                Header {
                    member_threshold: 3,
                    ..second
                },
                16,
                Parameter::MemberThreshold,
            ),
        ];
        for (other, len, parameter) in cases {
            let set = [share(base, 16), share(other, len)];
            assert_eq!(
                combine(&set, "").unwrap_err(),
                Error::Mismatch {
                    share: 2,
                    first: 1,
                    parameter
                },
                "{parameter}"
            );
            let mut recovery = Recovery::new();
            recovery.add(share(base, 16)).unwrap();
            assert_eq!(
                recovery.add(share(other, len)).unwrap_err(),
                Error::Mismatch {
                    share: 2,
                    first: 1,
                    parameter
                }
            );
            assert_eq!(recovery.len(), 1, "a refused share changes nothing");
        }
    }

    #[test]
    fn group_counts_must_equal_the_group_threshold() {
        let groups = |indices: &[u8]| -> Vec<Share> {
            indices
                .iter()
                .map(|&g| {
                    share(
                        Header {
                            group_index: g,
                            group_threshold: 2,
                            group_count: 3,
                            member_threshold: 1,
                            ..header()
                        },
                        16,
                    )
                })
                .collect()
        };
        assert_eq!(
            combine(&groups(&[0, 1, 2]), "").unwrap_err(),
            Error::TooManyGroups { have: 3, need: 2 }
        );
        assert_eq!(
            combine(&groups(&[2]), "").unwrap_err(),
            Error::TooFewGroups { have: 1, need: 2 }
        );
        let progress = {
            let mut recovery = Recovery::new();
            for s in groups(&[2, 0]) {
                recovery.add(s).unwrap();
            }
            recovery.progress()
        };
        assert!(progress.is_complete());
        assert_eq!(
            progress.to_string(),
            "group 1: 1 of 1, group 3: 1 of 1 (2 of 2 groups)"
        );
    }
}
