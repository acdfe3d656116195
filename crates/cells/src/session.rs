//! `Session`: the random layer-2 key, held only in memory, expiring, wiped when it ends.

use core::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hexvault_aead::Key;

use crate::keys::{KeyCache, LayerKey, Slot};
use crate::{Error, Result};

/// Length of a session id (random, public: written in layer-2 blob headers).
pub const SESSION_ID_LEN: usize = 16;

/// Layer-2 keys one session keeps (one per cell and key versions it touched).
const SESSION_CACHE: usize = 256;

/// A layer-2 session: a random 32-byte key that exists only in this process's memory.
///
/// Started by [`Vault::start_session`](crate::Vault::start_session) with a lifetime. Once
/// it expires or [`end`](Self::end)s (also on drop), its key and every layer-2 key derived
/// from it are dropped and the key bytes wiped, so data sealed at layer 2 in it can no longer
/// be opened by anyone. `Send + Sync`; not `Clone`.
pub struct Session {
    id: [u8; SESSION_ID_LEN],
    expires: Instant,
    state: Mutex<State>,
}

struct State {
    key: Option<Key>,
    cache: KeyCache,
}

impl Session {
    pub(crate) fn start(ttl: Duration) -> Result<Self> {
        let mut id = [0u8; SESSION_ID_LEN];
        let random = Key::generate()?;
        if let Some(head) = random.expose_secret().get(..SESSION_ID_LEN) {
            id.copy_from_slice(head);
        }
        let expires = Instant::now().checked_add(ttl).ok_or(Error::Internal {
            what: "session lifetime overflows the clock",
        })?;
        Ok(Self {
            id,
            expires,
            state: Mutex::new(State {
                key: Some(Key::generate()?),
                cache: KeyCache::new(SESSION_CACHE),
            }),
        })
    }

    /// The session id (public).
    #[must_use]
    pub const fn id(&self) -> &[u8; SESSION_ID_LEN] {
        &self.id
    }

    /// `true` until the session expires or ends.
    #[must_use]
    pub fn is_live(&self) -> bool {
        Instant::now() < self.expires && self.lock().key.is_some()
    }

    /// Ends the session now: its key and layer-2 keys are dropped and wiped. Idempotent.
    pub fn end(&self) {
        let mut state = self.lock();
        state.key = None;
        state.cache.clear();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The layer-2 key of `slot`, derived with `derive(session key)` on a miss. Fails with
    /// [`Error::SessionEnded`] once the session expired or ended (and wipes it then).
    pub(crate) fn layer_key(
        &self,
        slot: &Slot,
        derive: impl FnOnce(&Key) -> Result<LayerKey>,
    ) -> Result<Arc<LayerKey>> {
        let mut guard = self.lock();
        let state = &mut *guard;
        if Instant::now() >= self.expires {
            state.key = None;
            state.cache.clear();
        }
        let Some(key) = state.key.as_ref() else {
            return Err(Error::SessionEnded);
        };
        if let Some(cached) = state.cache.get(slot, None) {
            return Ok(cached);
        }
        let built = Arc::new(derive(key)?);
        state.cache.insert(slot.clone(), Arc::clone(&built), None);
        Ok(built)
    }

    /// The id as hex, for audit records and error messages.
    pub(crate) fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id_hex())
            .field("live", &self.is_live())
            .finish_non_exhaustive()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.end();
    }
}
