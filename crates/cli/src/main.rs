//! `hexvault`: the operator's command line for hexvault.
//!
//! Secrets never travel as arguments, where process lists and shell history would show them: a
//! phrase comes from `--mnemonic-file`, the `HEXVAULT_MNEMONIC` environment variable or
//! standard input; a passphrase from the environment variable named by `--passphrase-env` or a
//! terminal prompt (`--passphrase-prompt`). Secret output (seeds, private keys) is printed only
//! with `--show-secret`.
//!
//! Exit codes: 0 success, 1 the operation failed, 2 bad usage.

mod commands;
mod input;
mod large;
mod output;
mod vaultdir;

use hexvault_cli::{error, tokens, topology};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use hexvault::derivation::DerivationPath;
use hexvault::mnemonic::Language;

use commands::audit::{AuditExportAnchorArgs, AuditShowArgs, AuditVerifyArgs};
use commands::vault::{
    CellKeyArgs, DirArgs, InitArgs, OpenArgs, SealArgs, SecretArgs, TraverseArgs,
};

/// hexvault: BIP-39 mnemonics, SLIP-0010 / BIP-32 keys, AES-256-GCM credentials, byte envelopes,
/// and a vault directory of partitions, cells and edges with its audit log.
#[derive(Debug, Parser)]
#[command(name = "hexvault", version, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON on standard output.
    #[arg(long, global = true)]
    json: bool,

    /// Print no notes on standard error (results, warnings and errors still print).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, check and convert BIP-39 mnemonics.
    #[command(subcommand)]
    Mnemonic(MnemonicCommand),
    /// Print the 64-byte BIP-39 seed of a phrase (only with --show-secret).
    Seed(SeedArgs),
    /// Derive an HD key (SLIP-0010 ed25519 or BIP-32 secp256k1) at a path.
    Derive(DeriveArgs),
    /// Encrypt standard input as an `EncryptedData` credential (JSON) under the key at m/74'/2'/0'/0'.
    Encrypt(EncryptArgs),
    /// Decrypt an `EncryptedData` credential (JSON) and write the plaintext.
    Decrypt(DecryptArgs),
    /// Pack and unpack byte envelopes (LZ4 + xxHash3).
    #[command(subcommand)]
    Envelope(EnvelopeCommand),
    /// Verify audit logs offline.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Split the phrase into SLIP-0039 shares, and recover it from them.
    #[command(subcommand)]
    Shares(SharesCommand),
    /// Create a vault directory (default ./.hexvault, or $HEXVAULT_DIR): config.toml (no
    /// secret), the audit log and its anchor, rooted at the mnemonic.
    Init(InitArgs),
    /// Declare partitions of the vault directory (recorded in its audit log).
    #[command(subcommand)]
    Partition(PartitionCommand),
    /// Declare cells of the vault directory (recorded in its audit log).
    #[command(subcommand)]
    Cell(CellCommand),
    /// Declare one-way edges between cells: data moves between cells only along them
    /// (recorded in the audit log; an edge only in config.toml is refused).
    #[command(subcommand)]
    Edge(EdgeCommand),
    /// Reconcile config.toml with the audit log, which records the vault's partitions,
    /// cells and edges (ADR 0087).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List the vault's partitions, cells (key versions, object counts) and edges.
    Ls {
        #[command(flatten)]
        dir: DirArgs,
    },
    /// Seal plaintext (standard input or --in) as an object of a cell; the blob is written
    /// atomically and its seal recorded in the audit log.
    Seal(SealArgs),
    /// Open an object of a cell and write its plaintext (--out FILE or standard output;
    /// never to a terminal without --force).
    Open(OpenArgs),
    /// Move an object along a declared edge to another cell, re-encrypted without the
    /// plaintext leaving the vault; the source stays unless --move.
    Traverse(TraverseArgs),
    /// Rotate a cell's key: new seals use the next key version; older blobs still open.
    Rotate(CellKeyArgs),
    /// Re-encrypt every object of a cell under its current key version (resumable: objects
    /// already current are skipped).
    Reseal(CellKeyArgs),
    /// Layer-2 sessions from the shell: a session file holds a session's secret until it
    /// expires.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Walk through the pipeline with a fresh, throw-away mnemonic.
    Demo,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on standard
    /// output, e.g. `hexvault completions bash > /etc/bash_completion.d/hexvault`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (hexvault.1 and one per subcommand) into a directory; used by
    /// `cargo xtask man`.
    #[command(hide = true)]
    Man {
        /// The directory to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SessionCommand {
    /// Start a layer-2 session (recorded in the audit log) and write its session file (mode
    /// 0600, never over an existing file, outside the vault directory). The file is the
    /// layer-2 credential: whoever holds it opens layer-2 data sealed under it until it
    /// expires (the expiry is bound to the key: an edited file is refused and opens nothing;
    /// SECURITY.md); pass it to seal, open, traverse and reseal with --session FILE.
    Start(commands::session::StartArgs),
    /// End a session: overwrite its session file with zeros, delete it, and record the end.
    /// Everything sealed at layer 2 under the session becomes unreadable for good (unless
    /// a copy of the session file survives somewhere: the file is the credential).
    End(commands::session::EndArgs),
}

#[derive(Debug, Subcommand)]
enum PartitionCommand {
    /// Declare a partition (an id without `/`); recorded in the audit log, so it needs the
    /// mnemonic.
    Add {
        #[command(flatten)]
        dir: DirArgs,
        /// The partition id.
        id: String,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Record config.toml's partitions, cells and edges in the audit log of a vault made by
    /// an older hexvault (whose log records none). Check config.toml first: what it
    /// declares becomes trusted. Refused once the log records any.
    Adopt {
        #[command(flatten)]
        dir: DirArgs,
        #[command(flatten)]
        secrets: SecretArgs,
        /// Accept an audit log that holds no record and has no anchor file: a vault made
        /// before hexvault recorded its topology that never recorded anything. A log erased
        /// to its header with its anchor deleted looks the same, so give this only for a
        /// vault you know never recorded anything (check against a backup first).
        #[arg(long)]
        empty_log: bool,
    },
    /// Rewrite config.toml's partitions, cells (with their key versions) and edges from the
    /// verified audit log: after an interrupted `partition|cell|edge add`, or to undo an
    /// edit of config.toml.
    Sync {
        #[command(flatten)]
        dir: DirArgs,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

#[derive(Debug, Subcommand)]
enum CellCommand {
    /// Declare a cell PARTITION/CELL of a declared partition; recorded in the audit log, so
    /// it needs the mnemonic.
    Add {
        #[command(flatten)]
        dir: DirArgs,
        /// The cell, PARTITION/CELL.
        #[arg(value_name = "P/C")]
        cell: String,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

#[derive(Debug, Subcommand)]
enum EdgeCommand {
    /// Declare a one-way edge FROM -> TO between two declared cells (PARTITION/CELL each);
    /// declare a second edge for the way back. Recorded in the audit log (so it needs the
    /// mnemonic): an edge written into config.toml alone is refused.
    Add {
        #[command(flatten)]
        dir: DirArgs,
        /// The source cell.
        #[arg(value_name = "FROM")]
        from: String,
        /// The destination cell.
        #[arg(value_name = "TO")]
        to: String,
        #[command(flatten)]
        secrets: SecretArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify an audit log (a file, or a log in PostgreSQL): every record's chain link and
    /// every checkpoint signature.
    ///
    /// With the operator's mnemonic (--mnemonic-file, $HEXVAULT_MNEMONIC or standard input)
    /// the whole chain is checked under the audit key and the checkpoints under the key at
    /// m/74'/2'/2'/0'. With --public-key (a format-2 or format-3 log) every record up to the last
    /// checkpoint is authenticated through the public chain the checkpoints sign. Strict:
    /// a cut (against --anchor or --min-sequence), a torn final frame or records after the
    /// last checkpoint exit 1 with the count of records at risk; --forensic reads anyway.
    Verify(AuditVerifyArgs),
    /// Print a log's records and checkpoints readably (`--json`: one object per line).
    ///
    /// The output is NOT verified: run `hexvault audit verify` before trusting it.
    Show(AuditShowArgs),
    /// Write the latest checkpoint of a log in PostgreSQL to an anchor file, to keep
    /// outside the database (`audit verify --anchor FILE` checks it).
    ExportAnchor(AuditExportAnchorArgs),
}

#[derive(Debug, Subcommand)]
enum SharesCommand {
    /// Split the phrase (--mnemonic-file, $HEXVAULT_MNEMONIC or standard input) into SLIP-0039
    /// shares: each printed on its own, or written to its own file with --out-dir.
    ///
    /// The phrase's BIP-39 entropy is split with SLIP-0039 passphrase "", so `shares combine`
    /// gives the phrase back; its BIP-39 passphrase is still needed to use it (ADR 0066).
    /// Only English phrases are split: the shares keep the entropy, not the word list, and
    /// are read back as an English phrase.
    Split(SplitArgs),
    /// Check shares (one per line, from FILES or standard input) and say which is wrong; print
    /// the recovered phrase only with --show-secret.
    Combine(CombineArgs),
}

#[derive(Debug, Args)]
struct SplitArgs {
    /// Shares needed to recover (one group).
    #[arg(long, value_name = "K")]
    threshold: Option<u8>,
    /// Shares made (one group), at most 16.
    #[arg(long, value_name = "N")]
    shares: Option<u8>,
    /// Several groups instead: THRESHOLD/COUNT per group, such as 2/3,1/1,3/5.
    // Kept as text and parsed by `shares split`: clap's value errors quote the value, and
    // the command's own errors name the group's position instead (the value may hold a
    // phrase typed there by mistake).
    #[arg(
        long,
        value_name = "T/N,...",
        value_delimiter = ',',
        conflicts_with_all = ["threshold", "shares"]
    )]
    groups: Vec<String>,
    /// Groups needed to recover, with --groups (default 1).
    #[arg(long, value_name = "G")]
    group_threshold: Option<u8>,
    /// PBKDF2 work: 10000 x 2^E iterations at every recovery (0 to 15). The service's
    /// share unlock reads shares up to exponent 5 unless configured for more.
    #[arg(long, value_name = "E", default_value_t = hexvault::shares::DEFAULT_ITERATION_EXPONENT)]
    iteration_exponent: u8,
    /// Mark the backup extendable (newer SLIP-0039 readers only).
    #[arg(long)]
    extendable: bool,
    /// Write each share to DIR/share-GROUP-MEMBER.txt (new files, mode 0600; DIR is made,
    /// mode 0700, when missing) instead of standard output.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    phrase: PhraseArgs,
}

/// What `shares combine --show-secret` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SecretFormat {
    /// The BIP-39 phrase whose entropy the shares hold (what `shares split` makes).
    Phrase,
    /// The master secret as hex (SLIP-0039 backups of other wallets: the BIP-32 seed).
    Hex,
}

#[derive(Debug, Args)]
struct CombineArgs {
    /// Files holding shares, one per line (otherwise standard input).
    files: Vec<PathBuf>,
    /// Print the recovered secret; without it the shares are only checked.
    #[arg(long)]
    show_secret: bool,
    /// The recovered secret as a phrase (default) or as hex.
    #[arg(long, value_enum, default_value = "phrase")]
    format: SecretFormat,
    /// Word list of the recovered phrase. `shares split` splits English phrases only: for
    /// its shares, another word list gives the phrase of another BIP-39 seed (the option is
    /// for shares another tool made from a phrase in that word list).
    #[arg(long, default_value = "english", value_parser = parse_language)]
    language: Language,
    /// Read the SLIP-0039 passphrase from this environment variable (shares of
    /// `shares split` have none; other wallets' may).
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
}

#[derive(Debug, Subcommand)]
enum MnemonicCommand {
    /// Generate a new mnemonic from the operating system's CSPRNG.
    New {
        /// Number of words: 12, 15, 18, 21 or 24.
        #[arg(long, default_value_t = 24)]
        words: usize,
        /// Word list.
        #[arg(long, default_value = "english", value_parser = parse_language)]
        language: Language,
        /// Write the phrase to this new file (mode 0600, never over an existing file) instead
        /// of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a phrase (from --mnemonic-file, $HEXVAULT_MNEMONIC or standard input) and say what is wrong.
    Check {
        #[command(flatten)]
        phrase: PhraseArgs,
    },
    /// Turn entropy (16, 20, 24, 28 or 32 bytes, hex) read from --in FILE or standard input into a phrase.
    FromEntropy {
        /// Read the hex entropy from this file instead of standard input.
        #[arg(long = "in", value_name = "FILE")]
        input: Option<PathBuf>,
        /// Word list.
        #[arg(long, default_value = "english", value_parser = parse_language)]
        language: Language,
    },
}

/// Where the phrase and passphrase come from.
#[derive(Debug, Args)]
struct PhraseArgs {
    /// Read the mnemonic from this file (otherwise $HEXVAULT_MNEMONIC, otherwise standard input).
    #[arg(long, value_name = "PATH")]
    mnemonic_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PassphraseArgs {
    /// Read the BIP-39 passphrase from the environment variable with this name.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
    /// Prompt for the BIP-39 passphrase on the terminal, without echo.
    #[arg(long, conflicts_with = "passphrase_env")]
    passphrase_prompt: bool,
}

#[derive(Debug, Args)]
struct SeedArgs {
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    /// Print the seed; without this flag the command refuses to print a secret.
    #[arg(long)]
    show_secret: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Curve {
    /// SLIP-0010 ed25519 (hardened steps only).
    Ed25519,
    /// BIP-32 secp256k1.
    Secp256k1,
}

#[derive(Debug, Args)]
struct DeriveArgs {
    /// The curve.
    #[arg(long, value_enum)]
    curve: Curve,
    /// The derivation path, such as m/74'/2'/0'/0'.
    #[arg(long, value_parser = parse_path)]
    path: DerivationPath,
    /// Read the seed as hex from standard input instead of a phrase.
    #[arg(long, conflicts_with_all = ["mnemonic_file", "passphrase_env", "passphrase_prompt"])]
    seed_hex_stdin: bool,
    #[command(flatten)]
    phrase: PhraseArgs,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    /// Also print the secret parts: private key, chain code, and for secp256k1 xprv and xpub
    /// (an xpub carries the chain code). Without it only the public key is printed.
    #[arg(long)]
    show_secret: bool,
}

#[derive(Debug, Args)]
struct KeyArgs {
    /// Read the mnemonic from this file (otherwise $HEXVAULT_MNEMONIC).
    #[arg(long, value_name = "PATH")]
    mnemonic_file: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
    /// Associated data bound to the credential; the same text is needed to decrypt.
    #[arg(long, value_name = "TEXT", default_value = "")]
    aad: String,
}

#[derive(Debug, Args)]
struct EncryptArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Read the plaintext from this file instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DecryptArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Read the credential JSON from this file instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the plaintext to this file instead of standard output.
    #[arg(long = "out", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum EnvelopeCommand {
    /// Frame bytes into an envelope (xxHash3-64 checksum; LZ4 with --compress when it pays).
    Pack(PackArgs),
    /// Check and unframe an envelope.
    Unpack(EnvelopeArgs),
}

#[derive(Debug, Args)]
struct PackArgs {
    #[command(flatten)]
    io: EnvelopeArgs,
    /// Compress with LZ4 when it makes the envelope smaller. Off by default: for secrets
    /// mixed with attacker-chosen data, compression leaks through the length (CRIME/BREACH).
    #[arg(long)]
    compress: bool,
    /// A content-type label kept in the header (1 to 64 printable ASCII characters).
    #[arg(long, value_name = "LABEL")]
    content_type: Option<String>,
}

#[derive(Debug, Args)]
struct EnvelopeArgs {
    /// Read from this file instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write to this file instead of standard output (required with --json).
    #[arg(long = "out", value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Parses `--language`. The error never repeats the value: a phrase typed there by mistake
/// (or its first 64 characters, which the library's message keeps) must not be echoed.
fn parse_language(name: &str) -> Result<Language, String> {
    name.parse::<Language>().map_err(|_| {
        let names: Vec<&str> = Language::ALL.iter().map(|l| l.name()).collect();
        format!(
            "unknown BIP-39 language (the value is not repeated here); use one of: {}",
            names.join(", ")
        )
    })
}

fn parse_path(text: &str) -> Result<DerivationPath, String> {
    text.parse::<DerivationPath>()
        .map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let json = cli.json;
    output::set_quiet(cli.quiet);
    let outcome = match cli.command {
        Command::Mnemonic(MnemonicCommand::New {
            words,
            language,
            out,
        }) => commands::mnemonic::new(words, language, out.as_deref(), json),
        Command::Mnemonic(MnemonicCommand::Check { phrase }) => {
            commands::mnemonic::check(&phrase, json)
        }
        Command::Mnemonic(MnemonicCommand::FromEntropy { input, language }) => {
            commands::mnemonic::from_entropy(input.as_deref(), language, json)
        }
        Command::Seed(args) => commands::seed::run(&args, json),
        Command::Derive(args) => commands::derive::run(&args, json),
        Command::Encrypt(args) => commands::credential::encrypt(&args, json),
        Command::Decrypt(args) => commands::credential::decrypt(&args, json),
        Command::Envelope(EnvelopeCommand::Pack(args)) => commands::envelope::pack(&args, json),
        Command::Envelope(EnvelopeCommand::Unpack(args)) => commands::envelope::unpack(&args, json),
        Command::Audit(AuditCommand::Verify(args)) => commands::audit::verify(&args, json),
        Command::Audit(AuditCommand::Show(args)) => commands::audit::show(&args, json),
        Command::Audit(AuditCommand::ExportAnchor(args)) => {
            commands::audit::export_anchor(&args, json)
        }
        Command::Shares(SharesCommand::Split(args)) => commands::shares::split(&args, json),
        Command::Shares(SharesCommand::Combine(args)) => commands::shares::combine(&args, json),
        Command::Init(args) => commands::vault::init(&args, json),
        Command::Partition(PartitionCommand::Add { dir, id, secrets }) => {
            commands::vault::partition_add(&dir, &secrets, &id, json)
        }
        Command::Cell(CellCommand::Add { dir, cell, secrets }) => {
            commands::vault::cell_add(&dir, &secrets, &cell, json)
        }
        Command::Edge(EdgeCommand::Add {
            dir,
            from,
            to,
            secrets,
        }) => commands::vault::edge_add(&dir, &secrets, &from, &to, json),
        Command::Config(ConfigCommand::Adopt {
            dir,
            secrets,
            empty_log,
        }) => commands::vault::config_adopt(&dir, &secrets, empty_log, json),
        Command::Config(ConfigCommand::Sync { dir, secrets }) => {
            commands::vault::config_sync(&dir, &secrets, json)
        }
        Command::Ls { dir } => commands::vault::ls(&dir, json),
        Command::Session(SessionCommand::Start(args)) => commands::session::start(&args, json),
        Command::Session(SessionCommand::End(args)) => commands::session::end(&args, json),
        Command::Seal(args) => commands::vault::seal(&args, json),
        Command::Open(args) => commands::vault::open(&args, json),
        Command::Traverse(args) => commands::vault::traverse(&args, json),
        Command::Rotate(args) => commands::vault::rotate(&args, json),
        Command::Reseal(args) => commands::vault::reseal(&args, json),
        Command::Demo => commands::demo::run(json),
        // A shell script is no JSON: refused as a usage error rather than printed (review
        // round 57).
        Command::Completions { .. } if json => Err(error::CliError::usage(
            "completions prints a shell script, not JSON: drop --json",
        )),
        Command::Completions { shell } => commands::docs::completions(shell, &mut Cli::command()),
        Command::Man { out_dir } => commands::docs::man_pages(&out_dir, Cli::command(), json),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error::report(&error.to_string(), error.kind(), json);
            error.exit_code()
        }
    }
}

/// Reports a command line clap refused. Help and version go to standard output with exit 0.
/// Everything else exits 2, with every argument the operator typed that is not an option
/// name or a command name replaced by `[REDACTED]`: a phrase typed as arguments by mistake
/// must not be printed back to the terminal, its scrollback or a CI log.
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let arguments: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|argument| argument.to_string_lossy().into_owned())
        .collect();
    let json = arguments.iter().any(|argument| argument == "--json");
    // A command that needs a subcommand, given none: under `--json` a usage error like any
    // other (review round 57: clap's help text, no JSON).
    if json && error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        error::report(
            "a subcommand is missing; run the command with --help (without --json) for the list",
            "usage",
            true,
        );
        return ExitCode::from(2);
    }
    // Help is text: under `--json` a usage error, as `completions` is; the version is one
    // JSON object (review round 58).
    if json && error.kind() == ErrorKind::DisplayHelp {
        error::report(
            "help is text, not JSON: run the command with --help without --json",
            "usage",
            true,
        );
        return ExitCode::from(2);
    }
    if json && error.kind() == ErrorKind::DisplayVersion {
        let printed = output::json(&serde_json::json!({ "version": env!("CARGO_PKG_VERSION") }));
        return ExitCode::from(if printed.is_ok() { 0 } else { 1 });
    }
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let shown = error.print();
        let code = if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            2
        } else {
            0
        };
        return ExitCode::from(if shown.is_ok() { code } else { 1 });
    }
    let message = redact_arguments(&error.render().to_string(), &arguments);
    let message = message.trim_end().trim_start_matches("error: ");
    error::report(message, "usage", json);
    ExitCode::from(2)
}

/// `message` with every quoted occurrence of a typed value replaced by `[REDACTED]`. A typed
/// value is any argument but an option name (`--name`, or the part before `=` of
/// `--name=value`, whose value part is a typed value) and the command path itself: an
/// argument is a command name only where it names a subcommand of the command before it, so
/// a phrase word that happens to equal a command name (`audit`) is still redacted.
fn redact_arguments(message: &str, arguments: &[String]) -> String {
    use clap::CommandFactory;
    let root = Cli::command();
    let mut current = &root;
    let mut values: Vec<&str> = Vec::new();
    for argument in arguments {
        if argument.starts_with('-') {
            if let Some((_, value)) = argument.split_once('=') {
                values.push(value);
            }
        } else if let Some(sub) = current.find_subcommand(argument) {
            current = sub;
        } else {
            values.push(argument);
        }
    }
    // Longest first, so that a value containing a shorter one is replaced whole.
    values.sort_by_key(|value| std::cmp::Reverse(value.len()));
    let mut redacted = message.to_owned();
    for value in values.into_iter().filter(|value| !value.is_empty()) {
        redacted = redacted.replace(&format!("'{value}'"), "'[REDACTED]'");
        redacted = redacted.replace(&format!("\"{value}\""), "\"[REDACTED]\"");
    }
    redacted
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn typed_values_are_redacted_and_command_names_kept() {
        let arguments: Vec<String> = [
            "mnemonic",
            "check",
            "abandon",
            "audit",
            "--aad=zoo",
            "--json",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        let message = "unexpected argument 'abandon' found; 'zoo' and 'audit' too; \
                       see 'check' and 'mnemonic'";
        let redacted = super::redact_arguments(message, &arguments);
        assert_eq!(
            redacted,
            "unexpected argument '[REDACTED]' found; '[REDACTED]' and '[REDACTED]' too; \
             see 'check' and 'mnemonic'"
        );
    }
}
