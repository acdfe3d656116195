//! `hexvault encrypt` and `hexvault decrypt`: `EncryptedData` credentials under the key at
//! `m/74'/2'/0'/0'` of the operator's mnemonic.

use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use crate::{DecryptArgs, EncryptArgs, KeyArgs};
use hexvault::aead::{EncryptedData, EncryptionKey};
use hexvault::mnemonic::Mnemonic;

/// The largest credential JSON `decrypt` reads (a 64 MiB plaintext in base64, with room).
const CREDENTIAL_JSON_LIMIT: u64 = 96 * 1024 * 1024;

/// The v2 key of the phrase from `--mnemonic-file` or `$HEXVAULT_MNEMONIC` (standard input
/// carries the data in both commands).
fn encryption_key(args: &KeyArgs) -> CliResult<EncryptionKey> {
    let text = input::phrase_text(args.mnemonic_file.as_deref(), Stdin::CarriesData)?;
    let mnemonic = Mnemonic::parse(&text)?;
    let passphrase = input::passphrase(&args.passphrase)?;
    let seed = mnemonic.to_seed(&passphrase);
    hexvault::keys::encryption_key(&seed).map_err(|error| CliError::Failed(error.to_string()))
}

/// Encrypts standard input (or `--in FILE`) and prints the credential as JSON.
pub(crate) fn encrypt(args: &EncryptArgs, _json: bool) -> CliResult {
    let key = encryption_key(&args.key)?;
    let plaintext = input::secret_input(args.input.as_deref(), "plaintext")?;
    let credential = EncryptedData::encrypt(&key, &plaintext, args.key.aad.as_bytes())?;
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
    let key = encryption_key(&args.key)?;
    let raw = input::public_input(args.input.as_deref(), CREDENTIAL_JSON_LIMIT, "credential")?;
    let text = std::str::from_utf8(&raw)
        .map_err(|_| CliError::usage("the credential is not UTF-8 JSON"))?;
    let credential = EncryptedData::from_json(text.trim())?;
    let plaintext = credential.decrypt(&key, args.key.aad.as_bytes())?;
    if !json {
        return output::write_bytes(args.output.as_deref(), &plaintext);
    }
    match &args.output {
        Some(path) => {
            output::write_bytes(Some(path), &plaintext)?;
            output::json(&DecryptReport {
                bytes: plaintext.len(),
                out: Some(path.display().to_string()),
                plaintext: None,
            })
        }
        None => {
            let text = std::str::from_utf8(&plaintext).map_err(|_| {
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
