//! Writing results: JSON objects for `--json`, aligned `name: value` lines otherwise.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::error::{CliError, CliResult};

/// `--quiet`: notes on standard error are not printed.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Sets `--quiet` for the rest of the process.
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints `hexvault: note: {text}` on standard error, unless `--quiet`. Notes explain; they
/// never carry a result, a warning or an error (those print whatever `--quiet` says).
pub(crate) fn note(text: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        eprintln!("hexvault: note: {text}");
    }
}

/// Prints `hexvault: warning: {text}` on standard error, `--quiet` or not: something the
/// operator must know to read the result right (a check that trusted an unauthenticated
/// key, figures that leave records out, a repair done on the way).
pub(crate) fn warning(text: &str) {
    eprintln!("hexvault: warning: {text}");
}

/// Fails when standard output is closed. Rust's standard output silently discards writes to
/// a closed descriptor (EBADF), which would make a command that prints a fresh secret exit 0
/// with the secret lost; duplicating the descriptor is the safe way to ask whether it is open.
fn stdout_is_open() -> CliResult {
    io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(drop)
        .map_err(|error| CliError::io("standard output is closed; nothing was written", error))
}

/// Fails when standard output goes nowhere (closed, which the Rust runtime turns into
/// `/dev/null` before `main`, or redirected to `/dev/null`): a freshly generated secret
/// printed there exists nowhere and would be lost.
pub(crate) fn stdout_keeps_a_secret() -> CliResult {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    stdout_is_open()?;
    let lost = || {
        CliError::Failed(
            "standard output is closed or /dev/null: the new secret would be lost; write it \
             with --out FILE or to a terminal, file or pipe"
                .to_owned(),
        )
    };
    let stdout = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|error| CliError::io("inspecting standard output", error))?;
    let stdout = std::fs::File::from(stdout)
        .metadata()
        .map_err(|error| CliError::io("inspecting standard output", error))?;
    match std::fs::metadata("/dev/null") {
        Ok(null)
            if stdout.file_type().is_char_device()
                && null.file_type().is_char_device()
                && stdout.rdev() == null.rdev() =>
        {
            Err(lost())
        }
        _ => Ok(()),
    }
}

/// Standard output as a file of its own (a duplicate of its descriptor), for writing large
/// plaintext: each write goes to the kernel whole, not through the standard library's line
/// buffer, which splits writes at newlines. Nothing may be pending in that buffer: call it
/// before printing anything else.
pub(crate) fn stdout_file() -> CliResult<std::fs::File> {
    stdout_is_open()?;
    io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .map_err(|error| CliError::io("writing to standard output", error))
}

/// Writes `text` to standard output and flushes it: every error, including a closed
/// standard output, is reported.
fn write_stdout(text: &[u8]) -> CliResult {
    stdout_is_open()?;
    let mut out = io::stdout().lock();
    out.write_all(text)
        .and_then(|()| out.flush())
        .map_err(|error| CliError::io("writing to standard output", error))
}

/// Prints `value` as one line of JSON on standard output.
pub(crate) fn json(value: &impl Serialize) -> CliResult {
    stdout_is_open()?;
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value)
        .map_err(|error| CliError::Failed(format!("writing JSON: {error}")))?;
    writeln!(out)
        .and_then(|()| out.flush())
        .map_err(|error| CliError::io("writing to standard output", error))
}

/// Prints `name: value` lines, names aligned.
pub(crate) fn fields(rows: &[(&str, &str)]) -> CliResult {
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    // The values may be secrets (`derive --show-secret`): one buffer, reserved once (no
    // reallocation leaves a copy), written in place (no `format!` temporaries), wiped on drop.
    let total = rows.iter().fold(0usize, |n, (_, value)| {
        n.saturating_add(width + 3 + value.len())
    });
    let mut text = zeroize::Zeroizing::new(String::with_capacity(total));
    for (name, value) in rows {
        for _ in name.len()..width {
            text.push(' ');
        }
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push('\n');
    }
    write_stdout(text.as_bytes())
}

/// Prints one line of text.
pub(crate) fn line(text: &str) -> CliResult {
    let mut buffer = zeroize::Zeroizing::new(String::with_capacity(text.len() + 1));
    buffer.push_str(text);
    buffer.push('\n');
    write_stdout(buffer.as_bytes())
}

/// Writes `bytes` to `--out FILE` (see [`write_out`]) or to standard output.
pub(crate) fn write_bytes(path: Option<&std::path::Path>, bytes: &[u8]) -> CliResult {
    match path {
        None => write_stdout(bytes),
        Some(path) => write_out(path, |mut file| {
            file.write_all(bytes)
                .map_err(|error| CliError::io("writing --out", error))
        }),
    }
}

/// The directory `--out FILE` is written in.
fn out_dir(path: &std::path::Path) -> &std::path::Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    }
}

/// Refuses an `--out FILE` that exists and is not a regular file: a symbolic link (to
/// /dev/stdout, /dev/tty, another file), a device, a FIFO, a directory. Writing through
/// such a name would replace the link with a file of plaintext, or send plaintext where
/// the command's own checks (the terminal refusal) do not look. Fails closed.
pub(crate) fn check_out_path(path: &std::path::Path) -> CliResult {
    // What `--out` writes (a plaintext, a phrase, shares) never goes into the vault
    // directory the environment names, whichever command writes it (review round 24).
    crate::vaultdir::refuse_out_inside_default_vault(path)?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Ok(()),
        Ok(_) => Err(CliError::usage(
            "--out names a symbolic link, a device, a FIFO or a directory: refusing to write \
             through it; give the path of a new or regular file (or a pipe on standard output)",
        )),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(CliError::io("inspecting --out", error)),
    }
}

/// Writes `--out FILE`: [`check_out_path`] first, then `write` fills an unnamed file
/// (O_TMPFILE, mode 0600) in FILE's directory, which is fsynced and only then given a name:
/// linked as FILE when FILE does not exist, else linked as `.hexvault-out-XXXXXX` and
/// renamed over FILE, the directory fsynced. An interrupted command (kill -9 included)
/// leaves no file: the kernel frees an unnamed file with its last descriptor. The one
/// exception is a kill between the link and the rename over an existing FILE, which leaves
/// the complete output as `.hexvault-out-XXXXXX`. A directory whose filesystem has no
/// O_TMPFILE is refused, never written through a named temporary file.
pub(crate) fn write_out<T>(
    path: &std::path::Path,
    write: impl FnOnce(&std::fs::File) -> CliResult<T>,
) -> CliResult<T> {
    check_out_path(path)?;
    let dir = out_dir(path);
    let file = unnamed_file_in(dir)?;
    let value = write(&file)?;
    file.sync_all()
        .map_err(|error| CliError::io("writing --out", error))?;
    let link = |to: &std::path::Path| link_unnamed(&file, to);
    match link(path) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            // FILE exists (checked regular above): replace it atomically.
            check_out_path(path)?;
            let named = tempfile::Builder::new()
                .prefix(".hexvault-out-")
                .make_in(dir, |name| link(name))
                .map_err(|error| CliError::io("linking --out", error))?;
            named
                .persist(path)
                .map_err(|error| CliError::io("writing --out", error.error))?;
        }
        Err(error) => return Err(CliError::io("linking --out", error)),
    }
    std::fs::File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| CliError::io("syncing --out's directory", error))?;
    Ok(value)
}

/// An unnamed file (O_TMPFILE, mode 0600) in `dir`: the kernel frees it with its last
/// descriptor, so an interrupted command (kill -9 included) leaves nothing behind. A
/// filesystem without O_TMPFILE is refused, never written through a named temporary file.
fn unnamed_file_in(dir: &std::path::Path) -> CliResult<std::fs::File> {
    use rustix::fs::{CWD, Mode, OFlags};
    use rustix::io::Errno;
    let fd = rustix::fs::openat(
        CWD,
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::RUSR | Mode::WUSR,
    )
    .map_err(|errno| match errno {
        Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL => CliError::Failed(
            "the filesystem of the output's directory has no unnamed temporary files \
             (O_TMPFILE), which hexvault needs so that an interruption leaves no partial file: \
             write to a directory on ext4, xfs, btrfs or tmpfs, or to a pipe"
                .into(),
        ),
        other => CliError::io("creating a file beside the output", other.into()),
    })?;
    Ok(std::fs::File::from(fd))
}

/// Gives the unnamed `file` the name `to`; fails with `AlreadyExists` if `to` exists. The
/// name is made through the file's /proc link (linkat with AT_EMPTY_PATH needs
/// CAP_DAC_READ_SEARCH).
fn link_unnamed(file: &std::fs::File, to: &std::path::Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    let source = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file));
    rustix::fs::linkat(CWD, source.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)
        .map_err(io::Error::from)
}

/// Writes a secret to a new file `path`, atomically (an unnamed file in the same directory,
/// mode 0600, synced, then linked into place: an interruption leaves no file) and never over
/// an existing file: a fresh secret must not replace one that may still be needed. A path
/// inside the vault directory the environment names is refused.
pub(crate) fn write_new_secret_file(path: &std::path::Path, bytes: &[u8]) -> CliResult {
    crate::vaultdir::refuse_out_inside_default_vault(path)?;
    let dir = out_dir(path);
    let mut file = unnamed_file_in(dir)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| CliError::io(format!("writing {}", path.display()), error))?;
    link_unnamed(&file, path).map_err(|error| {
        if error.kind() == io::ErrorKind::AlreadyExists {
            CliError::Failed(format!(
                "{} exists; refusing to overwrite it (it may hold a phrase still in use): \
                 choose another path or move the file away first",
                path.display()
            ))
        } else {
            CliError::io(format!("writing {}", path.display()), error)
        }
    })?;
    // The directory entry must be durable too, or a crash could lose the new file.
    std::fs::File::open(dir)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| CliError::io(format!("syncing {}", dir.display()), error))
}

/// serde helper: serializes an optional zeroizing string as a plain JSON string (the
/// serializer writes it straight to standard output; no long-lived copy is made).
#[allow(clippy::ref_option)] // the signature serde's `serialize_with` requires
pub(crate) fn optional_secret_str<S: serde::Serializer>(
    value: &Option<zeroize::Zeroizing<String>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(value.as_str()),
        None => serializer.serialize_none(),
    }
}
