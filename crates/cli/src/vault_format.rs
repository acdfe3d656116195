//! The formats of the vault directory (docs/formats.md, "Vault directory"): its config file
//! (TOML, no secret), the names of cells, objects and blob files, and the public header of
//! a cell blob as `ls` and `reseal` read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};
use hexvault::cells::{CellId, ObjectId, PartitionId};

/// The directory used when neither `--dir` nor `$HEXVAULT_DIR` names one.
pub const DEFAULT_DIR: &str = ".hexvault";
/// The environment variable that names the vault directory.
pub const DIR_ENV: &str = "HEXVAULT_DIR";
/// The config file, in the vault directory.
pub const CONFIG_FILE: &str = "config.toml";
/// The audit log file, in the vault directory (its anchor is `audit.log.anchor`).
pub const AUDIT_FILE: &str = "audit.log";
/// The directory of the sealed blobs, in the vault directory.
pub const OBJECTS_DIR: &str = "objects";
/// The extension of a blob file.
pub const BLOB_EXT: &str = "blob";
/// The prefix of a blob being written (ignored by every reader, removed by later writers).
pub const TEMP_PREFIX: &str = ".tmp-";
/// The config format this build writes and reads.
pub const CONFIG_FORMAT: u32 = 1;

/// `config.toml`: partitions, cells with their key versions, declared edges, and the public
/// key of the audit signer. Holds no secret.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// [`CONFIG_FORMAT`].
    pub format: u32,
    /// The audit signer's ed25519 public key (64 hex digits).
    pub audit_public_key: String,
    /// Partitions by id.
    #[serde(default)]
    pub partitions: BTreeMap<String, PartitionConfig>,
    /// Declared one-way edges.
    #[serde(default)]
    pub edges: Vec<EdgeConfig>,
}

/// One partition of the config.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionConfig {
    /// Cells by id.
    #[serde(default)]
    pub cells: BTreeMap<String, CellConfig>,
}

/// One cell of the config: its key versions (current seals, minimum is the oldest opened).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellConfig {
    /// The key version new seals use.
    pub key_version: u32,
    /// The oldest key version that still opens.
    pub min_key_version: u32,
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
pub struct EdgeConfig {
    /// The source cell.
    pub from: String,
    /// The destination cell.
    pub to: String,
}

/// A cell named `partition/cell` (the partition id has no `/`; the cell id may).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CellRef {
    /// The partition.
    pub partition: PartitionId,
    /// The cell in it.
    pub cell: CellId,
}

impl CellRef {
    /// Parses `P/C` (an argument of `--cell`, `--from`, `--to`, `edge add`); the error never
    /// repeats the value.
    ///
    /// # Errors
    /// Fails for a usage error for text without a `/` or with an invalid id.
    pub fn parse(text: &str, what: &str) -> CliResult<Self> {
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
    pub fn name(&self) -> String {
        format!("{}/{}", self.partition, self.cell)
    }
}

const ID_RULE: &str = "1 to 128 ASCII letters, digits and . _ - : / @";

/// The longest partition or cell id a vault directory holds: its folder is named by the id
/// in hex, and a file name has at most 255 bytes (ext4, xfs, btrfs, tmpfs).
pub const MAX_FOLDER_ID_LEN: usize = 127;

/// The longest object id a vault directory holds: its blob file is `hex(id).blob`.
pub const MAX_OBJECT_ID_LEN: usize = 125;

/// The longest object id of a large object (ADR 0073): its stream file is
/// `hex(id).HASH16.stream`, 2n + 24 bytes of a 255-byte file name.
pub const MAX_LARGE_OBJECT_ID_LEN: usize = 115;

/// Refuses an id whose file name in the vault directory would pass 255 bytes.
fn fits_a_file_name(text: &str, max: usize, what: &str) -> CliResult<()> {
    if text.len() > max {
        return Err(CliError::usage(format!(
            "the id in {what} is {} bytes long (not repeated here); the vault directory names \
             files by ids in hex, so it takes ids of at most {max} bytes",
            text.len()
        )));
    }
    Ok(())
}

/// A partition id for this command line: a cells partition id without `/` (so that
/// `PARTITION/CELL` splits at its first `/`).
///
/// # Errors
/// Fails for a usage error for an invalid id or one with a `/`.
pub fn partition_id(text: &str, what: &str) -> CliResult<PartitionId> {
    fits_a_file_name(text, MAX_FOLDER_ID_LEN, what)?;
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
///
/// # Errors
/// Fails for a usage error for an invalid id.
pub fn cell_id(text: &str, what: &str) -> CliResult<CellId> {
    fits_a_file_name(text, MAX_FOLDER_ID_LEN, what)?;
    CellId::new(text).map_err(|_| {
        CliError::usage(format!(
            "the cell id in {what} is not valid (not repeated here): use {ID_RULE}"
        ))
    })
}

/// An object id; the error never repeats the value.
///
/// # Errors
/// Fails for a usage error for an invalid id.
pub fn object_id(text: &str) -> CliResult<ObjectId> {
    fits_a_file_name(text, MAX_OBJECT_ID_LEN, "--id")?;
    ObjectId::new(text).map_err(|_| {
        CliError::usage(format!(
            "--id is not a valid object id (not repeated here): use {ID_RULE}"
        ))
    })
}

/// The key versions of a blob, read from its public header (docs/formats.md, "Cell blob":
/// magic `HXVC`, version 1 or 2, top layer, flags, the master key version, then the cell key
/// version as u32 big-endian). `None` for a file that does not start like a cell blob.
pub fn blob_versions(blob: &[u8]) -> Option<BlobInfo> {
    let magic = blob.get(..4)?;
    if magic != hexvault::cells::MAGIC
        || !hexvault::cells::READ_FORMAT_VERSIONS.contains(blob.get(4)?)
    {
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
pub struct BlobInfo {
    /// The top layer (0, 1 or 2).
    pub layer: u8,
    /// The cell key version it was sealed under.
    pub cell_version: u32,
}

impl Config {
    /// Parses config.toml's text: TOML of the documented form, format [`CONFIG_FORMAT`],
    /// every id valid, `1 <= min_key_version <= key_version`, every edge between declared
    /// cells.
    ///
    /// # Errors
    /// [`CliError::Failed`] saying what is wrong and what to do.
    pub fn parse(text: &str) -> CliResult<Self> {
        let config: Self = toml::from_str(text).map_err(|error| {
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
        config.check()?;
        Ok(config)
    }

    /// Checks every id, key version and edge of the config.
    fn check(&self) -> CliResult {
        let bad = |what: String| {
            CliError::Failed(format!(
                "the vault's config.toml is not valid: {what}; fix it as docs/formats.md \
                 describes"
            ))
        };
        for (partition, cells) in &self.partitions {
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
        for edge in &self.edges {
            for end in [&edge.from, &edge.to] {
                let cell = CellRef::parse(end, "config.toml").map_err(|_| bad("an edge".into()))?;
                if self.cell_config(&cell).is_none() {
                    return Err(bad(format!("edge end {end} is not a declared cell")));
                }
            }
        }
        Ok(())
    }

    /// The text of config.toml for this config (what [`Config::parse`] reads back).
    ///
    /// # Errors
    /// An internal error if TOML cannot represent the config.
    pub fn text(&self) -> CliResult<String> {
        let text = toml::to_string(self)
            .map_err(|error| CliError::Failed(format!("internal error: config.toml: {error}")))?;
        let mut body = String::from(
            "# hexvault vault configuration (docs/formats.md, \"Vault directory\"). No secret.\n",
        );
        body.push_str(&text);
        Ok(body)
    }

    /// The config of a declared cell.
    pub fn cell_config(&self, cell: &CellRef) -> Option<&CellConfig> {
        self.partitions
            .get(cell.partition.as_str())?
            .cells
            .get(cell.cell.as_str())
    }
}

/// The object a blob file's name holds: `HEX.blob`, `HEX` the lowercase hex of a valid
/// object id;
/// `None` for any other name (files being written, stream files, strangers).
pub fn blob_file_object(name: &str) -> Option<ObjectId> {
    let stem = name.strip_suffix(BLOB_EXT)?.strip_suffix('.')?;
    let bytes = hex::decode(stem).ok()?;
    // Only the name the command line writes (lowercase hex): `4A.blob` is not object `J`,
    // whose blob is `4a.blob`.
    if hex::encode(&bytes) != stem {
        return None;
    }
    let text = String::from_utf8(bytes).ok()?;
    ObjectId::new(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_versions_reads_the_documented_header() {
        // The start of the cell blob vector of docs/formats.md (top layer 1, versions 1/1),
        // with the cell key version changed to 7 and the master version to 3.
        let mut head = hex::decode("485856430201000000000300000007067465").unwrap_or_default();
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
        // Format 1 blobs are still read; versions never written are not blobs.
        for (version, read) in [(1u8, true), (0, false), (3, false), (0xff, false)] {
            if let Some(byte) = head.get_mut(4) {
                *byte = version;
            }
            assert_eq!(blob_versions(&head).is_some(), read, "version {version}");
        }
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

    #[test]
    fn blob_file_names_are_read_only_in_the_written_form() {
        let object = blob_file_object("6f626a.blob");
        assert_eq!(object.as_ref().map(ObjectId::as_str), Some("obj"));
        for name in [
            "6F626A.blob",
            "6f626a.blobx",
            "6f626a",
            "6f626.blob",
            ".blob",
            "6f626a.stream",
            "zz.blob",
            "6f626a.0011.stream",
        ] {
            assert!(blob_file_object(name).is_none(), "{name}");
        }
    }
}
