//! The vault directory of `hexvault init` (docs/formats.md, "Vault directory"): its layout,
//! its config file (TOML, no secret), durable atomic blob writes, and the assembled vault
//! opened over it.
//!
//! Names the operator typed (`--cell P/C`, `--id`, `--dir`) are repeated in errors only once
//! they are known to the vault (declared in its config or present as a blob): a secret typed
//! in place of a name must not be echoed.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult};
use hexvault::cells::ObjectId;
use hexvault::edges::{Connect, Edge};
pub(crate) use hexvault_cli::vault_format::{
    AUDIT_FILE, BLOB_EXT, CONFIG_FILE, CONFIG_FORMAT, CellConfig, CellRef, Config, DEFAULT_DIR,
    DIR_ENV, EdgeConfig, OBJECTS_DIR, PartitionConfig, TEMP_PREFIX, blob_file_object,
    blob_versions, cell_id, object_id, partition_id,
};

/// An opened vault directory: its root and parsed config.
#[derive(Debug)]
pub(crate) struct VaultDir {
    pub(crate) root: PathBuf,
    pub(crate) config: Config,
}

/// The error of a missing vault. The directory is not repeated: it may have been typed.
/// `path` made absolute and resolved through its deepest existing ancestor (symbolic links
/// followed there), the components below it appended as given. A path whose missing part
/// cannot be taken apart (`..` below a directory that does not exist) is an error.
fn resolved(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut below = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut found) => {
                for part in below.iter().rev() {
                    found.push(part);
                }
                return Ok(found);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        below.push(name.to_os_string());
                        existing = parent;
                    }
                    _ => return Err(error),
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// Refuses an `--out` path inside the vault directory `vault` (which may not exist yet):
/// the directory holds no secret (docs/formats.md), and a backup or a commit of it would
/// carry whatever `--out` writes. `what` says what the file would hold.
///
/// # Errors
/// [`CliError::Usage`] for a path inside the vault; an I/O error if a path cannot be
/// resolved.
pub(crate) fn refuse_out_inside(out: &Path, vault: &Path, what: &str) -> CliResult {
    let out = resolved(out).map_err(|error| CliError::io("resolving the path of --out", error))?;
    let vault =
        resolved(vault).map_err(|error| CliError::io("resolving the vault directory", error))?;
    if out.starts_with(&vault) {
        return Err(CliError::usage(format!(
            "--out is inside the vault directory, which holds no secret: {what} must not travel \
             with the vault (backups, version control); choose a path outside it"
        )));
    }
    Ok(())
}

/// For a command that writes a file the vault must never hold (a plaintext, a phrase,
/// shares, a session) wherever it writes it: refuses `out` inside the vault directory the
/// environment names (`$HEXVAULT_DIR`, else `./.hexvault`) when a vault is there, and inside
/// any vault directory at all: one of `out`'s resolved ancestors holding both a
/// `config.toml` and an `audit.log` (review round 46: run from inside a vault, or naming
/// another vault's path, `mnemonic new --out` wrote the phrase into it). Vault commands also
/// check against their own `--dir` (a vault `init` is about to make).
///
/// # Errors
/// As [`refuse_out_inside`].
pub(crate) fn refuse_out_inside_default_vault(out: &Path) -> CliResult {
    const WHAT: &str = "what this command writes (a plaintext, a phrase, shares or a session)";
    // An empty `$HEXVAULT_DIR` is no directory (it would name the working directory):
    // taken as unset here (review round 25); vault commands refuse it as an empty `--dir`.
    let root = std::env::var_os(DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
    if root.join(CONFIG_FILE).is_file() {
        refuse_out_inside(out, &root, WHAT)?;
    }
    let resolved_out =
        resolved(out).map_err(|error| CliError::io("resolving the path of --out", error))?;
    for ancestor in resolved_out.ancestors().skip(1) {
        if ancestor.join(CONFIG_FILE).is_file() && ancestor.join(AUDIT_FILE).is_file() {
            return refuse_out_inside(out, ancestor, WHAT);
        }
    }
    Ok(())
}

pub(crate) fn missing_vault() -> CliError {
    CliError::Failed(format!(
        "no vault in the directory given (--dir, ${DIR_ENV} or ./{DEFAULT_DIR}; not repeated \
         here): create one with `hexvault init`, or point --dir at an existing vault"
    ))
}

/// An exclusive advisory lock on the vault directory, held by a command that changes
/// config.toml from reading it to writing it back (so two changes never lose one another);
/// released on drop.
#[derive(Debug)]
pub(crate) struct ConfigLock(File);

impl ConfigLock {
    /// Waits for the exclusive lock on the directory `root` (also before a vault exists in
    /// it: `init` takes it to make the vault).
    pub(crate) fn wait_for(root: &Path) -> CliResult<Self> {
        let directory = File::open(root).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                missing_vault()
            } else {
                CliError::io("opening the vault directory", error)
            }
        })?;
        directory
            .lock()
            .map_err(|error| CliError::io("locking the vault directory", error))?;
        Ok(Self(directory))
    }
}

impl Drop for ConfigLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking first says so explicitly,
        // and a failure here leaves the close to release it.
        let _ = self.0.unlock();
    }
}

impl VaultDir {
    /// Reads the vault at `root` for a change of its config: waits for the directory's lock
    /// first, so the config read is the one the change is written over.
    pub(crate) fn open_for_change(root: &Path) -> CliResult<(Self, ConfigLock)> {
        let lock = ConfigLock::wait_for(root)?;
        let dir = Self::open(root)?;
        // Under the lock no other change is mid-write: a `.tmp-*` config is a leftover.
        remove_temporaries(root)?;
        Ok((dir, lock))
    }

    /// Reads the vault at `root`.
    pub(crate) fn open(root: &Path) -> CliResult<Self> {
        let path = root.join(CONFIG_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(missing_vault());
            }
            Err(error) => return Err(CliError::io("reading the vault's config.toml", error)),
        };
        let config = Config::parse(&text)?;
        let dir = Self {
            root: root.to_path_buf(),
            config,
        };
        Ok(dir)
    }

    /// Writes the config atomically (temporary file, fsync, rename, fsync of the directory).
    pub(crate) fn save(&self) -> CliResult {
        let body = self.config.text()?;
        let mut file = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(&self.root)
            .map_err(|error| CliError::io("creating a file in the vault", error))?;
        file.write_all(body.as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(|error| CliError::io("writing the vault's config.toml", error))?;
        file.persist(self.root.join(CONFIG_FILE))
            .map_err(|error| CliError::io("writing the vault's config.toml", error.error))?;
        sync_dir(&self.root)
    }

    /// The config of a declared cell.
    pub(crate) fn cell_config(&self, cell: &CellRef) -> Option<&CellConfig> {
        self.config.cell_config(cell)
    }

    /// The config of a declared cell, or the error that says how to declare it.
    pub(crate) fn declared(&self, cell: &CellRef, what: &str) -> CliResult<CellConfig> {
        self.cell_config(cell).copied().ok_or_else(|| {
            CliError::Failed(format!(
                "the cell given to {what} is not declared in this vault (not repeated here): \
                 `hexvault ls` lists the cells, `hexvault cell add P/C` declares one"
            ))
        })
    }

    /// Every declared cell, in order.
    pub(crate) fn cells(&self) -> CliResult<Vec<(CellRef, CellConfig)>> {
        let mut all = Vec::new();
        for (partition, cells) in &self.config.partitions {
            for (cell, versions) in &cells.cells {
                all.push((
                    CellRef {
                        partition: partition_id(partition, "config.toml")?,
                        cell: cell_id(cell, "config.toml")?,
                    },
                    *versions,
                ));
            }
        }
        Ok(all)
    }

    /// The audit log file.
    pub(crate) fn audit_file(&self) -> PathBuf {
        self.root.join(AUDIT_FILE)
    }

    /// The directory of a cell's blobs: `objects/hex(partition)/hex(cell)`.
    pub(crate) fn cell_dir(&self, cell: &CellRef) -> PathBuf {
        self.root
            .join(OBJECTS_DIR)
            .join(hex::encode(cell.partition.as_str()))
            .join(hex::encode(cell.cell.as_str()))
    }

    /// The blob file of an object: `objects/hex(partition)/hex(cell)/hex(object).blob`.
    pub(crate) fn blob_path(&self, cell: &CellRef, object: &ObjectId) -> PathBuf {
        self.cell_dir(cell)
            .join(format!("{}.{BLOB_EXT}", hex::encode(object.as_str())))
    }

    /// The objects of a cell with their blob files, sorted by id. Files being written
    /// (`.tmp-*`) and files that are not `HEX.blob` of a valid object id are skipped.
    pub(crate) fn objects(&self, cell: &CellRef) -> CliResult<Vec<(ObjectId, PathBuf)>> {
        let dir = self.cell_dir(cell);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(CliError::io("listing a cell's objects", error)),
        };
        let mut objects = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|error| CliError::io("listing a cell's objects", error))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(blob_file_object) else {
                continue;
            };
            objects.push((id, entry.path()));
        }
        objects.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(objects)
    }

    /// Removes the `.tmp-*` files an interrupted write left in a cell's directory, and the
    /// `.stream` files an interrupted write left (docs/formats.md, "Large object"). Called by writers
    /// only, which hold the audit log's lock, so no other writer is mid-write.
    pub(crate) fn remove_leftovers(&self, cell: &CellRef) -> CliResult {
        let dir = self.cell_dir(cell);
        remove_temporaries(&dir)?;
        crate::large::remove_orphans(&dir)
    }
}

/// Removes the `.tmp-*` files in `dir` (none if `dir` does not exist).
fn remove_temporaries(dir: &Path) -> CliResult {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(TEMP_PREFIX))
        {
            fs::remove_file(entry.path())
                .map_err(|error| CliError::io("removing an interrupted write", error))?;
        }
    }
    Ok(())
}

/// Makes a directory's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> CliResult {
    File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| CliError::io("syncing a vault directory", error))
}

/// How [`write_blob`] treats an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// Fail if the blob exists.
    Never,
    /// Replace it atomically (reseal).
    Atomically,
}

/// Writes `bytes` to `path` durably and atomically: a temporary `.tmp-*` file in the same
/// directory is written and fsynced, then `before_rename` runs (the caller appends and
/// flushes the audit record there, so a record never exists without the complete blob it
/// names being on disk), then the file is renamed into place and the directory fsynced.
pub(crate) fn write_blob(
    path: &Path,
    bytes: &[u8],
    replace: Replace,
    before_rename: impl FnOnce() -> CliResult,
) -> CliResult {
    PendingBlob::create(path)?.finish(bytes, replace, before_rename)
}

/// Room reserved for a new blob beyond the length of the blob it comes from
/// ([`PendingBlob::reserve`]): a destination header with longer names, a higher layer's
/// parameters and tags.
pub(crate) const BLOB_SLACK: usize = 1024;

/// A blob about to be written: its cell directory made and its temporary `.tmp-*` file
/// created (removed on drop unless finished). `traverse` creates it before the edge appends
/// the record, so a cell directory that cannot be made or written (a dangling symbolic link,
/// no permission, no space for a new file) fails before any record (review round 47).
pub(crate) struct PendingBlob {
    file: tempfile::NamedTempFile,
    path: PathBuf,
}

impl PendingBlob {
    /// Makes `path`'s directory and a temporary file in it.
    pub(crate) fn create(path: &Path) -> CliResult<Self> {
        let dir = path
            .parent()
            .ok_or_else(|| CliError::Failed("internal error: a blob path has no parent".into()))?;
        fs::create_dir_all(dir)
            .map_err(|error| CliError::io("creating a cell directory", error))?;
        let file = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(dir)
            .map_err(|error| CliError::io("creating a blob file", error))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Reserves `len` bytes for the blob ([`reserve_room`]), so a disk without room for it,
    /// or a file size limit, fails here, before the caller appends the record that names
    /// the blob (review round 55; round 48 LOW). A blob that turns out longer than `len`
    /// writes its excess after the record.
    pub(crate) fn reserve(&mut self, len: usize) -> CliResult {
        reserve_room(self.file.as_file(), len as u64, "reserving room for a blob")
    }

    /// Writes `bytes` (over what [`PendingBlob::reserve`] wrote, cut to their length) and
    /// finishes as [`write_blob`] does.
    pub(crate) fn finish(
        mut self,
        bytes: &[u8],
        replace: Replace,
        before_rename: impl FnOnce() -> CliResult,
    ) -> CliResult {
        use std::io::{Seek, SeekFrom};
        let path = self.path.as_path();
        let dir = path
            .parent()
            .ok_or_else(|| CliError::Failed("internal error: a blob path has no parent".into()))?;
        let file = &mut self.file;
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(bytes))
            .and_then(|()| file.as_file().set_len(bytes.len() as u64))
            .and_then(|()| file.as_file().sync_all())
            .map_err(|error| CliError::io("writing a blob", error))?;
        before_rename()?;
        finish_blob(self.file, path, dir, replace)
    }
}

/// Allocates `len` bytes of `file` (from its start) on the device, so that writing them
/// later cannot fail for lack of space or a file size limit: `fallocate`, or, on a file
/// system that does not offer it, writing zeros. Then syncs the file. (On a copy-on-write
/// or compressing file system, ZFS or btrfs, an allocation is no promise for the rewrite.)
pub(crate) fn reserve_room(file: &File, len: u64, what: &str) -> CliResult {
    use rustix::fs::FallocateFlags;
    if len == 0 {
        // Nothing to allocate (`fallocate` refuses a length of 0).
        return Ok(());
    }
    match rustix::fs::fallocate(file, FallocateFlags::empty(), 0, len) {
        Ok(()) => {}
        Err(rustix::io::Errno::OPNOTSUPP) => {
            let mut writer = file;
            std::io::copy(&mut std::io::repeat(0).take(len), &mut writer)
                .map_err(|error| CliError::io(what, error))?;
        }
        Err(errno) => return Err(CliError::io(what, errno.into())),
    }
    file.sync_all().map_err(|error| CliError::io(what, error))
}

/// Renames a written, fsynced blob file into place and fsyncs the directories.
fn finish_blob(
    file: tempfile::NamedTempFile,
    path: &Path,
    dir: &Path,
    replace: Replace,
) -> CliResult {
    match replace {
        Replace::Never => file.persist_noclobber(path).map(drop).map_err(|error| {
            if error.error.kind() == std::io::ErrorKind::AlreadyExists {
                CliError::Failed(
                    "the object exists in the cell; choose another --id (a blob is never \
                     overwritten by seal or traverse)"
                        .into(),
                )
            } else {
                CliError::io("writing a blob", error.error)
            }
        })?,
        Replace::Atomically => file
            .persist(path)
            .map(drop)
            .map_err(|error| CliError::io("writing a blob", error.error))?,
    }
    sync_dir(dir)?;
    // The cell directory itself may be new: make its entry durable too.
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
        if let Some(objects) = parent.parent() {
            sync_dir(objects)?;
        }
    }
    Ok(())
}

/// The assembled vault over a vault directory, with every declared cell's key versions
/// restored and every declared edge connected.
pub(crate) struct OpenVault {
    pub(crate) vault: hexvault::Vault,
    pub(crate) edges: Vec<(EdgeConfig, Edge)>,
    /// What the log, verified with the vault's keys when it was opened, records of its
    /// topology and sessions (the bytes verified are the bytes read).
    pub(crate) recorded: crate::topology::Recorded,
}

impl VaultDir {
    /// Opens the facade over this directory without checking config.toml against the log:
    /// the seed must be the vault's (its audit signer's public key is the config's), the
    /// audit log must exist (it is verified and a torn final frame quarantined on open),
    /// and the cells' key versions are replayed from the log by the facade. Returns the
    /// vault and what its log records of topology and sessions, read from the records the
    /// facade verified as it opened the log (one read and one verification of the file).
    /// Only `config adopt` and `config sync`, which repair config.toml, stop here; every
    /// other command goes through [`VaultDir::assemble`].
    pub(crate) fn open_facade(
        &self,
        seed: &hexvault::mnemonic::Seed,
        resolver: impl hexvault::cells::TokenResolver + 'static,
    ) -> CliResult<(hexvault::Vault, crate::topology::Recorded)> {
        self.open_facade_with(seed, resolver, EmptyLog::Refuse)
    }

    /// [`VaultDir::open_facade`], with `empty_log` saying whether a log that holds no
    /// record and has no anchor file is accepted: only `config adopt --empty-log` accepts
    /// one (a vault made before ADR 0087 that never recorded anything looks exactly like a
    /// log erased to its header with its anchor deleted, so the operator must say which).
    pub(crate) fn open_facade_with(
        &self,
        seed: &hexvault::mnemonic::Seed,
        resolver: impl hexvault::cells::TokenResolver + 'static,
        empty_log: EmptyLog,
    ) -> CliResult<(hexvault::Vault, crate::topology::Recorded)> {
        let public = hexvault::keys::audit_signer(seed)?.verifying_key();
        if hex::encode(public.to_bytes()) != self.config.audit_public_key {
            return Err(CliError::Failed(
                "this mnemonic and passphrase are not the vault's (its audit key differs from \
                 the one in config.toml): give the phrase and passphrase the vault was \
                 created with"
                    .into(),
            ));
        }
        let log = self.audit_file();
        if !log.exists() {
            return Err(CliError::Failed(
                "the vault's audit.log is missing: restore it (and audit.log.anchor) from a \
                 backup; the vault refuses to start a new log silently"
                    .into(),
            ));
        }
        // Also for a log with no record past its header, which the facade would take for a
        // new log and anchor afresh: in a vault directory that is a log erased with its
        // anchor (review round 13) unless the operator says it is an old vault that never
        // recorded anything.
        if empty_log == EmptyLog::Refuse || !holds_no_record(&log)? {
            refuse_missing_anchor(&log, CHECK_AGAINST_KEPT_ANCHOR)?;
        }
        let mut vault = hexvault::Vault::builder()
            .audit_file(log)
            .keep_opened_records()
            .from_seed(seed, resolver)?;
        // The log was read and verified once, as the vault opened it under its lock: the
        // topology and sessions are read from those records, not from a second read.
        let records = vault.take_opened_records().ok_or_else(|| {
            CliError::Failed(
                "internal error: the vault opened its audit log without its records".into(),
            )
        })?;
        let recorded = crate::topology::recorded(&records)?;
        drop(records);
        if let Some(tail) = vault
            .opened_report()
            .and_then(|report| report.torn_tail.as_ref())
        {
            crate::output::warning(&format!(
                "the audit log ended in a torn frame of {} bytes (an interrupted write); it \
                 was cut off and kept in a quarantine file beside the log",
                tail.len
            ));
        }
        Ok((vault, recorded))
    }

    /// Opens the assembled vault: [`VaultDir::open_facade`], then config.toml is read again
    /// (now that this command holds the log's lock, a declaration that wrote its record has
    /// written its config too: `partition|cell|edge add` write config.toml before they
    /// release the log), its partitions, cells and edges must be exactly those the verified
    /// audit log records (ADR 0087), its key versions must not lead the log's, and its
    /// edges are declared. Declarations only add, so the config this command read before is
    /// a part of the one checked here. Last, a config.toml that lags the log's key versions
    /// (a kill between a rotation's record and the config write) is written forward
    /// ([`VaultDir::catch_up_versions`]): every command that opens the vault with its keys
    /// opens it here.
    pub(crate) fn assemble(
        &self,
        seed: &hexvault::mnemonic::Seed,
        resolver: impl hexvault::cells::TokenResolver + 'static,
    ) -> CliResult<OpenVault> {
        let (vault, recorded) = self.open_facade(seed, resolver)?;
        let fresh = Self::open(&self.root)?;
        // Refused before anything is appended: a refused command records nothing.
        crate::topology::check(&fresh.config, &recorded)?;
        for (cell, versions) in fresh.cells()? {
            // The facade has replayed the log's rotations and retirements: the log, which
            // is authenticated, is the source of truth. The config lags it after a crash
            // between a rotation and the config write (fine), but never leads it: a config
            // naming versions the log does not record was edited (config.toml is not
            // authenticated) or the log was cut. Refused, never applied: applying it would
            // record an attacker's edit as a permanent, audited retirement.
            let handle = vault
                .partition(cell.partition.clone())
                .cell(cell.cell.clone());
            let (current, minimum) = handle.key_versions();
            if versions.key_version > current || versions.min_key_version > minimum {
                return Err(CliError::Failed(format!(
                    "config.toml names cell {}/{} at key version {} (minimum {}), but the \
                     audit log records only version {current} (minimum {minimum}): \
                     config.toml was edited or the audit log was cut; restore config.toml \
                     and audit.log (with audit.log.anchor) from the same backup",
                    cell.partition, cell.cell, versions.key_version, versions.min_key_version
                )));
            }
        }
        let mut edges = Vec::new();
        for edge in &fresh.config.edges {
            let from = CellRef::parse(&edge.from, "config.toml")?;
            let to = CellRef::parse(&edge.to, "config.toml")?;
            let handle = vault.connect(
                &vault.partition(from.partition).cell(from.cell),
                &vault.partition(to.partition).cell(to.cell),
            )?;
            edges.push((edge.clone(), handle));
        }
        self.catch_up_versions(&vault)?;
        Ok(OpenVault {
            vault,
            edges,
            recorded,
        })
    }
}

/// A cell's key versions as the audit log records them: (current, minimum).
pub(crate) type LogVersions = std::collections::BTreeMap<(String, String), (u32, u32)>;

/// The key versions of [`VaultDir::log_versions`], and how many records after the last
/// checkpoint (not covered by the audit public key) were left out of them.
pub(crate) struct CoveredVersions {
    pub(crate) versions: LogVersions,
    pub(crate) uncovered: u64,
}

impl VaultDir {
    /// The cells' key versions the audit log records, for a command that holds no secret
    /// (`ls`): the log is verified with the config's audit public key (its checkpoints and
    /// anchor; the keyed chain needs the mnemonic, which the commands that seal and open
    /// verify), then the rotation records up to the last checkpoint (those the public key
    /// covers) are replayed by the one rule the vault itself uses
    /// ([`hexvault::cells::RecordedVersions`]). Records after the last checkpoint are
    /// left out and counted: anyone who can write the file can append them. A cell the
    /// covered records name no version for is at version 1.
    pub(crate) fn log_versions(&self) -> CliResult<CoveredVersions> {
        use hexvault::audit::{Anchor, LogContents, LogEntry, Verifier};
        let damaged = || {
            CliError::Failed(
                "the vault's audit log does not verify with config.toml's audit public key: \
                 run `hexvault audit verify --dir ...` (or with --public-key) to see where"
                    .into(),
            )
        };
        let key = hex::decode(&self.config.audit_public_key)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .and_then(|bytes| hexvault::audit::VerifyingKey::from_bytes(&bytes).ok())
            .ok_or_else(damaged)?;
        let log = self.audit_file();
        let bytes = fs::read(&log).map_err(|error| CliError::io("reading the audit log", error))?;
        let mut verifier = Verifier::public_key(key);
        let contents = LogContents::parse(&bytes).map_err(|_| damaged())?;
        // The facade's rule (`Error::AnchorMissing`, review round 9).
        refuse_missing_anchor(&log, CHECK_AGAINST_KEPT_ANCHOR)?;
        let anchor = Anchor::path_for(&log);
        if anchor.exists() {
            verifier = verifier.with_anchor(Anchor::read(&anchor).map_err(|_| damaged())?);
        }
        let report = verifier
            .verify_bytes(&bytes)
            .and_then(hexvault::audit::Report::into_result)
            .map_err(|_| damaged())?;
        let covered = report.last_checkpoint;
        let mut uncovered = 0_u64;
        let records = contents.entries.iter().filter_map(|entry| match entry {
            LogEntry::Record { record, .. } => {
                if covered.is_some_and(|last| record.sequence <= last) {
                    Some(record)
                } else {
                    uncovered = uncovered.saturating_add(1);
                    None
                }
            }
            // Checkpoints (and any later kind of entry) carry no key versions.
            _ => None,
        });
        let recorded = hexvault::cells::RecordedVersions::from_records(records)?;
        let versions = recorded
            .cells()
            .map(|(partition, cell, versions)| {
                (
                    (partition.as_str().to_owned(), cell.as_str().to_owned()),
                    versions,
                )
            })
            .collect();
        Ok(CoveredVersions {
            versions,
            uncovered,
        })
    }

    /// The declared cells whose config key versions are below the assembled vault's (the
    /// log's), with the log's versions: config.toml lags the log after a kill between a
    /// rotation's record and the config write.
    fn behind_log(&self, vault: &hexvault::Vault) -> CliResult<Vec<(CellRef, (u32, u32))>> {
        let mut behind = Vec::new();
        for (cell, config) in self.cells()? {
            let (current, minimum) = vault
                .partition(cell.partition.clone())
                .cell(cell.cell.clone())
                .key_versions();
            if config.key_version < current || config.min_key_version < minimum {
                behind.push((cell, (current, minimum)));
            }
        }
        Ok(behind)
    }

    /// Raises the config's key versions of the declared cells to the assembled vault's (the
    /// log's; see [`Self::behind_log`]). Returns whether anything changed (the caller saves
    /// under the directory's lock).
    pub(crate) fn raise_to_log(&mut self, vault: &hexvault::Vault) -> CliResult<bool> {
        let behind = self.behind_log(vault)?;
        for (cell, (current, minimum)) in &behind {
            if let Some(config) = self
                .config
                .partitions
                .get_mut(cell.partition.as_str())
                .and_then(|partition| partition.cells.get_mut(cell.cell.as_str()))
            {
                config.key_version = config.key_version.max(*current);
                config.min_key_version = config.min_key_version.max(*minimum);
            }
        }
        Ok(!behind.is_empty())
    }

    /// Writes config.toml forward to the log's key versions if it lags them (see
    /// [`Self::behind_log`]), under the directory's lock; skipped when another command holds
    /// that lock (it is changing the config; the next command catches up). No command takes
    /// a decision from the config's versions (they come from the log), so a lagging config
    /// is repaired, never refused.
    pub(crate) fn catch_up_versions(&self, vault: &hexvault::Vault) -> CliResult {
        if self.behind_log(vault)?.is_empty() {
            return Ok(());
        }
        let directory = File::open(&self.root)
            .map_err(|error| CliError::io("opening the vault directory", error))?;
        match directory.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(()),
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(CliError::io("locking the vault directory", error));
            }
        }
        let _lock = ConfigLock(directory);
        // Re-read under the lock: the config written is the current one, raised.
        let mut current = Self::open(&self.root)?;
        if current.raise_to_log(vault)? {
            current.save()?;
        }
        Ok(())
    }
}

/// How the keyed commands and `ls` tell the operator to check a log against a kept anchor.
const CHECK_AGAINST_KEPT_ANCHOR: &str = "`hexvault audit verify --dir ... --anchor FILE`";

/// Refuses the audit log `log` of a vault directory when its anchor file is missing,
/// whatever the log holds. `init` writes the log's first record and its anchor before
/// config.toml exists, so every vault directory's log has an anchor beside it: a missing one
/// means the log may have been cut back (or erased to its header) and the anchor deleted,
/// which no verification of the log alone can see. `ls`, `audit verify` of the vault's log
/// (by directory or named as FILE) and every command that opens the vault refuse it through
/// this one function; `check` names the way to check the log against a kept anchor.
pub(crate) fn refuse_missing_anchor(log: &Path, check: &str) -> CliResult {
    let anchor = hexvault::audit::Anchor::path_for(log);
    if anchor.exists() {
        return Ok(());
    }
    Err(CliError::Failed(format!(
        "the vault's audit log has no anchor file {} beside it (every vault directory gets \
         one at init): the log may have been cut back or erased and the anchor deleted; \
         restore the anchor file from a backup, or check the log against a kept anchor with \
         {check} (only a vault made before hexvault recorded its topology, whose log holds \
         no record, has none either: if you know this vault never recorded anything, \
         `hexvault config adopt --empty-log` accepts its empty history and anchors the log)",
        anchor.display()
    )))
}

/// Whether the audit log `log` holds nothing past its header (no record, no torn or
/// unreadable bytes).
fn holds_no_record(log: &Path) -> CliResult<bool> {
    let contents = hexvault::audit::LogContents::read(log)
        .map_err(|error| CliError::Failed(format!("{}: {error}", log.display())))?;
    Ok(
        contents.entries.is_empty()
            && contents.torn_tail.is_none()
            && contents.unreadable.is_none(),
    )
}

/// Whether [`VaultDir::open_facade_with`] accepts a log that holds no record and has no
/// anchor file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EmptyLog {
    /// Refused, as every command but `config adopt --empty-log` does.
    Refuse,
    /// Accepted: the operator said the vault never recorded anything.
    Accept,
}

/// `file` as the audit log of a vault directory: the vault's `audit.log` path when `file`
/// is the `audit.log` of a directory that holds a `config.toml`, either as named (its
/// directory resolved, the name kept: a vault's `audit.log` replaced by a symbolic link to
/// another name in it is still the vault's log, review round 14) or with every symbolic link
/// resolved (a link from elsewhere to a vault's log), else `None`. `audit verify FILE`
/// applies the vault's anchor rule to such a file.
pub(crate) fn vault_log_of(file: &Path) -> Option<PathBuf> {
    let in_vault = |dir: &Path, name: &std::ffi::OsStr| {
        (name == AUDIT_FILE && dir.join(CONFIG_FILE).is_file()).then(|| dir.join(AUDIT_FILE))
    };
    let name = file.file_name()?;
    let parent = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let as_named = fs::canonicalize(parent)
        .ok()
        .and_then(|dir| in_vault(&dir, name));
    as_named.or_else(|| {
        let resolved = fs::canonicalize(file).ok()?;
        in_vault(resolved.parent()?, resolved.file_name()?)
    })
}
