//! AES-256-GCM for hexvault: typed keys, versioned self-describing ciphertexts, HKDF-SHA256
//! domain keys, `EncryptedData` credentials, key rings and rotation, two backends.
//!
//! # What this crate owns
//! * [`Key`] (32 secret bytes) and [`KeyVersion`]; [`SealingKey`], the prebuilt key
//!   schedule bound to its version and its nonce sequence.
//! * The sealed-blob format `magic || format version || key version || nonce ||
//!   ciphertext || tag` ([`Header`]), and [`EncryptedData`] (postcard and JSON).
//! * HKDF-SHA256 derivation ([`derive_key`], [`derive_domain_key`], [`encode_info`]).
//! * [`KeyRing`]: versions, primary, retirement, [`KeyRing::rewrap`].
//! * [`serde_bytes`]: the workspace's serde helpers for byte fields (bytes in binary
//!   formats; base64, hex or `"[REDACTED]"` in human-readable ones).
//! * Sealed streams ([`StreamSealer`], [`StreamOpener`]): the STREAM construction for
//!   payloads of any size in one segment of memory (docs/formats.md, "Sealed stream").
//! * [`Plaintext`], what `open` and `decrypt` return: its whole allocation is wiped on drop
//!   in one `memset`-speed pass ([`wipe`], ADR 0025).
//! * [`extend_from_slice`] and [`copy_from_slice`]: copies in 1 KiB pieces, which run at
//!   memory speed wherever the buffers lie; the plaintext and ciphertext copies of seal,
//!   open, `EncryptedData`, `KeyRing::rewrap` and `StreamSealer::write_all`, and those ADR
//!   0092 lists above this crate, use them.
//!
//! # Invariants
//! * A nonce never repeats within one [`SealingKey`] instance: a random 96-bit base from
//!   the OS CSPRNG plus an atomic seal counter, modulo 2^96 (ADR 0020, amended). Across
//!   instances of one key two nonces repeat with probability `< k·Q / 2^96` (`k` instances,
//!   `Q` seals in all; `k^2 / 2^96` when each seals once), so short-lived instances get the
//!   bound of fully random 96-bit nonces; a long-lived one per process is still best. [`EncryptedData`], sealed by short-lived instances, gives every
//!   credential its own subkey from a random 32-byte salt (ADR 0022). The OS CSPRNG is the
//!   only entropy source. A key instance refuses to seal after 2^32 messages and reports
//!   2^31 as a warning.
//! * The whole header is authenticated together with the caller's associated data;
//!   nothing is ever returned unauthenticated, and a failed one-shot open leaves no
//!   plaintext in any buffer it was given. A stream ([`StreamOpener`]) hands out each
//!   segment once it authenticated: when a later segment fails, the earlier segments'
//!   plaintext stays with the caller (ADR 0026), so treat a stream's output as incomplete
//!   until the final segment was read.
//! * The key is chosen by the version in the header: no trial decryption.
//! * No public API seals under a caller-chosen nonce ([`DetachedKey`] issues its own
//!   [`FreshNonce`]s; opening reads the nonce from the blob).
//! * [`Key`] bytes and the `EncryptedData` subkey parent are zeroized on drop, and no key
//!   is printed by `Debug`. Expanded AES key schedules are wiped on drop only with the
//!   RustCrypto backend (the schedule the key object owns; copies a move left on the stack
//!   are not reachable): ring offers no way to wipe its `LessSafeKey` (ADR 0021). The
//!   SHA-256/HMAC states inside HKDF are wiped on drop (sha2's `zeroize` feature).
#![doc = include_str!("../README.md")]

mod backend;
mod detached;
mod encrypted_data;
mod error;
mod kdf;
mod kdf_mix;
mod key;
mod keyring;
mod nonce;
mod plaintext;
mod rng;
mod sealing;
pub mod serde_bytes;
mod stream;

#[cfg(test)]
mod tests;

pub use backend::Backend;
pub use detached::{DetachedKey, FreshNonce};
pub use encrypted_data::{
    CREDENTIAL_SALT_LEN, CREDENTIAL_SUBKEY_LABEL, CREDENTIAL_SUBKEY_PARENT_LABEL,
    ENCRYPTED_DATA_AAD_LABEL, ENCRYPTION_KEY_LABEL, EncryptedData, EncryptionKey, HD_KEY_VERSION,
    LEGACY_KEY_VERSION,
};
pub use error::{Error, Result};
pub use kdf::{DOMAIN_KEY_LABEL, derive_domain_key, derive_key, encode_info};
pub use kdf_mix::derive_key_mixed;
pub use key::{KEY_LEN, Key, KeyVersion};
pub use keyring::KeyRing;
pub use nonce::{KeyUsage, SEAL_LIMIT, SEAL_WARNING_THRESHOLD, UsageState};
pub use plaintext::{Plaintext, copy_from_slice, extend_from_slice, wipe};
pub use sealing::{FORMAT_VERSION, HEADER_LEN, Header, MAGIC, OVERHEAD, SealingKey, sealed_len};
pub use stream::{
    DEFAULT_SEGMENT_LEN, MAX_SEGMENT_LEN, MIN_SEGMENT_LEN, STREAM_FORMAT_VERSION,
    STREAM_HEADER_LEN, STREAM_KEY_LABEL, STREAM_MAGIC, STREAM_SALT_LEN, StreamOpener,
    StreamOptions, StreamSealer, stream_sealed_len,
};

/// Length of the authentication tag at the end of every ciphertext.
pub const TAG_LEN: usize = backend::TAG_LEN;
/// Length of the AES-GCM nonce (96 bits).
pub const NONCE_LEN: usize = backend::NONCE_LEN;
