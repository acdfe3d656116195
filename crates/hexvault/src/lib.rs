//! `hexvault`: the facade over hexvault's crates: the assembled [`Vault`] and every crate
//! re-exported as a module.
//!
//! # Quick start
//!
//! One phrase is the root of everything: the vault master key, the audit chain key and the
//! audit signer. Seal in cell A, traverse a declared edge to cell B (the plaintext never
//! reaches the caller on the way), open it in B, and verify the audit log with only the
//! public key:
//!
//! ```
//! use hexvault::audit::EventKind;
//! use hexvault::cells::{CellId, Credentials, Layer, ObjectId, PartitionId, RouteId};
//! use hexvault::edges::Connect;
//! use hexvault::{NoAccessTokens, Vault};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon \
//!               abandon abandon about"; // use your own: hexvault::mnemonic::Mnemonic::generate
//! let vault = Vault::from_mnemonic(phrase, "passphrase", NoAccessTokens)?;
//!
//! let a = vault.partition(PartitionId::new("billing")?).cell(CellId::new("inbox")?);
//! let b = vault.partition(PartitionId::new("reporting")?).cell(CellId::new("archive")?);
//! let invoice = ObjectId::new("invoice-42")?;
//! let none = Credentials::none(); // layer 0 (at rest) needs no credential
//!
//! // Seal in A; B cannot open A's blob (and the refusal is audited).
//! let in_a = a.seal(&invoice, b"amount=1200 EUR", Layer::Rest, &none)?;
//! assert!(b.open(&invoice, &in_a, &none).is_err());
//!
//! // Declare the edge data may take, and traverse it: re-encrypted inside, audited.
//! let edge = vault.connect(&a, &b)?;
//! let in_b = edge.traverse(&invoice, &in_a, &none, &none)?;
//! assert_eq!(b.open(&invoice, &in_b, &none)?.expose_secret(), b"amount=1200 EUR");
//!
//! // A route nobody declared is refused, and the refusal is audited too.
//! let nowhere = RouteId::new("billing-to-nowhere")?;
//! assert!(vault.traverse(&nowhere, &invoice, &in_a, &none, None, &none).is_err());
//!
//! // Verified with the audit chain key, then with only the trusted public key and the anchor.
//! let report = vault.verify_audit()?;
//! assert_eq!(report.records, 3);
//! let kinds: Vec<EventKind> = vault.audit_records()?.iter().map(|r| r.event.kind).collect();
//! assert_eq!(kinds, [EventKind::Denied, EventKind::Traverse, EventKind::Denied]);
//! # Ok(())
//! # }
//! ```
//!
//! For an audit log on disk (with its anchor file beside it), build with
//! [`Vault::builder`]`().audit_file(path)`; from the key-vault service's typed capabilities
//! (feature `service`), with `Vault::from_service`. `examples/` holds complete programs:
//! `quickstart.rs`, `multi_tenant.rs` (partitions as tenants) and `rotation.rs`.
//!
//! # What this crate owns
//!
//! The joints of the pipeline: [`Vault`] and [`VaultBuilder`] (ADR 0060) assemble the keys of
//! one root with a cells vault and its audit log, and every primitive crate is re-exported
//! as a module ([`mnemonic`], [`derivation`], [`aead`], [`envelope`], [`audit`], [`keys`] (the
//! application keys at the fixed paths of [`PATHS`](derivation::PATHS), from
//! `hexvault-keys`), [`cells`] (the vault of partitions, cells and layers), [`edges`]
//! (declared edges: [`edges::Connect`] is implemented for the cells vault, so `connect`,
//! `connect_with` and `reseal_edge` work on a [`Vault`] through `Deref`), and `service`
//! behind its feature).
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `compression` (default) | LZ4 in the byte envelope and `cells::Cell::seal_compressed`, used only when a caller asks for it per call |
//! | `secp256k1` | BIP-32 secp256k1 derivation and xprv/xpub encoding (`derivation::secp256k1`) |
//! | `rustcrypto` | the pure-Rust RustCrypto AES-GCM backend beside ring (`aead::Backend::RustCrypto`, for [`VaultBuilder::backend`]) |
//! | `service` | `hexvault::service`: the key-vault actor that holds the seed and hands out typed keys; `Vault::from_service` |
//!
//! A user who needs one primitive depends on that crate alone (`hexvault-mnemonic`,
//! `hexvault-aead`, ...) and compiles nothing else.
//!
//! # Invariants
//!
//! - The facade adds no cryptography and derives no key itself: the application keys come
//!   from `hexvault-keys` ([`keys`]), each at a path named in [`PATHS`](derivation::PATHS),
//!   and the audit chain key from the vault master (`VaultMasterKey::audit_chain_key`).
//! - A [`Vault`]'s audit log is always keyed and signed: no constructor builds one without
//!   its chain key and signer.
//! - Nothing below the facade depends on it (`cargo xtask tidy` enforces this).

mod error;
mod vault;

pub use error::{Error, Result};
pub use vault::{DEFAULT_CHECKPOINT_EVERY, NoAccessTokens, Vault, VaultBuilder};

pub use hexvault_aead as aead;
pub use hexvault_audit as audit;
pub use hexvault_cells as cells;
pub use hexvault_derivation as derivation;
pub use hexvault_edges as edges;
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
