//! The private key hierarchy (master → partition → cell → layer), layer keys with their key
//! commitment, and the bounded key cache. Nothing here is public: no caller ever holds a key.

use core::fmt;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use hexvault_aead::{Backend, DetachedKey, Key, KeyVersion, derive_key, derive_key_mixed};
use hexvault_keys::VaultMasterKey;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{CellId, Layer, PartitionId, PolicyId, PolicySecret, Result};

/// HKDF label: vault master → partition key (`info` part: partition id).
pub(crate) const PARTITION_LABEL: &str = "hexvault/v2/cells/partition";
/// HKDF label: partition key → cell key (`info` parts: cell id, `u32be` cell key version).
pub(crate) const CELL_LABEL: &str = "hexvault/v2/cells/cell";
/// HKDF label: cell key → layer-0 key.
pub(crate) const LAYER0_LABEL: &str = "hexvault/v2/cells/layer0";
/// HKDF label: cell key ‖ policy secret → layer-1 key (`info` part: policy id).
pub(crate) const LAYER1_LABEL: &str = "hexvault/v2/cells/layer1";
/// HKDF label: cell key ‖ session key → layer-2 key (`info` part: session id).
pub(crate) const LAYER2_LABEL: &str = "hexvault/v2/cells/layer2";
/// The fixed message of the key commitment `HMAC-SHA256(layer key, COMMIT_LABEL)`.
pub(crate) const COMMIT_LABEL: &[u8] = b"hexvault/v2/cells/key-commitment";

/// Length of a key commitment (full HMAC-SHA256 output, not truncated).
pub(crate) const COMMIT_LEN: usize = 32;

/// One layer's AES-256-GCM key schedule and the commitment to its key bytes, computed once
/// when the key is built (the hot path pays nothing for it).
pub(crate) struct LayerKey {
    aead: DetachedKey,
    commitment: [u8; COMMIT_LEN],
}

impl LayerKey {
    /// Commits to `key`, then builds its schedule (the key bytes are zeroized).
    pub(crate) fn new(key: Key, backend: Backend) -> Result<Self> {
        let commitment = commit(&key)?;
        Ok(Self {
            aead: DetachedKey::with_backend(key, KeyVersion::FIRST, backend)?,
            commitment,
        })
    }

    pub(crate) const fn aead(&self) -> &DetachedKey {
        &self.aead
    }

    pub(crate) const fn commitment(&self) -> &[u8; COMMIT_LEN] {
        &self.commitment
    }

    /// Constant-time comparison of a header's commitment with this key's: the XOR of the
    /// two, folded into one word without a data-dependent branch, then compared with zero
    /// by `subtle` (one optimisation barrier instead of one per byte).
    pub(crate) fn commits_to(&self, commitment: &[u8; COMMIT_LEN]) -> bool {
        let (ours, _) = self.commitment.as_chunks::<8>();
        let (theirs, _) = commitment.as_chunks::<8>();
        let diff = ours.iter().zip(theirs).fold(0u64, |acc, (a, b)| {
            acc | (u64::from_ne_bytes(*a) ^ u64::from_ne_bytes(*b))
        });
        diff.ct_eq(&0).into()
    }
}

impl fmt::Debug for LayerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerKey").finish_non_exhaustive()
    }
}

/// `HMAC-SHA256(key, COMMIT_LABEL)`: 32 bytes, so two keys with one commitment cost 2^128.
pub(crate) fn commit(key: &Key) -> Result<[u8; COMMIT_LEN]> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose_secret()).map_err(|_| {
        crate::Error::Internal {
            what: "HMAC-SHA256 refused a 32-byte key",
        }
    })?;
    mac.update(COMMIT_LABEL);
    Ok(mac.finalize().into_bytes().into())
}

/// The cell key of `(partition, cell, cell_version)` under `master`.
pub(crate) fn cell_key(
    master: &VaultMasterKey,
    partition: &PartitionId,
    cell: &CellId,
    cell_version: u32,
) -> Result<Key> {
    let partition_key = master.derive_key(PARTITION_LABEL, &[partition.as_str().as_bytes()])?;
    Ok(derive_key(
        &partition_key,
        CELL_LABEL,
        &[cell.as_str().as_bytes(), &cell_version.to_be_bytes()],
    )?)
}

pub(crate) fn layer0_key(cell_key: &Key) -> Result<Key> {
    Ok(derive_key(cell_key, LAYER0_LABEL, &[])?)
}

pub(crate) fn layer1_key(cell_key: &Key, secret: &PolicySecret, policy: &PolicyId) -> Result<Key> {
    let mix = Key::from_bytes(*secret.expose_secret());
    Ok(derive_key_mixed(
        cell_key,
        &mix,
        LAYER1_LABEL,
        &[policy.as_str().as_bytes()],
    )?)
}

pub(crate) fn layer2_key(cell_key: &Key, session_key: &Key, session_id: &[u8; 16]) -> Result<Key> {
    Ok(derive_key_mixed(
        cell_key,
        session_key,
        LAYER2_LABEL,
        &[session_id],
    )?)
}

/// Where a layer key sits in the cache.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Slot {
    pub(crate) partition: PartitionId,
    pub(crate) cell: CellId,
    pub(crate) layer: Layer,
    pub(crate) master_version: u32,
    pub(crate) cell_version: u32,
    pub(crate) policy: Option<PolicyId>,
    /// Layer 2 only (a session's cache): the commitment of the layer-0 key of the cell key
    /// the entry was derived from, which names that cell key. A session serves every vault
    /// it is used in, and two vaults under other masters share partition and cell ids and
    /// key versions: without it a session would hand one vault's layer-2 key to the other.
    /// `None` in a vault's own cache (one master per version there).
    pub(crate) cell_key: Option<[u8; COMMIT_LEN]>,
}

struct Entry {
    key: Arc<LayerKey>,
    /// For layer 1: the policy secret the key was derived from, compared in constant time
    /// on every lookup, so a wrong secret under a known policy id never gets the key.
    secret: Option<PolicySecret>,
    last_used: u64,
}

/// A bounded cache of layer keys. When full, the least recently used entry is evicted; an
/// evicted or dropped entry drops its key schedule and wipes its policy secret.
pub(crate) struct KeyCache {
    map: HashMap<Slot, Entry>,
    capacity: usize,
    clock: u64,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            capacity: capacity.max(1),
            clock: 0,
        }
    }

    /// The cached key of `slot`, if present and (for layer 1) derived from `secret`.
    pub(crate) fn get(
        &mut self,
        slot: &Slot,
        secret: Option<&PolicySecret>,
    ) -> Option<Arc<LayerKey>> {
        self.clock = self.clock.wrapping_add(1);
        let entry = self.map.get_mut(slot)?;
        let same_secret = match (&entry.secret, secret) {
            (None, None) => true,
            (Some(a), Some(b)) => bool::from(a.ct_eq(b)),
            _ => false,
        };
        if !same_secret {
            return None;
        }
        entry.last_used = self.clock;
        Some(Arc::clone(&entry.key))
    }

    /// Caches `key` at `slot` (replacing any entry there), evicting the least recently
    /// used entry when full.
    pub(crate) fn insert(&mut self, slot: Slot, key: Arc<LayerKey>, secret: Option<&PolicySecret>) {
        if !self.map.contains_key(&slot) && self.map.len() >= self.capacity {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(s, _)| s.clone());
            if let Some(oldest) = oldest {
                self.map.remove(&oldest);
            }
        }
        self.map.insert(
            slot,
            Entry {
                key,
                secret: secret.map(PolicySecret::duplicate),
                last_used: self.clock,
            },
        );
    }

    /// Drops every entry for which `stale` holds.
    pub(crate) fn evict(&mut self, stale: impl Fn(&Slot) -> bool) {
        self.map.retain(|slot, _| !stale(slot));
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The layer-0 key a handle (a `Cell`, or one end of a route) used last, so that the hot
/// path of a layer-0 seal, open or traversal looks nothing up in the vault's maps.
///
/// The memo is a never-reused identity; its entries live in a small table of each thread
/// that uses it (a thread-local lookup and no lock: ADR 0078), so clones of a handle share
/// the identity and each thread fills its own entry. An entry holds a [`Weak`] reference:
/// the cache keeps the key alive, and a key the cache evicts (or a retirement drops) is
/// dropped and, with the RustCrypto backend, wiped as before; the memo then misses. An
/// entry answers only while the vault's generation (bumped by every rotation, retirement,
/// load and restore of versions) is the one it was filled under, so its versions are then
/// still the current ones, held and not retired. Two memos sharing a table slot just
/// replace each other's entry.
pub(crate) struct KeyMemo {
    id: u64,
}

/// Source of memo identities: 64 bits, never reused in a process.
static NEXT_MEMO: AtomicU64 = AtomicU64::new(1);

/// Entries of each thread's memo table.
const LOCAL_SLOTS: usize = 8;

thread_local! {
    static LOCAL: RefCell<[Option<MemoEntry>; LOCAL_SLOTS]> =
        const { RefCell::new([const { None }; LOCAL_SLOTS]) };
}

struct MemoEntry {
    memo: u64,
    generation: u64,
    master_version: u32,
    cell_version: u32,
    key: Weak<LayerKey>,
}

impl Default for KeyMemo {
    fn default() -> Self {
        Self {
            id: NEXT_MEMO.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl KeyMemo {
    /// This memo's slot in a thread's table.
    const fn slot(&self) -> usize {
        let [low, ..] = self.id.to_le_bytes();
        low as usize % LOCAL_SLOTS
    }

    /// The memoized layer-0 key if it is still valid under `generation`: for sealing
    /// (`versions` `None`, the current versions) or for opening the versions a header names.
    #[inline]
    pub(crate) fn get(
        &self,
        generation: u64,
        versions: Option<(u32, u32)>,
    ) -> Option<(u32, u32, Arc<LayerKey>)> {
        LOCAL
            .try_with(|table| {
                let table = table.try_borrow().ok()?;
                let entry = table.get(self.slot())?.as_ref()?;
                if entry.memo != self.id || entry.generation != generation {
                    return None;
                }
                if versions.is_some_and(|v| v != (entry.master_version, entry.cell_version)) {
                    return None;
                }
                let key = entry.key.upgrade()?;
                Some((entry.master_version, entry.cell_version, key))
            })
            .ok()
            .flatten()
    }

    /// Remembers `key`, the layer-0 key of the current versions under `generation`, for
    /// this thread.
    pub(crate) fn set(
        &self,
        generation: u64,
        master_version: u32,
        cell_version: u32,
        key: &Arc<LayerKey>,
    ) {
        // Outside a thread's lifetime (its table already destroyed) nothing is remembered.
        let _ = LOCAL.try_with(|table| {
            if let Ok(mut table) = table.try_borrow_mut()
                && let Some(slot) = table.get_mut(self.slot())
            {
                *slot = Some(MemoEntry {
                    memo: self.id,
                    generation,
                    master_version,
                    cell_version,
                    key: Arc::downgrade(key),
                });
            }
        });
    }
}

impl fmt::Debug for KeyMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMemo").finish_non_exhaustive()
    }
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("entries", &self.map.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn slot(cell: &str) -> Slot {
        Slot {
            partition: PartitionId::new("p").unwrap(),
            cell: CellId::new(cell).unwrap(),
            layer: Layer::Rest,
            master_version: 1,
            cell_version: 1,
            policy: None,
            cell_key: None,
        }
    }

    fn key(b: u8) -> Arc<LayerKey> {
        Arc::new(LayerKey::new(Key::from_bytes([b; 32]), Backend::Ring).unwrap())
    }

    #[test]
    fn cache_is_bounded_and_evicts_the_least_recently_used() {
        let mut cache = KeyCache::new(2);
        cache.insert(slot("a"), key(1), None);
        cache.insert(slot("b"), key(2), None);
        assert!(cache.get(&slot("a"), None).is_some());
        cache.insert(slot("c"), key(3), None);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&slot("b"), None).is_none());
        assert!(cache.get(&slot("a"), None).is_some());
        assert!(cache.get(&slot("c"), None).is_some());
    }

    #[test]
    fn a_layer1_entry_needs_its_own_secret() {
        let mut cache = KeyCache::new(4);
        let right = PolicySecret::from_bytes(&mut [7; 32]);
        let wrong = PolicySecret::from_bytes(&mut [8; 32]);
        cache.insert(slot("a"), key(1), Some(&right));
        assert!(cache.get(&slot("a"), Some(&right)).is_some());
        assert!(cache.get(&slot("a"), Some(&wrong)).is_none());
        assert!(cache.get(&slot("a"), None).is_none());
    }

    #[test]
    fn commitment_is_the_full_hmac_and_differs_per_key() {
        let a = commit(&Key::from_bytes([1; 32])).unwrap();
        let b = commit(&Key::from_bytes([2; 32])).unwrap();
        assert_ne!(a, b);
        let k = LayerKey::new(Key::from_bytes([1; 32]), Backend::Ring).unwrap();
        assert!(k.commits_to(&a));
        assert!(!k.commits_to(&b));
    }
}
