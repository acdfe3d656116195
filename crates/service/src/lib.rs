//! The hexvault key-vault service: an actor thread that owns the seed, hands out typed
//! derived keys through a zeroizing cache, encrypts credentials as `EncryptedData`, and
//! speaks the versioned postcard `VaultProtocol`.
//!
//! # What this crate owns
//! * [`VaultService`] (the service thread) and [`VaultServiceHandle`] (cloneable,
//!   `Send + Sync` clients), with the states locked / unlocked.
//! * [`KeyType`] and [`DerivedKey`], the derived-key cache ([`CacheConfig`],
//!   [`CacheStats`]) and its time source ([`Clock`]).
//! * The [`Request`] / [`Response`] protocol ([`PROTOCOL_VERSION`]) and the
//!   `EncryptedData` key-version → path mapping ([`encryption_path`]).
//! * Unlock with SLIP-0039 shares handed in one at a time ([`SharesConfig`],
//!   [`ShareSeed`], [`ShareProgress`]; ADR 0067).
//!
//! # Invariants
//! * The seed exists only on the service thread, boxed, between `unlock` and `lock` /
//!   stop; `lock`, `shutdown` and dropping the last handle zeroize the seed and every
//!   cached key and drop every encryption key (its raw key bytes are wiped when it is
//!   dropped; ring's key schedule itself cannot be wiped, ADR 0021).
//! * Handles talk to the service through encoded protocol frames; the service dispatches
//!   only decoded [`Request`]s. The capability calls are one in-process exception; the
//!   other is a `derive` whose key is already cached, which the handle serves from the
//!   cache it shares with the service, on its own thread (ADR 0048). Only the service
//!   thread inserts into that cache, and it empties it before dropping the seed.
//! * The cache is keyed by (key type, path): a key is only ever handed out as the type it
//!   was derived for. An expired entry is never returned.
//! * `derive` serves an allow-list (ADR 0046): the device subtree `m/74'/2'/3'/…` and paths
//!   outside hexvault's purpose `m/74'`; `m` and everything else in `m/74'` (the
//!   application branch `m/74'/2'`, the reserved and future branches) is
//!   [`Error::ReservedPath`]. The `EncryptedData` keys
//!   (`m/74'/2'/0'`) are used only inside, by `encrypt`, `decrypt` and `rotate`; the vault
//!   master and audit keys leave only as typed capabilities without a byte accessor
//!   ([`VaultMasterKey`], [`AuditSigner`], [`AuditKey`]), over an in-process channel that is
//!   not part of the protocol.
//! * At most [`MAX_ENCRYPTION_KEYS`] `EncryptedData` keys are kept (least recently used
//!   dropped first), and a decrypt that fails keeps none.
//! * No request can take the service down: a panic inside one is caught and reported to
//!   that caller as [`Error::Internal`] (this needs `panic = "unwind"`, the default).
//! * Secrets (`DerivedKey`, phrases, shares, plaintexts, frames) are zeroized on drop and
//!   never printed by `Debug`; JSON never carries a private key.
//! * A partial set of shares lives only on the service thread, and is zeroized when it
//!   completes, on `lock`, on stop, on any refused share, and once it is older than the
//!   configured timeout (checked on every request and by a wake-up of the service thread).
#![doc = include_str!("../README.md")]

mod cache;
mod clock;
mod error;
mod handoff;
mod key;
mod paths;
mod protocol;
mod service;
mod shares;
mod wire;

pub use cache::{CacheConfig, CacheStats};
pub use clock::{Clock, SystemClock};
pub use error::{Error, Result};
pub use key::{AES_KEY_LABEL, DerivedKey, KeyType, REDACTED};
pub use paths::{MAX_KEY_VERSION, encryption_path};
pub use protocol::{PROTOCOL_VERSION, Request, Response, Status, VaultState};
pub use service::{MAX_ENCRYPTION_KEYS, VaultService, VaultServiceBuilder, VaultServiceHandle};
pub use shares::{GroupProgress, ShareProgress, ShareSeed, SharesConfig};

// Re-exported so callers can name what the API takes and returns.
pub use hexvault_aead::{EncryptedData, KeyVersion, Plaintext};
pub use hexvault_derivation::{DerivationPath, PATHS};
pub use hexvault_keys::{AuditKey, AuditSigner, VaultMasterKey};
pub use hexvault_mnemonic::WordCount;
