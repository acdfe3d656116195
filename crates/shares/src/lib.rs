//! `hexvault-shares`: SLIP-0039 Shamir shares of hexvault's root secret.
//!
//! # What this crate owns
//!
//! - [`MasterSecret`]: the secret that is split (16 to 64 bytes, even; a BIP-39 phrase's
//!   entropy or a SLIP-0039 BIP-32 seed).
//! - [`Share`]: one share mnemonic, parsed (word list, RS1024 checksum, padding,
//!   parameters) and written back ([`Share::to_words`]).
//! - [`split`] with a [`SplitConfig`] (groups, thresholds, iteration exponent,
//!   extendable flag), [`combine`] / [`combine_mnemonics`] for a whole set, and
//!   [`Recovery`] for shares handed in one at a time with their [`Progress`].
//! - [`Error`] (one enum, with [`Parameter`]) and [`Result`].
//!
//! Inside: the 1024-word SLIP-0039 list, the RS1024 checksum, Shamir's scheme over
//! GF(256) with the secret at x = 255 and its HMAC-SHA256 digest share at x = 254, and
//! the four-round Feistel encryption of the master secret with PBKDF2-HMAC-SHA256
//! (`ring`) keyed by the passphrase.
//!
//! # Invariants
//!
//! - Shares written here are SLIP-0039 shares: the 45 published vectors recover through
//!   this crate (tests/vectors.rs), and shares round-trip through their words.
//! - [`MasterSecret`], [`Share`] and [`Recovery`] are zeroized on drop, are not `Clone`,
//!   and their `Debug` prints no secret byte; every intermediate secret buffer is a
//!   `Zeroizing` one.
//! - Errors never contain the words that were given; positions and share numbers are
//!   1-based.
//! - GF(256) arithmetic on share bytes runs without secret-dependent table lookups or
//!   branches; digests are compared in constant time.
//! - Randomness comes only from the operating system (`ring::rand::SystemRandom`).
//! - Every level of sharing whose threshold is 2 or more carries a digest share (SLIP-0039),
//!   checked on recovery: a share value edited on purpose, with its RS1024 checksum
//!   recomputed, is caught by its group's digest when the member threshold is 2 or more, or
//!   by the group-level digest when the group threshold is 2 or more. The thresholds are
//!   those the shares declare (next point): only when both are 1 (a 1-of-1 backup, a 1-of-1
//!   group in a scheme that needs one group, or a header edited to say so) is the share the
//!   encrypted secret itself with no digest: then the checksum catches typing errors, not
//!   such an edit, and another secret comes out (`tests/forged_shares.rs`).
//! - The digest covers the encrypted master secret, not the share header, and SLIP-0039
//!   authenticates no header field: the identifier (part of the decryption's salt unless
//!   the backup is extendable), the extendable flag, the iteration exponent, the group
//!   index, threshold and count, the member index and threshold. Any of them edited the
//!   same way in every share of a set, with the checksums recomputed, passes every check
//!   and decrypts to another secret without an error, as a wrong passphrase does. So one
//!   holder alone can turn their share of any backup into a complete set: a member
//!   threshold and a group threshold edited to 1 make it a 1-of-1 share, which recovers
//!   another secret (never the real one; `tests/forged_shares.rs`). An edit in some shares
//!   only is caught as a mismatch across the set.
#![doc = include_str!("../README.md")]

mod cipher;
mod error;
mod gf256;
mod rs1024;
mod scheme;
mod secret;
mod shamir;
mod share;
mod wordlist;

pub use error::{Error, Parameter, Result};
pub use scheme::{
    DEFAULT_ITERATION_EXPONENT, GroupProgress, GroupSpec, MAX_ITERATION_EXPONENT, MAX_SHARE_COUNT,
    Progress, Recovery, SplitConfig, combine, combine_mnemonics, parse_all, split,
};
pub use secret::{MAX_SECRET_LEN, MIN_SECRET_LEN, MasterSecret};
pub use share::Share;
