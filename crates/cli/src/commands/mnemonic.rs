//! `hexvault mnemonic new | check | from-entropy`.

use serde::Serialize;

use crate::PhraseArgs;
use crate::error::{CliError, CliResult};
use crate::input::{self, Stdin};
use crate::output;
use hexvault::mnemonic::{Language, Mnemonic, WordCount};

#[derive(Serialize)]
struct PhraseReport<'a> {
    mnemonic: &'a str,
    language: &'a str,
    words: usize,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn print_phrase(mnemonic: &Mnemonic, json: bool) -> CliResult {
    let phrase = mnemonic.phrase();
    if json {
        output::json(&PhraseReport {
            mnemonic: &phrase,
            language: mnemonic.language().name(),
            words: mnemonic.word_count().words(),
        })
    } else {
        output::line(&phrase)
    }
}

/// `mnemonic new`: a fresh phrase from the OS CSPRNG.
pub(crate) fn new(words: usize, language: Language, json: bool) -> CliResult {
    let count = WordCount::try_from(words).map_err(|error| CliError::usage(error.to_string()))?;
    let mnemonic = Mnemonic::generate(count, language)?;
    print_phrase(&mnemonic, json)
}

/// `mnemonic check`: parse the phrase and say what is wrong, or that it is valid.
pub(crate) fn check(phrase: &PhraseArgs, json: bool) -> CliResult {
    let mnemonic = match input::mnemonic(phrase, Stdin::Available) {
        Ok(mnemonic) => mnemonic,
        Err(CliError::Mnemonic(error)) if json => {
            // The verdict is the output: print it as JSON, and still exit 1.
            output::json(&CheckReport {
                valid: false,
                language: None,
                words: None,
                error: Some(error.to_string()),
            })?;
            return Err(CliError::Mnemonic(error));
        }
        Err(error) => return Err(error),
    };
    let language = mnemonic.language().name();
    let words = mnemonic.word_count().words();
    if json {
        output::json(&CheckReport {
            valid: true,
            language: Some(language),
            words: Some(words),
            error: None,
        })
    } else {
        output::line(&format!(
            "valid: {words}-word {language} phrase, checksum correct"
        ))
    }
}

/// `mnemonic from-entropy HEX`: the phrase that encodes the given entropy.
pub(crate) fn from_entropy(hex_text: &str, language: Language, json: bool) -> CliResult {
    let entropy = input::decode_secret_hex(hex_text).ok_or_else(|| {
        CliError::usage("the entropy must be hex: 32, 40, 48, 56 or 64 hex digits (16 to 32 bytes)")
    })?;
    let mnemonic = Mnemonic::from_entropy(&entropy, language)
        .map_err(|error| CliError::usage(error.to_string()))?;
    print_phrase(&mnemonic, json)
}
