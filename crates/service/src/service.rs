//! `VaultService` (the actor thread that owns the seed) and `VaultServiceHandle` (its clients).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;

use hexvault_aead::{EncryptedData, EncryptionKey, Key, KeyVersion};
use hexvault_derivation::{DerivationPath, ed25519};
use hexvault_mnemonic::{Language, Mnemonic, Seed, WordCount};
use zeroize::Zeroizing;

use crate::cache::KeyCache;
use crate::key::AES_KEY_LABEL;
use crate::paths::{encryption_path, is_reserved};
use crate::protocol::{Request, Response, Status, VaultState};
use crate::{CacheConfig, Clock, DerivedKey, Error, KeyType, Result, SystemClock};

/// One frame on its way to the service, with the channel its response goes back on.
struct Envelope {
    frame: Zeroizing<Vec<u8>>,
    reply: SyncSender<Zeroizing<Vec<u8>>>,
}

/// Configures and starts a [`VaultService`].
#[derive(Clone)]
#[must_use]
pub struct VaultServiceBuilder {
    cache: CacheConfig,
    clock: Arc<dyn Clock>,
}

impl core::fmt::Debug for VaultServiceBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VaultServiceBuilder")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Default for VaultServiceBuilder {
    fn default() -> Self {
        Self {
            cache: CacheConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl VaultServiceBuilder {
    /// The derived-key cache's capacity and time to live.
    pub const fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// The time source of the cache's TTL (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Starts the service thread, locked. Returns the service (to wait for its end) and
    /// the first handle.
    ///
    /// # Errors
    /// [`Error::Spawn`] if the operating system refuses a new thread.
    pub fn spawn(self) -> Result<(VaultService, VaultServiceHandle)> {
        let (tx, rx) = mpsc::channel::<Envelope>();
        let actor = Actor::new(self.cache, self.clock);
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
            VaultServiceHandle { tx },
        ))
    }
}

/// The key-vault service: a thread that owns the seed and serves [`Request`]s.
///
/// Start it with [`VaultService::spawn`] or [`VaultService::builder`]; talk to it through
/// [`VaultServiceHandle`]s. It stops when a handle sends `shutdown`, or when the last
/// handle is dropped; either way it zeroizes the seed, the encryption keys and the cache
/// before the thread ends. Dropping the `VaultService` value does not stop it (it only
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
    /// and returns its final accounting, taken after everything was zeroized.
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
/// Every method encodes a [`Request`] frame, sends it to the service thread and decodes
/// the [`Response`] frame: the protocol is the interface. Calls from many threads are
/// served one at a time, in arrival order.
#[derive(Clone, Debug)]
pub struct VaultServiceHandle {
    tx: Sender<Envelope>,
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
    pub fn call_frame(&self, frame: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
        let (reply, response) = mpsc::sync_channel(1);
        self.tx
            .send(Envelope { frame, reply })
            .map_err(|_| Error::Stopped)?;
        response.recv().map_err(|_| Error::Stopped)
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

    /// Locks the vault: zeroizes the seed, the encryption keys and the cache. Locking a
    /// locked vault succeeds and changes nothing.
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
    /// # Errors
    /// [`Error::Locked`], [`Error::ReservedPath`] (the `EncryptedData` subtree
    /// `m/74'/2'/0'`), [`Error::Derivation`] (e.g. a non-hardened ed25519 step),
    /// [`Error::Stopped`].
    pub fn derive(&self, key_type: KeyType, path: &DerivationPath) -> Result<DerivedKey> {
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
    pub fn decrypt(&self, data: &EncryptedData, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let request = Request::Decrypt {
            data: data.clone(),
            aad: aad.to_vec(),
        };
        expect_response!(self.call(&request)?, Response::Decrypted { plaintext } => plaintext)
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

    /// Stops the service: it zeroizes everything and ends; every handle then gets
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
    /// One `EncryptionKey` per key version in use (each keeps its own nonce sequence).
    encryption_keys: HashMap<u32, EncryptionKey>,
    cache: KeyCache,
    seeds_zeroized: u64,
    requests: u64,
    panics: u64,
}

impl Actor {
    fn new(cache: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            seed: None,
            encryption_keys: HashMap::new(),
            cache: KeyCache::new(cache, clock),
            seeds_zeroized: 0,
            requests: 0,
            panics: 0,
        }
    }

    fn run(mut self, rx: Receiver<Envelope>) -> Status {
        loop {
            let envelope = match self.cache.sweep_interval() {
                Some(wait) => match rx.recv_timeout(wait) {
                    Ok(e) => e,
                    Err(RecvTimeoutError::Timeout) => {
                        self.sweep();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(e) => e,
                    Err(_) => break,
                },
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

    /// Decodes, dispatches and encodes one request; a panic anywhere in it is caught.
    fn serve(&mut self, frame: &[u8]) -> (Zeroizing<Vec<u8>>, bool) {
        self.requests = self.requests.saturating_add(1);
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
                self.panics = self.panics.saturating_add(1);
                // The request may have left the cache half-updated: start it afresh.
                let _ = catch_unwind(AssertUnwindSafe(|| self.cache.clear()));
                (Response::Error(Error::Internal).to_bytes(), false)
            }
        };
        let frame = encoded
            .or_else(|e| Response::Error(e).to_bytes())
            .unwrap_or_default();
        (frame, stop)
    }

    fn dispatch(&mut self, request: Request) -> (Response, bool) {
        let result = match request {
            Request::Shutdown => return (Response::Stopping, true),
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
            requests: self.requests,
            panics: self.panics,
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
        Ok(())
    }

    fn unlock_new(&mut self, words: u8, passphrase: &str) -> Result<Zeroizing<String>> {
        if self.seed.is_some() {
            return Err(Error::AlreadyUnlocked);
        }
        let words = WordCount::try_from(usize::from(words))?;
        let mnemonic = Mnemonic::generate(words, Language::English)?;
        self.seed = Some(Box::new(mnemonic.to_seed(passphrase)));
        Ok(mnemonic.phrase())
    }

    fn lock(&mut self) {
        if self.seed.take().is_some() {
            // Dropping the box zeroizes the seed.
            self.seeds_zeroized = self.seeds_zeroized.saturating_add(1);
        }
        // Each EncryptionKey zeroizes its key schedule on drop.
        self.encryption_keys.clear();
        self.cache.clear();
    }

    fn derive(&mut self, key_type: KeyType, path: DerivationPath) -> Result<DerivedKey> {
        let seed = self.seed.as_deref().ok_or(Error::Locked)?;
        if is_reserved(&path) {
            return Err(Error::ReservedPath {
                path: path.to_string(),
            });
        }
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

    fn encryption_key(&mut self, key_version: u32) -> Result<&EncryptionKey> {
        let seed = self.seed.as_deref().ok_or(Error::Locked)?;
        let path = encryption_path(key_version)?;
        match self.encryption_keys.entry(key_version) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let node =
                    ed25519::ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
                let key = encryption_key_for_version(node.expose_secret(), key_version)?;
                Ok(e.insert(key))
            }
        }
    }

    fn encrypt(&mut self, key_version: u32, plaintext: &[u8], aad: &[u8]) -> Result<EncryptedData> {
        let key = self.encryption_key(key_version)?;
        Ok(EncryptedData::encrypt(key, plaintext, aad)?)
    }

    fn decrypt(&mut self, data: &EncryptedData, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.seed()?;
        let key = self.encryption_key(data.key_version())?;
        Ok(data.decrypt(key, aad)?)
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
        self.encrypt(to_version, &plaintext, aad)
    }
}

/// Derives a key of `key_type` at `path` from the seed (no cache).
fn derive_uncached(seed: &Seed, key_type: KeyType, path: DerivationPath) -> Result<DerivedKey> {
    match key_type {
        KeyType::Ed25519 => {
            let node = ed25519::ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
            DerivedKey::new(
                key_type,
                path,
                Some(node.public_key().to_vec()),
                node.expose_secret(),
            )
        }
        KeyType::Aes256Gcm => {
            let node = ed25519::ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
            let chain_code = Key::from_bytes(*node.chain_code().expose_secret());
            let aes = hexvault_aead::derive_key(&chain_code, AES_KEY_LABEL, &[])?;
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

/// The `EncryptionKey` of `key_version` from the node key at its path (ADR 0022's HKDF,
/// the same for every version; the node differs per version, ADR 0040).
fn encryption_key_for_version(
    node_private_key: &[u8; 32],
    key_version: u32,
) -> Result<EncryptionKey> {
    Ok(EncryptionKey::for_key_version(
        node_private_key,
        key_version,
        hexvault_aead::Backend::Ring,
    )?)
}
