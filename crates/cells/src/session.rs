//! `Session`: the random layer-2 key, held only in memory, expiring, wiped when it ends;
//! and `SessionExport`, the one way a session key leaves memory (for a command line that
//! keeps a session across processes in a session file).

use core::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use hexvault_aead::{KEY_LEN, Key};
use zeroize::ZeroizeOnDrop;

use crate::keys::{KeyCache, LayerKey, Slot};
use crate::{Error, Result};

/// Length of a session id (random, public: written in layer-2 blob headers).
pub const SESSION_ID_LEN: usize = 16;

/// Layer-2 keys one session keeps (one per cell key it touched, in any vault).
const SESSION_CACHE: usize = 256;

/// A layer-2 session: a random 32-byte key that exists only in this process's memory.
///
/// Started by [`Vault::start_session`](crate::Vault::start_session) with a lifetime. A session
/// is not tied to the vault that started it: in every vault it is used in, its layer-2 keys are
/// derived from that vault's cell key and the session key (the key tree of docs/formats.md),
/// and each is cached under the cell key it came from. When it [`end`](Self::end)s (also on
/// drop), its key and every layer-2 key derived from it are dropped and their raw bytes
/// wiped, so data sealed at layer 2 in it can no longer be opened through it. An export
/// ([`Session::export`]) holds the key: a session resumed from an export taken before the
/// end is refused by the vault that ended it ([`Vault::end_session`](crate::Vault::end_session)
/// remembers the id), but another vault, in another process, opens its data until the export
/// is destroyed (the command line's `session end` overwrites and deletes the session file,
/// and refuses a session file whose end the vault's log records). The
/// memory of the running process is out of scope: the default ring backend frees the AES
/// key schedules built from those keys without wiping them, and neither backend can wipe
/// copies that moving a key left on the stack (SECURITY.md, "Known limits"). Past its expiry it
/// refuses every use (expired once either clock passes it: the monotonic clock, which a wall
/// clock set back does not move, or the wall clock, which goes on while a suspended machine's
/// monotonic clock stands still; a wall clock set forward ends sessions early), and the first call that touches it then ([`is_live`](Self::is_live),
/// `Debug`, an export, a seal or open at layer 2) wipes it as `end` does: no timer runs, so
/// a session nobody touches after it expires keeps its key until that call, `end` or drop.
/// `Send + Sync`; not `Clone`.
pub struct Session {
    id: [u8; SESSION_ID_LEN],
    expires: Instant,
    /// The same expiry on the wall clock (what an export carries).
    expires_at: SystemTime,
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
        let expires_at = SystemTime::now().checked_add(ttl).ok_or(Error::Internal {
            what: "session lifetime overflows the clock",
        })?;
        Ok(Self {
            id,
            expires,
            expires_at,
            state: Mutex::new(State {
                key: Some(Key::generate()?),
                cache: KeyCache::new(SESSION_CACHE),
            }),
        })
    }

    /// Exports the session's id, key and wall-clock expiry, to resume it in another process
    /// with [`Session::resume`]. This is the one way a session key leaves memory: whoever
    /// holds the export opens and seals layer 2 under the session, so keep it like the key
    /// it is (a command line writes it to a mode-0600 session file). The expiry is a field
    /// of the export, not bound to the key: a holder can write a later one
    /// ([`SessionExport::new`]). The vault that started the session refuses it after its
    /// real expiry and once it ended it; another vault has only the export's word (the
    /// command line binds the expiry to the key, ADR 0083).
    ///
    /// # Errors
    /// [`Error::SessionEnded`] once the session expired or ended.
    pub fn export(&self) -> Result<SessionExport> {
        let mut state = self.lock();
        wipe_if_expired(&mut state, self.expires, self.expires_at);
        let Some(key) = state.key.as_ref() else {
            return Err(Error::SessionEnded);
        };
        Ok(SessionExport {
            id: self.id,
            key: *key.expose_secret(),
            expires_at: self.expires_at,
        })
    }

    /// Resumes an exported session in this process, live until the export's wall-clock
    /// expiry. The export's key is copied into the session and wiped with the export.
    ///
    /// # Errors
    /// [`Error::SessionEnded`] if the expiry has passed.
    pub fn resume(export: &SessionExport) -> Result<Self> {
        let left = export
            .expires_at
            .duration_since(SystemTime::now())
            .map_err(|_| Error::SessionEnded)?;
        if left.is_zero() {
            return Err(Error::SessionEnded);
        }
        let expires = Instant::now().checked_add(left).ok_or(Error::Internal {
            what: "session lifetime overflows the clock",
        })?;
        Ok(Self {
            id: export.id,
            expires,
            expires_at: export.expires_at,
            state: Mutex::new(State {
                key: Some(Key::from_bytes(export.key)),
                cache: KeyCache::new(SESSION_CACHE),
            }),
        })
    }

    /// When the session expires, on the wall clock.
    #[must_use]
    pub const fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The session id (public).
    #[must_use]
    pub const fn id(&self) -> &[u8; SESSION_ID_LEN] {
        &self.id
    }

    /// The expiry on both clocks (the vault's record of the sessions it starts compares
    /// against both, as [`expired`] does).
    pub(crate) const fn expiry(&self) -> (Instant, SystemTime) {
        (self.expires, self.expires_at)
    }

    /// `true` until the session expires or ends. Past its expiry, wipes it (as
    /// [`end`](Self::end)).
    #[must_use]
    pub fn is_live(&self) -> bool {
        let mut state = self.lock();
        wipe_if_expired(&mut state, self.expires, self.expires_at);
        state.key.is_some()
    }

    /// Ends the session now: its key and layer-2 keys are dropped and their raw bytes wiped
    /// (ring's key schedules are freed unwiped: see the type's docs). Idempotent.
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

    /// The layer-2 key of `slot`, derived with `derive(session key)` on a miss. A session
    /// is not tied to one vault, so `slot` must name the cell key the key is derived from
    /// ([`Slot::cell_key`]); a slot without it is an internal error. Fails with
    /// [`Error::SessionEnded`] once the session expired or ended (and wipes it then).
    pub(crate) fn layer_key(
        &self,
        slot: &Slot,
        derive: impl FnOnce(&Key) -> Result<LayerKey>,
    ) -> Result<Arc<LayerKey>> {
        if slot.cell_key.is_none() {
            return Err(Error::Internal {
                what: "a layer-2 key slot that does not name its cell key",
            });
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        wipe_if_expired(state, self.expires, self.expires_at);
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

/// `true` once either clock has reached the expiry: the monotonic one (a wall clock set
/// back does not extend a session) or the wall clock (the monotonic clock stands still while
/// the machine is suspended, the wall clock does not).
pub(crate) fn expired(expires: Instant, expires_at: SystemTime) -> bool {
    Instant::now() >= expires || SystemTime::now() >= expires_at
}

/// Drops (and so wipes) the session key and its layer-2 keys once the expiry has passed
/// ([`expired`]).
fn wipe_if_expired(state: &mut State, expires: Instant, expires_at: SystemTime) {
    if expired(expires, expires_at) {
        state.key = None;
        state.cache.clear();
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

/// A session's id, key and wall-clock expiry, made by [`Session::export`] and read back by
/// [`Session::resume`]: the one way a session key leaves memory. The key is wiped on drop;
/// `Debug` shows the id and expiry only; not `Clone`.
#[derive(ZeroizeOnDrop)]
pub struct SessionExport {
    #[zeroize(skip)]
    id: [u8; SESSION_ID_LEN],
    key: [u8; KEY_LEN],
    #[zeroize(skip)]
    expires_at: SystemTime,
}

impl SessionExport {
    /// Builds an export from its parts (as read back from a session file). The caller's
    /// key array is copied: wipe it if it was not moved in.
    #[must_use]
    pub const fn new(id: [u8; SESSION_ID_LEN], key: [u8; KEY_LEN], expires_at: SystemTime) -> Self {
        Self {
            id,
            key,
            expires_at,
        }
    }

    /// The session id (public: written in layer-2 blob headers).
    #[must_use]
    pub const fn id(&self) -> &[u8; SESSION_ID_LEN] {
        &self.id
    }

    /// The wall-clock expiry.
    #[must_use]
    pub const fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The session key. The one accessor: every use of it is a place to audit.
    #[must_use]
    pub const fn expose_secret(&self) -> &[u8; KEY_LEN] {
        &self.key
    }
}

impl fmt::Debug for SessionExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id: String = self.id.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("SessionExport")
            .field("id", &id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session whose wall-clock expiry has passed is over even though the monotonic
    /// clock says otherwise (it does not advance while the machine is suspended).
    #[test]
    fn a_session_past_its_wall_clock_expiry_is_over_whatever_the_monotonic_clock_says() {
        let mut session = Session::start(Duration::from_secs(3600)).unwrap();
        assert!(session.is_live());
        session.expires_at = SystemTime::now() - Duration::from_secs(1);
        assert!(!session.is_live());
        assert!(matches!(session.export(), Err(Error::SessionEnded)));
        assert!(session.lock().key.is_none(), "the key is wiped");
    }

    /// And the other way round: a wall clock set back does not extend it.
    #[test]
    fn a_session_past_its_monotonic_expiry_is_over_whatever_the_wall_clock_says() {
        let mut session = Session::start(Duration::from_secs(3600)).unwrap();
        session.expires = Instant::now();
        assert!(!session.is_live());
        assert!(expired(
            Instant::now(),
            SystemTime::now() + Duration::from_secs(3600)
        ));
        assert!(expired(
            Instant::now() + Duration::from_secs(3600),
            SystemTime::now()
        ));
        assert!(!expired(
            Instant::now() + Duration::from_secs(3600),
            SystemTime::now() + Duration::from_secs(3600)
        ));
    }
}
