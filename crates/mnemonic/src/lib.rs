//! `hexvault-mnemonic`: BIP-39 mnemonics and the 64-byte seed at the root of hexvault's keys.
//!
//! # What this crate owns
//!
//! - [`Mnemonic`]: a checksum-valid BIP-39 phrase in one of the ten wordlists
//!   ([`Language`]), of 12, 15, 18, 21 or 24 words ([`WordCount`]): generated from the
//!   operating system's CSPRNG, parsed (with language detection and precise errors), or
//!   built from entropy.
//! - [`Seed`]: the 64-byte BIP-39 seed, PBKDF2-HMAC-SHA512 (2048 rounds) of the NFKD phrase
//!   with salt `"mnemonic"` + NFKD(passphrase); or a SLIP-0039 master secret of 16 to 64
//!   bytes taken as the BIP-32 seed ([`Seed::from_master_secret`], used by
//!   `hexvault-shares`).
//! - [`Error`] and [`Result`].
//!
//! Wordlists, checksum and entropy/phrase conversion come from the `bip39` crate (built
//! with its `zeroize` feature); the seed's PBKDF2 is `ring`'s (ADR 0010); NFKD is
//! `unicode-normalization`.
//!
//! # Invariants
//!
//! - Every [`Mnemonic`] is valid: its checksum was checked or computed, and its
//!   language is known. There is no unchecked constructor.
//! - [`Mnemonic`] and [`Seed`] are zeroized on drop, are not `Clone`, and their `Debug`
//!   prints no word and no byte. Every copy of a secret this crate makes (normalised
//!   phrase, passphrase and salt, entropy, phrase string) lives in a buffer allocated
//!   once at its final size and zeroized on drop.
//! - Parse errors never contain the words that were given; word positions are 1-based.
//! - Randomness comes only from the operating system (`ring::rand::SystemRandom`).
//! - The seed equals the published Trezor vectors for all ten languages.
#![doc = include_str!("../README.md")]

mod error;
mod hint;
mod language;
mod mnemonic;
mod normalize;
mod seed;

pub use error::{Error, Result};
pub use language::{Language, WordCount};
pub use mnemonic::Mnemonic;
pub use seed::Seed;
