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
mod error;
mod input;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hexvault::derivation::DerivationPath;
use hexvault::mnemonic::Language;

use commands::audit::AuditVerifyArgs;

/// hexvault: BIP-39 mnemonics, SLIP-0010 / BIP-32 keys, AES-256-GCM credentials and byte envelopes.
#[derive(Debug, Parser)]
#[command(name = "hexvault", version, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON on standard output.
    #[arg(long, global = true)]
    json: bool,

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
    /// Walk through the pipeline with a fresh, throw-away mnemonic.
    Demo,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify an audit log file: every record's chain link and every checkpoint signature.
    ///
    /// With the operator's mnemonic (--mnemonic-file, $HEXVAULT_MNEMONIC or standard input)
    /// the whole chain is checked under the audit key and the checkpoints under the key at
    /// m/74'/2'/2'/0'. With --public-key (a format-2 log) every record up to the last
    /// checkpoint is authenticated through the public chain the checkpoints sign. Strict:
    /// a cut (against --anchor or --min-sequence), a torn final frame or records after the
    /// last checkpoint exit 1 with the count of records at risk; --forensic reads anyway.
    Verify(AuditVerifyArgs),
    /// Print a log's records and checkpoints readably (`--json`: one object per line).
    ///
    /// The output is NOT verified: run `hexvault audit verify` before trusting it.
    Show {
        /// The audit log file.
        file: PathBuf,
    },
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
    },
    /// Check a phrase (from --mnemonic-file, $HEXVAULT_MNEMONIC or standard input) and say what is wrong.
    Check {
        #[command(flatten)]
        phrase: PhraseArgs,
    },
    /// Turn entropy (16, 20, 24, 28 or 32 bytes as hex) into a phrase.
    FromEntropy {
        /// The entropy, hex encoded.
        hex: String,
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
    /// Also print the private key (and xprv).
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
    /// Frame bytes into an envelope (LZ4 when it pays, xxHash3-64 checksum).
    Pack(PackArgs),
    /// Check and unframe an envelope.
    Unpack(EnvelopeArgs),
}

#[derive(Debug, Args)]
struct PackArgs {
    #[command(flatten)]
    io: EnvelopeArgs,
    /// Store the bytes raw even when LZ4 would make them smaller (for secrets mixed with
    /// attacker-chosen data: compression leaks through length).
    #[arg(long)]
    no_compression: bool,
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

fn parse_language(name: &str) -> Result<Language, String> {
    name.parse::<Language>().map_err(|error| error.to_string())
}

fn parse_path(text: &str) -> Result<DerivationPath, String> {
    text.parse::<DerivationPath>()
        .map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let outcome = match cli.command {
        Command::Mnemonic(MnemonicCommand::New { words, language }) => {
            commands::mnemonic::new(words, language, json)
        }
        Command::Mnemonic(MnemonicCommand::Check { phrase }) => {
            commands::mnemonic::check(&phrase, json)
        }
        Command::Mnemonic(MnemonicCommand::FromEntropy { hex, language }) => {
            commands::mnemonic::from_entropy(&hex, language, json)
        }
        Command::Seed(args) => commands::seed::run(&args, json),
        Command::Derive(args) => commands::derive::run(&args, json),
        Command::Encrypt(args) => commands::credential::encrypt(&args, json),
        Command::Decrypt(args) => commands::credential::decrypt(&args, json),
        Command::Envelope(EnvelopeCommand::Pack(args)) => commands::envelope::pack(&args, json),
        Command::Envelope(EnvelopeCommand::Unpack(args)) => commands::envelope::unpack(&args, json),
        Command::Audit(AuditCommand::Verify(args)) => commands::audit::verify(&args, json),
        Command::Audit(AuditCommand::Show { file }) => commands::audit::show(&file, json),
        Command::Demo => commands::demo::run(json),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hexvault: error: {error}");
            error.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
