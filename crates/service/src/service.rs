//! `VaultService` (the actor thread that owns the seed) and `VaultServiceHandle` (its clients).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::Instant;

use hexvault_aead::{EncryptedData, EncryptionKey, Key, KeyVersion, Plaintext};
use hexvault_derivation::{DerivationPath, ed25519};
use hexvault_keys::{AuditKey, AuditSigner, VaultMasterKey};
use hexvault_mnemonic::{Language, Mnemonic, Seed, WordCount};
use zeroize::Zeroizing;

use crate::cache::SharedCache;
use crate::handoff;
use crate::key::AES_KEY_LABEL;
use crate::paths::{encryption_path, is_served};
use crate::protocol::{Request, Response, Status, VaultState};
use crate::shares::PartialShares;
use crate::{
    CacheConfig, Clock, DerivedKey, Error, KeyType, Result, ShareProgress, SharesConfig,
    SystemClock,
};

/// How many `EncryptedData` keys (one per key version) the service keeps built at most; the
/// least recently used is dropped first (ADR 0046). Rebuilding an evicted key costs one
/// derivation, and the new instance draws a fresh random nonce prefix (ADR 0020).
pub const MAX_ENCRYPTION_KEYS: usize = 8;

/// What travels on the service's channel (ADR 0046).
enum Message {
    /// An encoded `VaultProtocol` request: the public interface.
    Frame(Envelope),
    /// An in-process request for a typed capability. It is never encoded: capabilities are
    /// not part of the protocol and cannot cross a transport.
    Capability(CapabilityRequest),
}

/// One frame on its way to the service, with the channel its response goes back on.
struct Envelope {
    frame: Zeroizing<Vec<u8>>,
    reply: SyncSender<Result<Zeroizing<Vec<u8>>>>,
}

/// A typed capability request, with a reply channel of exactly the type it answers.
enum CapabilityRequest {
    VaultMaster(SyncSender<Result<VaultMasterKey>>),
    VaultKeys(SyncSender<Result<(VaultMasterKey, AuditSigner)>>),
    AuditChainKey(SyncSender<Result<AuditKey>>),
    AuditSigner(SyncSender<Result<AuditSigner>>),
}

/// Configures and starts a [`VaultService`].
#[derive(Clone)]
#[must_use]
pub struct VaultServiceBuilder {
    cache: CacheConfig,
    clock: Arc<dyn Clock>,
    shares: Option<SharesConfig>,
}

impl core::fmt::Debug for VaultServiceBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VaultServiceBuilder")
            .field("cache", &self.cache)
            .field("shares", &self.shares)
            .finish_non_exhaustive()
    }
}

impl Default for VaultServiceBuilder {
    fn default() -> Self {
        Self {
            cache: CacheConfig::default(),
            clock: Arc::new(SystemClock),
            shares: None,
        }
    }
}

impl VaultServiceBuilder {
    /// The derived-key cache's capacity and time to live.
    pub const fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// The time source of the cache's TTL and of the share timeout (default
    /// [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Lets the vault unlock with SLIP-0039 shares handed in one at a time
    /// ([`VaultServiceHandle::submit_share`]), as `shares` says (ADR 0067). Without it,
    /// `submit_share` fails with [`Error::SharesNotEnabled`]. Unlocking with a phrase stays
    /// possible either way.
    pub const fn shares(mut self, shares: SharesConfig) -> Self {
        self.shares = Some(shares);
        self
    }

    /// Starts the service thread, locked. Returns the service (to wait for its end) and
    /// the first handle.
    ///
    /// # Errors
    /// [`Error::Spawn`] if the operating system refuses a new thread.
    pub fn spawn(self) -> Result<(VaultService, VaultServiceHandle)> {
        let (tx, rx) = mpsc::channel::<Message>();
        let actor = Actor::new(self.cache, self.clock, self.shares);
        let cache = actor.cache.clone();
        let counters = Arc::clone(&actor.counters);
        let thread = std::thread::Builder::new()
            .name("hexvault-vault-service".into())
            .spawn(move || actor.run(rx))
            .map_err(|e| Error::Spawn {
                reason: e.to_string(),
            })?;
        Ok((
            VaultService {
                thread: Some(thread),
            },
            VaultServiceHandle {
                tx,
                cache,
                counters,
            },
        ))
    }
}

/// The key-vault service: a thread that owns the seed and serves [`Request`]s.
///
/// Start it with [`VaultService::spawn`] or [`VaultService::builder`]; talk to it through
/// [`VaultServiceHandle`]s. It stops when a handle sends `shutdown`, or when the last
/// handle is dropped; either way it zeroizes the seed and the cache and drops the encryption
/// keys before the thread ends (their raw key bytes are wiped as soon as the key schedule is
/// built; ring's AES key schedule itself cannot be wiped, ADR 0021). Dropping the `VaultService` value does not stop it (it only
/// gives up the ability to [`join`](Self::join)).
#[derive(Debug)]
pub struct VaultService {
    thread: Option<JoinHandle<Status>>,
}

impl VaultService {
    /// A builder with the default cache and the system clock.
    pub fn builder() -> VaultServiceBuilder {
        VaultServiceBuilder::default()
    }

    /// Starts a locked service with `cache` and the system clock.
    ///
    /// # Errors
    /// [`Error::Spawn`] if the operating system refuses a new thread.
    pub fn spawn(cache: CacheConfig) -> Result<(Self, VaultServiceHandle)> {
        Self::builder().cache(cache).spawn()
    }

    /// Whether the service thread has ended.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the service to stop (after `shutdown`, or once every handle is dropped)
    /// and returns its final accounting, taken after the seed and cache were zeroized and
    /// the encryption keys dropped.
    ///
    /// Blocks for as long as a handle is alive and no `shutdown` was sent.
    ///
    /// # Errors
    /// [`Error::Internal`] if the service thread itself panicked (outside any request).
    pub fn join(mut self) -> Result<Status> {
        let thread = self.thread.take().ok_or(Error::Stopped)?;
        thread.join().map_err(|_| Error::Internal)
    }
}

/// A cloneable, `Send + Sync` client of the [`VaultService`].
///
/// Every protocol method encodes a [`Request`] frame, sends it to the service thread and
/// decodes the [`Response`] frame: the protocol is the interface. The capability methods
/// ([`vault_master_key`](Self::vault_master_key), [`audit_chain_key`](Self::audit_chain_key),
/// [`audit_signer`](Self::audit_signer), [`vault_keys`](Self::vault_keys)) are the one
/// exception: they hand typed keys to this
/// process over an in-process channel and have no protocol frame (ADR 0046). Calls from many
/// threads are served one at a time, in arrival order.
///
/// [`derive`](Self::derive) of a key already in the cache is served on the caller's thread
/// from the cache the service shares with its handles, with no hand-off to the service
/// thread (ADR 0048); a miss is one request to the service, which derives from the seed
/// (the seed never leaves the service thread) and fills the cache.
///
/// A caller waiting for its reply polls for it for up to 50 µs before it blocks, and so
/// does the service thread for its next request after each answer (on a machine with more
/// than one CPU; ADR 0091): a reply that comes within that time costs no thread wake-up.
#[derive(Clone)]
pub struct VaultServiceHandle {
    tx: Sender<Message>,
    cache: SharedCache,
    counters: Arc<Counters>,
}

/// The accounting shared by the service thread and the handles' warm-cache path.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    panics: AtomicU64,
}

impl Counters {
    fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }
}

impl core::fmt::Debug for VaultServiceHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VaultServiceHandle").finish_non_exhaustive()
    }
}

macro_rules! expect_response {
    ($response:expr, $pattern:pat => $value:expr) => {
        match $response {
            $pattern => Ok($value),
            Response::Error(e) => Err(e),
            other => Err(unexpected(&other)),
        }
    };
}

fn unexpected(response: &Response) -> Error {
    Error::Protocol {
        reason: format!("unexpected response {:?} to this request", response.name()),
    }
}

impl VaultServiceHandle {
    /// Sends one encoded request frame and returns the encoded response frame.
    ///
    /// This is the transport-level entry point (e.g. for a frame received over a pipe);
    /// the typed methods below are built on it.
    ///
    /// # Errors
    /// [`Error::Stopped`] if the service has stopped.
    /// [`Error::Internal`] if the service could not encode its response (a bug).
    pub fn call_frame(&self, frame: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
        let (reply, response) = mpsc::sync_channel(1);
        self.tx
            .send(Message::Frame(Envelope { frame, reply }))
            .map_err(|_| Error::Stopped)?;
        handoff::recv(&response).map_err(|_| Error::Stopped)?
    }

    /// Sends a capability request over the in-process channel and waits for its typed reply.
    fn capability<T>(
        &self,
        request: impl FnOnce(SyncSender<Result<T>>) -> CapabilityRequest,
    ) -> Result<T> {
        let (reply, response) = mpsc::sync_channel(1);
        self.tx
            .send(Message::Capability(request(reply)))
            .map_err(|_| Error::Stopped)?;
        handoff::recv(&response).map_err(|_| Error::Stopped)?
    }

    /// The vault master key of the unlocked seed, as the typed capability that exposes no
    /// bytes (`hexvault_keys::VaultMasterKey`; the cells crate builds its key tree from it).
    ///
    /// In process only: not a protocol message, it never crosses a transport (ADR 0046).
    /// The key at `m/74'/2'/1'/0'` itself stays refused by [`derive`](Self::derive).
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::Stopped`], [`Error::Internal`].
    pub fn vault_master_key(&self) -> Result<VaultMasterKey> {
        self.capability(CapabilityRequest::VaultMaster)
    }

    /// The vault master key and the audit checkpoint signer of the unlocked seed, derived
    /// from the same seed in one request: a `lock` and an `unlock` with another phrase by
    /// another handle can come between two separate requests, never inside this one (what
    /// assembling a vault needs: its data and its audit trail under one root). In process
    /// only, like [`vault_master_key`](Self::vault_master_key).
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::Stopped`], [`Error::Internal`].
    pub fn vault_keys(&self) -> Result<(VaultMasterKey, AuditSigner)> {
        self.capability(CapabilityRequest::VaultKeys)
    }

    /// The audit chain's HMAC key of the unlocked seed (`hexvault_keys::AuditKey`, derived
    /// from the vault master). In process only, like
    /// [`vault_master_key`](Self::vault_master_key).
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::Stopped`], [`Error::Internal`].
    pub fn audit_chain_key(&self) -> Result<AuditKey> {
        self.capability(CapabilityRequest::AuditChainKey)
    }

    /// The audit checkpoint signer of the unlocked seed (`hexvault_keys::AuditSigner`, the
    /// ed25519 key at `m/74'/2'/2'/0'`). In process only, like
    /// [`vault_master_key`](Self::vault_master_key).
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::Stopped`], [`Error::Internal`].
    pub fn audit_signer(&self) -> Result<AuditSigner> {
        self.capability(CapabilityRequest::AuditSigner)
    }

    /// Sends a [`Request`] and returns the service's [`Response`] (which may be
    /// [`Response::Error`]).
    ///
    /// # Errors
    /// [`Error::Stopped`] if the service has stopped; [`Error::Protocol`] if a frame does
    /// not decode.
    pub fn call(&self, request: &Request) -> Result<Response> {
        let response = self.call_frame(request.to_bytes()?)?;
        Response::from_bytes(&response)
    }

    /// Unlocks the vault with an existing BIP-39 `phrase` and `passphrase` ("" for none).
    ///
    /// # Errors
    /// [`Error::AlreadyUnlocked`], [`Error::InvalidMnemonic`], [`Error::Stopped`].
    pub fn unlock(&self, phrase: &str, passphrase: &str) -> Result<()> {
        let request = Request::Unlock {
            phrase: Zeroizing::new(phrase.to_owned()),
            passphrase: Zeroizing::new(passphrase.to_owned()),
        };
        expect_response!(self.call(&request)?, Response::Unlocked => ())
    }

    /// Generates a new English mnemonic of `words` words, unlocks the vault with it (empty
    /// passphrase), and returns the phrase: show it to the user once, then drop it.
    ///
    /// # Errors
    /// [`Error::AlreadyUnlocked`], [`Error::InvalidMnemonic`] (RNG failure),
    /// [`Error::Stopped`].
    pub fn unlock_new(&self, words: WordCount) -> Result<Zeroizing<String>> {
        self.unlock_new_with_passphrase(words, "")
    }

    /// As [`unlock_new`](Self::unlock_new) with a BIP-39 passphrase.
    ///
    /// # Errors
    /// As [`unlock_new`](Self::unlock_new).
    pub fn unlock_new_with_passphrase(
        &self,
        words: WordCount,
        passphrase: &str,
    ) -> Result<Zeroizing<String>> {
        let request = Request::UnlockNew {
            words: u8::try_from(words.words()).map_err(|_| Error::InvalidMnemonic {
                reason: "word count out of range".into(),
            })?,
            passphrase: Zeroizing::new(passphrase.to_owned()),
        };
        expect_response!(self.call(&request)?, Response::UnlockedNew { phrase } => phrase)
    }

    /// Hands in one SLIP-0039 share (passphrase ""), as Vault's unseal does: the answer says
    /// how far the set is ("2 of 3"), and the share that completes it unlocks the vault.
    ///
    /// # Errors
    /// As [`submit_share_with_passphrase`](Self::submit_share_with_passphrase).
    pub fn submit_share(&self, share: &str) -> Result<ShareProgress> {
        self.submit_share_with_passphrase(share, "")
    }

    /// As [`submit_share`](Self::submit_share); `passphrase` is used if this share completes
    /// the set (the SLIP-0039 passphrase, or the BIP-39 one: see [`crate::ShareSeed`]).
    ///
    /// The service holds the partial set on its thread; a refused share discards it
    /// (zeroized), and so do `lock`, stop and the configured timeout.
    ///
    /// # Errors
    /// [`Error::SharesNotEnabled`], [`Error::AlreadyUnlocked`], [`Error::InvalidShare`]
    /// (a bad share, a share of another backup, a duplicate, a digest mismatch),
    /// [`Error::Stopped`].
    pub fn submit_share_with_passphrase(
        &self,
        share: &str,
        passphrase: &str,
    ) -> Result<ShareProgress> {
        let request = Request::SubmitShare {
            share: Zeroizing::new(share.to_owned()),
            passphrase: Zeroizing::new(passphrase.to_owned()),
        };
        expect_response!(self.call(&request)?, Response::ShareProgress(p) => p)
    }

    /// Locks the vault: zeroizes the seed and the cache and drops the encryption keys (ring's
    /// key schedules are freed, not wiped, ADR 0021), and discards a partial set of shares.
    /// Locking a locked vault succeeds; it changes nothing but that discard.
    ///
    /// # Errors
    /// [`Error::Stopped`].
    pub fn lock(&self) -> Result<()> {
        expect_response!(self.call(&Request::Lock)?, Response::Locked => ())
    }

    /// The state and the service's accounting.
    ///
    /// # Errors
    /// [`Error::Stopped`].
    pub fn status(&self) -> Result<Status> {
        expect_response!(self.call(&Request::Status)?, Response::Status(s) => s)
    }

    /// The key of `key_type` at `path`, from the cache or freshly derived.
    ///
    /// A cached key is returned without a hand-off to the service thread (the path
    /// policy is checked first, the TTL as on every lookup, and the call counts as a
    /// request and a cache hit); anything else is one [`Request::Derive`] to the service.
    ///
    /// Served: the device subtree `m/74'/2'/3'/…` and every path outside hexvault's
    /// purpose `m/74'` (ADR 0046). `m` and the rest of `m/74'` (the application branch
    /// `m/74'/2'` with its credential keys, vault master and audit signer; the reserved
    /// branches `0'`, `1'` and the branches of future layouts) are refused, locked or not.
    ///
    /// # Errors
    /// [`Error::ReservedPath`] (see above), [`Error::Locked`], [`Error::Derivation`] (e.g. a
    /// non-hardened ed25519 step), [`Error::Stopped`].
    pub fn derive(&self, key_type: KeyType, path: &DerivationPath) -> Result<DerivedKey> {
        if let Some(hit) = self.warm_derive(key_type, path)? {
            return Ok(hit);
        }
        let request = Request::Derive {
            key_type,
            path: path.clone(),
        };
        expect_response!(self.call(&request)?, Response::Derived(k) => k)
    }

    /// Encrypts `plaintext` as `EncryptedData` key_version 2 (key at `PATHS::ENCRYPTION`),
    /// binding `aad` (the caller's context, e.g. the credential's name).
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::Encryption`], [`Error::Stopped`].
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<EncryptedData> {
        self.encrypt_with_version(
            plaintext,
            aad,
            KeyVersion::new(hexvault_aead::HD_KEY_VERSION)?,
        )
    }

    /// As [`encrypt`](Self::encrypt) under the key of `key_version` (see
    /// [`crate::encryption_path`]).
    ///
    /// # Errors
    /// [`Error::LegacyKeyVersion`] for 1, [`Error::UnsupportedKeyVersion`], and as
    /// [`encrypt`](Self::encrypt).
    pub fn encrypt_with_version(
        &self,
        plaintext: &[u8],
        aad: &[u8],
        key_version: KeyVersion,
    ) -> Result<EncryptedData> {
        let request = Request::Encrypt {
            key_version: key_version.get(),
            plaintext: Zeroizing::new(plaintext.to_vec()),
            aad: aad.to_vec(),
        };
        expect_response!(self.call(&request)?, Response::Encrypted(d) => d)
    }

    /// Decrypts `data` with the key its `key_version` names and the same `aad` as at
    /// encryption.
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::LegacyKeyVersion`] (key_version 1: migrate it),
    /// [`Error::UnsupportedKeyVersion`], [`Error::Authentication`], [`Error::Encryption`]
    /// (malformed fields), [`Error::Stopped`].
    pub fn decrypt(&self, data: &EncryptedData, aad: &[u8]) -> Result<Plaintext> {
        let request = Request::Decrypt {
            data: data.clone(),
            aad: aad.to_vec(),
        };
        expect_response!(self.call(&request)?, Response::Decrypted { plaintext } => plaintext)
    }

    /// The cached key for `(key_type, path)` if the path is served and the key is warm,
    /// `None` to ask the service. Only the service thread fills the cache, and it empties
    /// it on `lock`, after a caught panic and on stop, so a hit is a key the unlocked
    /// service derived. A panic in the lookup is handled as one inside the service: the
    /// panic is counted, the cache cleared, and the call fails with [`Error::Internal`].
    fn warm_derive(&self, key_type: KeyType, path: &DerivationPath) -> Result<Option<DerivedKey>> {
        if !is_served(path) {
            return Ok(None);
        }
        let cache_key = (key_type, path.clone());
        match catch_unwind(AssertUnwindSafe(|| self.cache.get_warm(&cache_key))) {
            Ok(Some(hit)) => {
                self.counters.request();
                Ok(Some(hit))
            }
            // Not counted here: the service counts the request and the miss it serves.
            Ok(None) => Ok(None),
            Err(_) => {
                self.counters.request();
                self.counters.panic();
                let _ = catch_unwind(AssertUnwindSafe(|| self.cache.clear()));
                Err(Error::Internal)
            }
        }
    }

    /// Re-encrypts `data` under the newer key version `to_version`, binding the same `aad`;
    /// the plaintext never leaves the service.
    ///
    /// # Errors
    /// [`Error::InvalidRotation`] unless `to_version` is newer than the data's, and as
    /// [`decrypt`](Self::decrypt) and [`encrypt_with_version`](Self::encrypt_with_version).
    pub fn rotate(
        &self,
        data: &EncryptedData,
        aad: &[u8],
        to_version: KeyVersion,
    ) -> Result<EncryptedData> {
        let request = Request::Rotate {
            data: data.clone(),
            aad: aad.to_vec(),
            to_version: to_version.get(),
        };
        expect_response!(self.call(&request)?, Response::Rotated(d) => d)
    }

    /// Stops the service: it zeroizes the seed and the cache, drops the encryption keys and
    /// ends; every handle then gets
    /// [`Error::Stopped`].
    ///
    /// # Errors
    /// [`Error::Stopped`] if it had already stopped.
    pub fn shutdown(&self) -> Result<()> {
        expect_response!(self.call(&Request::Shutdown)?, Response::Stopping => ())
    }
}

/// The state owned by the service thread.
struct Actor {
    /// Boxed so the 64 seed bytes are never moved (and copied) after unlock.
    seed: Option<Box<Seed>>,
    /// At most [`MAX_ENCRYPTION_KEYS`] `EncryptionKey`s, one per key version, least recently
    /// used first (each keeps its own nonce sequence).
    encryption_keys: EncryptionKeys,
    /// Shared with the handles, which read warm keys from it (ADR 0048).
    cache: SharedCache,
    seeds_zeroized: u64,
    /// Requests and caught panics, shared with the handles' warm-cache path.
    counters: Arc<Counters>,
    /// The partial set of shares, when the service unlocks with shares.
    shares: Option<PartialShares>,
}

impl Actor {
    fn new(cache: CacheConfig, clock: Arc<dyn Clock>, shares: Option<SharesConfig>) -> Self {
        Self {
            seed: None,
            encryption_keys: EncryptionKeys::default(),
            shares: shares.map(|config| PartialShares::new(config, Arc::clone(&clock))),
            cache: SharedCache::new(cache, clock),
            seeds_zeroized: 0,
            counters: Arc::new(Counters::default()),
        }
    }

    /// How long the service thread may wait for a message: until the next cache sweep or
    /// the expiry of the partial set of shares, whichever comes first.
    fn wait(&mut self) -> Option<core::time::Duration> {
        // The expiry reads the clock: a panic there is contained like every other, and a
        // partial set whose age cannot be read is dropped (review round 22: it unwound out
        // of `run`, past the wipe at its end).
        let expiry = match self.shares.as_mut() {
            Some(shares) => match catch_unwind(AssertUnwindSafe(|| shares.until_expiry())) {
                Ok(expiry) => expiry,
                Err(_) => {
                    shares.clear();
                    None
                }
            },
            None => None,
        };
        match (self.cache.sweep_interval(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Drops an expired partial set of shares; a panic in the clock is contained.
    fn expire_shares(&mut self) {
        if let Some(shares) = self.shares.as_mut() {
            let _ = catch_unwind(AssertUnwindSafe(|| shares.expire()));
        }
    }

    fn run(mut self, rx: Receiver<Message>) -> Status {
        let mut last_sweep = Instant::now();
        loop {
            let message = match self.wait() {
                Some(wait) => {
                    // Requests arriving more often than the interval would restart the
                    // timeout for ever: sweep when the interval has passed, whatever arrives
                    // (review round 12: expired keys stayed unwiped under steady traffic).
                    if last_sweep.elapsed() >= wait {
                        self.sweep();
                        self.expire_shares();
                        last_sweep = Instant::now();
                    }
                    // Wait only until the next sweep is due, not a whole interval after
                    // the last message (an expired key then stayed up to 2x the interval;
                    // review round 13, LOW).
                    match handoff::recv_timeout(&rx, wait.saturating_sub(last_sweep.elapsed())) {
                        Ok(e) => e,
                        Err(RecvTimeoutError::Timeout) => {
                            self.sweep();
                            self.expire_shares();
                            last_sweep = Instant::now();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                None => match handoff::recv(&rx) {
                    Ok(e) => e,
                    Err(_) => break,
                },
            };
            let envelope = match message {
                Message::Frame(envelope) => envelope,
                Message::Capability(request) => {
                    self.serve_capability(request);
                    continue;
                }
            };
            let (frame, stop) = self.serve(&envelope.frame);
            // The caller may have given up; its frame is zeroized either way.
            let _ = envelope.reply.send(frame);
            drop(envelope);
            if stop {
                break;
            }
        }
        // Refuse everything still queued (their callers get `Stopped`), then wipe.
        drop(rx);
        self.lock();
        self.status()
    }

    fn sweep(&mut self) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.cache.purge_expired()));
    }

    /// Answers one capability request on its typed channel; a panic in it is caught.
    fn serve_capability(&mut self, request: CapabilityRequest) {
        self.counters.request();
        // The caller may have given up; an unsent capability is dropped (and zeroized).
        match request {
            CapabilityRequest::VaultMaster(reply) => {
                let key = self.guarded(|seed| Ok(VaultMasterKey::from_seed(seed)?));
                let _ = reply.send(key);
            }
            CapabilityRequest::VaultKeys(reply) => {
                let keys = self.guarded(|seed| {
                    Ok((
                        VaultMasterKey::from_seed(seed)?,
                        AuditSigner::from_seed(seed)?,
                    ))
                });
                let _ = reply.send(keys);
            }
            CapabilityRequest::AuditChainKey(reply) => {
                let key = self.guarded(|seed| Ok(hexvault_keys::audit_chain_key(seed)?));
                let _ = reply.send(key);
            }
            CapabilityRequest::AuditSigner(reply) => {
                let signer = self.guarded(|seed| Ok(AuditSigner::from_seed(seed)?));
                let _ = reply.send(signer);
            }
        }
    }

    /// Runs `derive` on the seed ([`Error::Locked`] without one), catching a panic as
    /// [`Error::Internal`].
    fn guarded<T>(&mut self, derive: impl FnOnce(&Seed) -> Result<T>) -> Result<T> {
        let seed = self.seed.as_deref();
        match catch_unwind(AssertUnwindSafe(|| derive(seed.ok_or(Error::Locked)?))) {
            Ok(result) => result,
            Err(_) => {
                self.counters.panic();
                Err(Error::Internal)
            }
        }
    }

    /// Decodes, dispatches and encodes one request; a panic anywhere in it is caught. A
    /// response that cannot be encoded (a bug) reaches the caller as [`Error::Internal`].
    fn serve(&mut self, frame: &[u8]) -> (Result<Zeroizing<Vec<u8>>>, bool) {
        self.counters.request();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let (response, stop) = match Request::from_bytes(frame) {
                Ok(request) => self.dispatch(request),
                Err(e) => (Response::Error(e), false),
            };
            (response.to_bytes(), stop)
        }));
        let (encoded, stop) = match outcome {
            Ok(done) => done,
            Err(_) => {
                self.counters.panic();
                // The request may have left the cache half-updated: start it afresh. A
                // partial set of shares is discarded as on any error.
                let _ = catch_unwind(AssertUnwindSafe(|| self.cache.clear()));
                if let Some(shares) = self.shares.as_mut() {
                    shares.clear();
                }
                (Response::Error(Error::Internal).to_bytes(), false)
            }
        };
        let frame = encoded
            .or_else(|e| Response::Error(e).to_bytes())
            .map_err(|_| Error::Internal);
        (frame, stop)
    }

    fn dispatch(&mut self, request: Request) -> (Response, bool) {
        // A partial set older than its timeout is gone before any request is served.
        self.expire_shares();
        let result = match request {
            Request::Shutdown => {
                // Locked before the reply: once `shutdown` returns, the shared cache is
                // empty, so no handle is served a warm key from a stopped service.
                self.lock();
                return (Response::Stopping, true);
            }
            Request::Unlock { phrase, passphrase } => self
                .unlock(&phrase, &passphrase)
                .map(|()| Response::Unlocked),
            Request::UnlockNew { words, passphrase } => self
                .unlock_new(words, &passphrase)
                .map(|phrase| Response::UnlockedNew { phrase }),
            Request::Lock => {
                self.lock();
                Ok(Response::Locked)
            }
            Request::Status => Ok(Response::Status(self.status())),
            Request::Derive { key_type, path } => {
                self.derive(key_type, path).map(Response::Derived)
            }
            Request::Encrypt {
                key_version,
                plaintext,
                aad,
            } => self
                .encrypt(key_version, &plaintext, &aad)
                .map(Response::Encrypted),
            Request::Decrypt { data, aad } => self
                .decrypt(&data, &aad)
                .map(|plaintext| Response::Decrypted { plaintext }),
            Request::Rotate {
                data,
                aad,
                to_version,
            } => self.rotate(&data, &aad, to_version).map(Response::Rotated),
            Request::SubmitShare { share, passphrase } => self
                .submit_share(&share, &passphrase)
                .map(Response::ShareProgress),
        };
        (result.unwrap_or_else(Response::Error), false)
    }

    fn status(&self) -> Status {
        Status {
            state: if self.seed.is_some() {
                VaultState::Unlocked
            } else {
                VaultState::Locked
            },
            cache: self.cache.stats(),
            encryption_keys: u64::try_from(self.encryption_keys.len()).unwrap_or(u64::MAX),
            seeds_zeroized: self.seeds_zeroized,
            requests: self.counters.requests.load(Ordering::Relaxed),
            panics: self.counters.panics.load(Ordering::Relaxed),
        }
    }

    fn seed(&self) -> Result<&Seed> {
        self.seed.as_deref().ok_or(Error::Locked)
    }

    fn unlock(&mut self, phrase: &str, passphrase: &str) -> Result<()> {
        if self.seed.is_some() {
            return Err(Error::AlreadyUnlocked);
        }
        let mnemonic = Mnemonic::parse(phrase)?;
        self.seed = Some(Box::new(mnemonic.to_seed(passphrase)));
        self.drop_partial_shares();
        Ok(())
    }

    /// An unlock by phrase ends a share unlock in progress: its partial set is wiped now,
    /// not when its timeout passes (a share handed in later is refused as `AlreadyUnlocked`).
    fn drop_partial_shares(&mut self) {
        if let Some(shares) = self.shares.as_mut() {
            shares.clear();
        }
    }

    fn unlock_new(&mut self, words: u8, passphrase: &str) -> Result<Zeroizing<String>> {
        if self.seed.is_some() {
            return Err(Error::AlreadyUnlocked);
        }
        let words = WordCount::try_from(usize::from(words))?;
        let mnemonic = Mnemonic::generate(words, Language::English)?;
        self.seed = Some(Box::new(mnemonic.to_seed(passphrase)));
        self.drop_partial_shares();
        Ok(mnemonic.phrase())
    }

    fn submit_share(&mut self, share: &str, passphrase: &str) -> Result<ShareProgress> {
        let already = self.seed.is_some();
        let shares = self.shares.as_mut().ok_or(Error::SharesNotEnabled)?;
        if already {
            shares.clear();
            return Err(Error::AlreadyUnlocked);
        }
        let (progress, seed) = shares.submit(share, passphrase)?;
        if let Some(seed) = seed {
            self.seed = Some(Box::new(seed));
        }
        Ok(progress)
    }

    fn lock(&mut self) {
        // A partial set of shares goes with the seed.
        if let Some(shares) = self.shares.as_mut() {
            shares.clear();
        }
        // The shared cache first: once it is empty no handle can be served a warm key, so
        // no derive succeeds after `lock` returns.
        self.cache.clear();
        if self.seed.take().is_some() {
            // Dropping the box zeroizes the seed.
            self.seeds_zeroized = self.seeds_zeroized.saturating_add(1);
        }
        // Dropping an EncryptionKey frees its key schedule; ring's cannot be wiped (ADR 0021),
        // its raw key bytes were wiped when the schedule was built.
        self.encryption_keys.clear();
    }

    fn derive(&mut self, key_type: KeyType, path: DerivationPath) -> Result<DerivedKey> {
        if !is_served(&path) {
            return Err(Error::ReservedPath {
                path: path.to_string(),
            });
        }
        let seed = self.seed.as_deref().ok_or(Error::Locked)?;
        let cache_key = (key_type, path);
        if let Some(hit) = self.cache.get(&cache_key) {
            return Ok(hit);
        }
        let (key_type, path) = cache_key;
        let key = derive_uncached(seed, key_type, path)?;
        let copy = key.duplicate();
        self.cache.insert(key);
        Ok(copy)
    }

    /// The key of `key_version`: the kept one, or a new one that is kept (evicting the least
    /// recently used past [`MAX_ENCRYPTION_KEYS`]).
    fn encryption_key(&mut self, key_version: u32) -> Result<&EncryptionKey> {
        let seed = self.seed.as_deref().ok_or(Error::Locked)?;
        encryption_path(key_version)?;
        if self.encryption_keys.promote(key_version) {
            return self.encryption_keys.newest();
        }
        let key = hexvault_keys::encryption_key_for_version(seed, key_version)?;
        self.encryption_keys.insert(key);
        self.encryption_keys.newest()
    }

    fn encrypt(&mut self, key_version: u32, plaintext: &[u8], aad: &[u8]) -> Result<EncryptedData> {
        let key = self.encryption_key(key_version)?;
        Ok(EncryptedData::encrypt(key, plaintext, aad)?)
    }

    /// Decrypts with the kept key of the data's version, or with a new key that is kept only
    /// if the data authenticates: a failed decrypt leaves no key behind, so made-up versions
    /// cost the service nothing.
    fn decrypt(&mut self, data: &EncryptedData, aad: &[u8]) -> Result<Plaintext> {
        let seed = self.seed.as_deref().ok_or(Error::Locked)?;
        let key_version = data.key_version();
        encryption_path(key_version)?;
        if self.encryption_keys.promote(key_version) {
            return Ok(data.decrypt(self.encryption_keys.newest()?, aad)?);
        }
        let key = hexvault_keys::encryption_key_for_version(seed, key_version)?;
        let plaintext = data.decrypt(&key, aad)?;
        self.encryption_keys.insert(key);
        Ok(plaintext)
    }

    fn rotate(
        &mut self,
        data: &EncryptedData,
        aad: &[u8],
        to_version: u32,
    ) -> Result<EncryptedData> {
        self.seed()?;
        let from = data.key_version();
        // Names the legacy / unsupported source version before anything else.
        encryption_path(from)?;
        if to_version <= from {
            return Err(Error::InvalidRotation {
                from,
                to: to_version,
            });
        }
        encryption_path(to_version)?;
        let plaintext = self.decrypt(data, aad)?;
        self.encrypt(to_version, plaintext.expose_secret(), aad)
    }
}

/// Whatever ends the service thread, its end wipes: `run` locks before it returns, and an
/// unwind out of `run` (a panic no request caught) drops the actor here, which empties the
/// shared cache the handles read and drops the seed and every key with it (review round 22).
impl Drop for Actor {
    fn drop(&mut self) {
        self.lock();
    }
}

/// Derives a key of `key_type` at `path` from the seed (no cache).
fn derive_uncached(seed: &Seed, key_type: KeyType, path: DerivationPath) -> Result<DerivedKey> {
    match key_type {
        KeyType::Ed25519 => {
            let node = ed25519::PrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
            DerivedKey::new(
                key_type,
                path,
                Some(node.public_key().to_vec()),
                node.expose_secret(),
            )
        }
        KeyType::Aes256Gcm => {
            // ADR 0041 (amended): HKDF of the node's private key under the AES label, never
            // of the chain code.
            let node = ed25519::PrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
            let private_key = Key::from_bytes(*node.expose_secret());
            let aes = hexvault_aead::derive_key(&private_key, AES_KEY_LABEL, &[])?;
            DerivedKey::new(key_type, path, None, aes.expose_secret())
        }
        #[cfg(feature = "secp256k1")]
        KeyType::Secp256k1 => {
            let node = hexvault_derivation::secp256k1::ExtendedPrivateKey::derive_from_seed(
                seed.expose_secret(),
                &path,
            )?;
            DerivedKey::new(
                key_type,
                path,
                Some(node.public_key().to_vec()),
                node.expose_secret(),
            )
        }
    }
}

/// The kept `EncryptionKey`s, least recently used at the front, at most
/// [`MAX_ENCRYPTION_KEYS`], at most one per key version.
#[derive(Default)]
struct EncryptionKeys(VecDeque<EncryptionKey>);

impl EncryptionKeys {
    /// Moves the key of `key_version` to the back (most recently used); whether it is kept.
    fn promote(&mut self, key_version: u32) -> bool {
        let Some(at) = self.0.iter().position(|k| k.key_version() == key_version) else {
            return false;
        };
        match self.0.remove(at) {
            Some(key) => {
                self.0.push_back(key);
                true
            }
            None => false,
        }
    }

    /// The most recently used key (called right after `promote` or `insert`).
    fn newest(&self) -> Result<&EncryptionKey> {
        // A key was just promoted or inserted; an empty list here is a bug.
        self.0.back().ok_or(Error::Internal)
    }

    /// Keeps `key` as the most recently used, dropping the least recently used past the bound.
    fn insert(&mut self, key: EncryptionKey) {
        self.0.retain(|k| k.key_version() != key.key_version());
        while self.0.len() >= MAX_ENCRYPTION_KEYS {
            self.0.pop_front();
        }
        self.0.push_back(key);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::SystemClock;

    fn key(path: &str) -> DerivedKey {
        DerivedKey::new(KeyType::Aes256Gcm, path.parse().unwrap(), None, &[9; 32]).unwrap()
    }

    /// A handle whose service is gone: any hand-off fails with `Stopped`, so whatever it
    /// still answers was served from the shared cache on the caller's thread.
    fn handle_without_service(cache: &SharedCache) -> VaultServiceHandle {
        let (tx, rx) = mpsc::channel::<Message>();
        drop(rx);
        VaultServiceHandle {
            tx,
            cache: cache.clone(),
            counters: Arc::new(Counters::default()),
        }
    }

    #[test]
    fn a_warm_derive_is_served_without_the_service_thread() {
        let cache = SharedCache::new(
            CacheConfig::new(8, Duration::from_secs(60)),
            Arc::new(SystemClock),
        );
        cache.insert(key("m/74'/2'/3'/1'"));
        let v = handle_without_service(&cache);
        let hit = v
            .derive(KeyType::Aes256Gcm, &"m/74'/2'/3'/1'".parse().unwrap())
            .unwrap();
        assert_eq!(hit.expose_secret(), &[9; 32]);
        assert_eq!(v.counters.requests.load(Ordering::Relaxed), 1);
        assert_eq!((cache.stats().hits, cache.stats().misses), (1, 0));
        // A miss (other path, other type) goes to the service: here, gone.
        assert_eq!(
            v.derive(KeyType::Aes256Gcm, &"m/74'/2'/3'/2'".parse().unwrap()),
            Err(Error::Stopped)
        );
        assert_eq!(
            v.derive(KeyType::Ed25519, &"m/74'/2'/3'/1'".parse().unwrap()),
            Err(Error::Stopped)
        );
        // The handle counts no miss: the service counts the one it serves.
        assert_eq!(cache.stats().misses, 0);
    }

    #[test]
    fn the_path_policy_is_checked_before_the_cache() {
        let cache = SharedCache::new(
            CacheConfig::new(8, Duration::from_secs(60)),
            Arc::new(SystemClock),
        );
        // Never inserted by the service; planted here to show the policy comes first.
        cache.insert(key("m/74'/2'/1'/0'"));
        let v = handle_without_service(&cache);
        assert_eq!(
            v.derive(KeyType::Aes256Gcm, &"m/74'/2'/1'/0'".parse().unwrap()),
            Err(Error::Stopped)
        );
        assert_eq!(cache.stats().hits, 0);
    }

    #[test]
    fn an_expired_key_is_not_served_warm() {
        let cache = SharedCache::new(CacheConfig::new(8, Duration::ZERO), Arc::new(SystemClock));
        cache.insert(key("m/74'/2'/3'/1'"));
        let v = handle_without_service(&cache);
        assert_eq!(
            v.derive(KeyType::Aes256Gcm, &"m/74'/2'/3'/1'".parse().unwrap()),
            Err(Error::Stopped)
        );
    }
}
