//! `hexvault-edges`: declared edges between cells, the only way data moves between them.
#![doc = include_str!("../README.md")]
//!
//! # What this crate owns
//!
//! * [`Connect`] (implemented for [`Vault`]): `connect`, `connect_with` an [`EdgeRule`]
//!   (route name, allowed destination layers) and `reseal_edge`, each declaring a route in
//!   the vault and returning its [`Edge`].
//! * [`Edge`]: `traverse` (same layer), `traverse_to` (another layer the rule allows),
//!   `traverse_batch` / `traverse_batch_to` (many blobs, one audit group commit).
//! * [`default_route`] and [`reseal_route`]: the route ids `connect` and `reseal_edge` give
//!   the edges they name, computed over partition and cell ids (for a caller that holds ids,
//!   not cells, and must refuse a name that collides or does not fit before declaring).
//!
//! The cryptographic work and the audit records are done by the cells crate
//! ([`Vault::traverse`], [`Vault::traverse_batch`]); their re-encryption step is private
//! there (compile-fail doctests in `hexvault-cells`), so this crate cannot move data without
//! a declared route and a record either.
//!
//! # Invariants
//!
//! * A traversal takes a declared route only; an undeclared one is refused and the refusal
//!   is recorded (one denied record per blob).
//! * One audit record per blob and traversal: a traverse record (source and destination
//!   cells, layers and cell key versions, input and output blob references, route, source
//!   policy, actor and session) or a denied record with the error class. It is in the log
//!   before the new blob is returned; if it cannot be appended, no blob is returned.
//! * A batch appends its records with one [`AuditLog::append_batch`]: the guarantees above
//!   hold for each blob of it. If the append or its sync fails, no blob of the batch is
//!   returned; a file log may keep a durable prefix of the batch's records (records of
//!   traversals whose blobs were not handed out), never a blob without its record.
//! * The plaintext exists only in the traversal's own buffer inside the call (decrypted and
//!   re-encrypted in place, wiped if the traversal fails) and is never returned.
//! * A traversal seals under the destination cell's current master and cell key versions
//!   (lazy re-encryption); a reseal edge does so for a cell's own blobs.
//!
//! [`AuditLog::append_batch`]: hexvault_audit::AuditLog::append_batch

mod edge;
mod error;
mod route;

pub use edge::{Connect, Edge, EdgeRule};
pub use error::{Error, Result};
pub use route::{default_route, reseal_route};

pub use hexvault_cells::{
    Cell, CellId, Credentials, Layer, ObjectId, PartitionId, RouteId, RouteLayers, Vault,
};
