//! The derived-key cache: (key type, path) → key, LRU with a time to live, zeroized on every exit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hexvault_derivation::DerivationPath;
use serde::{Deserialize, Serialize};

use crate::{Clock, DerivedKey, KeyType};

/// Size and lifetime of the derived-key cache.
///
/// * `capacity`: the most keys held at once; the least recently used is evicted (and
///   zeroized) to make room. `0` disables caching.
/// * `ttl`: how long a key may be served from the cache, counted from its derivation
///   (a hit does not extend it). An entry at or past its TTL is never returned; it is
///   removed and zeroized on the lookup that finds it, by the service's periodic sweep,
///   or when room is needed. `Duration::ZERO` disables caching.
///
/// The cache is cleared and zeroized on `lock`, after a request panics, and when the
/// service stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Maximum number of cached keys.
    pub capacity: usize,
    /// Time to live of a cached key, from its derivation.
    pub ttl: Duration,
}

impl CacheConfig {
    /// A cache of `capacity` keys living `ttl` each.
    #[must_use]
    pub const fn new(capacity: usize, ttl: Duration) -> Self {
        Self { capacity, ttl }
    }

    /// No caching: every request derives.
    pub const DISABLED: Self = Self::new(0, Duration::ZERO);
}

impl Default for CacheConfig {
    /// 256 keys, 5 minutes.
    fn default() -> Self {
        Self::new(256, Duration::from_secs(300))
    }
}

/// The cache's accounting, as reported by `status()`.
///
/// Counters are cumulative over the service's life (they survive `lock`); `len` is the
/// number of keys held right now. Every entry that leaves the cache is zeroized and
/// counted in exactly one of `evictions`, `expirations` or `cleared`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// Keys held now.
    pub len: u64,
    /// Configured capacity.
    pub capacity: u64,
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that had to derive (absent or expired).
    pub misses: u64,
    /// Keys inserted.
    pub insertions: u64,
    /// Keys evicted as least recently used (zeroized).
    pub evictions: u64,
    /// Keys removed because their TTL had passed (zeroized).
    pub expirations: u64,
    /// Keys removed by `lock`, a caught panic or shutdown (zeroized).
    pub cleared: u64,
}

impl CacheStats {
    /// Every key ever zeroized by the cache: `evictions + expirations + cleared`.
    #[must_use]
    pub const fn zeroized(&self) -> u64 {
        self.evictions
            .saturating_add(self.expirations)
            .saturating_add(self.cleared)
    }
}

pub(crate) type CacheKey = (KeyType, DerivationPath);

struct Entry {
    key: DerivedKey,
    inserted: std::time::Instant,
    tick: u64,
}

/// The cache shared by the service thread and its handles (ADR 0048): the handles read
/// warm keys from it directly, only the service thread inserts (it alone holds the seed).
/// Every method takes the lock for one operation; the lock is never held across a
/// derivation. A poisoned lock is taken over (the service clears the cache after any
/// caught panic).
#[derive(Clone)]
pub(crate) struct SharedCache(Arc<Mutex<KeyCache>>);

impl SharedCache {
    pub(crate) fn new(config: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        Self(Arc::new(Mutex::new(KeyCache::new(config, clock))))
    }

    fn lock(&self) -> MutexGuard<'_, KeyCache> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// As [`KeyCache::get`]: the service's lookup, which counts a miss.
    pub(crate) fn get(&self, key: &CacheKey) -> Option<DerivedKey> {
        self.lock().lookup(key, true)
    }

    /// A handle's lookup: as [`get`](Self::get) but a miss is not counted, because the
    /// request the handle then sends makes the service look up (and count) it once.
    pub(crate) fn get_warm(&self, key: &CacheKey) -> Option<DerivedKey> {
        self.lock().lookup(key, false)
    }

    /// As [`KeyCache::insert`].
    pub(crate) fn insert(&self, key: DerivedKey) {
        self.lock().insert(key);
    }

    /// As [`KeyCache::purge_expired`].
    pub(crate) fn purge_expired(&self) -> usize {
        self.lock().purge_expired()
    }

    /// As [`KeyCache::clear`].
    pub(crate) fn clear(&self) -> usize {
        self.lock().clear()
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.lock().stats()
    }

    pub(crate) fn sweep_interval(&self) -> Option<Duration> {
        self.lock().sweep_interval()
    }
}

/// The cache itself: LRU order, TTL, accounting. Shared through [`SharedCache`].
pub(crate) struct KeyCache {
    config: CacheConfig,
    clock: Arc<dyn Clock>,
    entries: HashMap<CacheKey, Entry>,
    /// Recency order: smallest tick = least recently used.
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    stats: CacheStats,
}

impl KeyCache {
    pub(crate) fn new(config: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            stats: CacheStats {
                capacity: u64::try_from(config.capacity).unwrap_or(u64::MAX),
                ..CacheStats::default()
            },
        }
    }

    const fn enabled(&self) -> bool {
        self.config.capacity > 0 && !self.config.ttl.is_zero()
    }

    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    /// A copy of the cached key for `(key_type, path)`, if present and not expired.
    /// Counts a hit or a miss.
    #[cfg(test)]
    pub(crate) fn get(&mut self, key: &CacheKey) -> Option<DerivedKey> {
        self.lookup(key, true)
    }

    /// A copy of the cached key for `(key_type, path)`, if present and not expired.
    /// Counts a hit, an expiration, and a miss if `count_miss`.
    fn lookup(&mut self, key: &CacheKey, count_miss: bool) -> Option<DerivedKey> {
        let miss = u64::from(count_miss);
        if !self.enabled() {
            self.stats.misses = self.stats.misses.saturating_add(miss);
            return None;
        }
        let now = self.clock.now();
        let ttl = self.config.ttl;
        let tick = self.next_tick();
        let Some(entry) = self.entries.get_mut(key) else {
            self.stats.misses = self.stats.misses.saturating_add(miss);
            return None;
        };
        if now.saturating_duration_since(entry.inserted) >= ttl {
            let old = entry.tick;
            self.remove(key, old);
            self.stats.expirations = self.stats.expirations.saturating_add(1);
            self.stats.misses = self.stats.misses.saturating_add(miss);
            return None;
        }
        let old = core::mem::replace(&mut entry.tick, tick);
        let copy = entry.key.duplicate();
        if let Some(k) = self.order.remove(&old) {
            self.order.insert(tick, k);
        }
        self.stats.hits = self.stats.hits.saturating_add(1);
        Some(copy)
    }

    /// Caches `key` under `(key.key_type(), key.path())`, evicting as needed.
    pub(crate) fn insert(&mut self, key: DerivedKey) {
        if !self.enabled() {
            return;
        }
        let cache_key = (key.key_type(), key.path().clone());
        if let Some(old) = self.entries.get(&cache_key).map(|e| e.tick) {
            // Replaced below; the old copy is zeroized when dropped (counted as evicted).
            self.remove(&cache_key, old);
            self.stats.evictions = self.stats.evictions.saturating_add(1);
        }
        if self.entries.len() >= self.config.capacity {
            self.purge_expired();
        }
        while self.entries.len() >= self.config.capacity {
            let Some((_, lru)) = self.order.pop_first() else {
                break;
            };
            if self.entries.remove(&lru).is_some() {
                self.stats.evictions = self.stats.evictions.saturating_add(1);
            }
        }
        let tick = self.next_tick();
        let inserted = self.clock.now();
        self.order.insert(tick, cache_key.clone());
        self.entries.insert(
            cache_key,
            Entry {
                key,
                inserted,
                tick,
            },
        );
        self.stats.insertions = self.stats.insertions.saturating_add(1);
        self.sync_len();
    }

    /// Removes (and zeroizes) every expired entry. Returns how many.
    pub(crate) fn purge_expired(&mut self) -> usize {
        if self.entries.is_empty() {
            return 0;
        }
        let now = self.clock.now();
        let ttl = self.config.ttl;
        let expired: Vec<(CacheKey, u64)> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.inserted) >= ttl)
            .map(|(k, e)| (k.clone(), e.tick))
            .collect();
        let n = expired.len();
        for (k, tick) in expired {
            self.remove(&k, tick);
        }
        self.stats.expirations = self
            .stats
            .expirations
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        n
    }

    /// Removes and zeroizes everything (lock, caught panic, shutdown). Returns how many.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.entries.len();
        // Dropping each `DerivedKey` zeroizes its boxed private key.
        self.entries.clear();
        self.order.clear();
        self.stats.cleared = self
            .stats
            .cleared
            .saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        self.sync_len();
        n
    }

    fn remove(&mut self, key: &CacheKey, tick: u64) {
        self.order.remove(&tick);
        self.entries.remove(key);
        self.sync_len();
    }

    fn sync_len(&mut self) {
        self.stats.len = u64::try_from(self.entries.len()).unwrap_or(u64::MAX);
    }

    pub(crate) const fn stats(&self) -> CacheStats {
        self.stats
    }

    /// How long the service may sleep before the next sweep of expired entries.
    pub(crate) fn sweep_interval(&self) -> Option<Duration> {
        if !self.enabled() || self.entries.is_empty() {
            return None;
        }
        Some(
            self.config
                .ttl
                .clamp(Duration::from_millis(10), Duration::from_secs(60)),
        )
    }
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;

    struct TestClock(Mutex<Instant>);

    impl Clock for TestClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    fn key(i: u32, t: KeyType) -> DerivedKey {
        let path: DerivationPath = format!("m/{i}'").parse().unwrap();
        let public = t.public_key_len().map(|n| vec![7; n]);
        DerivedKey::new(t, path, public, &[u8::try_from(i).unwrap(); 32]).unwrap()
    }

    #[test]
    fn reinsert_replaces_and_sweep_expires() {
        let clock = Arc::new(TestClock(Mutex::new(Instant::now())));
        let mut c = KeyCache::new(CacheConfig::new(4, Duration::from_secs(5)), clock.clone());
        c.insert(key(1, KeyType::Ed25519));
        c.insert(key(1, KeyType::Ed25519));
        assert_eq!(c.stats().len, 1);
        assert_eq!(c.stats().evictions, 1);
        c.insert(key(2, KeyType::Aes256Gcm));
        assert_eq!(c.order.len(), c.entries.len());
        assert_eq!(c.sweep_interval(), Some(Duration::from_secs(5)));
        *clock.0.lock().unwrap() += Duration::from_secs(5);
        assert_eq!(c.purge_expired(), 2);
        assert_eq!(c.stats().len, 0);
        assert!(c.order.is_empty());
        assert_eq!(c.sweep_interval(), None);
        let probe = (KeyType::Ed25519, "m/1'".parse().unwrap());
        assert!(c.get(&probe).is_none());
        assert_eq!(c.stats().zeroized(), 3);
    }

    /// The `Clock` docs: a clock that goes backwards makes an entry look younger, and the
    /// cache serves it past the TTL measured on a correct clock (an insertion instant ahead
    /// of `now` counts as just inserted).
    #[test]
    fn a_clock_that_goes_backwards_serves_an_entry_past_its_ttl() {
        let start = Instant::now() + Duration::from_secs(60);
        let clock = Arc::new(TestClock(Mutex::new(start)));
        let mut c = KeyCache::new(CacheConfig::new(4, Duration::from_secs(5)), clock.clone());
        c.insert(key(1, KeyType::Ed25519));
        let probe = (KeyType::Ed25519, "m/1'".parse().unwrap());
        // The clock set back by thirty seconds: the insertion instant lies ahead of now.
        *clock.0.lock().unwrap() = start - Duration::from_secs(30);
        assert!(
            c.get(&probe).is_some(),
            "served: the entry looks just inserted"
        );
        *clock.0.lock().unwrap() = start + Duration::from_secs(5);
        assert!(
            c.get(&probe).is_none(),
            "expired once the clock reaches the TTL"
        );
    }

    /// A reference model: a Vec in recency order (front = least recently used).
    #[derive(Default)]
    struct Model {
        entries: Vec<(u32, KeyType, u64)>, // (path index, type, inserted at)
        hits: u64,
        misses: u64,
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn matches_a_reference_lru_ttl_model(
            capacity in 0usize..5,
            ttl in 0u64..6,
            ops in proptest::collection::vec((0u32..6, proptest::bool::ANY, 0u64..3, 0u8..10), 1..80),
        ) {
            let start = Instant::now();
            let clock = Arc::new(TestClock(Mutex::new(start)));
            let mut c = KeyCache::new(CacheConfig::new(capacity, Duration::from_secs(ttl)), clock.clone());
            let mut m = Model::default();
            let mut now = 0u64;
            for (i, aes, advance, op) in ops {
                now += advance;
                *clock.0.lock().unwrap() = start + Duration::from_secs(now);
                let t = if aes { KeyType::Aes256Gcm } else { KeyType::Ed25519 };
                if op == 0 {
                    c.clear();
                    m.entries.clear();
                    continue;
                }
                // A derive: lookup, and insert on a miss.
                let probe = (t, format!("m/{i}'").parse().unwrap());
                let got = c.get(&probe);
                let enabled = capacity > 0 && ttl > 0;
                let pos = m.entries.iter().position(|e| e.0 == i && e.1 == t);
                let expected_hit = match pos {
                    Some(p) if now - m.entries[p].2 < ttl => {
                        let e = m.entries.remove(p);
                        m.entries.push(e);
                        true
                    }
                    Some(p) => {
                        m.entries.remove(p);
                        false
                    }
                    None => false,
                };
                proptest::prop_assert_eq!(got.is_some(), expected_hit);
                if let Some(k) = got {
                    proptest::prop_assert_eq!(k.key_type(), t);
                    proptest::prop_assert_eq!(k.expose_secret(), &[u8::try_from(i).unwrap(); 32]);
                    m.hits += 1;
                } else {
                    m.misses += 1;
                    c.insert(key(i, t));
                    if enabled {
                        if m.entries.len() >= capacity {
                            m.entries.retain(|e| now - e.2 < ttl);
                        }
                        while m.entries.len() >= capacity {
                            m.entries.remove(0);
                        }
                        m.entries.push((i, t, now));
                    }
                }
                let st = c.stats();
                proptest::prop_assert_eq!(st.len, m.entries.len() as u64);
                proptest::prop_assert_eq!((st.hits, st.misses), (m.hits, m.misses));
                proptest::prop_assert_eq!(c.order.len(), c.entries.len());
                proptest::prop_assert_eq!(st.insertions, st.len + st.zeroized());
            }
        }
    }
}
