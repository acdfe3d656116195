//! Traversal: the one path that moves a blob between cells. A declared route, a blob opened
//! under the source cell and sealed under the destination cell in one buffer (decrypted and
//! re-encrypted in place, wiped unless it ends up holding ciphertext), and one audit record
//! per traversal appended before the new blob is returned (ADR 0053 and its amendment).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hexvault_aead::FreshNonce;
use hexvault_audit::{BlobRef, Context, ContextId, Event, EventKind, Outcome};

/// The audit ids of a declared route (both cells and the route id), built once when the
/// route is declared: every record of a traversal clones them (a reference count each)
/// instead of copying the ids into new allocations.
#[derive(Debug)]
pub(super) struct RouteAudit {
    from: (hexvault_audit::PartitionId, hexvault_audit::CellId),
    to: (hexvault_audit::PartitionId, hexvault_audit::CellId),
    route: ContextId,
}

impl RouteAudit {
    fn new(id: &RouteId, from: &Cell, to: &Cell) -> Result<Self> {
        let ids = |c: &Cell| -> Result<_> {
            Ok((
                hexvault_audit::PartitionId::new(c.partition.as_str().as_bytes())?,
                hexvault_audit::CellId::new(c.cell.as_str().as_bytes())?,
            ))
        };
        Ok(Self {
            from: ids(from)?,
            to: ids(to)?,
            route: ContextId::new(id.as_str())?,
        })
    }

    fn source_at(&self, layer: Layer, version: u32) -> hexvault_audit::Endpoint {
        at(&self.from, layer, version)
    }

    fn destination_at(&self, layer: Layer, version: u32) -> hexvault_audit::Endpoint {
        at(&self.to, layer, version)
    }
}

fn at(
    (partition, cell): &(hexvault_audit::PartitionId, hexvault_audit::CellId),
    layer: Layer,
    version: u32,
) -> hexvault_audit::Endpoint {
    hexvault_audit::Endpoint::new(
        partition.clone(),
        cell.clone(),
        hexvault_audit::Layer(layer.number()),
        hexvault_audit::KeyVersion(version),
    )
}

use super::{
    Cell, LayerKeys, Resolved, Route, Scratch, Vault, blob_ref, class, context, lossy, mismatch,
    same_name, sealed_ref, too_long,
};
use crate::blob::{Header, LayerParams, TAG_LEN, authenticated_len, header_len, write_header};
use crate::error::internal;
use crate::keys::KeyMemo;
use crate::{Credentials, Error, Layer, ObjectId, Result, RouteId};

/// The destination layers a declared route allows, given the layer the blob was sealed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteLayers {
    /// Only the blob's own layer: a blob sealed at layer N arrives sealed at layer N.
    Same,
    /// Any destination layer from `lowest` to `highest` (inclusive), whatever the blob's
    /// layer. A traversal to a lower layer lowers the protection of the data: allow it only
    /// on purpose.
    Between {
        /// The lowest destination layer allowed.
        lowest: Layer,
        /// The highest destination layer allowed.
        highest: Layer,
    },
}

impl RouteLayers {
    /// Every destination layer (what [`Vault::declare_route`] allows).
    pub const ANY: Self = Self::Between {
        lowest: Layer::Rest,
        highest: Layer::Session,
    };

    /// `true` if a blob sealed at `from` may arrive sealed at `to`.
    #[must_use]
    pub fn allows(self, from: Layer, to: Layer) -> bool {
        match self {
            Self::Same => from == to,
            Self::Between { lowest, highest } => lowest <= to && to <= highest,
        }
    }
}

/// One side of a traversal: resolved credentials, key versions and layer keys.
struct Side<'a> {
    resolved: Resolved<'a>,
    master_version: u32,
    cell_version: u32,
    keys: LayerKeys,
}

/// The sides of the last crossing, reused while the next blob names the same layer and
/// versions (a batch resolves credentials and looks keys up once, not once per blob).
#[derive(Default)]
struct Memo<'a> {
    /// The source side of the last item: its layer and versions, and the vault generation
    /// it was resolved under.
    source: Option<((Layer, u32, u32), u64, Side<'a>)>,
    /// The destination side of the last item: its layer and the generation.
    destination: Option<(Layer, u64, Side<'a>)>,
    /// Whether `destination` was determined (resolved or reused) for the current item: a
    /// refusal before that step records key version 0, not the previous item's (review
    /// round 51 LOW).
    destination_current: bool,
}

impl Vault {
    /// Declares route `id` from cell `from` to cell `to`, allowing the destination layers
    /// `layers`. A route is one-way; declare a second one for the way back. A route from a
    /// cell to itself re-seals blobs under the cell's current key versions.
    ///
    /// # Errors
    /// [`Error::InvalidId`] if `id` is already declared; [`Error::ForeignCell`] if a cell
    /// belongs to another vault.
    pub fn declare_route_with(
        &self,
        id: RouteId,
        from: &Cell,
        to: &Cell,
        layers: RouteLayers,
    ) -> Result<()> {
        for cell in [from, to] {
            if !Arc::ptr_eq(&cell.inner, &self.inner) {
                return Err(Error::ForeignCell {
                    cell: format!("{}/{}", cell.partition, cell.cell),
                });
            }
        }
        let audit = RouteAudit::new(&id, from, to)?;
        let mut state = self.inner.lock();
        if state.routes.contains_key(&id) {
            return Err(Error::InvalidId {
                kind: "route id",
                value: id.to_string(),
                reason: "a route id is declared once",
            });
        }
        state.routes.insert(
            id.clone(),
            Arc::new(Route {
                id: id.clone(),
                from: (from.partition.clone(), from.cell.clone()),
                to: (to.partition.clone(), to.cell.clone()),
                layers,
                from_memo: KeyMemo::default(),
                to_memo: KeyMemo::default(),
                audit,
            }),
        );
        Ok(())
    }

    /// Moves `blob` (object `object`, sealed in the route's source cell) into the route's
    /// destination cell and returns the new blob; the plaintext never reaches the caller.
    ///
    /// The blob is opened with `source` credentials (every layer, key commitments checked)
    /// and sealed with `destination` credentials under the destination cell's current key
    /// versions, at `to_layer` (`None`: the blob's own layer), which the route must allow.
    /// Both happen in one buffer, decrypted and re-encrypted in place, wiped if anything
    /// fails. Then one audit record is appended: a traverse record (source and destination
    /// endpoints with layers and cell key versions, input and output blob references, the
    /// route, the source policy, actor and session) on success, a denied record with the
    /// error class on failure. The new blob is returned only once its record is in the log.
    ///
    /// # Errors
    /// [`Error::UndeclaredRoute`], [`Error::RouteMismatch`] (the blob is not of the route's
    /// source cell), [`Error::LayerNotAllowed`], the errors of [`Cell::open`] (credentials,
    /// versions, [`Error::Authentication`]) and of [`Cell::seal`]; each is recorded as
    /// denied. [`Error::Audit`] if the record cannot be appended: no blob is returned.
    pub fn traverse(
        &self,
        route: &RouteId,
        object: &ObjectId,
        blob: &[u8],
        source: &Credentials<'_>,
        to_layer: Option<Layer>,
        destination: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        let declared = self.inner.lock().routes.get(route).cloned();
        let Some(declared) = declared else {
            let err = Error::UndeclaredRoute {
                route: route.to_string(),
            };
            let route_ctx = Context::new().route(ContextId::new(route.as_str())?);
            self.inner.append(undeclared(&err, route_ctx, source))?;
            return Err(err);
        };
        let mut memo = Memo::default();
        let (result, event) = self.cross(
            &declared,
            object,
            blob,
            source,
            to_layer,
            destination,
            &mut memo,
        )?;
        // The record is in the log before the blob leaves; if it cannot be, nothing leaves.
        self.inner.append(event)?;
        result
    }

    /// As [`Vault::traverse`] for many blobs along one route, with one group commit: every
    /// blob's record (traverse or denied, one per blob, in order) is appended by one
    /// [`AuditLog::append_batch`](hexvault_audit::AuditLog::append_batch) (one lock; for a
    /// file log under `Durability::EveryRecord` one write and one sync), before any new blob
    /// is returned. Credentials are
    /// resolved and keys looked up again only when a blob's layer or key versions differ
    /// from the previous blob's, not per blob.
    ///
    /// Returns one result per item, in order: a blob that fails (tampered, another cell,
    /// wrong credentials) fails alone, and its denied record is in the batch.
    ///
    /// # Errors
    /// [`Error::UndeclaredRoute`] for the whole batch (one denied record per item; an empty
    /// batch is refused too, with no record);
    /// [`Error::Audit`] if the batch of records cannot be appended and made durable: no
    /// blob is returned. A log refusing the batch keeps none of it; one that failed while
    /// writing or syncing may keep a prefix of it
    /// ([`AuditLog::append_batch`](hexvault_audit::AuditLog::append_batch)), records of
    /// traversals whose blobs were never handed out.
    pub fn traverse_batch(
        &self,
        route: &RouteId,
        items: &[(&ObjectId, &[u8])],
        source: &Credentials<'_>,
        to_layer: Option<Layer>,
        destination: &Credentials<'_>,
    ) -> Result<Vec<Result<Vec<u8>>>> {
        let declared = self.inner.lock().routes.get(route).cloned();
        let Some(declared) = declared else {
            let err = Error::UndeclaredRoute {
                route: route.to_string(),
            };
            // Refused even for no item (review round 43 LOW): a caller learns of the
            // undeclared route from its first call, not its first non-empty one.
            if !items.is_empty() {
                let route_ctx = Context::new().route(ContextId::new(route.as_str())?);
                let events = items
                    .iter()
                    .map(|_| undeclared(&err, route_ctx.clone(), source))
                    .collect();
                self.inner.append_batch(events)?;
            }
            return Err(err);
        };
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut results = Vec::with_capacity(items.len());
        let mut events = Vec::with_capacity(items.len());
        let mut memo = Memo::default();
        for (object, blob) in items {
            let (result, event) = self.cross(
                &declared,
                object,
                blob,
                source,
                to_layer,
                destination,
                &mut memo,
            )?;
            results.push(result);
            events.push(event);
        }
        self.inner.append_batch(events)?;
        Ok(results)
    }

    /// One crossing without its append: the new blob (or the error) and the record to
    /// append. The outer error is a failure to build the record (the traversal fails).
    #[allow(clippy::too_many_arguments)]
    fn cross<'a>(
        &self,
        route: &Route,
        object: &ObjectId,
        blob: &[u8],
        source: &Credentials<'a>,
        to_layer: Option<Layer>,
        destination: &Credentials<'a>,
        memo: &mut Memo<'a>,
    ) -> Result<(Result<Vec<u8>>, Event)> {
        let audit = &route.audit;
        let header = match Header::parse(blob) {
            Ok(h) => h,
            Err(err) => {
                let event = denied(
                    &err,
                    audit.source_at(Layer::Rest, 0),
                    audit.destination_at(to_layer.unwrap_or(Layer::Rest), 0),
                    None,
                    &audit.route,
                    source,
                );
                return Ok((Err(err), event));
            }
        };
        let to_layer = to_layer.unwrap_or(header.top);
        let from_at = audit.source_at(header.top, header.cell_version);
        let input = blob_ref(blob, &header)?;
        memo.destination_current = false;
        match self.reencrypt(
            route,
            object,
            blob,
            &header,
            source,
            to_layer,
            destination,
            memo,
        ) {
            Ok((sealed, cell_version, output)) => {
                let src = memo.source.as_ref().map(|(_, _, side)| side);
                let mut ctx = context(
                    src.and_then(|s| s.resolved.policy.as_ref()),
                    src.and_then(|s| s.resolved.session),
                );
                ctx.route = Some(audit.route.clone());
                // Fields set in place: the event is built once, not moved through builders.
                let mut event = Event::new(EventKind::Traverse);
                event.source = Some(from_at);
                event.destination = Some(audit.destination_at(to_layer, cell_version));
                event.input = Some(input);
                event.output = Some(output);
                event.context = Some(ctx);
                Ok((Ok(sealed), event))
            }
            Err(err) => {
                let current = memo.destination_current;
                let to_version = memo
                    .destination
                    .as_ref()
                    .filter(|(layer, _, _)| current && *layer == to_layer)
                    .map_or(0, |(_, _, side)| side.cell_version);
                let event = denied(
                    &err,
                    from_at,
                    audit.destination_at(to_layer, to_version),
                    Some(input),
                    &audit.route,
                    source,
                );
                Ok((Err(err), event))
            }
        }
    }

    /// The re-encryption step of a traversal, after the route lookup: private, so no caller
    /// can move data between cells without the route check and the record. Returns the new
    /// blob, the destination cell key version and the new blob's reference.
    #[allow(clippy::too_many_arguments)]
    fn reencrypt<'a>(
        &self,
        route: &Route,
        object: &ObjectId,
        blob: &[u8],
        header: &Header<'_>,
        source: &Credentials<'a>,
        to_layer: Layer,
        destination: &Credentials<'a>,
        memo: &mut Memo<'a>,
    ) -> Result<(Vec<u8>, u32, BlobRef)> {
        let (from_p, from_c) = &route.from;
        let (to_p, to_c) = &route.to;
        if !same_name(header.partition, from_p.as_str().as_bytes())
            || !same_name(header.cell, from_c.as_str().as_bytes())
        {
            return Err(Error::RouteMismatch {
                route: route.id.to_string(),
                declared: format!("{from_p}/{from_c}"),
                given: format!("{}/{}", lossy(header.partition), lossy(header.cell)),
            });
        }
        if !same_name(header.object, object.as_str().as_bytes()) {
            return Err(mismatch("object", object.as_str(), header.object));
        }
        if !route.layers.allows(header.top, to_layer) {
            return Err(Error::LayerNotAllowed {
                route: route.id.to_string(),
                from: header.top,
                to: to_layer,
            });
        }
        let source_key = (header.top, header.master_version, header.cell_version);
        // A rotation, retirement or load in the middle of a batch bumps the generation: a
        // side resolved under another generation is resolved again, so a version retired
        // meanwhile opens no later item and the destination seals under the versions current
        // now (review round 21). Loaded before resolving: a bump during the resolution makes
        // the next item resolve again.
        let generation = self.inner.generation.load(Ordering::Acquire);
        // A session can end or expire in the middle of a batch: layer-2 sides are resolved
        // (and the session checked) for every item, never reused from the memo.
        if header.top == Layer::Session
            || memo
                .source
                .as_ref()
                .is_none_or(|(k, g, _)| *k != source_key || *g != generation)
        {
            memo.source = None;
            let resolved = self.inner.resolve(from_p, from_c, header.top, source)?;
            let (master_version, cell_version, keys) = self.inner.layer_keys(
                from_p,
                from_c,
                header.top,
                Some((header.master_version, header.cell_version)),
                &resolved,
                Some(&route.from_memo),
            )?;
            memo.source = Some((
                source_key,
                generation,
                Side {
                    resolved,
                    master_version,
                    cell_version,
                    keys,
                },
            ));
        }
        // Loaded again: resolving the source (a token resolver, a session) may take long
        // enough for a rotation to land meanwhile.
        let generation = self.inner.generation.load(Ordering::Acquire);
        if to_layer == Layer::Session
            || memo
                .destination
                .as_ref()
                .is_none_or(|(l, g, _)| *l != to_layer || *g != generation)
        {
            memo.destination = None;
            let resolved = self.inner.resolve(to_p, to_c, to_layer, destination)?;
            let (master_version, cell_version, keys) = self.inner.layer_keys(
                to_p,
                to_c,
                to_layer,
                None,
                &resolved,
                Some(&route.to_memo),
            )?;
            memo.destination = Some((
                to_layer,
                generation,
                Side {
                    resolved,
                    master_version,
                    cell_version,
                    keys,
                },
            ));
        }
        memo.destination_current = true;
        let (Some((_, _, src)), Some((_, _, dst))) = (&memo.source, &memo.destination) else {
            return Err(Error::Internal {
                what: "traversal sides not resolved",
            });
        };
        if let (Some(policy), Some(found)) = (&src.resolved.policy, header.policy)
            && policy.policy.as_str().as_bytes() != found
        {
            return Err(mismatch("policy", policy.policy.as_str(), found));
        }
        if let (Some(session), Some(found)) = (src.resolved.session, header.session)
            && session.id() != &found
        {
            return Err(Error::Mismatch {
                field: "session",
                expected: session.id_hex(),
                found: found.iter().map(|b| format!("{b:02x}")).collect(),
            });
        }
        if src.master_version != header.master_version || src.cell_version != header.cell_version {
            return Err(Error::Internal {
                what: "source keys of other versions than the header names",
            });
        }

        // The destination header: fresh nonces and the commitments of the destination keys.
        let mut params = [LayerParams::default(); 3];
        let mut nonces: [Option<FreshNonce>; 3] = [None, None, None];
        for ((key, param), nonce) in dst
            .keys
            .iter()
            .zip(params.iter_mut())
            .zip(nonces.iter_mut())
        {
            if let Some(key) = key {
                let fresh = key.aead().fresh_nonce()?;
                param.commitment = *key.commitment();
                param.nonce = *fresh.bytes();
                *nonce = Some(fresh);
            }
        }
        let policy = dst
            .resolved
            .policy
            .as_ref()
            .map(|p| p.policy.as_str().as_bytes());
        let (to_pb, to_cb, ob) = (
            to_p.as_str().as_bytes(),
            to_c.as_str().as_bytes(),
            object.as_str().as_bytes(),
        );
        let new_len = header_len(to_layer, to_pb, to_cb, ob, policy);
        let new = Header {
            top: to_layer,
            flags: header.flags,
            master_version: dst.master_version,
            cell_version: dst.cell_version,
            partition: to_pb,
            cell: to_cb,
            object: ob,
            policy,
            session: dst.resolved.session.map(|s| *s.id()),
            layers: params,
            len: new_len,
            aad_len: authenticated_len(to_layer, new_len),
        };
        let aad_in = blob
            .get(..header.aad_len)
            .ok_or_else(|| internal("header longer than the parsed blob"))?;
        let body_in = blob
            .get(header.len..)
            .ok_or_else(|| internal("header longer than the parsed blob"))?;
        let tags_in = (usize::from(header.top.number()) + 1) * TAG_LEN;
        let tags_out = (usize::from(to_layer.number()) + 1) * TAG_LEN;
        let plain_len = body_in.len().checked_sub(tags_in).ok_or(Error::Malformed {
            what: "ciphertext shorter than its authentication tags",
        })?;
        let total = new
            .len
            .checked_add(plain_len)
            .and_then(|n| n.checked_add(tags_out))
            .ok_or_else(too_long)?;
        let room = new.len.checked_add(body_in.len()).ok_or_else(too_long)?;

        // One buffer: new header, then the input body copied once, opened in place, sealed
        // in place. It holds plaintext between the two steps, so it is wiped on any error.
        let mut out = Scratch(Vec::with_capacity(total.max(room)));
        write_header(&mut out.0, &new)?;
        if out.0.len() != new.len {
            return Err(Error::Internal {
                what: "written header length differs from the computed one",
            });
        }
        hexvault_aead::extend_from_slice(&mut out.0, body_in);
        {
            let body = out
                .0
                .get_mut(new.len..)
                .ok_or_else(|| internal("body outside the traversal buffer"))?;
            let len = super::peel_layers(&src.keys, &header.layers, aad_in, body)?;
            if len != plain_len {
                return Err(Error::Internal {
                    what: "opened length differs from the computed plaintext length",
                });
            }
        }
        // Past the plaintext only source ciphertext and tags remain; the new tags go there.
        out.0.resize(total, 0);
        let (head, body) = out.0.split_at_mut(new.len);
        let aad = head
            .get(..new.aad_len)
            .ok_or_else(|| internal("associated data longer than the header"))?;
        let mut len = plain_len;
        for (key, nonce) in dst.keys.iter().zip(nonces) {
            let (Some(key), Some(nonce)) = (key, nonce) else {
                continue;
            };
            let region = body
                .get_mut(..len)
                .ok_or_else(|| internal("layer region outside the blob"))?;
            let tag = key.aead().seal_detached(nonce, aad, region)?;
            let end = len + TAG_LEN;
            body.get_mut(len..end)
                .ok_or_else(|| internal("tag outside the blob"))?
                .copy_from_slice(&tag);
            len = end;
        }
        let tag_out = body
            .get(len.saturating_sub(TAG_LEN)..len)
            .ok_or_else(|| internal("tag outside the blob"))?;
        let output = sealed_ref(&new, tag_out)?;
        Ok((out.release(), dst.cell_version, output))
    }
}

/// The denied record of a failed traversal: both endpoints, the input blob if it parsed,
/// the error class, the route and the session of the source credentials.
fn denied(
    err: &Error,
    from: hexvault_audit::Endpoint,
    to: hexvault_audit::Endpoint,
    input: Option<BlobRef>,
    route: &ContextId,
    source: &Credentials<'_>,
) -> Event {
    let mut ctx = context(None, source.session);
    ctx.route = Some(route.clone());
    let mut event = Event::new(EventKind::Denied)
        .source(from)
        .destination(to)
        .outcome(Outcome::Failure(class(err)))
        .context(ctx);
    event.input = input;
    event
}

/// The denied record of a traversal along an undeclared route (no endpoints are known).
fn undeclared(err: &Error, route_ctx: Context, source: &Credentials<'_>) -> Event {
    let mut ctx = context(None, source.session);
    ctx.route = route_ctx.route;
    Event::new(EventKind::Denied)
        .outcome(Outcome::Failure(class(err)))
        .context(ctx)
}
