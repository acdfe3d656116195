//! `hexvault encrypt` and `hexvault decrypt`: `EncryptedData` credentials under the key at
//! `m/74'/2'/0'/0'` of the operator's mnemonic.
//!
//! Both go through the key-vault service: the command unlocks a one-shot `VaultService` with
//! the phrase, so the seed and the encryption key live only on the service's thread, and the
//! service is stopped (everything it held zeroized) before any output is written.

use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use crate::{DecryptArgs, EncryptArgs, KeyArgs};
use hexvault::aead::EncryptedData;
use hexvault::mnemonic::Mnemonic;
use hexvault::service::{CacheConfig, VaultService, VaultServiceHandle};

/// The largest credential JSON `decrypt` reads (a 64 MiB plaintext in base64, with room).
const CREDENTIAL_JSON_LIMIT: u64 = 96 * 1024 * 1024;

/// Runs `work` against a vault service unlocked with the phrase from `--mnemonic-file` or
/// `$HEXVAULT_MNEMONIC` (standard input carries the data in both commands), then stops the
/// service and waits until it has zeroized the seed and its keys.
fn with_unlocked_vault<T>(
    args: &KeyArgs,
    work: impl FnOnce(&VaultServiceHandle) -> CliResult<T>,
) -> CliResult<T> {
    let text = input::phrase_text(args.mnemonic_file.as_deref(), Stdin::CarriesData)?;
    // Parsed here first for the precise error (the word's position) that the service, which
    // never echoes anything about a phrase, does not give. The phrase comes from a file or
    // the environment here, never a terminal prompt: no "did you mean" word.
    Mnemonic::parse(&text).map_err(input::without_hint)?;
    let passphrase = input::passphrase(&args.passphrase)?;
    // A one-shot process keeps nothing between requests: no cache.
    let (service, vault) = VaultService::spawn(CacheConfig::DISABLED)?;
    let outcome = vault
        .unlock(&text, &passphrase)
        .map_err(CliError::from)
        .and_then(|()| work(&vault));
    drop(vault);
    service.join()?;
    outcome
}

/// Encrypts standard input (or `--in FILE`) and prints the credential as JSON.
pub(crate) fn encrypt(args: &EncryptArgs, _json: bool) -> CliResult {
    let plaintext =
        input::secret_input(args.input.as_deref(), input::PLAINTEXT_LIMIT, "plaintext")?;
    let credential = with_unlocked_vault(&args.key, |vault| {
        Ok(vault.encrypt(&plaintext, args.key.aad.as_bytes())?)
    })?;
    // The credential is JSON in both modes: `--json` changes nothing here.
    output::line(&credential.to_json()?)
}

#[derive(Serialize)]
struct DecryptReport<'a> {
    bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext: Option<&'a str>,
}

/// Decrypts a credential (JSON on standard input or `--in FILE`) and writes the plaintext to
/// standard output or `--out FILE`. Nothing is written unless authentication succeeded.
pub(crate) fn decrypt(args: &DecryptArgs, json: bool) -> CliResult {
    // A FILE that is a link, a device, a FIFO or a directory is refused before decrypting.
    if let Some(path) = &args.output {
        output::check_out_path(path)?;
    }
    let raw = input::public_input(args.input.as_deref(), CREDENTIAL_JSON_LIMIT, "credential")?;
    let text = std::str::from_utf8(&raw)
        .map_err(|_| CliError::usage("the credential is not UTF-8 JSON"))?;
    let credential = EncryptedData::from_json(text.trim())?;
    let plaintext = with_unlocked_vault(&args.key, |vault| {
        Ok(vault.decrypt(&credential, args.key.aad.as_bytes())?)
    })?;
    if !json {
        return output::write_bytes(args.output.as_deref(), plaintext.expose_secret());
    }
    match &args.output {
        Some(path) => {
            output::write_bytes(Some(path), plaintext.expose_secret())?;
            output::json(&DecryptReport {
                bytes: plaintext.len(),
                out: Some(path.display().to_string()),
                plaintext: None,
            })
        }
        None => {
            let text = std::str::from_utf8(plaintext.expose_secret()).map_err(|_| {
                CliError::usage(
                    "the plaintext is not UTF-8, so it cannot go into JSON: use --out FILE",
                )
            })?;
            output::json(&DecryptReport {
                bytes: plaintext.len(),
                out: None,
                plaintext: Some(text),
            })
        }
    }
}
