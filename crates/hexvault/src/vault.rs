//! The assembled vault: one root (a mnemonic, a seed or the service's capabilities) gives the
//! vault master, the audit chain key and the audit signer, and a cells vault is built with
//! its audit log wired to them (ADR 0060).

use core::fmt;
use core::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hexvault_audit::{
    Anchor, Appended, AuditLog, AuditRecord, ChainValue, Checkpoint, Durability, Event, FileLog,
    LogContents, LogId, LogOptions, MemoryLog, Report, Verifier, VerifyingKey,
};
use hexvault_cells::{AccessToken, Backend, CellId, PartitionId, PolicyContext, TokenResolver};
use hexvault_keys::{AuditSigner, Seed, VaultMasterKey};
use hexvault_mnemonic::Mnemonic;

use crate::{Error, Result};

type AuditResult<T> = hexvault_audit::Result<T>;

/// Records between two automatic checkpoints, unless [`VaultBuilder::checkpoint_every`] says
/// otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 64;

/// A [`TokenResolver`] that refuses every token: a vault built with it opens and seals at
/// layer 0 ([`Layer::Rest`](hexvault_cells::Layer::Rest)) only, and every attempt at layers 1
/// and 2 is refused and recorded as denied: with a token, as
/// [`hexvault_cells::Error::Denied`]; without one, as
/// [`hexvault_cells::Error::MissingCredential`] (the token is asked for before the resolver).
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
    File(Arc<VaultFileLog>),
}

impl Log {
    fn as_dyn(&self) -> Arc<dyn AuditLog> {
        match self {
            Self::Memory(log) => Arc::<MemoryLog>::clone(log),
            Self::File(log) => Arc::<VaultFileLog>::clone(log),
        }
    }

    fn log(&self) -> &dyn AuditLog {
        match self {
            Self::Memory(log) => log.as_ref(),
            Self::File(log) => log.as_ref(),
        }
    }
}

/// The vault's file log, as the cells vault appends to it: the first record of a log with
/// no anchor file yet (a new log) is checkpointed and anchored at once
/// ([`FileLog::checkpoint_and_anchor`]), so a log with records has an anchor from its first
/// append on, and a crash before the first interval checkpoint does not leave a log that
/// [`VaultBuilder`] refuses to reopen. (Under group commit, the cells vault itself syncs
/// every record but a denial before the operation it records returns.)
struct VaultFileLog {
    file: FileLog,
    anchored: AtomicBool,
}

impl VaultFileLog {
    fn new(file: FileLog) -> Self {
        let anchored = Anchor::path_for(file.path()).exists();
        Self {
            file,
            anchored: AtomicBool::new(anchored),
        }
    }

    /// Anchors a log that has none yet, once it holds a record.
    fn settle(&self) -> AuditResult<()> {
        if !self.anchored.load(Ordering::Acquire) {
            self.file.checkpoint_and_anchor()?;
            self.anchored.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The checkpoint over the last record, durable and written to `<log>.anchor`.
    fn checkpoint_and_anchor(&self) -> AuditResult<Option<Anchor>> {
        let anchor = self.file.checkpoint_and_anchor()?;
        if anchor.is_some() {
            self.anchored.store(true, Ordering::Release);
        }
        Ok(anchor)
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

impl AuditLog for VaultFileLog {
    fn append(&self, event: Event) -> AuditResult<Appended> {
        let appended = self.file.append(event)?;
        self.settle()?;
        Ok(appended)
    }

    fn append_batch(&self, events: Vec<Event>) -> AuditResult<Vec<Appended>> {
        let appended = self.file.append_batch(events)?;
        if !appended.is_empty() {
            self.settle()?;
        }
        Ok(appended)
    }

    fn checkpoint(&self) -> AuditResult<Option<Checkpoint>> {
        self.file.checkpoint()
    }

    fn flush(&self) -> AuditResult<()> {
        self.file.flush()
    }

    fn verify(&self) -> AuditResult<Report> {
        self.file.verify()
    }

    fn log_id(&self) -> LogId {
        self.file.log_id()
    }

    fn len(&self) -> u64 {
        self.file.len()
    }

    fn head(&self) -> ChainValue {
        self.file.head()
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
    reanchor: bool,
    keep_opened_records: bool,
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
            reanchor: false,
            keep_opened_records: false,
        }
    }

    /// Keeps the audit log in the file at `path` (a `hexvault_audit::FileLog`): created if
    /// it does not exist, otherwise opened and verified (against `<path>.anchor`, the anchor
    /// the log rewrites beside itself after every checkpoint). A new log is checkpointed and
    /// anchored at its first record, so a log with records has an anchor from then on.
    /// Opening a log written under another root fails: its chain key and signer differ.
    ///
    /// An existing log that holds records while `<path>.anchor` is missing is refused
    /// ([`Error::AnchorMissing`](crate::Error::AnchorMissing)): an attacker who cuts the log
    /// can delete the anchor beside it too. Restore the anchor, or see
    /// [`reanchor_missing_anchor`](Self::reanchor_missing_anchor).
    ///
    /// When an existing log opens, the key versions it records are restored: after the log
    /// is verified (chain under the audit chain key, checkpoint signatures, the anchor),
    /// its rotation and retirement records are replayed
    /// ([`hexvault_cells::Vault::replay_versions`]), so every cell and the master resume at
    /// the current and retired-minimum versions they had, and a retired version stays
    /// retired; the sessions it records as ended are refused at layer 2, also when resumed
    /// from an export taken before the end
    /// ([`hexvault_cells::Vault::replay_session_ends`]). A master version the log rotated to is not derived from the root: load its
    /// key with `load_master` before sealing (a seal fails with `UnknownKeyVersion` until
    /// then). The in-memory log (no `audit_file`) keeps nothing: with it, key versions do
    /// not survive a restart (every cell and the master start again at version 1); keep
    /// them yourself and restore them with `Cell::restore_versions` and `load_master`.
    pub fn audit_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit_file = Some(path.into());
        self
    }

    /// Signs a checkpoint automatically every `n` records (0: no interval checkpoints; a
    /// checkpoint is still signed on demand, through [`Vault::checkpoint`],
    /// [`Vault::verify_audit`] and [`Vault::close`], and by the log after its first record,
    /// every key-version change and every session end, and when it is dropped). An existing
    /// file log must be reopened with the interval it was created with (the one in its
    /// header): another one is refused with [`Error::Audit`](crate::Error::Audit) wrapping
    /// `hexvault_audit::Error::CheckpointIntervalMismatch { header, options }` (the header is
    /// protected by a public checksum only, so the writer never takes the interval from it).
    pub const fn checkpoint_every(mut self, n: u64) -> Self {
        self.checkpoint_every = n;
        self
    }

    /// Opt-in recovery for an existing file log whose anchor file is missing (a lost
    /// anchor, or a crash between the log's first checkpoint and its first anchor): the
    /// log is opened anyway, verified with the vault's keys alone (so a cut of its tail
    /// CANNOT be detected this time), and a new anchor is signed at its current head and
    /// written to `<log>.anchor`. Use it only after checking the log against a copy of its
    /// anchor kept elsewhere (`hexvault audit verify --anchor`), or when you know why the
    /// anchor is gone. Without it such a log is refused
    /// ([`Error::AnchorMissing`](crate::Error::AnchorMissing)).
    pub const fn reanchor_missing_anchor(mut self) -> Self {
        self.reanchor = true;
        self
    }

    /// Keeps the records of a reopened file log, as verified when the vault opened it, for
    /// [`Vault::take_opened_records`] (a caller that reads the log's contents at start then
    /// needs no second read and verification of the file). Off by default: a long-lived
    /// vault would otherwise hold its whole log in memory. Ignored for the in-memory log.
    pub const fn keep_opened_records(mut self) -> Self {
        self.keep_opened_records = true;
        self
    }

    /// The durability of a file log's appends (ignored for the in-memory log).
    ///
    /// Under [`Durability::GroupCommit`] the vault (its cells vault, on any audit log)
    /// still syncs every record except a denial before the operation it records returns: a gated open's record before its
    /// plaintext, a traversal's before its blob, a rotation's, retirement's or session's
    /// before it takes effect, so no result outlives its record in a crash. Only denial
    /// records (`EventKind::Denied`) are group-committed: a crash may lose those appended
    /// since the last sync (at most `max_records - 1` of them besides those another
    /// operation's flush had written and not yet synced, about `2 × max_delay` of
    /// appends). Group commit therefore saves syncs on refusals, and when operations run
    /// at once from several threads their flushes share syncs (ADR 0089); a vault used
    /// from one thread whose records are mostly opens and traversals syncs about as often
    /// as under [`Durability::EveryRecord`].
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
    /// beside a missing log); [`Error::AnchorMissing`](crate::Error::AnchorMissing) for an
    /// existing log with records whose anchor file is missing;
    /// [`Error::Cells`](crate::Error::Cells) if its rotation records cannot be replayed.
    pub fn from_seed(self, seed: &Seed, resolver: impl TokenResolver + 'static) -> Result<Vault> {
        let master = VaultMasterKey::from_seed(seed)?;
        let signer = AuditSigner::from_seed(seed)?;
        self.assemble(master, signer, resolver)
    }

    /// A vault rooted at the unlocked seed of the key-vault service, through its typed
    /// capabilities: the vault master key and the audit signer, taken from one seed in one
    /// request (`VaultServiceHandle::vault_keys`; the seed never leaves the service thread);
    /// the audit chain key is derived from that master, as
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
        // One request: two could straddle another handle's lock and unlock of another
        // phrase and mix two roots (review round 12).
        let (master, signer) = service.vault_keys()?;
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
        let (log, opened) = match &self.audit_file {
            None => (Log::Memory(Arc::new(MemoryLog::new(options)?)), None),
            Some(path) => {
                let anchor = Anchor::path_for(path);
                let lost_anchor = path.exists() && !anchor.exists();
                if lost_anchor && !self.reanchor && has_entries(path)? {
                    return Err(Error::AnchorMissing {
                        log: path.clone(),
                        anchor,
                    });
                }
                let existed = path.exists();
                let opened = FileLog::open_or_create_with_records(path, options)?;
                let log = Arc::new(VaultFileLog::new(opened.log));
                if existed && lost_anchor && self.reanchor {
                    // The opt-in: sign (or take) the checkpoint at the head and write it.
                    log.checkpoint_and_anchor()?;
                }
                (Log::File(log), Some((opened.report, opened.records)))
            }
        };
        drop(chain_key);
        let cells =
            hexvault_cells::Vault::with_options(master, resolver, log.as_dyn(), self.options);
        let (opened, opened_records) = match opened {
            Some((report, records)) => {
                // The records `FileLog` verified as it opened the log (chain under the
                // audit chain key, checkpoints under the audit public key, the anchor),
                // decoded from the bytes it verified while holding the log's lock.
                cells.replay_versions(&records)?;
                cells.replay_session_ends(&records);
                (Some(report), self.keep_opened_records.then_some(records))
            }
            None => (None, None),
        };
        Ok(Vault {
            cells,
            log,
            public_key,
            opened,
            opened_records,
        })
    }
}

/// `true` if the log file at `path` holds anything past its header: a record, a
/// checkpoint, or a frame that does not parse (a torn or damaged one: what is left of a
/// record). Parsed, unverified: only used to refuse a log whose anchor is missing.
fn has_entries(path: &Path) -> Result<bool> {
    let contents = LogContents::read(path)?;
    Ok(!contents.entries.is_empty()
        || contents.torn_tail.is_some()
        || contents.unreadable.is_some())
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
    opened_records: Option<Vec<AuditRecord>>,
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

    /// The audit log the cells vault appends to. Records appended to it directly follow
    /// the log's durability (under group commit they wait for the group's sync); the
    /// vault's own records are synced as [`VaultBuilder::durability`] says.
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

    /// The records of the file log as the vault verified them when it opened the log,
    /// handed over once: `Some` only for a vault built with
    /// [`VaultBuilder::keep_opened_records`] on a file log, and only on the first call
    /// (`None` after). They are what the key-version replay read: no second read and
    /// verification of the file is needed to look at the log's contents as opened.
    pub fn take_opened_records(&mut self) -> Option<Vec<AuditRecord>> {
        self.opened_records.take()
    }

    /// Signs a checkpoint over the last record now (or takes the one the log already ends
    /// with) and returns it as an [`Anchor`] to keep elsewhere; `None` for an empty log. A
    /// file log also makes it durable and (re)writes its anchor file `<log>.anchor` with it,
    /// every time, under the log's own lock (`FileLog::checkpoint_and_anchor`): calls from
    /// several threads and the log's own interval anchors are serialized, and the file
    /// beside the log is the anchor returned until the next checkpoint.
    ///
    /// # Errors
    /// [`Error::Audit`](crate::Error::Audit) for a write failure.
    pub fn checkpoint(&self) -> Result<Option<Anchor>> {
        match &self.log {
            Log::Memory(log) => Ok(log.checkpoint()?.map(Anchor::new).transpose()?),
            Log::File(log) => Ok(log.checkpoint_and_anchor()?),
        }
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
                Ok(LogContents::read(log.path())?.into_records())
            }
        }
    }

    /// Checkpoints the log, then verifies it twice and fails unless both pass:
    ///
    /// 1. with the log's own keys: every record's HMAC chain value under the audit chain
    ///    key, and every checkpoint signature (the whole log as it stands then);
    /// 2. as an outside verifier would, with only [`audit_public_key`](Self::audit_public_key)
    ///    (never a key read from the log), against the anchor (a file log: the anchor file
    ///    `<log>.anchor` read back from disk; the in-memory log: the checkpoint just
    ///    signed), and required to reach the checkpoint just signed: every record up to it
    ///    is covered by a signed checkpoint.
    ///
    /// The vault is `Send + Sync`: records other threads append after that checkpoint are
    /// an honest tail, not damage. They are verified chained (public chain and order, and
    /// under the chain key too when they were already written at step 1) and counted in
    /// the returned report's [`Report::unanchored_records`]; the next checkpoint covers them.
    ///
    /// Returns the report of the second verification.
    ///
    /// # Errors
    /// [`Error::Audit`](crate::Error::Audit) with `hexvault_audit::Error::Damaged` (naming
    /// the first bad sequence number) for a changed, removed, reordered, forged or cut
    /// record or checkpoint (a log that ends before the checkpoint just signed, or before
    /// its anchor, is cut: `Damage::Truncated`), and for read or write failures.
    pub fn verify_audit(&self) -> Result<Report> {
        let taken = self.checkpoint()?;
        self.log.log().verify()?.into_result()?;
        let verifier = Verifier::public_key(self.public_key);
        let report = match &self.log {
            Log::Memory(log) => {
                let verifier = match taken {
                    Some(anchor) => verifier.with_anchor(anchor),
                    None => verifier,
                };
                log.verify_with(&verifier)?
            }
            Log::File(log) => {
                // The anchor as written on disk, not the one in memory: that is what an
                // outside verifier reads. It is read before the log, and the log writes
                // its anchor only once the checkpoint is durable, so the file read next
                // reaches it; it may be newer than `taken` (an interval checkpoint of a
                // concurrent append), never older unless replaced: `min_sequence` still
                // requires the log to reach the checkpoint just signed.
                let verifier = match &taken {
                    Some(taken) => verifier
                        .with_anchor(Anchor::read(Anchor::path_for(log.path()))?)
                        .min_sequence(taken.sequence()),
                    None => verifier,
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
