//! The vault directory's topology (partitions, cells and edges) as its audit log records
//! it (ADR 0087; docs/formats.md, "Vault directory"): every `partition add`, `cell add` and
//! `edge add` appends a `declare` record, and a vault opens only if config.toml declares
//! exactly what the verified log records, so an edit of config.toml (which is not
//! authenticated) never adds a route.

use std::collections::BTreeSet;

use crate::error::{CliError, CliResult};
use crate::vault_format::{CellRef, Config, cell_id, partition_id};
use hexvault::audit::{
    AuditLog, AuditRecord, Endpoint, Event, EventKind, KeyVersion, Layer, Outcome,
};
use hexvault::cells::PartitionId;

/// What a `declare` record declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declaration {
    /// From here on the log records the vault's topology (`init`, `config adopt`): no
    /// endpoint.
    Audited,
    /// A partition: the destination endpoint's partition, with an empty cell.
    Partition(PartitionId),
    /// A cell: the destination endpoint.
    Cell(CellRef),
    /// An edge: from the source endpoint to the destination endpoint.
    Edge(CellRef, CellRef),
}

/// The endpoint of a declaration: layer 0, key version 0 (a declaration names no key).
fn endpoint(partition: &str, cell: &str) -> CliResult<Endpoint> {
    Ok(Endpoint::new(
        hexvault::audit::PartitionId::new(partition.as_bytes())?,
        hexvault::audit::CellId::new(cell.as_bytes())?,
        Layer(0),
        KeyVersion(0),
    ))
}

fn cell_endpoint(cell: &CellRef) -> CliResult<Endpoint> {
    endpoint(cell.partition.as_str(), cell.cell.as_str())
}

impl Declaration {
    /// The audit event that records this declaration.
    ///
    /// # Errors
    /// An audit error for an id the audit format refuses (never for a valid cell id).
    pub fn event(&self) -> CliResult<Event> {
        let event = Event::new(EventKind::Declare);
        Ok(match self {
            Self::Audited => event,
            Self::Partition(partition) => event.destination(endpoint(partition.as_str(), "")?),
            Self::Cell(cell) => event.destination(cell_endpoint(cell)?),
            Self::Edge(from, to) => event
                .source(cell_endpoint(from)?)
                .destination(cell_endpoint(to)?),
        })
    }

    /// Appends this declaration to the vault's audit log (made durable by the caller's
    /// `close`, before config.toml is written).
    ///
    /// # Errors
    /// The audit log's append error.
    pub fn record(&self, log: &dyn AuditLog) -> CliResult {
        log.append(self.event()?)?;
        Ok(())
    }

    /// The declaration a `declare` record holds; an error for a shape this command line
    /// never writes.
    ///
    /// # Errors
    /// [`CliError::Failed`] for any record that is not, field for field, one this command
    /// line writes (a failed outcome, a blob, a source without destination, ids that are
    /// not valid partition and cell ids, another layer, key version or context).
    pub fn of_event(event: &Event) -> CliResult<Self> {
        let strange = || {
            CliError::Failed(
                "the audit log holds a `declare` record this hexvault never writes (a failed \
                 outcome, a blob, or ids that are not a vault's): is the log another \
                 program's? restore audit.log from a backup"
                    .into(),
            )
        };
        if event.outcome != Outcome::Success || event.input.is_some() || event.output.is_some() {
            return Err(strange());
        }
        let text = |bytes: &[u8]| std::str::from_utf8(bytes).map(str::to_owned);
        let cell = |end: &Endpoint| -> CliResult<CellRef> {
            let partition = text(end.partition.as_bytes()).map_err(|_| strange())?;
            let cell = text(end.cell.as_bytes()).map_err(|_| strange())?;
            // Each id on its own: `p/q` + `c` must not pass as `p` + `q/c`.
            Ok(CellRef {
                partition: partition_id(&partition, "the audit log").map_err(|_| strange())?,
                cell: cell_id(&cell, "the audit log").map_err(|_| strange())?,
            })
        };
        let declaration = match (&event.source, &event.destination) {
            (None, None) => Self::Audited,
            (None, Some(end)) if end.cell.as_bytes().is_empty() => {
                let partition = text(end.partition.as_bytes()).map_err(|_| strange())?;
                Self::Partition(partition_id(&partition, "the audit log").map_err(|_| strange())?)
            }
            (None, Some(end)) => Self::Cell(cell(end)?),
            (Some(from), Some(to)) => Self::Edge(cell(from)?, cell(to)?),
            (Some(_), None) => return Err(strange()),
        };
        // Exactly the record this command line writes for it, field for field (layers, key
        // versions, context, outcome): any other shape is refused (ADR 0087).
        if declaration.event().ok().as_ref() != Some(event) {
            return Err(strange());
        }
        Ok(declaration)
    }
}

/// A topology: declared partitions, cells (`P/C`) and edges (`P/C`, `P/C`). Order carries
/// no meaning.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Partition ids.
    pub partitions: BTreeSet<String>,
    /// Cells, each `P/C`.
    pub cells: BTreeSet<String>,
    /// Edges, each (`P/C` from, `P/C` to).
    pub edges: BTreeSet<(String, String)>,
}

/// The topology the vault's verified audit log records.
#[derive(Debug)]
pub struct Recorded {
    /// `true` once the log holds any `declare` record (every vault `init` made since ADR
    /// 0087; an older vault after `config adopt`).
    pub audited: bool,
    /// What the log declares.
    pub topology: Topology,
    /// The ids of the layer-2 sessions whose `session start` the log records.
    pub sessions_started: BTreeSet<Vec<u8>>,
    /// The ids of the sessions whose `session end` the log records.
    pub sessions_ended: BTreeSet<Vec<u8>>,
}

impl Topology {
    /// The topology config.toml declares; an edge listed twice is refused (the log never
    /// records one twice).
    ///
    /// # Errors
    /// [`CliError::Failed`] naming an edge listed twice.
    pub fn of_config(config: &Config) -> CliResult<Self> {
        let mut topology = Self::default();
        for (partition, cells) in &config.partitions {
            topology.partitions.insert(partition.clone());
            for cell in cells.cells.keys() {
                topology.cells.insert(format!("{partition}/{cell}"));
            }
        }
        for edge in &config.edges {
            if !topology.edges.insert((edge.from.clone(), edge.to.clone())) {
                return Err(CliError::Failed(format!(
                    "config.toml lists the edge {} -> {} twice, which `hexvault edge add` never \
                     writes: config.toml was edited; restore it from a backup or run \
                     `hexvault config sync` to rewrite it from the audit log",
                    edge.from, edge.to
                )));
            }
        }
        Ok(topology)
    }

    fn apply(&mut self, declaration: Declaration) {
        match declaration {
            Declaration::Audited => {}
            Declaration::Partition(partition) => {
                self.partitions.insert(partition.to_string());
            }
            Declaration::Cell(cell) => {
                self.cells.insert(cell.name());
            }
            Declaration::Edge(from, to) => {
                self.edges.insert((from.name(), to.name()));
            }
        }
    }

    /// The first difference between config.toml's topology (`self`) and the log's, in
    /// words; `None` if they are equal.
    pub fn difference(&self, log: &Self) -> Option<String> {
        let first = |ours: &BTreeSet<String>, theirs: &BTreeSet<String>, kind: &str| {
            ours.difference(theirs)
                .next()
                .map(|name| {
                    format!(
                        "config.toml declares {kind} {name}, which the audit log does not record"
                    )
                })
                .or_else(|| {
                    theirs.difference(ours).next().map(|name| {
                        format!("the audit log records {kind} {name}, which config.toml lacks")
                    })
                })
        };
        let edge = |(from, to): &(String, String)| format!("{from} -> {to}");
        first(&self.partitions, &log.partitions, "partition")
            .or_else(|| first(&self.cells, &log.cells, "cell"))
            .or_else(|| {
                self.edges
                    .difference(&log.edges)
                    .next()
                    .map(|e| {
                        format!(
                            "config.toml declares edge {}, which the audit log does not record",
                            edge(e)
                        )
                    })
                    .or_else(|| {
                        log.edges.difference(&self.edges).next().map(|e| {
                            format!(
                                "the audit log records edge {}, which config.toml lacks",
                                edge(e)
                            )
                        })
                    })
            })
    }
}

/// Reads the topology and the session starts and ends that `records` hold: the records of
/// the vault's audit log as the vault verified them when it opened the log (the keyed chain,
/// so no record after the last checkpoint can be forged without the vault's keys, every
/// checkpoint under the vault's public key, and the anchor file if there is one), decoded
/// from the bytes verified while the vault holds the log's lock
/// ([`hexvault::Vault::take_opened_records`]).
///
/// # Errors
/// The error of a `declare` record of a shape this command line never writes.
pub fn recorded(records: &[AuditRecord]) -> CliResult<Recorded> {
    let mut recorded = Recorded {
        audited: false,
        topology: Topology::default(),
        sessions_started: BTreeSet::new(),
        sessions_ended: BTreeSet::new(),
    };
    for record in records {
        let session = record
            .event
            .context
            .as_ref()
            .and_then(|context| context.session.as_ref())
            .map(|id| id.as_bytes().to_vec());
        match (record.event.kind, session) {
            (EventKind::SessionStart, Some(id)) => {
                recorded.sessions_started.insert(id);
            }
            (EventKind::SessionEnd, Some(id)) => {
                recorded.sessions_ended.insert(id);
            }
            _ => {}
        }
        if record.event.kind != EventKind::Declare {
            continue;
        }
        recorded.audited = true;
        recorded
            .topology
            .apply(Declaration::of_event(&record.event)?);
    }
    Ok(recorded)
}

/// Refuses a vault whose config.toml does not declare exactly what its log records, with
/// one line naming the first difference and what to do.
///
/// # Errors
/// [`CliError::Failed`] naming the difference (or an edge listed twice), or saying to run
/// `hexvault config adopt` for a vault whose log records no topology.
pub fn check(config: &Config, recorded: &Recorded) -> CliResult {
    let ours = Topology::of_config(config)?;
    if !recorded.audited {
        if ours == Topology::default() {
            // A vault made before ADR 0087 that declares nothing: nothing to trust.
            return Ok(());
        }
        return Err(CliError::Failed(
            "the audit log records none of the partitions, cells and edges config.toml \
             declares (a vault made by an older hexvault, or a config.toml edited): check that \
             config.toml declares only what you declared, then run `hexvault config adopt` \
             once to record it in the audit log"
                .into(),
        ));
    }
    match ours.difference(&recorded.topology) {
        None => Ok(()),
        Some(difference) => Err(CliError::Failed(format!(
            "{difference}: config.toml was edited, replaced, or an interrupted command left \
             it behind the log; run `hexvault config sync` to rewrite it from the audit log, \
             or restore config.toml and audit.log (with audit.log.anchor) from the same backup"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(text: &str) -> CellRef {
        match CellRef::parse(text, "test") {
            Ok(cell) => cell,
            Err(error) => unreachable!("{error}"),
        }
    }

    /// Review round 9: ADR 0087 refuses every `declare` shape this command line does not
    /// write; a record with another layer or key version used to be read as the same cell.
    #[test]
    fn a_declare_record_of_another_shape_is_refused() {
        for (layer, version) in [(1u8, 0u32), (0, 1), (2, 7)] {
            let odd = Event::new(EventKind::Declare).destination(Endpoint::new(
                hexvault::audit::PartitionId::new(b"p".to_vec())
                    .unwrap_or_else(|e| unreachable!("{e}")),
                hexvault::audit::CellId::new(b"c".to_vec()).unwrap_or_else(|e| unreachable!("{e}")),
                Layer(layer),
                KeyVersion(version),
            ));
            assert!(
                Declaration::of_event(&odd).is_err(),
                "layer {layer}, version {version}"
            );
        }
        let honest = Declaration::Cell(cell("p/c"));
        let event = honest.event().unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(Declaration::of_event(&event).ok(), Some(honest));
    }

    #[test]
    fn declarations_round_trip_through_their_events() {
        let all = [
            Declaration::Audited,
            Declaration::Partition(
                partition_id("p@1", "test").unwrap_or_else(|e| unreachable!("{e}")),
            ),
            Declaration::Cell(cell("p@1/in/box")),
            Declaration::Edge(cell("p@1/in/box"), cell("q/x")),
            Declaration::Edge(cell("q/x"), cell("q/x")),
        ];
        for declaration in all {
            let event = declaration.event().unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(event.kind, EventKind::Declare);
            let back = Declaration::of_event(&event).unwrap_or_else(|e| unreachable!("{e}"));
            assert_eq!(back, declaration);
        }
    }

    #[test]
    fn declare_records_of_other_shapes_are_refused() {
        let end = cell_endpoint(&cell("p/c")).unwrap_or_else(|e| unreachable!("{e}"));
        let failed = Event::new(EventKind::Declare)
            .outcome(Outcome::Failure(hexvault::audit::ErrorClass::Internal));
        let source_only = Event::new(EventKind::Declare).source(end.clone());
        let bad_id = Event::new(EventKind::Declare)
            .destination(endpoint("p/q", "c").unwrap_or_else(|e| unreachable!("{e}")));
        let not_utf8 = Event::new(EventKind::Declare).destination(Endpoint::new(
            hexvault::audit::PartitionId::new(vec![0xff]).unwrap_or_else(|e| unreachable!("{e}")),
            hexvault::audit::CellId::new(b"c".to_vec()).unwrap_or_else(|e| unreachable!("{e}")),
            Layer(0),
            KeyVersion(0),
        ));
        for event in [failed, source_only, bad_id, not_utf8] {
            assert!(Declaration::of_event(&event).is_err(), "{event:?}");
        }
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let mut log = Topology::default();
        log.partitions.insert("p".into());
        log.cells.insert("p/a".into());
        log.cells.insert("p/b".into());
        log.edges.insert(("p/a".into(), "p/b".into()));
        assert_eq!(log.difference(&log.clone()), None);
        let mut reversed = log.clone();
        reversed.edges.clear();
        reversed.edges.insert(("p/b".into(), "p/a".into()));
        let text = reversed.difference(&log).unwrap_or_default();
        assert!(
            text.contains("config.toml declares edge p/b -> p/a"),
            "{text}"
        );
        let mut removed = log.clone();
        removed.cells.remove("p/b");
        let text = removed.difference(&log).unwrap_or_default();
        assert!(text.contains("records cell p/b"), "{text}");
        let mut renamed = log.clone();
        renamed.partitions.clear();
        renamed.partitions.insert("q".into());
        let text = renamed.difference(&log).unwrap_or_default();
        assert!(text.contains("declares partition q"), "{text}");
    }
}
