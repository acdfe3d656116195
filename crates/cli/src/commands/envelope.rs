//! `hexvault envelope pack | unpack`: frame bytes into an envelope (LZ4 when it pays,
//! xxHash3-64 checksum) and back, with the envelope's limits on every input.

use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::input;
use crate::output;
use crate::{EnvelopeArgs, PackArgs};
use hexvault::envelope::{ByteStorage, Compression, ContentType, LIMIT_CEILING, Options, Report};

#[derive(Serialize)]
struct EnvelopeReport {
    original_len: u64,
    envelope_len: u64,
    payload_len: u64,
    compressed: bool,
    ratio: f64,
    checksum: Option<String>,
    content_type: Option<String>,
    out: String,
}

impl EnvelopeReport {
    fn new(report: &Report, out: &std::path::Path) -> Self {
        Self {
            original_len: report.original_len,
            envelope_len: report.envelope_len,
            payload_len: report.payload_len,
            compressed: report.compressed,
            ratio: report.ratio(),
            checksum: report.checksum.map(|checksum| checksum.to_string()),
            content_type: report
                .content_type
                .as_ref()
                .map(|label| label.as_str().to_owned()),
            out: out.display().to_string(),
        }
    }
}

/// With `--json` the statistics go to standard output, so the bytes need `--out`.
fn json_needs_out(args: &EnvelopeArgs, json: bool) -> CliResult {
    if json && args.output.is_none() {
        return Err(CliError::usage(
            "--json prints statistics on standard output: give the bytes a file with --out FILE",
        ));
    }
    Ok(())
}

fn input_limit() -> usize {
    usize::try_from(LIMIT_CEILING).unwrap_or(usize::MAX)
}

/// `envelope pack`: standard input (or `--in`) to an envelope.
pub(crate) fn pack(pack: &PackArgs, json: bool) -> CliResult {
    let args = &pack.io;
    json_needs_out(args, json)?;
    // A FILE that is a link, a device, a FIFO or a directory is refused before any work.
    if let Some(path) = &args.output {
        output::check_out_path(path)?;
    }
    let content_type = pack
        .content_type
        .as_deref()
        .map(ContentType::new)
        .transpose()
        .map_err(|error| CliError::usage(error.to_string()))?;
    let compression = if pack.compress {
        Compression::Auto
    } else {
        Compression::Never
    };
    let options = Options::default()
        .with_compression(compression)
        .with_content_type(content_type);
    let data = input::secret_input(args.input.as_deref(), input_limit(), "input")?;
    let storage = ByteStorage::new(options);
    // The envelope holds the input in clear (raw, or LZ4 of it): zeroized on drop, and
    // reserved once for the worst case so that no reallocation leaves a copy behind.
    let worst = hexvault::envelope::max_lz4_output(data.len() as u64);
    let mut envelope = zeroize::Zeroizing::new(Vec::with_capacity(
        usize::try_from(worst)
            .unwrap_or(data.len())
            .saturating_add(hexvault::envelope::MAX_HEADER_LEN),
    ));
    let report = storage.store_into(&data, &mut envelope)?;
    output::write_bytes(args.output.as_deref(), &envelope)?;
    match (&args.output, json) {
        (Some(path), true) => output::json(&EnvelopeReport::new(&report, path)),
        _ => Ok(()),
    }
}

/// `envelope unpack`: an envelope (standard input or `--in`) back to its bytes, after every
/// check of the format passed.
pub(crate) fn unpack(args: &EnvelopeArgs, json: bool) -> CliResult {
    json_needs_out(args, json)?;
    // A FILE that is a link, a device, a FIFO or a directory is refused before any work.
    if let Some(path) = &args.output {
        output::check_out_path(path)?;
    }
    let envelope = input::public_input(args.input.as_deref(), LIMIT_CEILING, "envelope")?;
    let storage = ByteStorage::new(Options::default());
    let mut data = zeroize::Zeroizing::new(Vec::new());
    // An envelope without checksums is refused (`ChecksumMissing`): nothing here would
    // detect a change to its content.
    let report = storage.retrieve_into(&envelope, &mut data)?;
    output::write_bytes(args.output.as_deref(), &data)?;
    match (&args.output, json) {
        (Some(path), true) => output::json(&EnvelopeReport::new(&report, path)),
        _ => Ok(()),
    }
}
