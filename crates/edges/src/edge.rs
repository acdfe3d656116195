//! `Connect`, `EdgeRule` and `Edge`: declaring routes and traversing them.

use core::fmt;

use hexvault_cells::{Cell, Credentials, Layer, ObjectId, RouteId, RouteLayers, Vault};

use crate::route::{default_route, reseal_route};
use crate::{Error, Result};

/// How an edge is declared: its route name and the destination layers it allows.
///
/// The default ([`EdgeRule::new`]) names the route after its cells and allows only the
/// blob's own layer ([`RouteLayers::Same`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeRule {
    name: Option<RouteId>,
    layers: RouteLayers,
}

impl Default for EdgeRule {
    fn default() -> Self {
        Self::new()
    }
}

impl EdgeRule {
    /// Default name, same layer only.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            name: None,
            layers: RouteLayers::Same,
        }
    }

    /// Names the route (it appears in every audit record of the edge).
    #[must_use]
    pub fn named(mut self, name: RouteId) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the destination layers the edge allows ([`RouteLayers::Between`] lets a
    /// traversal change the layer; lowering it lowers the data's protection).
    #[must_use]
    pub const fn layers(mut self, layers: RouteLayers) -> Self {
        self.layers = layers;
        self
    }
}

/// Declares edges in a [`Vault`]. Implemented for the cells crate's `Vault`.
pub trait Connect {
    /// Declares a one-way edge from `from` to `to` with the default [`EdgeRule`] (route
    /// named `partition/cell@partition/cell`, the id [`default_route`] returns; same layer
    /// only). Declare a second edge for the way back.
    ///
    /// # Errors
    /// [`Error::RouteName`] if the default name is longer than 128 bytes;
    /// [`Error::Cells`] if a route of that name is already declared or a cell belongs to
    /// another vault.
    fn connect(&self, from: &Cell, to: &Cell) -> Result<Edge> {
        self.connect_with(from, to, EdgeRule::new())
    }

    /// Declares a one-way edge from `from` to `to` under `rule`.
    ///
    /// # Errors
    /// As [`Connect::connect`].
    fn connect_with(&self, from: &Cell, to: &Cell, rule: EdgeRule) -> Result<Edge>;

    /// Declares the reseal edge of `cell` (from the cell to itself, same layer, route named
    /// `reseal@partition/cell`, the id [`reseal_route`] returns): traversing it re-encrypts a blob under the cell's current
    /// master and cell key versions, so blobs are re-encrypted lazily after a rotation.
    ///
    /// # Errors
    /// As [`Connect::connect`].
    fn reseal_edge(&self, cell: &Cell) -> Result<Edge>;
}

impl Connect for Vault {
    fn connect_with(&self, from: &Cell, to: &Cell, rule: EdgeRule) -> Result<Edge> {
        let route = match rule.name {
            Some(name) => name,
            None => default_route(
                (from.partition_id(), from.id()),
                (to.partition_id(), to.id()),
            )?,
        };
        self.declare_route_with(route.clone(), from, to, rule.layers)?;
        Ok(Edge {
            vault: self.clone(),
            route,
            from: from.clone(),
            to: to.clone(),
            layers: rule.layers,
        })
    }

    fn reseal_edge(&self, cell: &Cell) -> Result<Edge> {
        let name = reseal_route(cell.partition_id(), cell.id())?;
        self.connect_with(cell, cell, EdgeRule::new().named(name))
    }
}

/// A declared one-way edge between two cells of one vault (or a cell and itself).
///
/// Cheap to clone, `Send + Sync`. Every traversal appends one audit record per blob
/// (traverse or denied) before it returns a blob; see the crate docs.
#[derive(Clone)]
pub struct Edge {
    vault: Vault,
    route: RouteId,
    from: Cell,
    to: Cell,
    layers: RouteLayers,
}

impl Edge {
    /// Moves `blob` (object `object`, sealed in the source cell) to the destination cell
    /// at the blob's own layer, under the destination's current key versions. `source`
    /// opens every layer of the blob; `destination` covers the same layer in the
    /// destination cell (its token for layer 1, and a live session for layer 2).
    ///
    /// # Errors
    /// [`Error::Cells`]: the errors of
    /// [`Vault::traverse`](hexvault_cells::Vault::traverse), each recorded as denied;
    /// its `Audit` variant if the record cannot be appended (no blob is returned then).
    pub fn traverse(
        &self,
        object: &ObjectId,
        blob: &[u8],
        source: &Credentials<'_>,
        destination: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        Ok(self
            .vault
            .traverse(&self.route, object, blob, source, None, destination)?)
    }

    /// As [`Edge::traverse`], sealing at `to_layer`, which the edge's rule must allow
    /// (`LayerNotAllowed` otherwise, recorded as denied).
    ///
    /// # Errors
    /// As [`Edge::traverse`].
    pub fn traverse_to(
        &self,
        object: &ObjectId,
        blob: &[u8],
        source: &Credentials<'_>,
        to_layer: Layer,
        destination: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        Ok(self.vault.traverse(
            &self.route,
            object,
            blob,
            source,
            Some(to_layer),
            destination,
        )?)
    }

    /// Moves many blobs at their own layers with one audit group commit: one record per
    /// blob, all appended by one `AuditLog::append_batch` before any blob is returned.
    /// Returns one result per item, in order; a blob that fails fails alone (its denied
    /// record is in the batch).
    ///
    /// # Errors
    /// [`Error::Cells`] for the whole batch: its `Audit` variant if the records cannot be
    /// appended and made durable. No blob of the batch is returned then; a log that failed
    /// while writing or syncing may keep a prefix of the batch's records, as
    /// [`AuditLog::append_batch`](hexvault_audit::AuditLog::append_batch) says (a record
    /// says a traversal was performed, not that its blob was delivered; a delivered blob
    /// always has its record).
    pub fn traverse_batch(
        &self,
        items: &[(&ObjectId, &[u8])],
        source: &Credentials<'_>,
        destination: &Credentials<'_>,
    ) -> Result<Vec<Result<Vec<u8>>>> {
        self.batch(items, source, None, destination)
    }

    /// As [`Edge::traverse_batch`], sealing every blob at `to_layer`.
    ///
    /// # Errors
    /// As [`Edge::traverse_batch`].
    pub fn traverse_batch_to(
        &self,
        items: &[(&ObjectId, &[u8])],
        source: &Credentials<'_>,
        to_layer: Layer,
        destination: &Credentials<'_>,
    ) -> Result<Vec<Result<Vec<u8>>>> {
        self.batch(items, source, Some(to_layer), destination)
    }

    fn batch(
        &self,
        items: &[(&ObjectId, &[u8])],
        source: &Credentials<'_>,
        to_layer: Option<Layer>,
        destination: &Credentials<'_>,
    ) -> Result<Vec<Result<Vec<u8>>>> {
        let results =
            self.vault
                .traverse_batch(&self.route, items, source, to_layer, destination)?;
        Ok(results
            .into_iter()
            .map(|r| r.map_err(Error::from))
            .collect())
    }

    /// `true` if `blob` (of the destination cell) was sealed under older key versions than
    /// the destination's current ones: traverse it along a reseal edge.
    ///
    /// # Errors
    /// [`Error::Cells`] for a malformed blob, a blob of another cell than the destination
    /// (`Mismatch`), or one whose key versions the destination does not hold or has retired
    /// (`UnknownKeyVersion`, `KeyVersionRetired`).
    pub fn needs_reseal(&self, blob: &[u8]) -> Result<bool> {
        Ok(self.to.needs_reseal(blob)?)
    }

    /// The route id (in every audit record of this edge).
    #[must_use]
    pub const fn route(&self) -> &RouteId {
        &self.route
    }

    /// The source cell.
    #[must_use]
    pub const fn from(&self) -> &Cell {
        &self.from
    }

    /// The destination cell.
    #[must_use]
    pub const fn to(&self) -> &Cell {
        &self.to
    }

    /// The destination layers the edge allows.
    #[must_use]
    pub const fn layers(&self) -> RouteLayers {
        self.layers
    }

    /// `true` for an edge from a cell to itself (a reseal edge).
    #[must_use]
    pub fn is_reseal(&self) -> bool {
        self.from.partition_id() == self.to.partition_id() && self.from.id() == self.to.id()
    }
}

impl fmt::Debug for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Edge")
            .field("route", &self.route)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}
