//! Large objects of the vault directory (ADR 0073, docs/formats.md "Large object"): a payload
//! above [`THRESHOLD`] is sealed as a random 32-byte data key in an ordinary cell blob, plus
//! the payload as a sealed stream (`hexvault_aead::StreamSealer`) under that data key in a
//! `.stream` file beside the blob. Memory stays one stream segment, the first 1 MiB of the
//! input (read to tell a large payload from a small one) and a constant.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{CliError, CliResult};
use crate::vaultdir::{CellRef, TEMP_PREFIX, VaultDir, sync_dir};
use hexvault::aead::{Key, StreamOpener, StreamOptions, StreamSealer};
use hexvault::cells::ObjectId;
pub(crate) use hexvault_cli::large_format::{
    RECORD_LEN, THRESHOLD, aad, data_key, is_large, key_record, stream_file_object_hex, stream_name,
};

/// Whether `blob`, of an object whose `.stream` file is missing, is a large object's
/// data-key blob (review round 41: such an object was traversed and resealed as an ordinary
/// one). Only a blob whose payload has the data-key record's length can be one; such a blob
/// is opened to tell (recorded as any open at layers 1 and 2 is), and a marked plaintext
/// counts as a data key even if it is malformed. Any other blob is an ordinary object's.
///
/// # Errors
/// The open's errors (credentials, a damaged blob).
pub(crate) fn is_large_without_stream(
    cell: &hexvault::cells::Cell,
    object: &ObjectId,
    blob: &[u8],
    credentials: &hexvault::cells::Credentials<'_>,
) -> Result<bool, hexvault::cells::Error> {
    if hexvault::cells::sealed_payload_len(blob).ok() != Some(RECORD_LEN) {
        return Ok(false);
    }
    let plaintext = cell.open(object, blob, credentials)?;
    Ok(data_key(plaintext.expose_secret()).map_or(true, |key| key.is_some()))
}

/// The error for a large object whose `.stream` file is missing.
pub(crate) fn missing_stream(object: &ObjectId, cell: &CellRef) -> CliError {
    CliError::Failed(format!(
        "object {object} of cell {} is a large object whose .stream file is missing: restore \
         the object's .blob and .stream files together from a backup",
        cell.name()
    ))
}

/// The stream file of the large object whose data-key blob is `blob`:
/// `HEX(object).HASH16.stream` beside the blob, `HASH16` the first 8 bytes of SHA-256(blob)
/// in hex (a reseal writes the new stream under a new name before the blob is replaced).
pub(crate) fn stream_path(
    dir: &VaultDir,
    cell: &CellRef,
    object: &ObjectId,
    blob: &[u8],
) -> PathBuf {
    dir.cell_dir(cell).join(stream_name(object.as_str(), blob))
}

/// Removes the stream files of a cell left by an interrupted seal, traverse or reseal: those
/// of an object that has no blob, and those whose object's blob names another stream that
/// exists. A stream whose object's blob names no stream that exists is kept, with a warning
/// (review round 41): the blob may be damaged, and the stream opens again beside the blob
/// restored from a backup. Called by writers only, under the audit log's lock.
pub(crate) fn remove_orphans(cell_dir: &Path) -> CliResult {
    let Ok(entries) = fs::read_dir(cell_dir) else {
        return Ok(());
    };
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(object_hex) = stream_file_object_hex(name) else {
            continue;
        };
        let blob = match fs::read(cell_dir.join(format!("{object_hex}.blob"))) {
            Ok(blob) => Some(blob),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(CliError::io("reading a blob", error)),
        };
        let object = hex::decode(object_hex)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        // The stream the object's blob names: this one (in use), another that exists (this
        // one is left over), or none that exists (kept: the blob may be damaged).
        let named = match (&blob, &object) {
            (None, _) => None,
            (Some(blob), Some(object)) => Some(stream_name(object, blob)),
            (Some(_), None) => Some(String::new()),
        };
        match named {
            Some(named) if named == name => continue,
            Some(named) if named.is_empty() || !cell_dir.join(&named).exists() => {
                crate::output::warning(&format!(
                    "kept the stream file {name} in {}: its object's blob names no stream that \
                     exists (a damaged blob, or a stream its object no longer uses); it opens \
                     again beside its blob restored from a backup; remove it if it is not wanted",
                    cell_dir.display()
                ));
                continue;
            }
            _ => {}
        }
        fs::remove_file(entry.path())
            .map_err(|error| CliError::io("removing an orphaned stream file", error))?;
        removed = true;
    }
    if removed {
        sync_dir(cell_dir)?;
    }
    Ok(())
}

/// A progress bar on standard error when `shown` (a terminal, no `--json`, no `--quiet`),
/// else a hidden one; `total` is the byte count when known.
pub(crate) fn progress(shown: bool, total: Option<u64>, what: &str) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    let template = if total.is_some() {
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
    } else {
        "{msg} {bytes} ({bytes_per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Whether a progress bar shows: standard error is a terminal, no `--json`, no `--quiet`.
pub(crate) fn progress_shown(json: bool) -> bool {
    use std::io::IsTerminal;
    !json && !crate::output::quiet() && io::stderr().is_terminal()
}

/// A stream file being written in a cell directory: a `.tmp-*` file, removed on drop unless
/// persisted.
pub(crate) struct PendingStream {
    file: tempfile::NamedTempFile,
}

impl PendingStream {
    /// Seals `head` then everything `rest` yields into a new temporary stream file in
    /// `cell_dir` under `key` and `aad`, and fsyncs it. Returns it and the plaintext length.
    pub(crate) fn seal(
        cell_dir: &Path,
        key: &Key,
        aad: &[u8],
        head: &[u8],
        rest: &mut impl Read,
    ) -> CliResult<(Self, u64)> {
        let file = temp_in(cell_dir)?;
        let read = write_durably(file.as_file(), "writing a stream file", |writer| {
            let mut sealer = StreamSealer::with_options(key, aad, writer, stream_options())?;
            sealer.write_all(head)?;
            let read = sealer.copy_from(rest)?;
            sealer.finish()?;
            Ok(read)
        })?;
        let len = u64::try_from(head.len())
            .unwrap_or(u64::MAX)
            .saturating_add(read);
        Ok((Self { file }, len))
    }

    /// Re-encrypts the stream at `source` (under `source_key`, `source_aad`) into a new
    /// temporary stream file in `cell_dir` under `key` and `aad` (a fresh salt, so fresh
    /// segment keys), one segment at a time, and fsyncs it. Returns it and the length.
    pub(crate) fn reencrypt(
        source: &Path,
        source_key: &Key,
        source_aad: &[u8],
        cell_dir: &Path,
        key: &Key,
        aad: &[u8],
        bar: &ProgressBar,
    ) -> CliResult<(Self, u64)> {
        Self::reencrypt_into(
            temp_in(cell_dir)?,
            source,
            source_key,
            source_aad,
            key,
            aad,
            bar,
        )
    }

    /// A temporary stream file in `cell_dir` with room for `len` bytes allocated on the
    /// device ([`crate::vaultdir::reserve_room`]): `traverse` makes it before the edge
    /// records the crossing, so a disk without room for the destination's stream fails
    /// before any record (review round 56), and re-encrypts into it afterwards
    /// ([`PendingStream::reencrypt_into`]).
    pub(crate) fn reserved(cell_dir: &Path, len: u64) -> CliResult<tempfile::NamedTempFile> {
        let file = temp_in(cell_dir)?;
        crate::vaultdir::reserve_room(file.as_file(), len, "reserving room for a stream file")?;
        Ok(file)
    }

    /// As [`PendingStream::reencrypt`], into `file` (written from its start and cut to the
    /// stream's length).
    pub(crate) fn reencrypt_into(
        file: tempfile::NamedTempFile,
        source: &Path,
        source_key: &Key,
        source_aad: &[u8],
        key: &Key,
        aad: &[u8],
        bar: &ProgressBar,
    ) -> CliResult<(Self, u64)> {
        use std::io::{Seek, SeekFrom};
        let mut opener = open_stream(source, source_key, source_aad)?;
        let mut file = file;
        file.as_file_mut()
            .seek(SeekFrom::Start(0))
            .map_err(|error| CliError::io("writing a stream file", error))?;
        let total = write_durably(file.as_file(), "writing a stream file", |writer| {
            let mut sealer = StreamSealer::with_options(key, aad, writer, stream_options())?;
            let mut total = 0u64;
            while let Some(segment) = opener.next_segment().map_err(stream_error)? {
                sealer.write_all(segment)?;
                let len = u64::try_from(segment.len()).unwrap_or(u64::MAX);
                total = total.saturating_add(len);
                bar.inc(len);
            }
            sealer.finish()?;
            Ok(total)
        })?;
        // A reserved file may be longer than the stream written into it: cut it there (the
        // shared offset is where the last write ended), and sync the new length.
        let end = file
            .as_file_mut()
            .stream_position()
            .and_then(|end| file.as_file().set_len(end))
            .and_then(|()| file.as_file().sync_all());
        end.map_err(|error| CliError::io("writing a stream file", error))?;
        Ok((Self { file }, total))
    }

    /// Renames the stream into place (over a file of the same name, which only an
    /// interrupted write of the same blob can have left) and fsyncs the directory.
    pub(crate) fn persist(self, path: &Path) -> CliResult {
        self.file
            .persist(path)
            .map_err(|error| CliError::io("writing a stream file", error.error))?;
        match path.parent() {
            Some(dir) => sync_dir(dir),
            None => Err(CliError::Failed(
                "internal error: a stream path has no parent".into(),
            )),
        }
    }
}

/// Plaintext bytes per segment of the streams this command writes (1 MiB, declared in each
/// stream's header): a sixteenth of the reads, writes and tags of the library's 64 KiB
/// default; memory stays one segment for the sealer and one for the opener.
pub(crate) const SEGMENT_LEN: u32 = 1024 * 1024;

/// The options of the streams this command writes: [`SEGMENT_LEN`] segments.
fn stream_options() -> StreamOptions {
    let mut options = StreamOptions::default();
    options.segment_len = SEGMENT_LEN;
    options
}

/// After this many bytes written since the last request, [`Writeback`] asks its thread for
/// another fdatasync (16 MiB).
const WRITEBACK_STEP: u64 = 16 * 1024 * 1024;

/// A writer to a file whose written data is flushed to the device in the background as it
/// goes: every [`WRITEBACK_STEP`] bytes it asks a thread of [`write_durably`] for an
/// fdatasync, so the fsync that must end the write finds little left to flush and the device
/// works while the command encrypts (ADR 0084).
pub(crate) struct Writeback<'a> {
    file: &'a File,
    since: u64,
    request: SyncSender<()>,
}

impl Write for Writeback<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = (&*self.file).write(buf)?;
        self.since = self
            .since
            .saturating_add(u64::try_from(written).unwrap_or(u64::MAX));
        if self.since >= WRITEBACK_STEP {
            self.since = 0;
            match self.request.try_send(()) {
                // Queued, or a request is already waiting: that fdatasync covers these bytes.
                Ok(()) | Err(TrySendError::Full(())) => {}
                // The thread stopped on an error, which `write_durably` reports.
                Err(TrySendError::Disconnected(())) => {}
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `work` with a [`Writeback`] writer to `file`, then fsyncs `file`. An error of
/// `work`, of a background fdatasync or of the final fsync is the result (`what` says what
/// was being written); the file is durable only on success.
pub(crate) fn write_durably<T>(
    file: &File,
    what: &str,
    work: impl FnOnce(&mut Writeback<'_>) -> CliResult<T>,
) -> CliResult<T> {
    std::thread::scope(|scope| {
        let (request, requests) = mpsc::sync_channel::<()>(1);
        let worker = scope.spawn(move || -> io::Result<()> {
            for () in requests {
                file.sync_data()?;
            }
            Ok(())
        });
        // The writer (and its sender) drops at the end of this statement: the thread's loop
        // ends once it has served the last request.
        let result = work(&mut Writeback {
            file,
            since: 0,
            request,
        });
        let synced = worker.join();
        let value = result?;
        match synced {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(CliError::io(what, error)),
            Err(_) => {
                return Err(CliError::Failed(
                    "internal error: the writeback thread panicked".into(),
                ));
            }
        }
        file.sync_all().map_err(|error| CliError::io(what, error))?;
        Ok(value)
    })
}

fn temp_in(dir: &Path) -> CliResult<tempfile::NamedTempFile> {
    fs::create_dir_all(dir).map_err(|error| CliError::io("creating a cell directory", error))?;
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|error| CliError::io("creating a stream file", error))
}

/// Opens a stream file for reading; a missing one is reported as such.
pub(crate) fn open_stream(
    path: &Path,
    key: &Key,
    aad: &[u8],
) -> CliResult<StreamOpener<BufReader<File>>> {
    let file = File::open(path).map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            CliError::Failed(
                "the object is a large object and its .stream file is missing: restore the \
                 object's .blob and .stream files together from a backup"
                    .into(),
            )
        } else {
            CliError::io("opening a stream file", error)
        }
    })?;
    // Reads of a whole segment and its tag go past this buffer straight into the opener's.
    let reader = BufReader::with_capacity(64 * 1024 + 64, file);
    StreamOpener::new(key, aad, reader).map_err(stream_error)
}

/// Whether `error`, from opening or re-encrypting a stream file, says the file is missing or
/// damaged (a failure of that object), not that reading, writing or the random number
/// generator failed.
pub(crate) fn is_damaged_stream(error: &CliError) -> bool {
    match error {
        CliError::Failed(_) => true,
        CliError::Aead(hexvault::aead::Error::Io { .. } | hexvault::aead::Error::Rng) => false,
        CliError::Aead(_) => true,
        _ => false,
    }
}

/// A stream error in the command line's words.
pub(crate) fn stream_error(error: hexvault::aead::Error) -> CliError {
    use hexvault::aead::Error;
    match error {
        Error::Io { .. } => CliError::Aead(error),
        _ => CliError::Failed(
            "the object's .stream file did not authenticate (modified, truncated, or not the \
             one of this blob): restore the object's .blob and .stream files together from a \
             backup"
                .into(),
        ),
    }
}

/// Opens a whole stream into `out`, returning the plaintext length. On an error, what was
/// written is incomplete.
pub(crate) fn copy_out(
    opener: &mut StreamOpener<BufReader<File>>,
    out: &mut impl Write,
    bar: &ProgressBar,
) -> CliResult<u64> {
    let mut total = 0u64;
    while let Some(segment) = opener.next_segment().map_err(stream_error)? {
        out.write_all(segment)
            .map_err(|error| CliError::io("writing the plaintext", error))?;
        let len = u64::try_from(segment.len()).unwrap_or(u64::MAX);
        total = total.saturating_add(len);
        bar.inc(len);
    }
    out.flush()
        .map_err(|error| CliError::io("writing the plaintext", error))?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::io::Seek;

    use super::*;

    #[test]
    fn write_durably_writes_everything_past_several_writeback_steps() {
        let file = tempfile::tempfile().ok();
        let Some(file) = file else {
            unreachable!("a temporary file")
        };
        let piece: Vec<u8> = (0..1024 * 1024_u32).map(|i| (i % 251) as u8).collect();
        let pieces = usize::try_from(2 * WRITEBACK_STEP / 1024 / 1024).unwrap_or(32) + 3;
        let written = write_durably(&file, "test", |writer| {
            for _ in 0..pieces {
                writer
                    .write_all(&piece)
                    .map_err(|error| CliError::io("test", error))?;
            }
            Ok(pieces)
        });
        assert_eq!(written.ok(), Some(pieces));
        let mut back = Vec::new();
        let read = (&file)
            .seek(io::SeekFrom::Start(0))
            .and_then(|_| (&file).read_to_end(&mut back));
        assert_eq!(read.ok(), Some(pieces * piece.len()));
        assert!(
            back.chunks(piece.len())
                .all(|chunk| chunk == piece.as_slice())
        );
    }

    #[test]
    fn write_durably_returns_the_error_of_its_work() {
        let file = tempfile::tempfile().ok();
        let Some(file) = file else {
            unreachable!("a temporary file")
        };
        let result: CliResult<()> = write_durably(&file, "test", |writer| {
            writer
                .write_all(&[1; 4096])
                .map_err(|error| CliError::io("test", error))?;
            Err(CliError::Failed("the stream did not authenticate".into()))
        });
        let message = result.err().map(|error| error.to_string());
        assert_eq!(message.as_deref(), Some("the stream did not authenticate"));
    }

    #[test]
    fn streams_of_either_segment_length_open_through_the_command_path() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else {
            unreachable!("a temporary directory")
        };
        let key = Key::from_bytes([5; hexvault::aead::KEY_LEN]);
        let data: Vec<u8> = (0..(3 * 1024 * 1024 + 7_u32))
            .map(|i| (i % 253) as u8)
            .collect();
        // 64 KiB: what earlier builds wrote; 1 MiB: what this build writes.
        for (name, options) in [("old", StreamOptions::default()), ("new", stream_options())] {
            let path = dir.path().join(name);
            let file = File::create(&path).ok();
            let Some(file) = file else {
                unreachable!("a file")
            };
            let sealed =
                StreamSealer::with_options(&key, b"aad", &file, options).and_then(|mut sealer| {
                    sealer.write_all(&data)?;
                    sealer.finish()
                });
            assert!(sealed.is_ok(), "{name}");
            let segments = data.len().div_ceil(options.segment_len as usize);
            let len = fs::metadata(&path).map(|meta| meta.len()).ok();
            assert_eq!(
                len,
                Some((data.len() + 41 + 16 * segments) as u64),
                "{name}"
            );
            let mut out = Vec::new();
            let opened = open_stream(&path, &key, b"aad")
                .and_then(|mut opener| copy_out(&mut opener, &mut out, &ProgressBar::hidden()));
            assert_eq!(opened.ok(), Some(data.len() as u64), "{name}");
            assert!(out == data, "{name}");
        }
    }
}
