//! The session file of `hexvault session start` (docs/formats.md, "Session file"; ADR 0074,
//! amended by ADR 0083): the text written and read back, the derivation that binds the
//! session's expiry to its key, and the `--ttl` syntax.
//!
//! A format-2 file holds a random 32-byte session secret `s`, the session id and the expiry
//! `e` (Unix seconds). The layer-2 session key handed to the cells crate is never stored: it
//! is `HKDF-SHA256(ikm = s, info = encode_info("hexvault/cli/session-key/v2", [id, u64be(e)]))`,
//! so a file whose expiry (or id) was edited gives another key, under which nothing sealed in
//! the session opens. The file also holds a public check value derived the same way under its
//! own label, so that an edit is refused when the file is read, before anything is sealed
//! under the wrong key.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{CliError, CliResult};
use crate::time::rfc3339;
use hexvault::aead::{KEY_LEN, Key, derive_key};
use hexvault::audit::Timestamp;
use hexvault::cells::{SESSION_ID_LEN, SessionExport};

/// The session file format this build writes and reads.
pub const SESSION_FORMAT: u32 = 2;
/// The format of session files written before the expiry was bound to the key: read only
/// by `session end` (to destroy them), refused everywhere else.
pub const UNBOUND_FORMAT: u32 = 1;
/// The longest `--ttl` (30 days): a session is meant to be short-lived.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The HKDF label of the layer-2 session key.
pub const KEY_LABEL: &str = "hexvault/cli/session-key/v2";
/// The HKDF label of the file's public check value.
pub const CHECK_LABEL: &str = "hexvault/cli/session-check/v2";

/// Parses `--ttl`: digits then one unit, `s`, `m`, `h` or `d`; 1 second to 30 days.
///
/// # Errors
/// Fails for a text that is not digits and a unit, or a lifetime out of range (the
/// message says what to type).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
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

/// A session file as read back (any known format) or about to be written. The session
/// secret (format 2) or key (format 1) is wiped on drop; `Debug` shows the id, format and
/// expiry only; not `Clone`.
pub struct SessionFile {
    format: u32,
    id: [u8; SESSION_ID_LEN],
    /// Format 2: the session secret `s`; format 1: the session key itself.
    secret: Zeroizing<[u8; KEY_LEN]>,
    expires_unix: u64,
    /// Format 2 only.
    check: [u8; 32],
}

impl fmt::Debug for SessionFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionFile")
            .field("format", &self.format)
            .field("id", &hex::encode(self.id))
            .field("expires_unix", &self.expires_unix)
            .finish_non_exhaustive()
    }
}

/// The layer-2 session key and the check value of a format-2 file.
fn derive(
    secret: &[u8; KEY_LEN],
    id: &[u8; SESSION_ID_LEN],
    expires_unix: u64,
) -> CliResult<(Key, [u8; 32])> {
    let ikm = Key::from_bytes(*secret);
    let expires = expires_unix.to_be_bytes();
    let key = derive_key(&ikm, KEY_LABEL, &[id, &expires])?;
    let check_key = derive_key(&ikm, CHECK_LABEL, &[id, &expires])?;
    Ok((key, *check_key.expose_secret()))
}

/// Byte equality whose time depends only on the lengths.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seconds since the Unix epoch of `at` (an error before 1970).
fn unix_secs(at: SystemTime) -> CliResult<u64> {
    at.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .map_err(|_| CliError::Failed("the system clock is before 1970: set the clock".into()))
}

impl SessionFile {
    /// A new format-2 session: a random id and secret, expiring `ttl` after `now` (whole
    /// seconds, rounded down).
    ///
    /// # Errors
    /// Fails if the system's random generator fails or the expiry overflows.
    pub fn generate(ttl: Duration, now: SystemTime) -> CliResult<Self> {
        let secret = Key::generate()?;
        let id_source = Key::generate()?;
        let mut id = [0_u8; SESSION_ID_LEN];
        let head = id_source
            .expose_secret()
            .get(..SESSION_ID_LEN)
            .ok_or_else(|| CliError::Failed("internal error: a session id of 32 bytes".into()))?;
        id.copy_from_slice(head);
        let expires_unix = unix_secs(now)?
            .checked_add(ttl.as_secs())
            .ok_or_else(|| CliError::Failed("internal error: the expiry overflows".into()))?;
        let (_, check) = derive(secret.expose_secret(), &id, expires_unix)?;
        Ok(Self {
            format: SESSION_FORMAT,
            id,
            secret: Zeroizing::new(*secret.expose_secret()),
            expires_unix,
            check,
        })
    }

    /// The file's format ([`SESSION_FORMAT`] or [`UNBOUND_FORMAT`]).
    #[must_use]
    pub const fn format(&self) -> u32 {
        self.format
    }

    /// The session id (public: in layer-2 blob headers and audit records).
    #[must_use]
    pub const fn id(&self) -> &[u8; SESSION_ID_LEN] {
        &self.id
    }

    /// The expiry the file states, on the wall clock.
    ///
    /// # Errors
    /// Fails for an expiry the clock cannot represent.
    pub fn expires_at(&self) -> CliResult<SystemTime> {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(self.expires_unix))
            .ok_or_else(|| bad("expires_unix is out of range"))
    }

    /// The session to resume (expired or not: [`Session::resume`] refuses an expired one):
    /// its layer-2 key derived from the secret, the id and the expiry.
    ///
    /// [`Session::resume`]: hexvault::cells::Session::resume
    ///
    /// # Errors
    /// Fails for a format-1 file (its expiry is not bound to its key; the message says to
    /// end it and start a new session), and for a file whose check value does not match its
    /// secret, id and expiry (an edited file).
    pub fn export(&self) -> CliResult<SessionExport> {
        if self.format != SESSION_FORMAT {
            return Err(CliError::Failed(
                "the session file has format 1, whose expiry is not bound to its key, and this \
                 hexvault refuses it: destroy it with `hexvault session end FILE` and start a \
                 new session with `hexvault session start --ttl DURATION` (data sealed at \
                 layer 2 under the old session cannot be opened any more)"
                    .into(),
            ));
        }
        let (key, check) = derive(&self.secret, &self.id, self.expires_unix)?;
        if !same_bytes(&check, &self.check) {
            return Err(CliError::Failed(
                "the session file was altered: its check does not match its secret, id and \
                 expiry (an edited expiry gives another key, so nothing sealed in the session \
                 would open); use the file as `hexvault session start` wrote it, or start a \
                 new session"
                    .into(),
            ));
        }
        Ok(SessionExport::new(
            self.id,
            *key.expose_secret(),
            self.expires_at()?,
        ))
    }

    /// The text of the file (format 2).
    ///
    /// # Errors
    /// Fails for a format-1 file, which this build never writes.
    pub fn text(&self) -> CliResult<Zeroizing<String>> {
        if self.format != SESSION_FORMAT {
            return Err(CliError::Failed(
                "internal error: a format-1 session file is never written".into(),
            ));
        }
        let mut text = Zeroizing::new(String::with_capacity(640));
        text.push_str(
            "# hexvault layer-2 session (docs/formats.md, \"Session file\"). This file is the\n\
             # credential of layer 2: keep it private; `hexvault session end FILE` destroys it.\n\
             # The expiry is bound to the key: editing it makes the session unusable.\n",
        );
        text.push_str(&format!("format = {SESSION_FORMAT}\n"));
        text.push_str(&format!("id = \"{}\"\n", hex::encode(self.id)));
        text.push_str("secret = \"");
        let mut secret_hex = Zeroizing::new([0_u8; 2 * KEY_LEN]);
        hex::encode_to_slice(&self.secret[..], &mut secret_hex[..])
            .map_err(|_| CliError::Failed("internal error: hex of a session secret".into()))?;
        text.push_str(std::str::from_utf8(&secret_hex[..]).map_err(|_| {
            CliError::Failed("internal error: hex of a session secret is not text".into())
        })?);
        text.push_str("\"\n");
        text.push_str(&format!(
            "expires_unix = {}   # {}\n",
            self.expires_unix,
            rfc3339(Timestamp::from_unix_nanos(
                self.expires_unix.saturating_mul(1_000_000_000)
            ))
        ));
        text.push_str(&format!("check = \"{}\"\n", hex::encode(self.check)));
        Ok(text)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    format: u32,
    id: String,
    /// Format 1 only.
    key: Option<String>,
    /// Format 2 only.
    secret: Option<String>,
    expires_unix: u64,
    /// Format 2 only.
    check: Option<String>,
}

impl Drop for FileText {
    fn drop(&mut self) {
        self.key.zeroize();
        self.secret.zeroize();
    }
}

fn bad(what: &str) -> CliError {
    CliError::Failed(format!(
        "the session file is not valid ({what}); see docs/formats.md, \"Session file\", or \
         start a new session with `hexvault session start`"
    ))
}

/// 32 bytes from 64 hex digits, wiped on drop.
fn secret_bytes(text: &str, what: &str) -> CliResult<Zeroizing<[u8; KEY_LEN]>> {
    let decoded =
        crate::decode_secret_hex(text).ok_or_else(|| bad(&format!("{what} is not hex")))?;
    let mut bytes = Zeroizing::new([0_u8; KEY_LEN]);
    if decoded.len() != KEY_LEN {
        return Err(bad(&format!("{what} is not 64 hex digits")));
    }
    bytes.copy_from_slice(&decoded);
    Ok(bytes)
}

/// Parses a session file's text, format 2 or format 1 (expired or not). Only
/// [`SessionFile::export`] decides whether it may be used.
///
/// # Errors
/// Fails for a text that is not a session file of a known format and documented form.
pub fn parse(text: &str) -> CliResult<SessionFile> {
    let file: FileText =
        toml::from_str(text).map_err(|_| bad("not TOML of the documented form"))?;
    let mut id = [0_u8; SESSION_ID_LEN];
    hex::decode_to_slice(&file.id, &mut id).map_err(|_| bad("id is not 32 hex digits"))?;
    let parsed = match (file.format, &file.key, &file.secret, &file.check) {
        (SESSION_FORMAT, None, Some(secret), Some(check)) => {
            let mut check_bytes = [0_u8; 32];
            hex::decode_to_slice(check, &mut check_bytes)
                .map_err(|_| bad("check is not 64 hex digits"))?;
            SessionFile {
                format: SESSION_FORMAT,
                id,
                secret: secret_bytes(secret, "secret")?,
                expires_unix: file.expires_unix,
                check: check_bytes,
            }
        }
        (UNBOUND_FORMAT, Some(key), None, None) => SessionFile {
            format: UNBOUND_FORMAT,
            id,
            secret: secret_bytes(key, "key")?,
            expires_unix: file.expires_unix,
            check: [0; 32],
        },
        (SESSION_FORMAT | UNBOUND_FORMAT, ..) => {
            return Err(bad("its fields are not those of its format"));
        }
        _ => return Err(bad("an unknown format")),
    };
    parsed.expires_at()?;
    Ok(parsed)
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

    fn written() -> (SessionFile, Zeroizing<String>) {
        let now = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        let file = SessionFile::generate(Duration::from_secs(3600), now).ok();
        let Some(file) = file else {
            unreachable!("a session file is generated")
        };
        let text = file.text().ok();
        let Some(text) = text else {
            unreachable!("a session file is written")
        };
        (file, text)
    }

    fn key_of(file: &SessionFile) -> Option<[u8; 32]> {
        file.export().ok().map(|export| *export.expose_secret())
    }

    #[test]
    fn a_session_file_round_trips_and_refuses_damage() {
        let (file, text) = written();
        let back = parse(&text).ok();
        assert_eq!(back.as_ref().map(|b| *b.id()), Some(*file.id()));
        assert_eq!(back.as_ref().map(SessionFile::format), Some(SESSION_FORMAT));
        assert_eq!(back.as_ref().and_then(key_of), key_of(&file));
        assert!(key_of(&file).is_some());
        assert_eq!(
            back.as_ref().and_then(|b| b.expires_at().ok()),
            Some(UNIX_EPOCH + Duration::from_secs(4_000_003_600))
        );
        assert!(text.contains("2096-10-02T08:06:40"), "{}", &*text);
        for (from, to) in [
            ("format = 2", "format = 3"),
            ("format = 2", "format = 1"),
            ("secret = \"", "secret = \"0"),
            ("secret = ", "key = "),
            ("id = \"", "id = \"zz"),
            ("check = \"", "check = \"0"),
            ("expires_unix", "expires"),
        ] {
            assert!(parse(&text.replacen(from, to, 1)).is_err(), "{from}");
        }
        assert!(parse(&format!("{}\nextra = 1\n", &*text)).is_err());
        let debug = format!("{file:?}");
        assert!(
            debug.contains("SessionFile") && !debug.contains("secret"),
            "{debug}"
        );
    }

    #[test]
    fn the_key_depends_on_the_expiry_and_the_id() {
        let (file, _) = written();
        let (key, check) = match derive(&file.secret, &file.id, file.expires_unix) {
            Ok((key, check)) => (*key.expose_secret(), check),
            Err(error) => unreachable!("{error}"),
        };
        assert_eq!(Some(key), key_of(&file));
        assert_eq!(check, file.check);
        for expires in [file.expires_unix + 1, file.expires_unix - 1, u64::MAX] {
            let other = derive(&file.secret, &file.id, expires).ok();
            assert!(
                other
                    .as_ref()
                    .is_some_and(|(k, c)| *k.expose_secret() != key && *c != check)
            );
        }
        let mut id = file.id;
        id[0] ^= 1;
        let other = derive(&file.secret, &id, file.expires_unix).ok();
        assert!(other.is_some_and(|(k, _)| *k.expose_secret() != key));
        // Key and check are separate outputs.
        assert_ne!(key, check);
    }

    #[test]
    fn an_edited_expiry_is_refused_when_the_file_is_read() {
        let (file, text) = written();
        let stated = format!("expires_unix = {}", file.expires_unix);
        for edited in [file.expires_unix + 86_400, file.expires_unix - 60] {
            let altered = text.replacen(&stated, &format!("expires_unix = {edited}"), 1);
            let read = parse(&altered).ok();
            let error = read
                .as_ref()
                .map(|f| f.export().err().map(|e| e.to_string()));
            assert!(
                matches!(&error, Some(Some(message)) if message.contains("altered")),
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_format_1_file_is_read_for_its_id_and_refused_for_use() {
        let text = format!(
            "format = 1\nid = \"{}\"\nkey = \"{}\"\nexpires_unix = 4000000000\n",
            "03".repeat(16),
            "09".repeat(32)
        );
        let file = parse(&text).ok();
        assert_eq!(file.as_ref().map(|f| *f.id()), Some([3; SESSION_ID_LEN]));
        assert_eq!(file.as_ref().map(SessionFile::format), Some(UNBOUND_FORMAT));
        let error = file
            .as_ref()
            .and_then(|f| f.export().err())
            .map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|m| m.contains("session end") && m.contains("format 1")),
            "{error:?}"
        );
        assert!(file.is_some_and(|f| f.text().is_err()));
    }
}
