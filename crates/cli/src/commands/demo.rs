//! `hexvault demo`: the pipeline end to end with a fresh, throw-away mnemonic.
//!
//! It prints what it did, never a secret: the phrase, seed and private keys stay in memory
//! and are zeroized when the command ends. What it prints about the full pipeline's audit
//! log is read back from the log file after it verified.

use serde::Serialize;

use crate::commands::audit::{endpoint_text, outcome_name};
use crate::error::{CliError, CliResult};
use crate::output;
use hexvault::aead::EncryptedData;
use hexvault::audit::{
    Anchor, AuditLog, AuditRecord, ErrorClass, Event, EventKind, LogContents, LogOptions,
    MemoryLog, Outcome, Verifier,
};
use hexvault::cells::{
    AccessToken, CellId, Credentials, Layer, ObjectId, PartitionId, PolicyContext, PolicyId,
    PolicySecret, RouteId, TokenResolver, Vault,
};
use hexvault::derivation::{PATHS, ed25519::ExtendedPrivateKey};
use hexvault::edges::{Connect, EdgeRule};
use hexvault::envelope::{ByteStorage, Compression, Options};
use hexvault::mnemonic::{Language, Mnemonic, WordCount};
use hexvault::service::{CacheConfig, KeyType, VaultService, VaultState};

#[derive(Serialize)]
struct PathKey {
    name: &'static str,
    path: String,
    /// What the node becomes.
    key: &'static str,
    /// Only for the signing key: symmetric keys have none. The SLIP-0010 form
    /// (`00` ‖ 32 bytes), the one `derive` prints and `audit verify --public-key` takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
}

/// Hex of an ed25519 public key in the one form the command line prints everywhere: the
/// SLIP-0010 form, `00` followed by the 32-byte RFC 8032 key.
fn slip10_hex(public_key: &[u8]) -> String {
    format!("00{}", hex::encode(public_key))
}

#[derive(Serialize)]
struct DemoReport {
    mnemonic_words: usize,
    language: &'static str,
    keys: Vec<PathKey>,
    service_device_path: String,
    service_device_public_key: String,
    service_cache_hits: u64,
    service_seeds_zeroized: u64,
    credential_json_len: usize,
    credential_key_version: u32,
    credential_opened: bool,
    credential_wrong_context_refused: bool,
    envelope_original_len: u64,
    envelope_len: u64,
    envelope_compressed: bool,
    envelope_round_trip: bool,
    audit_records: u64,
    audit_checkpoints: u64,
    audit_verified_with_public_key: bool,
    cells_blob_lens: Vec<usize>,
    cells_layers_opened: usize,
    cells_wrong_cell_refused: bool,
    cells_ended_session_refused: bool,
    cells_audit_records: u64,
    pipeline_sealed_len: usize,
    pipeline_moved_len: usize,
    pipeline_opened_in_b: bool,
    pipeline_undeclared_route_refused: bool,
    pipeline_audit_public_key: String,
    pipeline_audit_anchor_sequence: u64,
    pipeline_audit_records: u64,
    pipeline_audit_checkpoints: u64,
    pipeline_audit_verified: bool,
    /// One line per record, read back from the verified log file.
    pipeline_audit_events: Vec<String>,
}

/// The demo's token resolver: one token, one policy, a policy secret made for this run.
struct DemoResolver(PolicySecret);

impl TokenResolver for DemoResolver {
    fn resolve(&self, token: &AccessToken, _: &PartitionId, _: &CellId) -> Option<PolicyContext> {
        if token.expose_secret() != b"demo-token" {
            return None;
        }
        let secret = PolicySecret::from_bytes(&mut self.0.expose_secret().to_owned());
        Some(PolicyContext::new(
            PolicyId::new("demo-readers").ok()?,
            secret,
        ))
    }
}

struct CellsReport {
    blob_lens: Vec<usize>,
    layers_opened: usize,
    wrong_cell_refused: bool,
    ended_session_refused: bool,
    audit_records: u64,
}

/// A vault rooted at the demo seed's vault master: a record sealed in a cell at each layer
/// and opened, a wrong-cell open and an ended session refused, all recorded in the audit log.
fn cells_demo(seed: &hexvault::keys::Seed) -> Result<CellsReport, CliError> {
    let log = std::sync::Arc::new(MemoryLog::new(LogOptions::keyed(
        &hexvault::keys::audit_chain_key(seed)?,
    ))?);
    let vault = Vault::from_seed(seed, DemoResolver(PolicySecret::generate()?), log.clone())?;
    let tenant = vault.partition(PartitionId::new("tenant-7")?);
    let inbox = tenant.cell(CellId::new("inbox")?);
    let record = ObjectId::new("invoice-2026-001")?;
    let token = AccessToken::new(b"demo-token".to_vec());
    let session = vault.start_session(std::time::Duration::from_secs(60))?;
    let creds = Credentials::none().token(&token).session(&session);
    let plaintext = b"amount=1200 EUR; iban=DE89 3704 0044 0532 0130 00";
    let mut blob_lens = Vec::new();
    let mut layers_opened = 0;
    let mut top = Vec::new();
    for layer in [Layer::Rest, Layer::Access, Layer::Session] {
        let blob = inbox.seal(&record, plaintext, layer, &creds)?;
        if inbox.open(&record, &blob, &creds)?.expose_secret() == plaintext {
            layers_opened += 1;
        }
        blob_lens.push(blob.len());
        top = blob;
    }
    let wrong_cell_refused = tenant
        .cell(CellId::new("outbox")?)
        .open(&record, &top, &creds)
        .is_err();
    vault.end_session(&session)?;
    let ended_session_refused = inbox.open(&record, &top, &creds).is_err();
    let audit = log.verify()?;
    if !audit.is_ok() {
        return Err(CliError::Failed(
            "the cells demo's audit log does not verify: this build is broken".to_owned(),
        ));
    }
    Ok(CellsReport {
        blob_lens,
        layers_opened,
        wrong_cell_refused,
        ended_session_refused,
        audit_records: audit.records,
    })
}

/// What the full pipeline did, and what its audit log, read back from disk, holds.
struct PipelineReport {
    sealed_len: usize,
    moved_len: usize,
    opened_in_b: bool,
    undeclared_route_refused: bool,
    audit_public_key: String,
    anchor_sequence: u64,
    audit_records: u64,
    audit_checkpoints: u64,
    audit_verified: bool,
    audit_events: Vec<String>,
}

/// One line about one record of the log.
fn describe(record: &AuditRecord) -> String {
    let event = &record.event;
    let route = event
        .context
        .as_ref()
        .and_then(|c| c.route.as_ref())
        .map_or_else(String::new, |r| {
            format!(", route {}", String::from_utf8_lossy(r.as_bytes()))
        });
    format!(
        "#{} {}: {} -> {}{route}, {}",
        record.sequence,
        format!("{:?}", event.kind).to_lowercase(),
        endpoint_text(event.source.as_ref()),
        endpoint_text(event.destination.as_ref()),
        outcome_name(event.outcome)
    )
}

/// The full pipeline through the facade: the phrase → `hexvault::Vault` with a file audit
/// log → seal in tenant-7/inbox → traverse the declared edge to tenant-8/archive → open
/// there → an undeclared route refused → the log verified from disk with only the trusted
/// public key and the anchor file, then read back.
fn pipeline(phrase: &str) -> Result<PipelineReport, CliError> {
    let dir = tempfile::tempdir()
        .map_err(|e| CliError::io("creating the demo's temporary directory", e))?;
    let log_path = dir.path().join("audit.log");
    let vault = hexvault::Vault::builder()
        .audit_file(&log_path)
        .from_mnemonic(phrase, "", DemoResolver(PolicySecret::generate()?))?;
    let a = vault
        .partition(PartitionId::new("tenant-7")?)
        .cell(CellId::new("inbox")?);
    let b = vault
        .partition(PartitionId::new("tenant-8")?)
        .cell(CellId::new("archive")?);
    let token = AccessToken::new(b"demo-token".to_vec());
    let creds = Credentials::none().token(&token);
    let record = ObjectId::new("invoice-2026-001")?;
    let plaintext = b"amount=1200 EUR; iban=DE89 3704 0044 0532 0130 00";

    let in_a = a.seal(&record, plaintext, Layer::Access, &creds)?;
    let route = RouteId::new("tenant-7-to-tenant-8")?;
    let edge = vault.connect_with(&a, &b, EdgeRule::new().named(route))?;
    let in_b = edge.traverse(&record, &in_a, &creds, &creds)?;
    let opened_in_b = b.open(&record, &in_b, &creds)?.expose_secret() == plaintext;
    let undeclared = vault.traverse(
        &RouteId::new("tenant-7-to-tenant-9")?,
        &record,
        &in_a,
        &creds,
        None,
        &creds,
    );
    let undeclared_route_refused = matches!(
        undeclared,
        Err(hexvault::cells::Error::UndeclaredRoute { .. })
    );
    let public = vault.audit_public_key();
    vault.close()?;

    // As an auditor elsewhere would: the trusted public key, the anchor file, the log file.
    let anchor = Anchor::read(Anchor::path_for(&log_path))?;
    let anchor_sequence = anchor.sequence().get();
    let report = Verifier::public_key(public)
        .with_anchor(anchor)
        .require_anchored_tail(true)
        .verify_file(&log_path)?;
    let records = LogContents::read(&log_path)?.into_records();
    let kinds: Vec<EventKind> = records.iter().map(|r| r.event.kind).collect();
    if kinds != [EventKind::Traverse, EventKind::Open, EventKind::Denied]
        || report.records != records.len() as u64
    {
        return Err(CliError::Failed(format!(
            "the pipeline's audit log holds {kinds:?}, not the traversal, the open and the \
             refusal: this build is broken"
        )));
    }
    Ok(PipelineReport {
        sealed_len: in_a.len(),
        moved_len: in_b.len(),
        opened_in_b,
        undeclared_route_refused,
        audit_public_key: slip10_hex(public.as_bytes()),
        anchor_sequence,
        audit_records: report.records,
        audit_checkpoints: report.checkpoints,
        audit_verified: report.is_ok() && report.unanchored_records() == 0,
        audit_events: records.iter().map(describe).collect(),
    })
}

/// Runs the demo and prints a few readable lines (or one JSON object).
pub(crate) fn run(json: bool) -> CliResult {
    let mnemonic = Mnemonic::generate(WordCount::Words24, Language::English)?;
    let seed = mnemonic.to_seed("");

    let mut keys = Vec::new();
    for (name, path) in PATHS::NAMED {
        let (key, public_key) = if path == PATHS::AUDIT_SIGNING {
            let node = ExtendedPrivateKey::derive_from_seed(seed.expose_secret(), &path)?;
            (
                "ed25519 checkpoint signing key",
                Some(hex::encode(node.slip10_public_key())),
            )
        } else if path == PATHS::ENCRYPTION {
            ("AES-256-GCM credential key (symmetric)", None)
        } else {
            ("vault master key (symmetric)", None)
        };
        keys.push(PathKey {
            name,
            path: path.to_string(),
            key,
            public_key,
        });
    }

    // The key-vault service: unlock with the phrase, derive a device key twice (the second
    // time from its cache), lock, and read back its own accounting of what it zeroized.
    let device_path = PATHS::device(0)?;
    let (service, vault) = VaultService::spawn(CacheConfig::default())?;
    vault.unlock(&mnemonic.phrase(), "")?;
    let device_key = vault.derive(KeyType::Ed25519, &device_path)?;
    let again = vault.derive(KeyType::Ed25519, &device_path)?;
    let device_public_key = device_key.public_key().map(slip10_hex).ok_or_else(|| {
        CliError::Failed("the service's ed25519 key has no public key".to_owned())
    })?;
    let same_key = device_key.public_key() == again.public_key();
    drop((device_key, again));
    vault.lock()?;
    let status = vault.status()?;
    drop(vault);
    service.join()?;
    if !same_key || status.state != VaultState::Locked {
        return Err(CliError::Failed(
            "the service returned different keys for one path: this build is broken".to_owned(),
        ));
    }

    let key = hexvault::keys::encryption_key(&seed)?;
    let secret = b"postgres://app:s3cret@db.internal/app";
    let context = b"service=billing";
    let credential = EncryptedData::encrypt(&key, secret, context)?;
    let credential_json = credential.to_json()?;
    let opened = EncryptedData::from_json(&credential_json)?.decrypt(&key, context)?;
    let wrong_context_refused = credential.decrypt(&key, b"service=reporting").is_err();

    // The credential's seal, its open and the refused open with the wrong context are recorded
    // (three events) in a keyed, hash-chained audit log with signed checkpoints. The earlier
    // steps (key derivation, the service) are not audited events.
    let signer = hexvault::keys::audit_signer(&seed)?;
    let public = signer.verifying_key();
    let log = MemoryLog::new(
        LogOptions::keyed(&hexvault::keys::audit_chain_key(&seed)?)
            .signing_key(signer)
            .checkpoint_every(2),
    )?;
    for event in [
        Event::new(EventKind::Seal),
        Event::new(EventKind::Open),
        Event::new(EventKind::Denied).outcome(Outcome::Failure(ErrorClass::Authentication)),
    ] {
        log.append(event)?;
    }
    log.checkpoint()?;
    let audit = log.verify_with(&Verifier::public_key(public).require_anchored_tail(true))?;

    // Compression is opt-in (ADR 0034); this document holds no secret, so it may compress.
    let storage = ByteStorage::new(Options::default().with_compression(Compression::Auto));
    let document =
        br#"{"service":"billing","rotation":"monthly","owners":["ops","sec"]}"#.repeat(64);
    let mut envelope = Vec::new();
    let packed = storage.store_into(&document, &mut envelope)?;
    let unpacked = storage.retrieve(&envelope)?;

    let cells = cells_demo(&seed)?;
    let pipeline = pipeline(&mnemonic.phrase())?;

    let report = DemoReport {
        mnemonic_words: mnemonic.word_count().words(),
        language: mnemonic.language().name(),
        keys,
        service_device_path: device_path.to_string(),
        service_device_public_key: device_public_key,
        service_cache_hits: status.cache.hits,
        service_seeds_zeroized: status.seeds_zeroized,
        credential_json_len: credential_json.len(),
        credential_key_version: credential.key_version(),
        credential_opened: opened.expose_secret() == secret,
        credential_wrong_context_refused: wrong_context_refused,
        envelope_original_len: packed.original_len,
        envelope_len: packed.envelope_len,
        envelope_compressed: packed.compressed,
        envelope_round_trip: unpacked.expose_secret() == document.as_slice(),
        audit_records: audit.records,
        audit_checkpoints: audit.checkpoints,
        audit_verified_with_public_key: audit.is_ok(),
        cells_blob_lens: cells.blob_lens,
        cells_layers_opened: cells.layers_opened,
        cells_wrong_cell_refused: cells.wrong_cell_refused,
        cells_ended_session_refused: cells.ended_session_refused,
        cells_audit_records: cells.audit_records,
        pipeline_sealed_len: pipeline.sealed_len,
        pipeline_moved_len: pipeline.moved_len,
        pipeline_opened_in_b: pipeline.opened_in_b,
        pipeline_undeclared_route_refused: pipeline.undeclared_route_refused,
        pipeline_audit_public_key: pipeline.audit_public_key,
        pipeline_audit_anchor_sequence: pipeline.anchor_sequence,
        pipeline_audit_records: pipeline.audit_records,
        pipeline_audit_checkpoints: pipeline.audit_checkpoints,
        pipeline_audit_verified: pipeline.audit_verified,
        pipeline_audit_events: pipeline.audit_events,
    };
    if !(report.credential_opened
        && report.credential_wrong_context_refused
        && report.envelope_round_trip
        && report.audit_verified_with_public_key
        && report.cells_layers_opened == 3
        && report.cells_wrong_cell_refused
        && report.cells_ended_session_refused
        && report.pipeline_opened_in_b
        && report.pipeline_undeclared_route_refused
        && report.pipeline_audit_verified)
    {
        return Err(CliError::Failed(
            "the demo's own round trips failed: this build is broken, please report it".to_owned(),
        ));
    }
    if json {
        return output::json(&report);
    }
    print_text(&report)
}

fn print_text(report: &DemoReport) -> CliResult {
    let mut lines = vec![format!(
        "1. generated a fresh {}-word {} mnemonic from the OS CSPRNG (not shown) and its 64-byte seed",
        report.mnemonic_words, report.language
    )];
    lines.push("2. derived the application keys (SLIP-0010 ed25519, hardened):".to_owned());
    for key in &report.keys {
        let public = key
            .public_key
            .as_deref()
            .map_or_else(String::new, |public| format!(", public key {public}"));
        lines.push(format!(
            "   {:<14} {:<16} {}{public}",
            key.name, key.path, key.key
        ));
    }
    lines.push(format!(
        "   the key-vault service derived the device key {} (public key {}), served it again \
         from its cache ({} hit), then locked and zeroized {} seed",
        report.service_device_path,
        report.service_device_public_key,
        report.service_cache_hits,
        report.service_seeds_zeroized
    ));
    lines.push(format!(
        "3. sealed a credential as EncryptedData v{} ({} bytes of JSON), opened it with the same \
         context, and saw a wrong context refused",
        report.credential_key_version, report.credential_json_len
    ));
    lines.push(format!(
        "4. packed a {}-byte JSON document into a {}-byte envelope ({}), unpacked it, checksum verified",
        report.envelope_original_len,
        report.envelope_len,
        if report.envelope_compressed {
            "LZ4"
        } else {
            "stored raw"
        }
    ));
    lines.push(format!(
        "5. recorded the credential's seal, open and refused open as {} audit events in an \
         HMAC-SHA256 chain keyed from the vault master, {} signed checkpoint(s); verified \
         offline with only the public key at m/74'/2'/2'/0'",
        report.audit_records, report.audit_checkpoints
    ));
    lines.push(format!(
        "6. opened a vault on the vault master key, sealed an invoice in cell tenant-7/inbox at \
         layers 0, 1 and 2 (blobs of {} bytes) and opened it at each; the same blob was \
         refused in tenant-7/outbox{}, and after the session ended its layer-2 blob was \
         unreadable{}; {} audit records (session start and end, the gated opens, the refusals)",
        report
            .cells_blob_lens
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if report.cells_wrong_cell_refused {
            ""
        } else {
            " (NOT refused)"
        },
        if report.cells_ended_session_refused {
            ""
        } else {
            " (NOT refused)"
        },
        report.cells_audit_records
    ));
    lines.push(format!(
        "7. the full pipeline: a vault from the same phrase (master m/74'/2'/1'/0', audit chain \
         key derived from it, checkpoints signed at m/74'/2'/2'/0') with its audit log in a file; \
         sealed the invoice at layer 1 in tenant-7/inbox ({} bytes), traversed the declared \
         edge tenant-7-to-tenant-8 to tenant-8/archive ({} bytes) and opened it there; the \
         undeclared route tenant-7-to-tenant-9 was refused",
        report.pipeline_sealed_len, report.pipeline_moved_len
    ));
    lines.push(format!(
        "8. verified the audit log file offline with only the trusted public key {} and its \
         anchor file (checkpoint at record {}): {} records, {} signed checkpoint(s), none \
         outside a checkpoint. The log, read back from the file:",
        report.pipeline_audit_public_key,
        report.pipeline_audit_anchor_sequence,
        report.pipeline_audit_records,
        report.pipeline_audit_checkpoints
    ));
    for event in &report.pipeline_audit_events {
        lines.push(format!("   {event}"));
    }
    lines.push("   everything secret stayed in memory and was zeroized on exit".to_owned());
    for line in lines {
        output::line(&line)?;
    }
    Ok(())
}
