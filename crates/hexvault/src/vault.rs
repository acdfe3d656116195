//! The assembled vault: one root (a mnemonic, a seed or the service's capabilities) gives the
//! vault master, the audit chain key and the audit signer, and a cells vault is built with
//! its audit log wired to them (ADR 0060).

use core::fmt;
use core::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hexvault_audit::{
    Anchor, AuditLog, AuditRecord, Durability, FileLog, LogContents, LogEntry, LogOptions,
    MemoryLog, Report, Verifier, VerifyingKey,
};
use hexvault_cells::{AccessToken, Backend, CellId, PartitionId, PolicyContext, TokenResolver};
use hexvault_keys::{AuditSigner, Seed, VaultMasterKey};
use hexvault_mnemonic::Mnemonic;

use crate::Result;

/// Records between two automatic checkpoints, unless [`VaultBuilder::checkpoint_every`] says
/// otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 64;

/// A [`TokenResolver`] that refuses every token: a vault built with it opens and seals at
/// layer 0 ([`Layer::Rest`](hexvault_cells::Layer::Rest)) only, and every attempt at layers 1
/// and 2 is refused ([`hexvault_cells::Error::Denied`]) and recorded as denied.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAccessTokens;

impl TokenResolver for NoAccessTokens {
    fn resolve(&self, _: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        None
    }
}

/// The audit log a [`Vault`] appends to.
enum Log {
    Memory(Arc<MemoryLog>),
    File(Arc<FileLog>),
}

impl Log {
    fn as_dyn(&self) -> Arc<dyn AuditLog> {
        match self {
            Self::Memory(log) => Arc::<MemoryLog>::clone(log),
            Self::File(log) => Arc::<FileLog>::clone(log),
        }
    }

    fn log(&self) -> &dyn AuditLog {
        match self {
            Self::Memory(log) => log.as_ref(),
            Self::File(log) => log.as_ref(),
        }
    }
}

/// How to build a [`Vault`]: where its audit log lives, how often it is checkpointed, how
/// durable an append is, and the cells options. Finish with
/// [`from_mnemonic`](Self::from_mnemonic), [`from_seed`](Self::from_seed) or (feature
/// `service`) [`from_service`](Self::from_service).
///
/// Defaults: an in-memory audit log, a signed checkpoint every
/// [`DEFAULT_CHECKPOINT_EVERY`] records, [`Durability::EveryRecord`] for a file log, the
/// cells crate's default options (ring backend).
#[derive(Debug, Clone)]
#[must_use]
pub struct VaultBuilder {
    audit_file: Option<PathBuf>,
    checkpoint_every: u64,
    durability: Durability,
    options: hexvault_cells::VaultOptions,
}

impl Default for VaultBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl VaultBuilder {
    /// The defaults above.
    pub fn new() -> Self {
        Self {
            audit_file: None,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            durability: Durability::EveryRecord,
            options: hexvault_cells::VaultOptions::default(),
        }
    }

    /// Keeps the audit log in the file at `path` (a `hexvault_audit::FileLog`): created if
    /// it does not exist, otherwise opened and verified (against `<path>.anchor`, the anchor
    /// the log rewrites beside itself after every checkpoint). Opening a log written under
    /// another root fails: its chain key and signer differ.
    pub fn audit_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit_file = Some(path.into());
        self
    }

    /// Signs a checkpoint automatically every `n` records (0: only on demand, through
    /// [`Vault::checkpoint`], [`Vault::verify_audit`] and [`Vault::close`]). A file log
    /// that exists keeps the interval recorded in its header.
    pub const fn checkpoint_every(mut self, n: u64) -> Self {
        self.checkpoint_every = n;
        self
    }

    /// The durability of a file log's appends (ignored for the in-memory log).
    pub const fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Most layer keys the cells vault caches at once (0 counts as 1).
    pub const fn cache_capacity(mut self, capacity: usize) -> Self {
        self.options = self.options.cache_capacity(capacity);
        self
    }

    /// The AES-GCM backend of every layer key (`Backend::RustCrypto` needs the
    /// `rustcrypto` feature).
    pub const fn backend(mut self, backend: Backend) -> Self {
        self.options = self.options.backend(backend);
        self
    }

    /// A vault rooted at a BIP-39 `phrase` and its `passphrase` ("" for none): the phrase
    /// is checked (words and checksum), turned into its seed, and [`from_seed`](Self::from_seed)
    /// goes on from there. The parsed mnemonic and the seed are wiped before this returns (the
    /// `phrase` string itself belongs to the caller, who wipes it).
    ///
    /// # Errors
    /// [`Error::Mnemonic`](crate::Error::Mnemonic) for an invalid phrase, and those of
    /// [`from_seed`](Self::from_seed).
    pub fn from_mnemonic(
        self,
        phrase: &str,
        passphrase: &str,
        resolver: impl TokenResolver + 'static,
    ) -> Result<Vault> {
        let seed = Mnemonic::parse(phrase)?.to_seed(passphrase);
        self.from_seed(&seed, resolver)
    }

    /// A vault rooted at `seed`, through the application keys of `hexvault-keys`: the vault
    /// master key at `m/74'/2'/1'/0'` (then HKDF), the audit chain key derived from that
    /// master, and the ed25519 audit signer at `m/74'/2'/2'/0'`.
    ///
    /// # Errors
    /// [`Error::Keys`](crate::Error::Keys) if a derivation fails;
    /// [`Error::Audit`](crate::Error::Audit) if the log cannot be created or opened (an
    /// existing file log that does not verify under these keys, or a leftover anchor
    /// beside a missing log).
    pub fn from_seed(self, seed: &Seed, resolver: impl TokenResolver + 'static) -> Result<Vault> {
        let master = VaultMasterKey::from_seed(seed)?;
        let signer = AuditSigner::from_seed(seed)?;
        self.assemble(master, signer, resolver)
    }

    /// A vault rooted at the unlocked seed of the key-vault service, through its typed
    /// capabilities: the vault master key and the audit signer (the seed never leaves the
    /// service thread); the audit chain key is derived from that master, as
    /// [`from_seed`](Self::from_seed) does. The same phrase gives the same vault either way.
    ///
    /// # Errors
    /// [`Error::Service`](crate::Error::Service) if the service is locked or stopped; as
    /// [`from_seed`](Self::from_seed) for the log.
    #[cfg(feature = "service")]
    pub fn from_service(
        self,
        service: &hexvault_service::VaultServiceHandle,
        resolver: impl TokenResolver + 'static,
    ) -> Result<Vault> {
        let master = service.vault_master_key()?;
        let signer = service.audit_signer()?;
        self.assemble(master, signer, resolver)
    }

    fn assemble(
        self,
        master: VaultMasterKey,
        signer: AuditSigner,
        resolver: impl TokenResolver + 'static,
    ) -> Result<Vault> {
        let chain_key = master.audit_chain_key()?;
        let public_key = signer.verifying_key();
        let options = LogOptions::keyed(&chain_key)
            .signing_key(signer)
            .checkpoint_every(self.checkpoint_every)
            .durability(self.durability);
        drop(chain_key);
        let (log, opened) = match self.audit_file {
            None => (Log::Memory(Arc::new(MemoryLog::new(options)?)), None),
            Some(path) => {
                let (log, report) = FileLog::open_or_create(&path, options)?;
                (Log::File(Arc::new(log)), Some(report))
            }
        };
        let cells =
            hexvault_cells::Vault::with_options(master, resolver, log.as_dyn(), self.options);
        Ok(Vault {
            cells,
            log,
            public_key,
            opened,
        })
    }
}

/// A cells vault ([`hexvault_cells::Vault`]: partitions, cells, layers, routes) with its
/// audit log wired to keys from the same root: the chain is keyed with the audit chain key
/// derived from the vault master, and checkpoints are signed with the audit signer, whose
/// public key ([`audit_public_key`](Self::audit_public_key)) is what a verifier trusts.
///
/// It dereferences to the cells vault, so every cells call works on it directly
/// (`vault.partition(..)`, `vault.start_session(..)`, `vault.traverse(..)`), and so do the
/// edges of [`hexvault_edges::Connect`] (`vault.connect(&a, &b)`, `vault.reseal_edge(&c)`).
/// Build one with [`Vault::from_mnemonic`] or a [`VaultBuilder`].
pub struct Vault {
    cells: hexvault_cells::Vault,
    log: Log,
    public_key: VerifyingKey,
    opened: Option<Report>,
}

impl Vault {
    /// The builder, for a file log or other settings.
    pub fn builder() -> VaultBuilder {
        VaultBuilder::new()
    }

    /// A vault rooted at a BIP-39 `phrase` and `passphrase`, with an in-memory audit log
    /// and the other defaults of [`VaultBuilder`].
    ///
    /// # Errors
    /// As [`VaultBuilder::from_mnemonic`].
    pub fn from_mnemonic(
        phrase: &str,
        passphrase: &str,
        resolver: impl TokenResolver + 'static,
    ) -> Result<Self> {
        VaultBuilder::new().from_mnemonic(phrase, passphrase, resolver)
    }

    /// A vault rooted at the key-vault service's capabilities, with an in-memory audit log
    /// and the other defaults of [`VaultBuilder`].
    ///
    /// # Errors
    /// As [`VaultBuilder::from_service`].
    #[cfg(feature = "service")]
    pub fn from_service(
        service: &hexvault_service::VaultServiceHandle,
        resolver: impl TokenResolver + 'static,
    ) -> Result<Self> {
        VaultBuilder::new().from_service(service, resolver)
    }

    /// The cells vault (also reachable through `Deref`).
    #[must_use]
    pub const fn cells(&self) -> &hexvault_cells::Vault {
        &self.cells
    }

    /// The audit log the cells vault appends to.
    #[must_use]
    pub fn audit_log(&self) -> Arc<dyn AuditLog> {
        self.log.as_dyn()
    }

    /// The public key of the audit signer: give it to whoever verifies the log
    /// (`Verifier::public_key`, `hexvault audit verify --public-key`).
    #[must_use]
    pub const fn audit_public_key(&self) -> VerifyingKey {
        self.public_key
    }

    /// The audit log file, for a vault built with [`VaultBuilder::audit_file`].
    #[must_use]
    pub fn audit_file(&self) -> Option<&Path> {
        match &self.log {
            Log::Memory(_) => None,
            Log::File(log) => Some(log.path()),
        }
    }

    /// Where the file log keeps its anchor (`<log>.anchor`), for a file log.
    #[must_use]
    pub fn anchor_file(&self) -> Option<PathBuf> {
        self.audit_file().map(Anchor::path_for)
    }

    /// For a file log, the report of its verification when the vault opened or created it
    /// (a torn final frame that was cut off and quarantined is reported there).
    #[must_use]
    pub const fn opened_report(&self) -> Option<&Report> {
        self.opened.as_ref()
    }

    /// Signs a checkpoint over the last record now (a file log also makes it durable and
    /// rewrites its anchor file) and returns it as an [`Anchor`] to keep elsewhere; `None`
    /// for an empty log.
    ///
    /// # Errors
    /// [`Error::Audit`](crate::Error::Audit) for a write failure.
    pub fn checkpoint(&self) -> Result<Option<Anchor>> {
        Ok(self.log.log().checkpoint()?.map(Anchor::new).transpose()?)
    }

    /// Every record of the audit log, in sequence order (a file log is flushed and read
    /// back from its file). Unverified: verify with [`verify_audit`](Self::verify_audit).
    ///
    /// # Errors
    /// [`Error::Audit`](crate::Error::Audit) for a read failure.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>> {
        match &self.log {
            Log::Memory(log) => Ok(log.records()?),
            Log::File(log) => {
                log.flush()?;
                let contents = LogContents::read(log.path())?;
                Ok(contents
                    .entries
                    .into_iter()
                    .filter_map(|entry| match entry {
                        LogEntry::Record { record, .. } => Some(record),
                        // Checkpoints (and any later kind of entry) are not records.
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    /// Checkpoints the log, then verifies it twice and fails unless both pass:
    ///
    /// 1. with the log's own keys: every record's HMAC chain value under the audit chain
    ///    key, and every checkpoint signature;
    /// 2. as an outside verifier would, with only [`audit_public_key`](Self::audit_public_key)
    ///    (never a key read from the log), against the anchor (a file log: the anchor file
    ///    `<log>.anchor` read back from disk; the in-memory log: the checkpoint just
    ///    signed), with every record required to be covered by a checkpoint.
    ///
    /// Returns the report of the second verification.
    ///
    /// # Errors
    /// [`Error::Audit`](crate::Error::Audit) with `hexvault_audit::Error::Damaged` (naming
    /// the first bad sequence number) for a changed, removed, reordered, forged or cut
    /// record or checkpoint, and for read or write failures.
    pub fn verify_audit(&self) -> Result<Report> {
        let anchor = self.checkpoint()?;
        self.log.log().verify()?.into_result()?;
        let verifier = Verifier::public_key(self.public_key).require_anchored_tail(true);
        let report = match &self.log {
            Log::Memory(log) => {
                let verifier = match anchor {
                    Some(anchor) => verifier.with_anchor(anchor),
                    None => verifier,
                };
                log.verify_with(&verifier)?
            }
            Log::File(log) => {
                // The anchor as written on disk, not the one in memory: that is what an
                // outside verifier reads. A non-empty log has one once it is checkpointed.
                let verifier = if anchor.is_some() {
                    verifier.with_anchor(Anchor::read(Anchor::path_for(log.path()))?)
                } else {
                    verifier
                };
                verifier.verify_file(log.path())?
            }
        };
        Ok(report.into_result()?)
    }

    /// Checkpoints the tail and makes every record durable. The file log's lock is released
    /// once the last handle of this vault (partitions and cells hold one) is dropped.
    ///
    /// # Errors
    /// [`Error::Audit`](crate::Error::Audit) for a write or sync failure.
    pub fn close(self) -> Result<()> {
        self.log.log().checkpoint()?;
        self.log.log().flush()?;
        Ok(())
    }
}

impl Deref for Vault {
    type Target = hexvault_cells::Vault;

    fn deref(&self) -> &Self::Target {
        &self.cells
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("audit_file", &self.audit_file())
            .field("audit_public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}
