//! hexvault-derivation: derivation paths, SLIP-0010 ed25519 and BIP-32 secp256k1 HD keys.
//!
//! What this crate owns:
//! - [`ChildNumber`] and [`DerivationPath`]: validated indices (below 2^31, hardened flag)
//!   and the `m/74'/2'/0'/0'` text form, parsed strictly and printed canonically;
//! - [`PATHS`]: the named paths of hexvault's keys under `m/74'/2'`;
//! - [`ed25519`]: SLIP-0010 ed25519 (hardened only) — the vault's own keys;
//! - `secp256k1` (feature `secp256k1`, off by default): BIP-32 with private and public
//!   derivation and xprv/xpub import/export.
//!
//! Invariants:
//! - a `DerivationPath` has at most 255 steps and every step is a valid child number;
//!   a path that displays as `s` parses back from `s` to the same path;
//! - extended private keys and chain codes zeroize on drop, are not `Clone`, and their
//!   `Debug` shows no key or chain code byte;
//! - every malformed input (path text, seed length, extended key) is an [`Error`], never a
//!   panic; BIP-32's invalid-child case is [`Error::InvalidChildKey`];
//! - seeds come in as bytes (16 to 64 of them): this crate never sees a mnemonic.
#![doc = include_str!("../README.md")]

extern crate alloc;

mod common;
pub mod ed25519;
mod error;
mod path;
mod paths;
#[cfg(feature = "secp256k1")]
pub mod secp256k1;

pub use common::{ChainCode, MAX_SEED_LEN, MIN_SEED_LEN};
pub use error::{Error, KeyKind, PathErrorKind, Result};
pub use path::{ChildNumber, DerivationPath, MAX_DEPTH};
pub use paths::PATHS;
