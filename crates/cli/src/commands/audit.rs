//! `hexvault audit verify`: offline verification of an audit log file.

use serde::Serialize;

use crate::AuditVerifyArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use hexvault::audit::{Report, Verifier, VerifyingKey};

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
            let public = hexvault::keys::audit_signing_key(&seed)?.verifying_key();
            // The trusted public key, not the one stored in the file's header.
            (Verifier::keyed(&chain_key).with_public_key(public), "keyed")
        }
    };
    let report = verifier
        .require_anchored_tail(args.require_anchored_tail)
        .verify_file(&args.log)?;
    if json {
        output::json(&verify_report(&report, mode))?;
    } else {
        output::line(&report.to_string())?;
    }
    match &report.failure {
        None => Ok(()),
        Some(failure) => Err(CliError::Failed(format!(
            "{}: the log is damaged at sequence {} ({})",
            args.log.display(),
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
