//! `hexvault-cells`: the vault, its partitions and cells, and the three cascading layers
//! (rest, access, session) that are separate keys, not API gates.
#![doc = include_str!("../README.md")]
//!
//! # What this crate owns
//!
//! * The key hierarchy `vault master → partition → cell (key version) → layer`, each step
//!   HKDF-SHA256 with the injective `info` encoding; layer 1 also mixes the policy secret a
//!   [`TokenResolver`] returns into the HKDF input key material, layer 2 the random key of a
//!   [`Session`]. Layer keys and their key schedules are cached per (partition, cell, layer,
//!   versions, policy) in a bounded cache.
//! * The cell blob format (docs/formats.md, "Cell blob"): one header, authenticated whole by
//!   every layer (its names and numbers as associated data, its commitments and nonces by
//!   the commitment check and GCM: ADR 0090), with a 32-byte key commitment per layer
//!   checked before decryption. Format 1 blobs are still read.
//! * [`Cell::seal`] and [`Cell::open`], rotation and [`Cell::reseal`], declared routes and
//!   [`Vault::transfer`], and the audit records of opens at layers 1 and 2, denials,
//!   rotations, sessions and transfers.
//! * Feature `compression`: `Cell::seal_compressed` (LZ4 through the envelope crate,
//!   opt-in per call; the blob length then depends on the content, see its docs).
//! * Feature `rustcrypto`: the pure-Rust AES-GCM backend, whose key objects wipe the
//!   schedule they own when dropped, e.g. when a cached key is evicted
//!   ([`VaultOptions::backend`]); copies a move of a key left behind are not reachable.
//!
//! # Invariants
//!
//! * Nothing public returns key material, and the only public call that returns plaintext is
//!   [`Cell::open`] (with every layer's credential). Key types, layer functions and HKDF
//!   outputs are private.
//! * No public call seals or opens below a blob's top layer: sealing at layer N applies
//!   0..=N, opening peels N..=0.
//! * Data moves between cells only through a traversal ([`Vault::traverse`],
//!   [`Vault::traverse_batch`], [`Vault::transfer`]) along a declared route; each appends one
//!   record per blob (traverse on success, denied with the error class on failure) and
//!   returns a new blob only once its record is in the log (ADR 0053 and its amendment).
//! * A denied open, seal or transfer is recorded in the audit log, not only returned.
//! * Every record but a denial is made durable (`AuditLog::flush`) before the operation it
//!   records returns, whatever durability the log was given: under group commit a crash
//!   can lose only denial records, never the record of a result handed out.
//!
//! # What cannot be reached (compile-fail tests)
//!
//! Layer keys and their type are private:
//! ```compile_fail
//! use hexvault_cells::keys::LayerKey;
//! ```
//! The derivation functions of the key tree are private:
//! ```compile_fail
//! let master = hexvault_keys::VaultMasterKey::generate().unwrap();
//! let p = hexvault_cells::PartitionId::new("p").unwrap();
//! let c = hexvault_cells::CellId::new("c").unwrap();
//! let _ = hexvault_cells::keys::cell_key(&master, &p, &c, 1);
//! ```
//! A cell's raw seal and open (one layer, no credential check, no audit) live behind a
//! private field. Each example below only names the item, so that it fails for privacy
//! alone (of the item, or of the private types its signature takes: `reencrypt` and
//! `cross` could not be named from outside even if they were `pub`), never for its
//! arguments; stable rustdoc does not check the error code given:
//! ```compile_fail,E0616
//! fn peel(cell: &hexvault_cells::Cell) {
//!     let _ = &cell.inner;
//! }
//! ```
//! The re-encryption step of a transfer cannot be called without its route check and audit
//! record:
//! ```compile_fail,E0624
//! let _ = hexvault_cells::Vault::reencrypt;
//! ```
//! Nor can one crossing of a traversal, which returns the new blob beside its unappended
//! record:
//! ```compile_fail,E0624
//! let _ = hexvault_cells::Vault::cross;
//! ```
//! A [`Plaintext`]'s buffer is reachable only through `expose_secret`:
//! ```compile_fail
//! fn steal(p: hexvault_cells::Plaintext) -> Vec<u8> { p.0.to_vec() }
//! ```

mod blob;
#[cfg(test)]
mod commitment_tests;
mod error;
#[cfg(test)]
mod format_tests;
mod ids;
mod keys;
mod policy;
mod replay;
mod session;
mod vault;

pub use blob::{FORMAT_VERSION, MAGIC, READ_FORMAT_VERSIONS, sealed_payload_len};
pub use error::{Error, Result};
pub use ids::{ActorId, CellId, Layer, MAX_ID_LEN, ObjectId, PartitionId, PolicyId, RouteId};
pub use policy::{AccessToken, Credentials, PolicyContext, PolicySecret, TokenResolver};
pub use replay::RecordedVersions;
pub use session::{SESSION_ID_LEN, Session, SessionExport};
pub use vault::{
    Cell, DEFAULT_CACHE_CAPACITY, Partition, Plaintext, RouteLayers, Vault, VaultOptions,
};

pub use hexvault_aead::Backend;
pub use hexvault_keys::VaultMasterKey;
