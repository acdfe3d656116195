//! `Vault`, `Partition`, `Cell`: sealing and opening through the layers, rotation, reseal,
//! declared routes, and the audit records of every gated open, denial and rotation.

use core::fmt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hexvault_aead::{Backend, FreshNonce};
use hexvault_audit::{
    AuditLog, BlobRef, Context, ContextId, Endpoint, ErrorClass, Event, EventKind, Outcome,
};
use hexvault_keys::{Seed, VaultMasterKey};

use crate::blob::{
    FIXED_LEN, FLAG_COMPRESSED, FORMAT_VERSION, Header, LayerParams, MAGIC, NONCE_LEN, TAG_LEN,
    authenticated_len, header_len, write_header, write_rest_header,
};
use crate::keys::COMMIT_LEN;
use crate::keys::{self, KeyCache, KeyMemo, LayerKey, Slot};
use crate::replay::{FIRST, RecordedVersions, Versions};
mod traverse;

pub use traverse::RouteLayers;

use crate::error::internal;
use crate::{
    CellId, Credentials, Error, Layer, ObjectId, PartitionId, PolicyContext, Result, RouteId,
    Session, TokenResolver,
};

/// Layer keys a vault caches by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

/// Settings of a [`Vault`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct VaultOptions {
    /// Most layer keys (with their key schedules) kept at once; least recently used first out.
    pub cache_capacity: usize,
    /// The AES-GCM backend of every layer key.
    pub backend: Backend,
}

impl Default for VaultOptions {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            backend: Backend::Ring,
        }
    }
}

impl VaultOptions {
    /// Sets the cache capacity (at least 1).
    #[must_use]
    pub const fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Sets the AES-GCM backend.
    #[must_use]
    pub const fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
}

/// The plaintext [`Cell::open`] returns: wiped on drop in one pass at memory speed (it holds
/// an aead [`Plaintext`](hexvault_aead::Plaintext), ADR 0025), `Debug` prints only its
/// length, bytes reachable through [`expose_secret`](Self::expose_secret).
pub struct Plaintext(hexvault_aead::Plaintext);

impl Plaintext {
    /// The plaintext bytes.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Its length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` for an empty plaintext.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plaintext")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Route {
    id: RouteId,
    from: (PartitionId, CellId),
    to: (PartitionId, CellId),
    layers: RouteLayers,
    /// Layer-0 keys of the source and destination cells used last by traversals.
    from_memo: KeyMemo,
    to_memo: KeyMemo,
    /// The route's audit ids, built once (traverse.rs).
    audit: traverse::RouteAudit,
}

struct State {
    masters: BTreeMap<u32, VaultMasterKey>,
    master: Versions,
    cells: HashMap<(PartitionId, CellId), Versions>,
    cache: KeyCache,
    routes: HashMap<RouteId, Arc<Route>>,
    /// A key-version change may be in the log without having taken effect here (its
    /// append reported an error, or its checkpoint or flush failed): the log may now name
    /// a version this vault does not hold. Further changes are refused until the log is
    /// replayed ([`Vault::replay_versions`]); a replay reads records by comparing them with
    /// the versions before them, so a second change written over the first would be read
    /// wrongly (review round 21: a rotation recorded twice replayed as a retirement).
    versions_unsettled: bool,
    /// The log's stored length read right after the change that left the versions
    /// unsettled: a replay that reaches it has read that change's record if it was stored,
    /// so it settles them even if other vaults appended to a shared log since (review
    /// round 61). `None`: not readable then; a replay must reach the log's end.
    unsettled_through: Option<u64>,
    /// The ids of the sessions this vault ended ([`Vault::end_session`]): refused at layer 2
    /// even when resumed from an export taken before the end (review round 36). 16 bytes
    /// per ended session, for the vault's lifetime.
    ended_sessions: HashSet<[u8; crate::session::SESSION_ID_LEN]>,
    /// The expiry (monotonic and wall clock) of every session this vault started: a session
    /// resumed from an export whose expiry was edited is refused after the real one (review
    /// round 37). About 48 bytes per started session, for the vault's lifetime.
    session_expiries:
        HashMap<[u8; crate::session::SESSION_ID_LEN], (std::time::Instant, std::time::SystemTime)>,
}

impl State {
    /// `true` for a session this vault ended, or started and whose expiry has passed on
    /// either clock.
    fn refuses_session(&self, id: &[u8; crate::session::SESSION_ID_LEN]) -> bool {
        self.ended_sessions.contains(id)
            || self
                .session_expiries
                .get(id)
                .is_some_and(|(instant, wall)| crate::session::expired(*instant, *wall))
    }

    fn cell_versions(&self, partition: &PartitionId, cell: &CellId) -> Versions {
        // The map is keyed by owned ids; the clones are two reference-count increments.
        self.cells
            .get(&(partition.clone(), cell.clone()))
            .copied()
            .unwrap_or(FIRST)
    }
}

struct Inner {
    state: Mutex<State>,
    /// Bumped (under the state lock) by every change of key versions: rotations,
    /// retirements, loads and restores. A `KeyMemo` answers only under its generation.
    generation: AtomicU64,
    resolver: Box<dyn TokenResolver>,
    log: Arc<dyn AuditLog>,
    backend: Backend,
}

/// A vault: the root of the key tree (a [`VaultMasterKey`]), the [`TokenResolver`] that
/// grants layer 1, and the audit log that records every gated open, denial, rotation and
/// transfer.
///
/// `Send + Sync` and cheap to clone (shared state): use it from many threads.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

/// Credentials as resolved for one operation.
struct Resolved<'a> {
    policy: Option<PolicyContext>,
    session: Option<&'a Session>,
}

/// One partition of a vault: a handle that names its cells.
#[derive(Clone)]
pub struct Partition {
    inner: Arc<Inner>,
    id: PartitionId,
}

/// One cell: the unit of isolation. Seal and open objects in it.
#[derive(Clone)]
pub struct Cell {
    inner: Arc<Inner>,
    partition: PartitionId,
    cell: CellId,
    /// The layer-0 key this handle (and its clones) used last, remembered per thread.
    memo: Arc<KeyMemo>,
}

impl Vault {
    /// A vault rooted at `master` (key version 1), default options.
    ///
    /// `master` comes from a mnemonic ([`VaultMasterKey::from_seed`], or
    /// [`Vault::from_seed`]), from the service's capability
    /// (`hexvault_service::VaultService::vault_master_key`), from a KMS
    /// ([`Vault::from_kms_bytes`]) or fresh ([`Vault::generate`]).
    #[must_use]
    pub fn new(
        master: VaultMasterKey,
        resolver: impl TokenResolver + 'static,
        log: Arc<dyn AuditLog>,
    ) -> Self {
        Self::with_options(master, resolver, log, VaultOptions::default())
    }

    /// As [`Vault::new`], with options.
    #[must_use]
    pub fn with_options(
        master: VaultMasterKey,
        resolver: impl TokenResolver + 'static,
        log: Arc<dyn AuditLog>,
        options: VaultOptions,
    ) -> Self {
        let mut masters = BTreeMap::new();
        masters.insert(1, master);
        Self {
            inner: Arc::new(Inner {
                generation: AtomicU64::new(0),
                state: Mutex::new(State {
                    masters,
                    master: FIRST,
                    cells: HashMap::new(),
                    cache: KeyCache::new(options.cache_capacity),
                    routes: HashMap::new(),
                    versions_unsettled: false,
                    unsettled_through: None,
                    ended_sessions: HashSet::new(),
                    session_expiries: HashMap::new(),
                }),
                resolver: Box::new(resolver),
                log,
                backend: options.backend,
            }),
        }
    }

    /// A vault rooted at the vault master key of a mnemonic seed (`m/74'/2'/1'/0'`, then HKDF).
    ///
    /// # Errors
    /// [`Error::Keys`] if the derivation fails.
    pub fn from_seed(
        seed: &Seed,
        resolver: impl TokenResolver + 'static,
        log: Arc<dyn AuditLog>,
    ) -> Result<Self> {
        Ok(Self::new(VaultMasterKey::from_seed(seed)?, resolver, log))
    }

    /// A vault rooted at 32 bytes a KMS unwrapped; `bytes` is wiped.
    #[must_use]
    pub fn from_kms_bytes(
        bytes: &mut [u8; 32],
        resolver: impl TokenResolver + 'static,
        log: Arc<dyn AuditLog>,
    ) -> Self {
        Self::new(VaultMasterKey::from_kms_bytes(bytes), resolver, log)
    }

    /// A vault rooted at a fresh random master key (it cannot be re-derived: this is for
    /// tests and for data that must not outlive the process).
    ///
    /// # Errors
    /// [`Error::Keys`] if the OS random number generator fails.
    pub fn generate(
        resolver: impl TokenResolver + 'static,
        log: Arc<dyn AuditLog>,
    ) -> Result<Self> {
        Ok(Self::new(VaultMasterKey::generate()?, resolver, log))
    }

    /// The handle of partition `id`.
    #[must_use]
    pub fn partition(&self, id: PartitionId) -> Partition {
        Partition {
            inner: Arc::clone(&self.inner),
            id,
        }
    }

    /// Starts a layer-2 session that lives `ttl`, and records its start.
    ///
    /// # Errors
    /// [`Error::Aead`] if the OS random number generator fails; [`Error::Audit`] if the
    /// start cannot be recorded (the session is then not started).
    pub fn start_session(&self, ttl: Duration) -> Result<Session> {
        let session = Session::start(ttl)?;
        self.inner
            .lock()
            .session_expiries
            .insert(*session.id(), session.expiry());
        self.inner.append(
            Event::new(EventKind::SessionStart)
                .context(Context::new().session(ContextId::new(session.id().to_vec())?)),
        )?;
        Ok(session)
    }

    /// Ends `session` (its keys are dropped and their raw bytes wiped, see
    /// [`Session`]) and records the end. This vault refuses the session's id at layer 2 from
    /// now on, also in a session resumed from an export taken before the end
    /// ([`Session::resume`]); another vault (another process) learns of the end only from
    /// the log (the command line checks it before it resumes a session file).
    ///
    /// The end's record is checkpointed (and so anchored, for a file log with a signing key)
    /// or, for a log without one, flushed before this returns, as a key-version change is: a
    /// crash followed by a cut of the log back to its anchor cannot undo it (review round 59).
    ///
    /// # Errors
    /// [`Error::Audit`] if the end cannot be recorded or checkpointed (the session has ended
    /// all the same).
    pub fn end_session(&self, session: &Session) -> Result<()> {
        session.end();
        self.inner.lock().ended_sessions.insert(*session.id());
        self.inner.log.append(
            Event::new(EventKind::SessionEnd)
                .context(Context::new().session(ContextId::new(session.id().to_vec())?)),
        )?;
        match self.inner.log.checkpoint() {
            Ok(_) => Ok(()),
            Err(hexvault_audit::Error::NoSigningKey) => Ok(self.inner.log.flush()?),
            Err(error) => Err(error.into()),
        }
    }

    /// Makes `master` the next master key version, which seals from now on; older versions
    /// still open until retired. Records the rotation first (checkpointed or flushed: durable
    /// before it takes effect).
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] when the version space is spent; [`Error::Audit`].
    /// [`Error::VersionsUnsettled`] after an earlier key-version change whose append or
    /// checkpoint failed (its record may be in the log; replay the log first).
    pub fn rotate_master(&self, master: VaultMasterKey) -> Result<u32> {
        let mut state = self.inner.lock();
        let next = state
            .master
            .current
            .checked_add(1)
            .ok_or(Error::InvalidKeyVersion {
                version: state.master.current,
                reason: "no master key version after u32::MAX",
            })?;
        self.inner
            .record_version_change(&mut state, rotation(None, next)?)?;
        state.masters.insert(next, master);
        state.master.current = next;
        self.inner.bump();
        Ok(next)
    }

    /// Loads a master key version kept elsewhere (after a restart). The current version
    /// seals: the highest one loaded or rotated to, also by a replay of the log (a version
    /// the log rotated to and not loaded yet fails a seal with
    /// [`Error::UnknownKeyVersion`] until it is loaded). A version above the current one is
    /// recorded as a rotation first
    /// (checkpointed, as every key-version change is), so that a replay of the log
    /// ([`Vault::replay_versions`]) reaches the same versions.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] for 0, a version below the retired minimum, or one
    /// already loaded; [`Error::Audit`] if the record cannot be appended.
    /// [`Error::VersionsUnsettled`] for a load that raises the version after an earlier
    /// key-version change whose append or checkpoint failed (replay the log first; a load
    /// that records nothing is accepted).
    pub fn load_master(&self, version: u32, master: VaultMasterKey) -> Result<()> {
        let mut state = self.inner.lock();
        if version == 0 || version < state.master.minimum || state.masters.contains_key(&version) {
            return Err(Error::InvalidKeyVersion {
                version,
                reason: "load a version that is not 0, not retired and not loaded yet",
            });
        }
        if version > state.master.current {
            // A load that raises the sealing version is a rotation: recorded, or a replay of
            // the log would read a later retirement naming this version as a rotation.
            self.inner
                .record_version_change(&mut state, rotation(None, version)?)?;
            state.master.current = version;
        }
        state.masters.insert(version, master);
        self.inner.bump();
        Ok(())
    }

    /// Retires every master key version below `minimum`: their keys are dropped and wiped,
    /// and blobs sealed under them no longer open. Records the retirement first
    /// (checkpointed or flushed: durable before it takes effect).
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] if `minimum` is above the current version; [`Error::Audit`].
    /// [`Error::VersionsUnsettled`] after an earlier key-version change whose append or
    /// checkpoint failed (its record may be in the log; replay the log first).
    pub fn retire_masters_below(&self, minimum: u32) -> Result<()> {
        let mut state = self.inner.lock();
        if minimum > state.master.current || minimum == 0 {
            return Err(Error::InvalidKeyVersion {
                version: minimum,
                reason: "the minimum must be between 1 and the current master version",
            });
        }
        self.inner
            .record_version_change(&mut state, rotation(None, minimum)?)?;
        state.masters.retain(|v, _| *v >= minimum);
        state.master.minimum = state.master.minimum.max(minimum);
        state.cache.evict(|slot| slot.master_version < minimum);
        self.inner.bump();
        Ok(())
    }

    /// Refuses at layer 2, from now on, every session whose end the records show
    /// ([`EventKind::SessionEnd`] records with a session id, as [`Vault::end_session`]
    /// writes them): a vault reopened over the log of one that ended sessions refuses a
    /// session resumed from an export taken before the end, as the vault that ended it does
    /// (review round 52 LOW). Give it records of a log this vault's keys verified;
    /// `hexvault::Vault` does this when it opens an existing file log. Records of other
    /// kinds, and session ids of another length, are skipped.
    pub fn replay_session_ends<'a>(
        &self,
        records: impl IntoIterator<Item = &'a hexvault_audit::AuditRecord>,
    ) {
        let ended: Vec<[u8; crate::session::SESSION_ID_LEN]> = records
            .into_iter()
            .filter(|record| record.event.kind == EventKind::SessionEnd)
            .filter_map(|record| record.event.context.as_ref()?.session.as_ref())
            .filter_map(|id| id.as_bytes().try_into().ok())
            .collect();
        self.inner.lock().ended_sessions.extend(ended);
    }

    /// Restores the master's and every cell's key versions from the rotation and
    /// retirement records of an audit log (after a restart: a new vault starts every
    /// version at 1). Give it every record of a log this vault's keys VERIFIED (the chain
    /// under the audit chain key), from the first, in sequence order; `hexvault::Vault` does this when it
    /// opens an existing file log.
    ///
    /// The records this crate writes for [`Cell::rotate`], [`Cell::retire_below`],
    /// [`Cell::restore_versions`], [`Vault::rotate_master`] and
    /// [`Vault::retire_masters_below`] are `rotate` records with a destination only (the
    /// master's with an empty partition and cell). Replayed in order from the vault's
    /// versions, a version above the current one is a rotation (the current version
    /// becomes it) and a version at or below it a retirement (the minimum becomes it, if
    /// higher); other records (reseals, which have a source) are skipped. Versions are only
    /// ever raised. Master versions retired by the log drop their loaded keys; a master
    /// version the log rotated to needs its key from [`Vault::load_master`] before
    /// anything seals (until then a seal fails with [`Error::UnknownKeyVersion`]). Nothing
    /// is recorded (the records are in the log already). The records must be the whole
    /// log from its first record: the replay starts from version 1, as the log did. A
    /// replay whose records reach the log's length as read right after the failed change
    /// (the log's current end when that length could not be read) also settles a vault that
    /// refuses key-version changes with [`Error::VersionsUnsettled`]: a change whose record
    /// reached the log is then in force (a rotated master version needs
    /// [`Vault::load_master`], as above); a shorter replay leaves it unsettled. On a log other
    /// vaults append to (several nodes on one PostgreSQL log), replay it before every
    /// key-version change and before relying on another vault's retirement: a running vault
    /// learns of other vaults' changes only from a replay (SECURITY.md, "Known limits").
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] for a rotation record naming version 0 or a layer
    /// other than 0; [`Error::InvalidId`] for one naming an id this crate does not accept
    /// (this crate never writes either: the log is not one of its vaults'); nothing is
    /// changed then.
    pub fn replay_versions<'a>(
        &self,
        records: impl IntoIterator<Item = &'a hexvault_audit::AuditRecord>,
    ) -> Result<()> {
        // The log's history starts where a new vault starts (every version at 1): replay
        // from there, then raise the vault's versions to the result.
        let records: Vec<&hexvault_audit::AuditRecord> = records.into_iter().collect();
        let recorded = RecordedVersions::from_records(records.iter().copied())?;
        // Up to where the records go: an unsettled change is settled only by records that
        // reach the end of this vault's log, where its record is if it was stored.
        let reach = records
            .last()
            .map_or(0, |record| record.sequence.get().saturating_add(1));
        let master = recorded.master_versions();
        let mut state = self.inner.lock();
        state.master.current = state.master.current.max(master.current);
        state.master.minimum = state.master.minimum.max(master.minimum);
        let floor = state.master.minimum;
        state.masters.retain(|v, _| *v >= floor);
        state.cache.evict(|slot| slot.master_version < floor);
        for (key, versions) in recorded.cell_entries() {
            let held = state.cell_versions(&key.0, &key.1);
            let raised = Versions {
                current: held.current.max(versions.current),
                minimum: held.minimum.max(versions.minimum),
            };
            let (p, c) = (&key.0, &key.1);
            state.cache.evict(|slot| {
                &slot.partition == p && &slot.cell == c && slot.cell_version < raised.minimum
            });
            state.cells.insert(key.clone(), raised);
        }
        // The vault now holds at least what the log records: a change left unsettled is
        // either in the log (and now in force) or lost with it. A replay that stops short
        // of the log's end (a stale copy) settles nothing (review round 23).
        // The store's length, not the handle's last view: a database log's handle may not
        // have seen the record whose commit it reported as failed (review round 25). A
        // length that cannot be read settles nothing.
        let target = match state.unsettled_through {
            Some(through) => Some(through),
            None => self.inner.log.stored_len().ok(),
        };
        if target.is_some_and(|target| reach >= target) {
            state.versions_unsettled = false;
            state.unsettled_through = None;
        }
        self.inner.bump();
        Ok(())
    }

    /// The current (sealing) and minimum (oldest opened) master key versions.
    #[must_use]
    pub fn master_versions(&self) -> (u32, u32) {
        let state = self.inner.lock();
        (state.master.current, state.master.minimum)
    }

    /// Declares route `id` from cell `from` to cell `to`, allowing any destination layer
    /// ([`RouteLayers::ANY`]): the only way data moves between cells is a traversal
    /// ([`Vault::transfer`], [`Vault::traverse`], [`Vault::traverse_batch`]) along a declared
    /// route. [`Vault::declare_route_with`] restricts the destination layers.
    ///
    /// # Errors
    /// [`Error::InvalidId`] if `id` is already declared; [`Error::ForeignCell`] if a cell
    /// belongs to another vault.
    pub fn declare_route(&self, id: RouteId, from: &Cell, to: &Cell) -> Result<()> {
        self.declare_route_with(id, from, to, RouteLayers::ANY)
    }

    /// Moves `blob` (object `object` of the route's source cell) into the route's destination
    /// cell at layer `to_layer`, without the plaintext ever reaching the caller: as
    /// [`Vault::traverse`] with `Some(to_layer)`.
    ///
    /// # Errors
    /// As [`Vault::traverse`].
    pub fn transfer(
        &self,
        route: &RouteId,
        object: &ObjectId,
        blob: &[u8],
        source: &Credentials<'_>,
        to_layer: Layer,
        destination: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        self.traverse(route, object, blob, source, Some(to_layer), destination)
    }
}

impl Partition {
    /// The handle of cell `id` in this partition.
    #[must_use]
    pub fn cell(&self, id: CellId) -> Cell {
        Cell {
            inner: Arc::clone(&self.inner),
            partition: self.id.clone(),
            cell: id,
            memo: Arc::default(),
        }
    }

    /// This partition's id.
    #[must_use]
    pub const fn id(&self) -> &PartitionId {
        &self.id
    }
}

impl Cell {
    /// Seals `plaintext` as object `object` at `layer`: layers 0 to `layer` are applied in
    /// turn, each under its own key, all authenticating the whole header (ADR 0090). Layer 1 needs an
    /// access token in `credentials`, layer 2 also a live session.
    ///
    /// # Errors
    /// [`Error::MissingCredential`], [`Error::Denied`], [`Error::SessionEnded`],
    /// [`Error::UnknownKeyVersion`] (the current master version's key is not loaded),
    /// [`Error::Aead`] (RNG failure, key exhausted). At layer 1 or 2 every failure is also
    /// recorded in the audit log as denied, with its error class; [`Error::Audit`] if that
    /// record cannot be appended.
    pub fn seal(
        &self,
        object: &ObjectId,
        plaintext: &[u8],
        layer: Layer,
        credentials: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        self.inner.seal(
            Some(&self.memo),
            &self.partition,
            &self.cell,
            object,
            plaintext,
            layer,
            credentials,
            false,
        )
    }

    /// As [`Cell::seal`], compressing the plaintext with LZ4 (through the envelope crate)
    /// first when that makes it shorter. Opt in only for data whose length may depend on
    /// its content: the ciphertext length then reveals how compressible the plaintext is,
    /// which leaks secrets compressed together with attacker-chosen data (CRIME/BREACH).
    /// [`Cell::open`] decompresses transparently.
    ///
    /// # Errors
    /// As [`Cell::seal`]; [`Error::Compression`] past the envelope crate's limits.
    #[cfg(feature = "compression")]
    pub fn seal_compressed(
        &self,
        object: &ObjectId,
        plaintext: &[u8],
        layer: Layer,
        credentials: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        self.inner.seal(
            Some(&self.memo),
            &self.partition,
            &self.cell,
            object,
            plaintext,
            layer,
            credentials,
            true,
        )
    }

    /// Opens a blob of object `object` sealed in this cell, peeling its layers from the top
    /// down; each layer's key commitment is checked before it is decrypted. Opens at layer
    /// 1 or 2 are recorded in the audit log before the plaintext is returned; every refused
    /// open is recorded as denied.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::Mismatch`] (another partition, cell, object, policy or
    /// session, named), [`Error::MissingCredential`], [`Error::Denied`],
    /// [`Error::SessionEnded`], [`Error::UnknownKeyVersion`], [`Error::KeyVersionRetired`],
    /// [`Error::Authentication`]; [`Error::Audit`] if the record cannot be appended (no
    /// plaintext is returned then).
    pub fn open(
        &self,
        object: &ObjectId,
        blob: &[u8],
        credentials: &Credentials<'_>,
    ) -> Result<Plaintext> {
        self.inner.open(
            Some(&self.memo),
            &self.partition,
            &self.cell,
            object,
            blob,
            credentials,
            true,
            None,
        )
    }

    /// As [`Cell::open`] (recorded and refused alike), also returning the context the open
    /// record names: the policy and actor of the access token and the session that opened
    /// layer 2 (empty at layer 0). For a caller that records what it then does with the
    /// plaintext, as the command line's reseal of a large object does (review round 55).
    ///
    /// # Errors
    /// As [`Cell::open`].
    pub fn open_attributed(
        &self,
        object: &ObjectId,
        blob: &[u8],
        credentials: &Credentials<'_>,
    ) -> Result<(Plaintext, Context)> {
        let mut opened_by = Context::new();
        let plaintext = self.inner.open(
            Some(&self.memo),
            &self.partition,
            &self.cell,
            object,
            blob,
            credentials,
            true,
            Some(&mut opened_by),
        )?;
        Ok((plaintext, opened_by))
    }

    /// Re-seals `blob` at its own layer under the current master and cell key versions,
    /// without handing out the plaintext. Records a rotation with the input and output
    /// blobs.
    ///
    /// # Errors
    /// Those of [`Cell::open`] and [`Cell::seal`].
    pub fn reseal(
        &self,
        object: &ObjectId,
        blob: &[u8],
        credentials: &Credentials<'_>,
    ) -> Result<Vec<u8>> {
        let header = match Header::parse(blob) {
            Ok(h) => h,
            Err(err) => {
                let at = endpoint(&self.partition, &self.cell, Layer::Rest, 0)?;
                self.inner.deny(Some(at), &err, Context::new())?;
                return Err(err);
            }
        };
        let top = header.top;
        // The rotate record names the policy, actor and session that opened a layer-1 or 2
        // blob, as an open record would (review round 43 LOW: the gated open was
        // unattributed); a layer-0 reseal names none.
        let mut opened_by = Context::new();
        let plaintext = self.inner.open(
            Some(&self.memo),
            &self.partition,
            &self.cell,
            object,
            blob,
            credentials,
            false,
            Some(&mut opened_by),
        )?;
        let sealed = self.inner.seal(
            Some(&self.memo),
            &self.partition,
            &self.cell,
            object,
            plaintext.expose_secret(),
            top,
            credentials,
            header.flags & FLAG_COMPRESSED != 0,
        )?;
        let new_header = Header::parse(&sealed)?;
        let mut event = Event::new(EventKind::Rotate);
        if opened_by != Context::new() {
            event = event.context(opened_by);
        }
        self.inner.append(
            event
                .source(endpoint(
                    &self.partition,
                    &self.cell,
                    top,
                    header.cell_version,
                )?)
                .destination(endpoint(
                    &self.partition,
                    &self.cell,
                    top,
                    new_header.cell_version,
                )?)
                .input(blob_ref(blob, &header)?)
                .output(blob_ref(&sealed, &new_header)?),
        )?;
        Ok(sealed)
    }

    /// `true` if `blob` was sealed under a master or cell key version older than the
    /// current ones (reseal it before retiring them). Only a blob this cell could open has
    /// an answer: another cell's versions say nothing about this one's, and a header naming
    /// a version this vault does not hold (a lie, or a vault behind the one that sealed it)
    /// or has retired is refused as opening it would be (review round 33).
    ///
    /// # Errors
    /// [`Error::Malformed`]; [`Error::Mismatch`] when the blob's header names another
    /// partition or cell; [`Error::UnknownKeyVersion`] for a master version not held or a
    /// cell version above the current one; [`Error::KeyVersionRetired`] below the minimum.
    pub fn needs_reseal(&self, blob: &[u8]) -> Result<bool> {
        let header = Header::parse(blob)?;
        if !same_name(header.partition, self.partition.as_str().as_bytes()) {
            return Err(mismatch(
                "partition",
                self.partition.as_str(),
                header.partition,
            ));
        }
        if !same_name(header.cell, self.cell.as_str().as_bytes()) {
            return Err(mismatch("cell", self.cell.as_str(), header.cell));
        }
        let state = self.inner.lock();
        let cell = state.cell_versions(&self.partition, &self.cell);
        // The checks an open makes before it derives a key.
        check_version("master", header.master_version, state.master, |v| {
            state.masters.contains_key(&v)
        })?;
        check_version("cell", header.cell_version, cell, |v| v <= cell.current)?;
        Ok(header.master_version < state.master.current || header.cell_version < cell.current)
    }

    /// Rotates this cell's key: the next cell key version seals from now on, older versions
    /// still open until retired. Records the rotation first (checkpointed or flushed: durable
    /// before it takes effect).
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] when the version space is spent; [`Error::Audit`].
    /// [`Error::VersionsUnsettled`] after an earlier key-version change whose append or
    /// checkpoint failed (its record may be in the log; replay the log first).
    pub fn rotate(&self) -> Result<u32> {
        let mut state = self.inner.lock();
        let mut versions = state.cell_versions(&self.partition, &self.cell);
        let next = versions
            .current
            .checked_add(1)
            .ok_or(Error::InvalidKeyVersion {
                version: versions.current,
                reason: "no cell key version after u32::MAX",
            })?;
        self.inner.record_version_change(
            &mut state,
            rotation(
                Some(endpoint(&self.partition, &self.cell, Layer::Rest, next)?),
                next,
            )?,
        )?;
        versions.current = next;
        state
            .cells
            .insert((self.partition.clone(), self.cell.clone()), versions);
        self.inner.bump();
        Ok(next)
    }

    /// Retires this cell's key versions below `minimum`: their blobs no longer open and
    /// their cached keys are dropped. Records the retirement first
    /// (checkpointed or flushed: durable before it takes effect).
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] if `minimum` is 0 or above the current version;
    /// [`Error::Audit`].
    /// [`Error::VersionsUnsettled`] after an earlier key-version change whose append or
    /// checkpoint failed (its record may be in the log; replay the log first).
    pub fn retire_below(&self, minimum: u32) -> Result<()> {
        let mut state = self.inner.lock();
        let mut versions = state.cell_versions(&self.partition, &self.cell);
        if minimum == 0 || minimum > versions.current {
            return Err(Error::InvalidKeyVersion {
                version: minimum,
                reason: "the minimum must be between 1 and the current cell key version",
            });
        }
        self.inner.record_version_change(
            &mut state,
            rotation(
                Some(endpoint(&self.partition, &self.cell, Layer::Rest, minimum)?),
                minimum,
            )?,
        )?;
        versions.minimum = versions.minimum.max(minimum);
        state
            .cells
            .insert((self.partition.clone(), self.cell.clone()), versions);
        let (p, c) = (&self.partition, &self.cell);
        state
            .cache
            .evict(|slot| &slot.partition == p && &slot.cell == c && slot.cell_version < minimum);
        self.inner.bump();
        Ok(())
    }

    /// Restores this cell's current and minimum key versions kept elsewhere (after a
    /// restart; a new vault starts every cell at version 1). It only ever raises them: a
    /// version below the cell's own would un-retire a key (or seal under an old one), so
    /// it is refused. Each raise is recorded first, as [`rotate`](Self::rotate) and
    /// [`retire_below`](Self::retire_below) record theirs (a rotation record naming
    /// `current` if it is above the cell's, then a retirement record naming `minimum` if
    /// it is above the cell's), so that a log replayed by [`Vault::replay_versions`] ends
    /// at the same versions. Versions equal to the cell's change nothing and record nothing.
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] unless `1 <= minimum <= current`, or if `current` or
    /// `minimum` is below the cell's current or minimum version ([`key_versions`](Self::key_versions));
    /// [`Error::Audit`] if a record cannot be appended (the raises recorded before it hold).
    /// [`Error::VersionsUnsettled`] after an earlier key-version change whose append or
    /// checkpoint failed (its record may be in the log; replay the log first).
    pub fn restore_versions(&self, current: u32, minimum: u32) -> Result<()> {
        if minimum == 0 || minimum > current {
            return Err(Error::InvalidKeyVersion {
                version: minimum,
                reason: "versions need 1 <= minimum <= current",
            });
        }
        let mut state = self.inner.lock();
        let mut versions = state.cell_versions(&self.partition, &self.cell);
        if current < versions.current {
            return Err(Error::InvalidKeyVersion {
                version: current,
                reason: "a restore never lowers a cell's current key version (see \
                         Cell::key_versions): restore the versions kept at or after the last \
                         rotation",
            });
        }
        if minimum < versions.minimum {
            return Err(Error::InvalidKeyVersion {
                version: minimum,
                reason: "a restore never lowers a cell's retired minimum (that would make a \
                         retired key open again; see Cell::key_versions): restore the \
                         versions kept at or after the last retirement",
            });
        }
        let key = (self.partition.clone(), self.cell.clone());
        if current > versions.current {
            self.inner.record_version_change(
                &mut state,
                rotation(
                    Some(endpoint(&self.partition, &self.cell, Layer::Rest, current)?),
                    current,
                )?,
            )?;
            versions.current = current;
            state.cells.insert(key.clone(), versions);
            self.inner.bump();
        }
        if minimum > versions.minimum {
            self.inner.record_version_change(
                &mut state,
                rotation(
                    Some(endpoint(&self.partition, &self.cell, Layer::Rest, minimum)?),
                    minimum,
                )?,
            )?;
            versions.minimum = minimum;
            state.cells.insert(key, versions);
            let (p, c) = (&self.partition, &self.cell);
            state.cache.evict(|slot| {
                &slot.partition == p && &slot.cell == c && slot.cell_version < minimum
            });
            self.inner.bump();
        }
        Ok(())
    }

    /// This cell's current (sealing) and minimum (oldest opened) key versions.
    #[must_use]
    pub fn key_versions(&self) -> (u32, u32) {
        let v = self.inner.lock().cell_versions(&self.partition, &self.cell);
        (v.current, v.minimum)
    }

    /// The partition id.
    #[must_use]
    pub const fn partition_id(&self) -> &PartitionId {
        &self.partition
    }

    /// The cell id.
    #[must_use]
    pub const fn id(&self) -> &CellId {
        &self.cell
    }
}

/// A buffer that may hold plaintext: wiped on drop unless released as ciphertext.
struct Scratch(Vec<u8>);

impl Scratch {
    /// Hands out the buffer, which now holds only a sealed blob.
    fn release(mut self) -> Vec<u8> {
        core::mem::take(&mut self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        hexvault_aead::wipe(&mut self.0);
    }
}

/// Layer keys of one operation, index = layer number.
type LayerKeys = [Option<Arc<LayerKey>>; 3];

/// Opens the layers of a blob body in place, top layer first: for each layer that has a key,
/// the key commitment is checked (in constant time, before decrypting), then the layer's tag,
/// and the layer's ciphertext becomes the next layer's input. Returns the length of the
/// innermost plaintext at the start of `body`. The one peeling loop of `open` and `traverse`.
fn peel_layers(
    keys: &LayerKeys,
    layers: &[LayerParams; 3],
    aad: &[u8],
    body: &mut [u8],
) -> Result<usize> {
    let mut len = body.len();
    for (key, params) in keys.iter().zip(layers.iter()).rev() {
        let Some(key) = key else { continue };
        // Key commitment first: a blob opens under exactly one key per layer.
        if !key.commits_to(&params.commitment) {
            return Err(Error::Authentication);
        }
        let ct_len = len.checked_sub(TAG_LEN).ok_or(Error::Authentication)?;
        let region = body.get_mut(..len).ok_or(Error::Authentication)?;
        let (ct, tag) = region.split_at_mut(ct_len);
        open_layer(key, params, aad, ct, tag)?;
        len = ct_len;
    }
    Ok(len)
}

/// Verifies one layer's `tag` and decrypts `ct` in place (zeroed on failure). The caller
/// has checked the key commitment.
#[inline]
fn open_layer(
    key: &LayerKey,
    params: &LayerParams,
    aad: &[u8],
    ct: &mut [u8],
    tag: &[u8],
) -> Result<()> {
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Authentication)?;
    key.aead()
        .open_detached(&params.nonce, aad, ct, tag)
        .map_err(|_| Error::Authentication)
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Invalidates every `KeyMemo`: call with the state lock held, after changing versions.
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Appends a record and, unless it is a denial, makes it durable before returning
    /// ([`AuditLog::flush`](hexvault_audit::AuditLog::flush)): every other record
    /// accompanies a result about to be handed out (plaintext, blob, session, key version),
    /// which must never outlive its record in a crash, whatever durability the log was
    /// given. Denials are the one kind allowed to wait for a group-committed log's sync (a
    /// record kind added later is synced: the allow-list names the waiting kind). Under
    /// `Durability::EveryRecord` the flush finds nothing pending.
    fn append(&self, event: Event) -> Result<()> {
        let may_wait = event.kind == EventKind::Denied;
        self.log.append(event)?;
        if !may_wait {
            self.log.flush()?;
        }
        Ok(())
    }

    /// As [`Inner::append`] for a batch (one `append_batch`: a refused batch leaves no
    /// record, a failed write or sync may leave a prefix): synced before returning when any
    /// record of it is not a denial.
    fn append_batch(&self, events: Vec<Event>) -> Result<()> {
        let may_wait = events.iter().all(|event| event.kind == EventKind::Denied);
        self.log.append_batch(events)?;
        if !may_wait {
            self.log.flush()?;
        }
        Ok(())
    }

    /// Records a key-version change (rotation, retirement, restore, load) and makes the
    /// record durable before the caller lets the change take effect: a signed checkpoint
    /// over it (a file log writes its anchor then), or, for a log without a signing key
    /// (no checkpoints exist there), a flush. Under group commit a crash could otherwise
    /// lose a retirement already in force, and a cut back to the last anchor undo it.
    ///
    /// Refused while an earlier change is unsettled (see `State::versions_unsettled`); a
    /// change whose record was appended but not made durable leaves the vault unsettled.
    fn record_version_change(&self, state: &mut State, event: Event) -> Result<()> {
        if state.versions_unsettled {
            return Err(Error::VersionsUnsettled);
        }
        // An append that reports an error may still have stored the record (a database
        // whose commit was not acknowledged, review round 23): its outcome is unknown, so
        // it leaves the vault unsettled as a failed checkpoint does.
        let durable = self
            .log
            .append(event)
            .and_then(|_| match self.log.checkpoint() {
                Ok(_) => Ok(()),
                Err(hexvault_audit::Error::NoSigningKey) => self.log.flush(),
                Err(err) => Err(err),
            });
        if let Err(err) = durable {
            state.versions_unsettled = true;
            let stored = self.log.stored_len().ok();
            state.unsettled_through = match (state.unsettled_through, stored) {
                (Some(earlier), Some(now)) => Some(earlier.max(now)),
                _ => stored,
            };
            return Err(err.into());
        }
        Ok(())
    }

    /// Records a refused operation. The error that refused it is returned by the caller.
    fn deny(&self, at: Option<Endpoint>, err: &Error, context: Context) -> Result<()> {
        let mut event = Event::new(EventKind::Denied)
            .outcome(Outcome::Failure(class(err)))
            .context(context);
        event.source = at;
        self.append(event)
    }

    /// Checks the credentials `layer` needs and asks the resolver for the policy. Layer 0
    /// needs none: answered inline, without a call.
    #[inline]
    fn resolve<'a>(
        &self,
        partition: &PartitionId,
        cell: &CellId,
        layer: Layer,
        credentials: &Credentials<'a>,
    ) -> Result<Resolved<'a>> {
        if layer == Layer::Rest {
            return Ok(Resolved {
                policy: None,
                session: None,
            });
        }
        self.resolve_gated(partition, cell, layer, credentials)
    }

    fn resolve_gated<'a>(
        &self,
        partition: &PartitionId,
        cell: &CellId,
        layer: Layer,
        credentials: &Credentials<'a>,
    ) -> Result<Resolved<'a>> {
        let mut resolved = Resolved {
            policy: None,
            session: None,
        };
        if layer >= Layer::Access {
            let token = credentials.token.ok_or(Error::MissingCredential {
                layer: Layer::Access,
                needed: "an access token",
            })?;
            resolved.policy = Some(
                self.resolver
                    .resolve(token, partition, cell)
                    .ok_or(Error::Denied)?,
            );
        }
        if layer == Layer::Session {
            let session = credentials.session.ok_or(Error::MissingCredential {
                layer: Layer::Session,
                needed: "a live session",
            })?;
            if !session.is_live() || self.lock().refuses_session(session.id()) {
                return Err(Error::SessionEnded);
            }
            resolved.session = Some(session);
        }
        Ok(resolved)
    }

    /// The master and cell key versions and the keys of layers 0..=top (cached, derived on
    /// a miss), under one lock. `versions`: those a header names (checked: not retired,
    /// held), or `None` for the current ones.
    fn layer_keys(
        &self,
        partition: &PartitionId,
        cell: &CellId,
        top: Layer,
        versions: Option<(u32, u32)>,
        resolved: &Resolved<'_>,
        memo: Option<&KeyMemo>,
    ) -> Result<(u32, u32, LayerKeys)> {
        if top == Layer::Rest
            && let Some(memo) = memo
            && let Some((mv, cv, k0)) = memo.get(self.generation.load(Ordering::Acquire), versions)
        {
            return Ok((mv, cv, [Some(k0), None, None]));
        }
        let mut keys: LayerKeys = [None, None, None];
        let (master_version, cell_version);
        {
            let mut state = self.lock();
            let cell_versions = state.cell_versions(partition, cell);
            (master_version, cell_version) = match versions {
                None => (state.master.current, cell_versions.current),
                Some((mv, cv)) => {
                    check_version("master", mv, state.master, |v| {
                        state.masters.contains_key(&v)
                    })?;
                    check_version("cell", cv, cell_versions, |v| v <= cell_versions.current)?;
                    (mv, cv)
                }
            };
            let mut slot = Slot {
                partition: partition.clone(),
                cell: cell.clone(),
                layer: Layer::Rest,
                master_version,
                cell_version,
                policy: None,
                cell_key: None,
            };
            let k0 = match state.cache.get(&slot, None) {
                Some(k) => k,
                None => {
                    let ck = cell_key(&state, partition, cell, master_version, cell_version)?;
                    let built = Arc::new(LayerKey::new(keys::layer0_key(&ck)?, self.backend)?);
                    state.cache.insert(slot.clone(), Arc::clone(&built), None);
                    built
                }
            };
            if let Some(memo) = memo
                && master_version == state.master.current
                && cell_version == cell_versions.current
            {
                // Read under the state lock, where every bump happens.
                let generation = self.generation.load(Ordering::Acquire);
                memo.set(generation, master_version, cell_version, &k0);
            }
            keys[0] = Some(k0);
            if top >= Layer::Access {
                let policy = resolved
                    .policy
                    .as_ref()
                    .ok_or_else(|| internal("layer 1 without a resolved policy"))?;
                slot.layer = Layer::Access;
                slot.policy = Some(policy.policy.clone());
                let k1 = match state.cache.get(&slot, Some(&policy.secret)) {
                    Some(k) => k,
                    None => {
                        let ck = cell_key(&state, partition, cell, master_version, cell_version)?;
                        let key = keys::layer1_key(&ck, &policy.secret, &policy.policy)?;
                        let built = Arc::new(LayerKey::new(key, self.backend)?);
                        state
                            .cache
                            .insert(slot, Arc::clone(&built), Some(&policy.secret));
                        built
                    }
                };
                keys[1] = Some(k1);
            }
        }
        if top == Layer::Session {
            let session = resolved
                .session
                .ok_or_else(|| internal("layer 2 without a session"))?;
            // The session's cache is shared by every vault the session is used in: its slot
            // names this vault's cell key (by its layer-0 key's commitment).
            let commitment = keys[0]
                .as_ref()
                .map(|k0| *k0.commitment())
                .ok_or_else(|| internal("layer 2 without a layer-0 key"))?;
            let slot = Slot {
                partition: partition.clone(),
                cell: cell.clone(),
                layer: Layer::Session,
                master_version,
                cell_version,
                policy: None,
                cell_key: Some(commitment),
            };
            let k2 = session.layer_key(&slot, |session_key| {
                let state = self.lock();
                let ck = cell_key(&state, partition, cell, master_version, cell_version)?;
                drop(state);
                LayerKey::new(
                    keys::layer2_key(&ck, session_key, session.id())?,
                    self.backend,
                )
            })?;
            keys[2] = Some(k2);
        }
        Ok((master_version, cell_version, keys))
    }

    #[allow(clippy::too_many_arguments)]
    fn seal(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        object: &ObjectId,
        plaintext: &[u8],
        top: Layer,
        credentials: &Credentials<'_>,
        compress: bool,
    ) -> Result<Vec<u8>> {
        if top == Layer::Rest {
            // Layer 0 needs no credential (nothing to refuse) and has one key: the handle's
            // memo usually answers, and the blob is written without the general machinery.
            let (master_version, cell_version, key) = self.rest_key(memo, partition, cell, None)?;
            let content = compress_if(plaintext, compress)?;
            return seal_rest(
                &key,
                if compress { FLAG_COMPRESSED } else { 0 },
                master_version,
                cell_version,
                [
                    partition.as_str().as_bytes(),
                    cell.as_str().as_bytes(),
                    object.as_str().as_bytes(),
                ],
                content.as_ref().map_or(plaintext, |c| c.expose_secret()),
            );
        }
        // Every failure of a gated seal is recorded (a refused credential, an ended session,
        // a master key version not loaded, an exhausted key, ...), as for an open.
        self.seal_gated(
            memo,
            partition,
            cell,
            object,
            plaintext,
            top,
            credentials,
            compress,
        )
        .or_else(|err| {
            let cell_version = self.lock().cell_versions(partition, cell).current;
            let at = endpoint(partition, cell, top, cell_version)?;
            self.deny(Some(at), &err, context(None, credentials.session))?;
            Err(err)
        })
    }

    /// A seal at layer 1 or 2, without its denied record (the caller appends it).
    #[allow(clippy::too_many_arguments)]
    fn seal_gated(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        object: &ObjectId,
        plaintext: &[u8],
        top: Layer,
        credentials: &Credentials<'_>,
        compress: bool,
    ) -> Result<Vec<u8>> {
        let resolved = self.resolve(partition, cell, top, credentials)?;
        let (master_version, cell_version, keys) =
            self.layer_keys(partition, cell, top, None, &resolved, memo)?;
        let mut params = [LayerParams::default(); 3];
        let mut nonces: [Option<FreshNonce>; 3] = [None, None, None];
        for ((key, param), nonce) in keys.iter().zip(params.iter_mut()).zip(nonces.iter_mut()) {
            if let Some(key) = key {
                let fresh = key.aead().fresh_nonce()?;
                param.commitment = *key.commitment();
                param.nonce = *fresh.bytes();
                *nonce = Some(fresh);
            }
        }
        let policy = resolved
            .policy
            .as_ref()
            .map(|p| p.policy.as_str().as_bytes());
        let content = compress_if(plaintext, compress)?;
        let plaintext: &[u8] = content.as_ref().map_or(plaintext, |c| c.expose_secret());
        let len = header_len(
            top,
            partition.as_str().as_bytes(),
            cell.as_str().as_bytes(),
            object.as_str().as_bytes(),
            policy,
        );
        let header = Header {
            top,
            flags: if compress { FLAG_COMPRESSED } else { 0 },
            master_version,
            cell_version,
            partition: partition.as_str().as_bytes(),
            cell: cell.as_str().as_bytes(),
            object: object.as_str().as_bytes(),
            policy,
            session: resolved.session.map(|s| *s.id()),
            layers: params,
            len,
            aad_len: authenticated_len(top, len),
        };
        let layers = usize::from(top.number()) + 1;
        let total = header
            .len
            .checked_add(plaintext.len())
            .and_then(|n| n.checked_add(layers * TAG_LEN))
            .ok_or_else(too_long)?;
        // The plaintext is copied into a buffer wiped if sealing fails.
        let mut out = Scratch(Vec::with_capacity(total));
        write_header(&mut out.0, &header)?;
        if out.0.len() != header.len {
            return Err(internal(
                "written header length differs from the computed one",
            ));
        }
        hexvault_aead::extend_from_slice(&mut out.0, plaintext);
        out.0.resize(total, 0);
        let (head, body) = out.0.split_at_mut(header.len);
        let aad = head
            .get(..header.aad_len)
            .ok_or_else(|| internal("associated data longer than the header"))?;
        let mut len = plaintext.len();
        for (key, nonce) in keys.iter().zip(nonces) {
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
        Ok(out.release())
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        object: &ObjectId,
        blob: &[u8],
        credentials: &Credentials<'_>,
        record_open: bool,
        opened_by: Option<&mut Context>,
    ) -> Result<Plaintext> {
        // A layer-0 open is never recorded when it succeeds: the common case needs no header
        // value, no credentials and no audit data. Anything unusual takes the general path.
        if let Some(memo) = memo
            && let Some(plaintext) = self.open_rest_fast(memo, partition, cell, object, blob)
        {
            return Ok(plaintext);
        }
        let header = match Header::parse(blob) {
            Ok(h) => h,
            Err(err) => {
                let at = endpoint(partition, cell, Layer::Rest, 0)?;
                self.deny(Some(at), &err, context(None, credentials.session))?;
                return Err(err);
            }
        };
        let mut resolved = Resolved {
            policy: None,
            session: None,
        };
        let result = if header.top == Layer::Rest {
            self.open_rest(memo, partition, cell, object, blob, &header)
        } else {
            self.open_parsed(
                memo,
                partition,
                cell,
                object,
                blob,
                &header,
                credentials,
                &mut resolved,
            )
        };
        // An open record names the session that opened layer 2, never one merely presented
        // with the credentials (review round 43: a layer-1 open named the caller's session);
        // a denied record names the session presented, as it names the policy tried.
        let recorded = |event: Event, session: Option<&Session>| -> Result<Event> {
            let at = endpoint(partition, cell, header.top, header.cell_version)?;
            let ctx = context(resolved.policy.as_ref(), session);
            Ok(event.source(at).context(ctx))
        };
        match result {
            Ok(plaintext) => {
                if let Some(out) = opened_by {
                    *out = context(resolved.policy.as_ref(), resolved.session);
                }
                if record_open && header.top >= Layer::Access {
                    // Recorded before the plaintext is handed out; on failure it is wiped.
                    self.append(recorded(
                        Event::new(EventKind::Open).input(blob_ref(blob, &header)?),
                        resolved.session,
                    )?)?;
                }
                Ok(plaintext)
            }
            Err(err) => {
                self.append(recorded(
                    Event::new(EventKind::Denied).outcome(Outcome::Failure(class(&err))),
                    resolved.session.or(credentials.session),
                )?)?;
                Err(err)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open_parsed<'a>(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        object: &ObjectId,
        blob: &[u8],
        header: &Header<'_>,
        credentials: &Credentials<'a>,
        resolved: &mut Resolved<'a>,
    ) -> Result<Plaintext> {
        check_names(partition, cell, object, header)?;
        *resolved = self.resolve(partition, cell, header.top, credentials)?;
        if let (Some(policy), Some(found)) = (&resolved.policy, header.policy)
            && policy.policy.as_str().as_bytes() != found
        {
            return Err(mismatch("policy", policy.policy.as_str(), found));
        }
        if let (Some(session), Some(found)) = (resolved.session, header.session)
            && session.id() != &found
        {
            return Err(Error::Mismatch {
                field: "session",
                expected: session.id_hex(),
                found: found.iter().map(|b| format!("{b:02x}")).collect(),
            });
        }
        let (_, _, keys) = self.layer_keys(
            partition,
            cell,
            header.top,
            Some((header.master_version, header.cell_version)),
            resolved,
            memo,
        )?;
        let aad = blob
            .get(..header.aad_len)
            .ok_or_else(|| internal("header longer than the parsed blob"))?;
        let body = blob
            .get(header.len..)
            .ok_or_else(|| internal("header longer than the parsed blob"))?;
        // Decrypted in place inside an aead `Plaintext`: wiped in one pass when dropped, also
        // when authentication fails half-way through the layers.
        let mut buf = hexvault_aead::Plaintext::copy_of(body);
        let len = peel_layers(&keys, &header.layers, aad, buf.expose_secret_mut())?;
        buf.truncate(len);
        if header.flags & FLAG_COMPRESSED != 0 {
            return decompress_content(buf.expose_secret()).map(Plaintext);
        }
        Ok(Plaintext(buf))
    }
}

impl Inner {
    /// The master and cell key versions and the layer-0 key: from `memo` when it answers,
    /// else through [`Inner::layer_keys`] (which refills it). `versions` as there.
    #[inline]
    fn rest_key(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        versions: Option<(u32, u32)>,
    ) -> Result<(u32, u32, Arc<LayerKey>)> {
        if let Some(memo) = memo
            && let Some(hit) = memo.get(self.generation.load(Ordering::Acquire), versions)
        {
            return Ok(hit);
        }
        self.rest_key_locked(memo, partition, cell, versions)
    }

    #[cold]
    fn rest_key_locked(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        versions: Option<(u32, u32)>,
    ) -> Result<(u32, u32, Arc<LayerKey>)> {
        let none = Resolved {
            policy: None,
            session: None,
        };
        let (master_version, cell_version, [key, _, _]) =
            self.layer_keys(partition, cell, Layer::Rest, versions, &none, memo)?;
        let key = key.ok_or_else(|| internal("no layer-0 key for a layer-0 operation"))?;
        Ok((master_version, cell_version, key))
    }

    /// The common case of a layer-0 open: a well-formed uncompressed layer-0 blob of this
    /// partition, cell and object whose key versions `memo` holds, that authenticates.
    /// Checks what the general path checks (format, names, key versions through the memo,
    /// the key commitment in constant time before decrypting, the tag), reading the header
    /// in place. `None` for anything else, before or after decrypting: the caller then
    /// takes the general path, which repeats every check, reports what is wrong and
    /// records the refusal. Decrypts into an aead `Plaintext` (wiped when dropped, also on
    /// failure).
    #[inline]
    fn open_rest_fast(
        &self,
        memo: &KeyMemo,
        partition: &PartitionId,
        cell: &CellId,
        object: &ObjectId,
        blob: &[u8],
    ) -> Option<Plaintext> {
        let (fixed, mut rest) = blob.split_first_chunk::<FIXED_LEN>()?;
        let [
            m0,
            m1,
            m2,
            m3,
            version,
            top,
            flags,
            v0,
            v1,
            v2,
            v3,
            w0,
            w1,
            w2,
            w3,
        ] = *fixed;
        if [m0, m1, m2, m3] != MAGIC
            || version != FORMAT_VERSION
            || top != Layer::Rest.number()
            || flags != 0
        {
            return None;
        }
        let versions = (
            u32::from_be_bytes([v0, v1, v2, v3]),
            u32::from_be_bytes([w0, w1, w2, w3]),
        );
        for name in [partition.as_str(), cell.as_str(), object.as_str()] {
            let (len, tail) = rest.split_first()?;
            let (id, tail) = tail.split_at_checked(usize::from(*len))?;
            if !same_name(id, name.as_bytes()) {
                return None;
            }
            rest = tail;
        }
        // Format 2: the layer parameters that follow are not associated data.
        let (aad, _) = blob.split_at_checked(blob.len().checked_sub(rest.len())?)?;
        let (commitment, tail) = rest.split_first_chunk::<COMMIT_LEN>()?;
        let (nonce, body) = tail.split_first_chunk::<NONCE_LEN>()?;
        let (ct, tag) = body.split_last_chunk::<TAG_LEN>()?;
        // Versions 0 never reach a memo: it holds only current versions, which start at 1.
        let (_, _, key) = memo.get(self.generation.load(Ordering::Acquire), Some(versions))?;
        // Key commitment first, in constant time, before decrypting.
        if !key.commits_to(commitment) {
            return None;
        }
        let mut buf = hexvault_aead::Plaintext::copy_of(ct);
        key.aead()
            .open_detached(nonce, aad, buf.expose_secret_mut(), tag)
            .ok()?;
        Some(Plaintext(buf))
    }

    /// Opens a parsed layer-0 blob: the names checked, the key commitment checked in
    /// constant time, then the one layer decrypted in place inside an aead `Plaintext`
    /// (wiped when dropped, also on failure). What [`Inner::open_parsed`] does for a blob
    /// whose top layer is 0, without its general machinery.
    #[allow(clippy::too_many_arguments)]
    fn open_rest(
        &self,
        memo: Option<&KeyMemo>,
        partition: &PartitionId,
        cell: &CellId,
        object: &ObjectId,
        blob: &[u8],
        header: &Header<'_>,
    ) -> Result<Plaintext> {
        check_names(partition, cell, object, header)?;
        let (_, _, key) = self.rest_key(
            memo,
            partition,
            cell,
            Some((header.master_version, header.cell_version)),
        )?;
        let (head, body) = blob
            .split_at_checked(header.len)
            .ok_or_else(|| internal("header longer than the parsed blob"))?;
        let aad = head
            .get(..header.aad_len)
            .ok_or_else(|| internal("associated data longer than the header"))?;
        let ct_len = body
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Authentication)?;
        let (ct, tag) = body.split_at(ct_len);
        let [params, _, _] = &header.layers;
        // Commitment first, before the ciphertext is even copied.
        if !key.commits_to(&params.commitment) {
            return Err(Error::Authentication);
        }
        let mut buf = hexvault_aead::Plaintext::copy_of(ct);
        open_layer(&key, params, aad, buf.expose_secret_mut(), tag)?;
        if header.flags & FLAG_COMPRESSED != 0 {
            return decompress_content(buf.expose_secret()).map(Plaintext);
        }
        Ok(Plaintext(buf))
    }
}

/// Seals `content` as a layer-0 blob under `key`: the header written straight into the
/// output (no intermediate header value), the content copied after it into a buffer wiped
/// if sealing fails, encrypted in place, the tag appended within the reserved capacity (no
/// reallocation leaves a copy behind).
fn seal_rest(
    key: &LayerKey,
    flags: u8,
    master_version: u32,
    cell_version: u32,
    [partition, cell, object]: [&[u8]; 3],
    content: &[u8],
) -> Result<Vec<u8>> {
    let header_len = header_len(Layer::Rest, partition, cell, object, None);
    let total = header_len
        .checked_add(content.len())
        .and_then(|n| n.checked_add(TAG_LEN))
        .ok_or_else(too_long)?;
    let nonce = key.aead().fresh_nonce()?;
    let mut out = Scratch(Vec::with_capacity(total));
    write_rest_header(
        &mut out.0,
        flags,
        master_version,
        cell_version,
        partition,
        cell,
        object,
        key.commitment(),
        nonce.bytes(),
    )?;
    if out.0.len() != header_len {
        return Err(internal(
            "written header length differs from the computed one",
        ));
    }
    hexvault_aead::extend_from_slice(&mut out.0, content);
    let (head, body) = out.0.split_at_mut(header_len);
    let aad = head
        .get(..authenticated_len(Layer::Rest, header_len))
        .ok_or_else(|| internal("associated data longer than the header"))?;
    let tag = key.aead().seal_detached(nonce, aad, body)?;
    out.0.extend_from_slice(&tag);
    Ok(out.release())
}

/// Whether two identifiers are the same bytes, compared inline 8 bytes at a time: an open or
/// a traversal compares three short names per call, and a call into `bcmp` for each costs more
/// than the comparison (identifiers are public, so this need not be constant time).
#[inline]
pub(super) fn same_name(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a_words, a_tail) = a.as_chunks::<8>();
    let (b_words, b_tail) = b.as_chunks::<8>();
    let words = a_words.iter().zip(b_words).fold(0u64, |diff, (x, y)| {
        diff | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y))
    });
    let tail = a_tail
        .iter()
        .zip(b_tail)
        .fold(0u8, |diff, (x, y)| diff | (x ^ y));
    words == 0 && tail == 0
}

/// The partition, cell and object a header names, against those of the caller: a
/// difference is reported by name.
fn check_names(
    partition: &PartitionId,
    cell: &CellId,
    object: &ObjectId,
    header: &Header<'_>,
) -> Result<()> {
    for (field, expected, found) in [
        ("partition", partition.as_str(), header.partition),
        ("cell", cell.as_str(), header.cell),
        ("object", object.as_str(), header.object),
    ] {
        if !same_name(expected.as_bytes(), found) {
            return Err(mismatch(field, expected, found));
        }
    }
    Ok(())
}

/// `plaintext` framed as an LZ4 envelope when `compress` is set, else `None` (seal it as is).
#[cfg(feature = "compression")]
fn compress_if(plaintext: &[u8], compress: bool) -> Result<Option<hexvault_aead::Plaintext>> {
    if compress {
        compress_content(plaintext).map(Some)
    } else {
        Ok(None)
    }
}

#[cfg(not(feature = "compression"))]
fn compress_if(_plaintext: &[u8], compress: bool) -> Result<Option<hexvault_aead::Plaintext>> {
    if compress {
        return Err(Error::Internal {
            what: "compression asked for in a build without the compression feature",
        });
    }
    Ok(None)
}

/// Frames `plaintext` as an LZ4 envelope (compressed only if that is shorter), in a buffer
/// wiped in one pass when dropped (the aead's `Plaintext`; a large compressed plaintext is
/// not wiped byte by byte). On error the envelope crate has wiped and emptied `out`.
#[cfg(feature = "compression")]
fn compress_content(plaintext: &[u8]) -> Result<hexvault_aead::Plaintext> {
    use hexvault_envelope::{ByteStorage, Compression, Options};
    let storage = ByteStorage::new(Options::default());
    let mut out = Vec::new();
    storage
        .store_into_with(plaintext, Compression::Auto, &mut out)
        .map_err(|e| Error::Compression {
            reason: e.to_string(),
        })?;
    Ok(hexvault_aead::Plaintext::new(out))
}

/// Reads the envelope of a compressed blob into a buffer reserved up front (no reallocation
/// leaves an unwiped copy behind), handed out as the aead's `Plaintext` (wiped in one pass
/// when dropped). On error the envelope crate has wiped and emptied `out`.
#[cfg(feature = "compression")]
fn decompress_content(envelope: &[u8]) -> Result<hexvault_aead::Plaintext> {
    use hexvault_envelope::{ByteStorage, Options};
    // The blob's AEAD layers authenticated the envelope: one written without checksums
    // (by a build of this crate without the envelope's `checksum` feature) is as good.
    let storage = ByteStorage::new(Options::default().accept_unchecked(true));
    let reason = |e: hexvault_envelope::Error| Error::Compression {
        reason: e.to_string(),
    };
    let declared = storage.check(envelope).map_err(reason)?.original_len();
    let mut out = Vec::new();
    out.reserve_exact(usize::try_from(declared).map_err(|_| Error::Compression {
        reason: "declared length exceeds this platform's memory".to_owned(),
    })?);
    storage.retrieve_into(envelope, &mut out).map_err(reason)?;
    Ok(hexvault_aead::Plaintext::new(out))
}

#[cfg(not(feature = "compression"))]
fn decompress_content(_envelope: &[u8]) -> Result<hexvault_aead::Plaintext> {
    Err(Error::Compression {
        reason: "the blob was sealed compressed; build hexvault-cells with the `compression` \
                 feature to open it"
            .to_owned(),
    })
}

/// The error of a blob length past `usize`, built only on that path.
#[cold]
fn too_long() -> Error {
    Error::Aead(hexvault_aead::Error::TooLong {
        what: "cell blob length overflows usize",
    })
}

/// The cell key of these versions, from the master key `master_version` held in `state`.
fn cell_key(
    state: &State,
    partition: &PartitionId,
    cell: &CellId,
    master_version: u32,
    cell_version: u32,
) -> Result<hexvault_aead::Key> {
    let master = state
        .masters
        .get(&master_version)
        .ok_or(Error::UnknownKeyVersion {
            which: "master",
            version: master_version,
        })?;
    keys::cell_key(master, partition, cell, cell_version)
}

fn check_version(
    which: &'static str,
    version: u32,
    versions: Versions,
    held: impl Fn(u32) -> bool,
) -> Result<()> {
    if version < versions.minimum {
        return Err(Error::KeyVersionRetired {
            which,
            version,
            minimum: versions.minimum,
        });
    }
    if !held(version) {
        return Err(Error::UnknownKeyVersion { which, version });
    }
    Ok(())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).escape_default().to_string()
}

fn mismatch(field: &'static str, expected: &str, found: &[u8]) -> Error {
    Error::Mismatch {
        field,
        expected: expected.to_owned(),
        found: lossy(found),
    }
}

/// The audit endpoint of a cell at a layer and cell key version.
fn endpoint(
    partition: &PartitionId,
    cell: &CellId,
    layer: Layer,
    version: u32,
) -> Result<Endpoint> {
    Ok(Endpoint::new(
        hexvault_audit::PartitionId::new(partition.as_str().as_bytes())?,
        hexvault_audit::CellId::new(cell.as_str().as_bytes())?,
        hexvault_audit::Layer(layer.number()),
        hexvault_audit::KeyVersion(version),
    ))
}

/// The audit reference of a cell blob: its top layer's nonce and its final tag (the tag
/// authenticates the header and the ciphertext under the top layer's key; no hash, ADR 0081).
fn blob_ref(blob: &[u8], header: &Header<'_>) -> Result<BlobRef> {
    let tag = blob
        .len()
        .checked_sub(TAG_LEN)
        .and_then(|start| blob.get(start..))
        .ok_or_else(|| internal("blob shorter than its tag"))?;
    sealed_ref(header, tag)
}

/// [`blob_ref`] from the parsed header and the top layer's tag.
fn sealed_ref(header: &Header<'_>, tag: &[u8]) -> Result<BlobRef> {
    let nonce = header
        .layers
        .get(usize::from(header.top.number()))
        .map(|p| p.nonce)
        .ok_or_else(|| internal("top layer outside the header"))?;
    let tag: [u8; TAG_LEN] = tag
        .try_into()
        .map_err(|_| internal("a layer tag is not 16 bytes"))?;
    Ok(BlobRef::sealed(nonce, tag))
}

/// The audit context of an operation: policy, actor, session.
fn context(policy: Option<&PolicyContext>, session: Option<&Session>) -> Context {
    let mut ctx = Context::new();
    if let Some(policy) = policy {
        ctx.policy = ContextId::new(policy.policy.as_str()).ok();
        ctx.actor = policy
            .actor
            .as_ref()
            .and_then(|a| ContextId::new(a.as_str()).ok());
    }
    if let Some(session) = session {
        ctx.session = ContextId::new(session.id().to_vec()).ok();
    }
    ctx
}

/// A rotation or retirement record. A cell's names the cell and the cell key version; the
/// master's names the empty partition and cell and the master key version.
fn rotation(at: Option<Endpoint>, version: u32) -> Result<Event> {
    let at = match at {
        Some(at) => at,
        None => Endpoint::new(
            hexvault_audit::PartitionId::new(Vec::new())?,
            hexvault_audit::CellId::new(Vec::new())?,
            hexvault_audit::Layer(0),
            hexvault_audit::KeyVersion(version),
        ),
    };
    Ok(Event::new(EventKind::Rotate).destination(at))
}

/// The audit error class of an error.
const fn class(err: &Error) -> ErrorClass {
    match err {
        Error::Authentication => ErrorClass::Authentication,
        Error::Mismatch { .. } | Error::RouteMismatch { .. } => ErrorClass::ContextMismatch,
        Error::MissingCredential { .. }
        | Error::Denied
        | Error::UndeclaredRoute { .. }
        | Error::LayerNotAllowed { .. } => ErrorClass::PolicyDenied,
        Error::SessionEnded => ErrorClass::SessionExpired,
        Error::UnknownKeyVersion { .. } | Error::KeyVersionRetired { .. } => {
            ErrorClass::KeyUnavailable
        }
        Error::Aead(hexvault_aead::Error::KeyExhausted { .. }) => ErrorClass::RotationRequired,
        Error::Malformed { .. } | Error::InvalidId { .. } => ErrorClass::Malformed,
        _ => ErrorClass::Internal,
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("Vault")
            .field("master_version", &state.master.current)
            .field("cached_keys", &state.cache.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cell")
            .field("partition", &self.partition)
            .field("cell", &self.cell)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod same_name_tests {
    use proptest::prelude::*;

    use super::same_name;

    proptest! {
        /// The inline comparison agrees with slice equality, for lengths around each 8-byte
        /// word boundary and for names that differ in one byte only.
        #[test]
        fn same_name_is_slice_equality(a in proptest::collection::vec(any::<u8>(), 0..40),
                                       flip in any::<prop::sample::Index>(),
                                       bit in 0u8..8,
                                       cut in any::<prop::sample::Index>()) {
            prop_assert!(same_name(&a, &a));
            let mut b = a.clone();
            if !b.is_empty() {
                let at = flip.index(b.len());
                if let Some(byte) = b.get_mut(at) {
                    *byte ^= 1 << bit;
                }
                prop_assert!(!same_name(&a, &b));
                prop_assert!(!same_name(&b, &a));
                let shorter = a.get(..cut.index(a.len())).unwrap_or_default();
                prop_assert_eq!(same_name(&a, shorter), a.as_slice() == shorter);
            }
            prop_assert_eq!(same_name(&a, &b), a == b);
        }
    }
}
