//! `hexvault`: the facade over hexvault's crates, re-exported as modules.
//!
//! # What this crate owns
//!
//! Nothing of its own but the joints of the pipeline: it re-exports each primitive crate as a
//! module ([`mnemonic`], [`derivation`], [`aead`], [`envelope`], [`audit`], [`keys`] (the
//! application keys at the fixed paths of [`PATHS`](derivation::PATHS), from
//! `hexvault-keys`), [`cells`] (the vault of partitions, cells and layers), and `service`
//! behind its feature).
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `compression` (default) | LZ4 in the byte envelope and `cells::Cell::seal_compressed`, used only when a caller asks for it per call |
//! | `secp256k1` | BIP-32 secp256k1 derivation and xprv/xpub encoding |
//! | `rustcrypto` | the pure-Rust RustCrypto AES-GCM backend beside ring |
//! | `service` | `hexvault::service`: the key-vault actor that holds the seed and hands out typed keys |
//!
//! A user who needs one primitive depends on that crate alone (`hexvault-mnemonic`,
//! `hexvault-aead`, ...) and compiles nothing else.
//!
//! # Invariants
//!
//! - The facade adds no cryptography and derives no key: the application keys come from
//!   `hexvault-keys` ([`keys`]), each at a path named in [`PATHS`](derivation::PATHS).
//! - Nothing below the facade depends on it (`cargo xtask tidy` enforces this).

pub use hexvault_aead as aead;
pub use hexvault_audit as audit;
pub use hexvault_cells as cells;
pub use hexvault_derivation as derivation;
pub use hexvault_envelope as envelope;
pub use hexvault_keys as keys;
pub use hexvault_mnemonic as mnemonic;
#[cfg(feature = "service")]
pub use hexvault_service as service;
pub use hexvault_shares as shares;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
