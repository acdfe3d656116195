//! `hexvault audit verify` and `hexvault audit show`: offline verification and reading of
//! an audit log file.

use serde::Serialize;

use crate::AuditVerifyArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use hexvault::audit::{
    AuditRecord, BlobRef, Checkpoint, Endpoint, LogContents, LogEntry, Outcome, Report, Verifier,
    VerifyingKey,
};

#[derive(Serialize)]
struct VerifyReport {
    ok: bool,
    mode: &'static str,
    log_id: String,
    records: u64,
    checkpoints: u64,
    last_checkpoint: Option<u64>,
    unanchored_records: u64,
    torn_tail_offset: Option<u64>,
    failure_sequence: Option<u64>,
    failure: Option<String>,
}

/// Verifies `--log` with the operator's keys or with `--public-key` alone; exits 1 when the
/// log is damaged, naming the first bad sequence number.
pub(crate) fn verify(args: &AuditVerifyArgs, json: bool) -> CliResult {
    let (verifier, mode) = match &args.public_key {
        Some(hex_key) => (
            Verifier::public_key(parse_public_key(hex_key)?),
            "public-key",
        ),
        None => {
            let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
            let chain_key = hexvault::keys::audit_chain_key(&seed)?;
            let public = hexvault::keys::audit_signer(&seed)?.verifying_key();
            // The trusted public key, not the one stored in the file's header.
            (Verifier::keyed(&chain_key).with_public_key(public), "keyed")
        }
    };
    let report = verifier
        .require_anchored_tail(args.require_anchored_tail)
        .verify_file(&args.file)?;
    if json {
        output::json(&verify_report(&report, mode))?;
    } else {
        output::line(&report.to_string())?;
    }
    match &report.failure {
        None => Ok(()),
        Some(failure) => Err(CliError::Failed(format!(
            "{}: the log is damaged at sequence {} ({})",
            args.file.display(),
            failure.sequence,
            failure.reason
        ))),
    }
}

fn verify_report(report: &Report, mode: &'static str) -> VerifyReport {
    VerifyReport {
        ok: report.is_ok(),
        mode,
        log_id: report.log_id.to_string(),
        records: report.records,
        checkpoints: report.checkpoints,
        last_checkpoint: report.last_checkpoint.map(|sequence| sequence.get()),
        unanchored_records: report.unanchored_records(),
        torn_tail_offset: report.torn_tail.as_ref().map(|tail| tail.offset),
        failure_sequence: report
            .failure
            .as_ref()
            .map(|failure| failure.sequence.get()),
        failure: report
            .failure
            .as_ref()
            .map(|failure| failure.reason.to_string()),
    }
}

/// An ed25519 public key: 32 bytes of hex, or 33 with the SLIP-0010 `00` prefix.
fn parse_public_key(text: &str) -> CliResult<VerifyingKey> {
    let usage = || {
        CliError::usage(
            "--public-key takes the ed25519 public key as 64 hex digits (or 66 with the 00 \
             prefix `hexvault derive` prints)",
        )
    };
    let bytes = hex::decode(text.trim()).map_err(|_| usage())?;
    let key: [u8; 32] = match bytes.as_slice() {
        [0, rest @ ..] if rest.len() == 32 => rest.try_into().map_err(|_| usage())?,
        all => all.try_into().map_err(|_| usage())?,
    };
    VerifyingKey::from_bytes(&key).map_err(|_| {
        CliError::usage("--public-key is not a valid ed25519 public key (not a curve point)")
    })
}

#[derive(Serialize)]
struct EndpointJson {
    partition: String,
    cell: String,
    layer: u8,
    key_version: u32,
}

impl From<&Endpoint> for EndpointJson {
    fn from(endpoint: &Endpoint) -> Self {
        Self {
            partition: endpoint.partition.to_string(),
            cell: endpoint.cell.to_string(),
            layer: endpoint.layer.0,
            key_version: endpoint.key_version.0,
        }
    }
}

#[derive(Serialize)]
struct BlobJson {
    binding: String,
    payload: Option<String>,
}

impl From<&BlobRef> for BlobJson {
    fn from(blob: &BlobRef) -> Self {
        Self {
            binding: hex::encode(blob.binding),
            payload: blob.payload.map(hex::encode),
        }
    }
}

/// A record line of `audit show --json`.
#[derive(Serialize)]
struct RecordJson {
    #[serde(rename = "type")]
    entry_type: &'static str,
    sequence: u64,
    timestamp_unix_nanos: u64,
    kind: String,
    source: Option<EndpointJson>,
    destination: Option<EndpointJson>,
    input: Option<BlobJson>,
    output: Option<BlobJson>,
    outcome: String,
    chain: String,
}

/// A checkpoint line of `audit show --json`.
#[derive(Serialize)]
struct CheckpointJson {
    #[serde(rename = "type")]
    entry_type: &'static str,
    sequence: u64,
    chain: String,
    signature: String,
}

fn outcome_name(outcome: Outcome) -> String {
    match outcome {
        Outcome::Success => "success".to_owned(),
        Outcome::Failure(class) => format!("failure:{}", format!("{class:?}").to_lowercase()),
    }
}

fn record_json(record: &AuditRecord, chain: String) -> RecordJson {
    let event = &record.event;
    RecordJson {
        entry_type: "record",
        sequence: record.sequence.get(),
        timestamp_unix_nanos: record.timestamp.unix_nanos(),
        kind: format!("{:?}", event.kind).to_lowercase(),
        source: event.source.as_ref().map(EndpointJson::from),
        destination: event.destination.as_ref().map(EndpointJson::from),
        input: event.input.as_ref().map(BlobJson::from),
        output: event.output.as_ref().map(BlobJson::from),
        outcome: outcome_name(event.outcome),
        chain,
    }
}

fn checkpoint_json(checkpoint: &Checkpoint) -> CheckpointJson {
    CheckpointJson {
        entry_type: "checkpoint",
        sequence: checkpoint.sequence.get(),
        chain: checkpoint.chain.to_string(),
        signature: hex::encode(checkpoint.signature),
    }
}

fn endpoint_text(endpoint: Option<&Endpoint>) -> String {
    endpoint.map_or_else(
        || "-".to_owned(),
        |e| {
            format!(
                "{}/{}@layer{}:v{}",
                e.partition, e.cell, e.layer.0, e.key_version.0
            )
        },
    )
}

/// Prints every readable entry of the log, unverified; exits 1 if a frame is unreadable
/// (after printing what came before it).
pub(crate) fn show(file: &std::path::Path, json: bool) -> CliResult {
    let contents = LogContents::read(file)?;
    if !json {
        output::line(&format!(
            "log {} ({}), checkpoint every {} records; UNVERIFIED, run `hexvault audit verify`",
            contents.log_id, contents.mode, contents.checkpoint_every
        ))?;
    }
    for entry in &contents.entries {
        let line = match entry {
            LogEntry::Record { record, chain } if json => {
                serde_json::to_string(&record_json(record, chain.to_string()))
            }
            LogEntry::Checkpoint(checkpoint) if json => {
                serde_json::to_string(&checkpoint_json(checkpoint))
            }
            LogEntry::Record { record, .. } => Ok(format!(
                "#{:<6} {:>20} ns  {:<12} {} -> {}  {}",
                record.sequence,
                record.timestamp.unix_nanos(),
                format!("{:?}", record.event.kind).to_lowercase(),
                endpoint_text(record.event.source.as_ref()),
                endpoint_text(record.event.destination.as_ref()),
                outcome_name(record.event.outcome)
            )),
            LogEntry::Checkpoint(checkpoint) => Ok(format!(
                "checkpoint over #{} (chain {})",
                checkpoint.sequence, checkpoint.chain
            )),
            // `LogEntry` may grow; an older command line must still print the rest.
            _ => Ok("(an entry of a kind this version does not know)".to_owned()),
        }
        .map_err(|error| CliError::Failed(format!("writing JSON: {error}")))?;
        output::line(&line)?;
    }
    if let Some(tail) = &contents.torn_tail {
        eprintln!(
            "hexvault: note: torn final frame of {} bytes at offset {} (a crash mid-write; \
             opening the log repairs it)",
            tail.len, tail.offset
        );
    }
    match &contents.unreadable {
        None => Ok(()),
        Some((offset, damage)) => Err(CliError::Failed(format!(
            "{}: unreadable frame at offset {offset} ({damage}); entries after it are not shown",
            file.display()
        ))),
    }
}
