//! `hexvault session start|end` and the session file (docs/formats.md, "Session file"; ADR
//! 0074): layer 2 from the shell. The session file holds the session key: it is the
//! credential of layer 2 until it expires or `session end` destroys it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::commands::audit::rfc3339;
use crate::commands::vault::DirArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use crate::vaultdir::VaultDir;
use crate::{PassphraseArgs, PhraseArgs};
use hexvault::NoAccessTokens;
use hexvault::audit::{Context, ContextId, Event, EventKind, Timestamp};
use hexvault::cells::{SESSION_ID_LEN, Session, SessionExport};

/// The session file format this build writes and reads.
const SESSION_FORMAT: u32 = 1;
/// The longest `--ttl` (30 days): a session is meant to be short-lived.
const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

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

/// Parses `--ttl`: digits then one unit, `s`, `m`, `h` or `d`; 1 second to 30 days.
pub(crate) fn parse_ttl(text: &str) -> Result<Duration, String> {
    let usage = || "use a number with a unit s, m, h or d, e.g. 30m or 8h".to_owned();
    let split = text.len().checked_sub(1).ok_or_else(usage)?;
    let (number, unit) = (text.get(..split).ok_or_else(usage)?, text.get(split..));
    let scale = match unit {
        Some("s") => 1,
        Some("m") => 60,
        Some("h") => 3600,
        Some("d") => 86_400,
        _ => return Err(usage()),
    };
    let count: u64 = number.parse().map_err(|_| usage())?;
    let secs = count.checked_mul(scale).ok_or_else(usage)?;
    let ttl = Duration::from_secs(secs);
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err("the lifetime must be 1s to 30d".to_owned());
    }
    Ok(ttl)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    format: u32,
    id: String,
    key: String,
    expires_unix: u64,
}

impl Drop for FileText {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// The text of a session file for `export`.
fn file_text(export: &SessionExport) -> CliResult<Zeroizing<String>> {
    let expires = export
        .expires_at()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CliError::Failed("internal error: a session expires before 1970".into()))?
        .as_secs();
    let mut text = Zeroizing::new(String::with_capacity(512));
    text.push_str(
        "# hexvault layer-2 session (docs/formats.md, \"Session file\"). This file is the\n\
         # credential of layer 2: keep it private; `hexvault session end FILE` destroys it.\n",
    );
    text.push_str(&format!("format = {SESSION_FORMAT}\n"));
    text.push_str(&format!("id = \"{}\"\n", hex::encode(export.id())));
    text.push_str("key = \"");
    let mut key_hex = Zeroizing::new([0_u8; 64]);
    hex::encode_to_slice(export.expose_secret(), &mut key_hex[..])
        .map_err(|_| CliError::Failed("internal error: hex of a session key".into()))?;
    text.push_str(std::str::from_utf8(&key_hex[..]).map_err(|_| {
        CliError::Failed("internal error: hex of a session key is not text".into())
    })?);
    text.push_str("\"\n");
    text.push_str(&format!(
        "expires_unix = {expires}   # {}\n",
        rfc3339(Timestamp::from_unix_nanos(
            expires.saturating_mul(1_000_000_000)
        ))
    ));
    Ok(text)
}

/// Parses a session file's text into an export (expired or not).
pub(crate) fn parse(text: &str) -> CliResult<SessionExport> {
    let bad = |what: &str| {
        CliError::Failed(format!(
            "the session file is not valid ({what}); see docs/formats.md, \"Session file\", or \
             start a new session with `hexvault session start`"
        ))
    };
    let file: FileText =
        toml::from_str(text).map_err(|_| bad("not TOML of the documented form"))?;
    if file.format != SESSION_FORMAT {
        return Err(bad("an unknown format"));
    }
    let mut id = [0_u8; SESSION_ID_LEN];
    hex::decode_to_slice(&file.id, &mut id).map_err(|_| bad("id is not 32 hex digits"))?;
    let decoded = input::decode_secret_hex(&file.key).ok_or_else(|| bad("key is not hex"))?;
    let mut key = Zeroizing::new([0_u8; 32]);
    if decoded.len() != key.len() {
        return Err(bad("key is not 64 hex digits"));
    }
    key.copy_from_slice(&decoded);
    let expires_at = UNIX_EPOCH
        .checked_add(Duration::from_secs(file.expires_unix))
        .ok_or_else(|| bad("expires_unix is out of range"))?;
    Ok(SessionExport::new(id, *key, expires_at))
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

/// Reads `--session FILE` and resumes its session; an expired one is refused with a
/// message that says so.
pub(crate) fn load(path: &Path) -> CliResult<Session> {
    let text = input::secret_file_text(path, "session file")?;
    let export = parse(&text)?;
    drop(text);
    if export.expires_at() <= SystemTime::now() {
        return Err(CliError::Failed(format!(
            "the session in the --session file expired at {}: start a new one with \
             `hexvault session start --ttl DURATION` (data sealed at layer 2 under the expired \
             session cannot be opened any more)",
            expiry_text(export.expires_at())
        )));
    }
    Session::resume(&export).map_err(|_| {
        CliError::Failed(format!(
            "the session in the --session file expired at {}: start a new one with \
             `hexvault session start --ttl DURATION`",
            expiry_text(export.expires_at())
        ))
    })
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

/// Refuses a session file inside the vault directory (a backup or a commit of the vault
/// would carry the layer-2 credential with it).
fn outside_vault(path: &Path, vault: &Path) -> CliResult {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let parent = parent
        .canonicalize()
        .map_err(|error| CliError::io("resolving the directory of --out", error))?;
    let vault = vault
        .canonicalize()
        .map_err(|error| CliError::io("resolving the vault directory", error))?;
    if parent.starts_with(&vault) {
        return Err(CliError::usage(
            "--out is inside the vault directory: the session file is a credential and must \
             not travel with the vault (backups, version control); choose a path outside it",
        ));
    }
    Ok(())
}

/// `session start`: starts a layer-2 session (recorded in the audit log) and writes its
/// session file.
pub(crate) fn start(args: &StartArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    if let Some(out) = &args.out {
        outside_vault(out, &dir.root)?;
    }
    let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
    let opened = dir.assemble(&seed, NoAccessTokens)?;
    let session = opened.vault.start_session(args.ttl);
    let session = match session {
        Ok(session) => session,
        Err(error) => {
            opened.vault.close()?;
            return Err(error.into());
        }
    };
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| default_path(session.id()));
    if args.out.is_none() {
        outside_vault(&path, &dir.root)?;
    }
    let export = session.export()?;
    let written =
        file_text(&export).and_then(|text| output::write_new_secret_file(&path, text.as_bytes()));
    if let Err(error) = written {
        // The session is never usable: record its end too.
        opened.vault.end_session(&session)?;
        opened.vault.close()?;
        return Err(error);
    }
    opened.vault.close()?;
    let id = hex::encode(session.id());
    let expires = expiry_text(export.expires_at());
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

/// Overwrites `path` with zeros of its length, fsyncs it, removes it and fsyncs its
/// directory.
fn destroy(path: &Path) -> CliResult {
    let len = std::fs::metadata(path)
        .map_err(|error| CliError::io("reading the session file", error))?
        .len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|error| CliError::io("opening the session file", error))?;
    let zeros = [0_u8; 4096];
    let mut left = len;
    while left > 0 {
        let now = usize::try_from(left.min(4096)).unwrap_or(4096);
        file.write_all(zeros.get(..now).unwrap_or(&zeros))
            .map_err(|error| CliError::io("overwriting the session file", error))?;
        left = left.saturating_sub(now as u64);
    }
    file.sync_all()
        .map_err(|error| CliError::io("overwriting the session file", error))?;
    drop(file);
    std::fs::remove_file(path).map_err(|error| CliError::io("removing the session file", error))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    crate::vaultdir::sync_dir(dir)
}

/// `session end FILE`: overwrites and deletes the session file and records the end.
pub(crate) fn end(args: &EndArgs, json: bool) -> CliResult {
    let dir = VaultDir::open(&args.dir.dir)?;
    let text = input::secret_file_text(&args.file, "session file")?;
    let export = parse(&text)?;
    drop(text);
    let seed = input::seed(&args.phrase, &args.passphrase, Stdin::Available)?;
    let opened = dir.assemble(&seed, NoAccessTokens)?;
    destroy(&args.file)?;
    let log = opened.vault.audit_log();
    log.append(
        Event::new(EventKind::SessionEnd)
            .context(Context::new().session(ContextId::new(export.id().to_vec())?)),
    )?;
    opened.vault.close()?;
    let id = hex::encode(export.id());
    let expired = export.expires_at() <= SystemTime::now();
    if json {
        output::json(&serde_json::json!({
            "session": id,
            "ended": true,
            "had_expired": expired,
        }))
    } else {
        output::line(&format!(
            "session {id} ended: its file is overwritten and deleted; data sealed at layer 2 \
             under it cannot be opened any more"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses_units_and_refuses_the_rest() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(28_800)));
        assert_eq!(parse_ttl("30d"), Ok(MAX_TTL));
        for bad in [
            "",
            "s",
            "0s",
            "31d",
            "10",
            "1w",
            "-1s",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_session_file_round_trips_and_refuses_damage() {
        let expires = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        let export = SessionExport::new([3; SESSION_ID_LEN], [9; 32], expires);
        let text = file_text(&export).unwrap_or_default();
        let back = parse(&text).ok();
        assert_eq!(back.as_ref().map(|b| *b.id()), Some([3; SESSION_ID_LEN]));
        assert_eq!(back.as_ref().map(|b| *b.expose_secret()), Some([9; 32]));
        assert_eq!(back.as_ref().map(SessionExport::expires_at), Some(expires));
        assert!(text.contains("2096-10-02T07:06:40"));
        for (from, to) in [
            ("format = 1", "format = 2"),
            ("key = \"09", "key = \"0"),
            ("id = \"03", "id = \"zz"),
            ("expires_unix", "expires"),
        ] {
            assert!(parse(&text.replacen(from, to, 1)).is_err(), "{from}");
        }
        assert!(parse(&format!("{}\nextra = 1\n", &*text)).is_err());
    }
}
