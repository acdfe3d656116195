//! The key versions a vault's audit log records: the one rule that replays its rotation and
//! retirement records, used by [`Vault::replay_versions`](crate::Vault::replay_versions)
//! and by readers that hold no key (the command line's `ls`).

use std::collections::BTreeMap;

use hexvault_audit::{AuditRecord, EventKind};

use crate::{CellId, Error, PartitionId, Result};

/// A (current, minimum) pair of key versions: the version that seals, and the oldest one
/// that still opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Versions {
    pub(crate) current: u32,
    pub(crate) minimum: u32,
}

/// Where every key version starts: a new vault, and the first record of its log.
pub(crate) const FIRST: Versions = Versions {
    current: 1,
    minimum: 1,
};

/// The master and cell key versions a whole audit log records, replayed from version 1.
///
/// The records this crate writes for [`Cell::rotate`](crate::Cell::rotate),
/// [`Cell::retire_below`](crate::Cell::retire_below),
/// [`Cell::restore_versions`](crate::Cell::restore_versions),
/// [`Vault::rotate_master`](crate::Vault::rotate_master) and
/// [`Vault::retire_masters_below`](crate::Vault::retire_masters_below) are `rotate` records
/// with a destination only (the master's with an empty partition and cell). In log order, a
/// version above the current one is a rotation (the current version becomes it) and one at
/// or below it a retirement (the minimum becomes it, if higher); other records (reseals,
/// which have a source; traversals; refusals) are skipped. A cell the log names no version
/// for is at version 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedVersions {
    master: Versions,
    cells: BTreeMap<(PartitionId, CellId), Versions>,
}

impl RecordedVersions {
    /// Replays `records`, which must be the whole log from its first record (verified by
    /// the caller: this reads what it is given).
    ///
    /// # Errors
    /// [`Error::InvalidKeyVersion`] for a rotation record naming version 0 or a layer other
    /// than 0; [`Error::InvalidId`] for one naming an id this crate does not accept (this
    /// crate never writes either: the log is not one of its vaults').
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Result<Self> {
        let mut master = FIRST;
        let mut cells: BTreeMap<(PartitionId, CellId), Versions> = BTreeMap::new();
        for record in records {
            let event = &record.event;
            let Some(at) = event.destination.as_ref() else {
                continue;
            };
            if event.kind != EventKind::Rotate
                || event.source.is_some()
                || event.input.is_some()
                || event.output.is_some()
            {
                continue;
            }
            let version = at.key_version.0;
            if version == 0 || at.layer.0 != 0 {
                return Err(Error::InvalidKeyVersion {
                    version,
                    reason: "an audit rotation record names key version 0 or a layer other \
                             than 0: this vault never writes one (is the log another \
                             program's?)",
                });
            }
            let target = if at.partition.as_bytes().is_empty() && at.cell.as_bytes().is_empty() {
                &mut master
            } else {
                let id = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                let key = (
                    PartitionId::new(&id(at.partition.as_bytes()))?,
                    CellId::new(&id(at.cell.as_bytes()))?,
                );
                cells.entry(key).or_insert(FIRST)
            };
            if version > target.current {
                target.current = version;
            } else {
                target.minimum = target.minimum.max(version);
            }
        }
        Ok(Self { master, cells })
    }

    /// The master key versions: (current, minimum).
    #[must_use]
    pub fn master(&self) -> (u32, u32) {
        (self.master.current, self.master.minimum)
    }

    /// The key versions of one cell: (current, minimum); (1, 1) when the log names none.
    #[must_use]
    pub fn cell(&self, partition: &PartitionId, cell: &CellId) -> (u32, u32) {
        let v = self
            .cells
            .get(&(partition.clone(), cell.clone()))
            .copied()
            .unwrap_or(FIRST);
        (v.current, v.minimum)
    }

    /// Every cell the log names a version for, in (partition, cell) order, with (current,
    /// minimum).
    pub fn cells(&self) -> impl Iterator<Item = (&PartitionId, &CellId, (u32, u32))> {
        self.cells
            .iter()
            .map(|((p, c), v)| (p, c, (v.current, v.minimum)))
    }

    pub(crate) fn master_versions(&self) -> Versions {
        self.master
    }

    pub(crate) fn cell_entries(&self) -> impl Iterator<Item = (&(PartitionId, CellId), Versions)> {
        self.cells.iter().map(|(k, v)| (k, *v))
    }
}
