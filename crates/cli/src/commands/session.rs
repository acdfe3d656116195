//! `hexvault session start|end` and the session file (docs/formats.md, "Session file"; ADR
//! 0074): layer 2 from the shell. The session file holds the session key: it is the
//! credential of layer 2 until it expires or `session end` destroys it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::commands::vault::DirArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use crate::vaultdir::{OpenVault, VaultDir};
use crate::{PassphraseArgs, PhraseArgs};
use hexvault::NoAccessTokens;
use hexvault::audit::{Context, ContextId, Event, EventKind, Timestamp};
use hexvault::cells::{SESSION_ID_LEN, Session};
use hexvault_cli::session_file::{self, SessionFile, parse_ttl};
use hexvault_cli::time::rfc3339;

/// `hexvault session start`.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// How long the session lives: a number with a unit, s, m, h or d (e.g. 90s, 30m, 8h,
    /// 1d; at most 30d).
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    ttl: Duration,
    /// Write the session file here (a new file: never over an existing one; not inside the
    /// vault directory). Default: hexvault-session-ID.toml in $XDG_RUNTIME_DIR, else in
    /// the system's temporary directory.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// `hexvault session end`.
#[derive(Debug, Args)]
pub(crate) struct EndArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The session file to destroy.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

/// When an export expires, in RFC 3339.
fn expiry_text(expires_at: SystemTime) -> String {
    let secs = expires_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    rfc3339(Timestamp::from_unix_nanos(
        secs.saturating_mul(1_000_000_000),
    ))
}

/// Reads `--session FILE` and resumes its session. A file of format 1, an altered file and
/// an expired one are refused with a message that says which and what to do.
pub(crate) fn load(path: &Path) -> CliResult<(Session, [u8; SESSION_ID_LEN])> {
    let text = input::secret_file_text(path, "session file")?;
    let file = session_file::parse(&text)?;
    drop(text);
    let export = file.export()?;
    let expired = || {
        CliError::Failed(format!(
            "the session in the --session file expired at {}: start a new one with \
             `hexvault session start --ttl DURATION` (data sealed at layer 2 under the expired \
             session cannot be opened any more)",
            expiry_text(export.expires_at())
        ))
    };
    if export.expires_at() <= SystemTime::now() {
        return Err(expired());
    }
    let session = Session::resume(&export).map_err(|_| expired())?;
    Ok((session, *export.id()))
}

/// Whether the verified log of an opened vault records the start and the end of session
/// `id`.
fn recorded(opened: &OpenVault, id: &[u8]) -> (bool, bool) {
    (
        opened.recorded.sessions_started.contains(id),
        opened.recorded.sessions_ended.contains(id),
    )
}

/// The refusal of a session file whose session this vault did not start.
fn started_elsewhere() -> CliError {
    CliError::Failed(
        "the session of the --session file was not started in this vault (its audit log \
         records no `session start` of it): a session belongs to the vault whose `hexvault \
         session start --dir` started it; use it with that vault's --dir, or start a session \
         in this one"
            .into(),
    )
}

/// Refuses the session `id` unless the vault's audit log records its start (`session start`
/// in this vault: a session file is bound to the vault that started it, so an end recorded
/// there is never bypassed by using a copy in another vault), and refuses it if the log
/// records its end (`session end`): the file given is a copy of an ended session's (an
/// editor backup, a backup of the runtime directory), and this tool opens nothing with it.
/// Decided from the log as the vault's keys verified it when it was opened (the bytes
/// verified are the bytes read), under its lock.
pub(crate) fn refuse_unusable(opened: &OpenVault, id: &[u8]) -> CliResult {
    let (started, ended) = recorded(opened, id);
    if !started {
        return Err(started_elsewhere());
    }
    if ended {
        return Err(CliError::Failed(
            "the session of the --session file was ended (`hexvault session end`, recorded \
             in the vault's audit log): the file is a copy, and data sealed at layer 2 under \
             that session cannot be opened any more; destroy the copy, and start a new session \
             for new data"
                .into(),
        ));
    }
    Ok(())
}

/// Records the start or end of the session `id` in the vault's audit log.
fn record(vault: &hexvault::Vault, kind: EventKind, id: &[u8]) -> CliResult {
    vault
        .audit_log()
        .append(Event::new(kind).context(Context::new().session(ContextId::new(id.to_vec())?)))?;
    Ok(())
}

/// The default session file: `hexvault-session-ID.toml` in `$XDG_RUNTIME_DIR` (a private
/// per-user tmpfs on most Linux systems), else in the system's temporary directory.
fn default_path(id: &[u8]) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    dir.join(format!("hexvault-session-{}.toml", hex::encode(id)))
}

/// `session start`: starts a layer-2 session (recorded in the audit log) and writes its
/// session file.
pub(crate) fn start(args: &StartArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    if let Some(out) = &args.out {
        crate::vaultdir::refuse_out_inside(out, &dir.root, "the session file is a credential and")?;
    }
    let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
    let opened = dir.assemble(&seed, NoAccessTokens)?;
    let file = SessionFile::generate(args.ttl, SystemTime::now());
    let file = match file {
        Ok(file) => file,
        Err(error) => {
            opened.vault.close()?;
            return Err(error);
        }
    };
    let path = args.out.clone().unwrap_or_else(|| default_path(file.id()));
    if args.out.is_none() {
        crate::vaultdir::refuse_out_inside(
            &path,
            &dir.root,
            "the session file is a credential and",
        )?;
    }
    record(&opened.vault, EventKind::SessionStart, file.id())?;
    let written = file
        .text()
        .and_then(|text| output::write_new_secret_file(&path, text.as_bytes()));
    if let Err(error) = written {
        // The session is never usable: record its end too.
        record(&opened.vault, EventKind::SessionEnd, file.id())?;
        opened.vault.close()?;
        return Err(error);
    }
    // Reported before the vault is closed, so that a report that cannot be printed undoes
    // the start (review round 41): a session file nobody was told of (its default name holds
    // the random id) must not stay live. Without `--out` the report must reach somewhere:
    // standard output closed or `/dev/null` is a failure too.
    let reported = if args.out.is_none() {
        output::stdout_keeps_a_secret()
    } else {
        Ok(())
    }
    .and_then(|()| report(&file, &path, json));
    if let Err(error) = reported {
        let destroyed = open_session_file(&path).and_then(|handle| destroy(handle, &path));
        record(&opened.vault, EventKind::SessionEnd, file.id())?;
        opened.vault.close()?;
        destroyed?;
        return Err(error);
    }
    // A command that fails leaves no live session file, also when only the final
    // checkpoint fails after the report was printed.
    if let Err(error) = opened.vault.close() {
        let error = CliError::from(error);
        return Err(
            match open_session_file(&path).and_then(|handle| destroy(handle, &path)) {
                Ok(()) => CliError::Failed(format!("{error}; the session file was destroyed")),
                Err(_) => CliError::Failed(format!(
                    "{error}; the session file {} could not be destroyed: delete it",
                    path.display()
                )),
            },
        );
    }
    Ok(())
}

/// What `session start` prints: the session id, its expiry and the session file's path.
fn report(file: &SessionFile, path: &Path, json: bool) -> CliResult {
    let id = hex::encode(file.id());
    let expires = expiry_text(file.expires_at()?);
    if json {
        output::json(&serde_json::json!({
            "session": id,
            "expires": expires,
            "file": path.display().to_string(),
        }))
    } else {
        output::fields(&[
            ("session", &id),
            ("expires", &expires),
            ("file", &path.display().to_string()),
        ])?;
        output::note(
            "the session file is the layer-2 credential: pass it with --session FILE, and end \
             it with `hexvault session end FILE`",
        );
        Ok(())
    }
}

/// Opens the session file `session end` destroys, once, for reading and overwriting: never
/// through a symbolic link (`O_NOFOLLOW` on the last component) and only a regular file.
/// The same descriptor is read, parsed and overwritten, so a name swapped while the command
/// runs (it reads the phrase in between) cannot redirect the overwrite to another file.
fn open_session_file(path: &Path) -> CliResult<File> {
    use rustix::fs::{CWD, Mode, OFlags};
    let fd = rustix::fs::openat(
        CWD,
        path,
        OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(|errno| {
        if errno == rustix::io::Errno::LOOP {
            CliError::Failed(
                "the session file given to `session end` is a symbolic link: give the session \
                 file's own path (ending overwrites the file, never through a link); nothing \
                 was recorded"
                    .into(),
            )
        } else {
            CliError::io("opening the session file", errno.into())
        }
    })?;
    let file = File::from(fd);
    let is_file = file
        .metadata()
        .map_err(|error| CliError::io("reading the session file", error))?
        .file_type()
        .is_file();
    if !is_file {
        return Err(CliError::Failed(
            "the path given to `session end` is not a regular file, so it is not a session \
             file; nothing was recorded"
                .into(),
        ));
    }
    Ok(file)
}

/// Overwrites the open session file with zeros of its length and fsyncs it; then removes its
/// name `path`, if that name still is this file (same device and inode, the name itself not
/// followed), and fsyncs the directory. A name that now points elsewhere (the file was moved
/// or replaced while the command ran) is left alone and reported: the file that was read is
/// overwritten either way.
fn destroy(mut file: File, path: &Path) -> CliResult {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;
    let opened = file
        .metadata()
        .map_err(|error| CliError::io("reading the session file", error))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|error| CliError::io("overwriting the session file", error))?;
    let zeros = [0_u8; 4096];
    let mut left = opened.len();
    while left > 0 {
        let now = usize::try_from(left.min(4096)).unwrap_or(4096);
        file.write_all(zeros.get(..now).unwrap_or(&zeros))
            .map_err(|error| CliError::io("overwriting the session file", error))?;
        left = left.saturating_sub(now as u64);
    }
    file.sync_all()
        .map_err(|error| CliError::io("overwriting the session file", error))?;
    drop(file);
    let named = std::fs::symlink_metadata(path)
        .map_err(|error| CliError::io("checking the session file's name", error))?;
    if (named.dev(), named.ino()) != (opened.dev(), opened.ino()) {
        return Err(CliError::Failed(
            "the session file was overwritten, but its name no longer points to it (the file \
             was moved or replaced while the command ran): the name was left as it is; check \
             what it points to"
                .into(),
        ));
    }
    std::fs::remove_file(path).map_err(|error| CliError::io("removing the session file", error))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    crate::vaultdir::sync_dir(dir)
}

/// `session end FILE`: records the end (durably: checkpointed), then overwrites and deletes
/// the session file. A failure after the record (the overwrite, the unlink, a kill) leaves
/// the session refused by every command; the file, if still there, is ended again by a new
/// `session end FILE` (or deleted by hand). A session this vault did not start is refused
/// before anything is written or destroyed: its end belongs in the log of its own vault
/// (a format-1 file, usable nowhere, is destroyed whatever the vault).
pub(crate) fn end(args: &EndArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    let handle = open_session_file(&args.file)?;
    let text = input::secret_text_of_open_file(&handle, &args.file, "session file")?;
    // Any known format, altered or not: ending destroys the file whatever it says.
    let file = session_file::parse(&text)?;
    drop(text);
    let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
    let opened = dir.assemble(&seed, NoAccessTokens)?;
    // A format-1 file opens nothing anywhere (refused by every command that would use it):
    // it is destroyed whichever vault is given, as before.
    let (started, _) = recorded(&opened, file.id());
    if !started && file.format() == session_file::SESSION_FORMAT {
        opened.vault.close()?;
        return Err(CliError::Failed(format!(
            "session {} was not started in this vault (its audit log records no `session \
             start` of it): end it with the --dir of the vault that started it; nothing was \
             recorded and the file is left as it was",
            hex::encode(file.id())
        )));
    }
    record(&opened.vault, EventKind::SessionEnd, file.id())?;
    opened.vault.checkpoint()?;
    opened.vault.close()?;
    destroy(handle, &args.file).map_err(|error| {
        CliError::Failed(format!(
            "session {} is ended (recorded in the audit log: the file and any copy of it are \
             refused), but destroying the file failed ({error}): delete it yourself, or run \
             `hexvault session end FILE` again",
            hex::encode(file.id())
        ))
    })?;
    let id = hex::encode(file.id());
    let expired = file.expires_at()? <= SystemTime::now();
    if json {
        output::json(&serde_json::json!({
            "session": id,
            "ended": true,
            "had_expired": expired,
        }))
    } else {
        output::line(&format!(
            "session {id} ended: its file is overwritten and deleted, and the end is recorded \
             in the audit log; data sealed at layer 2 under it cannot be opened any more (a \
             copy of the file is refused)"
        ))
    }
}
