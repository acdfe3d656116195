//! The vault directory of `hexvault init` (docs/formats.md, "Vault directory"): its layout,
//! its config file (TOML, no secret), durable atomic blob writes, and the assembled vault
//! opened over it.
//!
//! Names the operator typed (`--cell P/C`, `--id`, `--dir`) are repeated in errors only once
//! they are known to the vault (declared in its config or present as a blob): a secret typed
//! in place of a name must not be echoed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};
use hexvault::cells::{CellId, ObjectId, PartitionId};
use hexvault::edges::{Connect, Edge};

/// The directory used when neither `--dir` nor `$HEXVAULT_DIR` names one.
pub(crate) const DEFAULT_DIR: &str = ".hexvault";
/// The environment variable that names the vault directory.
pub(crate) const DIR_ENV: &str = "HEXVAULT_DIR";
/// The config file, in the vault directory.
pub(crate) const CONFIG_FILE: &str = "config.toml";
/// The audit log file, in the vault directory (its anchor is `audit.log.anchor`).
pub(crate) const AUDIT_FILE: &str = "audit.log";
/// The directory of the sealed blobs, in the vault directory.
const OBJECTS_DIR: &str = "objects";
/// The extension of a blob file.
const BLOB_EXT: &str = "blob";
/// The prefix of a blob being written (ignored by every reader, removed by later writers).
pub(crate) const TEMP_PREFIX: &str = ".tmp-";
/// The config format this build writes and reads.
pub(crate) const CONFIG_FORMAT: u32 = 1;

/// `config.toml`: partitions, cells with their key versions, declared edges, and the public
/// key of the audit signer. Holds no secret.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// [`CONFIG_FORMAT`].
    pub(crate) format: u32,
    /// The audit signer's ed25519 public key (64 hex digits).
    pub(crate) audit_public_key: String,
    /// Partitions by id.
    #[serde(default)]
    pub(crate) partitions: BTreeMap<String, PartitionConfig>,
    /// Declared one-way edges.
    #[serde(default)]
    pub(crate) edges: Vec<EdgeConfig>,
}

/// One partition of the config.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartitionConfig {
    /// Cells by id.
    #[serde(default)]
    pub(crate) cells: BTreeMap<String, CellConfig>,
}

/// One cell of the config: its key versions (current seals, minimum is the oldest opened).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CellConfig {
    pub(crate) key_version: u32,
    pub(crate) min_key_version: u32,
}

impl Default for CellConfig {
    fn default() -> Self {
        Self {
            key_version: 1,
            min_key_version: 1,
        }
    }
}

/// A declared edge, `from` and `to` written `partition/cell`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EdgeConfig {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// A cell named `partition/cell` (the partition id has no `/`; the cell id may).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CellRef {
    pub(crate) partition: PartitionId,
    pub(crate) cell: CellId,
}

impl CellRef {
    /// Parses `P/C` (an argument of `--cell`, `--from`, `--to`, `edge add`); the error never
    /// repeats the value.
    pub(crate) fn parse(text: &str, what: &str) -> CliResult<Self> {
        let (partition, cell) = text.split_once('/').ok_or_else(|| {
            CliError::usage(format!(
                "{what} takes PARTITION/CELL (the value is not repeated here)"
            ))
        })?;
        Ok(Self {
            partition: partition_id(partition, what)?,
            cell: cell_id(cell, what)?,
        })
    }

    /// `partition/cell`.
    pub(crate) fn name(&self) -> String {
        format!("{}/{}", self.partition, self.cell)
    }
}

const ID_RULE: &str = "1 to 128 ASCII letters, digits and . _ - : / @";

/// A partition id for this command line: a cells partition id without `/` (so that
/// `PARTITION/CELL` splits at its first `/`).
pub(crate) fn partition_id(text: &str, what: &str) -> CliResult<PartitionId> {
    if text.contains('/') {
        return Err(CliError::usage(format!(
            "the partition id in {what} has a `/`; partition ids here use {ID_RULE} but no `/`"
        )));
    }
    PartitionId::new(text).map_err(|_| {
        CliError::usage(format!(
            "the partition id in {what} is not valid (not repeated here): use {ID_RULE}"
        ))
    })
}

/// A cell id; the error never repeats the value.
pub(crate) fn cell_id(text: &str, what: &str) -> CliResult<CellId> {
    CellId::new(text).map_err(|_| {
        CliError::usage(format!(
            "the cell id in {what} is not valid (not repeated here): use {ID_RULE}"
        ))
    })
}

/// An object id; the error never repeats the value.
pub(crate) fn object_id(text: &str) -> CliResult<ObjectId> {
    ObjectId::new(text).map_err(|_| {
        CliError::usage(format!(
            "--id is not a valid object id (not repeated here): use {ID_RULE}"
        ))
    })
}

/// The key versions of a blob, read from its public header (docs/formats.md, "Cell blob":
/// magic `HXVC`, version 1, top layer, flags, the master key version, then the cell key
/// version as u32 big-endian). `None` for a file that does not start like a cell blob.
pub(crate) fn blob_versions(blob: &[u8]) -> Option<BlobInfo> {
    let magic = blob.get(..4)?;
    if magic != hexvault::cells::MAGIC || *blob.get(4)? != hexvault::cells::FORMAT_VERSION {
        return None;
    }
    let layer = *blob.get(5)?;
    let cell = u32::from_be_bytes(blob.get(11..15)?.try_into().ok()?);
    Some(BlobInfo {
        layer,
        cell_version: cell,
    })
}

/// What a blob's public header says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlobInfo {
    pub(crate) layer: u8,
    pub(crate) cell_version: u32,
}

/// An opened vault directory: its root and parsed config.
#[derive(Debug)]
pub(crate) struct VaultDir {
    pub(crate) root: PathBuf,
    pub(crate) config: Config,
}

/// The error of a missing vault. The directory is not repeated: it may have been typed.
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
        let lock = ConfigLock(directory);
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
        let config: Config = toml::from_str(&text).map_err(|error| {
            CliError::Failed(format!(
                "the vault's config.toml is not valid ({}); restore it from a backup or fix it \
                 as docs/formats.md describes",
                error.message()
            ))
        })?;
        if config.format != CONFIG_FORMAT {
            return Err(CliError::Failed(format!(
                "the vault's config.toml has format {}, this build reads format \
                 {CONFIG_FORMAT}; use a matching hexvault",
                config.format
            )));
        }
        let dir = Self {
            root: root.to_path_buf(),
            config,
        };
        dir.check()?;
        Ok(dir)
    }

    /// Checks every id, key version and edge of the config.
    fn check(&self) -> CliResult {
        let bad = |what: String| {
            CliError::Failed(format!(
                "the vault's config.toml is not valid: {what}; fix it as docs/formats.md \
                 describes"
            ))
        };
        for (partition, cells) in &self.config.partitions {
            partition_id(partition, "config.toml").map_err(|_| bad("a partition id".into()))?;
            for (cell, versions) in &cells.cells {
                cell_id(cell, "config.toml").map_err(|_| bad("a cell id".into()))?;
                if versions.min_key_version == 0 || versions.min_key_version > versions.key_version
                {
                    return Err(bad(format!(
                        "cell {partition}/{cell} needs 1 <= min_key_version <= key_version"
                    )));
                }
            }
        }
        for edge in &self.config.edges {
            for end in [&edge.from, &edge.to] {
                let cell = CellRef::parse(end, "config.toml").map_err(|_| bad("an edge".into()))?;
                if self.cell_config(&cell).is_none() {
                    return Err(bad(format!("edge end {end} is not a declared cell")));
                }
            }
        }
        Ok(())
    }

    /// Writes the config atomically (temporary file, fsync, rename, fsync of the directory).
    pub(crate) fn save(&self) -> CliResult {
        let text = toml::to_string(&self.config)
            .map_err(|error| CliError::Failed(format!("internal error: config.toml: {error}")))?;
        let mut body = String::from(
            "# hexvault vault configuration (docs/formats.md, \"Vault directory\"). No secret.\n",
        );
        body.push_str(&text);
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
        self.config
            .partitions
            .get(cell.partition.as_str())?
            .cells
            .get(cell.cell.as_str())
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
            let Some(name) = name.to_str() else { continue };
            let Some(stem) = name.strip_suffix(".blob") else {
                continue;
            };
            let Some(id) = hex::decode(stem)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| ObjectId::new(&text).ok())
            else {
                continue;
            };
            objects.push((id, entry.path()));
        }
        objects.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(objects)
    }

    /// Removes the `.tmp-*` files an interrupted write left in a cell's directory, and the
    /// `.stream` files no blob names (docs/formats.md, "Large object"). Called by writers
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
    let dir = path
        .parent()
        .ok_or_else(|| CliError::Failed("internal error: a blob path has no parent".into()))?;
    fs::create_dir_all(dir).map_err(|error| CliError::io("creating a cell directory", error))?;
    let mut file = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|error| CliError::io("creating a blob file", error))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|error| CliError::io("writing a blob", error))?;
    before_rename()?;
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
}

impl VaultDir {
    /// Opens the assembled vault: the seed must be the vault's (its audit signer's public
    /// key is the config's), the audit log must exist (it is verified and a torn final frame
    /// quarantined on open), the cells' key versions come from the log (replayed by the facade), raised to the config's where it is ahead, and the config's
    /// edges are declared.
    pub(crate) fn assemble(
        &self,
        seed: &hexvault::mnemonic::Seed,
        resolver: impl hexvault::cells::TokenResolver + 'static,
    ) -> CliResult<OpenVault> {
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
        let vault = hexvault::Vault::builder()
            .audit_file(log)
            .from_seed(seed, resolver)?;
        if let Some(tail) = vault
            .opened_report()
            .and_then(|report| report.torn_tail.as_ref())
        {
            crate::output::note(&format!(
                "the audit log ended in a torn frame of {} bytes (an interrupted write); it \
                 was cut off and kept in a quarantine file beside the log",
                tail.len
            ));
        }
        for (cell, versions) in self.cells()? {
            // The facade has replayed the log's rotations and retirements already; the
            // config can only raise them (it lags the log after a crash between a rotation
            // and the config write, and a restore never lowers a version).
            let handle = vault
                .partition(cell.partition.clone())
                .cell(cell.cell.clone());
            let (current, minimum) = handle.key_versions();
            handle.restore_versions(
                versions.key_version.max(current),
                versions.min_key_version.max(minimum),
            )?;
        }
        let mut edges = Vec::new();
        for edge in &self.config.edges {
            let from = CellRef::parse(&edge.from, "config.toml")?;
            let to = CellRef::parse(&edge.to, "config.toml")?;
            let handle = vault.connect(
                &vault.partition(from.partition).cell(from.cell),
                &vault.partition(to.partition).cell(to.cell),
            )?;
            edges.push((edge.clone(), handle));
        }
        Ok(OpenVault { vault, edges })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_versions_reads_the_documented_header() {
        // The start of the cell blob vector of docs/formats.md (top layer 1, versions 1/1),
        // with the cell key version changed to 7 and the master version to 3.
        let mut head = hex::decode("485856430101000000000300000007067465").unwrap_or_default();
        let info = blob_versions(&head);
        assert!(matches!(
            info,
            Some(BlobInfo {
                layer: 1,
                cell_version: 7
            })
        ));
        // Every shorter prefix, another magic or another format version: not a blob.
        for len in 0..15 {
            assert!(blob_versions(head.get(..len).unwrap_or_default()).is_none());
        }
        if let Some(byte) = head.get_mut(4) {
            *byte = 2;
        }
        assert!(blob_versions(&head).is_none());
        if let Some(byte) = head.get_mut(0) {
            *byte = b'X';
        }
        assert!(blob_versions(&head).is_none());
    }

    #[test]
    fn config_round_trips_through_toml_and_refuses_unknown_keys() {
        let mut partitions = BTreeMap::new();
        let mut cells = BTreeMap::new();
        cells.insert(
            "in/box".to_owned(),
            CellConfig {
                key_version: 4,
                min_key_version: 2,
            },
        );
        partitions.insert("p@1".to_owned(), PartitionConfig { cells });
        partitions.insert("empty".to_owned(), PartitionConfig::default());
        let config = Config {
            format: CONFIG_FORMAT,
            audit_public_key: "ab".repeat(32),
            partitions,
            edges: vec![EdgeConfig {
                from: "p@1/in/box".to_owned(),
                to: "empty/x".to_owned(),
            }],
        };
        let text = toml::to_string(&config).unwrap_or_default();
        let back: Config = match toml::from_str(&text) {
            Ok(back) => back,
            Err(error) => unreachable!("{error}: {text}"),
        };
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
        let cell = CellRef::parse("p@1/in/box", "test").ok();
        assert_eq!(
            cell.map(|c| (c.partition.to_string(), c.cell.to_string())),
            Some(("p@1".to_owned(), "in/box".to_owned()))
        );
        let extra = format!("{text}\nsecret = \"x\"\n");
        assert!(toml::from_str::<Config>(&extra).is_err());
    }
}
