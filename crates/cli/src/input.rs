//! Reading secret inputs: phrases, passphrases, seeds, without leaving copies behind.
//!
//! Every secret is read into a buffer allocated once at its final capacity and zeroized on
//! drop, so no reallocation leaves an unzeroized copy on the heap.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};
use crate::{PassphraseArgs, PhraseArgs};
use hexvault::mnemonic::{Mnemonic, Seed};
pub(crate) use hexvault_cli::decode_secret_hex;

/// The environment variable that may hold the mnemonic.
pub(crate) const MNEMONIC_ENV: &str = "HEXVAULT_MNEMONIC";

/// The largest phrase or seed text we accept (a 24-word Japanese phrase is under 400 bytes).
const SECRET_TEXT_LIMIT: usize = 16 * 1024;

/// Reads at most [`SECRET_TEXT_LIMIT`] bytes of UTF-8 text from `reader` into a zeroizing
/// buffer that never reallocates.
fn read_secret_text(mut reader: impl Read, what: &str) -> CliResult<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(SECRET_TEXT_LIMIT + 1));
    let limit = u64::try_from(SECRET_TEXT_LIMIT + 1).unwrap_or(u64::MAX);
    reader
        .by_ref()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|error| CliError::io(format!("reading the {what}"), error))?;
    if bytes.len() > SECRET_TEXT_LIMIT {
        return Err(CliError::usage(format!(
            "the {what} is longer than {SECRET_TEXT_LIMIT} bytes; give only the {what}"
        )));
    }
    let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|error| {
        // The rejected bytes are secret too: wipe them before reporting.
        let mut rejected = error.into_bytes();
        zeroize::Zeroize::zeroize(&mut rejected);
        CliError::usage(format!("the {what} is not UTF-8 text"))
    })?;
    Ok(Zeroizing::new(text))
}

fn read_secret_file(path: &Path, what: &str) -> CliResult<Zeroizing<String>> {
    let file = open_secret_path(path, what)?;
    warn_if_shared(&file, path, what);
    read_secret_text(file, what)
}

/// Reads the secret text of a file the caller already opened (`path` only names it in the
/// warning), with the same limit and the same warning on loose permissions.
pub(crate) fn secret_text_of_open_file(
    file: &File,
    path: &Path,
    what: &str,
) -> CliResult<Zeroizing<String>> {
    warn_if_shared(file, path, what);
    read_secret_text(file, what)
}

/// Warns (on standard error) when a file holding a secret can be read by its group or by
/// others, as ssh does for private keys; the operator decides, so it is not an error.
fn warn_if_shared(file: &File, path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = file.metadata() {
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "hexvault: warning: {} holds the {what} and can be read by its group or others \
                 (mode {:03o}); restrict it with `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
}

/// Reads a secret text (hex entropy, ...) from `--in FILE` or standard input.
pub(crate) fn secret_text_input(path: Option<&Path>, what: &str) -> CliResult<Zeroizing<String>> {
    match path {
        Some(path) => read_secret_file(path, what),
        None => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return prompt_secret(&format!("{what}: "), what);
            }
            read_secret_text(stdin.lock(), what)
        }
    }
}

/// Prompts on the terminal and reads one line without echo.
fn prompt_secret(prompt: &str, what: &str) -> CliResult<Zeroizing<String>> {
    if File::open("/dev/tty").is_err() {
        return Err(CliError::usage(format!(
            "no terminal to read the {what} from without echo; give it another way (see --help)"
        )));
    }
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .map_err(|error| CliError::io(format!("reading the {what} from the terminal"), error))
}

/// Reads a secret from the environment variable `name`; `shown` is how errors name the
/// variable (never a name the operator typed: a secret typed there by mistake would be
/// echoed).
fn env_secret(name: &str, shown: &str, what: &str) -> CliResult<Option<Zeroizing<String>>> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) => os_string_secret(value, shown, what).map(Some),
    }
}

fn os_string_secret(value: OsString, shown: &str, what: &str) -> CliResult<Zeroizing<String>> {
    value.into_string().map(Zeroizing::new).map_err(|mut raw| {
        raw.clear();
        CliError::usage(format!("the {what} in {shown} is not UTF-8 text"))
    })
}

/// Opens a file named by an option the operator typed, without repeating the path in the
/// error: a secret typed in place of a path (a phrase after `--mnemonic-file`, entropy after
/// `--in`) must never be echoed.
fn open_secret_path(path: &Path, what: &str) -> CliResult<File> {
    File::open(path).map_err(|error| {
        CliError::io(
            format!("opening the file given for the {what} (its path is not repeated here)"),
            error,
        )
    })
}

/// Where a command may look for the phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stdin {
    /// Standard input is free: the phrase may come from it.
    Available,
    /// Standard input carries the command's data: the phrase must come from a file or the
    /// environment.
    CarriesData,
}

/// Reads the phrase text from `--mnemonic-file`, `$HEXVAULT_MNEMONIC` or standard input.
pub(crate) fn phrase_text(file: Option<&Path>, stdin: Stdin) -> CliResult<Zeroizing<String>> {
    if let Some(path) = file {
        return read_secret_file(path, "mnemonic");
    }
    if let Some(text) = env_secret(MNEMONIC_ENV, &format!("${MNEMONIC_ENV}"), "mnemonic")? {
        return Ok(text);
    }
    match stdin {
        Stdin::Available => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                // Typed at a terminal: read one line without echo, like the passphrase.
                return prompt_secret("mnemonic (not echoed): ", "mnemonic");
            }
            read_secret_text(stdin.lock(), "mnemonic")
        }
        Stdin::CarriesData => Err(CliError::usage(format!(
            "no mnemonic: standard input carries the data here, so give the phrase with \
             --mnemonic-file PATH or ${MNEMONIC_ENV}"
        ))),
    }
}

/// Parses the phrase from the sources of [`phrase_text`].
///
/// The "did you mean" word of a rejected phrase is very likely a word of the secret (the
/// mnemonic crate's errors say so): it is shown only to the person who typed the phrase at
/// the terminal prompt, and only on that terminal ([`answers_at_the_terminal`]); never when
/// the phrase came from a file, the environment or a pipe, or when the error goes to a file
/// or a pipe, whose contents end up in logs (review round 57).
pub(crate) fn mnemonic(args: &PhraseArgs, stdin: Stdin) -> CliResult<Mnemonic> {
    let typed = args.mnemonic_file.is_none()
        && std::env::var_os(MNEMONIC_ENV).is_none()
        && stdin == Stdin::Available
        && io::stdin().is_terminal()
        && answers_at_the_terminal();
    let text = phrase_text(args.mnemonic_file.as_deref(), stdin)?;
    Mnemonic::parse(&text)
        .map_err(|error| CliError::Mnemonic(if typed { error } else { without_hint(error) }))
}

/// Whether what the command prints goes to the terminal: standard output (where `--json`
/// results go) and standard error (errors) both are one.
pub(crate) fn answers_at_the_terminal() -> bool {
    io::stdout().is_terminal() && io::stderr().is_terminal()
}

/// Reads secret lines typed at the terminal without echo, one prompt each, until an empty
/// line or the end of input (Ctrl-D), at most `limit` lines.
pub(crate) fn prompt_secret_lines(what: &str, limit: usize) -> CliResult<Vec<Zeroizing<String>>> {
    if File::open("/dev/tty").is_err() {
        return Err(CliError::usage(format!(
            "no terminal to read the {what}s from without echo; give them another way (see --help)"
        )));
    }
    let mut lines: Vec<Zeroizing<String>> = Vec::new();
    loop {
        let prompt = format!("{what} {} (an empty line ends): ", lines.len() + 1);
        let line = match rpassword::prompt_password(prompt) {
            Ok(line) => Zeroizing::new(line),
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(lines),
            Err(error) => {
                return Err(CliError::io(
                    format!("reading a {what} from the terminal"),
                    error,
                ));
            }
        };
        if line.trim().is_empty() {
            return Ok(lines);
        }
        if lines.len() >= limit {
            return Err(CliError::usage(format!("more than {limit} {what} lines")));
        }
        lines.push(line);
    }
}

/// The same error without its suggested word.
pub(crate) fn without_hint(error: hexvault::mnemonic::Error) -> hexvault::mnemonic::Error {
    use hexvault::mnemonic::Error;
    match error {
        Error::UnknownWord {
            position,
            language,
            suggestion: Some(_),
        } => Error::UnknownWord {
            position,
            language,
            suggestion: None,
        },
        Error::MixedLanguages {
            position,
            expected,
            found,
            suggestion: Some(_),
        } => Error::MixedLanguages {
            position,
            expected,
            found,
            suggestion: None,
        },
        other => other,
    }
}

/// The BIP-39 passphrase: from the named environment variable, a prompt, or empty.
pub(crate) fn passphrase(args: &PassphraseArgs) -> CliResult<Zeroizing<String>> {
    if let Some(name) = &args.passphrase_env {
        return env_secret(name, "the variable --passphrase-env names", "passphrase")?.ok_or_else(
            || {
                CliError::usage(
                    "the environment variable --passphrase-env names is not set (its name is \
                     not repeated here); export it or drop the option",
                )
            },
        );
    }
    if args.passphrase_prompt {
        if File::open("/dev/tty").is_err() {
            return Err(CliError::usage(
                "--passphrase-prompt needs a terminal and none is attached; use \
                 --passphrase-env VAR instead",
            ));
        }
        return rpassword::prompt_password("BIP-39 passphrase: ")
            .map(Zeroizing::new)
            .map_err(|error| CliError::io("reading the passphrase from the terminal", error));
    }
    Ok(Zeroizing::new(String::new()))
}

/// The seed of a phrase and passphrase.
pub(crate) fn seed(
    phrase: &PhraseArgs,
    passphrase_args: &PassphraseArgs,
    stdin: Stdin,
) -> CliResult<Seed> {
    let mnemonic = mnemonic(phrase, stdin)?;
    let passphrase = passphrase(passphrase_args)?;
    Ok(mnemonic.to_seed(&passphrase))
}

/// A seed given as hex on standard input (16 to 64 bytes, as BIP-32 allows).
pub(crate) fn seed_hex_from_stdin() -> CliResult<Zeroizing<Vec<u8>>> {
    // Typed at a terminal: prompted without echo, never left on the screen (review round 57).
    let stdin = io::stdin();
    let text = if stdin.is_terminal() {
        prompt_secret("seed (hex): ", "seed")?
    } else {
        read_secret_text(stdin.lock(), "seed")?
    };
    decode_secret_hex(&text).ok_or_else(|| {
        CliError::usage("the seed on standard input must be hex (an even number of 0-9a-f digits)")
    })
}

/// The largest plaintext `encrypt` accepts: credentials are small, and the whole plaintext
/// is held in memory.
pub(crate) const PLAINTEXT_LIMIT: usize = 64 * 1024 * 1024;

/// Reads all of `reader` (at most `limit` bytes) into a zeroizing buffer. When the buffer
/// must grow, the bytes move to a larger zeroizing buffer and the old one is wiped, so no
/// copy of the secret is left behind by a reallocation.
fn read_secret_bytes(
    mut reader: impl Read,
    limit: usize,
    what: &str,
) -> CliResult<Zeroizing<Vec<u8>>> {
    let mut data = Zeroizing::new(Vec::with_capacity(8 * 1024));
    let mut chunk = Zeroizing::new([0_u8; 8 * 1024]);
    loop {
        let read = match reader.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CliError::io(format!("reading the {what}"), error)),
        };
        let fresh = chunk.get(..read).ok_or_else(|| {
            CliError::Failed(format!(
                "internal error: a read returned {read} bytes into an 8 KiB buffer"
            ))
        })?;
        if data.len() + fresh.len() > limit {
            return Err(CliError::usage(format!(
                "the {what} is larger than {limit} bytes"
            )));
        }
        if data.len() + fresh.len() > data.capacity() {
            let mut grown = Zeroizing::new(Vec::with_capacity(
                (data.capacity() * 2).max(data.len() + fresh.len()),
            ));
            grown.extend_from_slice(&data);
            data = grown;
        }
        data.extend_from_slice(fresh);
    }
    Ok(data)
}

/// Reads `--in FILE` or standard input as secret bytes, at most `limit` bytes.
pub(crate) fn secret_input(
    path: Option<&Path>,
    limit: usize,
    what: &str,
) -> CliResult<Zeroizing<Vec<u8>>> {
    match path {
        Some(path) => {
            let file = open_secret_path(path, what)?;
            read_secret_bytes(file, limit, what)
        }
        None => read_secret_bytes(io::stdin().lock(), limit, what),
    }
}

/// A plaintext source read in pieces: `--in FILE` or standard input, with its length when it
/// is a regular file.
pub(crate) struct SecretSource {
    /// The reader.
    pub(crate) reader: Box<dyn Read>,
    /// The length of a regular `--in` file.
    pub(crate) len: Option<u64>,
}

impl SecretSource {
    /// Opens `--in FILE`, or standard input.
    pub(crate) fn open(path: Option<&Path>, what: &str) -> CliResult<Self> {
        match path {
            Some(path) => {
                let file = open_secret_path(path, what)?;
                let len = file
                    .metadata()
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|meta| meta.len());
                Ok(Self {
                    reader: Box::new(file),
                    len,
                })
            }
            None => Ok(Self {
                reader: Box::new(io::stdin().lock()),
                len: None,
            }),
        }
    }

    /// Reads the first `limit` bytes (fewer at the end of the input) into a zeroizing
    /// buffer; the rest stays to be read.
    pub(crate) fn head(&mut self, limit: usize, what: &str) -> CliResult<Zeroizing<Vec<u8>>> {
        let take = u64::try_from(limit).unwrap_or(u64::MAX);
        read_secret_bytes((&mut self.reader).take(take), limit, what)
    }
}

/// Reads `--in FILE` or standard input as public bytes (ciphertexts, envelopes), at most
/// `limit` bytes.
pub(crate) fn public_input(path: Option<&Path>, limit: u64, what: &str) -> CliResult<Vec<u8>> {
    let mut data = Vec::new();
    let result = match path {
        Some(path) => File::open(path)
            .map_err(|error| CliError::io(format!("opening {}", path.display()), error))?
            .take(limit.saturating_add(1))
            .read_to_end(&mut data),
        None => io::stdin()
            .lock()
            .take(limit.saturating_add(1))
            .read_to_end(&mut data),
    };
    result.map_err(|error| CliError::io(format!("reading the {what}"), error))?;
    if u64::try_from(data.len()).unwrap_or(u64::MAX) > limit {
        return Err(CliError::usage(format!(
            "the {what} is larger than {limit} bytes"
        )));
    }
    Ok(data)
}

/// Reads a file holding secrets (a token resolver file) as text, warning when its group or
/// others can read it; errors never repeat the path.
pub(crate) fn secret_file_text(path: &Path, what: &str) -> CliResult<Zeroizing<String>> {
    read_secret_file(path, what)
}

/// An access token from the environment variable `--token-env` names; errors never repeat
/// the variable's name (a token typed there by mistake must not be echoed).
pub(crate) fn token_from_env(name: &str) -> CliResult<hexvault::cells::AccessToken> {
    let text =
        env_secret(name, "the variable --token-env names", "access token")?.ok_or_else(|| {
            CliError::usage(
                "the environment variable --token-env names is not set (its name is not \
                 repeated here); export it or drop the option",
            )
        })?;
    let mut bytes = Vec::with_capacity(text.len());
    bytes.extend_from_slice(text.trim_end_matches(['\n', '\r']).as_bytes());
    Ok(hexvault::cells::AccessToken::new(bytes))
}
